//! `--watch` lines: one NDJSON object per change (`"type": "event"`) and one per interval
//! (`"type": "heartbeat"`), built from the engine's events and heartbeats; a verdict's summary
//! is written by [`super::words`].

use std::time::SystemTime;

use serde::Serialize;

use super::words;
use msvsmon_probe_core::{Heartbeat, PortState, Status, WatchChange, WatchEvent};

/// One event line.
#[derive(Debug, Serialize)]
pub struct EventLine<'a> {
    #[serde(rename = "type")]
    kind_of_line: &'static str,
    /// RFC 3339, UTC, when the probe that saw the change finished.
    time: String,
    /// Where the change was seen from (`--vantage`).
    vantage: &'a str,
    target: &'a str,
    /// This target's probe round (1 for the first).
    round: u64,
    #[serde(flatten)]
    change: ChangeLine<'a>,
}

/// What changed, under `"kind"`.
#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum ChangeLine<'a> {
    /// A port's state; `new` is null when the address is no longer probed (the name moved).
    Port {
        address: &'a str,
        port: u16,
        label: &'a str,
        old: Option<PortState>,
        new: Option<PortState>,
        reason: Option<&'static str>,
    },
    /// The target's verdict.
    Verdict {
        old: Option<Status>,
        new: Status,
        summary: String,
    },
    /// The addresses the name resolves to.
    Addresses {
        old: &'a [String],
        new: &'a [String],
    },
    /// The WS-Discovery status (`answered`, `no_reply`…); null when discovery was not probed.
    Discovery {
        old: Option<&'static str>,
        new: Option<&'static str>,
    },
}

/// The line of one event.
pub fn line<'a>(e: &'a WatchEvent, vantage: &'a str) -> EventLine<'a> {
    EventLine {
        kind_of_line: "event",
        time: rfc3339(e.at),
        vantage,
        target: &e.target,
        round: e.round,
        change: match &e.change {
            WatchChange::Port {
                address,
                port,
                label,
                old,
                new,
                reason,
            } => ChangeLine::Port {
                address,
                port: *port,
                label,
                old: *old,
                new: *new,
                reason: *reason,
            },
            WatchChange::Verdict { old, new } => ChangeLine::Verdict {
                old: *old,
                new: new.status,
                summary: words::summary(new),
            },
            WatchChange::Addresses { old, new } => ChangeLine::Addresses { old, new },
            WatchChange::Discovery { old, new } => ChangeLine::Discovery {
                old: *old,
                new: *new,
            },
        },
    }
}

/// RFC 3339, UTC, to the millisecond.
fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

/// The heartbeat line.
#[derive(Debug, Serialize)]
pub struct HeartbeatLine<'a> {
    #[serde(rename = "type")]
    kind_of_line: &'static str,
    time: String,
    vantage: &'a str,
    /// Heartbeats so far, this one included.
    round: u64,
    interval_ms: f64,
    targets: usize,
    /// Targets probed at least once.
    probed: usize,
    reachable: usize,
    wow64_only: usize,
    not_reachable: usize,
    unresolved: usize,
    incomplete: usize,
    /// Events written since the start.
    events: u64,
}

/// The line of one heartbeat.
pub fn heartbeat<'a>(h: &Heartbeat, vantage: &'a str) -> HeartbeatLine<'a> {
    HeartbeatLine {
        kind_of_line: "heartbeat",
        time: rfc3339(h.at),
        vantage,
        round: h.round,
        interval_ms: h.interval_ms,
        targets: h.targets,
        probed: h.probed,
        reachable: h.reachable,
        wow64_only: h.wow64_only,
        not_reachable: h.not_reachable,
        unresolved: h.unresolved,
        incomplete: h.incomplete,
        events: h.events,
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use msvsmon_probe_core::{diagnose, fixtures, HostObservation, WatchState};

    /// `devbox` at `ips`, VS 2022's ports, 4026 open or refused.
    fn obs(ips: &[&str], open: bool) -> HostObservation {
        let answers = || {
            if open {
                vec![(4026, fixtures::open())]
            } else {
                vec![]
            }
        };
        ips.iter()
            .fold(fixtures::observe("devbox").releases(&["2022"]), |o, ip| {
                o.address(ip, answers())
            })
            .build()
    }

    fn lines(state: &mut WatchState, o: &HostObservation) -> Vec<String> {
        state
            .update(o, &diagnose(o), SystemTime::UNIX_EPOCH)
            .iter()
            .map(|e| serde_json::to_string(&line(e, "lab")).unwrap())
            .collect()
    }

    /// The lines as scripts read them: every field, in this order, byte for byte.
    #[test]
    fn event_lines_are_the_documented_ndjson() {
        let mut w = WatchState::new();
        let first = lines(&mut w, &obs(&["10.0.0.5"], false));
        assert_eq!(
            first[0],
            r#"{"type":"event","time":"1970-01-01T00:00:00.000Z","vantage":"lab","target":"devbox","round":1,"kind":"port","address":"10.0.0.5","port":4025,"label":"VS 2019, 2022 or 2026 · WoW64","old":null,"new":"closed","reason":"conn-refused"}"#
        );
        assert_eq!(
            first.last().unwrap(),
            r#"{"type":"event","time":"1970-01-01T00:00:00.000Z","vantage":"lab","target":"devbox","round":1,"kind":"verdict","old":null,"new":"not_reachable","summary":"no remote debugger port answers on devbox"}"#
        );
        let up = lines(&mut w, &obs(&["10.0.0.6"], true));
        assert_eq!(
            up[0],
            r#"{"type":"event","time":"1970-01-01T00:00:00.000Z","vantage":"lab","target":"devbox","round":2,"kind":"addresses","old":["10.0.0.5"],"new":["10.0.0.6"]}"#
        );
        assert!(
            up.contains(&r#"{"type":"event","time":"1970-01-01T00:00:00.000Z","vantage":"lab","target":"devbox","round":2,"kind":"port","address":"10.0.0.5","port":4026,"label":"","old":"closed","new":null,"reason":null}"#.to_string()),
            "{up:#?}"
        );
        assert_eq!(
            up.last().unwrap(),
            r#"{"type":"event","time":"1970-01-01T00:00:00.000Z","vantage":"lab","target":"devbox","round":2,"kind":"verdict","old":"not_reachable","new":"reachable","summary":"VS 2022 or 2026 remote debugger reachable at 10.0.0.6:4026"}"#
        );
    }
}
