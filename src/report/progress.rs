//! The scan's progress bar on stderr: hosts done of total, debugger hosts found, probes per
//! second, ETA. Drawn only when stderr is a terminal, so pipes and logs never see it.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use msvsmon_probe_core::ScanProgress;

pub struct Progress {
    bar: Option<ProgressBar>,
    last: Option<(Instant, u64)>,
    rate: f64,
}

impl Progress {
    /// A bar for `total` hosts, visible only on a terminal (and when `wanted`).
    pub fn new(total: u64, wanted: bool) -> Progress {
        let visible = wanted && std::io::stderr().is_terminal();
        let bar = visible.then(|| {
            let b = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr_with_hz(5));
            b.set_style(
                ProgressStyle::with_template(
                    "{bar:30.cyan/blue} {pos}/{len} hosts · {msg} · {elapsed_precise} elapsed, ETA {eta}",
                )
                .expect("a valid template")
                .progress_chars("█▓░"),
            );
            b
        });
        Progress {
            bar,
            last: None,
            rate: 0.0,
        }
    }

    pub fn update(&mut self, p: &ScanProgress, debugger_hosts: u128) {
        let Some(bar) = &self.bar else { return };
        let now = Instant::now();
        let probes = p.probes_sent;
        if let Some((t, p)) = self.last {
            let dt = now.duration_since(t).as_secs_f64();
            if dt >= 0.5 {
                let r = (probes - p) as f64 / dt;
                self.rate = if self.rate == 0.0 {
                    r
                } else {
                    0.7 * self.rate + 0.3 * r
                };
                self.last = Some((now, probes));
            }
        } else {
            self.last = Some((now, probes));
        }
        // The engine knows the real total once it starts: --max-targets and --shard shrink it.
        let total = p.hosts_total;
        if total > 0 && bar.length() != Some(total) {
            bar.set_length(total);
        }
        bar.set_position(p.hosts_done);
        bar.set_message(format!(
            "{debugger_hosts} debugger host(s) · {:.0} probes/s",
            self.rate
        ));
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }

    /// How often the caller should call [`update`](Self::update).
    pub const TICK: Duration = Duration::from_millis(200);
}
