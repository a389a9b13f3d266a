//! `msvsmon-probe listen`: the stand-in monitor, in the foreground, logging what it sees.

use std::io::{self, Write};
use std::time::Instant;

use crate::cli::ListenArgs;
use crate::config::ListenConfig;
use crate::exit_code::ExitCode;
use msvsmon_probe_core::listen::{self, Event, ProbeOutcome};
use msvsmon_probe_core::platform;

use super::AppError;

/// `listen`: bind, print what it listens on, log what happens, stop on Ctrl-C or SIGTERM.
pub fn run(args: &ListenArgs) -> Result<ExitCode, AppError> {
    let cfg = ListenConfig::from_args(args).map_err(|e| AppError::Usage(e.0))?;
    let runtime = super::runtime()?;
    runtime.block_on(async {
        let bound = listen::bind(&cfg.listen).map_err(|e| AppError::Usage(e.0))?;
        let start = Instant::now();
        let mut out = io::stdout().lock();
        let l = &bound.listening;
        let releases: Vec<&str> = cfg.releases.iter().map(|r| r.short).collect();
        let what = if releases.is_empty() {
            format!("a remote debugger on port(s) {}", listen::port_list(&cfg.listen.ports))
        } else {
            format!("the {} remote debugger", releases.join(" and "))
        };
        let _ = writeln!(
            out,
            "msvsmon-probe listen: a stand-in for {what} (not the real monitor: nothing can be debugged)"
        );
        for (a, label) in &l.tcp {
            let _ = writeln!(out, "  TCP  {a:<28} {label}");
        }
        for a in &l.unicast {
            let _ = writeln!(out, "  UDP  {a:<28} WS-Discovery, unicast Probes");
        }
        for (g, i) in &l.multicast {
            let g = std::net::SocketAddr::new(*g, msvsmon_probe_core::discovery::PORT);
            let _ = writeln!(out, "  UDP  {g:<28} WS-Discovery, multicast on {i}");
        }
        if cfg.listen.discovery {
            let _ = writeln!(out, "  WS-Discovery endpoint {}, Types {}", l.endpoint, l.types);
        } else {
            let _ = writeln!(out, "  WS-Discovery off (--no-discovery), as msvsmon /nodiscovery");
        }
        for n in &l.notes {
            let _ = writeln!(out, "  note: {n}");
        }
        let _ = writeln!(out, "listening; Ctrl-C to stop");
        drop(out);

        let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
        let server = listen::serve(bound, tx, platform::shutdown_signal());
        let log = async {
            while let Some(ev) = rx.recv().await {
                let t = start.elapsed().as_secs_f64();
                let line = match ev {
                    Event::Connection { from, local } => {
                        format!("TCP {from} -> {local}: accepted and closed")
                    }
                    Event::Probe {
                        from,
                        route,
                        version,
                        types,
                        outcome,
                    } => {
                        let what = match outcome {
                            ProbeOutcome::Matched => "answered".to_string(),
                            ProbeOutcome::NoMatch => {
                                "answered with an empty ProbeMatches (nothing matched)".to_string()
                            }
                            ProbeOutcome::Silent(why) => format!("not answered: {why}"),
                            ProbeOutcome::RateLimited => format!(
                                "not answered: more than {} Probes this second",
                                listen::MAX_ANSWERS_PER_SECOND
                            ),
                        };
                        format!(
                            "Probe {version} (types: {types}) from {from} by {}: {what}",
                            route.as_str()
                        )
                    }
                    Event::NotAProbe { from, why } => {
                        format!("UDP 3702 datagram from {from} ignored: {why}")
                    }
                    Event::Error(e) => format!("error: {e}"),
                };
                let mut out = io::stdout().lock();
                if writeln!(out, "+{t:.3}s  {line}").is_err() {
                    break;
                }
            }
        };
        tokio::join!(server, log);
        let _ = writeln!(io::stdout(), "stopped");
        Ok(ExitCode::Found)
    })
}
