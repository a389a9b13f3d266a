//! Writing a report to a file so that a reader never sees half of it.
//!
//! The node exporter's textfile collector, Telegraf or a cron job may read the file at any
//! moment: the report is written to a temporary file in the same directory (same filesystem),
//! flushed to disk, then renamed over the destination, which is atomic on POSIX and on NTFS. A
//! write that fails or is abandoned removes its temporary file.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::OutputError;

/// A file being written; [`commit`](AtomicFile::commit) makes it appear at its path at once.
#[derive(Debug)]
pub struct AtomicFile {
    path: PathBuf,
    tmp: PathBuf,
    file: Option<File>,
}

fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".into());
    // A dot name: the textfile collector only reads *.prom, and shells hide it.
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

impl AtomicFile {
    pub fn create(path: &Path) -> io::Result<AtomicFile> {
        let tmp = temp_path(path);
        let file = File::create(&tmp)?;
        Ok(AtomicFile {
            path: path.to_path_buf(),
            tmp,
            file: Some(file),
        })
    }

    /// Flushes the data to disk and renames the file into place.
    pub fn commit(mut self) -> io::Result<()> {
        let file = self.file.take().expect("not committed twice");
        file.sync_all()?;
        drop(file);
        std::fs::rename(&self.tmp, &self.path)
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.as_mut().expect("open").write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.as_mut().expect("open").flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Writes `content` to `path` atomically.
pub fn write_atomically(path: &Path, content: &[u8]) -> io::Result<()> {
    let mut f = AtomicFile::create(path)?;
    f.write_all(content)?;
    f.commit()
}

/// Checks, before anything is probed, that a report can be written to `path`: its directory
/// exists and accepts a new file, and `path` is not a directory. The error says which and why.
pub fn check_writable(path: &Path) -> Result<(), OutputError> {
    if path.as_os_str().is_empty() {
        return Err(OutputError::EmptyPath);
    }
    if path.is_dir() {
        return Err(OutputError::IsADirectory {
            path: path.to_path_buf(),
        });
    }
    let probe = AtomicFile::create(path).map_err(|source| OutputError::NotWritable {
        path: path.to_path_buf(),
        source,
    })?;
    drop(probe); // removes the temporary file
    Ok(())
}

enum Inner {
    Stdout(anstream::AutoStream<io::Stdout>),
    File(AtomicFile),
    Null,
}

/// Where a command's output goes: standard output (colour handled by anstream: stripped when
/// it is not a terminal, with NO_COLOR or --color never), a file replaced atomically when the
/// output is complete (`--output`), or nowhere (`-q`).
///
/// The one closed-pipe rule, for every command: when the reader of standard output goes away
/// (`| head -1`), the output closes quietly and every later write is skipped; the command sees
/// [`Output::is_closed`] and stops what only fed it. Any other write error is an
/// [`OutputError`].
pub struct Output {
    inner: Inner,
    closed: bool,
    path: Option<PathBuf>,
}

impl Output {
    pub fn stdout() -> Output {
        Output {
            inner: Inner::Stdout(anstream::stdout()),
            closed: false,
            path: None,
        }
    }

    /// Nothing is written (`-q`).
    pub fn null() -> Output {
        Output {
            inner: Inner::Null,
            closed: false,
            path: None,
        }
    }

    /// A file that appears at `path`, whole, on [`finish`](Self::finish).
    pub fn file(path: &Path) -> Result<Output, OutputError> {
        let file = AtomicFile::create(path).map_err(|source| OutputError::Write {
            path: Some(path.to_path_buf()),
            source,
        })?;
        Ok(Output {
            inner: Inner::File(file),
            closed: false,
            path: Some(path.to_path_buf()),
        })
    }

    /// The reader of standard output went away: nothing more will be read.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Runs `f` on the writer, unless the reader went away.
    pub fn write(
        &mut self,
        f: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> Result<(), OutputError> {
        if self.closed {
            return Ok(());
        }
        let r = match &mut self.inner {
            Inner::Stdout(s) => f(s).and_then(|()| s.flush()),
            Inner::File(file) => f(file),
            Inner::Null => Ok(()),
        };
        self.settle(r)
    }

    /// One JSON value on a line of its own (NDJSON), flushed at once.
    pub fn json_line(&mut self, value: &impl serde::Serialize) -> Result<(), OutputError> {
        self.write(|w| {
            serde_json::to_writer(&mut *w, value)?;
            writeln!(w)
        })
    }

    fn settle(&mut self, r: io::Result<()>) -> Result<(), OutputError> {
        match r {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(())
            }
            Err(source) => Err(OutputError::Write {
                path: self.path.clone(),
                source,
            }),
        }
    }

    /// Completes the output: flushes standard output, or renames the file into place (also
    /// after an interruption: what was written is complete up to where it stopped).
    pub fn finish(mut self) -> Result<(), OutputError> {
        let path = self.path.take();
        match std::mem::replace(&mut self.inner, Inner::Null) {
            Inner::Stdout(mut s) if !self.closed => {
                let r = s.flush();
                self.settle(r)
            }
            Inner::File(f) => f
                .commit()
                .map_err(|source| OutputError::Write { path, source }),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "msvsmon-probe-output-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn commit_replaces_the_file_and_leaves_no_temporary() {
        let d = dir();
        let p = d.join("m.prom");
        std::fs::write(&p, "old\n").unwrap();
        let mut f = AtomicFile::create(&p).unwrap();
        f.write_all(b"new\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "old\n",
            "readers see the old file until commit"
        );
        f.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new\n");
        let names: Vec<_> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn an_abandoned_write_leaves_the_old_file_and_no_temporary() {
        let d = dir();
        let p = d.join("m.json");
        std::fs::write(&p, "old").unwrap();
        {
            let mut f = AtomicFile::create(&p).unwrap();
            f.write_all(b"half").unwrap();
        }
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "old");
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 1);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn unwritable_paths_are_named_with_the_reason() {
        let e = check_writable(Path::new("/nonexistent-dir/x.prom")).unwrap_err();
        assert!(
            matches!(&e, OutputError::NotWritable { path, source }
                if path.ends_with("x.prom") && source.kind() == io::ErrorKind::NotFound),
            "{e}"
        );
        let d = dir();
        let e = check_writable(&d).unwrap_err();
        assert!(matches!(e, OutputError::IsADirectory { .. }), "{e}");
        assert!(check_writable(&d.join("ok.prom")).is_ok());
        assert_eq!(
            std::fs::read_dir(&d).unwrap().count(),
            0,
            "the check leaves nothing behind"
        );
        std::fs::remove_dir_all(&d).unwrap();
    }
}
