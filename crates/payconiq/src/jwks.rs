//! Fetching Payconiq's callback-signing keys (JWKS) with caching, and a verifier that uses them.
//!
//! The key set is cached for [`JwksFetcher::DEFAULT_TTL`] (12 hours). When a callback names a key id
//! the cached set lacks (Payconiq rotated its key), the set is fetched again exactly once; to keep
//! forged key ids from turning the merchant's endpoint into a JWKS hammer, such refetches happen at
//! most once per [`JwksFetcher::min_refetch_interval`] whatever arrives, and only for requests that
//! passed every check that needs no key ([`crate::webhook::signing_key_id`]): junk never causes a
//! fetch.
//!
//! # During a key-endpoint outage
//!
//! Payconiq waits only 15 s for an answer, so no callback may queue behind another one's fetch:
//!
//! - no lock is held across the network call. One caller fetches; while it does, callers that have
//!   a key set (even an expired one) verify with it at once, and only callers that have none (the
//!   very first fetch) wait for that fetch's result instead of starting their own;
//! - when a fetch fails, the previously fetched set keeps being used (Payconiq's keys rotate
//!   rarely), and no fetch at all is tried for [`JwksFetcher::failure_backoff`] (10 s by default),
//!   whether or not a set is cached: during an outage, at most one fetch per backoff period is
//!   made, however many callbacks (genuine or forged) arrive. Without any set, callbacks are
//!   answered 503 ([`WebhookRejection::KeysUnavailable`]) and Payconiq retries them;
//! - a callback naming an unknown key id while the set cannot be refreshed (a failed refetch, or
//!   the failure backoff) is answered 503 as well, so that a callback signed with a freshly
//!   rotated key is retried rather than lost; once a refetch has succeeded and still lacks the key
//!   id, the answer is [`WebhookRejection::UnknownKey`] (401).
//!
//! Fetches use short timeouts (5 s, two attempts) because Payconiq waits only 15 s for an answer.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use payments_core::http::{ApiRequest, HttpClient, HttpConfig, Method, Url};
use payments_core::webhook::{
    AsyncWebhookVerifier, VerifiedEvent, WebhookRejection, WebhookRequest,
};
use payments_core::{Error, Result};
use tokio::sync::Notify;

use crate::config::Environment;
use crate::webhook::{
    CheckedHeader, DetachedJws, JwkSet, PayconiqEvent, WebhookSettings, decode_header,
};

/// What the fetcher knows; behind a synchronous mutex that is never held across an `.await`.
#[derive(Default)]
struct State {
    /// The last set fetched, and when.
    keys: Option<(Arc<JwkSet>, Instant)>,
    /// Whether a fetch is in flight (one at a time).
    fetching: bool,
    /// When the last fetch failed, and why (cleared by a successful fetch).
    last_failure: Option<(Instant, String)>,
    /// When a fetch was last started because of an unknown key id.
    last_unknown_kid_refetch: Option<Instant>,
}

impl State {
    /// The failure to report when fetching is paused after a failed fetch.
    fn backing_off(&self, backoff: Duration) -> Option<Error> {
        let (failed, reason) = self.last_failure.as_ref()?;
        (failed.elapsed() < backoff).then(|| Error::NotSent {
            operation: "fetch_jwks",
            reason: format!(
                "the key set could not be fetched {} ms ago ({reason}); not retrying for {} s",
                failed.elapsed().as_millis(),
                backoff.as_secs()
            ),
        })
    }
}

struct Shared {
    state: Mutex<State>,
    /// Wakes the callers waiting for the fetch in flight.
    fetched: Notify,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding it; should it ever, the state is still consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Marks the fetch in flight as over, also when the fetching caller is cancelled mid-fetch, and
/// wakes whoever waits for it.
struct FetchInFlight<'a>(&'a Shared);

impl Drop for FetchInFlight<'_> {
    fn drop(&mut self) {
        self.0.lock().fetching = false;
        self.0.fetched.notify_waiters();
    }
}

/// What a caller does after looking at the state.
enum Next {
    Done(Result<Arc<JwkSet>>),
    Wait,
    Fetch,
}

/// Fetches and caches a JWK set. Clones share the cache.
#[derive(Clone)]
pub struct JwksFetcher {
    http: HttpClient,
    url: Url,
    ttl: Duration,
    min_refetch_interval: Duration,
    failure_backoff: Duration,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for JwksFetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksFetcher")
            .field("url", &self.url.as_str())
            .field("ttl", &self.ttl)
            .field("min_refetch_interval", &self.min_refetch_interval)
            .field("failure_backoff", &self.failure_backoff)
            .finish_non_exhaustive()
    }
}

impl JwksFetcher {
    /// How long a fetched key set is used before it is fetched again.
    pub const DEFAULT_TTL: Duration = Duration::from_secs(12 * 3600);
    /// Shortest time between two refetches caused by unknown key ids.
    pub const DEFAULT_MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(60);
    /// How long no fetch is tried after a failed one (with or without a cached set).
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
            crate::PROVIDER,
            env!("CARGO_PKG_NAME"),
            env!("CARGO_PKG_VERSION"),
            http,
        )?;
        Ok(JwksFetcher {
            http,
            url,
            ttl: Self::DEFAULT_TTL,
            min_refetch_interval: Self::DEFAULT_MIN_REFETCH_INTERVAL,
            failure_backoff: Self::DEFAULT_FAILURE_BACKOFF,
            shared: Arc::new(Shared {
                state: Mutex::default(),
                fetched: Notify::new(),
            }),
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

    /// Sets how long no fetch is tried after a failed one (default 10 s).
    pub fn failure_backoff(mut self, backoff: Duration) -> Self {
        self.failure_backoff = backoff;
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

    /// Runs the fetch the caller was elected for (`fetching` already set), without any lock held,
    /// and records its outcome.
    async fn refresh(&self) -> Result<Arc<JwkSet>> {
        let _in_flight = FetchInFlight(&self.shared);
        let result = self.fetch().await;
        let mut state = self.shared.lock();
        match &result {
            Ok(keys) => {
                state.keys = Some((keys.clone(), Instant::now()));
                state.last_failure = None;
            }
            Err(e) => state.last_failure = Some((Instant::now(), e.to_string())),
        }
        result
    }

    /// Looks at the state under the lock and decides; `wait` is enabled before the lock is
    /// released, so the end of the fetch in flight cannot be missed.
    async fn run(
        &self,
        mut decide: impl FnMut(&mut State) -> Next,
        on_fetched: impl Fn(Result<Arc<JwkSet>>, Option<Arc<JwkSet>>) -> Result<Arc<JwkSet>>,
    ) -> Result<Arc<JwkSet>> {
        loop {
            let wait = self.shared.fetched.notified();
            let mut wait = std::pin::pin!(wait);
            let (next, previous) = {
                let mut state = self.shared.lock();
                let next = decide(&mut state);
                match next {
                    Next::Wait => {
                        wait.as_mut().enable();
                    }
                    Next::Fetch => state.fetching = true,
                    Next::Done(_) => {}
                }
                (next, state.keys.as_ref().map(|(keys, _)| keys.clone()))
            };
            match next {
                Next::Done(result) => return result,
                Next::Wait => wait.await,
                Next::Fetch => return on_fetched(self.refresh().await, previous),
            }
        }
    }

    /// The cached key set; fetched when absent or older than the TTL.
    ///
    /// An expired set is still returned, without waiting, while another caller refreshes it,
    /// during the failure backoff, and when the refresh fails.
    ///
    /// # Errors
    /// [`Error::NotSent`] during the failure backoff when no set was ever fetched, or the fetch's
    /// error.
    pub async fn keys(&self) -> Result<Arc<JwkSet>> {
        let (ttl, backoff) = (self.ttl, self.failure_backoff);
        self.run(
            |state| {
                if let Some((keys, fetched)) = &state.keys {
                    if fetched.elapsed() < ttl
                        || state.fetching
                        || state.backing_off(backoff).is_some()
                    {
                        return Next::Done(Ok(keys.clone()));
                    }
                    return Next::Fetch;
                }
                if let Some(e) = state.backing_off(backoff) {
                    return Next::Done(Err(e));
                }
                if state.fetching {
                    Next::Wait
                } else {
                    Next::Fetch
                }
            },
            |fetched, stale| match (fetched, stale) {
                (Ok(keys), _) => Ok(keys),
                (Err(_), Some(stale)) => Ok(stale),
                (Err(e), None) => Err(e),
            },
        )
        .await
    }

    /// Called when `kid` is not in `seen` (the set the caller verified with): returns a set that may
    /// contain it. Reuses another caller's fetch (waiting for the one in flight); otherwise
    /// refetches, at most once per `min_refetch_interval` and never during the failure backoff.
    /// Returns `seen` itself when a refetch is not due and the last one succeeded.
    ///
    /// # Errors
    /// When the set could not be refreshed (this refetch failed, or the last fetch failed and no
    /// new one is due): the key id may be a freshly rotated one, so this is a temporary failure,
    /// not an unknown key.
    pub async fn keys_with(&self, kid: &str, seen: &Arc<JwkSet>) -> Result<Arc<JwkSet>> {
        let (interval, backoff) = (self.min_refetch_interval, self.failure_backoff);
        self.run(
            |state| {
                if let Some((keys, _)) = &state.keys
                    && (!Arc::ptr_eq(keys, seen) || keys.contains(kid))
                {
                    return Next::Done(Ok(keys.clone()));
                }
                if state.fetching {
                    return Next::Wait;
                }
                let refetched_recently = state
                    .last_unknown_kid_refetch
                    .is_some_and(|at| at.elapsed() < interval);
                let backing_off = state.backing_off(backoff);
                if !refetched_recently && backing_off.is_none() {
                    state.last_unknown_kid_refetch = Some(Instant::now());
                    return Next::Fetch;
                }
                match (backing_off, &state.last_failure) {
                    // The last fetch failed: whether the key exists is not known.
                    (Some(e), _) => Next::Done(Err(e)),
                    (None, Some((_, reason))) => Next::Done(Err(Error::NotSent {
                        operation: "fetch_jwks",
                        reason: format!("the key set could not be refreshed ({reason})"),
                    })),
                    // A recent refetch succeeded without this key id: it is unknown.
                    (None, None) => Next::Done(Ok(seen.clone())),
                }
            },
            |fetched, _| fetched,
        )
        .await
    }
}

/// Verifies callbacks with keys fetched from Payconiq's JWKS endpoint.
#[derive(Debug, Clone)]
pub struct JwksWebhookVerifier {
    settings: WebhookSettings,
    fetcher: JwksFetcher,
}

impl JwksWebhookVerifier {
    /// A verifier checking callbacks against `settings` with keys from `fetcher`.
    pub fn new(settings: WebhookSettings, fetcher: JwksFetcher) -> Self {
        JwksWebhookVerifier { settings, fetcher }
    }
}

fn unavailable(e: Error) -> WebhookRejection {
    WebhookRejection::KeysUnavailable(e.to_string())
}

#[async_trait::async_trait]
impl AsyncWebhookVerifier for JwksWebhookVerifier {
    type Payload = PayconiqEvent;

    async fn verify(
        &self,
        request: &WebhookRequest<'_>,
    ) -> std::result::Result<VerifiedEvent<PayconiqEvent>, WebhookRejection> {
        // Refuse anything malformed before touching the network; the header is read once.
        let jws = DetachedJws::from_request(request)?;
        let json = decode_header(jws.header_b64)?;
        let header = CheckedHeader::check(&json)?;
        let mut keys = self.fetcher.keys().await.map_err(unavailable)?;
        if !keys.contains(&header.kid) {
            keys = self
                .fetcher
                .keys_with(&header.kid, &keys)
                .await
                .map_err(unavailable)?;
        }
        self.settings
            .verify_checked(&keys, request, &jws, header)
            .map(|(event, _)| event)
    }
}
