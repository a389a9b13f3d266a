//! Refusals: ports the host answered with a reset. The host is up; nothing listens there.

use super::{numbers, AddressCtx, Evidence, Finding, Severity};
use crate::probe::PortState;

/// Main (and custom) ports refused: the remote debugger is not running, or listens elsewhere;
/// once a debugger answers on the address, only releases that are not running. Evidence: the
/// closed ports, and whether a debugger answers on another port of the address.
pub(super) fn closed(cx: &AddressCtx) -> Option<Finding> {
    let closed = cx.ports_of(PortState::Closed, false);
    if closed.is_empty() {
        return None;
    }
    Some(cx.finding(
        cx.gravity(),
        numbers(&closed),
        Evidence::Closed {
            debugger_here: cx.debugger_here(),
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
