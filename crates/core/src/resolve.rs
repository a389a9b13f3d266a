//! Name resolution: every A and AAAA record of a name, from the system resolver or from a hosts
//! file the user names (`--hosts-file`), which then is the only source: no DNS query is sent.
//!
//! A name that does not resolve is a finding about that target, not an error of the run.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::target::{Address, Host, Target};

/// How long to wait for the system resolver before calling a name unresolvable.
const SYSTEM_RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the addresses of a target came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The target was an address.
    Literal,
    /// getaddrinfo (DNS, /etc/hosts, mDNS, whatever the system is set up for).
    System,
    /// The `--hosts-file` the user gave.
    HostsFile,
    /// The addresses a WS-Discovery responder answered from (`--discover`).
    Discovery,
}

/// The outcome of resolving one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    pub source: Source,
    /// In the resolver's order, duplicates removed. Empty when resolution failed.
    pub addresses: Vec<Address>,
    /// Why resolution failed, in words for the user.
    pub error: Option<String>,
}

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
            Host::Literal(a) => {
                return Resolution {
                    source: Source::Literal,
                    addresses: vec![*a],
                    error: None,
                }
            }
            Host::Name(n) => n.as_str(),
        };
        if let Some(file) = &self.hosts_file {
            return match file.lookup(name) {
                Some(addrs) => Resolution {
                    source: Source::HostsFile,
                    addresses: addrs.to_vec(),
                    error: None,
                },
                None => Resolution {
                    source: Source::HostsFile,
                    addresses: Vec::new(),
                    error: Some(format!("'{name}' is not in {}", file.path.display())),
                },
            };
        }
        let lookup = tokio::net::lookup_host((name, 0u16));
        let outcome = tokio::time::timeout(SYSTEM_RESOLVE_TIMEOUT, lookup).await;
        let error = match outcome {
            Ok(Ok(iter)) => {
                let mut addresses: Vec<Address> = Vec::new();
                for sa in iter {
                    let a = Address::from_socket_addr(sa);
                    if !addresses.contains(&a) {
                        addresses.push(a);
                    }
                }
                if !addresses.is_empty() {
                    return Resolution {
                        source: Source::System,
                        addresses,
                        error: None,
                    };
                }
                "the resolver returned no address".to_string()
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!(
                "no answer from the system resolver within {}s",
                SYSTEM_RESOLVE_TIMEOUT.as_secs()
            ),
        };
        Resolution {
            source: Source::System,
            addresses: Vec::new(),
            error: Some(error),
        }
    }
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

    #[tokio::test]
    async fn hosts_file_is_the_only_source_when_given() {
        let f = HostsFile::parse(Path::new("lab.hosts"), "127.0.0.9 known\n").unwrap();
        let r = Resolver::from_hosts_file(f);
        let ok = r.resolve(&parse_target("known").unwrap()).await;
        assert_eq!(ok.addresses.len(), 1);
        // "localhost" would resolve through the system; with a hosts file it must not.
        let missing = r.resolve(&parse_target("localhost").unwrap()).await;
        assert!(missing.addresses.is_empty());
        assert!(missing.error.unwrap().contains("lab.hosts"));
    }

    #[tokio::test]
    async fn literals_resolve_to_themselves() {
        let r = Resolver::system();
        let res = r.resolve(&parse_target("127.0.0.1").unwrap()).await;
        assert_eq!(res.source, Source::Literal);
        assert_eq!(res.addresses[0].to_string(), "127.0.0.1");
    }
}
