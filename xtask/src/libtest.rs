//! Parsing the human-readable output of libtest (the default test harness).

/// How many trailing output lines are kept when a run fails without
/// reporting test failures (typically a compile error).
pub(crate) const TAIL_LINES: usize = 40;

/// Passed and failed test counts.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counts {
    /// Number of tests that passed.
    pub(crate) passed: u64,
    /// Number of tests that failed.
    pub(crate) failed: u64,
}

impl Counts {
    /// Adds two counts field by field.
    pub(crate) fn add(self, other: Self) -> Self {
        Self {
            passed: self.passed.saturating_add(other.passed),
            failed: self.failed.saturating_add(other.failed),
        }
    }
}

/// What one `cargo test --test TARGET` run amounted to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TargetOutcome {
    /// Passed and failed counts, including a synthetic failure for a run
    /// that failed without reporting any test failure.
    pub(crate) counts: Counts,
    /// Names of the tests libtest reported as failed.
    pub(crate) failing_tests: Vec<String>,
    /// Last lines of output, kept only when the run failed without a
    /// test failure to explain it (e.g. a compile error).
    pub(crate) output_tail: Option<String>,
}

/// Parses one libtest summary line, such as
/// `test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.52s`.
///
/// Returns `None` for any other line.
pub(crate) fn parse_summary_line(line: &str) -> Option<Counts> {
    let rest = line.trim().strip_prefix("test result: ")?;
    let (status, fields) = rest.split_once(". ")?;
    if status != "ok" && status != "FAILED" {
        return None;
    }
    let mut passed = None;
    let mut failed = None;
    for field in fields.split(';') {
        let mut words = field.split_whitespace();
        let (Some(number), Some(label)) = (words.next(), words.next()) else {
            continue;
        };
        let Ok(number) = number.parse::<u64>() else {
            continue;
        };
        match label {
            "passed" => passed = Some(number),
            "failed" => failed = Some(number),
            _ => {}
        }
    }
    Some(Counts {
        passed: passed?,
        failed: failed?,
    })
}

/// Sums every summary line in `output`; `None` if there is none.
pub(crate) fn sum_summaries(output: &str) -> Option<Counts> {
    output
        .lines()
        .filter_map(parse_summary_line)
        .reduce(Counts::add)
}

/// Collects the names of failed tests from lines like
/// `test some::name ... FAILED`.
pub(crate) fn failing_tests(output: &str) -> Vec<String> {
    output
        .lines()
        .filter_map(|line| {
            line.trim_end()
                .strip_prefix("test ")?
                .strip_suffix(" ... FAILED")
        })
        .map(str::to_owned)
        .collect()
}

/// Returns the last `count` lines of `output`.
pub(crate) fn tail(output: &str, count: usize) -> String {
    let lines: Vec<&str> = output.lines().collect();
    let skip = lines.len().saturating_sub(count);
    lines.into_iter().skip(skip).collect::<Vec<_>>().join("\n")
}

/// Interprets the combined output and success flag of one cargo test run.
///
/// If cargo failed but no test failure was parsed, the run counts as (at
/// least) one failure and the output tail is kept for display.
pub(crate) fn evaluate(output: &str, success: bool) -> TargetOutcome {
    let mut counts = sum_summaries(output).unwrap_or_default();
    let failing_tests = failing_tests(output);
    let mut output_tail = None;
    if !success && counts.failed == 0 {
        let named = u64::try_from(failing_tests.len()).unwrap_or(u64::MAX);
        counts.failed = named.max(1);
        output_tail = Some(tail(output, TAIL_LINES));
    }
    TargetOutcome {
        counts,
        failing_tests,
        output_tail,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const OK: &str = "test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.52s";
    const FAILED: &str = "test result: FAILED. 3 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s";

    fn counts(passed: u64, failed: u64) -> Counts {
        Counts { passed, failed }
    }

    #[test]
    fn parses_ok_summary() {
        assert_eq!(parse_summary_line(OK), Some(counts(12, 0)));
    }

    #[test]
    fn parses_failed_summary() {
        assert_eq!(parse_summary_line(FAILED), Some(counts(3, 1)));
    }

    #[test]
    fn parses_summary_with_surrounding_whitespace() {
        assert_eq!(
            parse_summary_line(&format!("  {OK}\r")),
            Some(counts(12, 0))
        );
    }

    #[test]
    fn ignores_garbage_lines() {
        for line in [
            "",
            "running 12 tests",
            "test money::adds ... ok",
            "test result: ok.",
            "test result: maybe. 1 passed; 0 failed;",
            "test result: ok. many passed; 0 failed;",
            "test result: ok. 1 passed; 2 ignored",
            "error: test failed, to rerun pass `--test contract`",
        ] {
            assert_eq!(parse_summary_line(line), None, "{line:?}");
        }
    }

    #[test]
    fn sums_multiple_summary_lines() {
        let output = format!("running 12 tests\n{OK}\n\nrunning 4 tests\ngarbage\n{FAILED}\n");
        assert_eq!(sum_summaries(&output), Some(counts(15, 1)));
        assert_eq!(sum_summaries("no summary here"), None);
    }

    #[test]
    fn collects_failing_test_names() {
        let output = "\
running 4 tests
test money::adds ... ok
test money::rounds_half_even ... FAILED
test webhook::verifies ... ignored
test token::refreshes_early ... FAILED\r
test result: FAILED. 1 passed; 2 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s
";
        assert_eq!(
            failing_tests(output),
            ["money::rounds_half_even", "token::refreshes_early"]
        );
        assert_eq!(failing_tests("test x ... ok\n"), Vec::<String>::new());
    }

    #[test]
    fn tail_keeps_last_lines() {
        assert_eq!(tail("a\nb\nc\n", 2), "b\nc");
        assert_eq!(tail("a\nb", 5), "a\nb");
        assert_eq!(tail("", 5), "");
    }

    #[test]
    fn evaluate_successful_run() {
        let outcome = evaluate(&format!("{OK}\n"), true);
        assert_eq!(
            outcome,
            TargetOutcome {
                counts: counts(12, 0),
                failing_tests: Vec::new(),
                output_tail: None,
            }
        );
    }

    #[test]
    fn evaluate_test_failures_keep_no_tail() {
        let output = format!("test a::b ... FAILED\n{FAILED}\n");
        let outcome = evaluate(&output, false);
        assert_eq!(outcome.counts, counts(3, 1));
        assert_eq!(outcome.failing_tests, ["a::b"]);
        assert_eq!(outcome.output_tail, None);
    }

    #[test]
    fn evaluate_build_failure_counts_one_and_keeps_tail() {
        let output: String = (1..=50).map(|i| format!("line {i}\n")).collect();
        let outcome = evaluate(&output, false);
        assert_eq!(outcome.counts, counts(0, 1));
        let tail = outcome.output_tail.unwrap();
        assert_eq!(tail.lines().count(), TAIL_LINES);
        assert!(tail.starts_with("line 11\n"), "{tail}");
        assert!(tail.ends_with("line 50"), "{tail}");
    }
}
