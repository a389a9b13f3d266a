//! The report a person reads on a terminal: per address a port table, then the verdict and the
//! findings, worst first. Styles are ANSI; the caller's stream (anstream) strips them when
//! colour is off (not a terminal, NO_COLOR, --color never).

use std::io::{self, Write};

use anstyle::{AnsiColor, Style};

use super::RunInfo;
use crate::diagnose::{Diagnosis, Severity, Status};
use crate::observation::{AddressObservation, HostObservation};
use crate::probe::PortState;
use crate::resolve::Source;

const BOLD: Style = Style::new().bold();
const DIM: Style = Style::new().dimmed();

fn fg(c: AnsiColor) -> Style {
    Style::new().fg_color(Some(c.into()))
}

fn state_style(s: PortState) -> Style {
    match s {
        PortState::Open => fg(AnsiColor::Green).bold(),
        PortState::Closed => Style::new(),
        PortState::Filtered | PortState::Rejected => fg(AnsiColor::Yellow),
        PortState::NoHost | PortState::LocalError => fg(AnsiColor::Red),
    }
}

fn severity_tag(s: Severity) -> (&'static str, Style) {
    match s {
        Severity::Ok => ("ok", fg(AnsiColor::Green).bold()),
        Severity::Info => ("info", DIM),
        Severity::Warning => ("warning", fg(AnsiColor::Yellow).bold()),
        Severity::Problem => ("problem", fg(AnsiColor::Red).bold()),
    }
}

/// Writes the report for every target, then a one-line footer.
pub fn write(
    w: &mut dyn Write,
    run: &RunInfo,
    hosts: &[(HostObservation, Diagnosis)],
) -> io::Result<()> {
    for (i, (obs, d)) in hosts.iter().enumerate() {
        if i > 0 {
            writeln!(w)?;
        }
        write_target(w, obs, d)?;
    }
    let ports: usize = hosts
        .iter()
        .flat_map(|(o, _)| &o.addresses)
        .map(|a| a.ports.len())
        .sum();
    let addrs: usize = hosts.iter().map(|(o, _)| o.addresses.len()).sum();
    writeln!(
        w,
        "\n{DIM}Probed {ports} port(s) on {addrs} address(es) in {:.2} s (timeout {} ms, {} retr{}).{DIM:#}",
        run.elapsed.as_secs_f64(),
        run.settings.timeout.as_millis(),
        run.settings.retries,
        if run.settings.retries == 1 { "y" } else { "ies" }
    )
}

fn write_target(w: &mut dyn Write, obs: &HostObservation, d: &Diagnosis) -> io::Result<()> {
    let addrs: Vec<String> = obs
        .resolution
        .addresses
        .iter()
        .map(|a| a.to_string())
        .collect();
    match obs.resolution.source {
        Source::Literal => writeln!(w, "{BOLD}{}{BOLD:#}", obs.target.input)?,
        src => {
            let via = if src == Source::HostsFile {
                "hosts file"
            } else {
                "system resolver"
            };
            if addrs.is_empty() {
                writeln!(
                    w,
                    "{BOLD}{}{BOLD:#}  {DIM}(not resolved by the {via}){DIM:#}",
                    obs.target.input
                )?
            } else {
                writeln!(
                    w,
                    "{BOLD}{}{BOLD:#} → {}  {DIM}({via}){DIM:#}",
                    obs.target.input,
                    addrs.join(", ")
                )?
            }
        }
    }
    for a in &obs.addresses {
        write_address(
            w,
            a,
            obs.addresses.len() > 1 || obs.resolution.source != Source::Literal,
        )?;
    }

    let (vstyle, mark) = match d.verdict.status {
        Status::Reachable => (fg(AnsiColor::Green).bold(), "reachable"),
        Status::Wow64Only => (fg(AnsiColor::Yellow).bold(), "not attachable"),
        Status::NotReachable => (fg(AnsiColor::Red).bold(), "not reachable"),
        Status::Unresolved => (fg(AnsiColor::Red).bold(), "unresolved"),
        Status::Incomplete => (fg(AnsiColor::Yellow).bold(), "incomplete"),
    };
    writeln!(
        w,
        "\n  Verdict: {vstyle}{mark}{vstyle:#} — {}",
        d.verdict.summary
    )?;
    for f in &d.findings {
        let (tag, style) = severity_tag(f.severity);
        writeln!(w, "  {style}{tag:>7}{style:#}  {}", f.cause)?;
        writeln!(w, "           {DIM}→{DIM:#} {}", f.action)?;
    }
    Ok(())
}

fn write_address(w: &mut dyn Write, a: &AddressObservation, heading: bool) -> io::Result<()> {
    if heading {
        writeln!(
            w,
            "\n  {BOLD}{}{BOLD:#}  {DIM}{}{DIM:#}",
            a.address,
            a.scope().as_str()
        )?;
    } else {
        writeln!(w)?;
    }
    writeln!(
        w,
        "    {DIM}{:<6} {:<11} {:<23} {:>9}  USED BY{DIM:#}",
        "PORT", "STATE", "REASON", "TIME"
    )?;
    for p in &a.ports {
        let r = &p.result;
        let st = state_style(r.state);
        let mut reason = r.reason.as_str().to_string();
        if r.attempts > 1 {
            reason.push_str(&format!(" ×{}", r.attempts));
        }
        let time = r
            .rtt
            .map(|t| format!("{:.1} ms", t.as_secs_f64() * 1e3))
            .unwrap_or_else(|| "-".into());
        let mut what = p.planned.label();
        if let Some(g) = &r.greeting {
            what.push_str(&format!("  greets \"{}\"", truncate(&g.text, 40)));
        }
        if let Some(from) = r.icmp.and_then(|i| i.from) {
            what.push_str(&format!("  (ICMP from {from})"));
        }
        writeln!(
            w,
            "    {:<6} {st}{:<11}{st:#} {:<23} {:>9}  {}",
            p.planned.port.0,
            r.state.as_str(),
            reason,
            time,
            what
        )?;
    }
    Ok(())
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}
