//! The release catalog: which TCP ports each Visual Studio Remote Debugger release listens on.
//!
//! This is the one table of port facts in the program. Everything else (which ports to probe,
//! how to label an open port, which hint to give) is derived from [`RELEASES`], so a new release
//! is one new row here. Sources: Microsoft's "Remote Debugger Port Assignments" page in its
//! 2015–2026 revisions, its firewall page, and the visualstudio-docs issues cited per row.
//!
//! Several facts are shared or uncertain, and the catalog keeps them that way on purpose:
//! 4026 is the main port of both VS 2022 and VS 2026, 4025 is the WoW64 port of 2019, 2022 and 2026,
//! and the WoW64 ports of 2012 and 2013 are inferred (main + 1), not documented. Labels built from
//! this table therefore say "VS 2022 or 2026", never more than the port number can tell.

use std::fmt;

use serde::Serialize;

/// A TCP port number, kept distinct from other integers (counts, milliseconds) in signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Port(pub u16);

impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What a port is for within one release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The port the monitor listens on; required for every attach.
    Main,
    /// The port of the 32-bit child monitor that a 64-bit monitor starts while it debugs a
    /// 32-bit process. Only listened on during such a session, so "closed" is normal.
    Wow64,
    /// The WoW64 port of the remote tools when they run as a Windows service set up by the
    /// configuration wizard (VS 2022 17.2 and later; visualstudio-docs PR #7607).
    Wow64Service,
    /// Azure App Service's front-end forwarder to the sandboxed monitor.
    AppServiceForwarder,
    /// Azure Cloud Services remote-debugger plugin endpoints (retired feature, opt-in).
    AzureConnector,
    AzureForwarder,
    AzureForwarderX86,
    AzureFileUpload,
}

impl Role {
    /// The machine name, as serialized (`main`, `wow64_service` …): JSON and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Main => "main",
            Role::Wow64 => "wow64",
            Role::Wow64Service => "wow64_service",
            Role::AppServiceForwarder => "app_service_forwarder",
            Role::AzureConnector => "azure_connector",
            Role::AzureForwarder => "azure_forwarder",
            Role::AzureForwarderX86 => "azure_forwarder_x86",
            Role::AzureFileUpload => "azure_file_upload",
        }
    }

    /// Short human name used in reports.
    pub fn label(self) -> &'static str {
        match self {
            Role::Main => "main",
            Role::Wow64 => "WoW64",
            Role::Wow64Service => "WoW64 (17.2+ service)",
            Role::AppServiceForwarder => "App Service forwarder",
            Role::AzureConnector => "Azure connector",
            Role::AzureForwarder => "Azure forwarder",
            Role::AzureForwarderX86 => "Azure forwarder (x86)",
            Role::AzureFileUpload => "Azure file upload",
        }
    }

    /// True for the ports an IDE attaches through. A closed WoW64 port is expected and never a
    /// fault by itself; the Azure x86 forwarder and file upload endpoints serve a session the
    /// connector started, so reaching only them is no way to attach.
    pub fn is_primary(self) -> bool {
        !matches!(
            self,
            Role::Wow64 | Role::Wow64Service | Role::AzureForwarderX86 | Role::AzureFileUpload
        )
    }

    /// The 32-bit side of a monitor (WoW64, or Azure's x86 forwarder): only used while a 32-bit
    /// process is debugged.
    pub fn is_wow64(self) -> bool {
        matches!(
            self,
            Role::Wow64 | Role::Wow64Service | Role::AzureForwarderX86
        )
    }
}

/// How sure the sources are about a port assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Certainty {
    /// Stated in Microsoft's documentation.
    Documented,
    /// Not stated anywhere; derived from a documented rule (e.g. WoW64 = main + 1).
    Inferred,
}

/// The kind of deployment a catalog row describes; decides when its ports are probed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Remote tools installed on a machine: probed by default.
    RemoteTools,
    /// Azure App Service: probed for `*.azurewebsites.net` targets or when asked for.
    AppService,
    /// Azure Cloud Services plugin: probed only when asked for (`--azure-cloud-service`).
    AzureCloudService,
}

/// One port of one release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Assignment {
    pub port: Port,
    pub role: Role,
    pub certainty: Certainty,
    /// Why this row looks the way it does, for the catalog listing.
    pub note: &'static str,
}

/// One row of the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Release {
    /// Stable key used on the command line and in JSON (`"2022"`, `"app-service"`).
    pub key: &'static str,
    /// Full product name.
    pub name: &'static str,
    /// The short name reports use ("VS 2022").
    pub short: &'static str,
    /// Visual Studio's internal major version, where there is one.
    pub internal_version: Option<u8>,
    pub kind: Kind,
    pub ports: &'static [Assignment],
}

const fn doc(port: u16, role: Role, note: &'static str) -> Assignment {
    Assignment {
        port: Port(port),
        role,
        certainty: Certainty::Documented,
        note,
    }
}

const fn inferred(port: u16, role: Role, note: &'static str) -> Assignment {
    Assignment {
        port: Port(port),
        role,
        certainty: Certainty::Inferred,
        note,
    }
}

const fn vs(
    key: &'static str,
    name: &'static str,
    short: &'static str,
    version: u8,
    ports: &'static [Assignment],
) -> Release {
    Release {
        key,
        name,
        short,
        internal_version: Some(version),
        kind: Kind::RemoteTools,
        ports,
    }
}

/// The table. Order is release order; reports list ports in this order.
pub static RELEASES: &[Release] = &[
    vs(
        "2012",
        "Visual Studio 2012",
        "VS 2012",
        11,
        &[
            doc(4016, Role::Main, ""),
            inferred(4017, Role::Wow64, "main + 1; no source states it"),
        ],
    ),
    vs(
        "2013",
        "Visual Studio 2013",
        "VS 2013",
        12,
        &[
            doc(4018, Role::Main, ""),
            inferred(4019, Role::Wow64, "main + 1; no source states it"),
        ],
    ),
    vs(
        "2015",
        "Visual Studio 2015",
        "VS 2015",
        14,
        &[doc(4020, Role::Main, ""), doc(4021, Role::Wow64, "")],
    ),
    vs(
        "2017",
        "Visual Studio 2017",
        "VS 2017",
        15,
        &[doc(4022, Role::Main, ""), doc(4023, Role::Wow64, "")],
    ),
    vs(
        "2019",
        "Visual Studio 2019",
        "VS 2019",
        16,
        &[
            doc(4024, Role::Main, ""),
            doc(4025, Role::Wow64, "shared with 2022 and 2026"),
        ],
    ),
    vs(
        "2022",
        "Visual Studio 2022",
        "VS 2022",
        17,
        &[
            doc(4026, Role::Main, "shared with 2026"),
            doc(
                4025,
                Role::Wow64,
                "not main + 1: collides with 2019 (visualstudio-docs #7504)",
            ),
            doc(
                4040,
                Role::Wow64Service,
                "17.2+ remote tools run as a service (visualstudio-docs PR #7607)",
            ),
        ],
    ),
    vs(
        "2026",
        "Visual Studio 2026",
        "VS 2026",
        18,
        &[
            doc(4026, Role::Main, "shared with 2022; the +2 rule stops at 2022"),
            doc(4025, Role::Wow64, "as 2022"),
        ],
    ),
    Release {
        key: "app-service",
        name: "Azure App Service (any Visual Studio release)",
        short: "App Service",
        internal_version: None,
        kind: Kind::AppService,
        ports: &[doc(
            4024,
            Role::AppServiceForwarder,
            "every VS release, 32- and 64-bit; msvsmon itself runs on a random port inside the sandbox",
        )],
    },
    Release {
        key: "azure-cloud-service",
        name: "Azure Cloud Services remote debugger plugin (retired)",
        short: "Azure Cloud Service",
        internal_version: None,
        kind: Kind::AzureCloudService,
        ports: &[
            doc(30400, Role::AzureConnector, "cloud-service side; VM side 30398"),
            doc(30398, Role::AzureConnector, "VM side"),
            doc(31400, Role::AzureForwarder, "cloud-service side; VM side 31398"),
            doc(31398, Role::AzureForwarder, "VM side"),
            doc(31401, Role::AzureForwarderX86, "cloud-service side; VM side 31399 (2018 docs only)"),
            doc(31399, Role::AzureForwarderX86, "VM side (2018 docs only)"),
            doc(32400, Role::AzureFileUpload, "cloud-service side; VM side 32398"),
            doc(32398, Role::AzureFileUpload, "VM side"),
        ],
    },
];

impl Release {
    /// Looks up a release by its key; accepts `vs2022` and `VS2022` as well as `2022`.
    pub fn find(key: &str) -> Option<&'static Release> {
        let k = key.trim().to_ascii_lowercase();
        let k = k.strip_prefix("vs").unwrap_or(&k);
        let k = k.trim_start_matches(['-', ' ']);
        RELEASES.iter().find(|r| r.key == k)
    }

    /// The keys [`Release::find`] accepts, for error messages and help.
    pub fn keys() -> Vec<&'static str> {
        RELEASES.iter().map(|r| r.key).collect()
    }

    /// The releases a Visual Studio IDE can be (the remote-tools rows), oldest first: what
    /// `--ide` accepts and what completions offer.
    pub fn ides() -> impl Iterator<Item = &'static Release> {
        RELEASES.iter().filter(|r| r.kind == Kind::RemoteTools)
    }

    /// Looks up an IDE release ([`Release::find`], limited to [`Release::ides`]).
    pub fn find_ide(key: &str) -> Option<&'static Release> {
        Release::find(key).filter(|r| r.kind == Kind::RemoteTools)
    }

    /// The IDE release of Visual Studio's internal major version (17 → VS 2022), as vswhere
    /// reports an installation ("17.14.36310.24").
    pub fn by_internal_version(major: u8) -> Option<&'static Release> {
        Release::ides().find(|r| r.internal_version == Some(major))
    }

    /// The port this release's monitor listens on (its first [`Role::Main`] assignment).
    pub fn main_port(&self) -> Option<Port> {
        self.ports
            .iter()
            .find(|a| a.role == Role::Main)
            .map(|a| a.port)
    }

    /// Joins short release names the way a person would say them: "VS 2022 or 2026",
    /// "VS 2019, 2022 or 2026". Only the first keeps the "VS " prefix.
    pub fn join(releases: &[&Release]) -> String {
        let mut names: Vec<String> = Vec::new();
        let mut vs_seen = false;
        for r in releases {
            let name = match r.short.strip_prefix("VS ") {
                Some(year) if vs_seen => year.to_string(),
                Some(_) => {
                    vs_seen = true;
                    r.short.to_string()
                }
                None => r.short.to_string(),
            };
            if !names.contains(&name) {
                names.push(name);
            }
        }
        match names.len() {
            0 => String::new(),
            1 => names.remove(0),
            n => format!("{} or {}", names[..n - 1].join(", "), names[n - 1]),
        }
    }
}

/// One (release, role) claim on a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim {
    pub release: &'static Release,
    pub role: Role,
    pub certainty: Certainty,
}

impl Claim {
    /// Every release that claims `port`, within the releases `kinds` allows.
    pub fn on(port: Port, kinds: &[Kind]) -> Vec<Claim> {
        RELEASES
            .iter()
            .filter(|r| kinds.contains(&r.kind))
            .flat_map(|r| {
                r.ports
                    .iter()
                    .filter(move |a| a.port == port)
                    .map(move |a| Claim {
                        release: r,
                        role: a.role,
                        certainty: a.certainty,
                    })
            })
            .collect()
    }

    /// A label for a port from its claims: "VS 2022 or 2026 · main", "VS 2019, 2022 or 2026 ·
    /// WoW64". Claims with different roles are listed role by role.
    pub fn label(claims: &[Claim]) -> String {
        let mut roles: Vec<Role> = claims.iter().map(|c| c.role).collect();
        roles.sort();
        roles.dedup();
        roles
            .iter()
            .map(|role| {
                let rs: Vec<&Release> = claims
                    .iter()
                    .filter(|c| c.role == *role)
                    .map(|c| c.release)
                    .collect();
                let inferred = claims
                    .iter()
                    .any(|c| c.role == *role && c.certainty == Certainty::Inferred);
                format!(
                    "{} · {}{}",
                    Release::join(&rs),
                    role.label(),
                    if inferred { " (inferred)" } else { "" }
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// A port to probe, with every catalog claim on it and whether the user asked for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedPort {
    pub port: Port,
    /// Who uses this port, among the release kinds in scope for the target.
    pub claims: Vec<Claim>,
    /// Given with `-p` or `host:port` (a monitor started with `/port`).
    pub custom: bool,
}

impl PlannedPort {
    /// "VS 2022 or 2026 · main", or "custom port (msvsmon /port)" for an unclaimed custom port.
    pub fn label(&self) -> String {
        match (self.claims.is_empty(), self.custom) {
            (true, _) => "custom port (msvsmon /port)".to_string(),
            (false, true) => format!("{} (also given as custom)", Claim::label(&self.claims)),
            (false, false) => Claim::label(&self.claims),
        }
    }

    /// The main-port claims: an open port with one of these is a reachable monitor.
    pub fn is_main(&self) -> bool {
        self.claims.iter().any(|c| c.role.is_primary())
    }

    /// A WoW64 port and nothing else (closed is normal for these).
    pub fn is_wow64_only(&self) -> bool {
        !self.claims.is_empty() && self.claims.iter().all(|c| c.role.is_wow64())
    }
}

/// Which catalog rows to probe.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Only these releases (`--release`); `None` means every remote-tools release.
    pub releases: Option<Vec<&'static Release>>,
    /// Include the Azure Cloud Services plugin ports (`--azure-cloud-service`).
    pub azure_cloud_service: bool,
    /// Ports from `-p`, probed in addition to the release ports.
    pub custom_ports: Vec<Port>,
}

impl Selection {
    /// The ports to probe on one target, in ascending order. `app_service` adds the App Service
    /// row for `*.azurewebsites.net` targets; `target_port` is the port of a `host:port` target.
    pub fn plan(&self, app_service: bool, target_port: Option<Port>) -> Vec<PlannedPort> {
        let mut kinds = vec![Kind::RemoteTools];
        if app_service {
            kinds.push(Kind::AppService);
        }
        if self.azure_cloud_service {
            kinds.push(Kind::AzureCloudService);
        }
        if let Some(rs) = &self.releases {
            for r in rs {
                if !kinds.contains(&r.kind) {
                    kinds.push(r.kind);
                }
            }
        }
        let chosen: Vec<&Release> = match &self.releases {
            Some(rs) => rs.clone(),
            None => RELEASES
                .iter()
                .filter(|r| kinds.contains(&r.kind))
                .collect(),
        };
        let mut ports: Vec<Port> = chosen
            .iter()
            .flat_map(|r| r.ports.iter().map(|a| a.port))
            .collect();
        let custom: Vec<Port> = self
            .custom_ports
            .iter()
            .copied()
            .chain(target_port)
            .collect();
        ports.extend(custom.iter().copied());
        ports.sort();
        ports.dedup();
        ports
            .into_iter()
            .map(|port| {
                // On an App Service host, 4024 is the App Service forwarder whatever the
                // release (visualstudio-docs #8224): not a VS 2019 monitor.
                let service = Claim::on(port, &[Kind::AppService]);
                let claims = if app_service && !service.is_empty() {
                    service
                } else {
                    Claim::on(port, &kinds)
                };
                PlannedPort {
                    port,
                    claims,
                    custom: custom.contains(&port),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULT: &[Kind] = &[Kind::RemoteTools];

    #[test]
    fn main_ports_follow_the_documented_table() {
        let mains: Vec<(&str, u16)> = RELEASES
            .iter()
            .filter(|r| r.kind == Kind::RemoteTools)
            .map(|r| {
                let main = r.ports.iter().find(|a| a.role == Role::Main).unwrap();
                (r.key, main.port.0)
            })
            .collect();
        assert_eq!(
            mains,
            [
                ("2012", 4016),
                ("2013", 4018),
                ("2015", 4020),
                ("2017", 4022),
                ("2019", 4024),
                ("2022", 4026),
                ("2026", 4026)
            ]
        );
    }

    #[test]
    fn shared_ports_name_every_release_that_uses_them() {
        assert_eq!(
            Claim::label(&Claim::on(Port(4026), DEFAULT)),
            "VS 2022 or 2026 · main"
        );
        assert_eq!(
            Claim::label(&Claim::on(Port(4025), DEFAULT)),
            "VS 2019, 2022 or 2026 · WoW64"
        );
        assert_eq!(
            Claim::label(&Claim::on(Port(4024), DEFAULT)),
            "VS 2019 · main"
        );
    }

    #[test]
    fn app_service_label_only_when_app_service_is_in_scope() {
        let both = Claim::on(Port(4024), &[Kind::RemoteTools, Kind::AppService]);
        assert_eq!(
            Claim::label(&both),
            "VS 2019 · main; App Service · App Service forwarder"
        );
    }

    #[test]
    fn inferred_ports_say_so() {
        assert_eq!(
            Claim::label(&Claim::on(Port(4017), DEFAULT)),
            "VS 2012 · WoW64 (inferred)"
        );
        assert_eq!(
            Claim::on(Port(4019), DEFAULT)[0].certainty,
            Certainty::Inferred
        );
        assert_eq!(
            Claim::on(Port(4021), DEFAULT)[0].certainty,
            Certainty::Documented
        );
    }

    #[test]
    fn no_release_claims_4027_or_an_unknown_port() {
        assert!(Claim::on(Port(4027), DEFAULT).is_empty());
        assert!(Claim::on(Port(22), DEFAULT).is_empty());
    }

    #[test]
    fn service_port_belongs_to_2022_only() {
        let c = Claim::on(Port(4040), DEFAULT);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].release.key, "2022");
        assert_eq!(c[0].role, Role::Wow64Service);
    }

    #[test]
    fn azure_cloud_service_ports_are_not_default() {
        assert!(Claim::on(Port(30400), DEFAULT).is_empty());
        assert_eq!(Claim::on(Port(30400), &[Kind::AzureCloudService]).len(), 1);
    }

    #[test]
    fn release_lookup_accepts_common_spellings() {
        for k in ["2022", "vs2022", "VS2022", "vs-2022", " 2022 "] {
            assert_eq!(Release::find(k).map(|r| r.key), Some("2022"), "{k}");
        }
        assert!(Release::find("2020").is_none());
        assert_eq!(Release::find("app-service").unwrap().kind, Kind::AppService);
    }

    #[test]
    fn ide_releases_are_the_remote_tools_rows() {
        let keys: Vec<&str> = Release::ides().map(|r| r.key).collect();
        assert_eq!(
            keys,
            ["2012", "2013", "2015", "2017", "2019", "2022", "2026"]
        );
        assert!(Release::find_ide("app-service").is_none());
        assert_eq!(
            Release::find_ide("VS2022").unwrap().main_port(),
            Some(Port(4026))
        );
        assert_eq!(Release::by_internal_version(16).unwrap().key, "2019");
        assert!(Release::by_internal_version(13).is_none());
    }

    #[test]
    fn keys_are_unique() {
        let mut keys = Release::keys();
        keys.sort();
        let n = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), n);
    }

    #[test]
    fn default_plan_covers_every_release_port_once() {
        let plan = Selection::default().plan(false, None);
        let ports: Vec<u16> = plan.iter().map(|p| p.port.0).collect();
        assert_eq!(
            ports,
            [4016, 4017, 4018, 4019, 4020, 4021, 4022, 4023, 4024, 4025, 4026, 4040]
        );
        assert!(plan.iter().all(|p| !p.custom));
    }

    #[test]
    fn custom_ports_are_added_not_substituted() {
        let sel = Selection {
            custom_ports: vec![Port(4567)],
            ..Default::default()
        };
        let plan = sel.plan(false, Some(Port(4026)));
        assert!(plan.iter().any(|p| p.port == Port(4016)));
        let c = plan.iter().find(|p| p.port == Port(4567)).unwrap();
        assert!(c.custom && c.claims.is_empty());
        assert_eq!(c.label(), "custom port (msvsmon /port)");
        let k = plan.iter().find(|p| p.port == Port(4026)).unwrap();
        assert!(
            k.custom,
            "a host:port on a release port is marked custom too"
        );
    }

    #[test]
    fn release_filter_limits_ports_but_not_labels() {
        let sel = Selection {
            releases: Some(vec![Release::find("2022").unwrap()]),
            ..Default::default()
        };
        let plan = sel.plan(false, None);
        let ports: Vec<u16> = plan.iter().map(|p| p.port.0).collect();
        assert_eq!(ports, [4025, 4026, 4040]);
        // 4026 still says 2022 *or 2026*: the filter does not change what a port can tell.
        let main = plan.iter().find(|p| p.port == Port(4026)).unwrap();
        assert_eq!(main.label(), "VS 2022 or 2026 · main");
        assert!(main.is_main());
        assert!(plan
            .iter()
            .find(|p| p.port == Port(4025))
            .unwrap()
            .is_wow64_only());
    }

    /// Reaching only the file upload or x86 forwarder endpoint is no way to attach: they serve
    /// a session the connector (or forwarder) started.
    #[test]
    fn azure_helper_endpoints_do_not_make_a_host_attachable() {
        let sel = Selection {
            azure_cloud_service: true,
            ..Default::default()
        };
        let plan = sel.plan(false, None);
        let at = |n: u16| plan.iter().find(|p| p.port == Port(n)).unwrap();
        assert!(
            at(30400).is_main(),
            "the connector is what the IDE attaches to"
        );
        assert!(!at(32400).is_main() && !at(32400).is_wow64_only());
        assert!(!at(31401).is_main() && at(31401).is_wow64_only());
    }

    #[test]
    fn app_service_targets_get_the_forwarder_label_only() {
        let plan = Selection::default().plan(true, None);
        let p = plan.iter().find(|p| p.port == Port(4024)).unwrap();
        assert_eq!(p.claims.len(), 1);
        assert_eq!(p.claims[0].role, Role::AppServiceForwarder);
        assert_eq!(p.label(), "App Service · App Service forwarder");
    }

    #[test]
    fn azure_cloud_service_is_opt_in() {
        let on = Selection {
            azure_cloud_service: true,
            ..Default::default()
        };
        assert!(on.plan(false, None).iter().any(|p| p.port == Port(30400)));
        assert!(!Selection::default()
            .plan(false, None)
            .iter()
            .any(|p| p.port == Port(30400)));
    }
}
