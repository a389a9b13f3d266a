//! What the user asked to probe: a host name, an IPv4 or IPv6 address (with zone), optionally with
//! a port (`devbox:4567`, `[fe80::1%eth0]:4026`).
//!
//! Parsing is strict and happens before any packet is sent, so a typo costs one clear line and
//! exit code 2 rather than a probe of the wrong thing.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};

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

    /// Equal for targets that name the same host and port as far as a probe is concerned, so
    /// that one named twice is probed once: names compare without case and without a trailing
    /// dot (`DevBox.` is `devbox`), addresses by value and zone (`::1` is `0:0::1`).
    pub fn key(&self) -> (String, Option<Port>) {
        let host = match &self.host {
            Host::Name(n) => n.trim_end_matches('.').to_ascii_lowercase(),
            Host::Literal(a) => a.to_string(),
        };
        (host, self.port)
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

/// A value as a message shows it: control and bidirectional-formatting characters escaped
/// (`\n`, `\u{1b}`, `\u{202e}`), so a target from a file can neither break the one-line error
/// nor drive the terminal or reorder what it shows.
pub(crate) struct Shown<'a>(pub(crate) &'a str);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write;
        for c in self.0.chars() {
            let bidi = matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
            if c.is_control() || bidi {
                write!(f, "{}", c.escape_unicode())?;
            } else {
                f.write_char(c)?;
            }
        }
        Ok(())
    }
}

/// Why a target string was rejected: the string as given, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetError {
    pub input: String,
    pub problem: TargetProblem,
}

/// What is wrong with a target. Every message names the value; those about a value that is not a
/// host at all (a number, a multicast group) end with what to write instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetProblem {
    Empty,
    /// `[` without `]`.
    UnclosedBracket,
    /// Text after `[address]` that is not `:PORT`.
    AfterBracket(String),
    Port(PortError),
    /// `:4026` with nothing before the colon.
    EmptyHost,
    /// Digits and dots that are not four numbers 0-255 (`300.1.1.1`, `10.0.0`).
    NotIpv4(String),
    NotIpv6(String),
    /// `fe80::1%` with nothing after the `%`.
    EmptyZone,
    NoSuchZone(String),
    NameTooLong,
    /// Two dots in a row (the name).
    EmptyLabel(String),
    LabelTooLong(String),
    NameCharacter(char),
    /// A label that starts or ends with `-`.
    LabelHyphen(String),
    /// A number where a host was expected (`4024`, `0x7f000001`): the system resolver reads it as
    /// an address (4024 is 0.0.15.184), so it is never looked up as a name.
    Number {
        value: String,
        hint: NumberHint,
    },
    /// `0.0.0.0`, `::`: "any address" to a socket.
    Unspecified(IpAddr),
    /// 0.0.0.0/8, "this network" (RFC 1122): a source, never a destination.
    ThisNetwork(Ipv4Addr),
    /// A group (224.0.0.0/4, ff00::/8): whoever answers is not the host that was named.
    Multicast(IpAddr),
    /// 255.255.255.255.
    Broadcast,
    /// An IPv6 link-local address (fe80::/10) without `%zone`: it exists on every link.
    LinkLocalWithoutZone(Ipv6Addr),
}

/// What a stray number most likely meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberHint {
    /// A release year left over from `--release 2022 2019`.
    Release(&'static str),
    /// A port, left over from `-p 4026 4024` or typed after the host as for telnet.
    Port(u16),
    /// Nothing better to say.
    None,
}

impl TargetProblem {
    /// True when the message already says what to write instead, so the general list of what
    /// a target may be would only bury it.
    pub(crate) fn says_what_to_do(&self) -> bool {
        matches!(
            self,
            TargetProblem::Number {
                hint: NumberHint::Release(_) | NumberHint::Port(_),
                ..
            } | TargetProblem::Port(_)
                | TargetProblem::Unspecified(_)
                | TargetProblem::ThisNetwork(_)
                | TargetProblem::Multicast(_)
                | TargetProblem::Broadcast
                | TargetProblem::LinkLocalWithoutZone(_)
        )
    }
}

/// The zone of the example in the link-local hint: an interface name, or on Windows its index.
pub(crate) const ZONE_EXAMPLE: (&str, &str) = if cfg!(windows) {
    ("%INDEX", "12")
} else {
    ("%IFACE", "eth0")
};

impl fmt::Display for TargetProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAME_THE_HOST: &str = "name the machine or its address";
        match self {
            TargetProblem::Empty => f.write_str("the target is empty"),
            TargetProblem::UnclosedBracket => f.write_str("'[' without a matching ']'"),
            TargetProblem::AfterBracket(t) => write!(f, "unexpected '{}' after ']'", Shown(t)),
            TargetProblem::Port(e) => e.fmt(f),
            TargetProblem::EmptyHost => f.write_str("the host part is empty"),
            TargetProblem::NotIpv4(h) => {
                write!(f, "'{}' is not a valid IPv4 address (four numbers 0-255)", Shown(h))
            }
            TargetProblem::NotIpv6(a) => write!(f, "'{}' is not a valid IPv6 address", Shown(a)),
            TargetProblem::EmptyZone => f.write_str("empty IPv6 zone after '%'"),
            TargetProblem::NoSuchZone(z) => {
                write!(f, "no network interface named '{}' for the IPv6 zone", Shown(z))
            }
            TargetProblem::NameTooLong => f.write_str("the host name is longer than 253 characters"),
            TargetProblem::EmptyLabel(h) => {
                write!(f, "'{}' has an empty label (two dots in a row?)", Shown(h))
            }
            TargetProblem::LabelTooLong(l) => {
                write!(f, "the label '{}' is longer than 63 characters", Shown(l))
            }
            TargetProblem::NameCharacter(c) => {
                let mut b = [0u8; 4];
                write!(f, "'{}' is not allowed in a host name", Shown(c.encode_utf8(&mut b)))
            }
            TargetProblem::LabelHyphen(l) => {
                write!(f, "the label '{}' starts or ends with '-'", Shown(l))
            }
            TargetProblem::Number { value, hint } => {
                write!(f, "'{}' is a number, not a host", Shown(value))?;
                match hint {
                    NumberHint::Release(r) => write!(f, ": did you mean --release {r}?"),
                    NumberHint::Port(p) => write!(f, ": did you mean -p {p}?"),
                    NumberHint::None => Ok(()),
                }
            }
            TargetProblem::Unspecified(ip) => write!(
                f,
                "'{ip}' is the unspecified address (\"any\" to a socket), not a host; {NAME_THE_HOST}"
            ),
            TargetProblem::ThisNetwork(ip) => write!(
                f,
                "'{ip}' is in 0.0.0.0/8 (\"this network\"), a source and never a destination; {NAME_THE_HOST}"
            ),
            TargetProblem::Multicast(ip) => write!(
                f,
                "'{ip}' is a multicast address: a group, not a host, and whoever answers is not the debugger; {NAME_THE_HOST} (--discover finds the debuggers on this link)"
            ),
            TargetProblem::Broadcast => write!(
                f,
                "'255.255.255.255' is the broadcast address, not a host; {NAME_THE_HOST}"
            ),
            TargetProblem::LinkLocalWithoutZone(ip) => {
                let (zone, example) = ZONE_EXAMPLE;
                write!(
                    f,
                    "'{ip}' is link-local: add {zone}, e.g. {ip}%{example} (the interface of its link)"
                )
            }
        }
    }
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid target '{}': {}",
            Shown(&self.input),
            self.problem
        )?;
        if !self.problem.says_what_to_do() {
            f.write_str(
                "; expected a host name, an IPv4 address, an IPv6 address \
                 (with %zone for link-local), optionally with :PORT ([IPv6]:PORT)",
            )?;
        }
        Ok(())
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
                write!(
                    f,
                    "'{}' is not a port number; expected 1 to 65535",
                    Shown(t)
                )
            }
        }
    }
}

impl std::error::Error for PortError {}

/// Parses one target string: strictly, and refusing anything that is not one host (a number,
/// a multicast group, the broadcast address, 0.0.0.0/8, a link-local address without its zone).
pub fn parse_target(input: &str) -> Result<Target, TargetError> {
    let t = parse_target_syntax(input)?;
    if let Host::Literal(a) = &t.host {
        check_destination(a).map_err(|problem| TargetError {
            input: input.to_string(),
            problem,
        })?;
    }
    Ok(t)
}

/// Whether `a` can be one host's address. IPv4-mapped IPv6 addresses are judged as the IPv4
/// address they carry.
pub(crate) fn check_destination(a: &Address) -> Result<(), TargetProblem> {
    let v4 = match a.ip {
        IpAddr::V4(v4) => Some(v4),
        IpAddr::V6(v6) => v6.to_ipv4_mapped(),
    };
    if a.ip.is_unspecified() || v4.is_some_and(|v| v.is_unspecified()) {
        return Err(TargetProblem::Unspecified(a.ip));
    }
    if a.ip.is_multicast() || v4.is_some_and(|v| v.is_multicast()) {
        return Err(TargetProblem::Multicast(a.ip));
    }
    if let Some(v) = v4 {
        if v.is_broadcast() {
            return Err(TargetProblem::Broadcast);
        }
        if v.octets()[0] == 0 {
            return Err(TargetProblem::ThisNetwork(v));
        }
    }
    if let IpAddr::V6(v6) = a.ip {
        if is_link_local_v6(v6) && a.scope_id == 0 {
            return Err(TargetProblem::LinkLocalWithoutZone(v6));
        }
    }
    Ok(())
}

/// fe80::/10.
pub(crate) fn is_link_local_v6(ip: Ipv6Addr) -> bool {
    ip.segments()[0] & 0xffc0 == 0xfe80
}

/// The syntax of a target alone: a literal is not yet checked for being one host's address
/// (an exclusion may name a multicast group).
pub(crate) fn parse_target_syntax(input: &str) -> Result<Target, TargetError> {
    let err = |problem: TargetProblem| TargetError {
        input: input.to_string(),
        problem,
    };
    let s = input.trim();
    if s.is_empty() {
        return Err(err(TargetProblem::Empty));
    }

    // [v6]:port or [v6]
    if let Some(rest) = s.strip_prefix('[') {
        let Some(close) = rest.find(']') else {
            return Err(err(TargetProblem::UnclosedBracket));
        };
        let addr = parse_ipv6_with_zone(&rest[..close]).map_err(err)?;
        let after = &rest[close + 1..];
        let port = if after.is_empty() {
            None
        } else if let Some(p) = after.strip_prefix(':') {
            Some(parse_port(p).map_err(|e| err(TargetProblem::Port(e)))?)
        } else {
            return Err(err(TargetProblem::AfterBracket(after.to_string())));
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
        let addr = parse_ipv6_with_zone(s).map_err(err)?;
        return Ok(Target {
            input: input.to_string(),
            host: Host::Literal(addr),
            port: None,
        });
    }

    let (host, port) = match s.split_once(':') {
        Some((h, p)) => (
            h,
            Some(parse_port(p).map_err(|e| err(TargetProblem::Port(e)))?),
        ),
        None => (s, None),
    };
    if host.is_empty() {
        return Err(err(TargetProblem::EmptyHost));
    }
    if let Ok(v4) = host.parse::<std::net::Ipv4Addr>() {
        return Ok(Target {
            input: input.to_string(),
            host: Host::Literal(Address::new(IpAddr::V4(v4))),
            port,
        });
    }
    if looks_like_ipv4(host) {
        return Err(err(TargetProblem::NotIpv4(host.to_string())));
    }
    if is_inet_aton_number(host) {
        // Alone, it is most likely a value that lost its option.
        let hint = if port.is_none() {
            number_hint(host)
        } else {
            NumberHint::None
        };
        return Err(err(TargetProblem::Number {
            value: host.to_string(),
            hint,
        }));
    }
    validate_hostname(host).map_err(err)?;
    Ok(Target {
        input: input.to_string(),
        host: Host::Name(host.to_string()),
        port,
    })
}

fn looks_like_ipv4(s: &str) -> bool {
    s.chars().all(|c| c.is_ascii_digit() || c == '.') && s.contains('.')
}

/// What the system resolver reads as an IPv4 address rather than a name (inet_aton: one to four
/// dot-separated numbers, each decimal, `0x` hexadecimal or `0` octal): `4024`, `0x7f000001`,
/// `0x7f.1`. Such a string is never looked up in DNS, so it is never a host name.
fn is_inet_aton_number(s: &str) -> bool {
    let s = s.strip_suffix('.').unwrap_or(s);
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() <= 4
        && parts.iter().all(|p| {
            let hex = p.strip_prefix("0x").or_else(|| p.strip_prefix("0X"));
            match hex {
                Some(h) => h.chars().all(|c| c.is_ascii_hexdigit()),
                None => !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()),
            }
        })
}

/// A release year, else a port number, else nothing.
fn number_hint(value: &str) -> NumberHint {
    if let Some(r) = crate::catalog::Release::find(value).filter(|r| r.key == value) {
        return NumberHint::Release(r.key);
    }
    match value.parse::<u16>() {
        Ok(n) if n > 0 && value.chars().all(|c| c.is_ascii_digit()) => NumberHint::Port(n),
        _ => NumberHint::None,
    }
}

fn parse_ipv6_with_zone(s: &str) -> Result<Address, TargetProblem> {
    let (addr, zone) = match s.split_once('%') {
        Some((a, z)) => (a, Some(z)),
        None => (s, None),
    };
    let ip: Ipv6Addr = addr
        .parse()
        .map_err(|_| TargetProblem::NotIpv6(addr.to_string()))?;
    let scope_id = match zone {
        None => 0,
        Some("") => return Err(TargetProblem::EmptyZone),
        Some(z) => {
            platform::interface_index(z).ok_or_else(|| TargetProblem::NoSuchZone(z.to_string()))?
        }
    };
    Ok(Address {
        ip: IpAddr::V6(ip),
        scope_id,
    })
}

/// Host names per RFC 1123, plus `_` which real Windows networks do use.
fn validate_hostname(host: &str) -> Result<(), TargetProblem> {
    let h = host.strip_suffix('.').unwrap_or(host);
    if h.len() > 253 {
        return Err(TargetProblem::NameTooLong);
    }
    for label in h.split('.') {
        if label.is_empty() {
            return Err(TargetProblem::EmptyLabel(host.to_string()));
        }
        if label.len() > 63 {
            return Err(TargetProblem::LabelTooLong(label.to_string()));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Err(TargetProblem::NameCharacter(c));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(TargetProblem::LabelHyphen(label.to_string()));
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
        assert!(note("2001:db8::4026")
            .unwrap()
            .ends_with("write [2001:db8::]:4026"));
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
            assert!(
                matches!(e.problem, TargetProblem::Unspecified(_)),
                "{s}: {e}"
            );
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
    fn numbers_are_not_host_names() {
        let problem = |s: &str| parse_target(s).unwrap_err().problem;
        let number = |value: &str, hint| TargetProblem::Number {
            value: value.into(),
            hint,
        };
        assert_eq!(problem("4024"), number("4024", NumberHint::Port(4024)));
        assert_eq!(problem("2019"), number("2019", NumberHint::Release("2019")));
        assert_eq!(problem("0"), number("0", NumberHint::None));
        assert_eq!(problem("70000"), number("70000", NumberHint::None));
        assert_eq!(problem("4024:4026"), number("4024", NumberHint::None));
        assert_eq!(
            problem("0x7f000001"),
            number("0x7f000001", NumberHint::None)
        );
        assert_eq!(problem("0x7f.0X1."), number("0x7f.0X1.", NumberHint::None));
        assert_eq!(problem("10.0.0"), TargetProblem::NotIpv4("10.0.0".into()));
        assert_eq!(problem("127.1"), TargetProblem::NotIpv4("127.1".into()));
        // Names that merely contain digits or hex are names.
        for name in ["4024a", "0xdead.example", "1e5", "build42", "0x", "x0"] {
            if name == "0x" {
                assert!(matches!(problem(name), TargetProblem::Number { .. }));
                continue;
            }
            assert_eq!(ok(name).host, Host::Name(name.into()), "{name}");
        }
        assert_eq!(
            parse_target("4024").unwrap_err().to_string(),
            "invalid target '4024': '4024' is a number, not a host: did you mean -p 4024?"
        );
        assert!(parse_target("70000")
            .unwrap_err()
            .to_string()
            .ends_with("optionally with :PORT ([IPv6]:PORT)"));
    }

    #[test]
    fn groups_broadcast_this_network_and_zoneless_link_local_are_not_hosts() {
        let problem = |s: &str| parse_target(s).unwrap_err().problem;
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        for m in ["224.0.0.1", "239.255.255.250", "ff02::1", "ff05::c"] {
            assert_eq!(problem(m), TargetProblem::Multicast(ip(m)), "{m}");
        }
        assert_eq!(
            problem("[ff02::c]:4026"),
            TargetProblem::Multicast(ip("ff02::c"))
        );
        assert_eq!(
            problem("::ffff:224.0.0.1"),
            TargetProblem::Multicast(ip("::ffff:224.0.0.1"))
        );
        assert_eq!(problem("255.255.255.255"), TargetProblem::Broadcast);
        assert_eq!(problem("::ffff:255.255.255.255"), TargetProblem::Broadcast);
        assert_eq!(
            problem("0.0.15.184:4026"),
            TargetProblem::ThisNetwork("0.0.15.184".parse().unwrap())
        );
        assert_eq!(
            problem("fe80::1"),
            TargetProblem::LinkLocalWithoutZone("fe80::1".parse().unwrap())
        );
        assert_eq!(
            problem("[febf::1]:4026"),
            TargetProblem::LinkLocalWithoutZone("febf::1".parse().unwrap())
        );
        // The neighbours of those blocks are hosts.
        for host in [
            "1.0.0.1",
            "223.255.255.255",
            "240.0.0.1",
            "255.255.255.254",
            "fec0::1",
            "fe7f::1",
            "fe80::1%1",
        ] {
            assert!(matches!(ok(host).host, Host::Literal(_)), "{host}");
        }
        let e = parse_target("fe80::1").unwrap_err().to_string();
        assert!(!e.contains("expected a host name"), "{e}");
        #[cfg(not(windows))]
        assert_eq!(
            e,
            "invalid target 'fe80::1': 'fe80::1' is link-local: add %IFACE, e.g. fe80::1%eth0 (the interface of its link)"
        );
    }

    #[test]
    fn messages_stay_one_line_and_never_reach_the_terminal_raw() {
        for input in [
            "dev\nbox",
            "a\u{1b}[2Jb",
            "x\u{202e}gnp.exe",
            "[::1]\rx",
            "\u{7}:4026",
        ] {
            let e = parse_target(input).unwrap_err().to_string();
            assert!(
                !e.chars().any(|c| c.is_control() || c == '\u{202e}'),
                "{e:?}"
            );
        }
        assert_eq!(
            parse_target("dev\nbox").unwrap_err().to_string(),
            "invalid target 'dev\\u{a}box': '\\u{a}' is not allowed in a host name; expected a host name, an IPv4 address, an IPv6 address (with %zone for link-local), optionally with :PORT ([IPv6]:PORT)"
        );
    }

    #[test]
    fn app_service_hosts_are_recognised() {
        assert!(ok("myapp.azurewebsites.net").is_app_service());
        assert!(ok("MyApp.AzureWebsites.NET.").is_app_service());
        assert!(!ok("azurewebsites.net.example").is_app_service());
        assert!(!ok("10.0.0.1").is_app_service());
    }
}
