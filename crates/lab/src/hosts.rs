//! Lab hosts as data: what runs in each host namespace and what its firewall does. The builder
//! (`Lab::build`) knows nothing about scenarios; to add a host, add a [`HostSpec`].
//!
//! ```ignore
//! // A host that runs this project's own binary (the `listen` subcommand of another issue):
//! let spec = LabSpec::standard().with_host(
//!     HostSpec::new("ourlisten", 40).ipv6().run(
//!         HostCommand::new([env!("CARGO_BIN_EXE_msvsmon-probe"), "listen", "--interface", "{if}"])
//!             .ready(Ready::Udp(3702)),
//!     ),
//! );
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::plan::{self, lan_v4, lan_v6, remote_alias_v4, remote_v4, side_v4, side_v6, DEAD_OCTET};

/// When a started process counts as up: a listening socket in its namespace (from `ss`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ready {
    Tcp(u16),
    Udp(u16),
}

/// A process to run inside a host's namespace for the lab's lifetime.
///
/// Arguments may contain placeholders, replaced when the lab starts it: `{ip4}`, `{ip6}` (the
/// host's addresses), `{if}` (its interface, `eth0`), `{name}` (the host name), `{fixture}` (the
/// path of `crates/lab/data/fixture.py`), `{logs}` (the lab's log directory, removed with the lab
/// unless it is kept). Every lab process gets PYTHONPATH with `wsdiscovery`.
#[derive(Debug, Clone)]
pub struct HostCommand {
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
    pub ready: Vec<Ready>,
}

impl HostCommand {
    pub fn new<S: Into<String>>(argv: impl IntoIterator<Item = S>) -> Self {
        HostCommand {
            argv: argv.into_iter().map(Into::into).collect(),
            env: Vec::new(),
            ready: Vec::new(),
        }
    }

    pub fn ready(mut self, r: Ready) -> Self {
        self.ready.push(r);
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }
}

/// Which network a host is on, seen from the scanner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Net {
    /// The LAN (`lan0`, bridge br0): `10.231.1.<octet>`, `fd6d:7670:6c61:1::<octet>`.
    Lan,
    /// The scanner's second LAN (`lan1`, bridge br1): `10.231.6.<octet>`,
    /// `fd6d:7670:6c61:6::<octet>`. Only the hosts a case puts there answer on that link.
    Side,
    /// Behind the router (its `dn1`, bridge br2): `10.231.4.<octet>`, IPv4 only. Off the link:
    /// multicast never gets there.
    Remote,
}

/// One host: an address, listeners, a firewall, processes.
#[derive(Debug, Clone)]
pub struct HostSpec {
    /// Short, `[a-z0-9-]`: the namespace is `<prefix>h-<name>`, the scanner resolves
    /// `<name>.lab`.
    pub name: String,
    /// Host part of its addresses on its network (see [`Net`]).
    pub octet: u8,
    pub net: Net,
    /// A remote host's second address, `10.231.5.<octet>/32` on its loopback interface, which
    /// the router routes to it; the scanner resolves `<name>-alias.lab` to it. Replies
    /// the host sends from an unbound socket leave from its router-facing address instead.
    pub alias: bool,
    /// Whether it also has the IPv6 ULA address (every host has a link-local one).
    pub ipv6: bool,
    /// More addresses on its interface, in its network's prefixes (e.g. a crowd of responders
    /// in [`plan::CROWD_V6_PREFIX`]); not in the scanner's hosts file.
    pub extra: Vec<IpAddr>,
    /// TCP ports a fixture listener accepts on (both families).
    pub listen: Vec<u16>,
    /// What the listener sends first, e.g. an SSH banner (`\r\n` escapes allowed).
    pub greeting: Option<String>,
    /// Lines for the IPv4 `filter` table as `iptables-restore` reads them (`-A INPUT …`).
    pub iptables: Vec<String>,
    /// The same for IPv6 (`ip6tables-restore`).
    pub ip6tables: Vec<String>,
    /// Further processes (daemons, this project's own binary …).
    pub run: Vec<HostCommand>,
}

impl HostSpec {
    pub fn new(name: &str, octet: u8) -> Self {
        HostSpec {
            name: name.into(),
            octet,
            net: Net::Lan,
            alias: false,
            ipv6: false,
            extra: Vec::new(),
            listen: Vec::new(),
            greeting: None,
            iptables: Vec::new(),
            ip6tables: Vec::new(),
            run: Vec::new(),
        }
    }

    pub fn ipv6(mut self) -> Self {
        self.ipv6 = true;
        self
    }

    /// More addresses on its interface (see [`HostSpec::extra`]).
    pub fn with_addresses(mut self, addrs: impl IntoIterator<Item = IpAddr>) -> Self {
        self.extra.extend(addrs);
        self
    }

    /// On the scanner's second LAN instead of the first.
    pub fn side(mut self) -> Self {
        self.net = Net::Side;
        self
    }

    /// Behind the router, off the scanner's links (IPv4 only).
    pub fn remote(mut self) -> Self {
        self.net = Net::Remote;
        self
    }

    /// A remote host's second address (see [`HostSpec::alias`]).
    pub fn with_alias(mut self) -> Self {
        self.alias = true;
        self
    }

    pub fn listen(mut self, ports: &[u16]) -> Self {
        self.listen.extend_from_slice(ports);
        self
    }

    pub fn greeting(mut self, text: &str) -> Self {
        self.greeting = Some(text.into());
        self
    }

    pub fn iptables(mut self, rule: &str) -> Self {
        self.iptables.push(rule.into());
        self
    }

    pub fn ip6tables(mut self, rule: &str) -> Self {
        self.ip6tables.push(rule.into());
        self
    }

    /// The same rule for both families.
    pub fn both_tables(self, rule: &str) -> Self {
        self.iptables(rule).ip6tables(rule)
    }

    pub fn run(mut self, cmd: HostCommand) -> Self {
        self.run.push(cmd);
        self
    }

    pub fn v4(&self) -> Ipv4Addr {
        match self.net {
            Net::Lan => lan_v4(self.octet),
            Net::Side => side_v4(self.octet),
            Net::Remote => remote_v4(self.octet),
        }
    }

    pub fn v6(&self) -> Option<Ipv6Addr> {
        match self.net {
            _ if !self.ipv6 => None,
            Net::Lan => Some(lan_v6(self.octet)),
            Net::Side => Some(side_v6(self.octet)),
            Net::Remote => None,
        }
    }

    /// The second address of a remote host with [`HostSpec::with_alias`].
    pub fn alias_v4(&self) -> Option<Ipv4Addr> {
        (self.alias && self.net == Net::Remote).then(|| remote_alias_v4(self.octet))
    }

    /// Its addresses, IPv4 first: what `<name>.lab` resolves to.
    pub fn addresses(&self) -> Vec<IpAddr> {
        std::iter::once(IpAddr::V4(self.v4()))
            .chain(self.v6().map(IpAddr::V6))
            .collect()
    }
}

/// Every scenario of the standard lab. `crates/lab/data/truth.json` says what each one must look like
/// to the probe; this says how it is made.
pub fn standard() -> Vec<HostSpec> {
    const DEBUG_PORTS: &str = "4016:4040";
    let reject = |name: &str, octet, v4: &str, v6: &str| {
        HostSpec::new(name, octet)
            .ipv6()
            .listen(&[4026])
            .iptables(&format!(
                "-A INPUT -p tcp --dport {DEBUG_PORTS} -j REJECT --reject-with {v4}"
            ))
            .ip6tables(&format!(
                "-A INPUT -p tcp --dport {DEBUG_PORTS} -j REJECT --reject-with {v6}"
            ))
    };
    vec![
        // A VS 2022 monitor debugging a 32-bit process: main and WoW64 port.
        HostSpec::new("dbg2022", 10).listen(&[4026, 4025]),
        HostSpec::new("dbg2019", 11).listen(&[4024, 4025]),
        // msvsmon runs, but the firewall drops its ports; the host answers on the others.
        HostSpec::new("fwdrop", 12)
            .listen(&[4026, 4025])
            .iptables("-A INPUT -p tcp -m multiport --dports 4025,4026 -j DROP"),
        // A firewall drops every debugger port: the host looks down.
        HostSpec::new("silent", 13).iptables(&format!("-A INPUT -p tcp --dport {DEBUG_PORTS} -j DROP")),
        // Up, nothing listening.
        HostSpec::new("closed", 14),
        // Firewalls that reject, one ICMP kind each (a listener behind them proves the rule wins).
        reject("rej-admin", 15, "icmp-admin-prohibited", "icmp6-adm-prohibited"),
        reject("rej-port", 16, "icmp-port-unreachable", "icmp6-port-unreachable"),
        reject("rej-host", 17, "icmp-host-unreachable", "icmp6-addr-unreachable"),
        reject("rej-rst", 18, "tcp-reset", "tcp-reset"),
        // A monitor started with /port 4567.
        HostSpec::new("custom", 19).listen(&[4567]),
        // Not a debugger: an SSH server took 4026.
        HostSpec::new("greeter", 20)
            .listen(&[4026])
            .greeting("SSH-2.0-OpenSSH_9.2p1 Debian-2\\r\\n"),
        // Every second SYN to 4026 is lost (nth, not random: the test knows which attempt fails
        // after `Lab::reset_firewall`).
        HostSpec::new("lossy", 21).listen(&[4026]).iptables(
            "-A INPUT -p tcp --syn --dport 4026 -m statistic --mode nth --every 2 --packet 0 -j DROP",
        ),
        // Dual-stack VS 2022 monitor.
        HostSpec::new("dual", 22).ipv6().listen(&[4026]),
        // WS-Discovery responders (see docs/lab.md).
        HostSpec::new("wsdd", 30).ipv6().run(wsdd("WSDD-LAB", WSDD_UUID)),
        HostSpec::new("wsdpub", 31).listen(&[4026]).run(wsd_publisher()),
    ]
}

/// Debian's wsdd on the host's interface, announcing `hostname`, with a fixed endpoint UUID.
/// (wsdd derives its default from the machine's hostname, which every lab namespace shares: two
/// wsdd hosts would otherwise claim one endpoint, i.e. be one machine.)
pub fn wsdd(hostname: &str, uuid: &str) -> HostCommand {
    HostCommand::new([
        "wsdd",
        "--interface",
        "{if}",
        "--hostname",
        hostname,
        "--uuid",
        uuid,
        "--shortlog",
    ])
    .ready(Ready::Udp(3702))
}

/// Debian's Samba as a Windows-like host: `smbd` (SMB2 on TCP 445) or `nmbd` (NetBIOS names on
/// UDP 137) as `daemon`, the machine calling itself `netbios_name` in workgroup
/// [`SAMBA_WORKGROUP`]. Each process writes its own configuration into a fresh directory in the
/// lab's log directory (every lab namespace shares the file system), binds the host's interface only and runs in the
/// foreground. `faketime` (e.g. `+10m`): its clock is that far off, through libfaketime.
pub fn samba(daemon: &str, netbios_name: &str, faketime: Option<&str>) -> HostCommand {
    const SCRIPT: &str = r#"d=$(mktemp -d {logs}/samba.XXXXXX) || exit 1
for s in lock state cache pid private ncalrpc binddns; do mkdir -p "$d/$s"; done
cat > "$d/smb.conf" <<EOF
[global]
netbios name = $2
workgroup = LABGROUP
server role = standalone server
interfaces = eth0
bind interfaces only = yes
smb ports = 445
disable netbios = no
lock directory = $d/lock
state directory = $d/state
cache directory = $d/cache
pid directory = $d/pid
private dir = $d/private
ncalrpc dir = $d/ncalrpc
binddns dir = $d/binddns
log file = $d/log.%m
load printers = no
printcap name = /dev/null
disable spoolss = yes
EOF
exec "$1" --foreground --no-process-group --debug-stdout -s "$d/smb.conf""#;
    let ready = if daemon == "nmbd" {
        Ready::Udp(137)
    } else {
        Ready::Tcp(445)
    };
    let mut cmd = HostCommand::new(["sh", "-c", SCRIPT, "sh", daemon, netbios_name]).ready(ready);
    if let Some(offset) = faketime {
        cmd = cmd
            .env("LD_PRELOAD", LIBFAKETIME)
            .env("FAKETIME", offset)
            // Only the wall clock: Samba's timers run on the monotonic one.
            .env("FAKETIME_DONT_FAKE_MONOTONIC", "1");
    }
    cmd
}

/// The workgroup of every [`samba`] host.
pub const SAMBA_WORKGROUP: &str = "LABGROUP";

/// Debian's libfaketime (package `faketime`).
pub const LIBFAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

/// The endpoint of the standard lab's wsdd: its replies carry `urn:uuid:<this>`.
pub const WSDD_UUID: &str = "6d3a1f0e-5c2b-4e8a-9f71-0000000000a1";

/// The python wsdiscovery publisher of the standard lab (`wsdpub`), with [`WSD_PUBLISHER_TYPE`],
/// [`WSD_PUBLISHER_SCOPE`] and XAddrs `http://<its IPv4>:4026/msvsmon-lab`.
pub fn wsd_publisher() -> HostCommand {
    HostCommand::new([
        "python3",
        "{fixture}",
        "wsd-publish",
        "--type",
        WSD_PUBLISHER_TYPE,
        "--scope",
        WSD_PUBLISHER_SCOPE,
        "--xaddrs",
        "http://{ip4}:4026/msvsmon-lab",
    ])
    .ready(Ready::Udp(3702))
}

/// What the wsdiscovery publisher announces: `NAMESPACE PREFIX LOCALNAME`. Made up for the lab:
/// what msvsmon itself announces (Types, Scopes) is not publicly documented.
pub const WSD_PUBLISHER_TYPE: &str = "http://msvsmon-probe.invalid/lab lab RemoteDebugger";
pub const WSD_PUBLISHER_SCOPE: &str = "lab://msvsmon-probe/wsdpub";

/// Names beyond `<host>.lab`, for the scanner's hosts file: several addresses, dead addresses,
/// addresses behind the router.
pub fn standard_names() -> Vec<(String, Vec<IpAddr>)> {
    let v4 = |o| IpAddr::V4(lan_v4(o));
    let v6 = |o| IpAddr::V6(lan_v6(o));
    vec![
        // One address answers, the other has no host: the "mixed_addresses" finding.
        ("mixed.lab".into(), vec![v4(10), v4(DEAD_OCTET)]),
        ("dead.lab".into(), vec![v4(DEAD_OCTET)]),
        ("dead6.lab".into(), vec![v6(DEAD_OCTET)]),
        ("dual6.lab".into(), vec![v6(22)]),
        (
            "gone.lab".into(),
            vec![IpAddr::V4(plan::BEHIND_ROUTER_DEAD)],
        ),
        ("unrouted.lab".into(), vec![IpAddr::V4(plan::UNROUTED)]),
    ]
}
