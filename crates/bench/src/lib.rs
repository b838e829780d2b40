//! The harness behind `cargo xtask bench`: figures measured as ratios against a baseline that
//! does the same work with the underlying library directly, in the same run.
//!
//! Each benchmark is an example of this package (`examples/verify.rs`, `examples/http.rs`,
//! `examples/memory.rs`). It alternates the SDK and its baseline round by round (the order flips
//! every round, so neither always runs on a warmer cache), records one sample of each per round in
//! a [`Figure`], and hands the figures to a [`Report`], which prints a Markdown table and writes
//! JSON. What is compared is the ratio within a round, never an absolute time: a loaded machine
//! slows both sides of a round alike.
//!
//! ```
//! use payments_bench::{Figure, Report, Target};
//!
//! let mut figure = Figure::new("verify", "verifications/s", Target::AtLeast(0.95));
//! for round in 0..5 {
//!     // An SDK doing 96 % of its baseline's work rate.
//!     figure.push(960.0 + f64::from(round), 1000.0 + f64::from(round));
//! }
//! let report = Report::new("example", false, vec![figure]);
//! assert!(report.to_markdown().contains("verify"));
//! assert_eq!(report.misses(), 0);
//! ```
#![allow(clippy::float_arithmetic)]

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};

/// What a figure's ratio (SDK / baseline, per round) should be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// A rate (higher is better): the SDK reaches at least this fraction of the baseline.
    AtLeast(f64),
    /// A cost (lower is better): the SDK spends at most this multiple of the baseline.
    AtMost(f64),
    /// Reported only.
    None,
}

impl Target {
    fn met(self, ratio: f64) -> Option<bool> {
        match self {
            Target::AtLeast(t) => Some(ratio >= t),
            Target::AtMost(t) => Some(ratio <= t),
            Target::None => None,
        }
    }

    fn describe(self) -> String {
        match self {
            Target::AtLeast(t) => format!("≥ {t}"),
            Target::AtMost(t) => format!("≤ {t}"),
            Target::None => "–".to_owned(),
        }
    }
}

/// One figure: per round, the SDK's value and its baseline's, in the same unit.
#[derive(Debug, Clone)]
pub struct Figure {
    name: String,
    unit: String,
    target: Target,
    samples: Vec<(f64, f64)>,
}

impl Figure {
    /// A figure named `name`, whose values are in `unit`, judged against `target`.
    pub fn new(name: impl Into<String>, unit: impl Into<String>, target: Target) -> Self {
        Figure {
            name: name.into(),
            unit: unit.into(),
            target,
            samples: Vec::new(),
        }
    }

    /// Records one round.
    pub fn push(&mut self, sdk: f64, baseline: f64) {
        self.samples.push((sdk, baseline));
    }

    /// The figure's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The per-round ratios SDK / baseline, sorted.
    pub fn ratios(&self) -> Vec<f64> {
        let mut ratios: Vec<f64> = self
            .samples
            .iter()
            .filter(|(_, b)| *b != 0.0)
            .map(|(s, b)| s / b)
            .collect();
        ratios.sort_by(f64::total_cmp);
        ratios
    }

    /// The median per-round ratio (NaN without samples).
    pub fn ratio(&self) -> f64 {
        median(&self.ratios())
    }

    /// Whether the median ratio meets the target (`None`: no target).
    pub fn met(&self) -> Option<bool> {
        self.target.met(self.ratio())
    }

    fn to_json(&self) -> Value {
        let ratios = self.ratios();
        json!({
            "figure": self.name,
            "unit": self.unit,
            "rounds": self.samples.len(),
            "sdk_median": median(&sorted(self.samples.iter().map(|s| s.0))),
            "baseline_median": median(&sorted(self.samples.iter().map(|s| s.1))),
            "ratio_median": round3(median(&ratios)),
            "ratio_min": round3(ratios.first().copied().unwrap_or(f64::NAN)),
            "ratio_max": round3(ratios.last().copied().unwrap_or(f64::NAN)),
            "target": self.target.describe(),
            "met": self.met(),
        })
    }
}

/// A benchmark's figures, printed as a table and written as JSON.
#[derive(Debug, Clone)]
pub struct Report {
    name: String,
    quick: bool,
    figures: Vec<Figure>,
    notes: Vec<String>,
}

impl Report {
    /// The report of the benchmark `name`.
    pub fn new(name: impl Into<String>, quick: bool, figures: Vec<Figure>) -> Self {
        Report {
            name: name.into(),
            quick,
            figures,
            notes: Vec::new(),
        }
    }

    /// Adds a line printed under the table (and kept in the JSON).
    pub fn note(&mut self, line: impl Into<String>) {
        self.notes.push(line.into());
    }

    /// How many figures miss their target.
    pub fn misses(&self) -> usize {
        self.figures
            .iter()
            .filter(|f| f.met() == Some(false))
            .count()
    }

    /// The table: one row a figure.
    pub fn to_markdown(&self) -> String {
        let mut out = String::from(
            "| figure | SDK (median) | baseline (median) | ratio, median (min–max) | target | met |\n\
             |---|---|---|---|---|---|\n",
        );
        for figure in &self.figures {
            let j = figure.to_json();
            let num = |key: &str| j.get(key).and_then(Value::as_f64).unwrap_or(f64::NAN);
            let met = match figure.met() {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "–",
            };
            out.push_str(&format!(
                "| {} | {} {} | {} {} | {:.3} ({:.3}–{:.3}) | {} | {} |\n",
                figure.name,
                short(num("sdk_median")),
                figure.unit,
                short(num("baseline_median")),
                figure.unit,
                figure.ratio(),
                num("ratio_min"),
                num("ratio_max"),
                figure.target.describe(),
                met,
            ));
        }
        for note in &self.notes {
            out.push_str(&format!("\n{note}\n"));
        }
        out
    }

    /// The JSON written next to the table.
    pub fn to_json(&self) -> Value {
        json!({
            "benchmark": self.name,
            "quick": self.quick,
            "machine": machine(),
            "figures": self.figures.iter().map(Figure::to_json).collect::<Vec<_>>(),
            "notes": self.notes,
        })
    }

    /// Prints the table to stdout and writes the JSON to `args.json`, if set.
    pub fn finish(&self, args: &Args) -> std::io::Result<()> {
        use std::io::Write as _;
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "\n## {}\n\n{}", self.name, self.to_markdown())?;
        if let Some(path) = &args.json {
            let bytes =
                serde_json::to_vec_pretty(&self.to_json()).map_err(std::io::Error::other)?;
            std::fs::write(path, bytes)?;
            eprintln!("wrote {}", path.display());
        }
        Ok(())
    }
}

/// The command line every benchmark takes: `--quick` and `--json PATH`.
#[derive(Debug, Clone, Default)]
pub struct Args {
    /// A smoke run: few, short rounds (checks the harness, not the figures).
    pub quick: bool,
    /// Where to write the JSON report.
    pub json: Option<PathBuf>,
    /// Arguments this harness does not know (a benchmark's own).
    pub rest: Vec<String>,
}

impl Args {
    /// Parses `std::env::args()`.
    pub fn from_env() -> Self {
        Self::parse(std::env::args().skip(1))
    }

    /// Parses arguments (without the program name).
    pub fn parse(args: impl IntoIterator<Item = String>) -> Self {
        let mut parsed = Args::default();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--quick" => parsed.quick = true,
                "--json" => parsed.json = args.next().map(PathBuf::from),
                _ => parsed.rest.push(arg),
            }
        }
        parsed
    }

    /// `quick` when this is a smoke run, `full` otherwise.
    pub fn pick<T>(&self, quick: T, full: T) -> T {
        if self.quick { quick } else { full }
    }
}

/// CPU time this process's live threads have used, in nanoseconds' precision: the scheduler's
/// `se.sum_exec_runtime` of each `/proc/self/task/*/sched` (Linux). Falls back to
/// `/proc/self/stat` (clock ticks of usually 10 ms) where those cannot be read; `None` where
/// neither can. Threads that have exited no longer count: measure with a runtime whose threads
/// live for the whole run.
pub fn cpu_time() -> Option<Duration> {
    sched_cpu_time().or_else(stat_cpu_time)
}

fn sched_cpu_time() -> Option<Duration> {
    let mut total = 0.0_f64;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let sched = std::fs::read_to_string(task.ok()?.path().join("sched")).ok()?;
        let line = sched
            .lines()
            .find(|l| l.starts_with("se.sum_exec_runtime"))?;
        let ms: f64 = line.rsplit(':').next()?.trim().parse().ok()?;
        total += ms;
    }
    Some(Duration::from_secs_f64(total / 1000.0))
}

fn stat_cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of the file (utime, stime) are the 12th and 13th after the name.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    const TICKS_PER_SECOND: u64 = 100;
    Some(Duration::from_millis(
        (utime + stime) * 1000 / TICKS_PER_SECOND,
    ))
}

/// This process's resident set size in bytes, from `/proc/self/statm` (Linux; pages of 4 KiB).
pub fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// Resident memory over a long run: `work` is called `per_checkpoint` times between checkpoints;
/// after a first (warm-up) stretch, the RSS at each of `checkpoints` later checkpoints is
/// recorded against the RSS after the warm-up. A flat run has every ratio near 1.
pub fn memory_figure(
    name: impl Into<String>,
    checkpoints: usize,
    per_checkpoint: usize,
    mut work: impl FnMut(),
) -> Figure {
    let mut figure = Figure::new(name, "bytes", Target::AtMost(1.10));
    for _ in 0..per_checkpoint {
        work();
    }
    let warm = rss_bytes().unwrap_or(0) as f64;
    for _ in 0..checkpoints {
        for _ in 0..per_checkpoint {
            work();
        }
        figure.push(rss_bytes().unwrap_or(0) as f64, warm);
    }
    figure
}

/// The median of sorted values (NaN for none).
pub fn median(sorted: &[f64]) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted.get(n / 2).copied().unwrap_or(f64::NAN),
        n => match (sorted.get(n / 2 - 1), sorted.get(n / 2)) {
            (Some(a), Some(b)) => (a + b) / 2.0,
            _ => f64::NAN,
        },
    }
}

fn sorted(values: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut v: Vec<f64> = values.collect();
    v.sort_by(f64::total_cmp);
    v
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// A value in three significant digits or as an integer.
fn short(x: f64) -> String {
    if x.abs() >= 100.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.3}")
    }
}

/// The machine the figures were measured on (CPU model, cores), as far as Linux tells.
pub fn machine() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_owned());
    json!({
        "cpu": model,
        "cores": std::thread::available_parallelism().map(|n| n.get()).ok(),
        "os": std::env::consts::OS,
        "arch": std::env::consts::ARCH,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn the_ratio_is_the_median_of_per_round_ratios() {
        let mut f = Figure::new("x", "ops/s", Target::AtLeast(0.95));
        f.push(90.0, 100.0); // 0.9
        f.push(200.0, 100.0); // 2.0
        f.push(99.0, 100.0); // 0.99
        assert!((f.ratio() - 0.99).abs() < 1e-9);
        assert_eq!(f.met(), Some(true));
        let mut g = Figure::new("y", "s", Target::AtMost(1.05));
        g.push(1.2, 1.0);
        g.push(1.1, 1.0);
        assert!((g.ratio() - 1.15).abs() < 1e-9);
        assert_eq!(g.met(), Some(false));
        let report = Report::new("r", true, vec![f, g]);
        assert_eq!(report.misses(), 1);
        let table = report.to_markdown();
        assert!(
            table.contains("| y |") && table.contains("**no**"),
            "{table}"
        );
        assert_eq!(report.to_json()["figures"][1]["met"], json!(false));
    }

    #[test]
    fn arguments_and_proc_readings() {
        let a = Args::parse(["--quick", "--json", "/tmp/x.json", "--other"].map(String::from));
        assert!(a.quick);
        assert_eq!(a.json, Some(PathBuf::from("/tmp/x.json")));
        assert_eq!(a.rest, vec!["--other".to_owned()]);
        assert_eq!(a.pick(1, 2), 1);
        assert!(rss_bytes().unwrap() > 0);
        let before = cpu_time().unwrap();
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
        }
        assert!(cpu_time().unwrap() > before, "{x}");
        assert!(stat_cpu_time().is_some());
        assert!(median(&[]).is_nan());
        assert!((median(&[1.0, 2.0]) - 1.5).abs() < 1e-9);
    }
}
