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

const STATES: [PortState; 7] = [
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
    /// `vantage="NAME"`, first in every sample's labels: series from several sites never clash.
    vantage: String,
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
        let labels = match labels.strip_prefix('{') {
            Some(rest) => format!("{{{},{rest}", self.vantage),
            None => format!("{{{}}}", self.vantage),
        };
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

/// Renders the metrics for `hosts`, probed at `now`. `last_success` carries the last time each
/// target was reachable across runs (watch mode); a target reachable now counts as `now`.
pub fn render(
    hosts: &[(HostObservation, Diagnosis)],
    now: SystemTime,
    last_success: &LastSuccess,
    vantage: &str,
) -> String {
    let mut f = Families {
        vantage: format!("vantage=\"{}\"", escape(vantage)),
        ..Families::default()
    };
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
    for (obs, d) in hosts {
        let target = obs.target.input.as_str();
        let t = labels(&[("target", target)]);
        f.sample(
            "msvsmon_probe_target_resolved",
            t.clone(),
            f64::from(u8::from(!obs.addresses.is_empty())),
        );
        let reachable = d.verdict.status == Status::Reachable;
        f.sample(
            "msvsmon_probe_target_reachable",
            t.clone(),
            f64::from(u8::from(reachable)),
        );
        f.sample(
            "msvsmon_probe_probe_duration_seconds",
            t.clone(),
            obs.elapsed.as_secs_f64(),
        );
        let last = if reachable {
            Some(now_s)
        } else {
            last_success.get(target).copied()
        };
        if let Some(l) = last {
            f.sample("msvsmon_probe_last_success_timestamp_seconds", t.clone(), l);
        }
        for a in &obs.addresses {
            let address = a.address.to_string();
            for p in &a.ports {
                let port = p.planned.port.to_string();
                let mut releases: Vec<&str> =
                    p.planned.claims.iter().map(|c| c.release.key).collect();
                releases.dedup();
                let release = if releases.is_empty() {
                    "custom".to_string()
                } else {
                    releases.join(",")
                };
                let mut roles: Vec<&str> = p
                    .planned
                    .claims
                    .iter()
                    .map(|c| match c.role {
                        msvsmon_probe_core::Role::Main => "main",
                        msvsmon_probe_core::Role::Wow64 => "wow64",
                        msvsmon_probe_core::Role::Wow64Service => "wow64_service",
                        msvsmon_probe_core::Role::AppServiceForwarder => "app_service_forwarder",
                        msvsmon_probe_core::Role::AzureConnector => "azure_connector",
                        msvsmon_probe_core::Role::AzureForwarder => "azure_forwarder",
                        msvsmon_probe_core::Role::AzureForwarderX86 => "azure_forwarder_x86",
                        msvsmon_probe_core::Role::AzureFileUpload => "azure_file_upload",
                    })
                    .collect();
                roles.sort_unstable();
                roles.dedup();
                let role = if roles.is_empty() {
                    "custom".to_string()
                } else {
                    roles.join(",")
                };
                let base = [
                    ("target", target),
                    ("address", address.as_str()),
                    ("port", port.as_str()),
                    ("release", release.as_str()),
                    ("role", role.as_str()),
                ];
                f.sample(
                    "msvsmon_probe_port_up",
                    labels(&base),
                    f64::from(u8::from(p.result.is_debugger_candidate())),
                );
                for s in STATES {
                    let mut l = base.to_vec();
                    l.push(("state", s.as_str()));
                    f.sample(
                        "msvsmon_probe_port_state",
                        labels(&l),
                        f64::from(u8::from(p.result.state == s)),
                    );
                }
                if let Some(rtt) = p.result.rtt {
                    f.sample(
                        "msvsmon_probe_port_connect_seconds",
                        labels(&base),
                        rtt.as_secs_f64(),
                    );
                }
            }
        }
    }
    f.sample(
        "msvsmon_probe_probe_timestamp_seconds",
        String::new(),
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
