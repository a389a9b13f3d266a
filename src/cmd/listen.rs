//! `msvsmon-probe listen`: the stand-in monitor, in the foreground, logging what it sees.

use std::time::Instant;

use crate::config::ListenConfig;
use crate::error::AppError;
use crate::exit_code::ExitCode;
use crate::output::Output;
use msvsmon_probe_core::listen::{self, Event, ProbeOutcome};
use msvsmon_probe_core::platform;

/// Binds, prints what it listens on, logs what happens, stops on Ctrl-C or SIGTERM. A reader
/// of the log that goes away stops the log, not the stand-in.
pub fn run(cfg: ListenConfig) -> Result<ExitCode, AppError> {
    let runtime = super::runtime()?;
    runtime.block_on(async {
        let bound = listen::bind(&cfg.listen)?;
        let start = Instant::now();
        let mut out = Output::stdout();
        let l = &bound.listening;
        let releases: Vec<&str> = cfg.releases.iter().map(|r| r.short).collect();
        let what = if releases.is_empty() {
            format!(
                "a remote debugger on port(s) {}",
                listen::port_list(&cfg.listen.ports)
            )
        } else {
            format!("the {} remote debugger", releases.join(" and "))
        };
        out.write(|w| {
            writeln!(
                w,
                "msvsmon-probe listen: a stand-in for {what} (not the real monitor: nothing can be debugged)"
            )?;
            for (a, label) in &l.tcp {
                writeln!(w, "  TCP  {a:<28} {label}")?;
            }
            for a in &l.unicast {
                writeln!(w, "  UDP  {a:<28} WS-Discovery, unicast Probes")?;
            }
            for (g, i) in &l.multicast {
                let g = std::net::SocketAddr::new(*g, msvsmon_probe_core::discovery::PORT);
                writeln!(w, "  UDP  {g:<28} WS-Discovery, multicast on {i}")?;
            }
            if cfg.listen.discovery {
                writeln!(w, "  WS-Discovery endpoint {}, Types {}", l.endpoint, l.types)?;
            } else {
                writeln!(w, "  WS-Discovery off (--no-discovery), as msvsmon /nodiscovery")?;
            }
            for n in &l.notes {
                writeln!(w, "  note: {n}")?;
            }
            writeln!(w, "listening; Ctrl-C to stop")
        })?;

        let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
        let server = listen::serve(bound, tx, platform::shutdown_signal());
        let log = async {
            while let Some(ev) = rx.recv().await {
                let t = start.elapsed().as_secs_f64();
                let line = describe(ev);
                out.write(|w| writeln!(w, "+{t:.3}s  {line}"))?;
                if out.is_closed() {
                    break;
                }
            }
            Ok::<_, crate::error::OutputError>(())
        };
        let ((), logged) = tokio::join!(server, log);
        logged?;
        out.write(|w| writeln!(w, "stopped"))?;
        out.finish()?;
        Ok(ExitCode::Found)
    })
}

/// One line of the log.
fn describe(ev: Event) -> String {
    match ev {
        Event::Connection { from, local } => format!("TCP {from} -> {local}: accepted and closed"),
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
        Event::NotAProbe { from, why } => format!("UDP 3702 datagram from {from} ignored: {why}"),
        Event::Error(e) => format!("error: {e}"),
    }
}
