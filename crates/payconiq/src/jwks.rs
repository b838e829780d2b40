//! Fetching Payconiq's callback-signing keys (JWKS) with caching, and a verifier that uses them.
//!
//! The key set is cached for [`JwksFetcher::DEFAULT_TTL`] (12 hours). When a callback names a key id
//! the cached set lacks (Payconiq rotated its key), the set is fetched again exactly once; to keep
//! forged key ids from turning the merchant's endpoint into a JWKS hammer, such refetches happen at
//! most once per [`JwksFetcher::min_refetch_interval`], and only for requests that passed every
//! check that needs no key ([`crate::webhook::signing_key_id`]): junk never causes a fetch.
//!
//! When a fetch fails, a previously fetched set keeps being used (Payconiq's keys rotate rarely; an
//! outage of the key endpoint should not drop callbacks), and without one no new fetch is tried for
//! [`JwksFetcher::DEFAULT_FAILURE_BACKOFF`]: callbacks are answered 503 and Payconiq retries them.
//! Fetches use short timeouts (5 s, two attempts) because Payconiq waits only 15 s for an answer.

use std::sync::Arc;
use std::time::{Duration, Instant};

use payments_core::http::{ApiRequest, HttpClient, HttpConfig, Method, Url};
use payments_core::webhook::{
    AsyncWebhookVerifier, VerifiedEvent, WebhookRejection, WebhookRequest,
};
use payments_core::{Error, Result};
use tokio::sync::Mutex;

use crate::config::Environment;
use crate::webhook::{Callback, CallbackSettings, JwkSet};

#[derive(Default)]
struct State {
    keys: Option<(Arc<JwkSet>, Instant)>,
    last_unknown_kid_refetch: Option<Instant>,
    last_failure: Option<Instant>,
}

/// Fetches and caches a JWK set. Clones share the cache.
#[derive(Clone)]
pub struct JwksFetcher {
    http: HttpClient,
    url: Url,
    ttl: Duration,
    min_refetch_interval: Duration,
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for JwksFetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksFetcher")
            .field("url", &self.url.as_str())
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl JwksFetcher {
    /// How long a fetched key set is used before it is fetched again.
    pub const DEFAULT_TTL: Duration = Duration::from_secs(12 * 3600);
    /// Shortest time between two refetches caused by unknown key ids.
    pub const DEFAULT_MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(60);
    /// How long to wait after a failed fetch before trying again (when no set is cached).
    pub const DEFAULT_FAILURE_BACKOFF: Duration = Duration::from_secs(10);

    /// The HTTP settings used by [`JwksFetcher::for_environment`]: 5 s per request, two attempts.
    pub fn default_http() -> HttpConfig {
        HttpConfig::default()
            .connect_timeout(Duration::from_secs(3))
            .request_timeout(Duration::from_secs(5))
            .retry(payments_core::http::RetryPolicy::default().max_attempts(2))
    }

    /// A fetcher for the environment's published key set.
    pub fn for_environment(environment: Environment) -> Result<Self> {
        Self::new(environment.jwks_url(), &Self::default_http())
    }

    /// A fetcher for the key set at `url`.
    pub fn new(url: &str, http: &HttpConfig) -> Result<Self> {
        let url = Url::parse(url).map_err(|e| Error::Config(format!("invalid JWKS URL: {e}")))?;
        let http = HttpClient::new(
            crate::webhook::PROVIDER,
            env!("CARGO_PKG_NAME"),
            env!("CARGO_PKG_VERSION"),
            http,
        )?;
        Ok(JwksFetcher {
            http,
            url,
            ttl: Self::DEFAULT_TTL,
            min_refetch_interval: Self::DEFAULT_MIN_REFETCH_INTERVAL,
            state: Arc::default(),
        })
    }

    /// Sets the cache lifetime.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Sets the shortest time between two unknown-key refetches.
    pub fn min_refetch_interval(mut self, interval: Duration) -> Self {
        self.min_refetch_interval = interval;
        self
    }

    async fn fetch(&self) -> Result<Arc<JwkSet>> {
        let response = self
            .http
            .send(ApiRequest::new("fetch_jwks", Method::GET, self.url.clone()))
            .await?
            .error_for_status(|_| payments_core::ProviderError::default())?;
        Ok(Arc::new(JwkSet::from_json(response.body())?))
    }

    /// Fetches into `state`; on failure keeps (and returns) the previous set if there is one.
    async fn refresh(&self, state: &mut State) -> Result<Arc<JwkSet>> {
        if let (None, Some(failed)) = (&state.keys, state.last_failure)
            && failed.elapsed() < Self::DEFAULT_FAILURE_BACKOFF
        {
            return Err(Error::NotSent {
                operation: "fetch_jwks",
                reason: "the key set could not be fetched moments ago; not retrying yet".into(),
            });
        }
        match self.fetch().await {
            Ok(keys) => {
                state.keys = Some((keys.clone(), Instant::now()));
                state.last_failure = None;
                Ok(keys)
            }
            Err(e) => {
                state.last_failure = Some(Instant::now());
                match &state.keys {
                    Some((stale, _)) => Ok(stale.clone()),
                    None => Err(e),
                }
            }
        }
    }

    /// The cached key set, fetched when absent or older than the TTL (a stale set is kept when the
    /// fetch fails).
    pub async fn keys(&self) -> Result<Arc<JwkSet>> {
        let mut state = self.state.lock().await;
        if let Some((keys, fetched)) = &state.keys
            && fetched.elapsed() < self.ttl
        {
            return Ok(keys.clone());
        }
        self.refresh(&mut state).await
    }

    /// Called when `kid` is not in `seen` (the set the caller verified with): returns a set that may
    /// contain it. Refetches at most once per `min_refetch_interval`; another caller's refetch
    /// that already brought the key is reused.
    pub async fn keys_with(&self, kid: &str, seen: &Arc<JwkSet>) -> Result<Arc<JwkSet>> {
        let mut state = self.state.lock().await;
        if let Some((keys, _)) = &state.keys
            && (!Arc::ptr_eq(keys, seen) || keys.contains(kid))
        {
            return Ok(keys.clone());
        }
        let recently = state
            .last_unknown_kid_refetch
            .is_some_and(|at| at.elapsed() < self.min_refetch_interval);
        if recently {
            return Ok(seen.clone());
        }
        state.last_unknown_kid_refetch = Some(Instant::now());
        self.refresh(&mut state).await
    }
}

/// Verifies callbacks with keys fetched from Payconiq's JWKS endpoint.
#[derive(Debug, Clone)]
pub struct JwksCallbackVerifier {
    settings: CallbackSettings,
    fetcher: JwksFetcher,
}

impl JwksCallbackVerifier {
    /// A verifier checking callbacks against `settings` with keys from `fetcher`.
    pub fn new(settings: CallbackSettings, fetcher: JwksFetcher) -> Self {
        JwksCallbackVerifier { settings, fetcher }
    }
}

fn unavailable(e: Error) -> WebhookRejection {
    WebhookRejection::KeysUnavailable(e.to_string())
}

#[async_trait::async_trait]
impl AsyncWebhookVerifier for JwksCallbackVerifier {
    type Payload = Callback;

    async fn verify(
        &self,
        request: &WebhookRequest<'_>,
    ) -> std::result::Result<VerifiedEvent<Callback>, WebhookRejection> {
        // Refuse anything malformed before touching the network.
        crate::webhook::signing_key_id(request)?;
        let keys = self.fetcher.keys().await.map_err(unavailable)?;
        match self.settings.verify(&keys, request) {
            Err(WebhookRejection::UnknownKey(kid)) => {
                let refreshed = self
                    .fetcher
                    .keys_with(&kid, &keys)
                    .await
                    .map_err(unavailable)?;
                self.settings.verify(&refreshed, request)
            }
            other => other,
        }
    }
}
