//! The report a person reads on a terminal: per address a port table, then the verdict and the
//! findings, worst first. Styles are ANSI; the caller's stream (anstream) strips them when
//! colour is off (not a terminal, NO_COLOR, --color never).

use std::io::{self, Write};

use anstyle::{AnsiColor, Style};

use super::{words, RunInfo};
use crate::sanitize::{clean, field};
use msvsmon_probe_core::{
    Address, AddressObservation, AddressSource, Code, Diagnosis, DiscoveryObservation,
    DiscoveryStatus, Evidence, Finding, HostObservation, Port, PortObservation, PortState, Reach,
    Reason, Responder, RouteKind, Severity, Status,
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

/// How the report is laid out: the width it wraps to and how much it shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Columns to wrap to; no line is longer unless one word is.
    pub width: usize,
    /// `-v`: every port and every routine finding.
    pub verbose: bool,
}

impl Layout {
    /// 80 columns, compact: what a report written to a file or a pipe gets.
    pub const PLAIN: Layout = Layout {
        width: 80,
        verbose: false,
    };

    /// The width of the terminal standard output is (`COLUMNS` first, as shells export it),
    /// 80 when it is not a terminal, so files and snapshots do not depend on a window.
    pub fn detect(verbose: bool) -> Layout {
        use std::io::IsTerminal;
        let columns = std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.trim().parse::<usize>().ok())
            .filter(|&c| c > 0);
        let width = columns.unwrap_or_else(|| {
            let out = std::io::stdout();
            if out.is_terminal() {
                terminal_size::terminal_size_of(&out).map_or(80, |(w, _)| usize::from(w.0))
            } else {
                80
            }
        });
        Layout {
            width: width.max(40),
            verbose,
        }
    }
}

/// Writes the report for every target, then a one-line footer, at 80 columns.
pub fn write(
    w: &mut dyn Write,
    run: &RunInfo,
    hosts: &[(HostObservation, Diagnosis)],
) -> io::Result<()> {
    write_with(w, run, hosts, Layout::PLAIN)
}

/// Writes the report for every target as `layout` says, then a one-line footer.
pub fn write_with(
    w: &mut dyn Write,
    run: &RunInfo,
    hosts: &[(HostObservation, Diagnosis)],
    layout: Layout,
) -> io::Result<()> {
    for (i, (obs, d)) in hosts.iter().enumerate() {
        if i > 0 {
            writeln!(w)?;
        }
        write_verdict_part(w, obs, d, layout)?;
        write_windows_part(w, obs, d, layout)?;
        write_discovery_part(w, run, obs, d, layout)?;
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

/// The end of a streamed single-host report, once WS-Discovery completed the observation: its
/// result, then the footer. [`write_verdict_part`] of the same target came before it.
pub fn write_streamed_end(
    w: &mut dyn Write,
    run: &RunInfo,
    host: &(HostObservation, Diagnosis),
    layout: Layout,
) -> io::Result<()> {
    write_windows_part(w, &host.0, &host.1, layout)?;
    write_discovery_part(w, run, &host.0, &host.1, layout)?;
    footer(w, run, std::slice::from_ref(host))
}

/// Wraps `text` to the layout's width: the first line after `first` (styled; what it shows is
/// as wide as `first` without its styles), the others indented `indent` columns. Words are
/// never cut: one longer than the line overflows it.
fn wrapped(
    w: &mut dyn Write,
    layout: Layout,
    first: &str,
    indent: usize,
    text: &str,
) -> io::Result<()> {
    let first_width =
        textwrap::core::display_width(&anstream::adapter::strip_str(first).to_string());
    let initial = " ".repeat(first_width);
    let subsequent = " ".repeat(indent);
    let options = textwrap::Options::new(layout.width.max(first_width + 20))
        .initial_indent(&initial)
        .subsequent_indent(&subsequent)
        .break_words(false)
        .word_splitter(textwrap::WordSplitter::NoHyphenation);
    for (i, line) in textwrap::wrap(text, options).iter().enumerate() {
        if i == 0 {
            writeln!(w, "{first}{}", &line[initial.len()..])?;
        } else {
            writeln!(w, "{line}")?;
        }
    }
    Ok(())
}

/// The part of a target's report that the TCP probes decide: its header, the ports, the
/// verdict and the port findings.
pub fn write_verdict_part(
    w: &mut dyn Write,
    obs: &HostObservation,
    d: &Diagnosis,
    layout: Layout,
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
    let findings = merge(obs, &d.findings);
    let shown = ports_shown(&d.findings, d);
    for a in &obs.addresses {
        write_address(w, a, obs.addresses.len() > 1, &shown, layout)?;
    }

    let (vstyle, mark) = match d.verdict.status {
        Status::Reachable => (fg(AnsiColor::Green).bold(), "reachable"),
        Status::Wow64Only => (fg(AnsiColor::Yellow).bold(), "not attachable"),
        Status::NotReachable => (fg(AnsiColor::Red).bold(), "not reachable"),
        Status::Unresolved => (fg(AnsiColor::Red).bold(), "unresolved"),
        Status::Incomplete => (fg(AnsiColor::Yellow).bold(), "incomplete"),
    };
    writeln!(w)?;
    wrapped(
        w,
        layout,
        &format!("  Verdict: {vstyle}{mark}{vstyle:#} — "),
        4,
        &words::summary(&d.verdict),
    )?;
    let tcp = |f: &&Merged| !is_discovery(f.finding.code) && !is_windows(f.finding.code);
    // The good news the verdict already gave: only what to do with it.
    for m in findings.iter().filter(tcp) {
        if matches!(
            m.finding.code,
            Code::DebuggerReachable | Code::BeyondTheNetwork
        ) {
            wrapped(
                w,
                layout,
                &format!("    {DIM}→{DIM:#} "),
                6,
                &words::action(&m.finding, obs),
            )?;
        }
    }
    let mut routine: Vec<&Merged> = Vec::new();
    for m in findings.iter().filter(tcp) {
        if matches!(
            m.finding.code,
            Code::DebuggerReachable | Code::BeyondTheNetwork
        ) {
            continue;
        }
        if m.finding.is_routine() && !layout.verbose {
            routine.push(m);
            continue;
        }
        write_finding_to(w, obs, m, layout)?;
    }
    if !routine.is_empty() {
        // Ports a finding above names are not repeated among the routine ones.
        let named: Vec<(Option<Address>, Port)> = findings
            .iter()
            .filter(|m| !m.finding.is_routine())
            .flat_map(|m| m.finding.ports.iter().map(|&p| (m.finding.address, p)))
            .collect();
        let facts: Vec<String> = routine
            .iter()
            .filter_map(|m| {
                let mut f = m.finding.clone();
                f.ports.retain(|&p| !named.contains(&(f.address, p)));
                (!f.ports.is_empty()).then(|| routine_fact(&f))
            })
            .collect();
        let (tag, style) = severity_tag(Severity::Info);
        wrapped(
            w,
            layout,
            &format!("  {style}{tag:>7}{style:#}  "),
            11,
            &format!("also: {}; -v for more", facts.join("; ")),
        )?;
    }
    Ok(())
}

/// The part of a target's report that WS-Discovery decides: what answered, or why nothing did.
pub fn write_discovery_part(
    w: &mut dyn Write,
    run: &RunInfo,
    obs: &HostObservation,
    d: &Diagnosis,
    layout: Layout,
) -> io::Result<()> {
    match &obs.discovery {
        Some(disc) => {
            // The compact report names what answered in the finding, once.
            if layout.verbose {
                write_discovery(w, disc)?;
            } else {
                writeln!(w)?;
            }
            for m in merge(obs, &d.findings)
                .iter()
                .filter(|m| is_discovery(m.finding.code))
            {
                write_finding_to(w, obs, m, layout)?;
            }
        }
        None if run.discovery.is_none() && !obs.addresses.is_empty() => writeln!(
            w,
            "\n  {DIM}WS-Discovery (UDP 3702): not probed (--no-discovery){DIM:#}"
        )?,
        None => {}
    }
    Ok(())
}

/// The findings of the Windows checks (SMB2, NetBIOS), which complete the observation with
/// WS-Discovery: a streamed report prints them in its second piece.
fn is_windows(c: Code) -> bool {
    matches!(
        c,
        Code::ClockSkew | Code::NameMismatch | Code::WindowsIdentity
    )
}

/// The part of a target's report that the Windows checks decide: the host's clock and names.
pub fn write_windows_part(
    w: &mut dyn Write,
    obs: &HostObservation,
    d: &Diagnosis,
    layout: Layout,
) -> io::Result<()> {
    for m in merge(obs, &d.findings)
        .iter()
        .filter(|m| is_windows(m.finding.code))
    {
        write_finding_to(w, obs, m, layout)?;
    }
    Ok(())
}

fn is_discovery(c: Code) -> bool {
    matches!(
        c,
        Code::DiscoveryAnswered
            | Code::NotDiscoverable
            | Code::DiscoveryWithoutDebugger
            | Code::StandIn
            | Code::NoDiscoveryAnswer
            | Code::DiscoveryFailed
    )
}

/// A finding, and the other addresses it holds on word for word.
struct Merged {
    finding: Finding,
    /// Every address of the host has it.
    everywhere: bool,
}

/// Findings that hold on every address of a host, told once "on both addresses".
fn merge(obs: &HostObservation, findings: &[Finding]) -> Vec<Merged> {
    let n = obs.addresses.len();
    // "Rejected by the address itself" is the same fact on every address.
    let norm = |f: &Finding| match &f.evidence {
        Evidence::Rejected {
            reason,
            from,
            matter,
        } if f.address.is_some_and(|a| Some(a.ip) == *from) => Evidence::Rejected {
            reason: *reason,
            from: None,
            matter: matter.clone(),
        },
        e => e.clone(),
    };
    let same = |a: &Finding, b: &Finding| {
        a.code == b.code
            && a.severity == b.severity
            && a.ports == b.ports
            && norm(a) == norm(b)
            && a.address != b.address
    };
    let mut out: Vec<Merged> = Vec::new();
    let mut taken = vec![false; findings.len()];
    for (i, f) in findings.iter().enumerate() {
        if taken[i] {
            continue;
        }
        let twins: Vec<usize> = (i + 1..findings.len())
            .filter(|&j| !taken[j] && f.address.is_some() && same(f, &findings[j]))
            .collect();
        let everywhere = n > 1 && twins.len() + 1 == n;
        if everywhere {
            for j in twins {
                taken[j] = true;
            }
        }
        out.push(Merged {
            finding: f.clone(),
            everywhere,
        });
    }
    out
}

/// A sentence about one address, said of the host: `10.0.0.5:4026` and `[fe80::1]:4026`
/// become "devbox:4026", and the address "devbox".
fn of_the_host(text: &str, f: &Finding, obs: &HostObservation) -> String {
    let Some(a) = f.address else {
        return text.to_string();
    };
    let host = obs.target.host.to_string();
    let bracketed = format!("[{a}]");
    text.replace(&bracketed, &host)
        .replace(&a.to_string(), &host)
}

fn write_finding_to(
    w: &mut dyn Write,
    obs: &HostObservation,
    m: &Merged,
    layout: Layout,
) -> io::Result<()> {
    let f = &m.finding;
    let (tag, style) = severity_tag(f.severity);
    let (mut cause, mut action) = (words::cause(f, obs), words::action(f, obs));
    if m.everywhere {
        let all = if obs.addresses.len() == 2 {
            "on both addresses".to_string()
        } else {
            format!("on all {} addresses", obs.addresses.len())
        };
        cause = format!("{} ({all})", of_the_host(&cause, f, obs));
        action = of_the_host(&action, f, obs);
    }
    wrapped(
        w,
        layout,
        &format!("  {style}{tag:>7}{style:#}  "),
        11,
        &cause,
    )?;
    wrapped(
        w,
        layout,
        &format!("           {DIM}→{DIM:#} "),
        13,
        &action,
    )
}

/// A routine finding as a few words for the folded line: "4016-4024 closed (releases not
/// running)".
fn routine_fact(f: &Finding) -> String {
    let ports = words::ranges(&f.ports);
    match f.code {
        Code::Wow64Closed => format!("WoW64 {ports} closed (normal)"),
        Code::Wow64Filtered => format!("WoW64 {ports} filtered (32-bit debugging only)"),
        Code::Filtered => format!("{ports} filtered (other releases)"),
        Code::Rejected => format!("{ports} rejected (other releases)"),
        _ => format!("{ports} closed (releases not running)"),
    }
}

/// The ports a compact table shows: those that accept, and those the findings that are not
/// routine rest on (for port findings, the ones that matter); the rest go into one line.
fn ports_shown(findings: &[Finding], d: &Diagnosis) -> Vec<(Option<Address>, Port)> {
    let mut out: Vec<(Option<Address>, Port)> = Vec::new();
    if let Some(ide) = &d.verdict.ide {
        out.push((None, ide.port));
    }
    for f in findings.iter().filter(|f| !f.is_routine()) {
        let ports: &[Port] = match &f.evidence {
            Evidence::Filtered { matter, .. }
            | Evidence::Closed { matter, .. }
            | Evidence::Rejected { matter, .. } => matter,
            Evidence::HostSilent { main_ports, .. } => main_ports,
            Evidence::NoHost { .. }
            | Evidence::BeyondTheNetwork
            | Evidence::IcmpRateLimited { .. } => &[],
            _ => &f.ports,
        };
        out.extend(ports.iter().map(|&p| (f.address, p)));
    }
    out
}

fn write_address(
    w: &mut dyn Write,
    a: &AddressObservation,
    heading: bool,
    shown: &[(Option<Address>, Port)],
    layout: Layout,
) -> io::Result<()> {
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
    let rows: Vec<&PortObservation> = a
        .ports
        .iter()
        .filter(|p| {
            layout.verbose
                || p.result.is_debugger_candidate()
                || p.result.state == PortState::Open
                || shown.iter().any(|(addr, port)| {
                    *port == p.planned.port && addr.is_none_or(|x| x == a.address)
                })
        })
        .collect();
    let rest: Vec<&PortObservation> = a
        .ports
        .iter()
        .filter(|p| !rows.iter().any(|r| r.planned.port == p.planned.port))
        .collect();
    let reasons: Vec<String> = rows
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
    if !rows.is_empty() {
        writeln!(
            w,
            "    {DIM}{:<6} {:<11} {:<rw$} {:>9}  USED BY{DIM:#}",
            "PORT", "STATE", "REASON", "TIME"
        )?;
    }
    for (p, reason) in rows.iter().zip(reasons) {
        let r = &p.result;
        // A port that greets with another protocol is open, but not good news.
        let st = if r.greeting.is_some() {
            fg(AnsiColor::Yellow)
        } else {
            state_style(r.state)
        };
        let time = r
            .rtt
            .map(|t| format!("{:.1} ms", t.as_secs_f64() * 1e3))
            .unwrap_or_else(|| "-".into());
        let mut what = p.planned.label();
        if layout.verbose {
            if let Some(g) = &r.greeting {
                what.push_str(&format!("  greets \"{}\"", clean(&g.text, 40)));
            }
            if let Some(from) = r.icmp.and_then(|i| i.from) {
                what.push_str(&format!("  (ICMP from {from})"));
            }
        }
        let row = format!(
            "{:<6} {st}{:<11}{st:#} {:<rw$} {:>9}  ",
            p.planned.port.0,
            r.state.as_str(),
            reason,
            time,
        );
        // The label wraps under itself, never past the width.
        let label_at = 4 + 6 + 1 + 11 + 1 + rw + 1 + 9 + 2;
        wrapped(w, layout, &format!("    {row}"), label_at, &what)?;
    }
    if !rest.is_empty() {
        let mut groups: Vec<(PortState, Reason, Vec<Port>)> = Vec::new();
        for p in &rest {
            let key = (p.result.state, p.result.reason);
            match groups.iter_mut().find(|(s, r, _)| (*s, *r) == key) {
                Some(g) => g.2.push(p.planned.port),
                None => groups.push((key.0, key.1, vec![p.planned.port])),
            }
        }
        let said: Vec<String> = groups
            .iter()
            .map(|(s, r, ps)| format!("{} {} ({})", words::ranges(ps), s.as_str(), r.as_str()))
            .collect();
        let lead = if rows.is_empty() {
            "ports"
        } else {
            "other ports"
        };
        wrapped(
            w,
            layout,
            &format!("    {DIM}{lead}:{DIM:#} "),
            6,
            &said.join("; "),
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
