//! Aggregating per-target outcomes and rendering the summary table.

use std::time::Duration;

use crate::libtest::{Counts, TargetOutcome};

/// Failures of one contract test target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TargetFailure {
    /// Test target name (e.g. `contract_http`).
    pub(crate) target: String,
    /// Names of the tests that failed.
    pub(crate) tests: Vec<String>,
    /// Output tail of a run that failed without a test failure.
    pub(crate) output_tail: Option<String>,
}

/// Results of all contract test targets of one provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProviderReport {
    /// Provider name (e.g. `core`).
    pub(crate) name: String,
    /// Counts summed over all of the provider's contract targets.
    pub(crate) counts: Counts,
    /// Wall time spent building and running the provider's targets.
    pub(crate) elapsed: Duration,
    /// Targets that had failures, in run order.
    pub(crate) failures: Vec<TargetFailure>,
}

impl ProviderReport {
    /// Aggregates the outcomes of a provider's targets, given as
    /// `(target name, outcome)` pairs.
    pub(crate) fn new(
        name: &str,
        elapsed: Duration,
        outcomes: Vec<(String, TargetOutcome)>,
    ) -> Self {
        let mut counts = Counts::default();
        let mut failures = Vec::new();
        for (target, outcome) in outcomes {
            counts = counts.add(outcome.counts);
            if !outcome.failing_tests.is_empty() || outcome.output_tail.is_some() {
                failures.push(TargetFailure {
                    target,
                    tests: outcome.failing_tests,
                    output_tail: outcome.output_tail,
                });
            }
        }
        Self {
            name: name.to_owned(),
            counts,
            elapsed,
            failures,
        }
    }
}

/// Sums the counts of all providers.
pub(crate) fn total_counts(reports: &[ProviderReport]) -> Counts {
    reports
        .iter()
        .fold(Counts::default(), |sum, report| sum.add(report.counts))
}

/// Formats a duration as seconds with one decimal, e.g. `3.2s`.
pub(crate) fn format_duration(duration: Duration) -> String {
    format!("{:.1}s", duration.as_secs_f64())
}

/// One row of the summary table, already formatted.
struct Row {
    /// First column: provider name, header or `total`.
    name: String,
    /// Passed count.
    passed: String,
    /// Failed count.
    failed: String,
    /// Wall time.
    time: String,
}

impl Row {
    /// Formats a data row.
    fn data(name: &str, counts: Counts, elapsed: Duration) -> Self {
        Self {
            name: name.to_owned(),
            passed: counts.passed.to_string(),
            failed: counts.failed.to_string(),
            time: format_duration(elapsed),
        }
    }
}

/// Renders the aligned summary table: a header, one row per provider and
/// a `total` row. Names are left-aligned, numbers and times right-aligned.
pub(crate) fn render_table(reports: &[ProviderReport]) -> String {
    let mut rows = vec![Row {
        name: "provider".to_owned(),
        passed: "passed".to_owned(),
        failed: "failed".to_owned(),
        time: "time".to_owned(),
    }];
    rows.extend(
        reports
            .iter()
            .map(|report| Row::data(&report.name, report.counts, report.elapsed)),
    );
    let total_time = reports.iter().map(|report| report.elapsed).sum();
    rows.push(Row::data("total", total_counts(reports), total_time));

    let width =
        |column: fn(&Row) -> &str| rows.iter().map(|row| column(row).len()).max().unwrap_or(0);
    let name_w = width(|row| &row.name);
    let passed_w = width(|row| &row.passed);
    let failed_w = width(|row| &row.failed);
    let time_w = width(|row| &row.time);

    rows.iter()
        .map(|row| {
            format!(
                "{:<name_w$}    {:>passed_w$}  {:>failed_w$}  {:>time_w$}\n",
                row.name, row.passed, row.failed, row.time
            )
        })
        .collect()
}

/// Renders, for each provider with failures, the failing test names and
/// the output tail of runs that failed without a test failure.
///
/// Returns an empty string when nothing failed.
pub(crate) fn render_failures(reports: &[ProviderReport]) -> String {
    let mut out = String::new();
    for report in reports.iter().filter(|report| !report.failures.is_empty()) {
        out.push_str(&format!("\nfailures in {}:\n", report.name));
        for failure in &report.failures {
            for test in &failure.tests {
                out.push_str(&format!("  {}: {test}\n", failure.target));
            }
            if let Some(tail) = &failure.output_tail {
                out.push_str(&format!(
                    "  {}: cargo test failed without reporting a test failure; last output lines:\n",
                    failure.target
                ));
                for line in tail.lines() {
                    if line.is_empty() {
                        out.push_str("    |\n");
                    } else {
                        out.push_str(&format!("    | {line}\n"));
                    }
                }
            }
        }
    }
    out
}

/// Decides the overall result: `Err` with a message if any contract test
/// failed or if none ran at all.
pub(crate) fn verdict(totals: Counts) -> Result<(), String> {
    if totals.failed > 0 {
        Err(format!("{} contract test(s) failed", totals.failed))
    } else if totals.passed == 0 {
        Err("contract test targets were found but no contract test ran".to_owned())
    } else {
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn report(name: &str, passed: u64, failed: u64, millis: u64) -> ProviderReport {
        ProviderReport {
            name: name.to_owned(),
            counts: Counts { passed, failed },
            elapsed: Duration::from_millis(millis),
            failures: Vec::new(),
        }
    }

    #[test]
    fn renders_table_exactly() {
        let reports = [
            report("core", 14, 0, 3_200),
            report("payconiq", 41, 0, 5_900),
        ];
        assert_eq!(
            render_table(&reports),
            "\
provider    passed  failed  time
core            14       0  3.2s
payconiq        41       0  5.9s
total           55       0  9.1s
"
        );
    }

    #[test]
    fn table_widens_columns_for_long_values() {
        let reports = [report("c", 1_234_567, 2, 61_240)];
        assert_eq!(
            render_table(&reports),
            "\
provider     passed  failed   time
c           1234567       2  61.2s
total       1234567       2  61.2s
"
        );
    }

    #[test]
    fn table_without_providers_has_header_and_total() {
        assert_eq!(
            render_table(&[]),
            "provider    passed  failed  time\ntotal            0       0  0.0s\n"
        );
    }

    #[test]
    fn aggregates_outcomes_and_renders_failures() {
        let outcomes = vec![
            (
                "contract".to_owned(),
                TargetOutcome {
                    counts: Counts {
                        passed: 5,
                        failed: 0,
                    },
                    failing_tests: Vec::new(),
                    output_tail: None,
                },
            ),
            (
                "contract_http".to_owned(),
                TargetOutcome {
                    counts: Counts {
                        passed: 2,
                        failed: 2,
                    },
                    failing_tests: vec!["a::one".to_owned(), "b::two".to_owned()],
                    output_tail: None,
                },
            ),
            (
                "contract_token".to_owned(),
                TargetOutcome {
                    counts: Counts {
                        passed: 0,
                        failed: 1,
                    },
                    failing_tests: Vec::new(),
                    output_tail: Some("error[E0425]: oops\n\nerror: aborting".to_owned()),
                },
            ),
        ];
        let core = ProviderReport::new("core", Duration::from_secs(1), outcomes);
        assert_eq!(
            core.counts,
            Counts {
                passed: 7,
                failed: 3
            }
        );
        assert_eq!(core.failures.len(), 2);

        let reports = [core, report("payconiq", 4, 0, 100)];
        assert_eq!(
            render_failures(&reports),
            "
failures in core:
  contract_http: a::one
  contract_http: b::two
  contract_token: cargo test failed without reporting a test failure; last output lines:
    | error[E0425]: oops
    |
    | error: aborting
"
        );
        assert_eq!(render_failures(&[report("payconiq", 4, 0, 100)]), "");
    }

    #[test]
    fn verdict_requires_passes_and_no_failures() {
        assert_eq!(
            verdict(Counts {
                passed: 3,
                failed: 0
            }),
            Ok(())
        );
        assert!(
            verdict(Counts {
                passed: 3,
                failed: 1
            })
            .is_err()
        );
        assert!(verdict(Counts::default()).is_err());
    }

    #[test]
    fn formats_durations_with_one_decimal() {
        assert_eq!(format_duration(Duration::from_millis(3_249)), "3.2s");
        assert_eq!(format_duration(Duration::ZERO), "0.0s");
    }
}
