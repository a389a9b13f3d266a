//! The running log of `listen`: one line per event, up to [`LINES_PER_SECOND`] in a second;
//! the rest of that second is counted and summed up in one line when the second is over, so a
//! flood (80,000 Probes a second from one sender) costs the terminal one line a second and still
//! says what happened and who sent it.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::time::Duration;

use msvsmon_probe_core::{ListenEvent, ProbeOutcome, MAX_ANSWERS_PER_SECOND};

use crate::sanitize;

/// Lines of events written in one second of the log before the rest are summed up.
pub const LINES_PER_SECOND: u32 = 20;
/// Senders told apart in a summary; past this, the others are counted together, so a flood
/// from forged addresses cannot grow the log's memory.
const SOURCES_KEPT: usize = 1024;
/// Senders a summary names, the busiest first.
const SOURCES_NAMED: usize = 3;

/// What a summary counts an event as, in the order the summary lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Connection,
    Answered,
    RateLimited,
    Silent,
    NotAProbe,
    Error,
    Lost,
}

impl Kind {
    fn of(ev: &ListenEvent) -> Kind {
        match ev {
            ListenEvent::Connection { .. } => Kind::Connection,
            ListenEvent::Probe { outcome, .. } => match outcome {
                ProbeOutcome::Matched | ProbeOutcome::NoMatch => Kind::Answered,
                ProbeOutcome::RateLimited => Kind::RateLimited,
                ProbeOutcome::Silent(_) => Kind::Silent,
            },
            ListenEvent::NotAProbe { .. } => Kind::NotAProbe,
            ListenEvent::Error(_) => Kind::Error,
            ListenEvent::Lost { .. } => Kind::Lost,
        }
    }

    fn words(self, n: u64) -> String {
        let n_s = thousands(n);
        match self {
            Kind::Connection => format!("{n_s} TCP connection(s)"),
            Kind::Answered => format!("{n_s} Probe(s) answered"),
            Kind::RateLimited => {
                format!("{n_s} Probe(s) not answered (over {MAX_ANSWERS_PER_SECOND} a second)")
            }
            Kind::Silent => format!("{n_s} Probe(s) not answered"),
            Kind::NotAProbe => format!("{n_s} datagram(s) that are not Probes"),
            Kind::Error => format!("{n_s} socket error(s)"),
            Kind::Lost => format!("{n_s} event(s) lost (the log fell behind)"),
        }
    }
}

fn source(ev: &ListenEvent) -> Option<IpAddr> {
    match ev {
        ListenEvent::Connection { from, .. }
        | ListenEvent::Probe { from, .. }
        | ListenEvent::NotAProbe { from, .. } => Some(from.ip()),
        ListenEvent::Error(_) | ListenEvent::Lost { .. } => None,
    }
}

/// The events of the current second not written, by kind and by sender.
#[derive(Debug, Default)]
struct Held {
    by_kind: BTreeMap<Kind, u64>,
    by_source: HashMap<IpAddr, u64>,
    other_sources: u64,
}

impl Held {
    fn add(&mut self, kind: Kind, n: u64, from: Option<IpAddr>) {
        *self.by_kind.entry(kind).or_default() += n;
        let Some(ip) = from else { return };
        if let Some(c) = self.by_source.get_mut(&ip) {
            *c += n;
        } else if self.by_source.len() < SOURCES_KEPT {
            self.by_source.insert(ip, n);
        } else {
            self.other_sources += n;
        }
    }

    fn summary(&self) -> Option<String> {
        let total: u64 = self.by_kind.values().sum();
        if total == 0 {
            return None;
        }
        let kinds: Vec<String> = self.by_kind.iter().map(|(k, n)| k.words(*n)).collect();
        let mut line = format!(
            "{} more event(s) this second not shown: {}",
            thousands(total),
            kinds.join(", ")
        );
        let mut senders: Vec<(&IpAddr, &u64)> = self.by_source.iter().collect();
        senders.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        if !senders.is_empty() {
            let named: Vec<String> = senders
                .iter()
                .take(SOURCES_NAMED)
                .map(|(ip, n)| format!("{ip} ({})", thousands(**n)))
                .collect();
            let rest: u64 = senders
                .iter()
                .skip(SOURCES_NAMED)
                .map(|(_, n)| **n)
                .sum::<u64>()
                + self.other_sources;
            line.push_str("; from ");
            line.push_str(&named.join(", "));
            if rest > 0 {
                line.push_str(&format!(" and {} from others", thousands(rest)));
            }
        }
        Some(line)
    }
}

/// The log's state: which second it is in, how many lines that second has had, what it held.
#[derive(Debug, Default)]
pub struct ListenLog {
    second: u64,
    written: u32,
    held: Held,
}

impl ListenLog {
    pub fn new() -> ListenLog {
        ListenLog::default()
    }

    /// The lines to write for an event at `t` since the start: the summary of an earlier second
    /// that held events, then the event's own line while this second has lines left.
    pub fn event(&mut self, t: Duration, ev: ListenEvent) -> Vec<String> {
        let mut lines: Vec<String> = self.tick(t).into_iter().collect();
        let kind = Kind::of(&ev);
        // Lost events have no line of their own: they are what was not logged.
        if self.written < LINES_PER_SECOND && kind != Kind::Lost {
            self.written += 1;
            lines.push(stamp(t, &describe(ev)));
        } else {
            let n = match ev {
                ListenEvent::Lost { events } => events,
                _ => 1,
            };
            self.held.add(kind, n, source(&ev));
        }
        lines
    }

    /// Called at least once a second: when the second of `t` is a later one, the summary of
    /// what the last second held (if anything), stamped at the end of that second.
    pub fn tick(&mut self, t: Duration) -> Option<String> {
        let second = t.as_secs();
        if second == self.second {
            return None;
        }
        let line = self
            .held
            .summary()
            .map(|s| stamp(Duration::from_secs(self.second + 1), &s));
        self.second = second;
        self.written = 0;
        self.held = Held::default();
        line
    }

    /// The summary of the second the log ends in, if it held anything.
    pub fn finish(&mut self, t: Duration) -> Option<String> {
        let line = self.held.summary().map(|s| stamp(t, &s));
        self.held = Held::default();
        line
    }
}

fn stamp(t: Duration, line: &str) -> String {
    format!("+{:.3}s  {line}", t.as_secs_f64())
}

/// 391788 → "391,788": counts a person reads at a glance.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// One event, in words.
fn describe(ev: ListenEvent) -> String {
    match ev {
        ListenEvent::Connection { from, local } => {
            format!("TCP {from} -> {local}: accepted and closed")
        }
        ListenEvent::Probe {
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
                ProbeOutcome::RateLimited => {
                    format!("not answered: more than {MAX_ANSWERS_PER_SECOND} Probes this second")
                }
            };
            // The types are the requester's words: shown through the sanitiser.
            format!(
                "Probe {version} (types: {}) from {from} by {}: {what}",
                sanitize::field(&types),
                route.as_str()
            )
        }
        ListenEvent::NotAProbe { from, why } => {
            format!("UDP 3702 datagram from {from} ignored: {why}")
        }
        ListenEvent::Error(e) => format!("error: {}", sanitize::field(&e)),
        ListenEvent::Lost { events } => format!("{events} event(s) lost"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    fn junk(from: &str) -> ListenEvent {
        ListenEvent::NotAProbe {
            from: from.parse::<SocketAddr>().unwrap(),
            why: "not XML".into(),
        }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_flood_costs_one_summary_line_a_second_and_names_its_sender() {
        let mut log = ListenLog::new();
        let mut lines = Vec::new();
        for i in 0..10_000u64 {
            lines.extend(log.event(ms(i / 10), junk("10.0.0.5:3702")));
        }
        lines.extend(log.event(ms(1_500), junk("10.0.0.9:3702")));
        lines.extend(log.finish(ms(1_600)));
        // First second: 20 lines and a summary of 10,000 - 20 ... the rest fall in 0–999 ms.
        assert_eq!(lines.len(), 20 + 1 + 1, "{lines:#?}");
        assert_eq!(
            lines[20],
            "+1.000s  9,980 more event(s) this second not shown: 9,980 datagram(s) that are not \
             Probes; from 10.0.0.5 (9,980)"
        );
        assert!(lines[21].starts_with("+1.500s  UDP 3702 datagram from 10.0.0.9:3702"));
        assert_eq!(log.finish(ms(2_000)), None, "nothing held twice");
    }

    #[test]
    fn summaries_name_the_busiest_senders_and_count_the_rest() {
        let mut log = ListenLog::new();
        for _ in 0..LINES_PER_SECOND {
            log.event(ms(0), junk("10.0.0.1:1"));
        }
        for (ip, n) in [
            ("10.0.0.2", 5),
            ("10.0.0.3", 7),
            ("10.0.0.4", 1),
            ("10.0.0.5", 2),
        ] {
            for _ in 0..n {
                log.event(ms(10), junk(&format!("{ip}:1")));
            }
        }
        log.event(ms(20), ListenEvent::Lost { events: 400 });
        let s = log.tick(ms(3_000)).unwrap();
        assert_eq!(
            s,
            "+1.000s  415 more event(s) this second not shown: 15 datagram(s) that are not \
             Probes, 400 event(s) lost (the log fell behind); from 10.0.0.3 (7), 10.0.0.2 (5), \
             10.0.0.5 (2) and 1 from others"
        );
        assert_eq!(log.tick(ms(3_500)), None);
    }

    #[test]
    fn forged_senders_beyond_the_kept_ones_are_counted_not_stored() {
        let mut log = ListenLog::new();
        log.written = LINES_PER_SECOND;
        for i in 0..(SOURCES_KEPT as u32 + 500) {
            let ip = std::net::Ipv4Addr::from(0x0a00_0000 + i);
            log.event(ms(0), junk(&format!("{ip}:1")));
        }
        assert_eq!(log.held.by_source.len(), SOURCES_KEPT);
        assert_eq!(log.held.other_sources, 500);
        let s = log.finish(ms(10)).unwrap();
        let rest = thousands((500 + SOURCES_KEPT - SOURCES_NAMED) as u64);
        assert!(s.ends_with(&format!("and {rest} from others")), "{s}");
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(391_788), "391,788");
        assert_eq!(thousands(12_345_678), "12,345,678");
    }
}
