//! Where results were seen from. Whether a firewall drops a port depends on the source network
//! (the office and the VPN see the same /16 differently), so every result carries the name of
//! its vantage point, and results from several sites can be merged without losing it.

use std::fmt;

use crate::error::ValueError;

/// The longest vantage name, in bytes: a DNS name's label fits, and a Prometheus label stays
/// readable.
pub const MAX_LEN: usize = 64;

/// A vantage point's name: 1 to [`MAX_LEN`] ASCII letters, digits and `-_.:@/`. Narrow on
/// purpose: it lands unquoted in shell pipelines, file names of shard outputs and Prometheus
/// labels, and it never needs escaping in any of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vantage(String);

fn allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-_.:@/".contains(c)
}

impl Vantage {
    /// `--vantage NAME`, checked.
    pub fn parse(s: &str) -> Result<Vantage, ValueError> {
        if s.is_empty() || s.len() > MAX_LEN || !s.chars().all(allowed) {
            return Err(ValueError::Vantage {
                value: s.to_string(),
            });
        }
        Ok(Vantage(s.to_string()))
    }

    /// This machine's host name (the default), with any character a name may not hold
    /// replaced by `-`; `unknown` when the system has none.
    pub fn this_machine() -> Vantage {
        Vantage::from_host_name(&gethostname::gethostname().to_string_lossy())
    }

    fn from_host_name(name: &str) -> Vantage {
        let cleaned: String = name
            .chars()
            .map(|c| if allowed(c) { c } else { '-' })
            .take(MAX_LEN)
            .collect();
        if cleaned.is_empty() {
            Vantage("unknown".to_string())
        } else {
            Vantage(cleaned)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Vantage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_sites_and_machines_are_accepted() {
        for ok in [
            "devbox",
            "office-vpn",
            "BUILD_01.corp.example",
            "site:eu/1",
            "me@lab",
        ] {
            assert_eq!(Vantage::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn what_would_need_escaping_is_refused_with_the_accepted_form() {
        let long = "x".repeat(MAX_LEN + 1);
        for bad in [
            "",
            "two words",
            "a\"b",
            "line\nbreak",
            "é",
            "a{b}",
            long.as_str(),
        ] {
            let e = Vantage::parse(bad).unwrap_err().to_string();
            assert!(e.contains("letters, digits"), "{bad:?}: {e}");
        }
    }

    #[test]
    fn a_host_name_becomes_a_valid_vantage() {
        assert_eq!(Vantage::from_host_name("PC DE JOSÉ").as_str(), "PC-DE-JOS-");
        assert_eq!(Vantage::from_host_name("").as_str(), "unknown");
        assert_eq!(
            Vantage::from_host_name(&"h".repeat(200)).as_str().len(),
            MAX_LEN
        );
        let own = Vantage::this_machine();
        assert!(Vantage::parse(own.as_str()).is_ok(), "{own}");
    }
}
