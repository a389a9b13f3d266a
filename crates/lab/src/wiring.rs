//! The lab's wiring: namespaces, veths, bridges, addresses and routes of the LANs, router and farm.

use super::plan::{self, lan_v4, lan_v6, side_v4, side_v6};
use super::{sys, FarmTruth, HostCommand, Lab, LabSpec, Net, Ready, FIXTURE};

/// A dead on-link address costs `retrans_time_ms × mcast_solicit` of ARP/ND: 0.75 s, under the
/// product's 1 s default timeout (the kernel default is 3 s).
const NEIGH_RETRANS_MS: &str = "250";
const NEIGH_SOLICIT: &str = "3";

/// `Lab::build` runs the `build_*` steps in order; its per-host step reuses `add_ns`, `veth` and
/// `addr`, hence `pub(super)`.
impl Lab {
    /// Creates a namespace with loopback up and the settings every lab namespace shares.
    pub(super) fn add_ns(&mut self, ns: &str) -> Result<(), String> {
        sys::ip(&["netns", "add", ns])?;
        self.created.push(ns.to_string());
        sys::ipn(ns, "link set lo up")?;
        sys::sysctl(
            ns,
            &[
                // Addresses usable at once (no 1–2 s of duplicate address detection), no
                // autoconfiguration from stray router advertisements.
                ("net.ipv6.conf.all.accept_dad", "0"),
                ("net.ipv6.conf.default.accept_dad", "0"),
                ("net.ipv6.conf.default.accept_ra", "0"),
                // REJECT answers must not be rate-limited into silence ("filtered").
                ("net.ipv4.icmp_ratelimit", "0"),
                ("net.ipv6.icmp.ratelimit", "0"),
            ],
        )?;
        sys::sysctl_if_present(
            ns,
            &[
                ("net.ipv4.icmp_msgs_per_sec", "1000000"),
                ("net.ipv4.icmp_msgs_burst", "1000000"),
            ],
        )
    }

    /// A veth pair made directly inside the two namespaces (no name in the root namespace).
    pub(super) fn veth(a_ns: &str, a_if: &str, b_ns: &str, b_if: &str) -> Result<(), String> {
        let args = format!("link add {a_if} netns {a_ns} type veth peer name {b_if} netns {b_ns}");
        sys::run(std::process::Command::new("ip").args(args.split_whitespace())).map(drop)
    }

    /// Adds an address to `dev` in `ns`.
    pub(super) fn addr(ns: &str, dev: &str, cidr: &str) -> Result<(), String> {
        // No duplicate address detection: the address is usable at once.
        let nodad = if cidr.contains(':') { "nodad" } else { "" };
        sys::ipn(ns, &format!("addr add {cidr} dev {dev} {nodad}")).map(drop)
    }

    /// Fast neighbour resolution failure on `dev`, so a dead on-link address is "no host" in
    /// about a second rather than three.
    fn fast_neighbour_timeouts(ns: &str, dev: &str) -> Result<(), String> {
        let mut kv = Vec::new();
        for fam in ["ipv4", "ipv6"] {
            for (k, v) in [
                ("retrans_time_ms", NEIGH_RETRANS_MS),
                ("mcast_solicit", NEIGH_SOLICIT),
                ("ucast_solicit", NEIGH_SOLICIT),
                ("app_solicit", "0"),
            ] {
                kv.push((format!("net.{fam}.neigh.{dev}.{k}"), v));
            }
        }
        let kv: Vec<(&str, &str)> = kv.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        sys::sysctl(ns, &kv)
    }

    /// A bridge (a switch) in the LAN namespace. No multicast snooping: WS-Discovery multicast
    /// reaches every port without IGMP state.
    fn bridge(lan: &str, name: &str) -> Result<(), String> {
        sys::ipn(
            lan,
            &format!("link add {name} type bridge mcast_snooping 0"),
        )?;
        sys::ipn(lan, &format!("link set {name} up")).map(drop)
    }

    pub(super) fn build_lan(&mut self) -> Result<(), String> {
        let lan = format!("{}lan", self.prefix);
        self.add_ns(&lan)?;
        Self::bridge(&lan, "br0")?;
        let port = format!("p{}", plan::SCANNER_OCTET);
        Self::veth(&self.scanner, "lan0", &lan, &port)?;
        sys::ipn(&lan, &format!("link set {port} master br0 up"))?;
        let s = self.scanner.clone();
        Self::addr(&s, "lan0", &format!("{}/24", lan_v4(plan::SCANNER_OCTET)))?;
        Self::addr(&s, "lan0", &format!("{}/64", lan_v6(plan::SCANNER_OCTET)))?;
        sys::ipn(&s, "link set lan0 up")?;
        Self::fast_neighbour_timeouts(&s, "lan0")?;
        // Multicast (WS-Discovery) leaves by the LAN; this is not a default route.
        sys::ipn(&s, "route add 224.0.0.0/4 dev lan0")?;
        self.lan = Some(lan);
        Ok(())
    }

    /// The scanner's second LAN: `lan1` to bridge br1 in the LAN namespace.
    pub(super) fn build_side_lan(&mut self) -> Result<(), String> {
        let lan = self
            .lan
            .clone()
            .ok_or("the second LAN needs the LAN (LabSpec::lan)")?;
        Self::bridge(&lan, "br1")?;
        let port = format!("s{}", plan::SCANNER_OCTET);
        Self::veth(&self.scanner, "lan1", &lan, &port)?;
        sys::ipn(&lan, &format!("link set {port} master br1 up"))?;
        let s = self.scanner.clone();
        Self::addr(&s, "lan1", &format!("{}/24", side_v4(plan::SCANNER_OCTET)))?;
        Self::addr(&s, "lan1", &format!("{}/64", side_v6(plan::SCANNER_OCTET)))?;
        sys::ipn(&s, "link set lan1 up")?;
        Self::fast_neighbour_timeouts(&s, "lan1")
    }

    /// The router's second downlink `dn1`, to bridge br2 in the LAN namespace, where the remote
    /// hosts are; routes to it (and to their aliases) from the scanner and the router.
    pub(super) fn build_remote_link(&mut self, spec: &LabSpec) -> Result<(), String> {
        let lan = self
            .lan
            .clone()
            .ok_or("remote hosts need the LAN namespace (LabSpec::lan)")?;
        let r = self
            .router
            .clone()
            .ok_or("remote hosts need the router (LabSpec::farm)")?;
        Self::bridge(&lan, "br2")?;
        Self::veth(&r, "dn1", &lan, "rdn1")?;
        sys::ipn(&lan, "link set rdn1 master br2 up")?;
        Self::addr(&r, "dn1", &format!("{}/24", plan::REMOTE_ROUTER))?;
        sys::ipn(&r, "link set dn1 up")?;
        let s = self.scanner.clone();
        for prefix in [plan::REMOTE_V4_PREFIX, plan::REMOTE_ALIAS_PREFIX] {
            sys::ipn(
                &s,
                &format!("route add {prefix} via {}", plan::ROUTER_UPLINK),
            )?;
        }
        for h in spec.hosts.iter().filter(|h| h.net == Net::Remote) {
            if let Some(alias) = h.alias_v4() {
                sys::ipn(&r, &format!("route add {alias}/32 via {}", h.v4()))?;
            }
        }
        Ok(())
    }

    pub(super) fn build_router_and_farm(&mut self) -> Result<(), String> {
        let (s, r, f) = (
            self.scanner.clone(),
            format!("{}rtr", self.prefix),
            format!("{}farm", self.prefix),
        );
        let truth = FarmTruth::load()?;
        self.add_ns(&r)?;
        self.add_ns(&f)?;
        Self::veth(&s, "rt0", &r, "up0")?;
        Self::veth(&r, "dn0", &f, "eth0")?;
        Self::addr(&s, "rt0", &format!("{}/30", plan::SCANNER_UPLINK))?;
        Self::addr(&r, "up0", &format!("{}/30", plan::ROUTER_UPLINK))?;
        Self::addr(&r, "dn0", &format!("{}/24", plan::ROUTER_DOWNLINK))?;
        Self::addr(&f, "eth0", &format!("{}/24", plan::FARM_LINK))?;
        for (ns, dev) in [(&s, "rt0"), (&r, "up0"), (&r, "dn0"), (&f, "eth0")] {
            sys::ipn(ns, &format!("link set {dev} up"))?;
        }
        use plan::{FARM_LINK, FARM_LINK_PREFIX, FARM_PREFIX, ROUTER_DOWNLINK, ROUTER_UPLINK};
        sys::ipn(&s, &format!("route add {FARM_PREFIX} via {ROUTER_UPLINK}"))?;
        sys::ipn(
            &s,
            &format!("route add {FARM_LINK_PREFIX} via {ROUTER_UPLINK}"),
        )?;
        sys::ipn(&r, &format!("route add {FARM_PREFIX} via {FARM_LINK}"))?;
        let back = plan::SCANNER_LINK_PREFIX;
        sys::ipn(&f, &format!("route add {back} via {ROUTER_DOWNLINK}"))?;
        // The farm is every address of the /16: a local route, no address per host.
        sys::ipn(&f, &format!("route add local {FARM_PREFIX} dev lo"))?;

        sys::sysctl(&r, &[("net.ipv4.ip_forward", "1")])?;
        Self::fast_neighbour_timeouts(&r, "dn0")?;
        sys::sysctl(
            &f,
            &[
                ("net.core.somaxconn", "65535"),
                ("net.ipv4.tcp_max_syn_backlog", "65535"),
            ],
        )?;
        // No connection tracking on the path: a sweep makes ~800k connections. (The scanner has
        // no rules at all, so the kernel never enables conntrack there.)
        const NOTRACK: &str = "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
            -A PREROUTING -j CT --notrack\n-A OUTPUT -j CT --notrack\nCOMMIT\n";
        sys::run_with_input(&mut sys::in_ns(&r, "iptables-restore"), NOTRACK)?;
        sys::run_with_input(
            &mut sys::in_ns(&f, "iptables-restore"),
            &truth.iptables_restore(),
        )?;
        let ports: Vec<String> = truth.ports().iter().map(u16::to_string).collect();
        let listen = HostCommand::new([
            "python3",
            FIXTURE,
            "listen",
            "--ports",
            &ports.join(","),
            "--backlog",
            "65535",
        ]);
        let listen = truth
            .ports()
            .iter()
            .fold(listen, |c, &p| c.ready(Ready::Tcp(p)));
        self.spawn(&f, "farm-listen", &listen, &[])?;
        self.router = Some(r);
        self.farm = Some(f);
        self.farm_truth = Some(truth);
        Ok(())
    }

    /// The scanner's interface with multicast off ([`plan::NO_MULTICAST_IF`]).
    pub(super) fn build_no_multicast_if(&mut self) -> Result<(), String> {
        // A veth whose peer sits unattached in the LAN namespace (not every kernel has dummy
        // interfaces): up, with an address, multicast off.
        let lan = self
            .lan
            .clone()
            .ok_or("the multicast-off interface needs the LAN")?;
        let (s, dev) = (self.scanner.clone(), plan::NO_MULTICAST_IF);
        Self::veth(&s, dev, &lan, "nomc-peer")?;
        sys::ipn(&lan, "link set nomc-peer up")?;
        Self::addr(&s, dev, plan::NO_MULTICAST_CIDR)?;
        sys::ipn(&s, &format!("link set {dev} multicast off up"))?;
        Ok(())
    }
}
