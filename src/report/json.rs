//! The `--json` document. These serde types are the interface (documented in docs/json.md):
//! they are separate from the engine's types so the engine can change without breaking scripts.
//! Within a `schema_version`, fields are only ever added.

use serde::Serialize;

use super::{words, RunInfo};
use crate::sanitize;
use msvsmon_probe_core::{
    AddressObservation, AddressSource, Certainty, Code, Diagnosis, DiscoverRun,
    DiscoveryObservation, HostObservation, IcmpKind, Ignored, NbFailure, PortObservation,
    PortState, Reach, Responder, Role, RouteRecord, Severity, Smb2Failure, Status,
    WindowsObservation,
};

/// Bumped only for a change that is not an addition.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Serialize)]
pub struct Document {
    pub schema_version: u32,
    pub tool: Tool,
    /// Where the run looked from (`--vantage`, default this machine's host name).
    pub vantage: String,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub elapsed_ms: f64,
    pub settings: SettingsJson,
    /// `targets` (the named targets) or `discover` (`--discover`: the responders found).
    pub mode: &'static str,
    /// What `--discover` sent and found; null otherwise.
    pub discover: Option<DiscoverJson>,
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
    /// WS-Discovery was probed (false with `--no-discovery`).
    pub discovery: bool,
    /// The listening window after the first multicast Probe; null with `--no-discovery`.
    pub discovery_wait_ms: Option<f64>,
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
    /// The WS-Discovery probe of the target; null with `--no-discovery` or when unresolved.
    pub discovery: Option<DiscoveryJson>,
}

#[derive(Debug, Serialize)]
pub struct DiscoveryJson {
    pub status: &'static str,
    pub elapsed_ms: f64,
    pub wait_ms: f64,
    pub stopped_early: bool,
    pub addresses: Vec<DiscoveryAddressJson>,
    pub probes: Vec<ProbeRouteJson>,
    pub responders: Vec<ResponderJson>,
    pub ignored: Ignored,
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct DiscoveryAddressJson {
    pub address: String,
    pub reach: &'static str,
    pub interface: Option<String>,
    pub multicast: bool,
    pub icmp: Option<IcmpJson>,
}

#[derive(Debug, Serialize)]
pub struct ProbeRouteJson {
    pub route: &'static str,
    pub address: String,
    pub destination: String,
    pub interface: Option<String>,
    pub datagrams: u32,
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct QNameJson {
    pub qname: String,
    pub namespace: Option<String>,
    pub local: String,
}

#[derive(Debug, Serialize)]
pub struct AnsweredJson {
    pub route: &'static str,
    pub version: &'static str,
    pub probe: &'static str,
}

#[derive(Debug, Serialize)]
pub struct DebuggerJson {
    pub hint: &'static str,
    pub text: Option<String>,
    pub note: String,
}

#[derive(Debug, Serialize)]
pub struct ResponderJson {
    pub source: String,
    pub source_port: u16,
    pub version: &'static str,
    pub endpoint: Option<String>,
    pub types: Vec<QNameJson>,
    pub scopes: Vec<String>,
    pub xaddrs: Vec<String>,
    pub metadata_version: Option<u64>,
    pub empty: bool,
    pub kind: &'static str,
    pub kinds: Vec<&'static str>,
    pub description: &'static str,
    pub debugger: DebuggerJson,
    pub answered: Vec<AnsweredJson>,
    pub datagrams: u32,
    pub first_reply_ms: f64,
    pub truncated: bool,
}

#[derive(Debug, Serialize)]
pub struct DiscoverJson {
    pub interfaces: Vec<InterfaceJson>,
    pub probes: Vec<ProbeRouteJson>,
    pub responders: usize,
    pub hosts: usize,
    pub ignored: Ignored,
    pub wait_ms: f64,
    pub elapsed_ms: f64,
}

#[derive(Debug, Serialize)]
pub struct InterfaceJson {
    pub name: String,
    pub index: u32,
    pub addresses: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct ResolutionJson {
    pub source: AddressSource,
    pub addresses: Vec<String>,
    pub error: Option<String>,
    pub error_kind: Option<&'static str>,
}

#[derive(Debug, Serialize)]
pub struct AddressJson {
    pub address: String,
    pub family: &'static str,
    pub scope: &'static str,
    pub ports: Vec<PortJson>,
    /// What the address said about itself as a Windows host; absent when the checks did not
    /// run (`--no-windows-checks`, scans, watch, `--discover`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub windows: Option<WindowsJson>,
}

/// SMB2 NEGOTIATE and NetBIOS node status of one address: each is its result or, when the
/// exchange failed, null with the reason in `*_failure`.
#[derive(Debug, Serialize)]
pub struct WindowsJson {
    pub smb2: Option<Smb2Json>,
    pub smb2_failure: Option<&'static str>,
    pub netbios: Option<NetbiosJson>,
    pub netbios_failure: Option<&'static str>,
}

#[derive(Debug, Serialize)]
pub struct Smb2Json {
    /// "3.0.2".
    pub dialect: String,
    pub signing_required: bool,
    /// The server's clock, ms since the Unix epoch; null when it sent none.
    pub server_time_ms: Option<i64>,
    /// Server minus this machine, and the uncertainty (half the round trip).
    pub clock_skew_ms: Option<i64>,
    pub clock_uncertainty_ms: Option<u64>,
}

#[derive(Debug, Serialize)]
pub struct NetbiosJson {
    /// The machine's own name (unique `<00>`).
    pub computer: Option<String>,
    /// Its workgroup or domain (group `<00>`).
    pub group: Option<String>,
    /// It registers the domain controllers' name `<1C>`.
    pub domain_controller: bool,
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
    /// The user's release (`--ide`, or assumed): the status and endpoints are then its.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ide: Option<IdeJson>,
}

#[derive(Debug, Serialize)]
pub struct IdeJson {
    /// Catalog key: "2022".
    pub release: &'static str,
    /// Not given: the newest Visual Studio installed here.
    pub assumed: bool,
    /// Its monitor's port, and that port's state (`null`: not probed).
    pub port: u16,
    pub state: Option<PortState>,
    /// The release whose monitor answers instead (a release mismatch).
    pub other_release: Option<&'static str>,
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

fn icmp_json(i: &msvsmon_probe_core::IcmpDetail) -> IcmpJson {
    IcmpJson {
        kind: i.kind,
        icmp_type: i.icmp_type,
        code: i.code,
        version: if i.v6 { 6 } else { 4 },
        from: i.from.map(|f| f.to_string()),
    }
}

fn route_json(r: &RouteRecord) -> ProbeRouteJson {
    ProbeRouteJson {
        route: r.kind.as_str(),
        address: r.address.to_string(),
        destination: r.destination.to_string(),
        interface: r.interface.clone(),
        datagrams: r.datagrams,
        error: r.error.clone(),
    }
}

pub fn responder(r: &Responder) -> ResponderJson {
    let c = &r.classification;
    ResponderJson {
        // With its zone (`fe80::1%eth0`): a link-local source means nothing without it.
        source: msvsmon_probe_core::Address::from_socket_addr(r.source).to_string(),
        source_port: r.source.port(),
        version: r.version.as_str(),
        endpoint: r.endpoint.clone(),
        types: r
            .types
            .iter()
            .map(|t| QNameJson {
                qname: t.text.clone(),
                namespace: t.namespace.clone(),
                local: t.local.clone(),
            })
            .collect(),
        scopes: r.scopes.clone(),
        xaddrs: r.xaddrs.clone(),
        metadata_version: r.metadata_version,
        empty: r.empty,
        kind: c.kind.as_str(),
        kinds: c.kinds.iter().map(|k| k.as_str()).collect(),
        description: super::words::responder_kind(c.kind),
        debugger: DebuggerJson {
            hint: c.debugger.as_str(),
            text: match &c.debugger {
                msvsmon_probe_core::DebuggerHint::Mentions(t) => Some(t.clone()),
                _ => None,
            },
            note: super::words::debugger_hint(&c.debugger),
        },
        answered: r
            .answered
            .iter()
            .map(|(route, v, k)| AnsweredJson {
                route: route.as_str(),
                version: v.as_str(),
                probe: k.as_str(),
            })
            .collect(),
        datagrams: r.datagrams,
        first_reply_ms: ms(r.first_reply),
        truncated: r.truncated,
    }
}

pub fn discovery(d: &DiscoveryObservation) -> DiscoveryJson {
    DiscoveryJson {
        status: d.status.as_str(),
        elapsed_ms: ms(d.elapsed),
        wait_ms: ms(d.wait),
        stopped_early: d.stopped_early,
        addresses: d
            .addresses
            .iter()
            .map(|a| DiscoveryAddressJson {
                address: a.address.to_string(),
                reach: a.reach.as_str(),
                interface: match &a.reach {
                    Reach::OnLink { interface, .. } => Some(interface.clone()),
                    _ => None,
                },
                multicast: a.reach.multicasts(),
                icmp: a.icmp.as_ref().map(icmp_json),
            })
            .collect(),
        probes: d.routes.iter().map(route_json).collect(),
        responders: d.responders.iter().map(responder).collect(),
        ignored: d.ignored,
        error: d.error.clone(),
    }
}

fn discover_json(f: &DiscoverRun, hosts: usize) -> DiscoverJson {
    DiscoverJson {
        interfaces: f
            .interfaces
            .iter()
            .map(|i| InterfaceJson {
                name: i.name.clone(),
                index: i.index,
                addresses: i
                    .addrs
                    .iter()
                    .map(|a| format!("{}/{}", a.ip, a.prefix))
                    .collect(),
            })
            .collect(),
        probes: f.routes.iter().map(route_json).collect(),
        responders: f.responders.len(),
        hosts,
        ignored: f.ignored,
        wait_ms: ms(f.wait),
        elapsed_ms: ms(f.elapsed),
    }
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
        icmp: r.icmp.as_ref().map(icmp_json),
        error: r.error.clone(),
    }
}

/// "3.0.2" for 0x0302.
pub fn dialect(d: u16) -> String {
    format!("{}.{}.{}", d >> 8, (d >> 4) & 0xf, d & 0xf)
}

fn windows_json(w: &WindowsObservation) -> WindowsJson {
    let field = |s: &Option<String>| s.as_deref().map(|s| sanitize::field(s).into_owned());
    WindowsJson {
        smb2: w.smb2.as_ref().ok().map(|r| Smb2Json {
            dialect: dialect(r.negotiated.dialect),
            signing_required: r.negotiated.signing_required,
            server_time_ms: r.negotiated.server_time_ms,
            clock_skew_ms: r.clock.map(|c| c.skew_ms),
            clock_uncertainty_ms: r.clock.map(|c| c.uncertainty_ms),
        }),
        smb2_failure: w.smb2.as_ref().err().map(|f| match f {
            Smb2Failure::Connect { .. } => "connect",
            Smb2Failure::Timeout => "timeout",
            Smb2Failure::Closed => "closed",
            Smb2Failure::Malformed { .. } => "malformed",
        }),
        netbios: w.netbios.as_ref().ok().map(|n| NetbiosJson {
            computer: field(&n.computer),
            group: field(&n.group),
            domain_controller: n.domain_controller,
        }),
        netbios_failure: w.netbios.as_ref().err().map(|f| match f {
            NbFailure::NotIpv4 => "not_ipv4",
            NbFailure::Send { .. } => "send",
            NbFailure::Timeout => "timeout",
            NbFailure::Refused => "refused",
            NbFailure::Malformed { .. } => "malformed",
        }),
    }
}

pub fn address(a: &AddressObservation, obs: &HostObservation) -> AddressJson {
    AddressJson {
        address: a.address.to_string(),
        family: if a.address.ip.is_ipv4() {
            "ipv4"
        } else {
            "ipv6"
        },
        scope: a.scope().as_str(),
        ports: a.ports.iter().map(port).collect(),
        windows: obs.windows_of(a.address.ip).map(windows_json),
    }
}

pub fn target(obs: &HostObservation, d: &Diagnosis) -> TargetJson {
    TargetJson {
        input: obs.target.input.clone(),
        host: obs.target.host.to_string(),
        port: obs.target.port.map(|p| p.0),
        resolution: ResolutionJson {
            source: obs.resolution.source(),
            addresses: obs
                .resolution
                .addresses()
                .iter()
                .map(|a| a.to_string())
                .collect(),
            error: obs.resolution.error().map(|e| e.to_string()),
            error_kind: obs.resolution.error().map(|e| e.kind()),
        },
        elapsed_ms: ms(obs.elapsed),
        addresses: obs.addresses.iter().map(|a| address(a, obs)).collect(),
        verdict: VerdictJson {
            status: d.verdict.status,
            summary: words::summary(&d.verdict),
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
            ide: d.verdict.ide.as_ref().map(|i| IdeJson {
                release: i.ide.release.key,
                assumed: i.ide.assumed,
                port: i.port.0,
                state: i.state,
                other_release: i.other.map(|(r, _)| r.key),
            }),
        },
        findings: d
            .findings
            .iter()
            .map(|f| FindingJson {
                code: f.code,
                severity: f.severity,
                address: f.address.map(|a| a.to_string()),
                ports: f.ports.iter().map(|p| p.0).collect(),
                cause: words::cause(f, obs),
                action: words::action(f, obs),
            })
            .collect(),
        discovery: obs.discovery.as_ref().map(discovery),
    }
}

pub fn document(
    run: &RunInfo,
    hosts: &[(HostObservation, Diagnosis)],
    discover: Option<&DiscoverRun>,
    exit_code: u8,
) -> Document {
    Document {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
        },
        vantage: run.vantage.to_string(),
        started_at: humantime::format_rfc3339_millis(run.started_at).to_string(),
        elapsed_ms: ms(run.elapsed),
        settings: SettingsJson {
            timeout_ms: ms(run.settings.max_timeout),
            retries: run.settings.retries,
            greeting_wait_ms: ms(run.greeting_wait),
            concurrency: run.settings.concurrency,
            discovery: run.discovery.is_some(),
            discovery_wait_ms: run.discovery.map(|d| ms(d.wait)),
        },
        mode: if discover.is_some() {
            "discover"
        } else {
            "targets"
        },
        discover: discover.map(|f| discover_json(f, hosts.len())),
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
