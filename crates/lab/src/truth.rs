//! The LAN's ground truth (`crates/lab/data/truth.json`): for every lab target, the verdict and every
//! probed port's state and reason, as the product must report them. Data, not code, so the
//! truth is reviewed as a table and benchmarks can read it too.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Deserialize;

pub const FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/truth.json");

#[derive(Debug, Deserialize)]
pub struct Truth {
    /// Options for every probe run of the truth targets, before the target.
    pub probe_args: Vec<String>,
    pub targets: Vec<TargetTruth>,
}

#[derive(Debug, Deserialize)]
pub struct TargetTruth {
    /// As typed on the command line (names resolve through the scanner's hosts file).
    pub target: String,
    /// What the scenario is, in words.
    pub scenario: String,
    /// Extra options for this target.
    #[serde(default)]
    pub args: Vec<String>,
    /// `verdict.status`.
    pub status: String,
    pub exit_code: i32,
    /// Finding codes that must be among the findings.
    #[serde(default)]
    pub findings_include: Vec<String>,
    /// Lab hosts whose firewall must be fresh (counters at zero) before the probe: the lossy
    /// host drops every second SYN, counted since its rules were loaded.
    #[serde(default)]
    pub reset_firewall: Vec<String>,
    /// Every address the target resolves to, each with every probed port.
    pub addresses: Vec<AddressTruth>,
}

#[derive(Debug, Deserialize)]
pub struct AddressTruth {
    pub address: IpAddr,
    pub ports: Vec<PortsTruth>,
}

/// Ports of one address that must look the same.
#[derive(Debug, Deserialize)]
pub struct PortsTruth {
    pub ports: Vec<u16>,
    pub state: String,
    pub reason: String,
    /// Who must have sent the ICMP error behind the state.
    #[serde(default)]
    pub icmp_from: Option<IpAddr>,
    /// At least this many connect attempts (the lossy host: the first SYN is dropped).
    #[serde(default)]
    pub min_attempts: Option<u32>,
    /// `greeting.protocol` of an open port that speaks first.
    #[serde(default)]
    pub greeting: Option<String>,
}

impl Truth {
    pub fn load() -> Result<Truth, String> {
        let text = std::fs::read_to_string(FILE).map_err(|e| format!("cannot read {FILE}: {e}"))?;
        serde_json::from_str(&text).map_err(|e| format!("{FILE}: {e}"))
    }
}

impl AddressTruth {
    /// Port → what it must look like; an error if a port is listed twice.
    pub fn by_port(&self) -> Result<BTreeMap<u16, &PortsTruth>, String> {
        let mut m = BTreeMap::new();
        for g in &self.ports {
            for &p in &g.ports {
                if m.insert(p, g).is_some() {
                    return Err(format!("{}: port {p} is listed twice", self.address));
                }
            }
        }
        Ok(m)
    }
}
