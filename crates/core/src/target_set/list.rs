//! Gathering a run's targets or exclusions, from the command line and from `-iL` lists, into one
//! set with bounded memory, whatever the input.

use std::collections::HashMap;
use std::io::BufRead;

use super::*;

/// what keeps `-iL /dev/zero` from reading forever.
pub const MAX_LINE: usize = 4096;
/// The most target expressions one run gathers (its targets, or its exclusions): a /8 written
/// out address by address. What they cost in memory is bounded by the distinct intervals.
pub const MAX_SPECS: u64 = 1 << 24;
/// The most distinct host names one run resolves.
pub const MAX_NAMES: usize = 1 << 20;
/// Intervals gathered before they are sorted into the set, at least: a batch is sorted once, so
/// a list of n lines costs O(n log n), and duplicates never cost more than one batch.
const BATCH: usize = 1 << 16;

/// The targets (or exclusions) of a run: addresses as one set of intervals, and the names to
/// resolve, each once, in the order first given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpecSet {
    pub addresses: AddressSet,
    pub names: Vec<String>,
}

impl SpecSet {
    pub fn is_empty(&self) -> bool {
        self.addresses.is_empty() && self.names.is_empty()
    }

    /// The set of `specs` (a few, e.g. a test's).
    pub fn of(specs: impl IntoIterator<Item = Spec>) -> Result<SpecSet, SpecProblem> {
        let mut b = SpecSetBuilder::default();
        for s in specs {
            b.add(s)?;
        }
        Ok(b.finish())
    }
}

/// Gathers target expressions into a [`SpecSet`] in O(n log n) and in memory that follows the
/// distinct intervals and names, not the input: intervals are sorted into the set a batch at a
/// time, names are kept once.
#[derive(Debug)]
pub struct SpecSetBuilder {
    pub(super) set: AddressSet,
    pub(super) pending4: Vec<(u32, u32)>,
    pub(super) pending6: Vec<(u128, u128)>,
    /// Each name, with where it was first given.
    pub(super) names: HashMap<String, usize>,
    pub(super) specs: u64,
    /// The line of the list being read (0: the command line).
    pub(super) lines: u64,
    /// [`BATCH`], [`MAX_SPECS`], [`MAX_NAMES`]; smaller in tests.
    pub(super) batch: usize,
    pub(super) max_specs: u64,
    pub(super) max_names: usize,
}

impl Default for SpecSetBuilder {
    fn default() -> Self {
        SpecSetBuilder {
            set: AddressSet::default(),
            pending4: Vec::new(),
            pending6: Vec::new(),
            names: HashMap::new(),
            specs: 0,
            lines: 0,
            batch: BATCH,
            max_specs: MAX_SPECS,
            max_names: MAX_NAMES,
        }
    }
}

impl SpecSetBuilder {
    /// Adds one parsed expression.
    pub fn add(&mut self, spec: Spec) -> Result<(), SpecProblem> {
        self.specs += 1;
        if self.specs > self.max_specs {
            return Err(SpecProblem::TooManyTargets { at: self.lines });
        }
        match spec {
            Spec::Addresses(a) => {
                self.pending4.extend_from_slice(&a.v4);
                self.pending6.extend_from_slice(&a.v6);
                self.set.scopes.extend(a.scopes);
                if self.pending4.len() >= self.batch.max(self.set.v4.len()) {
                    self.set.v4 = sort_in(std::mem::take(&mut self.set.v4), &mut self.pending4);
                }
                if self.pending6.len() >= self.batch.max(self.set.v6.len()) {
                    self.set.v6 = sort_in(std::mem::take(&mut self.set.v6), &mut self.pending6);
                }
            }
            Spec::Name(n) => {
                if !self.names.contains_key(&n) {
                    if self.names.len() >= self.max_names {
                        return Err(SpecProblem::TooManyNames { at: self.lines });
                    }
                    let i = self.names.len();
                    self.names.insert(n, i);
                }
            }
        }
        Ok(())
    }

    /// Expressions added so far (duplicates included).
    pub fn len(&self) -> u64 {
        self.specs
    }

    pub fn is_empty(&self) -> bool {
        self.specs == 0
    }

    /// Reads a target list (`-iL`): whitespace-separated expressions, `#` comments, blank lines,
    /// lines of at most [`MAX_LINE`] bytes. A line that is not a target is an error naming the
    /// list and line; so is a list that is not text (UTF-16, NUL bytes, not UTF-8, a line too
    /// long) or holds too much. Returns how many expressions it held.
    pub fn read_list(
        &mut self,
        name: &str,
        mut reader: impl BufRead,
        role: SpecRole,
    ) -> Result<u64, SpecError> {
        let list_err = |problem: SpecProblem| SpecError {
            input: name.to_string(),
            problem,
            location: None,
        };
        let before = self.specs;
        let mut buf = Vec::new();
        let mut n = 0u64;
        loop {
            buf.clear();
            let line = next_line(&mut reader, &mut buf)
                .map_err(|e| list_err(SpecProblem::Unreadable(e.to_string())))?;
            n += 1;
            self.lines = n;
            let mut bytes = &buf[..];
            // UTF-16 first: its text is full of NUL bytes.
            if n == 1 && (bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF])) {
                return Err(list_err(SpecProblem::Utf16));
            }
            match line {
                Line::End => break,
                Line::Nul => return Err(list_err(SpecProblem::NulByte { line: n })),
                Line::TooLong => return Err(list_err(SpecProblem::LineTooLong { line: n })),
                Line::Text => {}
            }
            if n == 1 {
                // Notepad and PowerShell write a UTF-8 byte order mark; it is not a target.
                bytes = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
            }
            let text = std::str::from_utf8(bytes)
                .map_err(|_| list_err(SpecProblem::NotUtf8 { line: n }))?;
            let content = text.split('#').next().unwrap_or("");
            for tok in content.split_whitespace() {
                let spec = parse_spec_as(tok, role).map_err(|mut e| {
                    e.location = Some(format!("{name}:{n}"));
                    e
                })?;
                self.add(spec).map_err(list_err)?;
            }
        }
        self.lines = 0;
        Ok(self.specs - before)
    }

    /// The set: every interval sorted in, names in the order first given.
    pub fn finish(mut self) -> SpecSet {
        self.set.v4 = sort_in(std::mem::take(&mut self.set.v4), &mut self.pending4);
        self.set.v6 = sort_in(std::mem::take(&mut self.set.v6), &mut self.pending6);
        let mut names: Vec<(String, usize)> = self.names.into_iter().collect();
        names.sort_unstable_by_key(|(_, i)| *i);
        SpecSet {
            addresses: self.set,
            names: names.into_iter().map(|(n, _)| n).collect(),
        }
    }
}

/// `set` (normalised) with `pending` sorted in; `pending` is left empty with its allocation.
fn sort_in<T: Copy + Ord + num::Step>(set: Vec<(T, T)>, pending: &mut Vec<(T, T)>) -> Vec<(T, T)> {
    if pending.is_empty() {
        return set;
    }
    pending.sort_unstable();
    coalesce(pending);
    let merged = merge(&set, pending);
    pending.clear();
    merged
}

enum Line {
    Text,
    Nul,
    TooLong,
    End,
}

/// Reads one line, without its `\n`, into `buf`, never more than [`MAX_LINE`] bytes of it.
fn next_line(r: &mut impl BufRead, buf: &mut Vec<u8>) -> std::io::Result<Line> {
    let mut read_any = false;
    loop {
        let avail = match r.fill_buf() {
            Ok(a) => a,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if avail.is_empty() {
            return Ok(if read_any { Line::Text } else { Line::End });
        }
        read_any = true;
        let (chunk, used, done) = match avail.iter().position(|b| *b == b'\n') {
            Some(i) => (&avail[..i], i + 1, true),
            None => (avail, avail.len(), false),
        };
        let fits = buf.len() + chunk.len() <= MAX_LINE;
        let take = if fits {
            chunk.len()
        } else {
            MAX_LINE + 1 - buf.len()
        };
        let nul = chunk[..take].contains(&0);
        buf.extend_from_slice(&chunk[..take]);
        r.consume(if fits { used } else { take });
        if nul {
            return Ok(Line::Nul);
        }
        if !fits {
            return Ok(Line::TooLong);
        }
        if done {
            return Ok(Line::Text);
        }
    }
}
