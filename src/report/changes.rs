//! `--watch` for people: one line per change (when, which host, which port and release, old →
//! new state, why), from the same events as the NDJSON lines of [`super::events`]. A target's
//! first round is its baseline: a person gets its verdict in one line, not a line per port (the
//! NDJSON lines keep every port, `old: null`, for consumers that start reading late).

use std::io::{self, Write};
use std::time::SystemTime;

use anstyle::{AnsiColor, Style};

use super::columns::wrap;
use super::words;
use crate::sanitize::field;
use msvsmon_probe_core::{PortState, Status, WatchChange, WatchEvent};

/// Columns taken by the time at the start of a line ("15:42:08Z "): where wrapped text goes on.
const TIME_WIDTH: usize = 10;

fn fg(c: AnsiColor) -> Style {
    Style::new().fg_color(Some(c.into()))
}

fn state_style(s: Option<PortState>) -> Style {
    match s {
        Some(PortState::Open) => fg(AnsiColor::Green).bold(),
        Some(PortState::Filtered | PortState::Rejected) => fg(AnsiColor::Yellow),
        Some(PortState::LocalError) => fg(AnsiColor::Red),
        _ => Style::new(),
    }
}

fn status_style(s: Status) -> Style {
    match s {
        Status::Reachable => fg(AnsiColor::Green).bold(),
        Status::Wow64Only => fg(AnsiColor::Yellow).bold(),
        _ => fg(AnsiColor::Red).bold(),
    }
}

fn state_words(s: Option<PortState>) -> &'static str {
    match s {
        None => "not probed (address gone)",
        Some(PortState::NoHost) => "no host",
        Some(PortState::LocalError) => "local error",
        Some(s) => s.as_str(),
    }
}

fn status_words(s: Status) -> &'static str {
    match s {
        Status::Reachable => "reachable",
        Status::Wow64Only => "WoW64 port only",
        Status::NotReachable => "not reachable",
        Status::Unresolved => "unresolved",
        Status::Incomplete => "incomplete",
    }
}

/// UTC to the second, `15:42:08Z`: short, and the same on every machine that reads the log.
fn clock(t: SystemTime) -> String {
    let s = humantime::format_rfc3339_seconds(t).to_string();
    // "2026-12-02T15:42:08Z"
    s.get(11..).unwrap_or(&s).to_string()
}

/// The line for one event, styled (the stream strips styles when colour is off); `None` for the
/// baseline of a target's first round, which its verdict line sums up.
pub fn line(e: &WatchEvent) -> Option<String> {
    let target = field(&e.target);
    let text = match &e.change {
        WatchChange::Port {
            address,
            port,
            label,
            old,
            new,
            reason,
        } => {
            old.as_ref()?;
            let at = if *address == e.target {
                String::new()
            } else {
                format!(" {address}")
            };
            let label = if label.is_empty() {
                String::new()
            } else {
                format!(" {label}")
            };
            let why = reason.map(|r| format!(" ({r})")).unwrap_or_default();
            let st = state_style(*new);
            format!(
                "{target}{at} {port}{label}: {} → {st}{}{st:#}{why}",
                state_words(*old),
                state_words(*new)
            )
        }
        WatchChange::Verdict { old, new } => {
            let st = status_style(new.status);
            let from = old
                .map(|o| format!("{} → ", status_words(o)))
                .unwrap_or_default();
            format!(
                "{target}: {from}{st}{}{st:#}: {}",
                status_words(new.status),
                field(&words::summary(new))
            )
        }
        WatchChange::Addresses { old, new } => {
            format!(
                "{target}: addresses {} → {}",
                old.join(", "),
                new.join(", ")
            )
        }
        WatchChange::Discovery { old, new } => {
            let old = (*old)?;
            let new = new.unwrap_or("not probed");
            format!(
                "{target}: WS-Discovery {} → {}",
                old.replace('_', " "),
                new.replace('_', " ")
            )
        }
    };
    Some(format!("{} {text}", clock(e.at)))
}

/// Writes the line for `e` (if it has one), wrapped to `width` under the text after the time.
pub fn write(w: &mut dyn Write, e: &WatchEvent, width: Option<usize>) -> io::Result<()> {
    let Some(text) = line(e) else { return Ok(()) };
    // Wrapping counts the escape sequences of the styles as text: only wrap what needs it.
    let plain = anstream::adapter::strip_str(&text).to_string();
    if width.is_none_or(|w| super::columns::width_of(&plain) <= w) {
        return writeln!(w, "{text}");
    }
    for (n, piece) in wrap(&plain, 0, TIME_WIDTH, width).iter().enumerate() {
        let indent = if n > 0 {
            " ".repeat(TIME_WIDTH)
        } else {
            String::new()
        };
        writeln!(w, "{indent}{piece}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;
    use msvsmon_probe_core::{diagnose, fixtures, HostObservation, WatchState};

    fn obs(ip: &str, open: bool) -> HostObservation {
        let answers = if open {
            vec![(4026, fixtures::open())]
        } else {
            vec![]
        };
        fixtures::observe("devbox")
            .releases(&["2022"])
            .address(ip, answers)
            .build()
    }

    fn lines(state: &mut WatchState, o: &HostObservation, at: SystemTime) -> Vec<String> {
        state
            .update(o, &diagnose(o), at)
            .iter()
            .filter_map(line)
            .map(|l| anstream::adapter::strip_str(&l).to_string())
            .collect()
    }

    /// The first round is one verdict line; then a line per change: the port with its release,
    /// old → new and the reason, the verdict with its summary, addresses that moved.
    #[test]
    fn a_line_per_change_and_one_for_the_baseline() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(15 * 3600 + 42 * 60 + 8);
        let mut w = WatchState::new();
        assert_eq!(
            lines(&mut w, &obs("10.0.0.5", false), t0),
            ["15:42:08Z devbox: not reachable: no remote debugger port answers on devbox"]
        );
        assert!(
            lines(&mut w, &obs("10.0.0.5", false), t0).is_empty(),
            "no change, no line"
        );
        let up = lines(&mut w, &obs("10.0.0.5", true), t0 + Duration::from_secs(30));
        assert_eq!(
            up,
            [
                "15:42:38Z devbox 10.0.0.5 4026 VS 2022 or 2026 · main: closed → open (syn-ack)",
                "15:42:38Z devbox: not reachable → reachable: VS 2022 or 2026 remote debugger reachable at 10.0.0.5:4026",
            ]
        );
        let moved = lines(&mut w, &obs("10.0.0.6", true), t0 + Duration::from_secs(60));
        assert_eq!(moved[0], "15:43:08Z devbox: addresses 10.0.0.5 → 10.0.0.6");
        assert!(
            moved.contains(
                &"15:43:08Z devbox 10.0.0.5 4026: open → not probed (address gone)".into()
            ),
            "{moved:#?}"
        );
    }

    #[test]
    fn a_long_line_wraps_under_the_text_after_the_time() {
        let mut w = WatchState::new();
        let o = obs("10.0.0.5", true);
        let events = w.update(&o, &diagnose(&o), SystemTime::UNIX_EPOCH);
        let verdict = events.last().unwrap();
        let mut out = Vec::new();
        write(&mut out, verdict, Some(60)).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "00:00:00Z devbox: reachable: VS 2022 or 2026 remote debugger\n          reachable at 10.0.0.5:4026\n"
        );
    }
}
