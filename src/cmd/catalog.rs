//! The commands that print what the tool knows rather than probe: `catalog`, `completions` and
//! `man`, generated from the catalog and the clap definitions themselves.

use std::path::Path;

use crate::cli::{CompletionsArgs, ManArgs};
use crate::error::{AppError, OutputError};
use crate::exit_code::ExitCode;
use crate::output::Output;
use crate::report;
use crate::{completion, manpage};

/// `msvsmon-probe catalog [--json]`.
pub fn catalog(json: bool) -> Result<ExitCode, AppError> {
    let mut out = Output::stdout();
    out.write(|w| {
        if json {
            report::catalog::write_json(w)
        } else {
            report::catalog::write_table(w)
        }
    })?;
    out.finish()?;
    Ok(ExitCode::Found)
}

/// Creates `dir` if need be and checks that it accepts new files, naming the directory and the
/// reason if not.
fn writable_dir(dir: &Path) -> Result<(), OutputError> {
    let refused = |source| OutputError::Directory {
        dir: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(refused)?;
    if !dir.is_dir() {
        return Err(refused(std::io::Error::new(
            std::io::ErrorKind::NotADirectory,
            "it is not a directory",
        )));
    }
    let probe = dir.join(format!(".msvsmon-probe-write-test-{}", std::process::id()));
    std::fs::File::create(&probe).map_err(refused)?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// `msvsmon-probe completions SHELL [--dir DIR]`.
pub fn completions(args: &CompletionsArgs) -> Result<ExitCode, AppError> {
    let script = completion::script(args.shell);
    let mut out = Output::stdout();
    match &args.dir {
        Some(dir) => {
            writable_dir(dir)?;
            let path = dir.join(completion::file_name(args.shell));
            std::fs::write(&path, script).map_err(|source| OutputError::Directory {
                dir: dir.clone(),
                source,
            })?;
            out.write(|w| writeln!(w, "{}", path.display()))?;
        }
        None => out.write(|w| w.write_all(&script))?,
    }
    out.finish()?;
    Ok(ExitCode::Found)
}

/// `msvsmon-probe man [--dir DIR]`.
pub fn man(args: &ManArgs) -> Result<ExitCode, AppError> {
    let mut out = Output::stdout();
    match &args.dir {
        Some(dir) => {
            writable_dir(dir)?;
            manpage::write_pages(dir).map_err(|source| OutputError::Directory {
                dir: dir.clone(),
                source,
            })?;
            out.write(|w| writeln!(w, "{}", dir.display()))?;
        }
        None => out.write(|w| w.write_all(&manpage::main_page()))?,
    }
    out.finish()?;
    Ok(ExitCode::Found)
}
