//! The process exit codes, documented in `--help` and the README. A monitoring check maps them
//! directly: 0 found, 1 not found, anything else an error of the check itself.

use msvsmon_probe_core::{HostObservation, Tally};

/// Why the process ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Visual Studio can attach: a main or custom port accepts on at least one target.
    Found,
    /// Every target was resolved and probed, and none lets Visual Studio attach.
    NotFound,
    /// Bad usage or input; nothing was probed.
    Usage,
    /// A target could not be resolved, and nothing was found on the others.
    Unresolved,
    /// Local errors (descriptors, ports, buffers) or an unfinished scan left ports unprobed, and
    /// nothing was found.
    Incomplete,
    /// Interrupted by Ctrl-C / SIGINT.
    Interrupted,
    /// `--fail-if-open`: every target probed, no debugger port open, WoW64 included (passes).
    AuditClean,
    /// `--fail-if-open`: a debugger port (main, custom or WoW64) is open (the audit fails).
    AuditExposed,
}

impl ExitCode {
    pub fn code(self) -> u8 {
        match self {
            ExitCode::Found => 0,
            ExitCode::NotFound => 1,
            ExitCode::Usage => 2,
            ExitCode::Unresolved => 3,
            ExitCode::Incomplete => 4,
            ExitCode::Interrupted => 130,
            ExitCode::AuditClean => 0,
            ExitCode::AuditExposed => 1,
        }
    }
}

/// What a run established, as far as the exit code cares.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Visual Studio can attach somewhere: a main or custom debugger port accepts.
    pub reachable: bool,
    /// A debugger port of any kind (main, custom or WoW64) is open somewhere: a monitor runs.
    pub exposed: bool,
    /// Some target did not resolve, so it was not probed.
    pub unresolved: bool,
    /// Local errors, or a scan that did not finish, left some ports unprobed.
    pub incomplete: bool,
    /// Stopped by Ctrl-C or SIGTERM.
    pub interrupted: bool,
}

impl ExitCode {
    /// The one place the exit code is decided. A check (`0` = reachable) asks whether Visual
    /// Studio can attach; an audit (`--fail-if-open`, `1` = exposed) asks whether any debugger
    /// port is open. "Not found" (1) and "clean" (0) are only claimed when every target was
    /// resolved and every port probed: otherwise the code says what is missing (3 or 4).
    pub fn for_outcome(o: Outcome, audit: bool) -> ExitCode {
        if o.interrupted {
            ExitCode::Interrupted
        } else if audit && o.exposed {
            ExitCode::AuditExposed
        } else if !audit && o.reachable {
            ExitCode::Found
        } else if o.unresolved {
            ExitCode::Unresolved
        } else if o.incomplete {
            ExitCode::Incomplete
        } else if audit {
            ExitCode::AuditClean
        } else {
            ExitCode::NotFound
        }
    }
}

impl ExitCode {
    /// The exit code of any run, from its tally: probes of named targets, scans and watch
    /// state files all decide here. `unfinished`: a scan that did not decide every host it set
    /// out to (cancelled, or its output went away).
    pub fn for_tally(t: &Tally, unfinished: bool, interrupted: bool, audit: bool) -> ExitCode {
        ExitCode::for_outcome(
            Outcome {
                reachable: t.reachable_hosts > 0,
                exposed: t.debugger_hosts > 0,
                unresolved: t.unresolved > 0,
                incomplete: t.ports.local_error > 0 || t.ports.undecided > 0 || unfinished,
                interrupted,
            },
            audit,
        )
    }

    /// The exit code of the probe of these named targets.
    pub fn for_targets<'a>(
        observations: impl IntoIterator<Item = &'a HostObservation>,
        audit: bool,
    ) -> ExitCode {
        let mut t = Tally::default();
        for o in observations {
            t.add_target(o);
        }
        ExitCode::for_tally(&t, false, false, audit)
    }
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(c: ExitCode) -> Self {
        std::process::ExitCode::from(c.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_claim_only_what_was_established() {
        let none = Outcome::default();
        assert_eq!(ExitCode::for_outcome(none, false).code(), 1);
        assert_eq!(ExitCode::for_outcome(none, true).code(), 0);
        let wow64_only = Outcome {
            exposed: true,
            ..none
        };
        assert_eq!(
            ExitCode::for_outcome(wow64_only, false).code(),
            1,
            "not attachable"
        );
        assert_eq!(
            ExitCode::for_outcome(wow64_only, true).code(),
            1,
            "but exposed"
        );
        let one_unresolved = Outcome {
            unresolved: true,
            ..none
        };
        assert_eq!(
            ExitCode::for_outcome(one_unresolved, true).code(),
            3,
            "never 'clean'"
        );
        assert_eq!(ExitCode::for_outcome(one_unresolved, false).code(), 3);
        let found_anyway = Outcome {
            reachable: true,
            exposed: true,
            unresolved: true,
            ..none
        };
        assert_eq!(ExitCode::for_outcome(found_anyway, false).code(), 0);
        assert_eq!(ExitCode::for_outcome(found_anyway, true).code(), 1);
        let cut_short = Outcome {
            incomplete: true,
            ..none
        };
        assert_eq!(
            ExitCode::for_outcome(cut_short, true).code(),
            4,
            "an unfinished scan is not clean"
        );
        let stopped = Outcome {
            interrupted: true,
            reachable: true,
            ..none
        };
        assert_eq!(ExitCode::for_outcome(stopped, false).code(), 130);
    }
}
