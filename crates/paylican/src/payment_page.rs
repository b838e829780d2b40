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
//! This builder does not use `payments_core::http::join_path`, which builds the API URLs
//! (payment creation, the status endpoint): that exists only with the `client` feature, while
//! this module is part of the webhook-only build (a front end can build the redirect without an
//! HTTP stack); and it percent-encodes less than a browser URL into a Java service needs
//! (`;`, `=`, `&`, `+`, `:`, `@` stay literal there).
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
use url::Url;

use crate::config::parse_base;

/// Longest path segment accepted (bytes, before encoding).
pub const MAX_SEGMENT: usize = 512;

/// Builds payment-page URLs for one Paylican configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentPage {
    authorize: Url,
    client_id: String,
    payment: Url,
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
        Ok(PaymentPage {
            authorize: parse_base("authorize URL", authorize_url)?,
            client_id: client_id.to_string(),
            payment: parse_base("payment_url", payment_url)?,
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
        let mut path = self.payment.path().trim_end_matches('/').to_string();
        path.push_str("/api/v1/pay");
        for (field, value) in segments {
            check_segment(field, value)?;
            path.push('/');
            path.push_str(&encode_segment(value));
        }
        let mut url = self.payment.clone();
        url.set_path(&path);
        Ok(url.into())
    }

    /// The URL to redirect the payer's browser to (`GET`).
    pub fn url(
        &self,
        payment_type: &str,
        merchant_reference: &str,
        invoice_id: &str,
    ) -> Result<String, Error> {
        let redirect = self.redirect_uri(payment_type, merchant_reference, invoice_id)?;
        let mut url = self.authorize.clone();
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("client_id", &self.client_id)
                .append_pair("redirect_uri", &redirect);
            if let Some(response_type) = &self.response_type {
                query.append_pair("response_type", response_type);
            }
            if let Some(scope) = &self.scope {
                query.append_pair("scope", scope);
            }
        }
        Ok(url.into())
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

/// Percent-encodes every byte outside RFC 3986's unreserved set.
pub(crate) fn encode_segment(value: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn segments_encode_everything_but_unreserved() {
        assert_eq!(encode_segment("AZaz09-._~"), "AZaz09-._~");
        assert_eq!(
            encode_segment("a/b?c#d;e&f=g+h %i"),
            "a%2Fb%3Fc%23d%3Be%26f%3Dg%2Bh%20%25i"
        );
        assert_eq!(encode_segment("é"), "%C3%A9");
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
