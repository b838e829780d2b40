//! The URL that sends the payer to Paylican's payment page.
//!
//! After creating a payment, the merchant redirects the payer's browser (`GET`) to Keycloak's
//! authorization endpoint, whose `redirect_uri` is the payment page of the invoice:
//!
//! ```text
//! {keycloak}/auth/realms/PGW/protocol/openid-connect/auth
//!     ?client_id=invoice-system-client
//!     &redirect_uri={payment}/api/v1/pay/{type}/{merchantReference}/{invoiceId}
//!     [&response_type=code&scope=openid]
//! ```
//!
//! Each of the three path segments is percent-encoded on its own: every byte outside RFC 3986's
//! unreserved set (`A-Z a-z 0-9 - . _ ~`) becomes `%XX`, so a reference can add no `/`, `?`, `#`,
//! or `;` (which Java servers read as a matrix parameter) to the payment page's path. A segment that
//! is empty, `.` or `..` is refused: URL normalisation would remove it or climb a directory. The
//! whole `redirect_uri` is then encoded once more as a query value, so Keycloak decodes it back to
//! exactly the encoded payment-page URL.
//!
//! This builder does not use `payments_core::provider_support::join_path`, which builds the API
//! URLs (payment creation, the status endpoint) on a parsed URL: that exists only with the
//! `client` feature, while this module is part of the webhook-only build (a front end can build
//! the redirect without an HTTP stack or a URL parser). Both encode a segment with the same
//! `payments_core::provider_support::percent_encode`. The base URLs are checked (absolute
//! http(s), a host, no query or fragment) and used as written: give them in their usual form
//! (`https://pay.example`, lowercase host, no default port).
//!
//! ```
//! use payments_paylican::payment_page::PaymentPage;
//!
//! let page = PaymentPage::new(
//!     "https://sso.example/auth/realms/PGW/protocol/openid-connect/auth",
//!     "invoice-system-client",
//!     "https://pay.example",
//! )?;
//! assert_eq!(
//!     page.redirect_uri("XYZ", "REF 12/34", "XYZ2024-ade08")?,
//!     "https://pay.example/api/v1/pay/XYZ/REF%2012%2F34/XYZ2024-ade08"
//! );
//! assert_eq!(
//!     page.url("XYZ", "REF-1234", "XYZ2024-ade08")?,
//!     "https://sso.example/auth/realms/PGW/protocol/openid-connect/auth\
//!      ?client_id=invoice-system-client\
//!      &redirect_uri=https%3A%2F%2Fpay.example%2Fapi%2Fv1%2Fpay%2FXYZ%2FREF-1234%2FXYZ2024-ade08"
//! );
//! # Ok::<(), payments_core::Error>(())
//! ```

use payments_core::Error;
use payments_core::provider_support::{check_base_url, form_encode, percent_encode};

/// Longest path segment accepted (bytes, before encoding).
pub const MAX_SEGMENT: usize = 512;

/// Builds payment-page URLs for one Paylican configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentPage {
    /// The authorization endpoint, as given (it has a path: see [`with_path`]).
    authorize: String,
    client_id: String,
    /// The Payment URL without its trailing `/`.
    payment: String,
    response_type: Option<String>,
    scope: Option<String>,
}

impl PaymentPage {
    /// A builder for the authorization endpoint `authorize_url`
    /// (`{keycloak}/auth/realms/PGW/protocol/openid-connect/auth`), the Keycloak client id and the
    /// Payment URL.
    pub fn new(authorize_url: &str, client_id: &str, payment_url: &str) -> Result<Self, Error> {
        if client_id.is_empty() {
            return Err(Error::Config("the Paylican client_id is empty".into()));
        }
        check_base_url("authorize URL", authorize_url)?;
        check_base_url("payment_url", payment_url)?;
        Ok(PaymentPage {
            authorize: with_path(authorize_url),
            client_id: client_id.to_string(),
            payment: payment_url.trim_end_matches('/').to_string(),
            response_type: None,
            scope: None,
        })
    }

    /// Adds `response_type` (production integrations use `code`).
    pub fn response_type(mut self, response_type: impl Into<String>) -> Self {
        self.response_type = Some(response_type.into());
        self
    }

    /// Adds `scope` (production integrations use `openid`).
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// The payment page of one invoice:
    /// `{payment}/api/v1/pay/{type}/{merchantReference}/{invoiceId}`, each segment percent-encoded.
    pub fn redirect_uri(
        &self,
        payment_type: &str,
        merchant_reference: &str,
        invoice_id: &str,
    ) -> Result<String, Error> {
        let segments = [
            ("type", payment_type),
            ("merchantReference", merchant_reference),
            ("invoiceId", invoice_id),
        ];
        let mut url = format!("{}/api/v1/pay", self.payment);
        for (field, value) in segments {
            check_segment(field, value)?;
            url.push('/');
            url.push_str(&percent_encode(value));
        }
        Ok(url)
    }

    /// The URL to redirect the payer's browser to (`GET`).
    pub fn url(
        &self,
        payment_type: &str,
        merchant_reference: &str,
        invoice_id: &str,
    ) -> Result<String, Error> {
        let redirect = self.redirect_uri(payment_type, merchant_reference, invoice_id)?;
        let mut url = format!(
            "{}?client_id={}&redirect_uri={}",
            self.authorize,
            form_encode(&self.client_id),
            form_encode(&redirect)
        );
        for (name, value) in [
            ("response_type", &self.response_type),
            ("scope", &self.scope),
        ] {
            if let Some(value) = value {
                url.push_str(&format!("&{name}={}", form_encode(value)));
            }
        }
        Ok(url)
    }
}

/// `url` with `/` as its path when it has none (`https://sso.example` →
/// `https://sso.example/`), as a URL parser serializes it.
fn with_path(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or("", |(_, rest)| rest);
    if after_scheme.contains('/') {
        url.to_string()
    } else {
        format!("{url}/")
    }
}

/// Refuses what cannot be a path segment of the payment page.
pub(crate) fn check_segment(field: &str, value: &str) -> Result<(), Error> {
    if value.is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if value == "." || value == ".." {
        return Err(Error::invalid(
            field,
            "must not be `.` or `..` (it is a URL path segment)",
        ));
    }
    if value.len() > MAX_SEGMENT {
        return Err(Error::invalid(
            field,
            format!("at most {MAX_SEGMENT} bytes"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(Error::invalid(field, "must not contain control characters"));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn urls_without_a_path_get_the_root_path() {
        assert_eq!(with_path("https://sso.example"), "https://sso.example/");
        assert_eq!(
            with_path("https://sso.example:8443"),
            "https://sso.example:8443/"
        );
        assert_eq!(
            with_path("https://sso.example/auth"),
            "https://sso.example/auth"
        );
    }

    #[test]
    fn dot_segments_and_empty_values_are_refused() {
        for bad in ["", ".", ".."] {
            assert!(check_segment("invoiceId", bad).is_err(), "{bad:?}");
        }
        assert!(check_segment("invoiceId", "...").is_ok());
        assert!(check_segment("invoiceId", "a\nb").is_err());
        assert!(check_segment("invoiceId", &"a".repeat(MAX_SEGMENT + 1)).is_err());
    }
}
