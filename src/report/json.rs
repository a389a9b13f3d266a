//! The `--json` document. These serde types are the interface (documented in docs/json.md):
//! they are separate from the engine's types so the engine can change without breaking scripts.
//! Within a `schema_version`, fields are only ever added.

use serde::Serialize;

use super::RunInfo;
use crate::catalog::{Certainty, Role};
use crate::diagnose::{Code, Diagnosis, Severity, Status};
use crate::observation::{AddressObservation, HostObservation, PortObservation};
use crate::probe::{IcmpKind, PortState};
use crate::resolve::Source;

/// Bumped only for a change that is not an addition.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Serialize)]
pub struct Document {
    pub schema_version: u32,
    pub tool: Tool,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub elapsed_ms: f64,
    pub settings: SettingsJson,
    pub targets: Vec<TargetJson>,
    pub summary: SummaryJson,
}

#[derive(Debug, Serialize)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
}

#[derive(Debug, Serialize)]
pub struct SettingsJson {
    pub timeout_ms: f64,
    pub retries: u32,
    pub greeting_wait_ms: f64,
    pub concurrency: usize,
}

#[derive(Debug, Serialize)]
pub struct TargetJson {
    /// As typed.
    pub input: String,
    pub host: String,
    /// Port given as `host:port`, if any.
    pub port: Option<u16>,
    pub resolution: ResolutionJson,
    pub elapsed_ms: f64,
    pub addresses: Vec<AddressJson>,
    pub verdict: VerdictJson,
    pub findings: Vec<FindingJson>,
}

#[derive(Debug, Serialize)]
pub struct ResolutionJson {
    pub source: Source,
    pub addresses: Vec<String>,
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct AddressJson {
    pub address: String,
    pub family: &'static str,
    pub scope: &'static str,
    pub ports: Vec<PortJson>,
}

#[derive(Debug, Serialize)]
pub struct PortJson {
    pub port: u16,
    pub state: PortState,
    pub reason: &'static str,
    pub rtt_ms: Option<f64>,
    pub attempts: u32,
    pub label: String,
    pub custom: bool,
    pub roles: Vec<RoleJson>,
    pub greeting: Option<GreetingJson>,
    pub icmp: Option<IcmpJson>,
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct RoleJson {
    pub release: &'static str,
    pub role: Role,
    pub certainty: Certainty,
}

#[derive(Debug, Serialize)]
pub struct GreetingJson {
    pub text: String,
    pub protocol: Option<&'static str>,
}

#[derive(Debug, Serialize)]
pub struct IcmpJson {
    pub kind: IcmpKind,
    #[serde(rename = "type")]
    pub icmp_type: u8,
    pub code: u8,
    pub version: u8,
    pub from: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct VerdictJson {
    pub status: Status,
    pub summary: String,
    pub endpoints: Vec<EndpointJson>,
}

#[derive(Debug, Serialize)]
pub struct EndpointJson {
    pub address: String,
    pub port: u16,
    pub label: String,
    pub releases: Vec<&'static str>,
    pub custom: bool,
    pub attach_as: String,
}

#[derive(Debug, Serialize)]
pub struct FindingJson {
    pub code: Code,
    pub severity: Severity,
    pub address: Option<String>,
    pub ports: Vec<u16>,
    pub cause: String,
    pub action: String,
}

#[derive(Debug, Serialize)]
pub struct SummaryJson {
    pub targets: usize,
    pub resolved: usize,
    pub reachable: usize,
    pub exit_code: u8,
}

pub fn ms(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

pub fn port(p: &PortObservation) -> PortJson {
    let r = &p.result;
    PortJson {
        port: p.planned.port.0,
        state: r.state,
        reason: r.reason.as_str(),
        rtt_ms: r.rtt.map(ms),
        attempts: r.attempts,
        label: p.planned.label(),
        custom: p.planned.custom,
        roles: p
            .planned
            .claims
            .iter()
            .map(|c| RoleJson {
                release: c.release.key,
                role: c.role,
                certainty: c.certainty,
            })
            .collect(),
        greeting: r.greeting.as_ref().map(|g| GreetingJson {
            text: g.text.clone(),
            protocol: g.protocol,
        }),
        icmp: r.icmp.map(|i| IcmpJson {
            kind: i.kind,
            icmp_type: i.icmp_type,
            code: i.code,
            version: if i.v6 { 6 } else { 4 },
            from: i.from.map(|f| f.to_string()),
        }),
        error: r.error.clone(),
    }
}

pub fn address(a: &AddressObservation) -> AddressJson {
    AddressJson {
        address: a.address.to_string(),
        family: if a.address.ip.is_ipv4() {
            "ipv4"
        } else {
            "ipv6"
        },
        scope: a.scope().as_str(),
        ports: a.ports.iter().map(port).collect(),
    }
}

pub fn target(obs: &HostObservation, d: &Diagnosis) -> TargetJson {
    TargetJson {
        input: obs.target.input.clone(),
        host: obs.target.host.to_string(),
        port: obs.target.port.map(|p| p.0),
        resolution: ResolutionJson {
            source: obs.resolution.source,
            addresses: obs
                .resolution
                .addresses
                .iter()
                .map(|a| a.to_string())
                .collect(),
            error: obs.resolution.error.clone(),
        },
        elapsed_ms: ms(obs.elapsed),
        addresses: obs.addresses.iter().map(address).collect(),
        verdict: VerdictJson {
            status: d.verdict.status,
            summary: d.verdict.summary.clone(),
            endpoints: d
                .verdict
                .endpoints
                .iter()
                .map(|e| EndpointJson {
                    address: e.address.to_string(),
                    port: e.port.0,
                    label: e.label.clone(),
                    releases: e.releases.clone(),
                    custom: e.custom,
                    attach_as: e.attach_as.clone(),
                })
                .collect(),
        },
        findings: d
            .findings
            .iter()
            .map(|f| FindingJson {
                code: f.code,
                severity: f.severity,
                address: f.address.map(|a| a.to_string()),
                ports: f.ports.iter().map(|p| p.0).collect(),
                cause: f.cause.clone(),
                action: f.action.clone(),
            })
            .collect(),
    }
}

pub fn document(run: &RunInfo, hosts: &[(HostObservation, Diagnosis)], exit_code: u8) -> Document {
    Document {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
        },
        started_at: humantime::format_rfc3339_millis(run.started_at).to_string(),
        elapsed_ms: ms(run.elapsed),
        settings: SettingsJson {
            timeout_ms: ms(run.settings.timeout),
            retries: run.settings.retries,
            greeting_wait_ms: ms(run.greeting_wait),
            concurrency: run.settings.concurrency,
        },
        targets: hosts.iter().map(|(o, d)| target(o, d)).collect(),
        summary: SummaryJson {
            targets: hosts.len(),
            resolved: hosts
                .iter()
                .filter(|(o, _)| !o.addresses.is_empty())
                .count(),
            reachable: hosts
                .iter()
                .filter(|(_, d)| d.verdict.status == Status::Reachable)
                .count(),
            exit_code,
        },
    }
}
