//! HUB2 against the sandbox: the crate's merchant client pointed at `{sandbox}/hub2` (which
//! stands for `https://api.hub2.io`) with the sandbox's `ApiKey` / `MerchantId` / `Environment`;
//! the webhook is registered through the API (`POST /webhooks`), and deliveries are verified with
//! the crate's `Hub2WebhookVerifier` and the secret that registration returned
//! (`payments_sandbox::hooks::hub2`).

use payments_core::http::HttpConfig;
use payments_hub2::Hub2Client;
use payments_sandbox::RunningSandbox;

pub use payments_sandbox::hooks::hub2::{EVENTS, Hub2Hooks as Hub2SandboxHarness};

/// A merchant client for `sandbox`. HUB2 hosts no payment page: the neutral checkout's
/// `redirect_url` is the merchant's own page (`payer_page_url`), which runs the attempt.
pub fn client(sandbox: &RunningSandbox, http: HttpConfig) -> Hub2Client {
    match payments_sandbox::hooks::hub2::client(sandbox, http) {
        Ok(client) => client,
        Err(e) => panic!("a HUB2 client for the sandbox: {e}"),
    }
}
