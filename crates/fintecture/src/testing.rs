//! Fintecture's side of the protocol, for tests and the local sandbox.
//!
//! - [`WebhookSigner`] produces webhook headers exactly as Fintecture does: the signing string
//!   encrypted with the application's **public** key (RSA-OAEP SHA-1), plus `Digest`, `Date`
//!   and `X-Request-ID`. Post its output to your handler to exercise the real verifier.
//! - [`RequestSignatureVerifier`] checks a signed API request the way Fintecture does, with the
//!   application's public key: a sandbox (or a wiremock matcher) uses it to refuse a request
//!   whose signing string, digest or key id is wrong.
//! - [`SequentialIds`] gives deterministic `X-Request-ID` values for snapshots.
//!
//! None of this can forge real webhooks: a signer built from a key pair you generated only
//! convinces a verifier configured with that same key pair.

use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use payments_core::Error;
use payments_core::provider_support::constant_time_eq;
use payments_core::webhook::{WebhookRejection, WebhookRequest};
use time::OffsetDateTime;

use crate::keys::AppPublicKey;
use crate::signing::{
    ALGORITHM, RequestIdSource, SignatureHeader, digest_header, http_date, path_and_query,
    request_signing_string,
};

/// Signs webhooks like Fintecture, with the application's public key.
#[derive(Debug, Clone)]
pub struct WebhookSigner {
    app_id: String,
    public_key: AppPublicKey,
    sign_request_id: bool,
}

/// Headers of one signed webhook delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedWebhook {
    /// `Signature`, `Digest`, `Date`, `X-Request-ID`, in that order.
    pub headers: Vec<(String, String)>,
    /// The plaintext that was encrypted (for debugging tests).
    pub signing_string: String,
}

impl SignedWebhook {
    /// The value of a header by name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Replaces a header's value (tests that tamper with one header).
    pub fn set_header(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        match self
            .headers
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some(slot) => slot.1 = value,
            None => self.headers.push((name.to_string(), value)),
        }
    }
}

impl WebhookSigner {
    /// A signer for the application `app_id` whose public key is `public_key`.
    pub fn new(app_id: impl Into<String>, public_key: AppPublicKey) -> Self {
        WebhookSigner {
            app_id: app_id.into(),
            public_key,
            sign_request_id: true,
        }
    }

    /// Leaves `x-request-id` out of the signing string (`headers="date digest"`).
    pub fn without_request_id(mut self) -> Self {
        self.sign_request_id = false;
        self
    }

    /// Signs `body` as sent at `date` with the delivery id `request_id`.
    pub fn sign(
        &self,
        body: &[u8],
        date: OffsetDateTime,
        request_id: &str,
    ) -> Result<SignedWebhook, Error> {
        let date = http_date(date);
        let digest = digest_header(body);
        let mut lines = vec![format!("date: {date}"), format!("digest: {digest}")];
        let mut names = vec!["date", "digest"];
        if self.sign_request_id {
            lines.push(format!("x-request-id: {request_id}"));
            names.push("x-request-id");
        }
        let signing_string = lines.join("\n");
        let signature = self.signature_header(&signing_string, &names)?;
        Ok(SignedWebhook {
            headers: vec![
                ("Signature".into(), signature),
                ("Digest".into(), digest),
                ("Date".into(), date),
                ("X-Request-ID".into(), request_id.to_string()),
            ],
            signing_string,
        })
    }

    /// A `Signature` header over an arbitrary plaintext (tests of malformed signing strings).
    pub fn signature_header(&self, plaintext: &str, headers: &[&str]) -> Result<String, Error> {
        let ciphertext = self.public_key.encrypt_oaep_sha1(plaintext.as_bytes())?;
        Ok(SignatureHeader {
            key_id: self.app_id.clone(),
            algorithm: ALGORITHM.into(),
            headers: headers.iter().map(|h| (*h).to_string()).collect(),
            signature: B64.encode(ciphertext),
        }
        .to_header_value())
    }
}

/// What a valid request signature established.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifiedRequestSignature {
    /// The signing string that verified.
    pub signing_string: String,
    /// `X-Request-ID`.
    pub request_id: String,
    /// `Date`.
    pub date: String,
}

/// Checks signed API requests with the application's public key, as Fintecture does.
#[derive(Debug, Clone)]
pub struct RequestSignatureVerifier {
    app_id: String,
    public_key: AppPublicKey,
}

impl RequestSignatureVerifier {
    /// A verifier for `app_id` with its public key.
    pub fn new(app_id: impl Into<String>, public_key: AppPublicKey) -> Self {
        RequestSignatureVerifier {
            app_id: app_id.into(),
            public_key,
        }
    }

    /// Verifies `request` (method, full URL, headers, raw body): `keyId`, `algorithm`, the exact
    /// list of signed headers (`(request-target) date [digest] x-request-id`, `digest` iff the
    /// body is not empty), the `Digest` over the raw body, and the RSA PKCS#1 v1.5 SHA-256
    /// signature over the signing string rebuilt from the request as received.
    pub fn verify(
        &self,
        request: &WebhookRequest<'_>,
    ) -> Result<VerifiedRequestSignature, WebhookRejection> {
        let header =
            SignatureHeader::parse(request.require_header("Signature")?).map_err(|reason| {
                WebhookRejection::MalformedHeader {
                    header: "Signature".into(),
                    reason,
                }
            })?;
        if header.algorithm != ALGORITHM {
            return Err(WebhookRejection::AlgorithmNotAllowed(header.algorithm));
        }
        if header.key_id != self.app_id {
            return Err(WebhookRejection::ClaimMismatch {
                claim: "keyId".into(),
            });
        }
        let body = request.body();
        let digest = if body.is_empty() {
            None
        } else {
            let computed = digest_header(body);
            let sent = request.require_header("Digest")?;
            if !constant_time_eq(sent.as_bytes(), computed.as_bytes()) {
                return Err(WebhookRejection::DigestMismatch);
            }
            Some(computed)
        };
        let date = request.require_header("Date")?;
        let request_id = request.require_header("X-Request-ID")?;
        let (signing_string, names) = request_signing_string(
            request.method(),
            path_and_query(request.url()),
            date,
            digest.as_deref(),
            request_id,
        );
        if header.headers != names {
            return Err(WebhookRejection::MalformedHeader {
                header: "Signature".into(),
                reason: format!(
                    "headers={:?}, expected {:?}",
                    header.headers.join(" "),
                    names.join(" ")
                ),
            });
        }
        let signature = B64.decode(header.signature.as_bytes()).map_err(|_| {
            WebhookRejection::MalformedHeader {
                header: "Signature".into(),
                reason: "signature is not base64".into(),
            }
        })?;
        if !self
            .public_key
            .verify(signing_string.as_bytes(), &signature)
        {
            return Err(WebhookRejection::BadSignature);
        }
        Ok(VerifiedRequestSignature {
            signing_string,
            request_id: request_id.to_string(),
            date: date.to_string(),
        })
    }
}

/// Deterministic request ids: `00000000-0000-4000-8000-000000000001`, `...002`, ...
#[derive(Debug, Default)]
pub struct SequentialIds {
    next: AtomicU64,
}

impl SequentialIds {
    /// Ids starting at 1.
    pub fn new() -> Self {
        Self::default()
    }
}

impl RequestIdSource for SequentialIds {
    fn next_id(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        format!("00000000-0000-4000-8000-{n:012}")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::keys::AppPrivateKey;
    use crate::signing::sign_request;

    #[test]
    fn signed_requests_verify_and_tampering_fails() {
        let key = AppPrivateKey::generate().unwrap();
        let verifier = RequestSignatureVerifier::new("app", key.public_key().clone());
        let url = "http://127.0.0.1:1/pis/v2/connect?state=s&redirect_uri=https%3A%2F%2Fx";
        let body = br#"{"a":1}"#;
        let signed = sign_request(
            &key,
            "app",
            "POST",
            path_and_query(url),
            body,
            "Wed, 26 Feb 2020 17:29:51 GMT",
            "id-1",
        )
        .unwrap();
        let digest = signed.digest.clone().unwrap();
        let make =
            |method: &'static str, url: &'static str, body: &'static [u8]| (method, url, body);
        let check = |(method, url, body): (&str, &str, &[u8]), sig: &str| {
            let request = WebhookRequest::new(method, url, body)
                .header("Signature", sig)
                .header("Digest", &digest)
                .header("Date", &signed.date)
                .header("X-Request-ID", &signed.request_id);
            verifier.verify(&request)
        };
        assert!(check(make("POST", url, body), &signed.signature).is_ok());
        // Another query string, method or body fails.
        let other_url = "http://127.0.0.1:1/pis/v2/connect?state=t&redirect_uri=https%3A%2F%2Fx";
        assert_eq!(
            check(make("POST", other_url, body), &signed.signature),
            Err(WebhookRejection::BadSignature)
        );
        assert_eq!(
            check(make("PUT", url, body), &signed.signature),
            Err(WebhookRejection::BadSignature)
        );
        assert_eq!(
            check(make("POST", url, br#"{"a":2}"#), &signed.signature),
            Err(WebhookRejection::DigestMismatch)
        );
        let other_app = signed.signature.replace("keyId=\"app\"", "keyId=\"other\"");
        assert!(matches!(
            check(make("POST", url, body), &other_app),
            Err(WebhookRejection::ClaimMismatch { .. })
        ));
    }

    #[test]
    fn sequential_ids_are_deterministic() {
        let ids = SequentialIds::new();
        assert_eq!(ids.next_id(), "00000000-0000-4000-8000-000000000001");
        assert_eq!(ids.next_id(), "00000000-0000-4000-8000-000000000002");
    }
}
