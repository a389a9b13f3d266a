//! `--resume FILE`: where a scan got to, so a run killed or interrupted continues instead of
//! starting again. The file holds what makes the scan this scan (the targets' fingerprint, the
//! ports, the seed, the shard), the positions of the hosts decided and written (coalesced
//! intervals), the whole scan's counts so far, and the length of the NDJSON `-o` file at that
//! moment. It is replaced atomically (a temporary file renamed over it), every
//! [`INTERVAL`] while hosts are decided and when the run ends, always after the host lines it
//! covers are flushed to disk: a kill -9 loses at most one interval of work, never a line.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use msvsmon_probe_core::{DoneSet, Fnv64, ScanOutcome, Shard, SweepPlan, Tally};

use crate::error::OutputError;

/// How often a running scan records where it got to (when a host was decided since).
pub const INTERVAL: Duration = Duration::from_secs(1);

const VERSION: u32 = 1;

/// What makes two runs the same scan, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Identity {
    /// The addresses after exclusions (FNV-1a of the set), in hex.
    targets: String,
    ports: Vec<u16>,
    seed: u64,
    /// `K/N`.
    shard: String,
}

impl Identity {
    fn of(plan: &SweepPlan, seed: u64, shard: Shard) -> Identity {
        let mut h = Fnv64::default();
        plan.targets.set().fingerprint(&mut h);
        Identity {
            targets: format!("{:016x}", h.finish()),
            ports: plan.ports.iter().map(|p| p.port.0).collect(),
            seed,
            shard: format!("{}/{}", shard.index, shard.count),
        }
    }

    /// What differs from `other`, in words.
    fn differences(&self, other: &Identity) -> Vec<&'static str> {
        let mut d = Vec::new();
        if self.targets != other.targets {
            d.push("the targets");
        }
        if self.ports != other.ports {
            d.push("the ports");
        }
        if self.seed != other.seed {
            d.push("the seed");
        }
        if self.shard != other.shard {
            d.push("the shard");
        }
        d
    }
}

/// The whole scan's counts so far (every run of it): what its summary line counts. The tally is
/// the engine's own type, stored as it is, so the two cannot drift apart.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Hosts and ports decided and written; nothing partial, nothing undecided.
    pub tally: Tally,
    pub probes_sent: u64,
    pub retries_sent: u64,
    pub local_backoffs: u64,
    /// Time spent scanning, every run together.
    pub elapsed_ms: u64,
}

impl Counts {
    /// The tally a resumed run continues from: a host cut short was neither written nor
    /// counted, and unresolved names are counted again by each run.
    pub fn tally(&self) -> Tally {
        let mut t = self.tally.clone();
        t.partial = 0;
        t.unresolved = 0;
        t.ports.undecided = 0;
        t
    }

    /// Time spent scanning, every run together, after `this_run`.
    pub fn elapsed(&self, this_run: Duration) -> Duration {
        Duration::from_millis(self.elapsed_ms) + this_run
    }

    /// A run's cumulative tally and the engine's counters and time (this run's, plus the
    /// earlier runs' in `self`).
    pub fn add(&self, t: &Tally, p: &ScanOutcome, this_run: Duration) -> Counts {
        Counts {
            tally: t.clone(),
            probes_sent: self.probes_sent + p.probes_sent,
            retries_sent: self.retries_sent + p.retries_sent,
            local_backoffs: self.local_backoffs + p.local_backoffs,
            elapsed_ms: u64::try_from(self.elapsed(this_run).as_millis()).unwrap_or(u64::MAX),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct File {
    version: u32,
    #[serde(flatten)]
    identity: Identity,
    /// Positions decided and written, `[start, end)`.
    done: Vec<(u128, u128)>,
    counts: Counts,
    /// The length of the NDJSON `-o` file when this was written (none for standard output).
    output_bytes: Option<u64>,
}

/// Where an earlier run of this scan stopped (empty for the first run).
#[derive(Debug, Default)]
pub struct Resumed {
    pub done: DoneSet,
    pub counts: Counts,
    pub output_bytes: Option<u64>,
}

/// Why `--resume FILE` cannot be used (exit 2).
#[derive(Debug)]
pub enum ResumeError {
    Read {
        path: PathBuf,
        source: io::Error,
    },
    /// Not a checkpoint this version wrote.
    Malformed {
        path: PathBuf,
    },
    /// A checkpoint of another scan.
    Differs {
        path: PathBuf,
        what: Vec<&'static str>,
    },
    /// The checkpoint could not be written where it is asked for (checked before any probe).
    NotWritable(OutputError),
    /// The `-o` file is shorter than the checkpoint says: it was replaced or cut since.
    OutputShorter {
        path: PathBuf,
        expected: u64,
        found: u64,
    },
}

impl std::fmt::Display for ResumeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ResumeError::Read { path, source } => {
                write!(f, "--resume: cannot read {}: {source}", path.display())
            }
            ResumeError::Malformed { path } => write!(
                f,
                "--resume: {} is not a checkpoint of this version; expected a file an earlier --resume run wrote (or a new path)",
                path.display()
            ),
            ResumeError::Differs { path, what } => write!(
                f,
                "--resume: {} is the checkpoint of another scan: {} differ; expected the same targets, exclusions, ports, seed and shard as the run that wrote it (or a new path)",
                path.display(),
                what.join(", ")
            ),
            ResumeError::NotWritable(e) => write!(f, "--resume: {e}"),
            ResumeError::OutputShorter {
                path,
                expected,
                found,
            } => write!(
                f,
                "--resume: the output {} holds {found} bytes, fewer than the {expected} the checkpoint covers; it was replaced since: expected the file the interrupted run wrote",
                path.display()
            ),
        }
    }
}

impl std::error::Error for ResumeError {}

/// The checkpoint of one scan, kept as it runs.
#[derive(Debug)]
pub struct Checkpoint {
    path: PathBuf,
    identity: Identity,
}

impl Checkpoint {
    /// Reads `path` (nothing there: a first run) and checks it is of this scan.
    pub fn open(
        path: &Path,
        plan: &SweepPlan,
        seed: u64,
        shard: Shard,
    ) -> Result<(Checkpoint, Resumed), ResumeError> {
        let identity = Identity::of(plan, seed, shard);
        let resumed = match std::fs::read(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Resumed::default(),
            Err(source) => {
                return Err(ResumeError::Read {
                    path: path.to_path_buf(),
                    source,
                })
            }
            Ok(bytes) => {
                let file: File = serde_json::from_slice(&bytes)
                    .ok()
                    .filter(|f: &File| f.version == VERSION)
                    .ok_or_else(|| ResumeError::Malformed {
                        path: path.to_path_buf(),
                    })?;
                let what = identity.differences(&file.identity);
                if !what.is_empty() {
                    return Err(ResumeError::Differs {
                        path: path.to_path_buf(),
                        what,
                    });
                }
                Resumed {
                    done: DoneSet::from_intervals(file.done),
                    counts: file.counts,
                    output_bytes: file.output_bytes,
                }
            }
        };
        crate::output::check_writable(path).map_err(ResumeError::NotWritable)?;
        Ok((
            Checkpoint {
                path: path.to_path_buf(),
                identity,
            },
            resumed,
        ))
    }

    /// Replaces the file atomically. `output_bytes` must already be on disk.
    pub fn save(
        &self,
        done: &DoneSet,
        counts: Counts,
        output_bytes: Option<u64>,
    ) -> Result<(), OutputError> {
        let file = File {
            version: VERSION,
            identity: self.identity.clone(),
            done: done.intervals().collect(),
            counts,
            output_bytes,
        };
        let mut bytes = serde_json::to_vec(&file).expect("a checkpoint serializes");
        bytes.push(b'\n');
        crate::output::write_atomically(&self.path, &bytes)
    }
}
