//! Name resolution: every A and AAAA record of a name, from the system resolver or from a hosts
//! file the user names (`--hosts-file`), which then is the only source: no DNS query is sent.
//!
//! A name that does not resolve is a finding about that target, not an error of the run; why it
//! did not ([`ResolveError`]) decides what to tell the user, so the resolver's code is kept
//! (NXDOMAIN, no address, no answer in time) rather than its words.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::target::{check_destination, Address, Host, Target, TargetProblem};

/// How long to wait for the system resolver before calling a name unresolvable.
const SYSTEM_RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the addresses of a target came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressSource {
    /// The target was an address.
    Literal,
    /// getaddrinfo (DNS, /etc/hosts, mDNS, whatever the system is set up for).
    System,
    /// The `--hosts-file` the user gave.
    HostsFile,
    /// The addresses a WS-Discovery responder answered from (`--discover`).
    Discovery,
}

/// At least one address, duplicates removed, in the resolver's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addresses(Vec<Address>);

impl Addresses {
    /// `None` when there is no address: a resolution with none is a [`ResolveError`].
    pub fn new(addresses: impl IntoIterator<Item = Address>) -> Option<Addresses> {
        let mut v: Vec<Address> = Vec::new();
        for a in addresses {
            if !v.contains(&a) {
                v.push(a);
            }
        }
        (!v.is_empty()).then_some(Addresses(v))
    }
}

impl Deref for Addresses {
    type Target = [Address];
    fn deref(&self) -> &[Address] {
        &self.0
    }
}

/// The outcome of resolving one target. "No address and no error" cannot be represented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// The target was an address: nothing to resolve.
    Literal(Address),
    /// The name resolved.
    Found {
        source: AddressSource,
        addresses: Addresses,
    },
    /// The name did not resolve, and why.
    Failed {
        source: AddressSource,
        error: ResolveError,
    },
}

impl Resolution {
    /// The addresses to probe: none when resolution failed.
    pub fn addresses(&self) -> &[Address] {
        match self {
            Resolution::Literal(a) => std::slice::from_ref(a),
            Resolution::Found { addresses, .. } => addresses,
            Resolution::Failed { .. } => &[],
        }
    }

    pub fn source(&self) -> AddressSource {
        match self {
            Resolution::Literal(_) => AddressSource::Literal,
            Resolution::Found { source, .. } | Resolution::Failed { source, .. } => *source,
        }
    }

    pub fn error(&self) -> Option<&ResolveError> {
        match self {
            Resolution::Failed { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// Why a name did not resolve. The system resolver's codes (getaddrinfo's `EAI_*`, Winsock's
/// `WSAHOST_NOT_FOUND` family) are read through the dns-lookup crate, the same on every system.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResolveError {
    /// The resolver says the name does not exist (NXDOMAIN; `EAI_NONAME`, `WSAHOST_NOT_FOUND`).
    /// Some systems say so too for a name that exists without addresses.
    NoSuchName,
    /// The name exists but has no IPv4 or IPv6 address (`EAI_NODATA`, `WSANO_DATA`).
    NoAddress,
    /// No answer in time: our own limit (`after`), or the resolver's "try again"
    /// (`EAI_AGAIN`, `WSATRY_AGAIN`: no DNS server answered, or one answered SERVFAIL).
    Timeout { after: Option<Duration> },
    /// `--hosts-file` was given, and the name is not in it.
    NotInHostsFile { name: String, path: PathBuf },
    /// The resolver failed in another way; its own words.
    Resolver { message: String },
    /// Every address of the name is one no host has (`problem` says which and why), so nothing
    /// was probed.
    NotOneHost { problem: TargetProblem },
}

impl ResolveError {
    /// Every value [`kind`](Self::kind) can take: what a reader of earlier output accepts.
    pub const KINDS: [&'static str; 6] = [
        "no_such_name",
        "no_address",
        "timeout",
        "not_in_hosts_file",
        "resolver",
        "not_one_host",
    ];

    /// A stable identifier, for JSON.
    pub fn kind(&self) -> &'static str {
        match self {
            ResolveError::NoSuchName => "no_such_name",
            ResolveError::NoAddress => "no_address",
            ResolveError::Timeout { .. } => "timeout",
            ResolveError::NotInHostsFile { .. } => "not_in_hosts_file",
            ResolveError::Resolver { .. } => "resolver",
            ResolveError::NotOneHost { .. } => "not_one_host",
        }
    }

    /// From the system resolver's error code.
    fn from_lookup(e: dns_lookup::LookupError) -> ResolveError {
        use dns_lookup::LookupErrorKind as K;
        match e.kind() {
            K::NoName => ResolveError::NoSuchName,
            K::NoData => ResolveError::NoAddress,
            K::Again => ResolveError::Timeout { after: None },
            _ => ResolveError::Resolver {
                message: std::io::Error::from(e).to_string(),
            },
        }
    }
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResolveError::NoSuchName => f.write_str("the name does not exist (NXDOMAIN)"),
            ResolveError::NoAddress => {
                f.write_str("the name exists but has no IPv4 or IPv6 address")
            }
            ResolveError::Timeout { after: Some(d) } => write!(
                f,
                "no answer from the system resolver within {}s",
                d.as_secs()
            ),
            ResolveError::Timeout { after: None } => f.write_str(
                "the resolver got no answer (temporary failure: no DNS server answered, or one failed)",
            ),
            ResolveError::NotInHostsFile { name, path } => {
                write!(f, "'{name}' is not in {}", path.display())
            }
            ResolveError::Resolver { message } => f.write_str(message),
            ResolveError::NotOneHost { problem } => {
                write!(f, "the name stands for no host's address: {problem}")
            }
        }
    }
}

impl std::error::Error for ResolveError {}

/// A hosts(5) file loaded for `--hosts-file`.
#[derive(Debug, Clone, Default)]
pub struct HostsFile {
    path: PathBuf,
    names: HashMap<String, Vec<Address>>,
}

/// A hosts file that cannot be used; names the file and the line.
#[derive(Debug)]
pub struct HostsFileError {
    pub path: PathBuf,
    pub line: Option<usize>,
    pub problem: String,
}

impl fmt::Display for HostsFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(n) => write!(
                f,
                "hosts file {}:{}: {}; expected lines of 'ADDRESS NAME [ALIAS...]'",
                self.path.display(),
                n,
                self.problem
            ),
            None => write!(f, "hosts file {}: {}", self.path.display(), self.problem),
        }
    }
}

impl std::error::Error for HostsFileError {}

impl HostsFile {
    pub fn load(path: &Path) -> Result<Self, HostsFileError> {
        let text = std::fs::read_to_string(path).map_err(|e| HostsFileError {
            path: path.to_path_buf(),
            line: None,
            problem: format!("cannot read it: {e}"),
        })?;
        Self::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Self, HostsFileError> {
        let mut names: HashMap<String, Vec<Address>> = HashMap::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let mut fields = line.split_whitespace();
            let addr_text = fields.next().unwrap_or_default();
            let addr = parse_hosts_address(addr_text).ok_or_else(|| HostsFileError {
                path: path.to_path_buf(),
                line: Some(i + 1),
                problem: format!("'{addr_text}' is not an IP address"),
            })?;
            let mut any = false;
            for name in fields {
                any = true;
                let list = names.entry(name.to_ascii_lowercase()).or_default();
                if !list.contains(&addr) {
                    list.push(addr);
                }
            }
            if !any {
                return Err(HostsFileError {
                    path: path.to_path_buf(),
                    line: Some(i + 1),
                    problem: format!("no name after '{addr_text}'"),
                });
            }
        }
        Ok(HostsFile {
            path: path.to_path_buf(),
            names,
        })
    }

    fn lookup(&self, name: &str) -> Option<&[Address]> {
        let key = name.trim_end_matches('.').to_ascii_lowercase();
        self.names.get(&key).map(Vec::as_slice)
    }
}

fn parse_hosts_address(s: &str) -> Option<Address> {
    let (a, zone) = match s.split_once('%') {
        Some((a, z)) => (a, Some(z)),
        None => (s, None),
    };
    let ip: IpAddr = a.parse().ok()?;
    let scope_id = match zone {
        Some(z) => crate::platform::interface_index(z)?,
        None => 0,
    };
    Some(Address { ip, scope_id })
}

/// Resolves targets, from a hosts file when one is given, else from the system.
#[derive(Debug, Clone, Default)]
pub struct Resolver {
    hosts_file: Option<HostsFile>,
}

impl Resolver {
    pub fn system() -> Self {
        Resolver { hosts_file: None }
    }

    pub fn from_hosts_file(file: HostsFile) -> Self {
        Resolver {
            hosts_file: Some(file),
        }
    }

    pub async fn resolve(&self, target: &Target) -> Resolution {
        let name = match &target.host {
            Host::Literal(a) => return Resolution::Literal(*a),
            Host::Name(n) => n.as_str(),
        };
        if let Some(file) = &self.hosts_file {
            let source = AddressSource::HostsFile;
            return match file.lookup(name) {
                Some(found) => one_host(source, found.to_vec()),
                None => Resolution::Failed {
                    source,
                    error: ResolveError::NotInHostsFile {
                        name: name.to_string(),
                        path: file.path.clone(),
                    },
                },
            };
        }
        let owned = name.to_string();
        let lookup = tokio::task::spawn_blocking(move || system_lookup(&owned));
        let error = match tokio::time::timeout(SYSTEM_RESOLVE_TIMEOUT, lookup).await {
            Ok(Ok(Ok(found))) => return one_host(AddressSource::System, found),
            Ok(Ok(Err(e))) => e,
            Ok(Err(join)) => ResolveError::Resolver {
                message: join.to_string(),
            },
            Err(_) => ResolveError::Timeout {
                after: Some(SYSTEM_RESOLVE_TIMEOUT),
            },
        };
        Resolution::Failed {
            source: AddressSource::System,
            error,
        }
    }
}

/// The addresses of a name that can be one host's. A name may stand for addresses no host has
/// (`0.0.0.0 devbox` in a hosts file that blocks names, a multicast group in DNS): connecting to
/// 0.0.0.0 reaches this machine, so probing them would report on the wrong machine. They are
/// left out, and a name with nothing else fails with why.
fn one_host(source: AddressSource, found: Vec<Address>) -> Resolution {
    let mut refused = None;
    let usable = found
        .iter()
        .copied()
        .filter(|a| match check_destination(a) {
            Ok(()) => true,
            Err(problem) => {
                refused.get_or_insert(problem);
                false
            }
        });
    match (Addresses::new(usable.collect::<Vec<_>>()), refused) {
        (Some(addresses), _) => Resolution::Found { source, addresses },
        (None, Some(problem)) => Resolution::Failed {
            source,
            error: ResolveError::NotOneHost { problem },
        },
        (None, None) => Resolution::Failed {
            source,
            error: ResolveError::NoAddress,
        },
    }
}

/// getaddrinfo, blocking: every address of `name`, IPv6 zones kept.
fn system_lookup(name: &str) -> Result<Vec<Address>, ResolveError> {
    let hints = dns_lookup::AddrInfoHints {
        // One entry per address, not one per socket type.
        socktype: dns_lookup::SockType::Stream.into(),
        ..Default::default()
    };
    let found = dns_lookup::getaddrinfo(Some(name), None, Some(hints))
        .map_err(ResolveError::from_lookup)?;
    Ok(found
        .filter_map(Result::ok)
        .map(|ai| Address::from_socket_addr(ai.sockaddr))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::parse_target;

    #[test]
    fn hosts_file_parses_aliases_comments_and_several_addresses() {
        let f = HostsFile::parse(
            Path::new("h"),
            "# lab\n10.0.0.5 devbox devbox.lab # main\n\n10.0.0.6 devbox\n::1 v6only\n",
        )
        .unwrap();
        let ips: Vec<String> = f
            .lookup("DEVBOX.")
            .unwrap()
            .iter()
            .map(|a| a.to_string())
            .collect();
        assert_eq!(ips, ["10.0.0.5", "10.0.0.6"]);
        assert_eq!(f.lookup("devbox.lab").unwrap().len(), 1);
        assert!(f.lookup("other").is_none());
    }

    #[test]
    fn hosts_file_errors_name_file_and_line() {
        let e = HostsFile::parse(Path::new("lab.hosts"), "10.0.0.1 a\nnot-an-ip b\n").unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(e.to_string().contains("lab.hosts:2"), "{e}");
        assert!(e.to_string().contains("not-an-ip"), "{e}");
        let e = HostsFile::parse(Path::new("x"), "10.0.0.1\n").unwrap_err();
        assert!(e.to_string().contains("no name"), "{e}");
    }

    /// A name for 0.0.0.0 (how hosts files block names) would reach this machine; a group's
    /// answers come from whoever is in it. Neither is probed as the named host.
    #[tokio::test]
    async fn addresses_no_host_has_are_not_the_name_s() {
        let f = HostsFile::parse(
            Path::new("h"),
            "0.0.0.0 blocked\n224.0.0.251 group\n10.0.0.5 mixed\n0.0.0.0 mixed\n",
        )
        .unwrap();
        let r = Resolver::from_hosts_file(f);
        for name in ["blocked", "group"] {
            let res = r.resolve(&parse_target(name).unwrap()).await;
            assert!(res.addresses().is_empty(), "{name}: {res:?}");
            let e = res.error().unwrap();
            assert_eq!(e.kind(), "not_one_host", "{name}");
            assert!(
                e.to_string().starts_with("the name stands for no host"),
                "{e}"
            );
        }
        let mixed = r.resolve(&parse_target("mixed").unwrap()).await;
        let ips: Vec<String> = mixed.addresses().iter().map(|a| a.to_string()).collect();
        assert_eq!(ips, ["10.0.0.5"]);
    }

    #[tokio::test]
    async fn hosts_file_is_the_only_source_when_given() {
        let f = HostsFile::parse(Path::new("lab.hosts"), "127.0.0.9 known\n").unwrap();
        let r = Resolver::from_hosts_file(f);
        let ok = r.resolve(&parse_target("known").unwrap()).await;
        assert_eq!(ok.addresses().len(), 1);
        assert_eq!(ok.source(), AddressSource::HostsFile);
        // "localhost" would resolve through the system; with a hosts file it must not.
        let missing = r.resolve(&parse_target("localhost").unwrap()).await;
        assert!(missing.addresses().is_empty());
        assert!(matches!(
            missing.error(),
            Some(ResolveError::NotInHostsFile { name, path }) if name == "localhost" && path.ends_with("lab.hosts")
        ));
    }

    /// The resolver's codes, not its words, decide the kind (no query is sent here).
    #[cfg(unix)]
    #[test]
    fn resolver_codes_are_told_apart() {
        use dns_lookup::LookupError;
        let kind = |code| ResolveError::from_lookup(LookupError::new(code));
        assert_eq!(kind(libc::EAI_NONAME), ResolveError::NoSuchName);
        assert_eq!(kind(libc::EAI_AGAIN), ResolveError::Timeout { after: None });
        #[cfg(target_os = "linux")]
        assert_eq!(kind(libc::EAI_NODATA), ResolveError::NoAddress);
        assert_eq!(kind(libc::EAI_FAIL).kind(), "resolver");
        assert!(!kind(libc::EAI_FAIL).to_string().is_empty());
    }

    #[test]
    fn addresses_are_never_empty_and_never_repeat() {
        let a = Address::new("10.0.0.1".parse().unwrap());
        assert!(Addresses::new([]).is_none());
        assert_eq!(Addresses::new([a, a]).unwrap().len(), 1);
    }

    #[tokio::test]
    async fn literals_resolve_to_themselves() {
        let r = Resolver::system();
        let res = r.resolve(&parse_target("127.0.0.1").unwrap()).await;
        assert_eq!(res.source(), AddressSource::Literal);
        assert_eq!(res.addresses()[0].to_string(), "127.0.0.1");
    }
}
