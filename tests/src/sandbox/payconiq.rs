//! Payconiq against the sandbox: the crate's client pointed at `{sandbox}/payconiq/v3` (as
//! `https://merchant.api.preprod.bancontact.net/v3`) with the sandbox's API key, callbacks
//! verified with the crate's JWKS-fetching verifier against the key set the sandbox serves
//! (`payments_sandbox::hooks::payconiq`).

pub use payments_sandbox::hooks::payconiq::{PayconiqHooks as PayconiqSandboxHarness, jwks_url};
