//! Paylican's invoice webhooks: unsigned JSON posted to the console-configured URL (basic auth
//! from its user info, a sandbox convenience), 3 attempts.

use std::time::Duration;

use base64::Engine as _;

use crate::Provider;
use crate::app::App;
use crate::deliveries::Outgoing;
use payments_core::provider_support::percent_decode;

/// Delays before the two retries of a refused webhook (3 attempts in all) `[I]`.
pub(super) const RETRY_DELAYS: [Duration; 2] = [Duration::from_secs(60), Duration::from_secs(300)];

/// A configured URL's user info as basic-auth credentials, and the URL without it.
fn split_user_info(url: &str) -> (String, Option<String>) {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) if !parsed.username().is_empty() => {
            let user = String::from_utf8_lossy(&percent_decode(parsed.username())).into_owned();
            let password =
                String::from_utf8_lossy(&percent_decode(parsed.password().unwrap_or("")))
                    .into_owned();
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            (parsed.to_string(), Some(format!("{user}:{password}")))
        }
        _ => (url.to_owned(), None),
    }
}

/// The configured URL for display: a user-info password is hidden.
pub(super) fn shown_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

pub(super) fn send(app: &App, invoice_id: &str, event: String, body: String) {
    let Some(configured) = app.webhook_url(Provider::Paylican) else {
        tracing::info!(%invoice_id, %event, "no Paylican webhook URL configured: nothing sent");
        return;
    };
    let (url, basic) = split_user_info(&configured);
    let mut headers = vec![("Content-Type".to_owned(), "application/json".to_owned())];
    if let Some(credentials) = basic {
        headers.push((
            "Authorization".to_owned(),
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(credentials)
            ),
        ));
    }
    app.deliver(Outgoing {
        provider: Provider::Paylican,
        payment_id: invoice_id.to_owned(),
        event,
        url,
        headers,
        body,
        retry_delays: RETRY_DELAYS.to_vec(),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_info_becomes_basic_credentials_and_is_hidden_when_shown() {
        let (url, basic) = split_user_info("http://paylican:s%40cret@127.0.0.1:9/hook/x");
        assert_eq!(url, "http://127.0.0.1:9/hook/x");
        assert_eq!(basic.as_deref(), Some("paylican:s@cret"));
        assert_eq!(
            split_user_info("http://127.0.0.1:9/hook"),
            ("http://127.0.0.1:9/hook".to_owned(), None)
        );
        assert!(!shown_url("http://u:secret@127.0.0.1/h").contains("secret"));
    }
}
