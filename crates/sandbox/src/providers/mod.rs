//! The emulated providers: what each one's routes answer, which statuses the simulated payer
//! moves a payment through, how and when its webhooks are sent (and which documentation each
//! number comes from), and what is not emulated.
//!
//! | provider | prefix | connection details |
//! |---|---|---|
//! | [Payconiq by Bancontact](payconiq) | `/payconiq` | [`RunningSandbox::payconiq`](crate::RunningSandbox::payconiq) |
//! | [Fintecture](fintecture) | `/fintecture` | [`RunningSandbox::fintecture`](crate::RunningSandbox::fintecture) |
//! | [HUB2](hub2) | `/hub2` | [`RunningSandbox::hub2`](crate::RunningSandbox::hub2) |
//! | [Banq](banq) | `/banq` | [`RunningSandbox::banq`](crate::RunningSandbox::banq) |
//! | [Paylican](paylican) | `/paylican` | [`RunningSandbox::paylican`](crate::RunningSandbox::paylican) |
//!
//! Every provider module has the same shape inside: `model` (its payments and their state
//! machine, pure, with its own tests), `routes` (its HTTP API), `webhooks` (building and
//! scheduling its deliveries), `page` (its payer pages), and `auth` where the provider has a
//! token endpoint or signed requests. Each exposes to the rest of the sandbox its `State` (the
//! in-memory store, a field of the shared app state), `router()` (its routes, relative to its
//! prefix), `act(app, id, action)` (the simulated payer: control endpoints, magic amounts, payer
//! pages), `payments(app)` (its view of every payment, for `GET /_sandbox/{provider}/payments`),
//! `connection(app)` (its typed connection details) and `info(app)` (the same for
//! `GET /_sandbox`).

use axum::Router;
use serde_json::Value;

use crate::app::App;
use crate::{ControlError, PayerAction, Provider};

pub mod banq;
pub mod fintecture;
pub mod hub2;
pub mod payconiq;
pub mod paylican;

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
