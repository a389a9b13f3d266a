//! `--discover` for people: where the Probes went, then each machine once (every address it
//! answered from on one line, IPv4 first, link-local zones named by interface), what answered
//! for it, merged across its addresses (one block per endpoint reference), where to attach, and
//! its problems and warnings; wrapped to the width without cutting a word.

use std::collections::BTreeSet;
use std::io::{self, Write};
use std::net::SocketAddr;

use anstyle::{AnsiColor, Style};

use super::columns::wrap;
use super::{human, words, RunInfo};
use crate::sanitize::field;
use msvsmon_probe_core::{
    Address, Diagnosis, DiscoverRun, HostObservation, Responder, Severity, Status,
};

const BOLD: Style = Style::new().bold();
const DIM: Style = Style::new().dimmed();

fn fg(c: AnsiColor) -> Style {
    Style::new().fg_color(Some(c.into()))
}

/// Writes `text` at `indent` columns, wrapped to `width` under itself (`hang` more columns in
/// for the lines after the first), in `style`.
fn say(
    w: &mut dyn Write,
    indent: usize,
    hang: usize,
    style: Style,
    text: &str,
    width: Option<usize>,
) -> io::Result<()> {
    let pad = " ".repeat(indent);
    let more = " ".repeat(indent + hang);
    for (n, line) in wrap(text, indent, indent + hang, width).iter().enumerate() {
        let at = if n == 0 { &pad } else { &more };
        writeln!(w, "{at}{style}{line}{style:#}")?;
    }
    Ok(())
}

/// A reply's source as people read it: the address with its zone named by interface, and the
/// UDP port when it is not 3702 (python wsdiscovery answers from another).
fn source(sa: SocketAddr) -> String {
    let a = Address::from_socket_addr(sa);
    match (sa.port(), sa) {
        (3702, _) => a.to_string(),
        (p, SocketAddr::V4(_)) => format!("{a}:{p}"),
        (p, SocketAddr::V6(_)) => format!("[{a}]:{p}"),
    }
}

/// `first` and then what `more` adds, each once.
fn union(into: &mut Vec<String>, more: impl IntoIterator<Item = String>) {
    for m in more {
        if !into.contains(&m) {
            into.push(m);
        }
    }
}

/// One endpoint of a machine: its replies from every address, merged.
fn write_endpoint(w: &mut dyn Write, rs: &[&Responder], width: Option<usize>) -> io::Result<()> {
    let r = rs[0];
    say(
        w,
        4,
        2,
        Style::new(),
        words::responder_kind(r.classification.kind),
        width,
    )?;
    let (mut types, mut xaddrs, mut scopes) = (Vec::new(), Vec::new(), Vec::new());
    let mut answered: BTreeSet<String> = BTreeSet::new();
    let mut from: Vec<String> = Vec::new();
    for r in rs {
        union(&mut types, r.types.iter().map(|t| t.text.clone()));
        union(&mut xaddrs, r.xaddrs.iter().cloned());
        union(&mut scopes, r.scopes.iter().cloned());
        union(&mut from, [source(r.source)]);
        answered.extend(
            r.answered
                .iter()
                .map(|(route, v, k)| format!("{} {v} {}", route.as_str(), k.as_str())),
        );
    }
    let first = rs.iter().map(|r| r.first_reply).min().unwrap_or_default();
    let datagrams: u32 = rs.iter().map(|r| r.datagrams).sum();
    for (name, list) in [("types", &types), ("xaddrs", &xaddrs), ("scopes", &scopes)] {
        if !list.is_empty() {
            say(
                w,
                6,
                10,
                Style::new(),
                &format!("{name:<9} {}", field(&list.join(" "))),
                width,
            )?;
        }
    }
    if let Some(e) = &r.endpoint {
        say(w, 6, 10, DIM, &format!("endpoint  {}", field(e)), width)?;
    }
    say(
        w,
        6,
        10,
        DIM,
        &format!(
            "answered  from {} · {} · first after {:.1} ms · {datagrams} datagram(s)",
            from.join(" and "),
            answered.into_iter().collect::<Vec<_>>().join(", "),
            first.as_secs_f64() * 1e3,
        ),
        width,
    )?;
    say(
        w,
        6,
        0,
        DIM,
        &words::debugger_hint(&r.classification.debugger),
        width,
    )
}

/// A problem or warning: its tag, what it means (`cause`), and what to do (`action`), each
/// wrapped under itself.
fn write_finding(
    w: &mut dyn Write,
    severity: Severity,
    (cause, action): &(String, String),
    width: Option<usize>,
) -> io::Result<()> {
    let (tag, style) = match severity {
        Severity::Problem => ("problem", fg(AnsiColor::Red).bold()),
        _ => ("warning", fg(AnsiColor::Yellow).bold()),
    };
    for (n, line) in wrap(cause, 11, 11, width).iter().enumerate() {
        if n == 0 {
            writeln!(w, "  {style}{tag:>7}{style:#}  {line}")?;
        } else {
            writeln!(w, "           {line}")?;
        }
    }
    for (n, line) in wrap(action, 13, 13, width).iter().enumerate() {
        if n == 0 {
            writeln!(w, "           {DIM}→{DIM:#} {line}")?;
        } else {
            writeln!(w, "             {line}")?;
        }
    }
    Ok(())
}

/// A machine's replies, one block per endpoint reference (its IPv4 and IPv6 answers are one
/// block); empty answers only when nothing else answered.
fn write_responders(w: &mut dyn Write, all: &[Responder], width: Option<usize>) -> io::Result<()> {
    let full: Vec<&Responder> = all.iter().filter(|r| !r.empty).collect();
    let shown: Vec<&Responder> = if full.is_empty() {
        all.iter().collect()
    } else {
        full
    };
    let mut blocks: Vec<Vec<&Responder>> = Vec::new();
    for r in shown {
        match blocks
            .iter_mut()
            .find(|b| r.endpoint.is_some() && b[0].endpoint == r.endpoint)
        {
            Some(b) => b.push(r),
            None => blocks.push(vec![r]),
        }
    }
    for b in blocks {
        write_endpoint(w, &b, width)?;
    }
    Ok(())
}

/// `--discover`: the interfaces and how long it listened, then each machine once with its
/// verdict, what answered, where to attach, its problems and warnings; a count; the footer.
pub fn write(
    w: &mut dyn Write,
    run: &RunInfo,
    found: &DiscoverRun,
    hosts: &[(HostObservation, Diagnosis)],
    width: Option<usize>,
) -> io::Result<()> {
    let on: Vec<String> = found
        .interfaces
        .iter()
        .map(|i| {
            let a: Vec<String> = i.addrs.iter().map(|a| a.ip.to_string()).collect();
            format!("{} ({})", i.name, a.join(", "))
        })
        .collect();
    say(
        w,
        0,
        2,
        BOLD,
        &format!(
            "WS-Discovery on {}, listened {:.1} s",
            on.join(", "),
            found.elapsed.as_secs_f64()
        ),
        width,
    )?;
    if hosts.is_empty() {
        writeln!(w)?;
        say(
            w,
            2,
            0,
            Style::new(),
            "No responder answered. That is inconclusive: Windows answers only with network discovery on, remote debuggers started with /nodiscovery do not answer, a firewall may drop UDP 3702, and machines beyond a router never see the multicast.",
            width,
        )?;
    }
    for (obs, d) in hosts {
        let (vstyle, mark) = match d.verdict.status {
            Status::Reachable => (fg(AnsiColor::Green).bold(), "debugger reachable"),
            Status::Wow64Only => (fg(AnsiColor::Yellow).bold(), "only a WoW64 port"),
            _ => (DIM, "no debugger port"),
        };
        let addresses: Vec<String> = obs
            .addresses
            .iter()
            .map(|a| a.address.to_string())
            .collect();
        writeln!(w)?;
        // The addresses in bold, the verdict after them: wrapped as one text, styled by part.
        let text = format!("{}  {mark}", addresses.join(", "));
        let lines = wrap(&text, 0, 2, width);
        let last = lines.len() - 1;
        for (n, line) in lines.iter().enumerate() {
            let at = if n == 0 { "" } else { "  " };
            match line.strip_suffix(mark) {
                Some(head) if n == last => {
                    writeln!(w, "{at}{BOLD}{}{BOLD:#}{vstyle}{mark}{vstyle:#}", head)?
                }
                _ => writeln!(w, "{at}{BOLD}{line}{BOLD:#}")?,
            }
        }
        if let Some(disc) = &obs.discovery {
            write_responders(w, &disc.responders, width)?;
        }
        // One line per endpoint label, every address it answers on.
        let mut attach: Vec<(String, Vec<String>)> = Vec::new();
        for e in &d.verdict.endpoints {
            match attach.iter_mut().find(|(l, _)| *l == e.label) {
                Some((_, list)) => union(list, [e.attach_as.clone()]),
                None => attach.push((e.label.clone(), vec![e.attach_as.clone()])),
            }
        }
        for (label, to) in attach {
            say(
                w,
                4,
                2,
                Style::new(),
                &format!("{label} → attach to {}", to.join(" or ")),
                width,
            )?;
        }
        // A finding that reads the same on every address is said once.
        let mut said: Vec<(String, String)> = Vec::new();
        for f in d
            .findings
            .iter()
            .filter(|f| matches!(f.severity, Severity::Problem | Severity::Warning))
        {
            let words = (words::cause(f, obs), words::action(f, obs));
            if said.contains(&words) {
                continue;
            }
            write_finding(w, f.severity, &words, width)?;
            said.push(words);
        }
    }
    if found.ignored.total() > 0 {
        writeln!(w)?;
        say(
            w,
            2,
            2,
            DIM,
            &format!("set aside: {}", human::ignored_phrase(&found.ignored)),
            width,
        )?;
    }
    let reachable = hosts
        .iter()
        .filter(|(_, d)| d.verdict.status == Status::Reachable)
        .count();
    writeln!(w)?;
    say(
        w,
        0,
        2,
        Style::new(),
        &format!(
            "{} machine(s) answered; {reachable} with a reachable remote debugger port.",
            hosts.len()
        ),
        width,
    )?;
    human::footer(w, run, hosts)
}
