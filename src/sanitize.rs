//! The one sanitiser: every string that came from the network (a WS-Discovery reply, a
//! greeting, a Probe) or from a file (a target list, a hosts file) passes here before a terminal
//! sees it, in a report line, a log line or an error message.
//!
//! What a terminal must never receive raw: control characters (C0, DEL and the C1 range, where
//! U+009B is CSI, the start of an escape sequence on some terminals), line breaks (a forged
//! report line starts with one), and the invisible characters that reorder or hide text (bidi
//! embeddings, overrides and isolates, the "Trojan Source" set, and zero-width characters). Each
//! is shown as an escape (`\n`, `\u{202e}`), so what was sent stays visible; text longer than the
//! cap is cut with an ellipsis, so one hostile value cannot fill the screen.
//!
//! JSON needs none of this: serde escapes what JSON must, and a value there is data, not a line
//! of the report. A sentence (a finding's `cause`) that quotes a remote value quotes it through
//! here, in JSON too.

use std::borrow::Cow;
use std::fmt::Write as _;

/// The cap for one value inside a report line.
pub const FIELD: usize = 200;
/// The cap for a whole message line (an error, a note).
pub const LINE: usize = 1000;

/// True for a character shown as an escape.
fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            // Zero-width space, non-joiner, joiner; LRM, RLM; line and paragraph separators.
            '\u{200B}'..='\u{200F}' | '\u{2028}' | '\u{2029}'
            // Bidi embeddings and overrides, word joiner and invisible operators, bidi isolates.
            | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}'
            // Arabic letter mark; byte order mark; interlinear annotation.
            | '\u{061C}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}'
        )
}

/// `s` safe for a terminal, at most `max` characters of it (and an ellipsis when cut).
pub fn clean(s: &str, max: usize) -> Cow<'_, str> {
    let too_long = s.chars().nth(max).is_some();
    if !too_long && !s.chars().any(hidden) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len().min(max * 4) + 8);
    for c in s.chars().take(max) {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if hidden(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    if too_long {
        out.push('…');
    }
    Cow::Owned(out)
}

/// One value inside a report line.
pub fn field(s: &str) -> Cow<'_, str> {
    clean(s, FIELD)
}

/// A whole message line.
pub fn line(s: &str) -> Cow<'_, str> {
    clean(s, LINE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_untouched_and_not_copied() {
        assert!(matches!(
            field("urn:uuid:3c1d9f0e pub:Computer"),
            Cow::Borrowed(_)
        ));
        assert_eq!(field("Grüße, 東京"), "Grüße, 東京");
    }

    #[test]
    fn line_breaks_and_controls_are_shown_not_obeyed() {
        assert_eq!(
            field("x\n  Verdict: reachable — FORGED"),
            "x\\n  Verdict: reachable — FORGED"
        );
        assert_eq!(
            field("\x1b]52;c;cHduZWQ=\x07"),
            "\\u{1b}]52;c;cHduZWQ=\\u{7}"
        );
        assert_eq!(field("a\u{9b}31mb\u{85}c"), "a\\u{9b}31mb\\u{85}c");
        assert_eq!(field("\r\t\x7f"), "\\r\\t\\u{7f}");
    }

    #[test]
    fn bidi_and_invisible_characters_are_shown() {
        assert_eq!(field("safe\u{202E}txt.exe"), "safe\\u{202e}txt.exe");
        assert_eq!(
            field("a\u{2066}b\u{2069}\u{200B}\u{FEFF}"),
            "a\\u{2066}b\\u{2069}\\u{200b}\\u{feff}"
        );
        assert_eq!(field("x\u{2028}y"), "x\\u{2028}y");
    }

    #[test]
    fn long_text_is_cut_with_an_ellipsis() {
        let long = "A".repeat(10_000_000);
        let c = field(&long);
        assert_eq!(c.chars().count(), FIELD + 1);
        assert!(c.ends_with('…'));
        assert_eq!(clean("abc", 3), "abc", "exactly the cap is not cut");
    }
}
