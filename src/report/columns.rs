//! Lines for a terminal: the width to wrap to, aligned columns, and text wrapped without ever
//! cutting a word. Output that is not a terminal is not wrapped (unless `COLUMNS` says so), so
//! a pipe gets one line per item: `| sort` and `| wc -l` keep working.

use std::io::{self, IsTerminal, Write};

use anstyle::Style;
use unicode_width::UnicodeWidthStr;

/// Below this a terminal is too narrow to lay anything out; wrapping would only make it worse.
const NARROWEST: usize = 20;

/// The width to wrap standard output to: `COLUMNS` when set to a number (what shells and
/// `tput` use, and how tests ask for 80 or 120 columns), else the terminal's, else none.
pub fn stdout_width() -> Option<usize> {
    let out = io::stdout();
    let terminal = out.is_terminal();
    width(terminal, || terminal_size::terminal_size_of(out))
}

/// The same for standard error (a scan's summary, notes).
pub fn stderr_width() -> Option<usize> {
    let err = io::stderr();
    let terminal = err.is_terminal();
    width(terminal, || terminal_size::terminal_size_of(err))
}

fn width(
    terminal: bool,
    size: impl FnOnce() -> Option<(terminal_size::Width, terminal_size::Height)>,
) -> Option<usize> {
    if let Some(n) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
    {
        return Some(n.max(NARROWEST));
    }
    if !terminal {
        return None;
    }
    size().map(|(w, _)| usize::from(w.0).max(NARROWEST))
}

/// How many columns `s` takes on a terminal (no escape sequences in it).
pub fn width_of(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// `text` in lines of at most `width` columns, the first starting `first` columns in (after
/// what the caller already wrote) and the others `indent` columns in. Words are never cut: a
/// word longer than a line gets a line of its own. Spaces between words on a line are kept as
/// written (a label padded to a column stays padded); at a break they go. Without a width, one
/// line.
pub fn wrap(text: &str, first: usize, indent: usize, width: Option<usize>) -> Vec<String> {
    let Some(width) = width else {
        return vec![text.to_string()];
    };
    // Each word with the number of spaces written before it.
    let mut words: Vec<(usize, &str)> = Vec::new();
    let mut spaces = 0;
    for part in text.split(' ') {
        if part.is_empty() {
            spaces += 1;
            continue;
        }
        words.push((spaces, part));
        spaces = 1;
    }
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    let mut used = first;
    for (gap, word) in words {
        let w = width_of(word);
        if !line.is_empty() && used + gap + w > width {
            lines.push(std::mem::take(&mut line));
            used = indent;
        }
        if !line.is_empty() {
            line.push_str(&" ".repeat(gap));
            used += gap;
        }
        line.push_str(word);
        used += w;
    }
    lines.push(line);
    lines
}

/// One cell of a [`Table`]: its text (already sanitised) and how it is styled.
#[derive(Debug, Clone, Default)]
pub struct Cell {
    pub text: String,
    pub style: Style,
}

impl Cell {
    pub fn new(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            style: Style::new(),
        }
    }

    pub fn styled(text: impl Into<String>, style: Style) -> Cell {
        Cell {
            text: text.into(),
            style,
        }
    }
}

/// Rows of cells written in aligned columns, two spaces apart; a column empty in every row takes
/// no room. The last column is free text: wrapped to the width under its own start (or, when
/// that leaves too little room, four columns in).
#[derive(Debug, Default)]
pub struct Table {
    rows: Vec<Vec<Cell>>,
}

const GAP: usize = 2;

impl Table {
    pub fn new() -> Table {
        Table::default()
    }

    pub fn push(&mut self, row: Vec<Cell>) {
        self.rows.push(row);
    }

    pub fn write(&self, w: &mut dyn Write, width: Option<usize>) -> io::Result<()> {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let mut widths = vec![0usize; columns];
        for row in &self.rows {
            for (i, c) in row.iter().enumerate() {
                widths[i] = widths[i].max(width_of(&c.text));
            }
        }
        for row in &self.rows {
            let mut at = 0;
            let mut line = String::new();
            let last = row.len().saturating_sub(1);
            for (i, c) in row.iter().enumerate() {
                if widths[i] == 0 {
                    continue;
                }
                if at > 0 {
                    line.push_str(&" ".repeat(GAP));
                    at += GAP;
                }
                let style = c.style;
                if i < last {
                    let pad = widths[i] - width_of(&c.text);
                    line.push_str(&format!("{style}{}{style:#}{}", c.text, " ".repeat(pad)));
                    at += widths[i];
                    continue;
                }
                let indent = match width {
                    Some(wd) if wd.saturating_sub(at) < NARROWEST => 4,
                    _ => at,
                };
                let pieces = wrap(&c.text, at, indent, width);
                for (n, piece) in pieces.iter().enumerate() {
                    if n > 0 {
                        writeln!(w, "{}", line.trim_end())?;
                        line = " ".repeat(indent);
                    }
                    line.push_str(&format!("{style}{piece}{style:#}"));
                }
            }
            writeln!(w, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_never_cuts_a_word_and_indents_what_follows() {
        let text = "the quick brown fox jumps over the lazy dog";
        assert_eq!(wrap(text, 0, 0, None), [text]);
        let lines = wrap(text, 6, 4, Some(20));
        assert_eq!(
            lines,
            ["the quick", "brown fox jumps", "over the lazy", "dog"]
        );
        assert_eq!(
            wrap("a supercalifragilistic b", 0, 0, Some(5)),
            ["a", "supercalifragilistic", "b"]
        );
    }

    fn table() -> Table {
        let mut t = Table::new();
        t.push(vec![
            Cell::new("10.0.0.5"),
            Cell::new(""),
            Cell::new("4026"),
            Cell::new("VS 2022 or 2026 → attach 10.0.0.5:4026"),
        ]);
        t.push(vec![
            Cell::new("fd00::1234:5"),
            Cell::new(""),
            Cell::new("4024, 4026"),
            Cell::new("VS 2019, VS 2022 or 2026 → attach [fd00::1234:5]:4024"),
        ]);
        t
    }

    fn written(t: &Table, width: Option<usize>) -> String {
        let mut out = Vec::new();
        t.write(&mut out, width).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn columns_align_and_an_empty_column_takes_no_room() {
        assert_eq!(
            written(&table(), None),
            "10.0.0.5      4026        VS 2022 or 2026 → attach 10.0.0.5:4026\n\
             fd00::1234:5  4024, 4026  VS 2019, VS 2022 or 2026 → attach [fd00::1234:5]:4024\n"
        );
    }

    #[test]
    fn the_last_column_wraps_under_itself_within_the_width() {
        let out = written(&table(), Some(60));
        assert_eq!(
            out,
            "10.0.0.5      4026        VS 2022 or 2026 → attach\n\
             \x20                         10.0.0.5:4026\n\
             fd00::1234:5  4024, 4026  VS 2019, VS 2022 or 2026 → attach\n\
             \x20                         [fd00::1234:5]:4024\n"
        );
        assert!(out.lines().all(|l| width_of(l) <= 60), "{out}");
    }
}
