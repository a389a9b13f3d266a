//! Replies as responders send them, for tests and fuzzing seeds (`samples/*.xml`). The wsdd and
//! python wsdiscovery ones were captured from the real programs answering this tool's Probes in
//! a pair of network namespaces (2026-11-25); only the ids our tests relate them to were
//! replaced (RelatesTo, and the python endpoint and MessageID), every byte else is as sent.

/// The MessageID of the Probe the Windows sample answers.
pub const WINDOWS_PROBE_ID: &str = "urn:uuid:29cf10da-5c41-4d55-b184-5ee15e38ce23";

/// A Windows computer's Function Discovery publisher answering a `wsdp:Device` Probe. Not a
/// capture (no Windows host here): the envelope, whitespace and AppSequence follow WSDAPI's
/// "ProbeMatches message" sample, the Types and the XAddrs on TCP 5357 what Windows computers
/// announce (`wsdp:Device pub:Computer`, as wsdd imitates them).
pub const WINDOWS_COMPUTER: &str = include_str!("samples/windows-function-discovery.xml");

/// Debian's wsdd 0.7.0 answering our `wsdp:Device` Probe: one line, every namespace it knows
/// declared on the envelope, no XAddrs in a ProbeMatch.
pub const WSDD: &str = include_str!("samples/wsdd-0.7.0.xml");

/// python `wsdiscovery` 2.1.2 publishing a service of type `lab:Printer` with a Scope and an
/// XAddr, answering our type-less Probe: minidom's pretty-printing (blank lines of tabs and
/// spaces between elements), short prefixes, the type's namespace declared on the envelope.
pub const PYTHON_WSDISCOVERY: &str = include_str!("samples/python-wsdiscovery-2.1.2.xml");

/// The same python wsdiscovery answering our `wsdp:Device` Probe, which none of its services
/// matches: a ProbeMatches with no ProbeMatch ("a responder, but no match").
pub const EMPTY_MATCHES: &str = include_str!("samples/python-wsdiscovery-2.1.2-empty.xml");

/// Every sample, for loops over "real replies" (property tests, fuzz seeds).
pub const ALL: [&str; 4] = [WINDOWS_COMPUTER, WSDD, PYTHON_WSDISCOVERY, EMPTY_MATCHES];
