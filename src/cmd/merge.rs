//! `merge`: files in, the combined scan out, through the scan's own report writers.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::time::SystemTime;

use crate::config::{MergeConfig, Output as Format};
use crate::error::AppError;
use crate::exit_code::ExitCode;
use crate::merge::{self, Merged};
use crate::output::Output;
use crate::report::sweep as out;
use crate::report::{columns, prometheus};

pub fn run(config: MergeConfig) -> Result<ExitCode, AppError> {
    let mut inputs = config.files.iter().map(|path| {
        let name = if path.as_os_str() == "-" {
            "<stdin>".to_string()
        } else {
            path.display().to_string()
        };
        let reader: Result<Box<dyn BufRead>, io::Error> = if path.as_os_str() == "-" {
            Ok(Box::new(BufReader::new(io::stdin())))
        } else {
            File::open(path).map(|f| Box::new(BufReader::new(f)) as Box<dyn BufRead>)
        };
        (name, reader)
    });
    let Merged {
        facts,
        hosts,
        notes,
        code,
    } = merge::merge(&mut inputs, config.audit).map_err(AppError::Merge)?;
    for note in &notes {
        let _ = writeln!(io::stderr(), "note: {}", crate::sanitize::line(note));
    }
    let mut output = match &config.file {
        Some(path) => Output::file(path)?,
        None => Output::stdout(),
    };
    // As a scan: the table on standard output, wrapped on a terminal; the summary on stderr.
    let width = match &config.file {
        None => columns::stdout_width(),
        Some(_) => None,
    };
    output.write(|w| match config.format {
        Format::Ndjson => {
            for h in &hosts {
                serde_json::to_writer(&mut *w, h)?;
                writeln!(w)?;
            }
            out::write_summary_line(w, &facts)
        }
        Format::Json => {
            let targets = hosts
                .iter()
                .map(|h| {
                    let mut h = h.clone();
                    // A document's targets are host lines without their type; each keeps its
                    // vantage, which may differ from host to host in a merge.
                    if let Some(o) = h.as_object_mut() {
                        o.remove("type");
                    }
                    h
                })
                .collect();
            out::write_document::<serde_json::Value>(w, &facts, targets)
        }
        Format::Human => {
            let mut table = out::HostTable::default();
            for row in hosts.iter().filter_map(merge::row_of) {
                table.add_row(row);
            }
            table.write(w, width)
        }
        Format::Prometheus => {
            let metrics: Vec<prometheus::TargetMetrics> =
                hosts.iter().filter_map(merge::metrics_of).collect();
            w.write_all(
                prometheus::render_metrics(
                    &metrics,
                    SystemTime::now(),
                    &Default::default(),
                    facts.vantage.as_str(),
                )
                .as_bytes(),
            )
        }
    })?;
    output.finish()?;
    if config.format == Format::Human {
        let _ = out::write_summary_human(&mut anstream::stderr(), &facts, columns::stderr_width());
    }
    Ok(code)
}
