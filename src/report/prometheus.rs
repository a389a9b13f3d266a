//! The Prometheus text exposition format (version 0.0.4), for the node exporter's textfile
//! collector, Telegraf's `prometheus` input, or anything that scrapes a file.
//!
//! Names follow Prometheus' conventions: a `msvsmon_probe_` prefix, base units in the name
//! (`_seconds`), gauges only, every family with `# HELP` and `# TYPE`, and stable series: a port
//! has one series per possible state (1 for the current one, 0 for the others), so a state change
//! never makes a series appear or vanish. Label values are escaped as the format requires.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::SystemTime;

use msvsmon_probe_core::{Diagnosis, HostObservation, PortState, Status};

pub(crate) const STATES: [PortState; 7] = [
    PortState::Open,
    PortState::Closed,
    PortState::Filtered,
    PortState::Rejected,
    PortState::NoHost,
    PortState::LocalError,
    PortState::Undecided,
];

/// Escapes a label value: backslash, double quote and line feed (exposition format 0.0.4).
fn escape(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

fn labels(pairs: &[(&str, &str)]) -> String {
    let inner: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .collect();
    format!("{{{}}}", inner.join(","))
}

/// Collects samples per metric family so each family is written once, HELP and TYPE first.
#[derive(Default)]
struct Families {
    order: Vec<&'static str>,
    help: BTreeMap<&'static str, &'static str>,
    samples: BTreeMap<&'static str, Vec<String>>,
}

impl Families {
    fn family(&mut self, name: &'static str, help: &'static str) {
        if !self.help.contains_key(name) {
            self.order.push(name);
            self.help.insert(name, help);
            self.samples.insert(name, Vec::new());
        }
    }

    fn sample(&mut self, name: &'static str, labels: String, value: f64) {
        let v = if value.fract() == 0.0 && value.abs() < 1e15 {
            format!("{}", value as i64)
        } else {
            format!("{value}")
        };
        self.samples
            .get_mut(name)
            .expect("family declared")
            .push(format!("{name}{labels} {v}"));
    }

    fn render(self) -> String {
        let mut out = String::new();
        for name in self.order {
            let _ = writeln!(out, "# HELP {name} {}", self.help[name]);
            let _ = writeln!(out, "# TYPE {name} gauge");
            for s in &self.samples[name] {
                out.push_str(s);
                out.push('\n');
            }
        }
        out
    }
}

/// Facts about targets that outlive one probe, for watch mode: when each target last had a
/// debugger port open (seconds since the Unix epoch).
pub type LastSuccess = BTreeMap<String, f64>;

fn unix_seconds(t: SystemTime) -> f64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// What the metrics say about one target, whatever it was read from: a probe's observation or
/// a host line of an earlier run's NDJSON (`merge`). One renderer for both, so the two can never
/// disagree on a metric.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetMetrics {
    pub target: String,
    /// Where the target was seen from (`--vantage`).
    pub vantage: String,
    pub resolved: bool,
    pub reachable: bool,
    pub duration_s: f64,
    pub ports: Vec<PortMetrics>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PortMetrics {
    pub address: String,
    pub port: u16,
    /// Release keys using the port, `2022,2026`, or `custom`.
    pub release: String,
    /// Roles, `main`, `wow64,wow64_service`, or `custom`.
    pub role: String,
    /// Accepts, and nothing contradicts the debugger.
    pub up: bool,
    pub state: PortState,
    pub connect_s: Option<f64>,
}

/// Comma-joined, or `custom` when the port is in no release (a `-p` port).
pub(crate) fn joined_or_custom(mut v: Vec<&str>, sort: bool) -> String {
    if sort {
        v.sort_unstable();
    }
    v.dedup();
    if v.is_empty() {
        "custom".to_string()
    } else {
        v.join(",")
    }
}

impl TargetMetrics {
    /// From a probe's observation and diagnosis.
    pub fn observed(obs: &HostObservation, d: &Diagnosis, vantage: &str) -> TargetMetrics {
        let ports = obs
            .addresses
            .iter()
            .flat_map(|a| a.ports.iter().map(move |p| (a, p)))
            .map(|(a, p)| PortMetrics {
                address: a.address.to_string(),
                port: p.planned.port.0,
                release: joined_or_custom(
                    p.planned.claims.iter().map(|c| c.release.key).collect(),
                    false,
                ),
                role: joined_or_custom(
                    p.planned.claims.iter().map(|c| c.role.as_str()).collect(),
                    true,
                ),
                up: p.result.is_debugger_candidate(),
                state: p.result.state,
                connect_s: p.result.rtt.map(|r| r.as_secs_f64()),
            })
            .collect();
        TargetMetrics {
            target: obs.target.input.clone(),
            vantage: vantage.to_string(),
            resolved: !obs.addresses.is_empty(),
            reachable: d.verdict.status == Status::Reachable,
            duration_s: obs.elapsed.as_secs_f64(),
            ports,
        }
    }
}

/// Renders the metrics for `hosts`, probed at `now`, seen from `vantage`. `last_success`
/// carries the last time each target was reachable across runs (watch mode); a target
/// reachable now counts as `now`.
pub fn render(
    hosts: &[(HostObservation, Diagnosis)],
    now: SystemTime,
    last_success: &LastSuccess,
    vantage: &str,
) -> String {
    let targets: Vec<TargetMetrics> = hosts
        .iter()
        .map(|(o, d)| TargetMetrics::observed(o, d, vantage))
        .collect();
    render_metrics(&targets, now, last_success, vantage)
}

/// Renders `targets`; `vantage` labels the samples that belong to no target.
pub fn render_metrics(
    targets: &[TargetMetrics],
    now: SystemTime,
    last_success: &LastSuccess,
    vantage: &str,
) -> String {
    let mut f = Families::default();
    f.family(
        "msvsmon_probe_target_resolved",
        "1 if the target's name resolved to at least one address.",
    );
    f.family(
        "msvsmon_probe_target_reachable",
        "1 if a remote debugger main or custom port accepts connections on the target.",
    );
    f.family(
        "msvsmon_probe_probe_duration_seconds",
        "Wall time of the target's probe.",
    );
    f.family(
        "msvsmon_probe_last_success_timestamp_seconds",
        "Unix time the target last had a debugger port open (absent until it had one).",
    );
    f.family(
        "msvsmon_probe_port_up",
        "1 if the port accepts connections and nothing contradicts the remote debugger.",
    );
    f.family(
        "msvsmon_probe_port_state",
        "1 for the port's current state (open, closed, filtered, rejected, no_host, local_error), 0 for the others.",
    );
    f.family(
        "msvsmon_probe_port_connect_seconds",
        "Time from connect() to the answer that decided the port's state (absent when nothing answered).",
    );
    f.family(
        "msvsmon_probe_probe_timestamp_seconds",
        "Unix time this probe finished.",
    );

    let now_s = unix_seconds(now);
    for t in targets {
        let v = t.vantage.as_str();
        let tl = labels(&[("vantage", v), ("target", &t.target)]);
        f.sample(
            "msvsmon_probe_target_resolved",
            tl.clone(),
            f64::from(u8::from(t.resolved)),
        );
        f.sample(
            "msvsmon_probe_target_reachable",
            tl.clone(),
            f64::from(u8::from(t.reachable)),
        );
        f.sample(
            "msvsmon_probe_probe_duration_seconds",
            tl.clone(),
            t.duration_s,
        );
        let last = if t.reachable {
            Some(now_s)
        } else {
            last_success.get(&t.target).copied()
        };
        if let Some(l) = last {
            f.sample(
                "msvsmon_probe_last_success_timestamp_seconds",
                tl.clone(),
                l,
            );
        }
        for p in &t.ports {
            let port = p.port.to_string();
            let base = [
                ("vantage", v),
                ("target", t.target.as_str()),
                ("address", p.address.as_str()),
                ("port", port.as_str()),
                ("release", p.release.as_str()),
                ("role", p.role.as_str()),
            ];
            f.sample(
                "msvsmon_probe_port_up",
                labels(&base),
                f64::from(u8::from(p.up)),
            );
            for s in STATES {
                let mut l = base.to_vec();
                l.push(("state", s.as_str()));
                f.sample(
                    "msvsmon_probe_port_state",
                    labels(&l),
                    f64::from(u8::from(p.state == s)),
                );
            }
            if let Some(c) = p.connect_s {
                f.sample("msvsmon_probe_port_connect_seconds", labels(&base), c);
            }
        }
    }
    f.sample(
        "msvsmon_probe_probe_timestamp_seconds",
        labels(&[("vantage", vantage)]),
        now_s.floor(),
    );
    f.render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(escape("x\ny"), "x\\ny");
        assert_eq!(labels(&[("target", "dev\"box")]), "{target=\"dev\\\"box\"}");
    }

    #[test]
    fn every_family_has_help_and_type_before_its_samples() {
        let text = render(&[], SystemTime::UNIX_EPOCH, &LastSuccess::new(), "lab");
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("# HELP msvsmon_probe_"));
        assert!(lines[1].ends_with(" gauge"));
        assert!(
            text.ends_with("msvsmon_probe_probe_timestamp_seconds{vantage=\"lab\"} 0\n"),
            "{text}"
        );
    }
}
