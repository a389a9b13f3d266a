//! Where reports go, and how a file is written so that a reader never sees half of it.
//!
//! `-o PATH` is decided before anything is probed, and again when the report is written:
//! - a regular file, or a path where nothing is yet, is **replaced whole**: the report is written
//!   to a temporary file in the same directory (same filesystem), flushed to disk, then renamed
//!   over the destination, which is atomic on POSIX and on NTFS. The node exporter's textfile
//!   collector, Telegraf or a cron job may read the file at any moment. The temporary file is
//!   created exclusively (`O_EXCL`) under an unpredictable name (the tempfile crate), so a link
//!   planted in a directory others can write to is never followed; it starts with a dot and ends
//!   in `.tmp`, which the textfile collector ignores. A write that fails or is abandoned removes it.
//! - a FIFO or a character device (`/dev/null`, a terminal, `/dev/stdout`) is a **stream**: it is
//!   opened and written through, never replaced by a file;
//! - a **symbolic link** is followed only to a stream (that is what `/dev/stdout` is); a link to
//!   a file is refused: whoever can write the directory could point it at any file, and the
//!   tool often runs as root. Name the file itself.
//! - a directory or any other kind of file is refused.

use std::fs::{File, OpenOptions};
use std::io::{self, Seek, Write};
use std::path::{Path, PathBuf};

use msvsmon_probe_core::{is_stream, new_file_permissions};

use crate::error::OutputError;

/// What `-o PATH` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// A regular file, or nothing yet: replaced whole.
    Replace,
    /// A FIFO or a device: written through.
    Stream,
}

/// Decides what `path` is, or why a report cannot go there.
pub fn destination(path: &Path) -> Result<Destination, OutputError> {
    if path.as_os_str().is_empty() {
        return Err(OutputError::EmptyPath);
    }
    let owned = || path.to_path_buf();
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Destination::Replace),
        Err(source) => Err(OutputError::NotWritable {
            path: owned(),
            source,
        }),
        Ok(m) if m.file_type().is_symlink() => match std::fs::metadata(path) {
            Ok(t) if is_stream(&t.file_type()) => Ok(Destination::Stream),
            _ => Err(OutputError::Symlink {
                path: owned(),
                target: std::fs::read_link(path).ok(),
            }),
        },
        Ok(m) if m.is_dir() => Err(OutputError::IsADirectory { path: owned() }),
        Ok(m) if is_stream(&m.file_type()) => Ok(Destination::Stream),
        Ok(m) if m.is_file() => Ok(Destination::Replace),
        Ok(_) => Err(OutputError::NotARegularFile { path: owned() }),
    }
}

/// A file being written; [`commit`](AtomicFile::commit) makes it appear at its path at once.
#[derive(Debug)]
pub struct AtomicFile {
    path: PathBuf,
    tmp: tempfile::NamedTempFile,
}

impl AtomicFile {
    pub fn create(path: &Path) -> io::Result<AtomicFile> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "output".into());
        let prefix = format!(".{name}.");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".tmp");
        // What a file the user created would get, not tempfile's owner-only default: the
        // textfile collector runs as another user.
        if let Some(p) = new_file_permissions() {
            builder.permissions(p);
        }
        let tmp = builder.tempfile_in(dir)?;
        Ok(AtomicFile {
            path: path.to_path_buf(),
            tmp,
        })
    }

    /// Flushes the data to disk and renames the file into place (over a link planted meanwhile
    /// too: a rename replaces the link, it never follows it).
    pub fn commit(self) -> io::Result<()> {
        self.tmp.as_file().sync_all()?;
        self.tmp.persist(&self.path).map(drop).map_err(|e| e.error)
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tmp.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tmp.flush()
    }
}

/// Opens a stream destination for writing: no create, no truncate, no replace.
fn open_stream(path: &Path) -> io::Result<File> {
    OpenOptions::new().write(true).open(path)
}

/// Writes `content` to `path` whole: atomically for a file, through for a stream.
pub fn write_atomically(path: &Path, content: &[u8]) -> Result<(), OutputError> {
    let failed = |source| OutputError::StateFile {
        path: path.to_path_buf(),
        source,
    };
    match destination(path)? {
        Destination::Stream => open_stream(path)
            .and_then(|mut f| f.write_all(content))
            .map_err(failed),
        Destination::Replace => {
            let mut f = AtomicFile::create(path).map_err(failed)?;
            f.write_all(content).map_err(failed)?;
            f.commit().map_err(failed)
        }
    }
}

/// Checks, before anything is probed, that a report can be written to `path`: what it is (see
/// the module docs) and, for a file, that its directory accepts a new file. A stream is not
/// opened here: a FIFO would wait for its reader.
pub fn check_writable(path: &Path) -> Result<(), OutputError> {
    if destination(path)? == Destination::Replace {
        let probe = AtomicFile::create(path).map_err(|source| OutputError::NotWritable {
            path: path.to_path_buf(),
            source,
        })?;
        drop(probe); // removes the temporary file
    }
    Ok(())
}

enum Inner {
    Stdout(anstream::AutoStream<io::Stdout>),
    File(AtomicFile),
    Stream(File),
    /// `--resume`: a file written in place and appended to (see [`Output::resumed_file`]).
    Append(File),
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

    /// `-o PATH`: a file that appears whole on [`finish`](Self::finish), or a stream written
    /// through (see the module docs).
    pub fn file(path: &Path) -> Result<Output, OutputError> {
        let failed = |source| OutputError::Write {
            path: Some(path.to_path_buf()),
            source,
        };
        let inner = match destination(path)? {
            Destination::Replace => Inner::File(AtomicFile::create(path).map_err(failed)?),
            Destination::Stream => Inner::Stream(open_stream(path).map_err(failed)?),
        };
        Ok(Output {
            inner,
            closed: false,
            path: Some(path.to_path_buf()),
        })
    }

    /// `-o PATH` of a resumable scan (`--resume`): a regular file is written in place, not
    /// replaced at the end, so what a killed run wrote stays; it is cut back to `keep` bytes
    /// (what the checkpoint covers: lines past it are of hosts the resumed run decides again),
    /// or emptied on a first run (`None`), then appended to. A stream is written through.
    /// `Err(Ok(found))`: the file holds fewer bytes than `keep`.
    pub fn resumed_file(
        path: &Path,
        keep: Option<u64>,
    ) -> Result<Output, Result<u64, OutputError>> {
        let failed = |source| {
            Err(OutputError::Write {
                path: Some(path.to_path_buf()),
                source,
            })
        };
        let inner = match destination(path).map_err(Err)? {
            Destination::Stream => Inner::Stream(open_stream(path).map_err(failed)?),
            Destination::Replace => {
                let mut options = OpenOptions::new();
                options.read(true).write(true).create(true);
                let mut f = options.open(path).map_err(failed)?;
                let found = f.metadata().map_err(failed)?.len();
                let keep = keep.unwrap_or(0);
                if found < keep {
                    return Err(Ok(found));
                }
                f.set_len(keep).map_err(failed)?;
                f.seek(io::SeekFrom::End(0)).map_err(failed)?;
                Inner::Append(f)
            }
        };
        Ok(Output {
            inner,
            closed: false,
            path: Some(path.to_path_buf()),
        })
    }

    /// For a checkpoint: the file's length with everything written so far on disk, when the
    /// output is a resumable file (`None` for anything else).
    pub fn synced_len(&mut self) -> Result<Option<u64>, OutputError> {
        let Inner::Append(f) = &mut self.inner else {
            return Ok(None);
        };
        let r = f
            .flush()
            .and_then(|()| f.sync_data())
            .and_then(|()| f.stream_position());
        r.map(Some).map_err(|source| OutputError::Write {
            path: self.path.clone(),
            source,
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
            Inner::Stream(file) | Inner::Append(file) => f(file),
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
            Inner::Stream(mut f) => f
                .flush()
                .map_err(|source| OutputError::Write { path, source }),
            Inner::Append(f) => f
                .sync_all()
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
