//! The process exit codes, documented in `--help` and the README. A monitoring check maps them
//! directly: 0 found, 1 not found, anything else an error of the check itself.

/// Why the process ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// A debugger port is open on at least one target.
    Found,
    /// Every target was probed (or failed to resolve) and no debugger port is open.
    NotFound,
    /// Bad usage or input; nothing was probed.
    Usage,
    /// No target could be resolved, so nothing was probed.
    Unresolved,
    /// Local errors (descriptors, ports, buffers) left the answer incomplete and nothing was found.
    Incomplete,
    /// Interrupted by Ctrl-C / SIGINT.
    Interrupted,
    /// `--fail-if-open`: no debugger port is open (the audit passes).
    AuditClean,
    /// `--fail-if-open`: a debugger port is open (the audit fails).
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

impl ExitCode {
    /// The code under `--fail-if-open`: "found" is the failure, "not found" the success.
    pub fn audited(self, audit: bool) -> ExitCode {
        match (audit, self) {
            (true, ExitCode::Found) => ExitCode::AuditExposed,
            (true, ExitCode::NotFound) => ExitCode::AuditClean,
            (_, c) => c,
        }
    }
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(c: ExitCode) -> Self {
        std::process::ExitCode::from(c.code())
    }
}
