//! One provider's run of one scenario: named steps with timings, one progress line each on
//! stderr (updated in place on a terminal), summarised as a table (or JSON).

use std::fmt::Write as _;
use std::future::Future;
use std::io::{IsTerminal as _, Write as _};
use std::time::{Duration, Instant};

use serde::Serialize;

/// How a step ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", content = "detail", rename_all = "snake_case")]
pub(crate) enum Outcome {
    /// Done; the detail says what was observed (an id, a status).
    Ok(String),
    /// Failed; the detail is the cause, one line.
    Failed(String),
    /// Not run, and why (real provider without a public webhook URL, an earlier failure).
    Skipped(String),
}

impl Outcome {
    fn word(&self) -> &'static str {
        match self {
            Outcome::Ok(_) => "ok",
            Outcome::Failed(_) => "FAILED",
            Outcome::Skipped(_) => "skipped",
        }
    }

    fn detail(&self) -> &str {
        match self {
            Outcome::Ok(d) | Outcome::Failed(d) | Outcome::Skipped(d) => d,
        }
    }
}

/// A finished step.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Step {
    pub(crate) name: String,
    #[serde(flatten)]
    pub(crate) outcome: Outcome,
    pub(crate) millis: u128,
}

/// A step failed: the flow stops (the failure is already recorded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Failed;

/// Where progress goes: nowhere (`--json`), plain lines, or a terminal line updated in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Progress {
    /// Nothing.
    Off,
    /// One line per finished step.
    Lines,
    /// A line per step, shown when the step starts and rewritten when it ends.
    Terminal,
}

impl Progress {
    /// `Terminal` when stderr is one, else `Lines`; `Off` when `quiet`.
    pub(crate) fn for_stderr(quiet: bool) -> Progress {
        if quiet {
            Progress::Off
        } else if std::io::stderr().is_terminal() {
            Progress::Terminal
        } else {
            Progress::Lines
        }
    }

    /// What to print when `step` of `label` starts.
    fn started(self, label: &str, step: &str) -> Option<String> {
        match self {
            Progress::Terminal => Some(format!("[{label}] {step} ...")),
            Progress::Off | Progress::Lines => None,
        }
    }

    /// What to print when `step` of `label` ends: one line, with the reason on failure (on a
    /// terminal it first erases the line printed at the start).
    fn finished(self, label: &str, step: &Step) -> Option<String> {
        let reason = match &step.outcome {
            Outcome::Ok(_) => String::new(),
            other => format!(": {}", other.detail()),
        };
        let line = format!(
            "[{label}] {} {} ({} ms){reason}",
            step.name,
            step.outcome.word(),
            step.millis
        );
        match self {
            Progress::Off => None,
            Progress::Lines => Some(format!("{line}\n")),
            Progress::Terminal => Some(format!("\r\x1b[2K{line}\n")),
        }
    }
}

fn emit(text: Option<String>) {
    if let Some(text) = text {
        let mut stderr = std::io::stderr().lock();
        let _ = stderr.write_all(text.as_bytes());
        let _ = stderr.flush();
    }
}

/// The steps of one provider's run of one scenario.
#[derive(Debug, Serialize)]
pub(crate) struct Flow {
    pub(crate) provider: String,
    /// `checkout`, `duplicate`, ...
    pub(crate) scenario: String,
    /// Where it ran: `sandbox (http://127.0.0.1:PORT/payconiq)` or the real provider's host.
    pub(crate) target: String,
    /// The order's merchant reference (`payments ledger show REF`), once known.
    pub(crate) reference: Option<String>,
    pub(crate) steps: Vec<Step>,
    #[serde(skip)]
    progress: Progress,
}

impl Flow {
    pub(crate) fn new(provider: &str, scenario: &str, progress: Progress) -> Flow {
        Flow {
            provider: provider.to_owned(),
            scenario: scenario.to_owned(),
            target: String::new(),
            reference: None,
            steps: Vec::new(),
            progress,
        }
    }

    fn label(&self) -> String {
        if self.scenario == "checkout" {
            self.provider.clone()
        } else {
            format!("{} {}", self.provider, self.scenario)
        }
    }

    /// Says where the flow runs (shown in the table header).
    pub(crate) fn set_target(&mut self, target: impl Into<String>) {
        self.target = target.into();
    }

    /// Runs one step: `work` yields the step's value and a one-line detail, or the cause of its
    /// failure.
    pub(crate) async fn step<T, F>(&mut self, name: &str, work: F) -> Result<T, Failed>
    where
        F: Future<Output = Result<(T, String), String>>,
    {
        emit(self.progress.started(&self.label(), name));
        let started = Instant::now();
        let result = work.await;
        let millis = started.elapsed().as_millis();
        let (value, outcome) = match result {
            Ok((value, detail)) => (Some(value), Outcome::Ok(one_line(&detail))),
            Err(cause) => (None, Outcome::Failed(one_line(&cause))),
        };
        self.record(Step {
            name: name.to_owned(),
            outcome,
            millis,
        });
        value.ok_or(Failed)
    }

    /// Records a step that was not run, and why.
    pub(crate) fn skip(&mut self, name: &str, why: impl Into<String>) {
        self.record(Step {
            name: name.to_owned(),
            outcome: Outcome::Skipped(one_line(&why.into())),
            millis: 0,
        });
    }

    fn record(&mut self, step: Step) {
        emit(self.progress.finished(&self.label(), &step));
        self.steps.push(step);
    }

    /// Whether every step that ran succeeded (and at least one ran).
    pub(crate) fn passed(&self) -> bool {
        !self.steps.is_empty()
            && self
                .steps
                .iter()
                .all(|s| !matches!(s.outcome, Outcome::Failed(_)))
    }

    pub(crate) fn total(&self) -> Duration {
        let millis: u128 = self.steps.iter().map(|s| s.millis).sum();
        Duration::from_millis(u64::try_from(millis).unwrap_or(u64::MAX))
    }
}

/// Joins the lines of an error chain into one.
pub(crate) fn one_line(text: &str) -> String {
    text.split('\n')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" / ")
}

/// The human-readable report of every flow, with a summary line.
pub(crate) fn render_table(flows: &[Flow]) -> String {
    let name_width = flows
        .iter()
        .flat_map(|f| f.steps.iter().map(|s| s.name.chars().count()))
        .max()
        .unwrap_or(4)
        .max(4);
    let mut out = String::new();
    for flow in flows {
        let _ = write!(out, "{} — {}", flow.label(), flow.target);
        if let Some(reference) = &flow.reference {
            let _ = write!(out, " — order {reference}");
        }
        out.push('\n');
        for step in &flow.steps {
            let _ = writeln!(
                out,
                "  {:<name_width$}  {:<7}  {:>6} ms  {}",
                step.name,
                step.outcome.word(),
                step.millis,
                step.outcome.detail()
            );
        }
        let _ = writeln!(out);
    }
    let passed = flows.iter().filter(|f| f.passed()).count();
    let failed: Vec<String> = flows
        .iter()
        .filter(|f| !f.passed())
        .map(Flow::label)
        .collect();
    let total: Duration = flows.iter().map(Flow::total).sum();
    let what = if flows.iter().all(|f| f.scenario == "checkout") {
        "providers"
    } else {
        "runs"
    };
    let _ = write!(
        out,
        "summary: {passed}/{} {what} passed in {} ms",
        flows.len(),
        total.as_millis()
    );
    if !failed.is_empty() {
        let _ = write!(out, "; failed: {}", failed.join(", "));
    }
    out.push('\n');
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_failed_step_fails_the_flow_and_shows_in_the_summary() {
        let mut ok = Flow::new("payconiq", "checkout", Progress::Off);
        let id = ok
            .step("create", async {
                Ok(("p1".to_owned(), "id p1".to_owned()))
            })
            .await;
        assert_eq!(id, Ok("p1".to_owned()));
        let mut bad = Flow::new("hub2", "checkout", Progress::Off);
        let r: Result<(), Failed> = bad
            .step("create", async { Err("HTTP 500:\n  boom".to_owned()) })
            .await;
        assert_eq!(r, Err(Failed));
        bad.skip("pay", "an earlier step failed");
        assert!(ok.passed());
        assert!(!bad.passed());
        let table = render_table(&[ok, bad]);
        assert!(table.contains("HTTP 500: / boom"), "{table}");
        assert!(table.contains("summary: 1/2 providers passed"), "{table}");
        assert!(table.contains("failed: hub2"), "{table}");
    }

    fn step(outcome: Outcome) -> Step {
        Step {
            name: "create once".into(),
            outcome,
            millis: 12,
        }
    }

    #[test]
    fn progress_is_one_line_per_step_with_the_reason_on_failure() {
        // Not a terminal: nothing when a step starts, one plain line when it ends.
        assert_eq!(Progress::Lines.started("hub2", "create once"), None);
        assert_eq!(
            Progress::Lines.finished("hub2", &step(Outcome::Ok("id".into()))),
            Some("[hub2] create once ok (12 ms)\n".into())
        );
        assert_eq!(
            Progress::Lines.finished("hub2", &step(Outcome::Failed("HTTP 500".into()))),
            Some("[hub2] create once FAILED (12 ms): HTTP 500\n".into())
        );
        // A terminal: the start is shown without a newline and rewritten in place at the end.
        let start = Progress::Terminal.started("hub2", "create once").unwrap();
        assert!(!start.contains('\n'));
        let end = Progress::Terminal
            .finished("hub2", &step(Outcome::Skipped("no public URL".into())))
            .unwrap();
        assert!(
            end.starts_with("\r\x1b[2K[hub2] create once skipped"),
            "{end:?}"
        );
        assert!(end.ends_with(": no public URL\n"), "{end:?}");
        assert_eq!(end.matches('\n').count(), 1);
        assert_eq!(
            Progress::Off.finished("hub2", &step(Outcome::Ok(String::new()))),
            None
        );
    }
}
