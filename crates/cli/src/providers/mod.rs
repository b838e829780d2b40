//! One module per provider: its real-sandbox configuration (the environment variables it reads,
//! as hooks that override the sandbox's) and its offline webhook verification. The flow itself
//! is one, over `payments_sandbox::hooks::ProviderHooks` ([`crate::checkout`],
//! [`crate::scenarios`]); against the embedded sandbox a provider runs on its sandbox hooks
//! ([`sandbox_target`]).

use std::time::{Duration, Instant};

use payments_core::webhook::Authenticity;
use payments_core::{Checkout, PaymentProvider};
use payments_sandbox::hooks::banq::BanqHooks;
use payments_sandbox::hooks::fintecture::FintectureHooks;
use payments_sandbox::hooks::hub2::Hub2Hooks;
use payments_sandbox::hooks::payconiq::PayconiqHooks;
use payments_sandbox::hooks::paylican::PaylicanHooks;
use payments_sandbox::hooks::{HookError, Paid, ProviderHooks};
use payments_sandbox::{Provider, RunningSandbox};
use serde_json::Value;

use crate::args::{CaptureArgs, VerifyCommand};
use crate::receiver::Receiver;
use crate::verify::{Capture, VerifyError};

mod banq;
mod fintecture;
mod hub2;
mod payconiq;
mod paylican;

/// Where one provider's flow runs, and with what.
pub(crate) struct Target {
    pub(crate) provider: Provider,
    /// The provider's hooks: the sandbox's, or a real provider's overriding them.
    pub(crate) hooks: Box<dyn ProviderHooks>,
    /// For the table: `sandbox (URL)` or the real provider.
    pub(crate) description: String,
    /// Whether the provider's webhooks can reach the receiver: `Ok(None)` at the receiver's own
    /// URL, `Ok(Some(public))` through a public URL forwarding to it, `Err(why)` not at all.
    pub(crate) webhooks: Result<Option<String>, String>,
    /// The order's amount, in the provider's currency's minor units.
    pub(crate) minor_units: i64,
    /// The least authenticity at which this provider's webhooks apply their status, when not
    /// the ledger's default.
    pub(crate) trust: Option<Authenticity>,
}

/// The order of each provider's demo, in minor units: amounts ending in 00 or 50, which the
/// sandbox's payer leaves to the demo (see the sandbox's magic amounts).
fn demo_minor_units(provider: Provider) -> i64 {
    match provider {
        // €12.50
        Provider::Payconiq => 1_250,
        // €273.00, the guide's example
        Provider::Fintecture => 27_300,
        // 5 000 XOF (no minor unit)
        Provider::Hub2 => 5_000,
        // $25.00
        Provider::Banq => 2_500,
        // 250 000 GNF (no minor unit)
        Provider::Paylican => 250_000,
    }
}

/// `provider` against the embedded sandbox.
pub(crate) fn sandbox_target(
    provider: Provider,
    sandbox: &RunningSandbox,
    receiver: &Receiver,
) -> Target {
    let hooks: Box<dyn ProviderHooks> = match provider {
        Provider::Payconiq => Box::new(PayconiqHooks),
        Provider::Fintecture => Box::new(FintectureHooks {
            return_url: receiver.url("/fintecture/return"),
        }),
        Provider::Hub2 => Box::new(Hub2Hooks::default()),
        Provider::Banq => Box::new(BanqHooks {
            guard_secret: Some(random_secret()),
            ..BanqHooks::default()
        }),
        Provider::Paylican => Box::new(PaylicanHooks::with_guard_secret(random_secret())),
    };
    Target {
        provider,
        hooks,
        description: format!("sandbox ({})", sandbox.provider_url(provider)),
        webhooks: Ok(None),
        minor_units: demo_minor_units(provider),
        trust: None,
    }
}

/// `provider` against its real sandbox, when its credentials are in the environment: `None`
/// when they are not, `Err` when they are incomplete or unusable.
pub(crate) fn real_target(provider: Provider) -> Option<Result<Target, String>> {
    let public = env("PAYMENTS_DEMO_PUBLIC_URL");
    match provider {
        Provider::Payconiq => payconiq::real_target(public),
        Provider::Fintecture => fintecture::real_target(public),
        Provider::Hub2 => hub2::real_target(public),
        Provider::Banq => banq::real_target(public),
        Provider::Paylican => paylican::real_target(public),
    }
}

/// A real provider's client, from the environment (for `payments ledger reconcile`): `None`
/// when its credentials are not set. No webhook is registered.
pub(crate) fn real_client(provider: Provider) -> Option<Result<Box<dyn PaymentProvider>, String>> {
    match provider {
        Provider::Payconiq => payconiq::real_client(),
        Provider::Fintecture => fintecture::real_client(),
        Provider::Hub2 => hub2::real_client(),
        Provider::Banq => banq::real_client(),
        Provider::Paylican => paylican::real_client(),
    }
}

/// A variable of the environment, unless empty.
pub(crate) fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// A random secret for this run: 64 hex digits from randomly keyed SipHash (the CLI has no RNG
/// dependency; this protects a local demo receiver, not money).
pub(crate) fn random_secret() -> String {
    use std::hash::{BuildHasher, Hasher};
    let state = std::collections::hash_map::RandomState::new();
    (0..4u32)
        .map(|i| {
            let mut hasher = state.build_hasher();
            hasher.write_u32(i);
            format!("{:016x}", hasher.finish())
        })
        .collect()
}

/// Real mode's payer: where to pay is printed on stderr (the payer is a person), then the
/// payment is polled until it is final or `timeout` passes.
pub(crate) async fn pay_by_polling(
    client: &dyn PaymentProvider,
    checkout: &Checkout,
    timeout: Duration,
    every: Duration,
) -> Result<Paid, HookError> {
    let provider = client.name();
    let places = [
        ("page", &checkout.redirect_url),
        ("deeplink", &checkout.deeplink),
        ("QR code", &checkout.qr_code_url),
    ];
    let shown: Vec<String> = places
        .iter()
        .filter_map(|(what, url)| url.as_ref().map(|u| format!("{what} {u}")))
        .collect();
    eprintln!(
        "[{provider}] pay {}: {}",
        checkout.payment_id,
        if shown.is_empty() {
            "(the provider gave no payer link)".to_owned()
        } else {
            shown.join(" , ")
        }
    );
    let started = Instant::now();
    loop {
        let payment = client.fetch_payment(&checkout.payment_id).await?;
        if payment.status.is_final() {
            return if payment.status.is_success() {
                Ok(Paid {
                    detail: format!(
                        "the payer paid: {} after {} s",
                        payment.raw_status,
                        started.elapsed().as_secs()
                    ),
                    observed: None,
                })
            } else {
                Err(HookError::new(format!(
                    "the payment ended {}",
                    payment.raw_status
                )))
            };
        }
        if started.elapsed() + every > timeout {
            return Err(HookError::new(format!(
                "not final within {} s (last status {})",
                timeout.as_secs(),
                payment.raw_status
            )));
        }
        tokio::time::sleep(every).await;
    }
}

/// A captured webhook verified with its provider's own verifier.
pub(crate) async fn verify(command: &VerifyCommand) -> Result<Value, VerifyError> {
    let capture = Capture::read(capture_args(command)).map_err(VerifyError::Usage)?;
    verify_capture(command, &capture).await
}

/// The captured request's options of `command`.
pub(crate) fn capture_args(command: &VerifyCommand) -> &CaptureArgs {
    match command {
        VerifyCommand::Payconiq(args) => &args.capture,
        VerifyCommand::Fintecture(args) => &args.capture,
        VerifyCommand::Hub2(args) => &args.capture,
        VerifyCommand::Banq(args) => &args.capture,
        VerifyCommand::Paylican(args) => &args.capture,
    }
}

/// `capture` verified as `command` says.
pub(crate) async fn verify_capture(
    command: &VerifyCommand,
    capture: &Capture,
) -> Result<Value, VerifyError> {
    match command {
        VerifyCommand::Payconiq(args) => payconiq::verify(args, capture).await,
        VerifyCommand::Fintecture(args) => fintecture::verify(args, capture).await,
        VerifyCommand::Hub2(args) => hub2::verify(args, capture).await,
        VerifyCommand::Banq(args) => banq::verify(args, capture).await,
        VerifyCommand::Paylican(args) => paylican::verify(args, capture).await,
    }
}
