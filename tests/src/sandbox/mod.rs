//! The conformance table, run against the local sandbox (`payments-sandbox`) instead of wiremock.
//!
//! Wiremock scenarios check a crate against the provider's documented answers, one request at a
//! time. These run the same promises against a stateful emulator: the payment really exists,
//! the payer really pays, the webhook really arrives, and faults are injected on the wire
//! (429, 5xx, dropped connections, latency, malformed bodies) so that "sent once" is checked by
//! counting what the provider received and how many payments it holds.
//!
//! A provider plugs in with its hooks ([`ProviderHooks`], in `payments_sandbox::hooks`: the one
//! trait the scenarios here and `payments demo` both run over), re-exported by the modules
//! below, and one `sandbox_scenarios!` line in `tests/conformance_sandbox.rs`.

use payments_core::PaymentProvider;
use payments_core::http::HttpConfig;
use payments_sandbox::RunningSandbox;

pub use payments_sandbox::hooks::{ProviderHooks, Verified};

pub mod banq;
pub mod fintecture;
pub mod hub2;
pub mod payconiq;
pub mod paylican;

/// What the scenarios run against: a provider's hooks ([`ProviderHooks`], the trait
/// `payments demo` runs its flow over too), with a client that panics when it cannot be set up.
///
/// Every [`ProviderHooks`] is one; a provider plugs in with its hooks in
/// `payments_sandbox::hooks` (re-exported by the modules below) and one `sandbox_scenarios!`
/// line in `tests/conformance_sandbox.rs`.
#[async_trait::async_trait]
pub trait SandboxHarness: ProviderHooks {
    /// A client pointed at `sandbox` with its credentials and `http` settings, after whatever
    /// webhook registration the provider needs so that webhooks go to `webhook_url`
    /// ([`ProviderHooks::connect`]).
    async fn client(
        &self,
        sandbox: &RunningSandbox,
        http: HttpConfig,
        webhook_url: &str,
    ) -> Box<dyn PaymentProvider> {
        match self.connect(sandbox, http, webhook_url).await {
            Ok(connected) => connected.client,
            Err(e) => panic!("{}: connecting to the sandbox: {e}", self.provider()),
        }
    }
}

impl<H: ProviderHooks> SandboxHarness for H {}

/// Lists every sandbox scenario once; `sandbox_scenarios!(module, harness)` expands to one
/// `#[tokio::test]` per scenario.
#[macro_export]
macro_rules! sandbox_scenarios {
    ($provider:ident, $harness:expr) => {
        mod $provider {
            use super::*;
            $crate::sandbox_scenarios!(@each $harness;
                create_is_pending_and_says_where_to_pay,
                the_payer_pays_and_the_payment_is_succeeded,
                a_failing_amount_ends_final_and_never_success,
                an_undocumented_status_is_unknown_never_success,
                a_429_on_create_is_retried_and_creates_one_payment,
                a_creation_answered_500_after_processing_is_sent_once,
                a_creation_answered_500_is_found_by_reference_or_declared_unsupported,
                a_creation_whose_connection_drops_is_sent_once,
                a_creation_timing_out_is_sent_once,
                a_read_answered_503_or_dropped_is_retried,
                a_malformed_answer_is_an_error_never_success,
                an_unknown_payment_is_a_provider_error,
                cancel_works_or_is_declared_unsupported,
                refund_works_or_is_declared_unsupported,
                the_paid_webhook_verifies_and_a_tampered_one_does_not,
                a_refused_webhook_is_retried_as_documented,
            );
        }
    };
    (@each $harness:expr; $($scenario:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $scenario() {
                $crate::sandbox::scenario::$scenario(&$harness).await;
            }
        )*
    };
}

/// The scenarios, each written once against [`SandboxHarness`].
pub mod scenario;
