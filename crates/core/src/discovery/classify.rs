//! What answered: an honest reading of a responder's Types, Scopes and XAddrs.
//!
//! A reply proves one thing, "this host answers WS-Discovery". Its Types say what kind of thing
//! answered when they are ones the world documents (Windows' Function Discovery publisher,
//! printers, scanners, cameras, this tool's own stand-in). Whether it is the remote debugger is
//! another matter: what msvsmon puts in its replies is not public, so the only claims made are
//! "this is our stand-in", "the reply mentions the debugger in so many words", "these Types are
//! unknown to us (the debugger's could be among them)", or "nothing here points at the debugger".
//! The TCP port checks carry the verdict.

use serde::Serialize;

use super::message::{QName, DEVPROF_2006_NS, DPWS_2009_NS};
use super::STAND_IN_NS;

/// Function Discovery's publication namespace: `pub:Computer` is how a Windows machine (and a
/// Linux or Samba host running wsdd, which imitates it) announces itself.
pub const PUB_NS: &str = "http://schemas.microsoft.com/windows/pub/2005/07";
/// Windows Device Profile printer and scanner types (WSD print/scan devices).
pub const WDP_PRINT_NS: &str = "http://schemas.microsoft.com/windows/2006/08/wdp/print";
pub const WDP_SCAN_NS: &str = "http://schemas.microsoft.com/windows/2006/08/wdp/scan";
/// ONVIF cameras and encoders.
pub const ONVIF_NETWORK_NS: &str = "http://www.onvif.org/ver10/network/wsdl";

/// What kind of thing a responder is, from the Types it listed. Ordered by how much it tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponderKind {
    /// `msvsmon-probe listen`: this tool's stand-in monitor.
    StandIn,
    /// `pub:Computer`: a Windows computer's Function Discovery publisher (or wsdd imitating one).
    Computer,
    /// A WSD printer (`PrintDeviceType`).
    Printer,
    /// A WSD scanner (`ScanDeviceType`).
    Scanner,
    /// An ONVIF camera or video encoder (`NetworkVideoTransmitter`).
    Camera,
    /// Types this tool does not know.
    Unrecognised,
    /// Only the generic DPWS `Device` type.
    Device,
    /// A ProbeMatch without Types.
    Untyped,
    /// An empty ProbeMatches: it answered, and nothing of it matched our Probe.
    NoMatch,
}

impl ResponderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ResponderKind::StandIn => "stand_in",
            ResponderKind::Computer => "computer",
            ResponderKind::Printer => "printer",
            ResponderKind::Scanner => "scanner",
            ResponderKind::Camera => "camera",
            ResponderKind::Unrecognised => "unrecognised",
            ResponderKind::Device => "device",
            ResponderKind::Untyped => "untyped",
            ResponderKind::NoMatch => "no_match",
        }
    }
}

/// Whether anything in a reply points at the remote debugger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "text")]
pub enum DebuggerHint {
    /// Our own stand-in: the path works, the real debugger is not what answered.
    StandIn,
    /// A Type, Scope or XAddr mentions the debugger in words (`msvsmon`, `RemoteDebugger`,
    /// `VisualStudio`); the text that does is kept.
    Mentions(String),
    /// Types nobody documented: the debugger's own could be among them (its are not public).
    Unrecognised,
    /// Every Type is a documented one that is not the debugger. The debugger may still run on
    /// the host (a Windows computer answers as `pub:Computer` whatever else it runs).
    Nothing,
}

impl DebuggerHint {
    pub fn as_str(&self) -> &'static str {
        match self {
            DebuggerHint::StandIn => "stand_in",
            DebuggerHint::Mentions(_) => "mentions",
            DebuggerHint::Unrecognised => "unrecognised",
            DebuggerHint::Nothing => "nothing",
        }
    }
}

/// What one responder is, and whether it points at the debugger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification {
    pub kind: ResponderKind,
    /// Every recognised kind, for a multi-function device (printer and scanner).
    pub kinds: Vec<ResponderKind>,
    pub debugger: DebuggerHint,
}

fn kind_of(t: &QName) -> Option<ResponderKind> {
    let ns = t.namespace.as_deref()?;
    Some(match (ns, t.local.as_str()) {
        (STAND_IN_NS, _) => ResponderKind::StandIn,
        (PUB_NS, "Computer") => ResponderKind::Computer,
        (WDP_PRINT_NS, "PrintDeviceType") => ResponderKind::Printer,
        (WDP_SCAN_NS, "ScanDeviceType") => ResponderKind::Scanner,
        (ONVIF_NETWORK_NS, "NetworkVideoTransmitter") => ResponderKind::Camera,
        (DEVPROF_2006_NS | DPWS_2009_NS, "Device") => ResponderKind::Device,
        _ => return None,
    })
}

/// Words that would name the debugger in a Type, Scope or XAddr. Compared case-insensitively.
const DEBUGGER_WORDS: [&str; 4] = [
    "msvsmon",
    "remotedebugger",
    "remote-debugger",
    "visualstudio",
];

fn mentions_debugger(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    DEBUGGER_WORDS.iter().any(|w| l.contains(w))
}

/// Classifies one responder from what it sent. `empty` is an empty ProbeMatches.
pub fn classify(
    empty: bool,
    types: &[QName],
    scopes: &[String],
    xaddrs: &[String],
) -> Classification {
    if empty {
        return Classification {
            kind: ResponderKind::NoMatch,
            kinds: vec![ResponderKind::NoMatch],
            debugger: DebuggerHint::Nothing,
        };
    }
    let mut kinds: Vec<ResponderKind> = Vec::new();
    let mut unknown = false;
    for t in types {
        match kind_of(t) {
            Some(k) if !kinds.contains(&k) => kinds.push(k),
            Some(_) => {}
            None => unknown = true,
        }
    }
    if unknown {
        kinds.push(ResponderKind::Unrecognised);
    }
    // A device that lists something more specific is that thing; Device alone is generic.
    if kinds.len() > 1 {
        kinds.retain(|k| *k != ResponderKind::Device);
    }
    kinds.sort();
    let kind = kinds.first().copied().unwrap_or(ResponderKind::Untyped);
    if kinds.is_empty() {
        kinds.push(ResponderKind::Untyped);
    }

    let debugger = if kinds.contains(&ResponderKind::StandIn) {
        DebuggerHint::StandIn
    } else if let Some(t) = types
        .iter()
        .map(|t| t.text.as_str())
        .chain(types.iter().filter_map(|t| t.namespace.as_deref()))
        .chain(scopes.iter().map(String::as_str))
        .chain(xaddrs.iter().map(String::as_str))
        .find(|s| mentions_debugger(s))
    {
        DebuggerHint::Mentions(t.chars().take(120).collect())
    } else if unknown {
        DebuggerHint::Unrecognised
    } else {
        DebuggerHint::Nothing
    };
    Classification {
        kind,
        kinds,
        debugger,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::message::parse_probe_matches;
    use crate::discovery::samples;

    fn q(text: &str, ns: Option<&str>) -> QName {
        QName {
            text: text.into(),
            local: text.rsplit(':').next().unwrap().into(),
            namespace: ns.map(str::to_string),
        }
    }

    fn of_sample(xml: &str) -> Classification {
        let r = parse_probe_matches(xml.as_bytes()).unwrap();
        match r.matches.first() {
            Some(m) => classify(false, &m.types, &m.scopes, &m.xaddrs),
            None => classify(true, &[], &[], &[]),
        }
    }

    #[test]
    fn a_windows_computer_is_a_computer_and_says_nothing_about_the_debugger() {
        let c = of_sample(samples::WINDOWS_COMPUTER);
        assert_eq!(c.kind, ResponderKind::Computer);
        assert_eq!(c.kinds, [ResponderKind::Computer]);
        assert_eq!(c.debugger, DebuggerHint::Nothing);
        // wsdd imitates it, and is classified the same (the reports' words say so).
        assert_eq!(of_sample(samples::WSDD).kind, ResponderKind::Computer);
    }

    #[test]
    fn unknown_types_might_be_the_debugger() {
        let c = of_sample(samples::PYTHON_WSDISCOVERY);
        assert_eq!(c.kind, ResponderKind::Unrecognised);
        assert_eq!(c.debugger, DebuggerHint::Unrecognised);
    }

    #[test]
    fn empty_matches_is_a_responder_without_a_match() {
        let c = of_sample(samples::EMPTY_MATCHES);
        assert_eq!(c.kind, ResponderKind::NoMatch);
    }

    #[test]
    fn printers_scanners_cameras_and_generic_devices() {
        let dev = q("wsdp:Device", Some(DEVPROF_2006_NS));
        let printer = q("wprt:PrintDeviceType", Some(WDP_PRINT_NS));
        let scanner = q("wscn:ScanDeviceType", Some(WDP_SCAN_NS));
        let c = classify(false, &[dev.clone(), printer, scanner], &[], &[]);
        assert_eq!(c.kind, ResponderKind::Printer);
        assert_eq!(c.kinds, [ResponderKind::Printer, ResponderKind::Scanner]);
        assert_eq!(c.debugger, DebuggerHint::Nothing);
        let cam = q("dn:NetworkVideoTransmitter", Some(ONVIF_NETWORK_NS));
        assert_eq!(
            classify(false, &[cam], &[], &[]).kind,
            ResponderKind::Camera
        );
        assert_eq!(
            classify(false, &[dev], &[], &[]).kind,
            ResponderKind::Device
        );
        assert_eq!(classify(false, &[], &[], &[]).kind, ResponderKind::Untyped);
    }

    #[test]
    fn the_namespace_decides_not_the_prefix() {
        // `pub:Computer` with the prefix bound elsewhere is not Function Discovery.
        let fake = q("pub:Computer", Some("urn:elsewhere"));
        assert_eq!(
            classify(false, &[fake], &[], &[]).kind,
            ResponderKind::Unrecognised
        );
        let unbound = q("pub:Computer", None);
        assert_eq!(
            classify(false, &[unbound], &[], &[]).kind,
            ResponderKind::Unrecognised
        );
    }

    #[test]
    fn our_stand_in_and_explicit_mentions() {
        let ours = q("msp:RemoteDebuggerStandIn", Some(STAND_IN_NS));
        let c = classify(
            false,
            &[q("wsdp:Device", Some(DEVPROF_2006_NS)), ours],
            &[],
            &[],
        );
        assert_eq!(c.kind, ResponderKind::StandIn);
        assert_eq!(c.debugger, DebuggerHint::StandIn);
        let c = classify(
            false,
            &[q("x:Thing", Some("urn:x"))],
            &["http://example.org/VisualStudio/RemoteTools".into()],
            &[],
        );
        assert_eq!(
            c.debugger,
            DebuggerHint::Mentions("http://example.org/VisualStudio/RemoteTools".into())
        );
        let c = classify(
            false,
            &[q("wsdp:Device", Some(DEVPROF_2006_NS))],
            &[],
            &["http://10.0.0.5:4026/msvsmon".into()],
        );
        assert!(matches!(c.debugger, DebuggerHint::Mentions(_)));
    }
}
