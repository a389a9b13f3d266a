//! nmap as a peer: run it inside the lab and read its XML report (`-oX -`) with a real XML
//! reader, so the cross-check compares states and reasons, not screen text.

use std::net::IpAddr;
use std::process::Command;

use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

use super::sys;

/// One `<port>` of nmap's report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NmapPort {
    pub address: IpAddr,
    pub port: u16,
    /// `open`, `closed`, `filtered`, …
    pub state: String,
    /// `syn-ack`, `conn-refused`, `no-response`, `host-unreach`, `net-unreach`, …
    pub reason: String,
}

/// Runs `cmd` (an nmap command line, typically `lab.scanner("nmap")` with its arguments; `-oX -`
/// is added) and returns every port of its report.
pub fn scan(mut cmd: Command) -> Result<Vec<NmapPort>, String> {
    cmd.args(["-oX", "-"]);
    let xml = sys::run(&mut cmd)?;
    parse(&xml).map_err(|e| format!("{e}; `{}` wrote:\n{xml}", sys::show(&cmd)))
}

fn attr(e: &BytesStart<'_>, name: &str) -> Result<Option<String>, String> {
    for a in e.attributes() {
        let a = a.map_err(|err| format!("bad attribute in nmap XML: {err}"))?;
        if a.key.as_ref() == name.as_bytes() {
            let v = a
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|err| format!("bad attribute value in nmap XML: {err}"))?;
            return Ok(Some(v.into_owned()));
        }
    }
    Ok(None)
}

/// Reads `<host><address addr=…/><ports><port portid=…><state state=… reason=…/>`.
pub fn parse(xml: &str) -> Result<Vec<NmapPort>, String> {
    let mut reader = Reader::from_str(xml);
    let mut out = Vec::new();
    let mut address: Option<IpAddr> = None;
    let mut port: Option<u16> = None;
    loop {
        let ev = reader
            .read_event()
            .map_err(|e| format!("nmap XML at byte {}: {e}", reader.buffer_position()))?;
        match ev {
            Event::Start(e) | Event::Empty(e) => match e.name().as_ref() {
                b"host" => address = None,
                b"address" => {
                    let kind = attr(&e, "addrtype")?;
                    if matches!(kind.as_deref(), Some("ipv4" | "ipv6")) {
                        let a = attr(&e, "addr")?.unwrap_or_default();
                        address = Some(a.parse().map_err(|_| format!("bad address '{a}'"))?);
                    }
                }
                b"port" => {
                    let p = attr(&e, "portid")?.unwrap_or_default();
                    port = Some(p.parse().map_err(|_| format!("bad portid '{p}'"))?);
                }
                b"state" => {
                    if let (Some(address), Some(p)) = (address, port.take()) {
                        out.push(NmapPort {
                            address,
                            port: p,
                            state: attr(&e, "state")?.unwrap_or_default(),
                            reason: attr(&e, "reason")?.unwrap_or_default(),
                        });
                    }
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(out)
}
