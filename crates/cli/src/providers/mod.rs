//! One module per provider, each with the same two entry points:
//!
//! - `demo(ctx, flow)`: the provider's checkout flow, step by step (see [`crate::demo::STEPS`]),
//!   against the embedded sandbox, or the provider's real sandbox when its credentials are in
//!   the environment (each module documents its variables);
//! - `verify(input)`: a captured webhook verified with the provider's own verifier.

use payments_sandbox::Provider;
use serde_json::Value;

use crate::demo::DemoContext;
use crate::flow::{Failed, Flow};
use crate::verify::{VerifyError, VerifyInput};

mod banq;
mod fintecture;
mod hub2;
mod payconiq;
mod paylican;

pub(crate) async fn demo(
    provider: Provider,
    ctx: &DemoContext<'_>,
    flow: &mut Flow,
) -> Result<(), Failed> {
    match provider {
        Provider::Payconiq => payconiq::demo(ctx, flow).await,
        Provider::Fintecture => fintecture::demo(ctx, flow).await,
        Provider::Hub2 => hub2::demo(ctx, flow).await,
        Provider::Banq => banq::demo(ctx, flow).await,
        Provider::Paylican => paylican::demo(ctx, flow).await,
    }
}

pub(crate) async fn verify(provider: Provider, input: &VerifyInput) -> Result<Value, VerifyError> {
    match provider {
        Provider::Payconiq => payconiq::verify(input).await,
        Provider::Fintecture => fintecture::verify(input).await,
        Provider::Hub2 => hub2::verify(input).await,
        Provider::Banq => banq::verify(input).await,
        Provider::Paylican => paylican::verify(input).await,
    }
}
