//! The report a person reads on a terminal: per address a port table, then the verdict and the
//! findings, worst first. Styles are ANSI; the caller's stream (anstream) strips them when
//! colour is off (not a terminal, NO_COLOR, --color never).

use std::io::{self, Write};

use anstyle::{AnsiColor, Style};

use super::{words, RunInfo};
use crate::sanitize::{clean, field};
use msvsmon_probe_core::{
    AddressObservation, AddressSource, Diagnosis, DiscoveryObservation, DiscoveryStatus, Finding,
    HostObservation, PortState, Reach, Responder, RouteKind, Severity, Status,
};

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
        PortState::Undecided => DIM,
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
        write_target(w, run, obs, d)?;
    }
    footer(w, run, hosts)
}

pub(super) fn footer(
    w: &mut dyn Write,
    run: &RunInfo,
    hosts: &[(HostObservation, Diagnosis)],
) -> io::Result<()> {
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
        run.settings.max_timeout.as_millis(),
        run.settings.retries,
        if run.settings.retries == 1 { "y" } else { "ies" }
    )
}

fn write_target(
    w: &mut dyn Write,
    run: &RunInfo,
    obs: &HostObservation,
    d: &Diagnosis,
) -> io::Result<()> {
    let addrs = address_list(obs);
    match obs.resolution.source() {
        AddressSource::Literal => writeln!(w, "{BOLD}{}{BOLD:#}", field(&obs.target.input))?,
        src => {
            let via = match src {
                AddressSource::HostsFile => "hosts file",
                AddressSource::Discovery => "WS-Discovery",
                _ => "system resolver",
            };
            if addrs.is_empty() {
                writeln!(
                    w,
                    "{BOLD}{}{BOLD:#}  {DIM}(not resolved by the {via}){DIM:#}",
                    field(&obs.target.input)
                )?
            } else {
                writeln!(
                    w,
                    "{BOLD}{}{BOLD:#} → {}  {DIM}({via}){DIM:#}",
                    field(&obs.target.input),
                    addrs.join(", ")
                )?
            }
        }
    }
    for a in &obs.addresses {
        write_address(
            w,
            a,
            obs.addresses.len() > 1 || obs.resolution.source() != AddressSource::Literal,
        )?;
    }
    match &obs.discovery {
        Some(disc) => write_discovery(w, disc)?,
        None if run.discovery.is_none() && !obs.addresses.is_empty() => writeln!(
            w,
            "\n  {DIM}WS-Discovery (UDP 3702): not probed (--no-discovery){DIM:#}"
        )?,
        None => {}
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
        words::summary(&d.verdict)
    )?;
    for f in &d.findings {
        write_finding(w, obs, f)?;
    }
    Ok(())
}

/// One finding: its severity, what it means, and what to do.
fn write_finding(w: &mut dyn Write, obs: &HostObservation, f: &Finding) -> io::Result<()> {
    let (tag, style) = severity_tag(f.severity);
    writeln!(w, "  {style}{tag:>7}{style:#}  {}", words::cause(f, obs))?;
    writeln!(w, "           {DIM}→{DIM:#} {}", words::action(f, obs))
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
    let reasons: Vec<String> = a
        .ports
        .iter()
        .map(|p| {
            let r = &p.result;
            let mut reason = r.reason.as_str().to_string();
            if r.attempts > 1 {
                reason.push_str(&format!(" ×{}", r.attempts));
            }
            reason
        })
        .collect();
    // As wide as the longest reason ("icmp-protocol-unreachable ×3"), so columns stay aligned.
    let rw = reasons
        .iter()
        .map(|r| r.chars().count())
        .max()
        .unwrap_or(0)
        .max(12);
    writeln!(
        w,
        "    {DIM}{:<6} {:<11} {:<rw$} {:>9}  USED BY{DIM:#}",
        "PORT", "STATE", "REASON", "TIME"
    )?;
    for (p, reason) in a.ports.iter().zip(reasons) {
        let r = &p.result;
        let st = state_style(r.state);
        let time = r
            .rtt
            .map(|t| format!("{:.1} ms", t.as_secs_f64() * 1e3))
            .unwrap_or_else(|| "-".into());
        let mut what = p.planned.label();
        if let Some(g) = &r.greeting {
            what.push_str(&format!("  greets \"{}\"", clean(&g.text, 40)));
        }
        if let Some(from) = r.icmp.and_then(|i| i.from) {
            what.push_str(&format!("  (ICMP from {from})"));
        }
        writeln!(
            w,
            "    {:<6} {st}{:<11}{st:#} {:<rw$} {:>9}  {}",
            p.planned.port.0,
            r.state.as_str(),
            reason,
            time,
            what
        )?;
    }
    Ok(())
}

/// "multicast on eth0, unicast".
fn routes_phrase(d: &DiscoveryObservation) -> String {
    let mut parts: Vec<String> = Vec::new();
    for r in &d.routes {
        let p = match (r.kind, &r.interface) {
            (RouteKind::Multicast, Some(i)) => format!("multicast on {i}"),
            (k, _) => k.as_str().to_string(),
        };
        if !parts.contains(&p) {
            parts.push(p);
        }
    }
    parts.join(", ")
}

fn write_discovery(w: &mut dyn Write, d: &DiscoveryObservation) -> io::Result<()> {
    let (style, head) = match d.status {
        DiscoveryStatus::Answered => (fg(AnsiColor::Green), "answered".to_string()),
        DiscoveryStatus::NoMatch => (
            fg(AnsiColor::Green),
            "answered, nothing matched our Probes".to_string(),
        ),
        DiscoveryStatus::Closed => (Style::new(), "closed (ICMP port unreachable)".to_string()),
        DiscoveryStatus::Rejected => (fg(AnsiColor::Yellow), "rejected (ICMP)".to_string()),
        DiscoveryStatus::NoReply => (
            fg(AnsiColor::Yellow),
            format!(
                "no reply within {:.1} s: inconclusive",
                d.wait.as_secs_f64()
            ),
        ),
        DiscoveryStatus::Failed => (fg(AnsiColor::Red), "not probed: could not send".to_string()),
    };
    writeln!(
        w,
        "\n  WS-Discovery (UDP 3702): {style}{head}{style:#}  {DIM}{} · {:.1} ms{DIM:#}",
        routes_phrase(d),
        d.elapsed.as_secs_f64() * 1e3
    )?;
    for a in &d.addresses {
        if let Reach::OffLink = a.reach {
            writeln!(
                w,
                "    {DIM}{} is off the link: unicast only (multicast does not cross routers){DIM:#}",
                a.address
            )?;
        }
        if let Some(i) = &a.icmp {
            writeln!(
                w,
                "    {} {} from {}",
                a.address,
                i.kind.reason().as_str(),
                i.from
                    .map(|f| f.to_string())
                    .unwrap_or_else(|| "an unknown sender".into())
            )?;
        }
    }
    if let Some(e) = &d.error {
        writeln!(w, "    {}", field(e))?;
    }
    let full: Vec<&Responder> = d.responders.iter().filter(|r| !r.empty).collect();
    let shown: Vec<&Responder> = if full.is_empty() {
        d.responders.iter().collect()
    } else {
        full
    };
    for r in shown {
        write_responder(w, r)?;
    }
    let ig = &d.ignored;
    if ig.total() > 0 {
        writeln!(w, "    {DIM}set aside: {}{DIM:#}", ignored_phrase(ig))?;
    }
    Ok(())
}

fn write_responder(w: &mut dyn Write, r: &Responder) -> io::Result<()> {
    writeln!(
        w,
        "    {BOLD}{}{BOLD:#}  {}",
        r.source,
        words::responder_kind(r.classification.kind)
    )?;
    let types: Vec<&str> = r.types.iter().map(|t| t.text.as_str()).collect();
    if !types.is_empty() {
        writeln!(w, "      types     {}", field(&types.join(" ")))?;
    }
    if !r.xaddrs.is_empty() {
        writeln!(w, "      xaddrs    {}", field(&r.xaddrs.join(" ")))?;
    }
    if !r.scopes.is_empty() {
        writeln!(w, "      scopes    {}", field(&r.scopes.join(" ")))?;
    }
    if let Some(e) = &r.endpoint {
        writeln!(w, "      {DIM}endpoint  {}{DIM:#}", field(e))?;
    }
    let answered: Vec<String> = r
        .answered
        .iter()
        .map(|(route, v, k)| format!("{} {v} {}", route.as_str(), k.as_str()))
        .collect();
    writeln!(
        w,
        "      {DIM}answered  {} · first after {:.1} ms · {} datagram(s){DIM:#}",
        answered.join(", "),
        r.first_reply.as_secs_f64() * 1e3,
        r.datagrams
    )?;
    writeln!(
        w,
        "      {DIM}{}{DIM:#}",
        words::debugger_hint(&r.classification.debugger)
    )
}

pub(super) fn ignored_phrase(ig: &msvsmon_probe_core::Ignored) -> String {
    [
        (ig.other_hosts, "replies from other hosts"),
        (ig.duplicates, "repeats"),
        (ig.unrelated, "replies to someone else's Probe"),
        (ig.malformed, "malformed datagrams"),
        (ig.not_probe_matches, "other messages"),
        (ig.over_limit, "over the limits"),
        (ig.not_parsed, "not parsed (flood)"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect::<Vec<_>>()
    .join(", ")
}

fn address_list(obs: &HostObservation) -> Vec<String> {
    obs.resolution
        .addresses()
        .iter()
        .map(|a| a.to_string())
        .collect()
}
