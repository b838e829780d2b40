//! A sandbox per test, and what tests ask of it.

use payments_sandbox::{Fault, FaultRule, RunningSandbox, Sandbox};

/// A sandbox on an ephemeral port with time 1000 times faster (webhook retries, magic-amount
/// outcomes); panics when it cannot start.
pub async fn start_sandbox() -> RunningSandbox {
    Sandbox::builder()
        .time_divisor(1000)
        .start()
        .await
        .unwrap_or_else(|e| panic!("starting the sandbox: {e}"))
}

/// How many requests the sandbox received that match `method` and `path` (a route pattern as in
/// [`FaultRule::new`], `*` standing for one segment).
pub fn count_requests(sandbox: &RunningSandbox, method: &str, path: &str) -> usize {
    let rule = FaultRule::new(method, path, Fault::Drop);
    sandbox
        .requests()
        .iter()
        .filter(|r| rule.matches(&r.method, &r.path))
        .count()
}

/// The URL of the sandbox's webhook sink `name` (`{base}/_sandbox/sink/{name}`), which records
/// what it receives and answers 200.
pub fn sink_url(sandbox: &RunningSandbox, name: &str) -> String {
    format!("{}/_sandbox/sink/{name}", sandbox.base_url())
}
