//! The PIS v2 API, one method per endpoint, every call signed.

use std::fmt;
use std::sync::Arc;

use futures_util::stream::{self, Stream, TryStreamExt};

use payments_core::error::redacted_excerpt;
use payments_core::http::{
    ApiRequest, ApiResponse, Auth, HttpClient, Method, RequestSigner, Url, header,
};
use payments_core::provider_support::{
    PathSegment::{self, Fixed, Id},
    base_url, join_path,
};
use payments_core::token::{OAuth2TokenSource, TokenCache, TokenRequestFormat};
use payments_core::webhook::Clock;
use payments_core::{
    Capabilities, Capability, Checkout, CreatePayment, Error, Money, Payment, PaymentProvider,
    PaymentStatus, Refund, RefundRequest, Result,
};

use crate::PROVIDER;
use crate::callback::{RedirectCallback, RedirectError, StoredSession};
use crate::config::{Environment, FintectureConfig};
use crate::convert::{
    AmountError, list_item_to_payment, provider_error, refund_status, to_checkout, to_payment,
    unified_status,
};
use crate::keys::AppPrivateKey;
use crate::request::{ConnectRequest, ListPaymentsQuery, RefundPaymentRequest, check_session_id};
use crate::signing::{RequestIdSource, http_date, sign_request};
use crate::wire::{
    ConnectSession, FintecturePayment, PaymentList, PaymentResource, RefundResponse, SessionStatus,
    SettlementEnvelope, SettlementList, StatusPatch, StatusPatchMeta,
};

/// What the provider-neutral [`PaymentProvider`] implementation supports: everything, refunds
/// included (full, partial and repeated, never more than the paid amount), and finding the
/// sessions of a merchant reference through the payment list.
pub const CAPABILITIES: Capabilities = Capabilities::new(&[
    Capability::CreatePayment,
    Capability::GetPayment,
    Capability::CancelPayment,
    Capability::Refund,
    Capability::PartialRefund,
    Capability::FindByReference,
    Capability::SignedWebhooks,
]);

const X_REQUEST_ID: &str = "x-request-id";

/// Page size of the neutral `find_by_reference` (Fintecture's default page size).
const FIND_PAGE_SIZE: u32 = 100;

/// Signs each attempt of a request: a fresh `Date` from the clock, the `X-Request-ID` the client
/// set once for the logical request (so retries of one call share it), `Digest` over exactly the
/// bytes sent, and the `Signature`.
struct FintectureSigner {
    key: Arc<AppPrivateKey>,
    app_id: String,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn RequestIdSource>,
}

impl fmt::Debug for FintectureSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FintectureSigner")
            .field("app_id", &self.app_id)
            .finish_non_exhaustive()
    }
}

impl RequestSigner for FintectureSigner {
    fn sign(
        &self,
        method: &Method,
        url: &Url,
        body: &[u8],
        headers: &mut header::HeaderMap,
    ) -> Result<()> {
        let request_id = headers
            .get(X_REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .unwrap_or_else(|| self.ids.next_id());
        let target = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_string(),
        };
        let date = http_date(self.clock.now());
        let signed = sign_request(
            &self.key,
            &self.app_id,
            method.as_str(),
            &target,
            body,
            &date,
            &request_id,
        )?;
        let value = |v: &str| {
            header::HeaderValue::from_str(v)
                .map_err(|_| Error::Config("signature header has invalid characters".into()))
        };
        headers.insert(header::DATE, value(&signed.date)?);
        if let Some(digest) = &signed.digest {
            headers.insert(header::HeaderName::from_static("digest"), value(digest)?);
        }
        headers.insert(
            header::HeaderName::from_static(X_REQUEST_ID),
            value(&signed.request_id)?,
        );
        headers.insert(
            header::HeaderName::from_static("signature"),
            value(&signed.signature)?,
        );
        Ok(())
    }
}

/// A Fintecture PIS client. Cheap to clone; clones share the connection pool and token cache.
#[derive(Clone)]
pub struct FintectureClient {
    http: HttpClient,
    base: Url,
    auth: Auth,
    signer: Option<Arc<dyn RequestSigner>>,
    ids: Arc<dyn RequestIdSource>,
    clock: Arc<dyn Clock>,
    key: Arc<AppPrivateKey>,
    app_id: String,
    environment: Environment,
    default_redirect_uri: Option<String>,
}

impl fmt::Debug for FintectureClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FintectureClient")
            .field("base", &self.base.as_str())
            .field("app_id", &self.app_id)
            .field("environment", &self.environment)
            .field("signed", &self.signer.is_some())
            .finish_non_exhaustive()
    }
}

impl FintectureClient {
    /// A client for `config`: parses the private key and prepares the token cache over
    /// Fintecture's token endpoint (client credentials). Fails only on a malformed configuration.
    pub fn new(config: FintectureConfig) -> Result<Self> {
        Self::build(config, None)
    }

    /// A client whose access tokens come from `tokens` instead of Fintecture's token endpoint:
    /// a cache over your own [`TokenSource`](payments_core::token::TokenSource), or over a
    /// [`StaticTokenSource`](payments_core::token::StaticTokenSource) for a token obtained
    /// elsewhere (a 401 is then returned as is). The app secret in `config` is not used.
    pub fn with_token_cache(config: FintectureConfig, tokens: TokenCache) -> Result<Self> {
        Self::build(config, Some(tokens))
    }

    fn build(config: FintectureConfig, tokens: Option<TokenCache>) -> Result<Self> {
        config.check()?;
        let key = config.load_private_key()?;
        let base = base_url("Fintecture base URL", config.effective_base_url())?;
        let http = HttpClient::new(
            PROVIDER,
            env!("CARGO_PKG_NAME"),
            env!("CARGO_PKG_VERSION"),
            &config.http,
        )?;
        let tokens = match tokens {
            Some(tokens) => tokens,
            None => {
                let token_url = match &config.token_url {
                    Some(url) => base_url("Fintecture token URL", url)?,
                    None => join_path(&base, &[Fixed("oauth"), Fixed("accesstoken")])?,
                };
                let source =
                    OAuth2TokenSource::new(http.clone(), token_url, TokenRequestFormat::Form)
                        .basic_auth(config.app_id.clone(), config.app_secret.clone())
                        .param("grant_type", "client_credentials")
                        .param("app_id", config.app_id.clone())
                        .param("scope", "PIS");
                TokenCache::new(source)
            }
        };
        let auth = Auth::Token(tokens);
        let signer: Option<Arc<dyn RequestSigner>> = config.sign_requests.then(|| {
            Arc::new(FintectureSigner {
                key: key.clone(),
                app_id: config.app_id.clone(),
                clock: config.clock.clone(),
                ids: config.request_ids.clone(),
            }) as Arc<dyn RequestSigner>
        });
        Ok(FintectureClient {
            http,
            base,
            auth,
            signer,
            ids: config.request_ids,
            clock: config.clock,
            key,
            app_id: config.app_id,
            environment: config.environment,
            default_redirect_uri: config.default_redirect_uri,
        })
    }

    /// The environment this client talks to.
    pub fn environment(&self) -> Environment {
        self.environment
    }

    /// The parsed private key (share it with a [`crate::webhook::WebhookSettings`]).
    pub fn private_key(&self) -> Arc<AppPrivateKey> {
        self.key.clone()
    }

    /// The application id.
    pub fn app_id(&self) -> &str {
        &self.app_id
    }

    fn url(&self, segments: &[PathSegment<'_>]) -> Result<Url> {
        join_path(&self.base, segments)
    }

    /// A request with auth, `Accept`, one `X-Request-ID` for all its attempts, and the signer.
    fn request(&self, operation: &'static str, method: Method, url: Url) -> Result<ApiRequest> {
        let id = header::HeaderValue::from_str(&self.ids.next_id())
            .map_err(|_| Error::Config("request id has invalid characters".into()))?;
        let mut request = ApiRequest::new(operation, method, url)
            .auth(self.auth.clone())
            .header(
                header::ACCEPT,
                header::HeaderValue::from_static("application/json"),
            )
            .header(header::HeaderName::from_static(X_REQUEST_ID), id);
        if let Some(signer) = &self.signer {
            request = request.signer(signer.clone());
        }
        Ok(request)
    }

    async fn send(&self, request: ApiRequest) -> Result<ApiResponse> {
        self.http
            .send(request)
            .await?
            .error_for_status(provider_error)
    }

    /// `POST /pis/v2/connect?state=..&redirect_uri=..[&origin_uri=..]`: creates a payment
    /// session and returns its id and the Connect URL. Validated first; never retried once it
    /// may have reached Fintecture (on [`Error::OutcomeUnknown`], look for it with
    /// [`ListPaymentsQuery::communication`] / `find_by_reference` before creating again).
    pub async fn connect(&self, request: &ConnectRequest) -> Result<ConnectSession> {
        self.send(self.connect_call(request)?).await?.json()
    }

    /// The call [`FintectureClient::connect`] sends, once `request` is validated.
    fn connect_call(&self, request: &ConnectRequest) -> Result<ApiRequest> {
        request.validate()?;
        let mut url = self.url(&[Fixed("pis"), Fixed("v2"), Fixed("connect")])?;
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("state", &request.state)
                .append_pair("redirect_uri", &request.redirect_uri);
            if let Some(origin) = &request.origin_uri {
                query.append_pair("origin_uri", origin);
            }
        }
        self.request("connect", Method::POST, url)?
            .json(&request.body())
    }

    /// `GET /pis/v2/payments/{session_id}`: the payment's real status.
    pub async fn get_payment(&self, session_id: &str) -> Result<FintecturePayment> {
        self.send(self.get_payment_call(session_id)?).await?.json()
    }

    /// The call [`FintectureClient::get_payment`] sends.
    fn get_payment_call(&self, session_id: &str) -> Result<ApiRequest> {
        check_session_id(session_id)?;
        self.request(
            "get_payment",
            Method::GET,
            self.url(&[
                Fixed("pis"),
                Fixed("v2"),
                Fixed("payments"),
                Id("session_id", session_id),
            ])?,
        )
    }

    /// `GET /pis/v2/payments` with optional filters and paging: one page.
    pub async fn list_payments(&self, query: &ListPaymentsQuery) -> Result<PaymentList> {
        self.send(self.list_payments_call(query)?).await?.json()
    }

    /// The call [`FintectureClient::list_payments`] sends, once `query` is validated.
    fn list_payments_call(&self, query: &ListPaymentsQuery) -> Result<ApiRequest> {
        query.validate()?;
        let mut url = self.url(&[Fixed("pis"), Fixed("v2"), Fixed("payments")])?;
        let pairs = query.pairs();
        if !pairs.is_empty() {
            let mut q = url.query_pairs_mut();
            for (k, v) in &pairs {
                q.append_pair(k, v);
            }
        }
        self.request("list_payments", Method::GET, url)
    }

    /// Every payment matching `query`'s filters, page after page (`page_size` per request, from
    /// page 1; the query's own paging is ignored), as a stream.
    ///
    /// Paging follows Fintecture's *Pagination* guide
    /// (<https://doc.fintecture.com/docs/api-pagination>): a page is followed by the next one
    /// while the answer has a `links.next`. The next page is asked for by number with the same
    /// filters, not by following `links.next` (the guide's example link drops the filters, and a
    /// link would carry the bearer token to whatever host it names). It stops after the last
    /// page announced by the *first* page's `meta.totalPages`, on an empty page, or at the first
    /// error, which it yields; a page that starts with the same payment as the page before (a
    /// server ignoring `page[number]`) is an [`Error::Decode`], not a silent end. Payments
    /// created while the list is read can shift it: a payment may then appear twice.
    pub fn list_all_payments<'a>(
        &'a self,
        query: &ListPaymentsQuery,
        page_size: u32,
    ) -> impl Stream<Item = Result<PaymentResource>> + Send + 'a {
        self.pages(query, page_size)
            .map_ok(|(items, _)| stream::iter(items.into_iter().map(Ok::<_, Error>)))
            .try_flatten()
    }

    /// The pages of [`FintectureClient::list_all_payments`]: the items of each page, and the same
    /// items as Fintecture sent them (for the neutral `raw`).
    fn pages<'a>(
        &'a self,
        query: &ListPaymentsQuery,
        page_size: u32,
    ) -> impl Stream<Item = Result<(Vec<PaymentResource>, Vec<serde_json::Value>)>> + Send + 'a
    {
        let mut query = query.clone();
        query.page_number = None;
        query.page_size = Some(page_size);
        // State: the next page, the page count announced by the first page, the first item of
        // the previous page.
        let start = (Some(1u32), None::<u64>, None::<PaymentResource>, query);
        stream::try_unfold(
            start,
            move |(page, pages, previous_first, query)| async move {
                let Some(page) = page else {
                    return Ok::<_, Error>(None);
                };
                let mut this = query.clone();
                this.page_number = Some(page);
                let response = self.send(self.list_payments_call(&this)?).await?;
                let (list, mut raw): (PaymentList, serde_json::Value) = response.json_with_raw()?;
                // Each item as Fintecture sent it, for the neutral `raw`.
                let raw = match raw.get_mut("data") {
                    Some(serde_json::Value::Array(items)) => std::mem::take(items),
                    _ => Vec::new(),
                };
                let first = list.data.first().cloned();
                if first.is_some() && first == previous_first {
                    return Err(response.decode_error(format!(
                        "page {page} starts with the first payment of page {}: Fintecture ignored \
                     page[number], the list cannot be read to the end",
                        page - 1
                    )));
                }
                let pages = pages.or(list.meta.as_ref().and_then(|m| m.total_pages));
                let has_next = list.links.as_ref().is_some_and(|l| l.next.is_some());
                let next = page.checked_add(1).filter(|next| {
                    has_next
                        && !list.data.is_empty()
                        && pages.is_none_or(|total| u64::from(*next) <= total)
                });
                Ok(Some(((list.data, raw), (next, pages, first, query))))
            },
        )
    }

    /// `PATCH /pis/v2/payments/{session_id}` with `{"meta":{"status":"payment_cancelled"}}`.
    ///
    /// Setting the same status twice is harmless, so the call is retried like a read. When
    /// Fintecture refuses it, the payment is fetched: one already `payment_cancelled` is success.
    pub async fn cancel_payment(&self, session_id: &str) -> Result<()> {
        check_session_id(session_id)?;
        let body = StatusPatch {
            meta: StatusPatchMeta {
                status: "payment_cancelled",
            },
        };
        let call = self
            .request(
                "cancel_payment",
                Method::PATCH,
                self.url(&[
                    Fixed("pis"),
                    Fixed("v2"),
                    Fixed("payments"),
                    Id("session_id", session_id),
                ])?,
            )?
            .idempotent(true)
            .json(&body)?;
        match self.send(call).await {
            Ok(_) => Ok(()),
            Err(e @ Error::Provider { .. }) => match self.get_payment(session_id).await {
                Ok(p) if p.meta.status == SessionStatus::PaymentCancelled => Ok(()),
                _ => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    /// `POST /pis/v2/refund[?state=..]`: refunds part or all of a paid session. Repeated
    /// refunds are allowed; when the request carries the refund history (or the paid amount),
    /// a refund that would take the total above what was paid is refused before sending (the
    /// paid amount is fetched when not given; a session that has received no money is
    /// refused). Never retried once it may have reached Fintecture.
    pub async fn refund(&self, request: &RefundPaymentRequest) -> Result<RefundResponse> {
        self.send(self.refund_call(request).await?).await?.json()
    }

    /// The call [`FintectureClient::refund`] sends, once `request` is validated and, when it
    /// carries the paid amount or the refund history, checked against what was paid.
    async fn refund_call(&self, request: &RefundPaymentRequest) -> Result<ApiRequest> {
        request.validate()?;
        if request.previous_refunds.is_some() || request.paid.is_some() {
            let paid = match request.paid {
                Some(paid) => paid,
                None => self.paid_amount(&request.session_id).await?,
            };
            request.check_total(paid)?;
        }
        let mut url = self.url(&[Fixed("pis"), Fixed("v2"), Fixed("refund")])?;
        if let Some(state) = &request.state {
            url.query_pairs_mut().append_pair("state", state);
        }
        self.request("refund", Method::POST, url)?
            .json(&request.body())
    }

    /// What the payer paid on `session_id`, to bound refunds. Only a session with money in
    /// counts: paid or overpaid (`received_amount` when reported, else `amount`) or partially
    /// paid (`received_amount` only: the requested `amount` did not all arrive). Any other
    /// status (pending, a transfer still in progress, cancelled, failed, unknown) has received
    /// nothing that can be refunded yet, and is refused before the refund is sent. An amount
    /// that is not exact in its currency is an [`Error::Decode`] naming the field.
    async fn paid_amount(&self, session_id: &str) -> Result<Money> {
        let response = self.send(self.get_payment_call(session_id)?).await?;
        let payment: FintecturePayment = response.json()?;
        let a = &payment.data.attributes;
        let status = unified_status(&payment.meta.status, a.transfer_state.as_ref());
        let decode = |e: AmountError| response.decode_error(e.to_string());
        let received = a.received_money().map_err(decode)?;
        let paid = match status {
            PaymentStatus::Succeeded | PaymentStatus::Overpaid => match received {
                Some(received) => Some(received),
                None => a.amount_money().map_err(decode)?,
            },
            PaymentStatus::PartiallyPaid => received,
            other => {
                return Err(Error::invalid(
                    "session_id",
                    format!(
                        "the payment is {other} ({}{}): no money received to refund",
                        payment.meta.status,
                        a.transfer_state
                            .as_ref()
                            .map(|t| format!(" + {t}"))
                            .unwrap_or_default()
                    ),
                ));
            }
        };
        paid.ok_or_else(|| {
            Error::invalid(
                "amount",
                "the payment reports no paid amount; cannot bound the refund",
            )
        })
    }

    /// `GET /pis/v2/settlements`, with extra query parameters passed as given.
    pub async fn list_settlements(&self, query: &[(&str, &str)]) -> Result<SettlementList> {
        let mut url = self.url(&[Fixed("pis"), Fixed("v2"), Fixed("settlements")])?;
        if !query.is_empty() {
            let mut q = url.query_pairs_mut();
            for (k, v) in query {
                q.append_pair(k, v);
            }
        }
        let call = self.request("list_settlements", Method::GET, url)?;
        self.send(call).await?.json()
    }

    /// `GET /pis/v2/settlements/{id}`.
    pub async fn get_settlement(&self, settlement_id: &str) -> Result<SettlementEnvelope> {
        check_session_id(settlement_id).map_err(|_| {
            Error::invalid("settlement_id", "must be 1 to 128 printable characters")
        })?;
        let call = self.request(
            "get_settlement",
            Method::GET,
            self.url(&[
                Fixed("pis"),
                Fixed("v2"),
                Fixed("settlements"),
                Id("settlement_id", settlement_id),
            ])?,
        )?;
        self.send(call).await?.json()
    }

    /// Handles the payer's return to `redirect_uri`: binds the redirect `query` to the session
    /// the merchant `stored` with the order, then fetches that session.
    ///
    /// The query's `session_id` must be the stored session id and its `state` the stored
    /// `state` (both compared in constant time; on a mismatch nothing is sent). The payment is
    /// fetched by the stored session id, and Fintecture's answer must be about that session and
    /// carry the order's currency, amount (requested `amount`, exact) and `communication`. The
    /// query's `status` is ignored: the returned status is Fintecture's.
    ///
    /// Every refusal is a [`RedirectError`] naming the field that differs (it converts into
    /// [`Error`] with `?`).
    pub async fn confirm_redirect(
        &self,
        query: &str,
        stored: &StoredSession,
    ) -> std::result::Result<ConfirmedRedirect, RedirectError> {
        let callback = RedirectCallback::from_query(query).map_err(RedirectError::Query)?;
        stored.check_callback(&callback)?;
        let call = self
            .get_payment_call(stored.session_id())
            .map_err(RedirectError::Fetch)?;
        let response = self.send(call).await.map_err(RedirectError::Fetch)?;
        let payment: FintecturePayment = response.json().map_err(RedirectError::Fetch)?;
        let mismatch =
            |field: &'static str, expected: String, actual: String| RedirectError::Mismatch {
                field,
                expected,
                actual,
            };
        if payment.meta.session_id != stored.session_id() {
            return Err(mismatch(
                "session_id",
                stored.session_id().to_string(),
                payment.meta.session_id.clone(),
            ));
        }
        let a = &payment.data.attributes;
        let expected = stored.amount();
        let currency = expected.currency().code();
        if a.currency.as_deref() != Some(currency) {
            return Err(mismatch(
                "currency",
                currency.to_string(),
                a.currency.clone().unwrap_or_else(|| "absent".into()),
            ));
        }
        let amount = a
            .amount_money()
            .map_err(|e| RedirectError::Fetch(response.decode_error(e.to_string())))?;
        if amount != Some(expected) {
            return Err(mismatch(
                "amount",
                expected.to_string(),
                amount.map_or_else(|| "absent".into(), |m| m.to_string()),
            ));
        }
        if a.communication.as_deref() != Some(stored.communication()) {
            return Err(mismatch(
                "communication",
                stored.communication().to_string(),
                a.communication.clone().unwrap_or_else(|| "absent".into()),
            ));
        }
        let status = unified_status(&payment.meta.status, a.transfer_state.as_ref());
        Ok(ConfirmedRedirect {
            callback,
            status,
            payment,
        })
    }
}

/// A redirect bound to the stored session, with the payment as Fintecture reports it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ConfirmedRedirect {
    /// The query (its `status` is not trusted), for logging.
    pub callback: RedirectCallback,
    /// The unified status of the fetched payment.
    pub status: PaymentStatus,
    /// The fetched payment: the stored session, with the order's amount, currency and
    /// `communication`.
    pub payment: FintecturePayment,
}

#[payments_core::async_trait]
impl PaymentProvider for FintectureClient {
    fn name(&self) -> &'static str {
        PROVIDER
    }

    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }

    /// Creates a payment session. `reference` becomes both `communication` (reconciliation) and
    /// `state`; `return_url` (or the configured default) is the `redirect_uri`; `customer`
    /// fills `psu_name`/`psu_email`/`psu_phone`; `expires_in` becomes `expiry`. `webhook_url` is
    /// refused: Fintecture webhooks are configured in the console.
    async fn checkout(&self, request: &CreatePayment) -> Result<Checkout> {
        if request.webhook_url.is_some() {
            return Err(Error::invalid(
                "webhook_url",
                "Fintecture webhooks are configured in the Fintecture console; leave it unset",
            ));
        }
        let redirect_uri = request
            .return_url
            .clone()
            .or_else(|| self.default_redirect_uri.clone())
            .ok_or_else(|| {
                Error::invalid(
                    "return_url",
                    "Fintecture needs a redirect URI: set return_url or default_redirect_uri",
                )
            })?;
        let mut native = ConnectRequest::new(
            request.amount,
            &request.reference,
            &request.reference,
            redirect_uri,
        );
        if let Some(customer) = &request.customer {
            native.psu_name = customer.name.clone();
            native.psu_email = customer.email.clone();
            native.psu_phone = customer.phone.clone();
        }
        native.expiry = request.expires_in.map(|d| d.as_secs());
        let (session, raw): (ConnectSession, _) = self
            .send(self.connect_call(&native)?)
            .await?
            .json_with_raw()?;
        let expires_at = request
            .expires_in
            .and_then(|d| time::Duration::try_from(d).ok())
            .map(|d| self.clock.now().saturating_add(d));
        Ok(to_checkout(&session, expires_at, raw))
    }

    async fn fetch_payment(&self, payment_id: &str) -> Result<Payment> {
        let response = self.send(self.get_payment_call(payment_id)?).await?;
        let (payment, raw): (FintecturePayment, _) = response.json_with_raw()?;
        to_payment(&payment, raw).map_err(|e| response.decode_error(e.to_string()))
    }

    async fn cancel(&self, payment_id: &str) -> Result<()> {
        self.cancel_payment(payment_id).await
    }

    /// Every session whose `communication` is `reference` (where the neutral `checkout`
    /// puts it), through [`FintectureClient::list_all_payments`] filtered by
    /// `filter[communication]`, 100 per page (Fintecture's default page size). Each payment
    /// returned is checked here to carry exactly that `communication`, so a server ignoring the
    /// filter costs pages, never a wrong answer; a session listed twice (the list shifted while
    /// it was read) is reported once. The payments come in the order Fintecture lists them: its
    /// list carries no creation time to sort them by.
    async fn find_by_reference(&self, reference: &str) -> Result<Vec<Payment>> {
        let query = ListPaymentsQuery::new().communication(reference);
        query.validate().map_err(|e| match e {
            Error::InvalidInput { reason, .. } => Error::invalid("reference", reason),
            other => other,
        })?;
        let mut found = Vec::new();
        let mut pages = std::pin::pin!(self.pages(&query, FIND_PAGE_SIZE));
        while let Some((items, raws)) = pages.try_next().await? {
            let mut raws = raws.into_iter();
            for item in items {
                let raw = raws.next().unwrap_or_default();
                let already = |p: &Payment| Some(&p.id) == item.id.as_ref();
                if item.attributes.communication.as_deref() != Some(reference)
                    || found.iter().any(already)
                {
                    continue;
                }
                let mut payment = list_item_to_payment(&item).map_err(|reason| Error::Decode {
                    operation: "find_by_reference",
                    status: 200,
                    reason,
                    excerpt: redacted_excerpt(raw.to_string().as_bytes()),
                })?;
                payment.raw = raw;
                found.push(payment);
            }
        }
        Ok(found)
    }

    /// Refunds through [`FintectureClient::refund`], bounded by what was paid: the session is
    /// fetched first for its paid amount (`received_amount`, else `amount`; only `received_amount`
    /// for a partial payment; a session with no money in is refused before anything is sent),
    /// which is also the amount of a full refund (`amount: None`). `reference` becomes the refund's
    /// `communication` and `state`. Fintecture allows repeated partial refunds; the neutral
    /// request carries no history, so a full refund after partial ones is refused by Fintecture
    /// (use the native call with `previous_refunds` to check locally). Never retried once it
    /// may have reached Fintecture.
    async fn refund_payment(&self, request: &RefundRequest) -> Result<Refund> {
        let paid = self.paid_amount(&request.payment_id).await?;
        let mut native =
            RefundPaymentRequest::new(request.payment_id.clone(), request.amount.unwrap_or(paid))
                .paid(paid);
        if let Some(reference) = &request.reference {
            native = native
                .communication(reference.clone())
                .state(reference.clone());
        }
        let (answer, raw): (RefundResponse, _) = self
            .send(self.refund_call(&native).await?)
            .await?
            .json_with_raw()?;
        let mut refund = Refund::new(
            request.payment_id.clone(),
            refund_status(&answer.meta.status),
        );
        refund.id = answer.meta.session_id.clone();
        refund.amount = Some(native.amount);
        refund.raw = raw;
        Ok(refund)
    }
}
