//! `msvsmon-probe listen`: the stand-in monitor, in the foreground, logging what it sees (a
//! flood summed up once a second: [`ListenLog`]).

use std::time::{Duration, Instant};

use crate::config::ListenConfig;
use crate::error::AppError;
use crate::exit_code::ExitCode;
use crate::output::Output;
use crate::report::listen_log::ListenLog;
use msvsmon_probe_core::{bind_stand_in, serve_stand_in, shutdown_signal, Port, WSD_PORT};

/// Binds, prints what it listens on, logs what happens, stops on Ctrl-C or SIGTERM. A reader
/// of the log that goes away stops the log, not the stand-in.
pub fn run(cfg: ListenConfig) -> Result<ExitCode, AppError> {
    super::block_on(async {
        let bound = bind_stand_in(&cfg.listen)?;
        let start = Instant::now();
        let mut out = Output::stdout();
        let l = &bound.listening;
        let releases: Vec<&str> = cfg.releases.iter().map(|r| r.short).collect();
        let what = if releases.is_empty() {
            format!(
                "a remote debugger on port(s) {}",
                port_list(&cfg.listen.ports)
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
                let g = std::net::SocketAddr::new(*g, WSD_PORT);
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
        let server = serve_stand_in(bound, tx, shutdown_signal());
        let log = async {
            let mut log = ListenLog::new();
            let mut every = tokio::time::interval(Duration::from_secs(1));
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                let lines: Vec<String> = tokio::select! {
                    ev = rx.recv() => match ev {
                        Some(ev) => log.event(start.elapsed(), ev),
                        None => break,
                    },
                    _ = every.tick() => log.tick(start.elapsed()).into_iter().collect(),
                };
                for line in lines {
                    out.write(|w| writeln!(w, "{line}"))?;
                }
                if out.is_closed() {
                    break;
                }
            }
            if let Some(line) = log.finish(start.elapsed()) {
                out.write(|w| writeln!(w, "{line}"))?;
            }
            Ok::<_, crate::error::OutputError>(())
        };
        let ((), logged) = tokio::join!(server, log);
        logged?;
        out.write(|w| writeln!(w, "stopped"))?;
        out.finish()?;
        Ok(ExitCode::Found)
    })?
}

/// The ports of a listen run, for the banner.
fn port_list(ports: &[(Port, String)]) -> String {
    ports
        .iter()
        .map(|(p, _)| p.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
