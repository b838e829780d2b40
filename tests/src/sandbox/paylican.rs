//! Paylican against the sandbox (`payments_sandbox::hooks::paylican`).
//!
//! - Client: both of Paylican's base URLs (Keycloak and Payment) are the sandbox's provider URL;
//!   realm, client id, user and password are the sandbox's `paylican_*` credentials (password
//!   grant, then refresh tokens); amounts in GNF (no minor unit), payment type `SANDBOX`.
//! - Status: Paylican documents no status endpoint. The client is configured with the sandbox's
//!   own extension (`PaylicanConfig::status_path("/sandbox-extension/invoice/{invoiceId}")`,
//!   documented as not being Paylican's), so the scenarios that read a payment run against the
//!   emulator's state; with a real Paylican account, `get_payment` stays `Unsupported`.
//! - Webhooks: the URL is console-configured (`sandbox.set_webhook_url`), with a secret as its
//!   last path segment; deliveries are verified with the crate's verifier behind that guard, so
//!   a verified event is `Guarded` — never `Signed`: Paylican signs nothing, and a tampered body
//!   that still parses is accepted as the (guarded) claim it is.

pub use payments_sandbox::hooks::paylican::{
    GUARD_SECRET, PaylicanHooks as PaylicanSandboxHarness, STATUS_PATH,
};
