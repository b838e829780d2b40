//! One module per emulated provider. Each has the same shape:
//!
//! - `State`: its in-memory store (`Default`), a field of the shared app state;
//! - `router()`: its routes, relative to its prefix (`/payconiq` is added here);
//! - `act(app, id, action)`: the simulated payer (control endpoints, magic amounts);
//! - `payments(app)`: its view of every payment, for `GET /_sandbox/{provider}/payments`;
//! - `info(app)`: what a client needs (base URL, token URL, credentials, keys), for `GET /_sandbox`.

use axum::Router;
use serde_json::Value;

use crate::app::App;
use crate::{ControlError, PayerAction, Provider};

pub(crate) mod banq;
pub(crate) mod fintecture;
pub(crate) mod hub2;
pub(crate) mod payconiq;
pub(crate) mod paylican;

pub(crate) fn router() -> Router<App> {
    Router::new()
        .nest("/payconiq", payconiq::router())
        .nest("/fintecture", fintecture::router())
        .nest("/hub2", hub2::router())
        .nest("/banq", banq::router())
        .nest("/paylican", paylican::router())
}

pub(crate) async fn act(
    app: &App,
    provider: Provider,
    id: &str,
    action: PayerAction,
) -> Result<Value, ControlError> {
    match provider {
        Provider::Payconiq => payconiq::act(app, id, action).await,
        Provider::Fintecture => fintecture::act(app, id, action).await,
        Provider::Hub2 => hub2::act(app, id, action).await,
        Provider::Banq => banq::act(app, id, action).await,
        Provider::Paylican => paylican::act(app, id, action).await,
    }
}

pub(crate) fn payments(app: &App, provider: Provider) -> Vec<Value> {
    match provider {
        Provider::Payconiq => payconiq::payments(app),
        Provider::Fintecture => fintecture::payments(app),
        Provider::Hub2 => hub2::payments(app),
        Provider::Banq => banq::payments(app),
        Provider::Paylican => paylican::payments(app),
    }
}

pub(crate) fn info(app: &App, provider: Provider) -> Value {
    match provider {
        Provider::Payconiq => payconiq::info(app),
        Provider::Fintecture => fintecture::info(app),
        Provider::Hub2 => hub2::info(app),
        Provider::Banq => banq::info(app),
        Provider::Paylican => paylican::info(app),
    }
}
