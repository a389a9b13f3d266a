//! Past the open port: what a Windows host says about itself without credentials (its clock in
//! the SMB2 NEGOTIATE response, its own name and workgroup or domain in a NetBIOS node
//! status), and what that means for an attach that still fails once the port answers.

use super::{AddressCtx, Evidence, Finding, Severity};
use crate::target::Host;

/// Kerberos refuses tickets from a clock more than 5 minutes off (Windows' default
/// "Maximum tolerance for computer clock synchronization").
pub const KERBEROS_SKEW_MS: u64 = 5 * 60 * 1000;

/// A skew worth stating although under the Kerberos limit: a drifting clock gets there.
pub const NOTABLE_SKEW_MS: u64 = 60 * 1000;

/// The host's clock is off from this machine's. Evidence: the SMB2 server time against the
/// local clock at the exchange's midpoint, with half the round trip as the uncertainty. Beyond
/// the Kerberos limit even at the uncertainty's most favourable end: a warning (Windows
/// Authentication fails, the ports are fine); over a minute: information.
pub(super) fn clock_skew(cx: &AddressCtx) -> Option<Finding> {
    let w = cx.obs.windows_of(cx.addr().ip)?;
    let clock = w.smb2.as_ref().ok()?.clock?;
    let off = clock.skew_ms.unsigned_abs();
    let severity = if off.saturating_sub(clock.uncertainty_ms) > KERBEROS_SKEW_MS {
        Severity::Warning
    } else if off > NOTABLE_SKEW_MS {
        Severity::Info
    } else {
        return None;
    };
    Some(cx.finding(
        severity,
        vec![],
        Evidence::ClockSkew {
            skew_ms: clock.skew_ms,
            uncertainty_ms: clock.uncertainty_ms,
        },
    ))
}

/// The NetBIOS name of the address differs from the name typed: a stale DNS (or hosts file)
/// record sends Visual Studio to another machine. Compared case-insensitively with the typed
/// name's first label, cut to NetBIOS's 15 characters. Not for address literals.
pub(super) fn name_mismatch(cx: &AddressCtx) -> Option<Finding> {
    let Host::Name(typed) = &cx.obs.target.host else {
        return None;
    };
    let w = cx.obs.windows_of(cx.addr().ip)?;
    let computer = w.netbios.as_ref().ok()?.computer.clone()?;
    let label: String = typed
        .split('.')
        .next()
        .unwrap_or(typed)
        .chars()
        .take(15)
        .collect();
    if label.eq_ignore_ascii_case(&computer) {
        return None;
    }
    Some(cx.finding(
        Severity::Warning,
        vec![],
        Evidence::NameMismatch {
            typed: typed.clone(),
            computer,
        },
    ))
}

/// The machine's own name and its workgroup or domain, as it registers them: what Windows
/// Authentication will deal with. A domain controller registers `<1C>`, so its group is a
/// domain; for other machines a node status cannot tell a workgroup from a domain.
pub(super) fn identity(cx: &AddressCtx) -> Option<Finding> {
    let w = cx.obs.windows_of(cx.addr().ip)?;
    let n = w.netbios.as_ref().ok()?;
    if n.computer.is_none() && n.group.is_none() {
        return None;
    }
    Some(cx.finding(
        Severity::Info,
        vec![],
        Evidence::WindowsIdentity {
            computer: n.computer.clone(),
            group: n.group.clone(),
            domain: n.domain_controller,
        },
    ))
}
