//! Greetings: an open port whose service spoke first. msvsmon waits for the client, so a port
//! that greets is something else holding it.

use super::{attachable, AddressCtx, Evidence, Finding, Severity};
use crate::probe::PortState;

/// Each open port that sent a greeting is not the remote debugger but another program on its
/// port. Evidence: the greeting. A warning on a port to attach through, information on others.
pub(super) fn not_the_debugger(cx: &AddressCtx) -> Vec<Finding> {
    cx.ports_in(PortState::Open)
        .into_iter()
        .filter_map(|p| {
            let greeting = p.result.greeting.clone()?;
            Some(cx.finding(
                if !cx.debugger_here() && cx.matter().contains(&p.planned.port) {
                    // Another program holds the port the user's monitor needs.
                    Severity::Problem
                } else if attachable(p) {
                    Severity::Warning
                } else {
                    Severity::Info
                },
                vec![p.planned.port],
                Evidence::NotTheDebugger { greeting },
            ))
        })
        .collect()
}
