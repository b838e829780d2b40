//! A sandbox per test, and what tests ask of it.

use payments_sandbox::{Fault, FaultRule, PayerAction, Provider, RunningSandbox, Sandbox};
use serde_json::Value;

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

/// The next request matching `method` and `path` (as in [`FaultRule::new`]) meets `fault`
/// instead of the sandbox: once, before it is handled.
pub fn fault_once(sandbox: &RunningSandbox, method: &str, path: &str, fault: Fault) {
    sandbox.add_fault(FaultRule::new(method, path, fault).times(1));
}

/// The next request matching `method` and `path` is handled (a creation happens), then its
/// answer is replaced by `fault`: once.
pub fn fault_once_after_processing(
    sandbox: &RunningSandbox,
    method: &str,
    path: &str,
    fault: Fault,
) {
    sandbox.add_fault(
        FaultRule::new(method, path, fault)
            .times(1)
            .after_processing(),
    );
}

/// An answer of bare `status`, without a body.
pub fn status_fault(status: u16) -> Fault {
    Fault::Status { status, body: None }
}

/// A 429 answer with `Retry-After: {retry_after_secs}`.
pub fn too_many_requests(retry_after_secs: u64) -> Fault {
    Fault::TooManyRequests { retry_after_secs }
}

/// The payer's `action` on `provider`'s payment `id`, as the sandbox shows the payment after it;
/// panics when the sandbox refuses the action.
pub async fn act(
    sandbox: &RunningSandbox,
    provider: Provider,
    id: &str,
    action: PayerAction,
) -> Value {
    sandbox
        .act(provider, id, action)
        .await
        .unwrap_or_else(|e| panic!("{provider:?} payment {id}: the action was refused: {e}"))
}
