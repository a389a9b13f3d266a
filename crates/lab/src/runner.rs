//! A small libtest look-alike for lab test targets (`harness = false`), so one lab serves every
//! case and is torn down explicitly, while the output and exit code stay what `cargo test` and
//! cargo-nextest expect: `test NAME ... ok`, a `test result:` line, exit 101 on failure, name
//! filters, `--exact`, `--skip`, and `--list --format terse` (nextest then runs one case per
//! process, each with a lab of its own).
//!
//! When the lab cannot be built, the lab cases are skipped loudly and pass, except under
//! `CI=true`, where that is a failure ([`unavailable`]).

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::Instant;

use super::{Lab, LabSpec};

type DataFn<'a> = Box<dyn Fn() + Send + Sync + 'a>;
type LabFn<'a> = Box<dyn Fn(&Lab) + Send + Sync + 'a>;

enum Body<'a> {
    /// Needs no lab (checks of the lab's data files).
    Data(DataFn<'a>),
    Lab(LabFn<'a>),
}

/// One test case. Cases run concurrently unless marked [`Case::exclusive`].
pub struct Case<'a> {
    pub name: String,
    body: Body<'a>,
    exclusive: bool,
}

impl<'a> Case<'a> {
    pub fn data(name: impl Into<String>, f: impl Fn() + Send + Sync + 'a) -> Self {
        Case {
            name: name.into(),
            body: Body::Data(Box::new(f)),
            exclusive: false,
        }
    }

    pub fn lab(name: impl Into<String>, f: impl Fn(&Lab) + Send + Sync + 'a) -> Self {
        Case {
            name: name.into(),
            body: Body::Lab(Box::new(f)),
            exclusive: false,
        }
    }

    /// Runs alone, after the concurrent cases: it changes lab state others would see (a
    /// scanner sysctl, a firewall's counters) or measures what the others leave behind.
    pub fn exclusive(mut self) -> Self {
        self.exclusive = true;
        self
    }

    fn needs_lab(&self) -> bool {
        matches!(self.body, Body::Lab(_))
    }
}

/// Is `CI=true` set (CI must not skip)?
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// Says loudly that `which` cannot run because of `why`. Returns true when that is a failure
/// (under CI), false when it is a skip.
pub fn unavailable(which: &str, why: &str) -> bool {
    let bar = "=".repeat(78);
    if in_ci() {
        println!("\n{bar}\nFAILED: {which} cannot run in CI (CI=true) because {why}\n{bar}\n");
        true
    } else {
        println!(
            "\n{bar}\nSKIPPED: {which} because {why}\n(with CI=true this is a failure)\n{bar}\n"
        );
        false
    }
}

struct Args {
    filters: Vec<String>,
    skip: Vec<String>,
    exact: bool,
    list: bool,
    terse: bool,
    ignored_only: bool,
    threads: Option<usize>,
}

fn parse_args() -> Args {
    let mut a = Args {
        filters: Vec::new(),
        skip: Vec::new(),
        exact: false,
        list: false,
        terse: false,
        ignored_only: false,
        threads: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let value = |it: &mut dyn Iterator<Item = String>| inline.clone().or_else(|| it.next());
        match flag.as_str() {
            "--exact" => a.exact = true,
            "--list" => a.list = true,
            "--ignored" => a.ignored_only = true,
            "--skip" => a.skip.extend(value(&mut it)),
            "--format" => a.terse = value(&mut it).as_deref() == Some("terse"),
            "--test-threads" => a.threads = value(&mut it).and_then(|v| v.parse().ok()),
            "--color" | "--logfile" | "-Z" | "--report-time" | "--shuffle-seed" => {
                value(&mut it);
            }
            f if f.starts_with('-') => {} // --nocapture, --quiet, --include-ignored, --bench …
            _ => a.filters.push(arg),
        }
    }
    a
}

impl Args {
    fn selects(&self, name: &str) -> bool {
        let hit = |f: &String| {
            if self.exact {
                name == f
            } else {
                name.contains(f.as_str())
            }
        };
        (self.filters.is_empty() || self.filters.iter().any(hit))
            && !self.skip.iter().any(|s| name.contains(s.as_str()))
    }
}

enum Outcome {
    Ok,
    Failed(String),
    Skipped,
}

thread_local! {
    /// Whether a case runs on this thread, and its panic message with the location.
    static IN_CASE: Cell<bool> = const { Cell::new(false) };
    static PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn run_case(c: &Case<'_>, lab: Option<&Lab>) -> Outcome {
    PANIC.with(|p| p.borrow_mut().take());
    IN_CASE.with(|f| f.set(true));
    let r = catch_unwind(AssertUnwindSafe(|| match (&c.body, lab) {
        (Body::Data(f), _) => f(),
        (Body::Lab(f), Some(lab)) => f(lab),
        (Body::Lab(_), None) => unreachable!("lab cases run only with a lab"),
    }));
    IN_CASE.with(|f| f.set(false));
    match r {
        Ok(()) => Outcome::Ok,
        Err(payload) => Outcome::Failed(
            PANIC
                .with(|p| p.borrow_mut().take())
                .unwrap_or_else(|| message(&*payload)),
        ),
    }
}

fn message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panicked".into())
}

/// Runs the selected cases: builds the lab (from `spec`) only if a selected case needs it, runs
/// the concurrent cases, then the exclusive ones, tears the lab down, prints a libtest summary.
pub fn main(target: &str, cases: Vec<Case<'_>>, spec: impl FnOnce() -> LabSpec) -> ExitCode {
    let args = parse_args();
    let total = cases.len();
    let cases: Vec<Case> = cases
        .into_iter()
        .filter(|c| args.selects(&c.name))
        .collect();
    let filtered_out = total - cases.len();
    if args.list {
        if !args.ignored_only {
            for c in &cases {
                println!("{}: test", c.name);
            }
        }
        if !args.terse {
            println!("\n{} tests, 0 benchmarks", cases.len());
        }
        return ExitCode::SUCCESS;
    }
    let cases = if args.ignored_only { Vec::new() } else { cases };
    let started = Instant::now();
    println!("\nrunning {} tests", cases.len());

    // Panics inside a case are reported in the summary; elsewhere they print as usual.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if IN_CASE.with(Cell::get) {
            PANIC.with(|p| *p.borrow_mut() = Some(info.to_string()));
        } else {
            default_hook(info);
        }
    }));

    let mut lab = None;
    let mut lab_failure = None;
    let lab_cases: Vec<&str> = cases
        .iter()
        .filter(|c| c.needs_lab())
        .map(|c| c.name.as_str())
        .collect();
    if !lab_cases.is_empty() {
        match Lab::build(&spec()) {
            Ok(l) => {
                println!(
                    "lab {}: built in {:.2} s ({} namespaces)",
                    l.prefix(),
                    l.build_time().as_secs_f64(),
                    l.namespaces().len()
                );
                lab = Some(l);
            }
            Err(why) => {
                let which = format!(
                    "{} lab tests of {target} ({})",
                    lab_cases.len(),
                    lab_cases.join(", ")
                );
                lab_failure = Some(unavailable(&which, &why).then_some(why));
            }
        }
    }

    let outcomes: Mutex<Vec<(String, Outcome)>> = Mutex::new(Vec::new());
    let report = |name: &str, o: Outcome| {
        let word = match &o {
            Outcome::Ok => "ok".to_string(),
            Outcome::Failed(_) => "FAILED".to_string(),
            Outcome::Skipped => "ignored, SKIPPED: the lab is unavailable".to_string(),
        };
        println!("test {name} ... {word}");
        let _ = std::io::stdout().flush();
        outcomes.lock().unwrap().push((name.to_string(), o));
    };
    let runnable = |c: &Case| -> Option<Outcome> {
        match (c.needs_lab(), &lab, &lab_failure) {
            (true, None, Some(Some(why))) => {
                Some(Outcome::Failed(format!("the lab cannot be built: {why}")))
            }
            (true, None, _) => Some(Outcome::Skipped),
            _ => None,
        }
    };

    let (concurrent, exclusive): (Vec<&Case>, Vec<&Case>) =
        cases.iter().partition(|c| !c.exclusive);
    let threads = args.threads.unwrap_or(8).clamp(1, 16);
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<(usize, Outcome)>();
    std::thread::scope(|s| {
        for _ in 0..threads.min(concurrent.len()) {
            let tx = tx.clone();
            let (next, concurrent, lab, runnable) = (&next, &concurrent, &lab, &runnable);
            s.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(c) = concurrent.get(i) else { break };
                let o = runnable(c).unwrap_or_else(|| run_case(c, lab.as_ref()));
                let _ = tx.send((i, o));
            });
        }
        drop(tx);
        for (i, o) in rx {
            report(&concurrent[i].name, o);
        }
    });
    for c in exclusive {
        let o = runnable(c).unwrap_or_else(|| run_case(c, lab.as_ref()));
        report(&c.name, o);
    }

    let outcomes = outcomes.into_inner().unwrap();
    let failed: Vec<&(String, Outcome)> = outcomes
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Failed(_)))
        .collect();
    if let Some(l) = lab {
        if !failed.is_empty() {
            l.keep_logs();
            println!("lab logs kept in {}", l.log_dir().display());
        }
        println!("lab torn down in {:.2} s", l.teardown().as_secs_f64());
    }
    let _ = std::panic::take_hook();
    let passed = outcomes
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Ok))
        .count();
    let skipped = outcomes
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Skipped))
        .count();
    if !failed.is_empty() {
        println!("\nfailures:\n");
        for (name, o) in &failed {
            if let Outcome::Failed(msg) = o {
                println!("---- {name} ----\n{msg}\n");
            }
        }
        println!("failures:");
        for (name, _) in &failed {
            println!("    {name}");
        }
    }
    println!(
        "\ntest result: {}. {passed} passed; {} failed; {skipped} ignored; 0 measured; {filtered_out} filtered out; finished in {:.2}s\n",
        if failed.is_empty() { "ok" } else { "FAILED" },
        failed.len(),
        started.elapsed().as_secs_f64()
    );
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(101)
    }
}
