//! The words of the findings about the Windows side of an attach (the SMB2 clock, the NetBIOS
//! name): what the machine says about itself, past the open port.

use msvsmon_probe_core::{Address, Severity};

use crate::sanitize::field;

/// A clock skew read from the host's SMB2 answer: a warning beyond Kerberos' 5 minutes.
pub(super) fn clock_skew(
    severity: Severity,
    addr: Address,
    skew_ms: i64,
    uncertainty_ms: u64,
) -> (String, String) {
    let way = if skew_ms >= 0 { "ahead of" } else { "behind" };
    let off = duration_words(skew_ms.unsigned_abs());
    let within = duration_words(uncertainty_ms);
    if severity >= Severity::Warning {
        (
            format!(
                "{addr}'s clock is {off} {way} this machine's (±{within}, from its SMB2 answer): Kerberos fails beyond 5 minutes, so Windows Authentication fails although the network path is open"
            ),
            "synchronise the clocks: w32tm /resync on the Windows machine (and check this machine's time source)".to_string(),
        )
    } else {
        (
            format!(
                "{addr}'s clock is {off} {way} this machine's (±{within}, from its SMB2 answer); Kerberos tolerates up to 5 minutes"
            ),
            "nothing to do yet; if it drifts further, w32tm /resync on the Windows machine".to_string(),
        )
    }
}

/// The typed name's address belongs to a machine with another NetBIOS name.
pub(super) fn name_mismatch(addr: Address, typed: &str, computer: &str) -> (String, String) {
    (
        format!(
            "the address {} of {typed} belongs to a machine that calls itself {} (its NetBIOS name): a stale DNS record?",
            addr.ip,
            field(computer)
        ),
        format!(
            "check the DNS (or hosts file) record of {typed}: ipconfig /registerdns on the right machine, or attach by its address"
        ),
    )
}

/// The machine's own name, its workgroup or domain, and what Windows Authentication needs.
pub(super) fn identity(
    addr: Address,
    computer: Option<&str>,
    group: Option<&str>,
    domain: bool,
) -> (String, String) {
    let name = computer.map_or_else(
        || "an unnamed machine".to_string(),
        |c| field(c).into_owned(),
    );
    let group_words = match (group, domain) {
        (Some(g), true) => format!(" in domain {} (one of its domain controllers)", field(g)),
        (Some(g), false) => format!(" in workgroup or domain {}", field(g)),
        (None, _) => String::new(),
    };
    (
        format!("{} calls itself {name}{group_words}", addr.ip),
        if domain {
            "Windows Authentication needs this machine's user in that domain or a trusted one"
                .to_string()
        } else {
            "in a workgroup, Windows Authentication needs the same user name and password on both machines; No Authentication works without, but only on a trusted network: anyone who reaches the port can run code as the monitor's user".to_string()
        },
    )
}

/// "10 min 3 s", "42.5 s", "120 ms": a clock difference or its uncertainty, as people say it.
fn duration_words(ms: u64) -> String {
    if ms >= 59_500 {
        let s = (ms + 500) / 1000;
        format!("{} min {} s", s / 60, s % 60)
    } else if ms >= 1000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        format!("{ms} ms")
    }
}
