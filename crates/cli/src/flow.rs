//! One provider's demo run: named steps with timings, shown as they happen and summarised as a
//! table (or JSON).

use std::fmt::Write as _;
use std::future::Future;
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

/// The steps of one provider's run.
#[derive(Debug, Serialize)]
pub(crate) struct Flow {
    pub(crate) provider: String,
    /// Where it ran: `sandbox (http://127.0.0.1:PORT/payconiq)` or the real provider's host.
    pub(crate) target: String,
    pub(crate) steps: Vec<Step>,
    #[serde(skip)]
    progress: bool,
}

impl Flow {
    pub(crate) fn new(provider: &str, progress: bool) -> Flow {
        Flow {
            provider: provider.to_owned(),
            target: String::new(),
            steps: Vec::new(),
            progress,
        }
    }

    /// Says where the flow runs (shown in the table header).
    pub(crate) fn set_target(&mut self, target: impl Into<String>) {
        self.target = target.into();
    }

    /// Runs one step: `work` yields the step's value and a one-line detail, or the cause of its
    /// failure. Progress is printed to stderr as the step starts and ends.
    pub(crate) async fn step<T, F>(&mut self, name: &str, work: F) -> Result<T, Failed>
    where
        F: Future<Output = Result<(T, String), String>>,
    {
        if self.progress {
            eprintln!("[{}] {name} ...", self.provider);
        }
        let started = Instant::now();
        let result = work.await;
        let millis = started.elapsed().as_millis();
        let (value, outcome) = match result {
            Ok((value, detail)) => (Some(value), Outcome::Ok(detail)),
            Err(cause) => (None, Outcome::Failed(one_line(&cause))),
        };
        if self.progress {
            let word = match &outcome {
                Outcome::Ok(_) => "ok",
                Outcome::Failed(_) => "FAILED",
                Outcome::Skipped(_) => "skipped",
            };
            eprintln!("[{}] {name} {word} ({millis} ms)", self.provider);
        }
        self.steps.push(Step {
            name: name.to_owned(),
            outcome,
            millis,
        });
        value.ok_or(Failed)
    }

    /// Records a step that was not run, and why.
    pub(crate) fn skip(&mut self, name: &str, why: impl Into<String>) {
        self.steps.push(Step {
            name: name.to_owned(),
            outcome: Outcome::Skipped(why.into()),
            millis: 0,
        });
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
        .flat_map(|f| f.steps.iter().map(|s| s.name.len()))
        .max()
        .unwrap_or(4)
        .max(4);
    let mut out = String::new();
    for flow in flows {
        let _ = writeln!(out, "{} — {}", flow.provider, flow.target);
        for step in &flow.steps {
            let (word, detail) = match &step.outcome {
                Outcome::Ok(d) => ("ok", d.as_str()),
                Outcome::Failed(d) => ("FAILED", d.as_str()),
                Outcome::Skipped(d) => ("skipped", d.as_str()),
            };
            let _ = writeln!(
                out,
                "  {:<name_width$}  {:<7}  {:>6} ms  {}",
                step.name, word, step.millis, detail
            );
        }
        let _ = writeln!(out);
    }
    let passed = flows.iter().filter(|f| f.passed()).count();
    let failed: Vec<&str> = flows
        .iter()
        .filter(|f| !f.passed())
        .map(|f| f.provider.as_str())
        .collect();
    let total: Duration = flows.iter().map(Flow::total).sum();
    let _ = write!(
        out,
        "summary: {passed}/{} providers passed in {} ms",
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
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_failed_step_fails_the_flow_and_shows_in_the_summary() {
        let mut ok = Flow::new("payconiq", false);
        let id = ok
            .step("create", async {
                Ok(("p1".to_owned(), "id p1".to_owned()))
            })
            .await;
        assert_eq!(id, Ok("p1".to_owned()));
        let mut bad = Flow::new("hub2", false);
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
}
