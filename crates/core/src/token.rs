//! Access tokens for OAuth2-style providers: one cache shared by every clone of a client,
//! refreshed a margin before expiry, single-flight (1000 concurrent callers without a token cause
//! one token request), invalidated on 401 (the HTTP layer then retries exactly once, see
//! [`crate::http::Auth::Token`]).

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use reqwest::Method;
use reqwest::header::{ACCEPT, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use crate::error::{Error, ProviderError, Result};
use crate::http::{ApiRequest, Auth, HttpClient};

/// A bearer token and when it stops working.
#[derive(Clone)]
pub struct AccessToken {
    secret: SecretString,
    expires_at: Option<Instant>,
}

impl AccessToken {
    /// A token valid for `expires_in` from now (`None`: until the provider answers 401).
    pub fn new(secret: SecretString, expires_in: Option<Duration>) -> Self {
        AccessToken {
            secret,
            expires_at: expires_in.and_then(|d| Instant::now().checked_add(d)),
        }
    }

    /// The token.
    pub fn secret(&self) -> &SecretString {
        &self.secret
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("secret", &"[REDACTED]")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Where tokens come from (a provider's token endpoint).
#[async_trait::async_trait]
pub trait TokenSource: Send + Sync + fmt::Debug {
    /// Requests a new token.
    async fn fetch(&self) -> Result<AccessToken>;

    /// Whether fetching again can give another token than the one the provider just refused.
    /// `true` for a token endpoint; `false` for a [`StaticTokenSource`], whose request is then
    /// not sent a second time after a 401 (see [`crate::http::Auth::Token`]).
    fn can_refresh(&self) -> bool {
        true
    }
}

/// A token obtained elsewhere (the merchant's own token service, a test), for the clients of
/// providers with OAuth2 tokens (`with_token_cache(config, TokenCache::new(StaticTokenSource::new(token)))`):
/// handed out as it is, never refreshed. A call the provider answers 401 fails with that 401;
/// it is not sent again.
pub struct StaticTokenSource(SecretString);

impl StaticTokenSource {
    /// A source that always returns `token`.
    pub fn new(token: impl Into<String>) -> Self {
        StaticTokenSource(SecretString::from(token.into()))
    }
}

impl fmt::Debug for StaticTokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StaticTokenSource([REDACTED])")
    }
}

#[async_trait::async_trait]
impl TokenSource for StaticTokenSource {
    async fn fetch(&self) -> Result<AccessToken> {
        Ok(AccessToken::new(self.0.clone(), None))
    }

    fn can_refresh(&self) -> bool {
        false
    }
}

/// A token handed out by the cache; give it back to [`TokenCache::invalidate`] after a 401.
#[derive(Clone)]
pub struct TokenLease {
    secret: SecretString,
    generation: u64,
}

impl TokenLease {
    /// The token.
    pub fn secret(&self) -> &SecretString {
        &self.secret
    }
}

impl fmt::Debug for TokenLease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenLease(generation {}, [REDACTED])", self.generation)
    }
}

struct Cached {
    token: AccessToken,
    generation: u64,
    /// When to stop handing the token out: `margin` before expiry, but never more than half of
    /// the token's lifetime (a 30 s token with a 60 s margin is still used for 15 s).
    refresh_at: Option<Instant>,
}

impl Cached {
    fn lease(&self) -> TokenLease {
        TokenLease {
            secret: self.token.secret.clone(),
            generation: self.generation,
        }
    }

    fn not_expired(&self, now: Instant) -> bool {
        self.token.expires_at.is_none_or(|at| now < at)
    }
}

struct Inner {
    source: Box<dyn TokenSource>,
    margin: Duration,
    current: RwLock<Option<Cached>>,
    /// Held while fetching: the single flight.
    refresh: tokio::sync::Mutex<()>,
    generation: AtomicU64,
    /// Counts finished fetch attempts, so waiters can tell that one failed while they waited.
    fetches: AtomicU64,
}

/// A shared, single-flight access-token cache. Cloning shares the cache.
#[derive(Clone)]
pub struct TokenCache {
    inner: Arc<Inner>,
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache")
            .field("source", &self.inner.source)
            .field("margin", &self.inner.margin)
            .finish_non_exhaustive()
    }
}

impl TokenCache {
    /// Default refresh margin: a token is replaced this long before it expires.
    pub const DEFAULT_MARGIN: Duration = Duration::from_secs(60);

    /// A cache over `source` with the default margin.
    pub fn new(source: impl TokenSource + 'static) -> Self {
        Self::with_margin(source, Self::DEFAULT_MARGIN)
    }

    /// A cache over `source` that refreshes `margin` before expiry.
    pub fn with_margin(source: impl TokenSource + 'static, margin: Duration) -> Self {
        TokenCache {
            inner: Arc::new(Inner {
                source: Box::new(source),
                margin,
                current: RwLock::new(None),
                refresh: tokio::sync::Mutex::new(()),
                generation: AtomicU64::new(0),
                fetches: AtomicU64::new(0),
            }),
        }
    }

    /// The cached token if it is before its refresh point (`until_expiry`: before its expiry).
    fn cached(&self, until_expiry: bool) -> Option<TokenLease> {
        let current = self.inner.current.read().unwrap_or_else(|p| p.into_inner());
        let cached = current.as_ref()?;
        let now = Instant::now();
        let usable = if until_expiry {
            cached.not_expired(now)
        } else {
            cached.refresh_at.is_none_or(|at| now < at)
        };
        usable.then(|| cached.lease())
    }

    fn fresh(&self) -> Option<TokenLease> {
        self.cached(false)
    }

    /// A valid token: the cached one, or a new one fetched by exactly one of the concurrent callers.
    pub async fn get(&self) -> Result<TokenLease> {
        if let Some(lease) = self.fresh() {
            return Ok(lease);
        }
        let fetches_before = self.inner.fetches.load(Ordering::Acquire);
        let _flight = self.inner.refresh.lock().await;
        if let Some(lease) = self.fresh() {
            return Ok(lease);
        }
        if self.inner.fetches.load(Ordering::Acquire) != fetches_before {
            // A fetch finished while we waited. Its token may already be inside the refresh
            // margin (a short-lived token) yet still valid: use it. If it left none, it failed:
            // do not hammer the token endpoint with every waiter; the next call tries again.
            if let Some(lease) = self.cached(true) {
                return Ok(lease);
            }
            return Err(Error::NotSent {
                operation: "access_token",
                reason: "the token request made by a concurrent call just failed".into(),
            });
        }
        let result = self.inner.source.fetch().await;
        self.inner.fetches.fetch_add(1, Ordering::AcqRel);
        let token = result?;
        let generation = self.inner.generation.fetch_add(1, Ordering::AcqRel) + 1;
        let now = Instant::now();
        let refresh_at = token.expires_at.map(|at| {
            let margin = self.inner.margin.min(at.saturating_duration_since(now) / 2);
            at.checked_sub(margin).unwrap_or(now)
        });
        let cached = Cached {
            token,
            generation,
            refresh_at,
        };
        let lease = cached.lease();
        *self
            .inner
            .current
            .write()
            .unwrap_or_else(|p| p.into_inner()) = Some(cached);
        Ok(lease)
    }

    /// Whether the source can give another token after a 401 ([`TokenSource::can_refresh`]).
    pub fn can_refresh(&self) -> bool {
        self.inner.source.can_refresh()
    }

    /// Drops the cached token if it is still the one in `lease` (a token refreshed meanwhile by
    /// another caller is kept).
    pub fn invalidate(&self, lease: &TokenLease) {
        let mut current = self
            .inner
            .current
            .write()
            .unwrap_or_else(|p| p.into_inner());
        if current
            .as_ref()
            .is_some_and(|c| c.generation == lease.generation)
        {
            *current = None;
        }
    }
}

/// How an OAuth2 token request carries its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRequestFormat {
    /// `application/x-www-form-urlencoded` (RFC 6749).
    Form,
    /// `application/json` (Auth0-style endpoints).
    Json,
}

/// A standard OAuth2 token endpoint (`client_credentials` or `password` grant).
///
/// Every parameter value is held as a secret: Debug output shows only parameter names.
pub struct OAuth2TokenSource {
    http: HttpClient,
    url: Url,
    format: TokenRequestFormat,
    basic: Option<(String, SecretString)>,
    params: Vec<(String, SecretString)>,
}

impl fmt::Debug for OAuth2TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuth2TokenSource")
            .field("url", &self.url.as_str())
            .field("format", &self.format)
            .field("basic_auth", &self.basic.as_ref().map(|(id, _)| id))
            .field(
                "params",
                &self.params.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .finish()
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

impl OAuth2TokenSource {
    /// A token endpoint at `url` taking parameters in `format`.
    pub fn new(http: HttpClient, url: Url, format: TokenRequestFormat) -> Self {
        OAuth2TokenSource {
            http,
            url,
            format,
            basic: None,
            params: Vec::new(),
        }
    }

    /// Authenticates the token request with HTTP Basic (`client_id:client_secret`).
    pub fn basic_auth(mut self, id: impl Into<String>, secret: SecretString) -> Self {
        self.basic = Some((id.into(), secret));
        self
    }

    /// Adds a parameter (`grant_type`, `scope`, `client_id`, `password`, ...).
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.params
            .push((name.into(), SecretString::from(value.into())));
        self
    }

    /// Adds a secret parameter.
    pub fn secret_param(mut self, name: impl Into<String>, value: SecretString) -> Self {
        self.params.push((name.into(), value));
        self
    }

    fn body(&self) -> Result<(Vec<u8>, &'static str)> {
        match self.format {
            TokenRequestFormat::Form => {
                let mut form = url::form_urlencoded::Serializer::new(String::new());
                for (k, v) in &self.params {
                    form.append_pair(k, v.expose_secret());
                }
                Ok((
                    form.finish().into_bytes(),
                    "application/x-www-form-urlencoded",
                ))
            }
            TokenRequestFormat::Json => {
                let map: serde_json::Map<String, serde_json::Value> = self
                    .params
                    .iter()
                    .map(|(k, v)| (k.clone(), v.expose_secret().into()))
                    .collect();
                let bytes = serde_json::to_vec(&map)
                    .map_err(|e| Error::Config(format!("token request body: {e}")))?;
                Ok((bytes, "application/json"))
            }
        }
    }
}

fn basic_credentials(id: &str, secret: &SecretString) -> SecretString {
    use base64::Engine as _;
    SecretString::from(
        base64::engine::general_purpose::STANDARD
            .encode(format!("{id}:{}", secret.expose_secret())),
    )
}

#[async_trait::async_trait]
impl TokenSource for OAuth2TokenSource {
    async fn fetch(&self) -> Result<AccessToken> {
        let (body, content_type) = self.body()?;
        let mut request = ApiRequest::new("access_token", Method::POST, self.url.clone())
            .idempotent(true)
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .body(body, content_type);
        if let Some((id, secret)) = &self.basic {
            request = request.auth(Auth::scheme("Basic", &basic_credentials(id, secret))?);
        }
        let response = self
            .http
            .send(request)
            .await?
            .error_for_status(oauth_error)?;
        let token: TokenResponse = response.json()?;
        Ok(AccessToken::new(
            SecretString::from(token.access_token),
            token.expires_in.map(Duration::from_secs),
        ))
    }
}

/// Reads an RFC 6749 error body (`{"error": "...", "error_description": "..."}`).
fn oauth_error(body: &[u8]) -> ProviderError {
    #[derive(Deserialize)]
    struct OAuthError {
        error: Option<String>,
        error_description: Option<String>,
    }
    let mut error = ProviderError::new(0);
    if let Ok(parsed) = serde_json::from_slice::<OAuthError>(body) {
        if let Some(code) = parsed.error {
            error = error.with_code(code);
        }
        if let Some(description) = parsed.error_description {
            error = error.with_message(description);
        }
    }
    error
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_standard_base64() {
        // RFC 7617's example.
        let encoded = basic_credentials("Aladdin", &SecretString::from("open sesame"));
        assert_eq!(encoded.expose_secret(), "QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    }

    #[test]
    fn debug_output_never_shows_token_or_params() {
        let token = AccessToken::new(SecretString::from("tok_SECRET"), None);
        assert!(!format!("{token:?}").contains("SECRET"));
        let http = HttpClient::new("test", "t", "0", &crate::http::HttpConfig::default()).unwrap();
        let source = OAuth2TokenSource::new(
            http,
            Url::parse("https://auth.example/token").unwrap(),
            TokenRequestFormat::Form,
        )
        .basic_auth("app", SecretString::from("app_SECRET"))
        .secret_param("password", SecretString::from("pw_SECRET"));
        let shown = format!("{source:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(shown.contains("password"));
        let cache = TokenCache::new(source);
        assert!(!format!("{cache:?}").contains("SECRET"));
        let fixed = TokenCache::new(StaticTokenSource::new("tok_SECRET"));
        assert!(!format!("{fixed:?}").contains("SECRET"));
    }

    #[tokio::test]
    async fn a_static_token_is_handed_out_as_is_and_never_refreshed() {
        let cache = TokenCache::new(StaticTokenSource::new("external-token"));
        assert!(!cache.can_refresh());
        let lease = cache.get().await.unwrap();
        assert_eq!(lease.secret().expose_secret(), "external-token");
        cache.invalidate(&lease);
        let again = cache.get().await.unwrap();
        assert_eq!(again.secret().expose_secret(), "external-token");
        let http = HttpClient::new("test", "t", "0", &crate::http::HttpConfig::default()).unwrap();
        let endpoint = OAuth2TokenSource::new(
            http,
            Url::parse("https://auth.example/token").unwrap(),
            TokenRequestFormat::Form,
        );
        assert!(TokenCache::new(endpoint).can_refresh());
    }
}
