//! What the user asked to probe: a host name, an IPv4 or IPv6 address (with zone), optionally with
//! a port (`devbox:4567`, `[fe80::1%eth0]:4026`).
//!
//! Parsing is strict and happens before any packet is sent, so a typo costs one clear line and
//! exit code 2 rather than a probe of the wrong thing.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr, SocketAddrV6};

use crate::catalog::Port;
use crate::platform;

/// An IP address as probed: IPv6 link-local addresses need the interface (zone) they live on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address {
    pub ip: IpAddr,
    /// IPv6 scope (interface index); 0 when none.
    pub scope_id: u32,
}

impl Address {
    pub fn new(ip: IpAddr) -> Self {
        Address { ip, scope_id: 0 }
    }

    pub fn socket_addr(&self, port: Port) -> SocketAddr {
        match self.ip {
            IpAddr::V4(v4) => SocketAddr::new(IpAddr::V4(v4), port.0),
            IpAddr::V6(v6) => SocketAddr::V6(SocketAddrV6::new(v6, port.0, 0, self.scope_id)),
        }
    }

    pub fn from_socket_addr(sa: SocketAddr) -> Self {
        match sa {
            SocketAddr::V4(v4) => Address::new(IpAddr::V4(*v4.ip())),
            SocketAddr::V6(v6) => Address {
                ip: IpAddr::V6(*v6.ip()),
                scope_id: v6.scope_id(),
            },
        }
    }

    /// `address:port` as a user types it into Visual Studio's connection target.
    pub fn with_port(&self, port: Port) -> String {
        match self.ip {
            IpAddr::V4(_) => format!("{self}:{port}"),
            IpAddr::V6(_) => format!("[{self}]:{port}"),
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.ip)?;
        if self.scope_id != 0 {
            write!(f, "%{}", platform::interface_name(self.scope_id))?;
        }
        Ok(())
    }
}

/// The host part of a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// A name to resolve (every A and AAAA record is probed).
    Name(String),
    /// An address literal; nothing to resolve.
    Literal(Address),
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Name(n) => f.write_str(n),
            Host::Literal(a) => a.fmt(f),
        }
    }
}

/// One parsed target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Exactly what the user typed, for reports.
    pub input: String,
    pub host: Host,
    /// A port given as `host:port`: a custom monitor port (`msvsmon /port`), probed in addition
    /// to the release ports.
    pub port: Option<Port>,
}

impl Target {
    /// A note for an unbracketed IPv6 literal whose last group reads like a port (`::1:4026`):
    /// it is a valid address, so it is probed as written, but the user may have meant a port.
    pub fn ambiguity_note(&self) -> Option<String> {
        let Host::Literal(a) = &self.host else {
            return None;
        };
        let written = self.input.trim();
        if written.starts_with('[') || !a.ip.is_ipv6() {
            return None;
        }
        let (head, last) = written.split('%').next()?.rsplit_once(':')?;
        let port = parse_port(last).ok().filter(|_| last.len() >= 4)?;
        let head = head
            .strip_suffix(':')
            .map_or(head.to_string(), |h| format!("{h}::"));
        head.parse::<Ipv6Addr>().ok()?;
        Some(format!(
            "'{written}' is probed as the IPv6 address {a}; for port {} on {head} write [{head}]:{}",
            port.0, port.0
        ))
    }

    /// True for Azure App Service hosts, whose debugger is reached on 4024 whatever the release.
    pub fn is_app_service(&self) -> bool {
        match &self.host {
            Host::Name(n) => {
                let n = n.trim_end_matches('.').to_ascii_lowercase();
                n.ends_with(".azurewebsites.net") || n.ends_with(".scm.azurewebsites.net")
            }
            Host::Literal(_) => false,
        }
    }
}

/// Why a target string was rejected. Each message names the value and what is accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetError {
    pub input: String,
    pub problem: String,
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid target '{}': {}; expected a host name, an IPv4 address, an IPv6 address \
             (with %zone for link-local), optionally with :PORT ([IPv6]:PORT)",
            self.input, self.problem
        )
    }
}

impl std::error::Error for TargetError {}

/// Parses a port number given on the command line or in a target.
pub fn parse_port(s: &str) -> Result<Port, PortError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(PortError::Empty);
    }
    match t.parse::<u32>() {
        Ok(n @ 1..=65535) => Ok(Port(n as u16)),
        Ok(n) => Err(PortError::OutOfRange(n)),
        Err(_) => Err(PortError::NotANumber(t.to_string())),
    }
}

/// A port that is not one: what was given, against the accepted 1 to 65535.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortError {
    Empty,
    OutOfRange(u32),
    NotANumber(String),
}

impl fmt::Display for PortError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PortError::Empty => f.write_str("empty port; expected a number from 1 to 65535"),
            PortError::OutOfRange(n) => write!(f, "port {n} is out of range; expected 1 to 65535"),
            PortError::NotANumber(t) => {
                write!(f, "'{t}' is not a port number; expected 1 to 65535")
            }
        }
    }
}

impl std::error::Error for PortError {}

/// Parses one target string.
pub fn parse_target(input: &str) -> Result<Target, TargetError> {
    let t = parse_target_syntax(input)?;
    match &t.host {
        Host::Literal(a) if a.ip.is_unspecified() => Err(TargetError {
            input: input.to_string(),
            problem: format!(
                "'{}' is the unspecified address (\"any\" to a socket), not a host; name the machine or its address",
                a.ip
            ),
        }),
        _ => Ok(t),
    }
}

fn parse_target_syntax(input: &str) -> Result<Target, TargetError> {
    let err = |problem: String| TargetError {
        input: input.to_string(),
        problem,
    };
    let s = input.trim();
    if s.is_empty() {
        return Err(err("the target is empty".into()));
    }

    // [v6]:port or [v6]
    if let Some(rest) = s.strip_prefix('[') {
        let Some(close) = rest.find(']') else {
            return Err(err("'[' without a matching ']'".into()));
        };
        let addr = parse_ipv6_with_zone(&rest[..close]).map_err(&err)?;
        let after = &rest[close + 1..];
        let port = if after.is_empty() {
            None
        } else if let Some(p) = after.strip_prefix(':') {
            Some(parse_port(p).map_err(|e| err(e.to_string()))?)
        } else {
            return Err(err(format!("unexpected '{after}' after ']'")));
        };
        return Ok(Target {
            input: input.to_string(),
            host: Host::Literal(addr),
            port,
        });
    }

    let colons = s.matches(':').count();
    if colons >= 2 {
        // A bare IPv6 literal; a port needs brackets because the last group could be either.
        let addr = parse_ipv6_with_zone(s).map_err(&err)?;
        return Ok(Target {
            input: input.to_string(),
            host: Host::Literal(addr),
            port: None,
        });
    }

    let (host, port) = match s.split_once(':') {
        Some((h, p)) => (h, Some(parse_port(p).map_err(|e| err(e.to_string()))?)),
        None => (s, None),
    };
    if host.is_empty() {
        return Err(err("the host part is empty".into()));
    }
    if let Ok(v4) = host.parse::<std::net::Ipv4Addr>() {
        return Ok(Target {
            input: input.to_string(),
            host: Host::Literal(Address::new(IpAddr::V4(v4))),
            port,
        });
    }
    if looks_like_ipv4(host) {
        return Err(err(format!(
            "'{host}' is not a valid IPv4 address (four numbers 0-255)"
        )));
    }
    validate_hostname(host).map_err(&err)?;
    Ok(Target {
        input: input.to_string(),
        host: Host::Name(host.to_string()),
        port,
    })
}

fn looks_like_ipv4(s: &str) -> bool {
    s.chars().all(|c| c.is_ascii_digit() || c == '.') && s.contains('.')
}

fn parse_ipv6_with_zone(s: &str) -> Result<Address, String> {
    let (addr, zone) = match s.split_once('%') {
        Some((a, z)) => (a, Some(z)),
        None => (s, None),
    };
    let ip: Ipv6Addr = addr
        .parse()
        .map_err(|_| format!("'{addr}' is not a valid IPv6 address"))?;
    let scope_id = match zone {
        None => 0,
        Some("") => return Err("empty IPv6 zone after '%'".into()),
        Some(z) => platform::interface_index(z)
            .ok_or_else(|| format!("no network interface named '{z}' for the IPv6 zone"))?,
    };
    Ok(Address {
        ip: IpAddr::V6(ip),
        scope_id,
    })
}

/// Host names per RFC 1123, plus `_` which real Windows networks do use.
fn validate_hostname(host: &str) -> Result<(), String> {
    let h = host.strip_suffix('.').unwrap_or(host);
    if h.len() > 253 {
        return Err("the host name is longer than 253 characters".into());
    }
    for label in h.split('.') {
        if label.is_empty() {
            return Err(format!("'{host}' has an empty label (two dots in a row?)"));
        }
        if label.len() > 63 {
            return Err(format!("the label '{label}' is longer than 63 characters"));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Err(format!("'{c}' is not allowed in a host name"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("the label '{label}' starts or ends with '-'"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Target {
        parse_target(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn a_port_like_last_ipv6_group_gets_a_note_and_is_probed_as_written() {
        let note = |s: &str| parse_target(s).unwrap().ambiguity_note();
        assert_eq!(
            note("::1:4026").as_deref(),
            Some("'::1:4026' is probed as the IPv6 address ::1:4026; for port 4026 on ::1 write [::1]:4026")
        );
        assert!(note("fe80::4026").unwrap().ends_with("write [fe80::]:4026"));
        assert_eq!(note("[::1]:4026"), None);
        assert_eq!(note("::1"), None);
        assert_eq!(note("2001:db8::beef"), None);
        assert_eq!(
            note("1:2:3:4:5:6:7:4026"),
            None,
            "no valid address before it"
        );
        assert_eq!(note("10.0.0.1:4026"), None);
    }

    #[test]
    fn the_unspecified_address_is_not_a_host() {
        for s in ["0.0.0.0", "::", "[::]:4026", "0.0.0.0:4026"] {
            let e = parse_target(s).unwrap_err();
            assert!(e.problem.contains("is the unspecified address"), "{s}: {e}");
        }
    }

    #[test]
    fn accepts_the_forms_users_type() {
        assert_eq!(ok("devbox").host, Host::Name("devbox".into()));
        assert_eq!(ok("devbox.local").host, Host::Name("devbox.local".into()));
        let t = ok("devbox:4567");
        assert_eq!(
            (t.host, t.port),
            (Host::Name("devbox".into()), Some(Port(4567)))
        );
        let t = ok("10.1.2.3");
        assert_eq!(
            t.host,
            Host::Literal(Address::new("10.1.2.3".parse().unwrap()))
        );
        assert_eq!(ok("10.1.2.3:4026").port, Some(Port(4026)));
        assert!(matches!(ok("::1").host, Host::Literal(a) if a.ip.is_loopback()));
        let t = ok("[::1]:4026");
        assert_eq!(t.port, Some(Port(4026)));
        let t = ok("fe80::1%1");
        assert!(matches!(t.host, Host::Literal(a) if a.scope_id == 1));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn zone_by_interface_name() {
        let t = ok("fe80::1%lo");
        let Host::Literal(a) = t.host else { panic!() };
        assert_ne!(a.scope_id, 0);
        assert_eq!(a.to_string(), "fe80::1%lo");
        assert_eq!(a.with_port(Port(4026)), "[fe80::1%lo]:4026");
    }

    #[test]
    fn rejects_bad_input_naming_the_value() {
        for (input, needle) in [
            ("", "empty"),
            ("   ", "empty"),
            ("devbox:99999", "99999"),
            ("devbox:0", "port 0"),
            ("devbox:abc", "'abc'"),
            ("fe80:::1", "fe80:::1"),
            ("[::1", "']'"),
            ("[::1]x", "'x'"),
            ("fe80::1%nosuchif9", "nosuchif9"),
            ("300.1.1.1", "300.1.1.1"),
            ("dev box", "' '"),
            ("a..b", "empty label"),
            ("-dev", "'-dev'"),
            (":4026", "host part is empty"),
        ] {
            let e = parse_target(input).expect_err(input);
            let msg = e.to_string();
            assert!(msg.contains(needle), "{input:?}: {msg}");
            assert!(!msg.contains('\n'), "one line: {msg}");
        }
    }

    #[test]
    fn app_service_hosts_are_recognised() {
        assert!(ok("myapp.azurewebsites.net").is_app_service());
        assert!(ok("MyApp.AzureWebsites.NET.").is_app_service());
        assert!(!ok("azurewebsites.net.example").is_app_service());
        assert!(!ok("10.0.0.1").is_app_service());
    }
}
