//! The binary's commands: each validates its configuration, runs the library, and writes the
//! report. This is the only code that prints (the library only returns data).

pub mod listen;
pub mod probe;
pub mod scan;
pub mod watch;

use std::io::{self, Write};

use crate::config::Reporting;
use crate::output::AtomicFile;

/// Why a command could not do its job; `main` prints it as one line.
pub enum AppError {
    /// Bad usage or input, found before anything was sent (exit code 2).
    Usage(String),
    /// The report could not be written (exit code 2: the output was checked before probing,
    /// so this is the machine changing under us).
    Output(String),
    /// This machine could not run the probe at all (exit code 4, as for other local errors).
    Local(String),
}

pub fn runtime() -> Result<tokio::runtime::Runtime, AppError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            AppError::Local(format!(
                "cannot start: {e}; raise the open-file limit (ulimit -n) and run again"
            ))
        })
}

enum Inner {
    Stdout(anstream::AutoStream<io::Stdout>),
    File(AtomicFile),
    Null,
}

/// Where a report goes: standard output (colour handled by anstream), a file replaced
/// atomically when the report is complete (`--output`), or nowhere (`-q`).
pub struct Sink {
    inner: Inner,
    /// The reader of standard output went away (`| head -1`): stop writing, quietly.
    pub closed: bool,
    path: Option<std::path::PathBuf>,
}

impl Sink {
    pub fn new(r: &Reporting) -> Result<Sink, AppError> {
        let inner = match (&r.file, r.quiet) {
            (Some(path), _) => Inner::File(AtomicFile::create(path).map_err(|e| {
                AppError::Output(format!(
                    "cannot write the report to {}: {e}",
                    path.display()
                ))
            })?),
            (None, true) => Inner::Null,
            (None, false) => Inner::Stdout(anstream::stdout()),
        };
        Ok(Sink {
            inner,
            closed: false,
            path: r.file.clone(),
        })
    }

    /// Runs `f` on the writer unless the reader went away; a broken pipe closes the sink.
    pub fn write(
        &mut self,
        f: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> Result<(), AppError> {
        if self.closed {
            return Ok(());
        }
        let r = match &mut self.inner {
            Inner::Stdout(s) => f(s),
            Inner::File(file) => f(file),
            Inner::Null => Ok(()),
        };
        match r {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(())
            }
            Err(e) => Err(self.error(e)),
        }
    }

    fn error(&self, e: io::Error) -> AppError {
        match &self.path {
            Some(p) => AppError::Output(format!("cannot write the report to {}: {e}", p.display())),
            None => AppError::Output(format!("cannot write the report: {e}")),
        }
    }

    /// Completes the report: flushes standard output, or renames the file into place.
    pub fn finish(self) -> Result<(), AppError> {
        let path = self.path.clone();
        match self.inner {
            Inner::Stdout(mut s) => match s.flush() {
                Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
                    Err(AppError::Output(format!("cannot write the report: {e}")))
                }
                _ => Ok(()),
            },
            Inner::File(f) => f.commit().map_err(|e| {
                AppError::Output(format!(
                    "cannot write the report to {}: {e}",
                    path.map(|p| p.display().to_string()).unwrap_or_default()
                ))
            }),
            Inner::Null => Ok(()),
        }
    }
}

/// `msvsmon-probe catalog`.
pub fn catalog(json: bool) -> Result<(), AppError> {
    let mut out = anstream::stdout().lock();
    let r = if json {
        crate::report::catalog::write_json(&mut out)
    } else {
        crate::report::catalog::write_table(&mut out)
    };
    match r {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            Err(AppError::Output(format!("cannot write the catalog: {e}")))
        }
        _ => Ok(()),
    }
}

/// Checks that DIR exists and accepts new files, naming the directory and the reason if not.
fn writable_dir(dir: &std::path::Path) -> Result<(), AppError> {
    let accepted = "expected an existing, writable directory";
    if !dir.is_dir() {
        return Err(AppError::Usage(format!(
            "cannot write into {}: it is not a directory; {accepted}",
            dir.display()
        )));
    }
    let probe = dir.join(format!(".msvsmon-probe-write-test-{}", std::process::id()));
    match std::fs::File::create(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) => Err(AppError::Usage(format!(
            "cannot write into {}: {e}; {accepted}",
            dir.display()
        ))),
    }
}

/// `msvsmon-probe completions SHELL [--dir DIR]`, from the clap definitions themselves.
pub fn completions(args: &crate::cli::CompletionsArgs) -> Result<(), AppError> {
    use clap::CommandFactory;
    let mut cmd = crate::cli::Cli::command();
    let name = cmd.get_name().to_string();
    match &args.dir {
        Some(dir) => {
            writable_dir(dir)?;
            let path =
                clap_complete::generate_to(args.shell, &mut cmd, name, dir).map_err(|e| {
                    AppError::Output(format!(
                        "cannot write completions into {}: {e}",
                        dir.display()
                    ))
                })?;
            println!("{}", path.display());
            Ok(())
        }
        None => {
            let mut buf = Vec::new();
            clap_complete::generate(args.shell, &mut cmd, name, &mut buf);
            write_stdout(&buf)
        }
    }
}

/// `msvsmon-probe man [--dir DIR]`, from the clap definitions themselves.
pub fn man(args: &crate::cli::ManArgs) -> Result<(), AppError> {
    use clap::CommandFactory;
    let cmd = crate::cli::Cli::command();
    match &args.dir {
        Some(dir) => {
            writable_dir(dir)?;
            clap_mangen::generate_to(cmd, dir).map_err(|e| {
                AppError::Output(format!(
                    "cannot write man pages into {}: {e}",
                    dir.display()
                ))
            })?;
            println!("{}", dir.display());
            Ok(())
        }
        None => {
            let mut buf = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut buf)
                .map_err(|e| AppError::Output(format!("cannot render the man page: {e}")))?;
            write_stdout(&buf)
        }
    }
}

fn write_stdout(bytes: &[u8]) -> Result<(), AppError> {
    let mut out = io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(AppError::Output(format!(
            "cannot write to standard output: {e}"
        ))),
        _ => Ok(()),
    }
}
