//! Verified Payconiq callbacks: detached JWS, ES256, over the raw body.
//!
//! Payconiq by Bancontact `POST`s the payment as JSON to the payment's `callbackUrl` and signs
//! each delivery with a compact **detached** JWS in the `Signature` header:
//!
//! ```text
//! Signature: B64URL(JOSE header) + ".." + B64URL(signature)
//! ```
//!
//! The signed content is the body, standard [RFC 7515] detached content (Appendix F): the signing
//! input is the ASCII string `B64URL(header) + "." + B64URL(raw body bytes)` (base64url, no
//! padding). It is *not* the RFC 7797 `b64=false` mode, although Payconiq's docs link RFC 7797.
//! Because the body is re-encoded from the exact bytes received, verification must see the raw
//! body before anything parses it: a re-serialised body (different whitespace or key order) no
//! longer verifies.
//!
//! The header carries `typ` (`JOSE+JSON`, compared case-insensitively), `kid`, `alg` (`ES256`),
//! `crit`, and the parameters `https://payconiq.com/{iss,iat,jti,path}`: `iss` is `Payconiq`,
//! `iat` the signing time (RFC 3339 UTC with milliseconds or more), `jti` a unique id of the
//! delivery and `path` the full callback URL. The subject, the merchant's payment profile id,
//! comes in one of two shapes, and both are accepted:
//!
//! - the v3 specification (Swagger) and real callbacks: `https://payconiq.com/sub`, with `crit`
//!   listing five names, `https://payconiq.com/{sub,iss,iat,jti,path}`;
//! - the API reference's "Signature" header description: a plain `sub`, with `crit` listing the
//!   four names `https://payconiq.com/{iss,iat,jti,path}`.
//!
//! A header carrying both subjects is accepted only when they are equal. It may also carry
//! `x5t#S256`, the SHA-256 thumbprint of the signing certificate.
//!
//! # Checks, in order
//!
//! Nothing in the header or the body is trusted before the signature verifies, and the body is
//! only parsed at the very end:
//!
//! 1. the `Signature` header is present exactly once, the method is `POST`;
//! 2. the header value is three `.`-separated parts with an **empty** middle part (detached), the
//!    JOSE header part is at most 8 KiB and strict base64url (no padding) of a JSON object;
//! 3. `alg` is exactly `ES256` ([`WebhookRejection::AlgorithmNotAllowed`] otherwise);
//! 4. `typ`, when present, is `JOSE+JSON` in any case;
//! 5. every name in `crit` is one this verifier understands (the five `https://payconiq.com/*`
//!    names, or `sub`), none twice, the four `https://payconiq.com/{iss,iat,jti,path}` are among
//!    them, and each listed parameter is present as a string
//!    ([`WebhookRejection::CriticalHeaders`]); the subject is `https://payconiq.com/sub` or `sub`,
//!    a string, and when both are present they are equal ([`WebhookRejection::MalformedHeader`]
//!    otherwise, also when there is none);
//! 6. `kid` (at most 256 bytes) names a key of the configured [`JwkSet`]
//!    ([`WebhookRejection::UnknownKey`], carrying the complete key id);
//! 7. `x5t#S256`, when present, equals the key's certificate thumbprint
//!    ([`WebhookRejection::ThumbprintMismatch`]);
//! 8. the ES256 signature verifies over the raw body ([`WebhookRejection::BadSignature`]);
//! 9. the signed claims match the configuration: `iss` is `Payconiq`, the subject the payment
//!    profile id, `path` the callback URL, compared exactly ([`WebhookRejection::ClaimMismatch`],
//!    whose claim for `path` names the signed and the expected URL);
//! 10. `iat` is inside the window: at most [`WebhookSettings::max_age`] old
//!     ([`WebhookRejection::TooOld`]) and at most [`WebhookSettings::max_future_skew`] ahead
//!     ([`WebhookRejection::FromTheFuture`]);
//! 11. only then is the body parsed into a [`PayconiqEvent`] ([`WebhookRejection::MalformedPayload`],
//!     also for a body that is not UTF-8, as JSON must be: RFC 8259, section 8.1).
//!
//! Header parameters that name where to get a key (`jku`, `jwk`, `x5u`, `x5c`) are ignored: keys
//! come only from the [`JwkSet`] the merchant configured (or fetched from Payconiq's JWKS URL).
//!
//! # Why only ES256
//!
//! Payconiq signs with ECDSA P-256 / SHA-256 and nothing else. Accepting the algorithm the
//! message names would open the classic JWS attacks: `alg: none` (no signature at all) and
//! `alg: HS256` with the *public* key used as an HMAC secret (anyone can compute it). The
//! algorithm is therefore fixed, not negotiated. The signature is the JWS form, raw `r || s`
//! (64 bytes); a DER (ASN.1) signature is accepted as well, defensively.
//!
//! # Why the default window is 25 hours
//!
//! Payconiq retries a callback that was not answered with 2xx for up to 24 hours, and a retry is
//! the *identical* request: same body, same `Signature`, hence the same `iat`. A tight max-age
//! (minutes, as for schemes that sign at each attempt) would reject every retry after the first
//! minutes and lose the payment update. The default [`WebhookSettings::max_age`] is 25 hours (24
//! plus margin), the default future skew 5 minutes. Replays inside the window are stopped by
//! de-duplicating on the event id (the signed `jti`) with a
//! [`DedupStore`](payments_core::webhook::DedupStore) whose entries outlive the window.
//!
//! # Keys, `x5c` and `x5t#S256`
//!
//! [`JwkSet::from_json`] reads a JWKS (`{"keys":[...]}`). Each usable key is an EC P-256 JWK with
//! a `kid`; its point comes from `x`/`y` (base64url, 32 bytes each). A key without `x`/`y` but with
//! an `x5c` certificate chain is read from the certificate: the P-256 SubjectPublicKeyInfo is found
//! by its fixed 26-byte DER prefix (`SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT
//! STRING` of 66 bytes) and the 65-byte uncompressed point after it is taken; the prefix must
//! occur exactly once in the certificate. The certificate itself is not validated as a chain: the
//! trust comes from where the key set was obtained (Payconiq's JWKS over TLS, or the merchant).
//!
//! The key's thumbprint is its JWK `x5t#S256`, or else the SHA-256 of the DER of `x5c[0]`
//! (base64url, no padding). When a callback names an `x5t#S256` and the key has a thumbprint,
//! they must be equal. When the key has **neither** `x5t#S256` nor `x5c`, there is nothing to
//! compare and the check is skipped: the signature check under that key still applies.
//!
//! Keys of other types or curves, and keys marked for another use (`use` other than `sig`, `alg`
//! other than `ES256`), are left out of the set rather than failing it; so are EC P-256 keys that
//! are malformed or inconsistent (`x`/`y` differing from `x5c`, `x5t#S256` differing from the
//! certificate). A set with no usable key is an error. Unknown JWK fields are ignored. Should two
//! keys share a `kid`, a callback verifies when it verifies under either.
//!
//! # Example
//!
//! ```
//! use payments_core::webhook::{WebhookRejection, WebhookRequest, WebhookVerifier};
//! use payments_payconiq::webhook::{WebhookSettings, PayconiqWebhookVerifier, JwkSet};
//!
//! // Payconiq's key set, fetched once from its JWKS URL or supplied by the merchant.
//! let jwks = br#"{"keys":[{"kty":"EC","crv":"P-256","kid":"es.signature.payconiq.com","use":"sig",
//!     "x":"W0I_FiwBHNuSce7q_mTVIepmerYABWjSgCfVPg5CicQ",
//!     "y":"5vb0hQhdCEqpaanlFyrMCVjxBH7tPg8QfZt8ruf9YMk"}]}"#;
//! let keys = JwkSet::from_json(jwks)?;
//! assert!(keys.contains("es.signature.payconiq.com"));
//!
//! let settings = WebhookSettings::new(
//!     "5fxxxxxxxxxxxxxxxxxxxxxx",                         // the merchant's payment profile id
//!     "https://shop.example/payconiq/callback",          // the callbackUrl given at creation
//! );
//! let verifier = PayconiqWebhookVerifier::new(settings, keys);
//!
//! // In the web handler: the raw body bytes, exactly as received.
//! let body = br#"{"paymentId":"5ba37c3d0989e3000758b9d8","status":"SUCCEEDED"}"#;
//! let request = WebhookRequest::new("POST", "https://shop.example/payconiq/callback", body)
//!     .header("Content-Type", "application/json");
//! match verifier.verify(&request) {
//!     Ok(event) => {
//!         // De-duplicate on `event.dedup_key()`, then act on `event.status`.
//!         # let _ = event;
//!         # unreachable!("this request has no Signature header");
//!     }
//!     // Answer with the rejection's status (400 here) and do not process the body.
//!     Err(rejection) => {
//!         assert_eq!(rejection, WebhookRejection::MissingHeader("Signature".into()));
//!         assert_eq!(rejection.http_status(), 400);
//!     }
//! }
//! # Ok::<(), payments_core::Error>(())
//! ```
//!
//! [RFC 7515]: https://www.rfc-editor.org/rfc/rfc7515

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1, ECDSA_P256_SHA256_FIXED, ParsedPublicKey};
use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use payments_core::webhook::{
    Authenticity, Clock, SystemClock, VerifiedEvent, WebhookRejection, WebhookRequest,
    WebhookVerifier,
};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::PROVIDER;

/// The header carrying the detached JWS.
const SIGNATURE_HEADER: &str = "Signature";
/// The only accepted JWS algorithm.
const ALG: &str = "ES256";
/// The accepted `typ` (compared case-insensitively).
const TYP: &str = "JOSE+JSON";
/// The `iss` Payconiq signs.
const ISSUER: &str = "Payconiq";

const CLAIM_SUB: &str = "https://payconiq.com/sub";
const CLAIM_ISS: &str = "https://payconiq.com/iss";
const CLAIM_IAT: &str = "https://payconiq.com/iat";
const CLAIM_JTI: &str = "https://payconiq.com/jti";
const CLAIM_PATH: &str = "https://payconiq.com/path";
/// The subject as the API reference shows it (a plain `sub`, not listed in `crit`).
const CLAIM_SUB_PLAIN: &str = "sub";
/// Every name `crit` may list: the parameters this verifier checks.
const UNDERSTOOD: [&str; 6] = [
    CLAIM_SUB,
    CLAIM_ISS,
    CLAIM_IAT,
    CLAIM_JTI,
    CLAIM_PATH,
    CLAIM_SUB_PLAIN,
];
/// The names `crit` must list, in both documented shapes.
const REQUIRED_CRITICAL: [&str; 4] = [CLAIM_ISS, CLAIM_IAT, CLAIM_JTI, CLAIM_PATH];

/// Longest base64url JOSE header accepted, checked before decoding.
const MAX_HEADER_B64: usize = 8 * 1024;
/// Longest base64url signature part accepted, checked before decoding (a DER ES256 signature is
/// at most 72 bytes, 96 characters).
const MAX_SIGNATURE_B64: usize = 256;
/// Longest `iat` text parsed.
const MAX_IAT_LEN: usize = 64;
/// Longest piece of attacker-supplied text copied into a rejection.
const MAX_ECHO: usize = 64;
/// Longest `kid` accepted; a longer one is malformed, so [`WebhookRejection::UnknownKey`] always
/// carries the exact, complete key id (a JWKS-refreshing verifier looks it up).
const MAX_KID_LEN: usize = 256;

/// Default [`WebhookSettings::max_age`]: Payconiq retries the identical request for 24 hours.
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(25 * 3600);
/// Default [`WebhookSettings::max_future_skew`].
const DEFAULT_MAX_FUTURE_SKEW: Duration = Duration::from_secs(5 * 60);

/// DER prefix of a P-256 SubjectPublicKeyInfo, up to the uncompressed point:
/// `SEQUENCE(89) { SEQUENCE(19) { OID id-ecPublicKey, OID prime256v1 }, BIT STRING(66) 00 }`.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// Base64url without padding, lenient about padding: for key material from a trusted key set.
const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
/// Standard base64, lenient about padding: for `x5c` certificates.
const STANDARD_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

// ---------------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------------

/// One usable verifying key.
#[derive(Clone)]
struct VerifyingKey {
    kid: String,
    /// The uncompressed point `04 || x || y`.
    point: [u8; 65],
    /// Prepared for raw `r || s` signatures.
    fixed: ParsedPublicKey,
    /// Prepared for DER signatures.
    asn1: ParsedPublicKey,
    /// SHA-256 thumbprint of the key's certificate, when known.
    thumbprint: Option<[u8; 32]>,
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("kid", &self.kid)
            .field("point", &URL_SAFE_NO_PAD.encode(self.point))
            .field(
                "x5t#S256",
                &self.thumbprint.map(|t| URL_SAFE_NO_PAD.encode(t)),
            )
            .finish()
    }
}

/// Parsed key set with prepared verifying keys.
///
/// Only EC P-256 signing keys with a `kid` are kept (see the [module docs](self) for what is left
/// out and how `x5c` is read). `Debug` shows the key ids, public points and thumbprints: all of
/// it public information.
#[derive(Clone, Debug)]
pub struct JwkSet {
    keys: Vec<VerifyingKey>,
}

impl JwkSet {
    /// Reads a JWKS document (`{"keys":[...]}`).
    ///
    /// # Errors
    /// [`payments_core::Error::Config`] when the document is not a JSON object with a `keys`
    /// array, or when it has no usable EC P-256 key. The message never repeats the document.
    pub fn from_json(bytes: &[u8]) -> Result<JwkSet, payments_core::Error> {
        #[derive(Deserialize)]
        struct Document {
            keys: Vec<Value>,
        }
        let document: Document = serde_json::from_slice(bytes).map_err(|e| {
            payments_core::Error::Config(format!(
                "JWKS is not a JSON object with a \"keys\" array: {}",
                describe_json_error(&e)
            ))
        })?;
        let mut keys = Vec::new();
        let mut skipped = Vec::new();
        for (index, jwk) in document.keys.iter().enumerate() {
            match parse_jwk(jwk) {
                Ok(key) => keys.push(key),
                Err(reason) => skipped.push(format!("key #{index}: {reason}")),
            }
        }
        if keys.is_empty() {
            let total = skipped.len();
            skipped.truncate(5);
            let more = if total > skipped.len() { "; ..." } else { "" };
            return Err(payments_core::Error::Config(format!(
                "JWKS has no usable EC P-256 signing key ({total} skipped{}{}{more})",
                if skipped.is_empty() { "" } else { ": " },
                skipped.join("; "),
            )));
        }
        Ok(JwkSet { keys })
    }

    /// The ids of the usable keys, in document order.
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|k| k.kid.as_str())
    }

    /// Whether a usable key has this id.
    pub fn contains(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid == kid)
    }

    /// The keys with this id (normally one).
    fn candidates<'s>(&'s self, kid: &'s str) -> impl Iterator<Item = &'s VerifyingKey> + 's {
        self.keys.iter().filter(move |k| k.kid == kid)
    }
}

/// Reads one JWK; `Err` says why it is not a usable key (the reason is safe to show).
fn parse_jwk(jwk: &Value) -> Result<VerifyingKey, String> {
    let Some(fields) = jwk.as_object() else {
        return Err("not a JSON object".into());
    };
    let text = |name: &str| -> Result<Option<&str>, String> {
        match fields.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(format!("{name} is not a string")),
        }
    };
    let kid = text("kid")?.ok_or("no kid")?;
    let kid_shown = echo(kid);
    let kty = text("kty")?.unwrap_or("");
    if kty != "EC" {
        return Err(format!("{kid_shown}: kty {:?} is not EC", echo(kty)));
    }
    let crv = text("crv")?;
    if let Some(crv) = crv
        && crv != "P-256"
    {
        return Err(format!("{kid_shown}: curve {:?} is not P-256", echo(crv)));
    }
    if let Some(usage) = text("use")?
        && usage != "sig"
    {
        return Err(format!("{kid_shown}: use {:?} is not sig", echo(usage)));
    }
    if let Some(alg) = text("alg")?
        && alg != ALG
    {
        return Err(format!("{kid_shown}: alg {:?} is not ES256", echo(alg)));
    }

    let certificate = match fields.get("x5c") {
        None | Some(Value::Null) => None,
        Some(Value::Array(chain)) => match chain.first() {
            Some(Value::String(b64)) => Some(
                STANDARD_LENIENT
                    .decode(b64)
                    .map_err(|_| format!("{kid_shown}: x5c[0] is not base64"))?,
            ),
            Some(_) => return Err(format!("{kid_shown}: x5c[0] is not a string")),
            None => None,
        },
        Some(_) => return Err(format!("{kid_shown}: x5c is not an array")),
    };
    let certificate_point = certificate.as_deref().map(spki_point_from_certificate);

    let point = match (text("x")?, text("y")?) {
        (Some(x), Some(y)) => {
            if crv.is_none() {
                return Err(format!("{kid_shown}: x/y without crv"));
            }
            let point = point_from_xy(x, y).ok_or(format!(
                "{kid_shown}: x and y must be base64url of 32 bytes each"
            ))?;
            if let Some(Some(from_certificate)) = certificate_point
                && from_certificate != point
            {
                return Err(format!("{kid_shown}: x/y differ from the x5c certificate"));
            }
            point
        }
        (None, None) => match certificate_point {
            Some(Some(point)) => point,
            Some(None) => {
                return Err(format!(
                    "{kid_shown}: no P-256 public key found in the x5c certificate"
                ));
            }
            None => return Err(format!("{kid_shown}: neither x/y nor x5c")),
        },
        _ => return Err(format!("{kid_shown}: only one of x and y")),
    };

    let declared = match text("x5t#S256")? {
        Some(t) => Some(
            URL_SAFE_LENIENT
                .decode(t)
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
                .ok_or(format!(
                    "{kid_shown}: x5t#S256 is not base64url of 32 bytes"
                ))?,
        ),
        None => None,
    };
    let computed = certificate.as_deref().map(sha256);
    let thumbprint = match (declared, computed) {
        (Some(d), Some(c)) if d != c => {
            return Err(format!(
                "{kid_shown}: x5t#S256 differs from the x5c certificate"
            ));
        }
        (Some(d), _) => Some(d),
        (None, c) => c,
    };

    let fixed = ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
        .map_err(|_| format!("{kid_shown}: not a valid P-256 public key"))?;
    let asn1 = ParsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, point)
        .map_err(|_| format!("{kid_shown}: not a valid P-256 public key"))?;
    Ok(VerifyingKey {
        kid: kid.to_string(),
        point,
        fixed,
        asn1,
        thumbprint,
    })
}

/// `04 || x || y` from the JWK coordinates.
fn point_from_xy(x: &str, y: &str) -> Option<[u8; 65]> {
    let x = <[u8; 32]>::try_from(URL_SAFE_LENIENT.decode(x).ok()?.as_slice()).ok()?;
    let y = <[u8; 32]>::try_from(URL_SAFE_LENIENT.decode(y).ok()?.as_slice()).ok()?;
    let mut point = [0u8; 65];
    let (tag, rest) = point.split_at_mut(1);
    let (px, py) = rest.split_at_mut(32);
    tag.copy_from_slice(&[0x04]);
    px.copy_from_slice(&x);
    py.copy_from_slice(&y);
    Some(point)
}

/// The uncompressed P-256 point of the certificate's SubjectPublicKeyInfo, located by its fixed
/// DER prefix, which must occur exactly once.
fn spki_point_from_certificate(der: &[u8]) -> Option<[u8; 65]> {
    let mut found = der
        .windows(P256_SPKI_PREFIX.len())
        .enumerate()
        .filter(|(_, w)| *w == P256_SPKI_PREFIX)
        .map(|(i, _)| i);
    let start = found.next()?.checked_add(P256_SPKI_PREFIX.len())?;
    if found.next().is_some() {
        return None;
    }
    let point = der.get(start..start.checked_add(65)?)?;
    let point = <[u8; 65]>::try_from(point).ok()?;
    (point.first() == Some(&0x04)).then_some(point)
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let digest = Sha256::digest(bytes);
    let mut out = [0u8; 32];
    for (o, d) in out.iter_mut().zip(digest.iter()) {
        *o = *d;
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Settings and verification
// ---------------------------------------------------------------------------------------------

/// What a callback must match; shared by the offline [`PayconiqWebhookVerifier`] and the
/// JWKS-fetching `jwks::JwksWebhookVerifier`.
#[derive(Clone, Debug)]
pub struct WebhookSettings {
    payment_profile_id: String,
    callback_url: String,
    max_age: Duration,
    max_future_skew: Duration,
    clock: Arc<dyn Clock>,
}

impl WebhookSettings {
    /// Settings for the merchant's payment profile id (the signed `sub`) and the callback URL
    /// given when creating payments (the signed `path`, compared exactly), with a 25-hour
    /// max-age, a 5-minute future skew and the system clock.
    pub fn new(payment_profile_id: impl Into<String>, callback_url: impl Into<String>) -> Self {
        WebhookSettings {
            payment_profile_id: payment_profile_id.into(),
            callback_url: callback_url.into(),
            max_age: DEFAULT_MAX_AGE,
            max_future_skew: DEFAULT_MAX_FUTURE_SKEW,
            clock: Arc::new(SystemClock),
        }
    }

    /// How old a signature (its `iat`) may be. Default 25 hours: Payconiq retries the identical
    /// request, same signature, for up to 24 hours.
    pub fn max_age(mut self, d: Duration) -> Self {
        self.max_age = d;
        self
    }

    /// How far in the future a signature's `iat` may be (clock skew). Default 5 minutes.
    pub fn max_future_skew(mut self, d: Duration) -> Self {
        self.max_future_skew = d;
        self
    }

    /// The clock the window is measured on (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Verifies a callback against `keys` (see the [module docs](self) for the checks).
    ///
    /// # Errors
    /// The [`WebhookRejection`] of the first check that failed.
    pub fn verify(
        &self,
        keys: &JwkSet,
        request: &WebhookRequest<'_>,
    ) -> Result<VerifiedEvent<PayconiqEvent>, WebhookRejection> {
        self.verify_detailed(keys, request).map(|(event, _)| event)
    }

    /// Like [`WebhookSettings::verify`], also returning the signed JOSE claims for auditing.
    ///
    /// # Errors
    /// The [`WebhookRejection`] of the first check that failed.
    pub fn verify_detailed(
        &self,
        keys: &JwkSet,
        request: &WebhookRequest<'_>,
    ) -> Result<(VerifiedEvent<PayconiqEvent>, SignatureClaims), WebhookRejection> {
        // 1-6: everything that needs no key.
        let jws = DetachedJws::from_request(request)?;
        let json = decode_header(jws.header_b64)?;
        let header = CheckedHeader::check(&json)?;
        self.verify_checked(keys, request, &jws, header)
    }

    /// Steps 6 (the key id's key) to 11, for a callback whose steps 1 to 5 passed: `jws` and
    /// `header` are what [`DetachedJws::from_request`] and [`CheckedHeader::check`] made of
    /// `request`. Lets the key-fetching verifier read the header once, before it fetches keys.
    pub(crate) fn verify_checked(
        &self,
        keys: &JwkSet,
        request: &WebhookRequest<'_>,
        jws: &DetachedJws<'_>,
        header: CheckedHeader<'_>,
    ) -> Result<(VerifiedEvent<PayconiqEvent>, SignatureClaims), WebhookRejection> {
        if !keys.contains(&header.kid) {
            return Err(WebhookRejection::UnknownKey(header.kid.into_owned()));
        }

        // 7. Certificate thumbprint.
        let named_thumbprint = match &header.x5t_s256 {
            None => None,
            Some(Param::Text(t)) => {
                // Room for more than 32 bytes: a longer value is refused by length.
                let mut decoded = [0u8; 48];
                match URL_SAFE_NO_PAD.decode_slice(t.as_bytes(), &mut decoded) {
                    Ok(32) => decoded.first_chunk::<32>().copied(),
                    _ => None,
                }
                .ok_or_else(|| malformed("x5t#S256 is not base64url of 32 bytes"))
                .map(Some)?
            }
            Some(_) => return Err(malformed("x5t#S256 is not a string")),
        };
        let body = request.body();
        {
            let mut candidates = keys
                .candidates(&header.kid)
                .filter(|key| match (named_thumbprint, key.thumbprint) {
                    (Some(named), Some(own)) => named == own,
                    _ => true,
                })
                .peekable();
            if candidates.peek().is_none() {
                return Err(WebhookRejection::ThumbprintMismatch);
            }

            // 8. Signature over B64URL(header) "." B64URL(raw body).
            let mut signing_input =
                String::with_capacity(jws.header_b64.len() + 1 + body.len().div_ceil(3) * 4);
            signing_input.push_str(jws.header_b64);
            signing_input.push('.');
            URL_SAFE_NO_PAD.encode_string(body, &mut signing_input);
            let signed = signing_input.as_bytes();
            if !candidates.any(|key| signature_verifies(key, signed, jws.signature())) {
                return Err(WebhookRejection::BadSignature);
            }
        }

        // 9. Signed claims against the configuration.
        if header.iss != ISSUER {
            return Err(mismatch("iss"));
        }
        if header.sub != self.payment_profile_id {
            return Err(mismatch("sub"));
        }
        if header.path != self.callback_url {
            // Both URLs in the rejection: a capture verified against the wrong callback URL is
            // the usual cause, and the signed one says which URL to use. (The signature has
            // verified: the signed path is Payconiq's; a callback URL is not a secret.)
            return Err(mismatch(&format!(
                "path {:?} (expected {:?})",
                echo_url(&header.path),
                echo_url(&self.callback_url)
            )));
        }

        // 10. iat window.
        let iat = parse_iat(&header.iat)?;
        self.check_window(iat)?;

        // 11. Only now: the body. JSON is UTF-8 (RFC 8259): checked once for the whole body, so
        // the parser need not check each string again.
        let not_a_callback = |reason: &str| {
            WebhookRejection::MalformedPayload(format!("not a Payconiq callback: {reason}"))
        };
        let text = std::str::from_utf8(body)
            .map_err(|e| not_a_callback(&format!("not UTF-8 (at byte {})", e.valid_up_to())))?;
        let callback: PayconiqEvent =
            serde_json::from_str(text).map_err(|e| not_a_callback(&describe_json_error(&e)))?;

        let claims = SignatureClaims {
            kid: header.kid.into_owned(),
            jti: header.jti.to_string(),
            iat,
            sub: header.sub.into_owned(),
            path: header.path.into_owned(),
        };
        let mut event = VerifiedEvent::new(
            PROVIDER,
            header.jti.into_owned(),
            Authenticity::Signed,
            callback,
            body.to_vec(),
        );
        event.payment_id = Some(event.data.payment_id.clone());
        event.status = Some(crate::convert::unified_status(&event.data.status));
        event.raw_status = Some(event.data.status.as_str().to_string());
        event.occurred_at = Some(iat);
        Ok((event, claims))
    }

    fn check_window(&self, iat: OffsetDateTime) -> Result<(), WebhookRejection> {
        let now = self.clock.now();
        if iat <= now {
            let age = Duration::try_from(now - iat).unwrap_or(Duration::MAX);
            if age > self.max_age {
                return Err(WebhookRejection::TooOld {
                    age,
                    max: self.max_age,
                });
            }
        } else {
            let ahead = Duration::try_from(iat - now).unwrap_or(Duration::MAX);
            if ahead > self.max_future_skew {
                return Err(WebhookRejection::FromTheFuture {
                    ahead,
                    max: self.max_future_skew,
                });
            }
        }
        Ok(())
    }
}

/// Runs the checks that need no key (one `Signature` header, POST, a detached ES256 JWS with the
/// critical parameters and a subject) and returns the key id it names. Lets a key-fetching verifier refuse
/// malformed requests before it fetches anything.
pub fn signing_key_id(request: &WebhookRequest<'_>) -> Result<String, WebhookRejection> {
    let jws = DetachedJws::from_request(request)?;
    let json = decode_header(jws.header_b64)?;
    CheckedHeader::check(&json).map(|header| header.kid.into_owned())
}

/// Room for the longest signature part accepted, decoded.
const MAX_SIGNATURE: usize = MAX_SIGNATURE_B64 / 4 * 3;

/// The parts of a detached compact JWS.
pub(crate) struct DetachedJws<'a> {
    pub(crate) header_b64: &'a str,
    signature: [u8; MAX_SIGNATURE],
    signature_len: usize,
}

impl<'a> DetachedJws<'a> {
    /// Steps 1 and 2: one `Signature` header, `POST`, a detached compact JWS.
    pub(crate) fn from_request(request: &WebhookRequest<'a>) -> Result<Self, WebhookRejection> {
        let signature_header = request.require_header(SIGNATURE_HEADER)?;
        request.require_method("POST")?;
        split_detached(signature_header)
    }

    fn signature(&self) -> &[u8] {
        self.signature
            .get(..self.signature_len)
            .unwrap_or(&self.signature)
    }
}

fn split_detached(value: &str) -> Result<DetachedJws<'_>, WebhookRejection> {
    let mut parts = value.split('.');
    let (Some(header_b64), Some(payload), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed("not a compact JWS of three parts"));
    };
    if !payload.is_empty() {
        return Err(malformed(
            "not a detached JWS (the payload part is not empty)",
        ));
    }
    if header_b64.is_empty() {
        return Err(malformed("empty JOSE header"));
    }
    if header_b64.len() > MAX_HEADER_B64 {
        return Err(malformed("JOSE header longer than 8 KiB"));
    }
    if signature_b64.len() > MAX_SIGNATURE_B64 {
        return Err(malformed("signature part too long"));
    }
    let mut signature = [0u8; MAX_SIGNATURE];
    let signature_len = URL_SAFE_NO_PAD
        .decode_slice(signature_b64, &mut signature)
        .map_err(|_| malformed("signature is not base64url without padding"))?;
    Ok(DetachedJws {
        header_b64,
        signature,
        signature_len,
    })
}

/// One JOSE header parameter as read. Every check wants a string (or, for `crit`, an array of
/// strings); anything else is kept only as the name of its JSON type, for the rejection.
/// Strings are borrowed from the decoded header unless they contain escapes.
enum Param<'a> {
    Text(Cow<'a, str>),
    List(Vec<Param<'a>>),
    Other(&'static str),
}

impl<'de: 'a, 'a> Deserialize<'de> for Param<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ParamVisitor)
    }
}

struct ParamVisitor;

impl<'de> serde::de::Visitor<'de> for ParamVisitor {
    type Value = Param<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JOSE header parameter")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Param<'de>, E> {
        Ok(Param::Text(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Param<'de>, E> {
        Ok(Param::Text(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Param<'de>, E> {
        Ok(Param::Text(Cow::Owned(v)))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Param<'de>, E> {
        Ok(Param::Other("a boolean"))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Param<'de>, E> {
        Ok(Param::Other("a number"))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Param<'de>, E> {
        Ok(Param::Other("a number"))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Param<'de>, E> {
        Ok(Param::Other("a number"))
    }
    fn visit_unit<E>(self) -> Result<Param<'de>, E> {
        Ok(Param::Other("null"))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Param<'de>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(8));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Param::List(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Param<'de>, A::Error> {
        while map
            .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
            .is_some()
        {}
        Ok(Param::Other("an object"))
    }
}

impl Param<'_> {
    fn as_text(&self) -> Option<&str> {
        match self {
            Param::Text(text) => Some(text),
            _ => None,
        }
    }

    /// The JSON type, for a rejection.
    fn kind(&self) -> &'static str {
        match self {
            Param::Text(_) => "a string",
            Param::List(_) => "an array",
            Param::Other(kind) => kind,
        }
    }
}

/// The JOSE header as read, each parameter loosely typed so each check can say precisely what is
/// wrong. Naming a field twice is refused by serde (duplicate field), so a second `alg` cannot
/// hide behind the first.
#[derive(Deserialize)]
struct JoseHeader<'a> {
    #[serde(borrow)]
    alg: Option<Param<'a>>,
    #[serde(borrow)]
    typ: Option<Param<'a>>,
    #[serde(borrow)]
    kid: Option<Param<'a>>,
    #[serde(borrow)]
    crit: Option<Param<'a>>,
    #[serde(borrow, rename = "x5t#S256")]
    x5t_s256: Option<Param<'a>>,
    #[serde(borrow, rename = "https://payconiq.com/sub")]
    sub: Option<Param<'a>>,
    /// The API reference's spelling of the subject.
    #[serde(borrow, rename = "sub")]
    sub_plain: Option<Param<'a>>,
    #[serde(borrow, rename = "https://payconiq.com/iss")]
    iss: Option<Param<'a>>,
    #[serde(borrow, rename = "https://payconiq.com/iat")]
    iat: Option<Param<'a>>,
    #[serde(borrow, rename = "https://payconiq.com/jti")]
    jti: Option<Param<'a>>,
    #[serde(borrow, rename = "https://payconiq.com/path")]
    path: Option<Param<'a>>,
}

/// The base64url-decoded JOSE header, checked to be UTF-8 (JSON is, RFC 8259).
pub(crate) fn decode_header(header_b64: &str) -> Result<String, WebhookRejection> {
    let json = URL_SAFE_NO_PAD
        .decode(header_b64)
        .map_err(|_| malformed("JOSE header is not base64url without padding"))?;
    String::from_utf8(json).map_err(|_| malformed("JOSE header is not a JSON object: not UTF-8"))
}

/// The result of the checks that need no key (steps 2 to 6) on a well-formed detached ES256
/// JWS header: the critical parameters and the subject, not yet verified.
pub(crate) struct CheckedHeader<'h> {
    sub: Cow<'h, str>,
    iss: Cow<'h, str>,
    iat: Cow<'h, str>,
    jti: Cow<'h, str>,
    path: Cow<'h, str>,
    pub(crate) kid: Cow<'h, str>,
    /// Checked in step 7, once the key is known.
    x5t_s256: Option<Param<'h>>,
}

impl<'h> CheckedHeader<'h> {
    pub(crate) fn check(json: &'h str) -> Result<Self, WebhookRejection> {
        let header: JoseHeader<'h> = serde_json::from_str(json).map_err(|e| {
            malformed(&format!(
                "JOSE header is not a JSON object: {}",
                describe_json_error(&e)
            ))
        })?;

        // 3. alg.
        match &header.alg {
            Some(Param::Text(alg)) if alg == ALG => {}
            Some(Param::Text(alg)) => return Err(WebhookRejection::AlgorithmNotAllowed(echo(alg))),
            Some(other) => {
                return Err(WebhookRejection::AlgorithmNotAllowed(format!(
                    "not a string ({})",
                    other.kind()
                )));
            }
            None => return Err(malformed("no alg")),
        }

        // 4. typ.
        match &header.typ {
            None => {}
            Some(Param::Text(typ)) if typ.eq_ignore_ascii_case(TYP) => {}
            Some(_) => return Err(malformed("typ is not JOSE+JSON")),
        }

        // 5. crit, the parameters it names, and the subject.
        let listed = check_crit(header.crit.as_ref())?;
        // Whether the subject is read from `https://payconiq.com/sub` (else from `sub`).
        let namespaced_sub = {
            let sub = subject(&header, &listed)?;
            header.sub.as_ref().and_then(Param::as_text) == Some(sub)
        };
        critical_string(header.iss.as_ref(), CLAIM_ISS)?;
        critical_string(header.iat.as_ref(), CLAIM_IAT)?;
        critical_string(header.jti.as_ref(), CLAIM_JTI)?;
        critical_string(header.path.as_ref(), CLAIM_PATH)?;

        // 6. kid.
        match &header.kid {
            Some(Param::Text(kid)) if kid.len() > MAX_KID_LEN => {
                return Err(malformed("kid longer than 256 bytes"));
            }
            Some(Param::Text(_)) => {}
            Some(_) => return Err(malformed("kid is not a string")),
            None => return Err(malformed("no kid")),
        }

        // Every value checked above is a string: move them out rather than copy them.
        let JoseHeader {
            kid,
            x5t_s256,
            sub,
            sub_plain,
            iss,
            iat,
            jti,
            path,
            ..
        } = header;
        Ok(CheckedHeader {
            sub: take_text(if namespaced_sub { sub } else { sub_plain }),
            iss: take_text(iss),
            iat: take_text(iat),
            jti: take_text(jti),
            path: take_text(path),
            kid: take_text(kid),
            x5t_s256,
        })
    }
}

/// Which of the [`UNDERSTOOD`] names `crit` lists.
struct Listed([bool; UNDERSTOOD.len()]);

impl Listed {
    fn contains(&self, name: &str) -> bool {
        UNDERSTOOD
            .iter()
            .zip(self.0)
            .any(|(understood, listed)| listed && *understood == name)
    }
}

fn check_crit(crit: Option<&Param<'_>>) -> Result<Listed, WebhookRejection> {
    let critical = |reason: String| WebhookRejection::CriticalHeaders(reason);
    let Some(crit) = crit else {
        return Err(critical("no crit".into()));
    };
    let Param::List(names) = crit else {
        return Err(critical("crit is not an array".into()));
    };
    let mut seen = [false; UNDERSTOOD.len()];
    for name in names {
        let Param::Text(name) = name else {
            return Err(critical("crit lists a non-string".into()));
        };
        let Some(slot) = UNDERSTOOD
            .iter()
            .position(|c| c == name)
            .and_then(|i| seen.get_mut(i))
        else {
            return Err(critical(format!("unexpected {:?}", echo(name))));
        };
        if *slot {
            return Err(critical(format!("duplicate {name:?}")));
        }
        *slot = true;
    }
    let listed = Listed(seen);
    let missing: Vec<&str> = REQUIRED_CRITICAL
        .iter()
        .filter(|name| !listed.contains(name))
        .copied()
        .collect();
    if missing.is_empty() {
        Ok(listed)
    } else {
        Err(critical(format!("missing {missing:?}")))
    }
}

/// The subject: `https://payconiq.com/sub` or `sub`, equal when both are present. A name listed
/// in `crit` must be present.
fn subject<'h>(header: &'h JoseHeader<'_>, listed: &Listed) -> Result<&'h str, WebhookRejection> {
    let read =
        |value: Option<&'h Param<'_>>, name: &str| -> Result<Option<&'h str>, WebhookRejection> {
            if listed.contains(name) {
                return critical_string(value, name).map(Some);
            }
            match value {
                None => Ok(None),
                Some(Param::Text(s)) => Ok(Some(s)),
                Some(_) => Err(malformed(&format!("{name} is not a string"))),
            }
        };
    let namespaced = read(header.sub.as_ref(), CLAIM_SUB)?;
    let plain = read(header.sub_plain.as_ref(), CLAIM_SUB_PLAIN)?;
    match (namespaced, plain) {
        (Some(namespaced), Some(plain)) if namespaced != plain => Err(malformed(
            "https://payconiq.com/sub and sub name different subjects",
        )),
        (Some(sub), _) | (None, Some(sub)) => Ok(sub),
        (None, None) => Err(malformed(
            "no subject (neither https://payconiq.com/sub nor sub)",
        )),
    }
}

/// The string in a header parameter already checked to hold one (empty otherwise).
fn take_text(value: Option<Param<'_>>) -> Cow<'_, str> {
    match value {
        Some(Param::Text(text)) => text,
        _ => Cow::Borrowed(""),
    }
}

fn critical_string<'h>(
    value: Option<&'h Param<'_>>,
    name: &str,
) -> Result<&'h str, WebhookRejection> {
    match value {
        Some(Param::Text(s)) => Ok(s),
        Some(_) => Err(WebhookRejection::CriticalHeaders(format!(
            "{name:?} is not a string"
        ))),
        None => Err(WebhookRejection::CriticalHeaders(format!(
            "{name:?} is listed but absent"
        ))),
    }
}

fn signature_verifies(key: &VerifyingKey, message: &[u8], signature: &[u8]) -> bool {
    if signature.len() == 64 && key.fixed.verify_sig(message, signature).is_ok() {
        return true;
    }
    signature.first() == Some(&0x30) && key.asn1.verify_sig(message, signature).is_ok()
}

fn parse_iat(iat: &str) -> Result<OffsetDateTime, WebhookRejection> {
    if iat.len() > MAX_IAT_LEN {
        return Err(malformed("iat is not an RFC 3339 timestamp"));
    }
    OffsetDateTime::parse(iat, &Rfc3339)
        .map(|t| t.to_offset(time::UtcOffset::UTC))
        .map_err(|_| malformed("iat is not an RFC 3339 timestamp"))
}

fn malformed(reason: &str) -> WebhookRejection {
    WebhookRejection::MalformedHeader {
        header: SIGNATURE_HEADER.to_string(),
        reason: reason.to_string(),
    }
}

fn mismatch(claim: &str) -> WebhookRejection {
    WebhookRejection::ClaimMismatch {
        claim: claim.to_string(),
    }
}

/// Attacker- or document-supplied text, bounded before it goes into an error.
fn echo(text: &str) -> String {
    let mut out: String = text.chars().take(MAX_ECHO).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

/// A URL for an error: bounded like [`echo`], with more room (callback URLs are long).
fn echo_url(url: &str) -> String {
    const MAX_URL_ECHO: usize = 200;
    let mut out: String = url.chars().take(MAX_URL_ECHO).collect();
    if out.len() < url.len() {
        out.push('…');
    }
    out
}

/// A JSON error without the document's content: the category, the position, and for a data
/// error only the serde message when it names a field (`missing field`), never a value.
fn describe_json_error(e: &serde_json::Error) -> String {
    echo(&payments_core::provider_support::describe_json_error(e))
}

// ---------------------------------------------------------------------------------------------
// Offline verifier
// ---------------------------------------------------------------------------------------------

/// The webhook (callback) verifier with keys supplied by the merchant as JWK JSON (offline; with
/// the `client` feature, `jwks::JwksWebhookVerifier` fetches and caches Payconiq's keys).
#[derive(Clone, Debug)]
pub struct PayconiqWebhookVerifier {
    settings: WebhookSettings,
    keys: JwkSet,
}

impl PayconiqWebhookVerifier {
    /// A verifier checking callbacks against `settings` with a fixed key set.
    pub fn new(settings: WebhookSettings, keys: JwkSet) -> Self {
        PayconiqWebhookVerifier { settings, keys }
    }

    /// The settings.
    pub fn settings(&self) -> &WebhookSettings {
        &self.settings
    }

    /// The key set.
    pub fn keys(&self) -> &JwkSet {
        &self.keys
    }

    /// Like [`WebhookVerifier::verify`], also returning the signed JOSE claims for auditing.
    ///
    /// # Errors
    /// The [`WebhookRejection`] of the first check that failed.
    pub fn verify_detailed(
        &self,
        request: &WebhookRequest<'_>,
    ) -> Result<(VerifiedEvent<PayconiqEvent>, SignatureClaims), WebhookRejection> {
        self.settings.verify_detailed(&self.keys, request)
    }
}

impl WebhookVerifier for PayconiqWebhookVerifier {
    type Payload = PayconiqEvent;

    fn verify(
        &self,
        request: &WebhookRequest<'_>,
    ) -> Result<VerifiedEvent<PayconiqEvent>, WebhookRejection> {
        self.settings.verify(&self.keys, request)
    }
}

// ---------------------------------------------------------------------------------------------
// Payload
// ---------------------------------------------------------------------------------------------

/// The signed JOSE header claims, exposed on the event for auditing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureClaims {
    /// The id of the key that signed.
    pub kid: String,
    /// The unique id of the delivery (also the event id).
    pub jti: String,
    /// When Payconiq signed (the same on every retry of a delivery).
    pub iat: OffsetDateTime,
    /// The payment profile id the callback is for.
    pub sub: String,
    /// The callback URL the callback was sent to.
    pub path: String,
}

/// A Payconiq webhook (Payconiq calls them callbacks): the payment as Payconiq reports it (the
/// same shape as `GET /payments/{id}`; unknown fields are ignored, legacy ones tolerated).
pub type PayconiqEvent = crate::wire::PayconiqPayment;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn spki_prefix_must_occur_once_and_be_followed_by_a_point() {
        let mut der = vec![0x30, 0x82, 0x01, 0x00];
        der.extend_from_slice(&P256_SPKI_PREFIX);
        der.push(0x04);
        der.extend_from_slice(&[7u8; 64]);
        der.extend_from_slice(&[0xa3, 0x00]);
        let point = spki_point_from_certificate(&der).unwrap();
        assert_eq!(point[0], 0x04);
        assert_eq!(&point[1..], &[7u8; 64][..]);
        // Truncated.
        assert_eq!(spki_point_from_certificate(&der[..40]), None);
        // Twice.
        let twice = [der.clone(), der.clone()].concat();
        assert_eq!(spki_point_from_certificate(&twice), None);
        // Compressed / wrong tag.
        let mut wrong = der.clone();
        wrong[4 + P256_SPKI_PREFIX.len()] = 0x02;
        assert_eq!(spki_point_from_certificate(&wrong), None);
    }

    #[test]
    fn echoes_are_bounded() {
        assert_eq!(echo("abc"), "abc");
        assert!(echo(&"é".repeat(500)).chars().count() <= MAX_ECHO + 1);
    }
}
