//! Refusals: ports the host answered with a reset. The host is up; nothing listens there.

use super::{numbers, AddressCtx, Evidence, Finding, Severity};
use crate::catalog::Port;
use crate::probe::PortState;

/// Main (and custom) ports refused: the remote debugger is not running, or listens elsewhere;
/// once a debugger answers on the address, only releases that are not running. Evidence: the
/// closed ports, whether a debugger answers on another port of the address, and which closed
/// ports matter for attaching. Routine information when none of them matters.
pub(super) fn closed(cx: &AddressCtx) -> Option<Finding> {
    let closed = cx.ports_of(PortState::Closed, false);
    if closed.is_empty() {
        return None;
    }
    let ports = numbers(&closed);
    let matter: Vec<Port> = cx
        .matter()
        .into_iter()
        .filter(|p| ports.contains(p))
        .collect();
    Some(cx.finding(
        if matter.is_empty() {
            Severity::Info
        } else {
            cx.gravity()
        },
        ports,
        Evidence::Closed {
            debugger_here: cx.debugger_here(),
            matter,
        },
    ))
}

/// WoW64 ports refused: normal, a 64-bit monitor opens its WoW64 port only while it debugs a
/// 32-bit process. Evidence: the closed WoW64 ports.
pub(super) fn wow64_closed(cx: &AddressCtx) -> Option<Finding> {
    let closed = cx.ports_of(PortState::Closed, true);
    if closed.is_empty() {
        return None;
    }
    Some(cx.finding(Severity::Info, numbers(&closed), Evidence::Wow64Closed))
}
