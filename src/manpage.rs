//! The man page: clap_mangen's sections from the clap definitions, with the examples and exit
//! codes of `--help` as proper EXIT STATUS and EXAMPLES sections (clap_mangen would put them in
//! one "EXTRA" section of filled text).

use std::io;
use std::path::{Path, PathBuf};

use clap::builder::Resettable;
use clap::CommandFactory;
use clap_mangen::Man;
use roff::{bold, roman, Roff};

use crate::cli::{Cli, EXAMPLES, EXIT_STATUS, SOURCES};

/// Renders one section into the page.
type Section<'a> = dyn Fn(&mut Vec<u8>) -> io::Result<()> + 'a;

/// The main page, `msvsmon-probe.1`.
pub fn main_page() -> Vec<u8> {
    let man = Man::new(Cli::command().after_help(Resettable::Reset));
    let mut page = Vec::new();
    let sections: [&Section; 10] = [
        &|w| man.render_title(w),
        &|w| man.render_name_section(w),
        &|w| man.render_synopsis_section(w),
        &|w| man.render_description_section(w),
        &|w| man.render_options_section(w),
        &|w| man.render_subcommands_section(w),
        &|w| exit_status_and_examples().to_writer(w),
        &|w| see_also().to_writer(w),
        &|w| man.render_version_section(w),
        &|w| man.render_authors_section(w),
    ];
    for (i, render) in sections.iter().enumerate() {
        let mut part = Vec::new();
        render(&mut part).expect("writing into a Vec cannot fail");
        // Each render starts with roff's preamble (the apostrophe string): keep the first only.
        if i > 0 {
            part = strip_preamble(part);
        }
        page.extend_from_slice(&part);
    }
    page
}

/// Writes the main page and one page per subcommand (`msvsmon-probe-listen.1`) into `dir`,
/// creating it; returns the files written.
pub fn write_pages(dir: &Path) -> io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let main = dir.join("msvsmon-probe.1");
    std::fs::write(&main, main_page())?;
    let mut written = vec![main];
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let man = Man::new(sub.clone());
        written.push(man.generate_to(dir)?);
    }
    Ok(written)
}

/// Drops the preamble (roff's apostrophe string) every rendering starts with.
fn strip_preamble(part: Vec<u8>) -> Vec<u8> {
    let preamble = Roff::new().render();
    match part.strip_prefix(preamble.as_bytes()) {
        Some(rest) => rest.to_vec(),
        None => part,
    }
}

/// EXIT STATUS and EXAMPLES as tagged paragraphs (`.TP`): the code or the command in bold in the
/// left column, what it means indented beside or below it, as man pages lay them out.
fn exit_status_and_examples() -> Roff {
    let mut r = Roff::new();
    r.control("SH", ["EXIT STATUS"]);
    for (code, lines) in EXIT_STATUS {
        r.control("TP", []).text([bold(*code)]);
        for (i, line) in lines.iter().enumerate() {
            if i > 0 {
                r.control("br", []);
            }
            r.text([roman(*line)]);
        }
    }
    r.control("SH", ["EXAMPLES"]);
    for (heading, examples) in EXAMPLES {
        let mut heading = heading.to_string();
        if let Some(first) = heading.get_mut(..1) {
            first.make_ascii_uppercase();
        }
        r.control("SS", [heading.as_str()]);
        for (what, command) in *examples {
            r.control("TP", [])
                .text([bold(*command)])
                .text([roman(*what)]);
        }
    }
    r
}

fn see_also() -> Roff {
    let mut r = Roff::new();
    r.control("SH", ["SEE ALSO"]);
    for line in SOURCES.lines() {
        r.text([roman(line)]);
    }
    r
}
