//! A network lab in Linux network namespaces, shared by the integration tests and the benchmarks
//! of msvsmon-probe (a `publish = false` dev-dependency): real hosts, firewalls that drop and
//! reject, dead addresses, IPv6, WS-Discovery responders and a /16 "farm", on one machine, with no
//! outside network. docs/lab.md has the diagram and the list of hosts.
//!
//! ```text
//!  scanner ──lan0── [br0 in "lan"] ──eth0── one namespace per scenario host (hosts.rs)
//!     ├──lan1── [br1 in "lan"] ──eth0── hosts of the second LAN (`Net::Side`, if any)
//!     └──rt0── router ──dn0── farm (answers for 10.232.0.0/16)
//!                 └──dn1── [br2 in "lan"] ──eth0── hosts behind the router (`Net::Remote`, if any)
//! ```
//!
//! Safety rules the builder enforces:
//! - Packets stay inside the lab: the scanner has no default route (only the LAN, the farm and
//!   the router's link are routed), its resolver is its own loopback, daemons run only inside lab
//!   namespaces, and the prefixes must not overlap any route of the machine ([`plan`]).
//! - Names are unique per run (`mpl-<pid>-<n>-…`), so parallel test binaries never collide;
//!   veths are created directly inside their namespaces, never in the root namespace.
//! - Teardown on drop, also on panic; a reaper process tears down if this process dies without
//!   unwinding; a later run removes labs whose process is gone.
//!
//! ```ignore
//! let lab = Lab::build(&LabSpec::standard())?;          // or LabSpec::farm_only()
//! let out = lab.scanner(env!("CARGO_BIN_EXE_msvsmon-probe")).args(["--json", "dbg2022.lab"]).output()?;
//! lab.teardown();                                         // or let it drop
//! ```
#![cfg(target_os = "linux")]

pub mod farm;
pub mod hosts;
pub mod nmap;
pub mod plan;
pub mod runner;
mod sys;
pub mod tools;
pub mod truth;
mod wiring;

use std::fs::File;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub use farm::{Answer, FarmTruth};
pub use hosts::{HostCommand, HostSpec, Net, Ready};

/// The fixture script the lab's listeners and publishers run (`{fixture}` in a [`HostCommand`]).
pub const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/fixture.py");
/// How long a started process may take to bind its ports.
const READY_LIMIT: Duration = Duration::from_secs(20);

/// What to build.
#[derive(Debug, Clone)]
pub struct LabSpec {
    /// Hosts on the LAN (empty and `lan: false` for a farm-only lab).
    pub hosts: Vec<HostSpec>,
    /// Names beyond `<host>.lab` for the scanner's hosts file.
    pub names: Vec<(String, Vec<IpAddr>)>,
    /// Build the bridge and connect the scanner to it.
    pub lan: bool,
    /// Build the router and the farm behind it.
    pub farm: bool,
    /// Give the scanner an interface with multicast off ([`plan::NO_MULTICAST_IF`]).
    pub no_multicast_if: bool,
}

impl LabSpec {
    /// Every scenario: LAN hosts, WS-Discovery responders, router and farm.
    pub fn standard() -> LabSpec {
        LabSpec {
            hosts: hosts::standard(),
            names: hosts::standard_names(),
            lan: true,
            farm: true,
            no_multicast_if: false,
        }
    }

    /// Scanner, router and farm only: the workload of subnet-scan benchmarks.
    pub fn farm_only() -> LabSpec {
        LabSpec {
            hosts: Vec::new(),
            names: Vec::new(),
            lan: false,
            farm: true,
            no_multicast_if: false,
        }
    }

    /// Adds a host (e.g. one that runs this project's own `listen`).
    pub fn with_host(mut self, h: HostSpec) -> LabSpec {
        self.hosts.push(h);
        self
    }

    /// Adds the scanner's interface with multicast off ([`plan::NO_MULTICAST_IF`]).
    pub fn with_no_multicast_interface(mut self) -> LabSpec {
        self.no_multicast_if = true;
        self
    }

    fn has(&self, net: Net) -> bool {
        self.hosts.iter().any(|h| h.net == net)
    }
}

/// A built LAN host.
#[derive(Debug, Clone)]
pub struct LabHost {
    pub spec: HostSpec,
    /// Its namespace.
    pub ns: String,
}

struct Process {
    label: String,
    ns: String,
    child: Child,
    log: PathBuf,
    ready: Vec<Ready>,
}

/// A running lab. Dropping it tears it down.
pub struct Lab {
    prefix: String,
    scanner: String,
    lan: Option<String>,
    router: Option<String>,
    farm: Option<String>,
    hosts: Vec<LabHost>,
    /// Namespaces in creation order.
    created: Vec<String>,
    processes: Vec<Process>,
    log_dir: PathBuf,
    tools: tools::Tools,
    farm_truth: Option<FarmTruth>,
    reaper: Option<Child>,
    keep_logs: AtomicBool,
    build_time: Duration,
    down: bool,
}

impl Lab {
    /// Installs missing tools (once per machine), removes leftovers of killed runs, and builds
    /// `spec`. On error, everything built so far is torn down and the message says what failed.
    pub fn build(spec: &LabSpec) -> Result<Lab, String> {
        let tools = tools::ensure()?;
        let start = Instant::now();
        let clashes = plan::clashes_with_the_machine()?;
        if !clashes.is_empty() {
            return Err(format!(
                "this machine routes addresses of the lab's blocks {:?}: {clashes:?}; the lab would shadow them",
                plan::LAB_BLOCKS
            ));
        }
        let removed = sys::remove_leftovers();
        if !removed.is_empty() {
            eprintln!("lab: removed leftovers of runs that are gone: {removed:?}");
        }
        static N: AtomicU32 = AtomicU32::new(0);
        let prefix = format!(
            "{}{}-{}-",
            sys::FAMILY,
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let log_dir = std::env::temp_dir().join(format!("{prefix}logs"));
        std::fs::create_dir_all(&log_dir)
            .map_err(|e| format!("cannot create {}: {e}", log_dir.display()))?;
        let mut lab = Lab {
            scanner: format!("{prefix}scan"),
            reaper: Some(sys::spawn_reaper(&prefix, &log_dir)?),
            prefix,
            lan: None,
            router: None,
            farm: None,
            hosts: Vec::new(),
            created: Vec::new(),
            processes: Vec::new(),
            log_dir,
            tools,
            farm_truth: None,
            keep_logs: AtomicBool::new(false),
            build_time: Duration::ZERO,
            down: false,
        };
        // On error `lab` drops here, which tears down what was built.
        lab.build_all(spec)?;
        lab.build_time = start.elapsed();
        Ok(lab)
    }

    fn build_all(&mut self, spec: &LabSpec) -> Result<(), String> {
        validate(spec)?;
        let scanner = self.scanner.clone();
        self.add_ns(&scanner)?;
        if spec.lan {
            self.build_lan()?;
        }
        if spec.has(Net::Side) {
            self.build_side_lan()?;
        }
        if spec.farm {
            self.build_router_and_farm()?;
        }
        if spec.has(Net::Remote) {
            self.build_remote_link(spec)?;
        }
        if spec.no_multicast_if {
            self.build_no_multicast_if()?;
        }
        self.write_scanner_names(spec)?;
        for h in &spec.hosts {
            self.build_host(h)?;
        }
        self.wait_ready()
    }

    /// The scanner's `/etc/netns` files: lab names only, DNS only to its own loopback (where
    /// nothing answers), so no query can leave.
    fn write_scanner_names(&self, spec: &LabSpec) -> Result<(), String> {
        let dir = Path::new("/etc/netns").join(&self.scanner);
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let mut hosts = format!(
            "# msvsmon-probe lab {}: the scanner's names\n127.0.0.1 localhost\n::1 localhost\n",
            self.prefix
        );
        let named = spec
            .hosts
            .iter()
            .map(|h| (format!("{}.lab", h.name), h.addresses()))
            .chain(spec.hosts.iter().filter_map(|h| {
                let a = h.alias_v4()?;
                Some((format!("{}-alias.lab", h.name), vec![IpAddr::V4(a)]))
            }));
        for (name, addrs) in named.chain(spec.names.iter().cloned()) {
            for a in addrs {
                hosts.push_str(&format!("{a} {name}\n"));
            }
        }
        let files = [
            ("hosts", hosts.as_str()),
            (
                "resolv.conf",
                "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n",
            ),
            // glibc returns every address of a name listed on several lines only with this.
            ("host.conf", "multi on\n"),
            // Files and DNS only: no mDNS or other plug-in that could send packets elsewhere.
            (
                "nsswitch.conf",
                "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\n\
                 protocols: files\nservices: files\nethers: files\nrpc: files\n",
            ),
        ];
        for (name, text) in files {
            std::fs::write(dir.join(name), text)
                .map_err(|e| format!("cannot write {}/{name}: {e}", dir.display()))?;
        }
        Ok(())
    }

    fn build_host(&mut self, h: &HostSpec) -> Result<(), String> {
        let lan = self
            .lan
            .clone()
            .ok_or("hosts need the LAN (LabSpec::lan)")?;
        let ns = format!("{}h-{}", self.prefix, h.name);
        self.add_ns(&ns)?;
        let (bridge, port) = match h.net {
            Net::Lan => ("br0", format!("p{}", h.octet)),
            Net::Side => ("br1", format!("s{}", h.octet)),
            Net::Remote => ("br2", format!("r{}", h.octet)),
        };
        Self::veth(&ns, "eth0", &lan, &port)?;
        sys::ipn(&lan, &format!("link set {port} master {bridge} up"))?;
        Self::addr(&ns, "eth0", &format!("{}/24", h.v4()))?;
        if let Some(v6) = h.v6() {
            Self::addr(&ns, "eth0", &format!("{v6}/64"))?;
        }
        if !h.extra.is_empty() {
            // One `ip` for all of them (400 took 10-20 ms on the 2-core development VM).
            let batch: String = h
                .extra
                .iter()
                .map(|a| match a {
                    IpAddr::V4(a) => format!("addr add {a}/32 dev eth0\n"),
                    IpAddr::V6(a) => format!("addr add {a}/128 dev eth0 nodad\n"),
                })
                .collect();
            let mut ip = Command::new("ip");
            ip.args(["-n", &ns, "-batch", "-"]);
            sys::run_with_input(&mut ip, &batch).map_err(|e| format!("host {}: {e}", h.name))?;
        }
        sys::ipn(&ns, "link set eth0 up")?;
        if h.net == Net::Remote {
            // Back to the scanner's side of the router only: no default route.
            let back = plan::SCANNER_LINK_PREFIX;
            sys::ipn(
                &ns,
                &format!("route add {back} via {}", plan::REMOTE_ROUTER),
            )?;
        }
        if let Some(alias) = h.alias_v4() {
            Self::addr(&ns, "lo", &format!("{alias}/32"))?;
        }
        load_firewall(&ns, h)?;
        if !h.listen.is_empty() {
            let ports: Vec<String> = h.listen.iter().map(u16::to_string).collect();
            let mut argv = vec!["python3", FIXTURE, "listen", "--ports"];
            let ports = ports.join(",");
            argv.push(&ports);
            if let Some(g) = &h.greeting {
                argv.extend(["--greeting", g]);
            }
            let cmd = h
                .listen
                .iter()
                .fold(HostCommand::new(argv), |c, &p| c.ready(Ready::Tcp(p)));
            self.spawn(&ns, &format!("{}-listen", h.name), &cmd, &[])?;
        }
        let v4 = h.v4().to_string();
        let v6 = h.v6().map(|a| a.to_string()).unwrap_or_default();
        let logs = self.log_dir.to_string_lossy().into_owned();
        let vars = [
            ("{ip4}", v4.as_str()),
            ("{ip6}", v6.as_str()),
            ("{if}", "eth0"),
            ("{name}", h.name.as_str()),
            ("{fixture}", FIXTURE),
            ("{logs}", logs.as_str()),
        ];
        for (i, cmd) in h.run.iter().enumerate() {
            self.spawn(&ns, &format!("{}-run{i}", h.name), cmd, &vars)?;
        }
        self.hosts.push(LabHost {
            spec: h.clone(),
            ns,
        });
        Ok(())
    }

    /// Starts `cmd` inside `ns`, output to a log file; readiness is awaited in [`Self::wait_ready`].
    fn spawn(
        &mut self,
        ns: &str,
        label: &str,
        cmd: &HostCommand,
        vars: &[(&str, &str)],
    ) -> Result<(), String> {
        let argv: Vec<String> = cmd
            .argv
            .iter()
            .map(|a| vars.iter().fold(a.clone(), |a, (k, v)| a.replace(k, v)))
            .collect();
        let log = self.log_dir.join(format!("{label}.log"));
        let out =
            File::create(&log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let mut c = sys::in_ns(ns, &argv[0]);
        c.args(&argv[1..])
            .env("PYTHONPATH", &self.tools.python_path)
            .env("PYTHONUNBUFFERED", "1")
            .envs(cmd.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        let child = c
            .spawn()
            .map_err(|e| format!("cannot start `{}`: {e}", sys::show(&c)))?;
        self.processes.push(Process {
            label: label.to_string(),
            ns: ns.to_string(),
            child,
            log,
            ready: cmd.ready.clone(),
        });
        Ok(())
    }

    /// Waits until every started process listens where its spec says, failing with its log if
    /// it exits first.
    fn wait_ready(&mut self) -> Result<(), String> {
        for p in &mut self.processes {
            let what = format!("{} to listen on {:?} in {}", p.label, p.ready, p.ns);
            let (ns, ready, child, log) = (&p.ns, &p.ready, &mut p.child, &p.log);
            sys::wait_until(&what, READY_LIMIT, || {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(format!(
                        "{what}: it exited ({status}); its log {}:\n{}",
                        log.display(),
                        std::fs::read_to_string(log).unwrap_or_default()
                    ));
                }
                let tcp = sys::listening_ports(ns, "tcp")?;
                let udp = if ready.iter().any(|r| matches!(r, Ready::Udp(_))) {
                    sys::listening_ports(ns, "udp")?
                } else {
                    Vec::new()
                };
                Ok(ready.iter().all(|r| match r {
                    Ready::Tcp(p) => tcp.contains(p),
                    Ready::Udp(p) => udp.contains(p),
                }))
            })?;
        }
        Ok(())
    }

    /// `program` inside the scanner namespace (with the scanner's hosts file and resolver).
    pub fn scanner(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        sys::in_ns(&self.scanner, program)
    }

    /// `program` inside a LAN host's namespace.
    pub fn in_host(&self, host: &str, program: impl AsRef<std::ffi::OsStr>) -> Command {
        sys::in_ns(&self.host(host).ns, program)
    }

    /// `program` inside any lab namespace (see [`Self::namespaces`]).
    pub fn in_ns(&self, ns: &str, program: impl AsRef<std::ffi::OsStr>) -> Command {
        assert!(
            self.created.iter().any(|c| c == ns),
            "{ns} is not this lab's"
        );
        sys::in_ns(ns, program)
    }

    pub fn host(&self, name: &str) -> &LabHost {
        self.hosts
            .iter()
            .find(|h| h.spec.name == name)
            .unwrap_or_else(|| panic!("no lab host '{name}'"))
    }

    pub fn hosts(&self) -> &[LabHost] {
        &self.hosts
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn scanner_ns(&self) -> &str {
        &self.scanner
    }

    pub fn router_ns(&self) -> Option<&str> {
        self.router.as_deref()
    }

    pub fn farm_ns(&self) -> Option<&str> {
        self.farm.as_deref()
    }

    /// Every namespace of this lab.
    pub fn namespaces(&self) -> &[String] {
        &self.created
    }

    pub fn farm_truth(&self) -> Option<&FarmTruth> {
        self.farm_truth.as_ref()
    }

    /// PYTHONPATH under which `import wsdiscovery` works.
    pub fn python_path(&self) -> &Path {
        &self.tools.python_path
    }

    /// Reloads a host's firewall rules, which zeroes their counters (the lossy host's "every
    /// second SYN" starts again with a drop).
    pub fn reset_firewall(&self, host: &str) -> Result<(), String> {
        let h = self.host(host);
        load_firewall(&h.ns, &h.spec)
    }

    /// Sets a sysctl in the scanner; returns the old value, for restoring it.
    pub fn set_scanner_sysctl(&self, key: &str, value: &str) -> Result<String, String> {
        let old = sys::sysctl_get(&self.scanner, key)?;
        sys::sysctl(&self.scanner, &[(key, value)])?;
        Ok(old)
    }

    /// Where the lab's processes write their output.
    pub fn log_dir(&self) -> &Path {
        &self.log_dir
    }

    /// Keep the log directory after teardown (a test failed and someone will want to read it).
    pub fn keep_logs(&self) {
        self.keep_logs.store(true, Ordering::Relaxed);
    }

    /// Wall time of [`Lab::build`], without installing tools.
    pub fn build_time(&self) -> Duration {
        self.build_time
    }

    /// Tears the lab down now; returns how long that took.
    pub fn teardown(mut self) -> Duration {
        self.teardown_inner()
    }

    fn teardown_inner(&mut self) -> Duration {
        if self.down {
            return Duration::ZERO;
        }
        self.down = true;
        let t = Instant::now();
        for ns in &self.created {
            sys::kill_all_in(ns);
        }
        for p in &mut self.processes {
            let _ = p.child.kill();
            let _ = p.child.wait();
        }
        for ns in self.created.iter().rev() {
            sys::delete_ns(ns);
        }
        if let Some(mut reaper) = self.reaper.take() {
            // Its work is done; letting it run would also delete logs kept on purpose.
            let _ = reaper.kill();
            let _ = reaper.wait();
        }
        if !self.keep_logs.load(Ordering::Relaxed) {
            let _ = std::fs::remove_dir_all(&self.log_dir);
        }
        t.elapsed()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.teardown_inner();
    }
}

/// Loads a host's filter rules with `iptables-restore` (which also resets their counters).
fn load_firewall(ns: &str, h: &HostSpec) -> Result<(), String> {
    for (tool, rules) in [
        ("iptables-restore", &h.iptables),
        ("ip6tables-restore", &h.ip6tables),
    ] {
        if rules.is_empty() {
            continue;
        }
        let mut input = String::from(
            "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n",
        );
        for r in rules {
            input.push_str(r);
            input.push('\n');
        }
        input.push_str("COMMIT\n");
        sys::run_with_input(&mut sys::in_ns(ns, tool), &input)
            .map_err(|e| format!("host {}: {e}", h.name))?;
    }
    Ok(())
}

fn validate(spec: &LabSpec) -> Result<(), String> {
    let mut seen = std::collections::BTreeMap::new();
    let mut names = std::collections::BTreeSet::new();
    for h in &spec.hosts {
        let ok_name = !h.name.is_empty()
            && h.name.len() <= 20
            && h.name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !ok_name {
            return Err(format!("host name '{}': use 1-20 of [a-z0-9-]", h.name));
        }
        if !names.insert(&h.name) {
            return Err(format!("two hosts are named {}", h.name));
        }
        // .1 is the router's address behind it; .2 the scanner's on its LANs.
        let reserved = [0, 1, plan::SCANNER_OCTET, plan::DEAD_OCTET, 255];
        if reserved.contains(&h.octet) {
            return Err(format!("host {}: octet {} is reserved", h.name, h.octet));
        }
        if h.net == Net::Remote && h.ipv6 {
            return Err(format!("host {}: the router does not route IPv6", h.name));
        }
        if h.alias && h.net != Net::Remote {
            return Err(format!("host {}: only remote hosts have an alias", h.name));
        }
        if h.net == Net::Remote && !spec.farm {
            return Err(format!("host {}: remote hosts need the router", h.name));
        }
        // Extra addresses stay in the prefixes of the host's own network.
        let (v4, v6) = match h.net {
            Net::Lan => (plan::LAN_V4_PREFIX, plan::LAN_V6_PREFIX),
            Net::Side => (plan::SIDE_V4_PREFIX, plan::SIDE_V6_PREFIX),
            Net::Remote => (plan::REMOTE_V4_PREFIX, ""),
        };
        for a in &h.extra {
            let inside = [v4, v6]
                .iter()
                .filter_map(|p| plan::parse_prefix(p))
                .any(|p| plan::overlaps(p, (*a, if a.is_ipv4() { 32 } else { 128 })));
            if !inside {
                return Err(format!(
                    "host {}: extra address {a} is outside its network ({v4} {v6})",
                    h.name
                ));
            }
        }
        if let Some(other) = seen.insert((h.net, h.octet), &h.name) {
            return Err(format!(
                "hosts {other} and {} share octet {} on {:?}",
                h.name, h.octet, h.net
            ));
        }
    }
    Ok(())
}
