//! Hub2 (placeholder: routes to be written).

use axum::Router;
use serde_json::{Value, json};

use crate::app::App;
use crate::{ControlError, PayerAction, Provider};

/// In-memory store.
#[derive(Debug, Default)]
pub(crate) struct State {}

pub(crate) fn router() -> Router<App> {
    Router::new()
}

pub(crate) async fn act(_app: &App, id: &str, _action: PayerAction) -> Result<Value, ControlError> {
    Err(ControlError::NotFound {
        provider: Provider::Hub2,
        id: id.to_owned(),
    })
}

pub(crate) fn payments(_app: &App) -> Vec<Value> {
    Vec::new()
}

pub(crate) fn info(app: &App) -> Value {
    json!({ "base_url": app.provider_url(Provider::Hub2) })
}
