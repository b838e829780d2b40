//! Banq against the sandbox: the real `BanqClient` with the sandbox's credentials, webhooks
//! registered through `users/me` → `webhook-config` (the documented retry count, 5), and
//! unsigned notices confirmed by the crate's fetch-back (`BanqClient::confirm`)
//! (`payments_sandbox::hooks::banq`).

use payments_banq::BanqClient;
use payments_core::http::HttpConfig;
use payments_sandbox::RunningSandbox;

pub use payments_sandbox::hooks::banq::BanqHooks as BanqSandboxHarness;

/// A client for `sandbox` with its credentials (both token flows).
pub fn banq_client(sandbox: &RunningSandbox, http: HttpConfig) -> BanqClient {
    match payments_sandbox::hooks::banq::banq_client(sandbox, http) {
        Ok(client) => client,
        Err(e) => panic!("a Banq client for the sandbox: {e}"),
    }
}
