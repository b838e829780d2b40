//! The Merchant Payment API v3, one method per endpoint.

use futures_util::stream::{self, Stream, StreamExt, TryStreamExt};
use payments_core::http::{ApiRequest, ApiResponse, Auth, HttpClient, Method, Url, header};
use payments_core::provider_support::{
    PathSegment::{self, Fixed, Id},
    base_url, join_path,
};
use payments_core::{
    Capabilities, Capability, Checkout, CreatePayment, Error, Payment, PaymentProvider, Result,
};

use crate::PROVIDER;
use crate::config::{Environment, PayconiqConfig};
use crate::convert::{provider_error, to_checkout, to_payment};
use crate::request::{AcknowledgeRequest, CreatePaymentRequest};
use crate::wire::{PayconiqPayment, PayconiqStatus, RefundIban, SearchPage, SearchQuery};

/// What the provider-neutral [`PaymentProvider`] implementation supports. Refunds are not in it:
/// Payconiq moves no refund money (see [`PayconiqClient::refund_iban`]).
pub const CAPABILITIES: Capabilities = Capabilities::new(&[
    Capability::CreatePayment,
    Capability::GetPayment,
    Capability::CancelPayment,
    Capability::FindByReference,
    Capability::SignedWebhooks,
]);

/// How far back the neutral `find_by_reference` searches: Payconiq's own default search window.
/// A v3 payment can be paid only minutes after its creation (two in the v3 specification), so
/// every payment that can still be open was created inside it.
const FIND_WINDOW: time::Duration = time::Duration::days(1);
/// How far ahead of this machine's clock `find_by_reference` searches, in case Payconiq's clock
/// is ahead: a payment created a moment ago must not fall outside the window.
const FIND_CLOCK_SKEW: time::Duration = time::Duration::minutes(5);
/// Page size of the neutral `find_by_reference` (the API's default).
const FIND_PAGE_SIZE: u32 = 50;

/// Longest payment id accepted in a path (Payconiq's are 24 characters).
const MAX_PAYMENT_ID: usize = 64;

/// Largest page size requested (the API's default is 50).
pub const MAX_PAGE_SIZE: u32 = 500;

/// A Payconiq client. Cheap to clone; clones share the connection pool.
#[derive(Debug, Clone)]
pub struct PayconiqClient {
    http: HttpClient,
    base: Url,
    auth: Auth,
    environment: Environment,
    default_callback_url: Option<String>,
    max_amount_cents: i64,
}

impl PayconiqClient {
    /// A client for `config`. Fails only on a malformed configuration.
    pub fn new(config: PayconiqConfig) -> Result<Self> {
        config.check()?;
        let base = base_url("Payconiq base URL", config.effective_base_url())?;
        let http = HttpClient::new(
            PROVIDER,
            env!("CARGO_PKG_NAME"),
            env!("CARGO_PKG_VERSION"),
            &config.http,
        )?;
        Ok(PayconiqClient {
            http,
            base,
            auth: Auth::bearer(&config.api_key)?,
            environment: config.environment,
            default_callback_url: config.default_callback_url,
            max_amount_cents: config.max_amount_cents,
        })
    }

    /// The environment this client talks to.
    pub fn environment(&self) -> Environment {
        self.environment
    }

    fn url(&self, segments: &[PathSegment<'_>]) -> Result<Url> {
        join_path(&self.base, segments)
    }

    fn request(&self, operation: &'static str, method: Method, url: Url) -> ApiRequest {
        // The specification requires `Content-Type: application/json` on every call, bodiless
        // GET and DELETE included.
        ApiRequest::new(operation, method, url)
            .auth(self.auth.clone())
            .header(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("application/json"),
            )
    }

    async fn send(&self, request: ApiRequest) -> Result<ApiResponse> {
        self.http
            .send(request)
            .await?
            .error_for_status(provider_error)
    }

    /// `POST /payments`, or `POST /payments/pos` when the request has a POS id. Validated first;
    /// never retried once it may have reached Payconiq (see [`Error::OutcomeUnknown`]: search by
    /// reference before creating again).
    pub async fn create_payment(&self, request: &CreatePaymentRequest) -> Result<PayconiqPayment> {
        self.send(self.create_payment_call(request)?).await?.json()
    }

    /// The call [`PayconiqClient::create_payment`] sends, once `request` is validated.
    fn create_payment_call(&self, request: &CreatePaymentRequest) -> Result<ApiRequest> {
        request.validate(self.environment, self.max_amount_cents)?;
        let url = if request.pos_id.is_some() {
            self.url(&[Fixed("payments"), Fixed("pos")])?
        } else {
            self.url(&[Fixed("payments")])?
        };
        self.request("create_payment", Method::POST, url)
            .json(&request.body())
    }

    /// `GET /payments/{paymentId}`.
    pub async fn get_payment(&self, payment_id: &str) -> Result<PayconiqPayment> {
        self.send(self.get_payment_call(payment_id)?).await?.json()
    }

    /// The call [`PayconiqClient::get_payment`] sends.
    fn get_payment_call(&self, payment_id: &str) -> Result<ApiRequest> {
        check_payment_id(payment_id)?;
        Ok(self.request(
            "get_payment",
            Method::GET,
            self.url(&[Fixed("payments"), Id("paymentId", payment_id)])?,
        ))
    }

    /// `DELETE /payments/{paymentId}`: cancels a `PENDING` or `IDENTIFIED` payment.
    ///
    /// Idempotent for the caller: when Payconiq answers 422 `PAYMENT_NOT_PENDING` (which is also
    /// what a retried DELETE gets after the first one went through), the payment is fetched, and a
    /// payment that is `CANCELLED` is success. In any other state the 422 is returned as an
    /// [`Error::Provider`] with that code.
    pub async fn cancel_payment(&self, payment_id: &str) -> Result<()> {
        check_payment_id(payment_id)?;
        let call = self.request(
            "cancel_payment",
            Method::DELETE,
            self.url(&[Fixed("payments"), Id("paymentId", payment_id)])?,
        );
        match self.send(call).await {
            Ok(_) => Ok(()),
            Err(e) if e.provider_code() == Some("PAYMENT_NOT_PENDING") => {
                match self.get_payment(payment_id).await {
                    Ok(p) if p.status == PayconiqStatus::Cancelled => Ok(()),
                    _ => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// `POST /payments/search?page=&size=`: one page, newest first.
    pub async fn search_payments(
        &self,
        query: &SearchQuery,
        page: u32,
        size: u32,
    ) -> Result<SearchPage> {
        self.send(self.search_payments_call(query, page, size)?)
            .await?
            .json()
    }

    /// The call [`PayconiqClient::search_payments`] sends, once the query is validated.
    fn search_payments_call(
        &self,
        query: &SearchQuery,
        page: u32,
        size: u32,
    ) -> Result<ApiRequest> {
        if !(1..=MAX_PAGE_SIZE).contains(&size) {
            return Err(Error::invalid(
                "size",
                format!("page size must be between 1 and {MAX_PAGE_SIZE}"),
            ));
        }
        if let Some(reference) = &query.reference
            && reference.chars().count() > crate::request::MAX_REFERENCE
        {
            return Err(Error::invalid("reference", "at most 35 characters"));
        }
        let mut url = self.url(&[Fixed("payments"), Fixed("search")])?;
        url.query_pairs_mut()
            .append_pair("page", &page.to_string())
            .append_pair("size", &size.to_string());
        // A search reads; sending it twice is harmless, so it is retried like a GET.
        self.request("search_payments", Method::POST, url)
            .idempotent(true)
            .json(query)
    }

    /// Every payment matching `query`, page after page (`size` per request), as a stream.
    ///
    /// The time window is pinned before the first page (`to` defaults to now, `from` to a day
    /// earlier, as Payconiq's own defaults) so payments created meanwhile do not shift the pages.
    /// Stops after the last page announced by the *first* page, on an empty page, when the server
    /// answers a different page than asked, or at the first error (which it yields).
    pub fn search_all<'a>(
        &'a self,
        query: &SearchQuery,
        size: u32,
    ) -> impl Stream<Item = Result<PayconiqPayment>> + Send + 'a {
        self.search_all_with_raw(query, size)
            .map_ok(|(payment, _)| payment)
    }

    /// [`PayconiqClient::search_all`], each payment with its JSON as Payconiq sent it (for the
    /// neutral `find_by_reference`).
    fn search_all_with_raw<'a>(
        &'a self,
        query: &SearchQuery,
        size: u32,
    ) -> impl Stream<Item = Result<(PayconiqPayment, serde_json::Value)>> + Send + 'a {
        let mut query = query.clone();
        let to = *query.to.get_or_insert_with(time::OffsetDateTime::now_utc);
        query
            .from
            .get_or_insert_with(|| to.saturating_sub(time::Duration::days(1)));
        // State: the next page, the page count announced by the first page, the pinned query.
        let start = (Some(0u32), None::<u32>, query);
        stream::try_unfold(start, move |(page, pages, query)| async move {
            let Some(page) = page else {
                return Ok::<_, Error>(None);
            };
            let response = self
                .send(self.search_payments_call(&query, page, size)?)
                .await?;
            let (result, mut raw): (SearchPage, serde_json::Value) = response.json_with_raw()?;
            let pages = pages.unwrap_or(result.total_pages);
            if result.number != page {
                // The server ignored the page asked for: what it sent was already yielded.
                return Ok(None);
            }
            let next = page
                .checked_add(1)
                .filter(|next| *next < pages && !result.details.is_empty());
            // Each payment's own object, for `Payment::raw`.
            let raw = match raw.get_mut("details") {
                Some(serde_json::Value::Array(details)) => std::mem::take(details),
                _ => Vec::new(),
            };
            let raw = raw
                .into_iter()
                .chain(std::iter::repeat(serde_json::Value::Null));
            let items = stream::iter(result.details.into_iter().zip(raw)).map(Ok::<_, Error>);
            Ok(Some((items, (next, Some(pages), query))))
        })
        .try_flatten()
    }

    /// `GET /payments/{paymentId}/debtor/refundIban`: the IBAN to send a refund to. Payconiq does
    /// not move refund money itself; the merchant transfers it. 422 `REFUND_NOT_ALLOWED` /
    /// `REFUND_NOT_AVAILABLE` when there is none.
    pub async fn refund_iban(&self, payment_id: &str) -> Result<RefundIban> {
        check_payment_id(payment_id)?;
        let call = self.request(
            "refund_iban",
            Method::GET,
            self.url(&[
                Fixed("payments"),
                Id("paymentId", payment_id),
                Fixed("debtor"),
                Fixed("refundIban"),
            ])?,
        );
        self.send(call).await?.json()
    }

    /// `POST /payments/{paymentId}/acknowledge`: confirms a `PENDING_MERCHANT_ACKNOWLEDGEMENT`
    /// payment.
    pub async fn acknowledge(&self, payment_id: &str, request: &AcknowledgeRequest) -> Result<()> {
        check_payment_id(payment_id)?;
        request.validate(self.max_amount_cents)?;
        let call = self
            .request(
                "acknowledge",
                Method::POST,
                self.url(&[
                    Fixed("payments"),
                    Id("paymentId", payment_id),
                    Fixed("acknowledge"),
                ])?,
            )
            .json(&request.body())?;
        self.send(call).await.map(drop)
    }
}

/// Bounds the id's length. An empty id, `.` and `..` are refused by
/// [`join_path`] (`PathSegment::Id("paymentId", ..)`), like every id put in a path.
fn check_payment_id(payment_id: &str) -> Result<()> {
    if payment_id.len() > MAX_PAYMENT_ID {
        return Err(Error::invalid(
            "paymentId",
            format!("at most {MAX_PAYMENT_ID} bytes"),
        ));
    }
    Ok(())
}

#[async_trait::async_trait]
impl PaymentProvider for PayconiqClient {
    fn name(&self) -> &'static str {
        PROVIDER
    }

    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }

    fn unsupported_hint(&self, capability: Capability) -> &'static str {
        match capability {
            Capability::Refund => {
                "Payconiq moves no refund money: get the payer's IBAN with PayconiqClient::refund_iban and transfer the refund yourself"
            }
            _ => "not in this provider's capabilities",
        }
    }

    /// Creates a payment at `/payments`. `webhook_url` (or the configured default callback URL)
    /// becomes `callbackUrl`, `return_url` gives a hosted checkout page. `customer` is not sent
    /// (Payconiq takes no payer details); `expires_in` is refused, because Payconiq sets the
    /// expiry itself.
    async fn checkout(&self, request: &CreatePayment) -> Result<Checkout> {
        if request.expires_in.is_some() {
            return Err(Error::invalid(
                "expires_in",
                "Payconiq sets the payment expiry itself; leave expires_in unset",
            ));
        }
        let mut native = CreatePaymentRequest::new(request.amount).reference(&request.reference);
        native.description = request.description.clone();
        native.return_url = request.return_url.clone();
        native.callback_url = request
            .webhook_url
            .clone()
            .or_else(|| self.default_callback_url.clone());
        let (payment, raw) = self
            .send(self.create_payment_call(&native)?)
            .await?
            .json_with_raw()?;
        Ok(to_checkout(&payment, raw))
    }

    async fn fetch_payment(&self, payment_id: &str) -> Result<Payment> {
        let (payment, raw) = self
            .send(self.get_payment_call(payment_id)?)
            .await?
            .json_with_raw()?;
        Ok(to_payment(&payment, raw))
    }

    async fn cancel(&self, payment_id: &str) -> Result<()> {
        self.cancel_payment(payment_id).await
    }

    /// Searches `POST /payments/search` with the `reference` filter over the last 24 hours
    /// (Payconiq's default search window, which holds every payment that can still be open: they
    /// expire minutes after creation) up to 5 minutes ahead of this machine's clock, every page,
    /// every status. Payconiq answers newest first; the list is oldest first. A payment reported
    /// with another reference is left out; one reported without a reference (the documented
    /// search answer has none) is trusted to Payconiq's filter.
    ///
    /// The reference is validated like a creation's (1 to 35 SEPA characters): an empty one
    /// would be no filter at all.
    async fn find_by_reference(&self, reference: &str) -> Result<Vec<Payment>> {
        crate::request::check_reference(reference)?;
        let now = time::OffsetDateTime::now_utc();
        let query = SearchQuery::new()
            .reference(reference)
            .from(now.saturating_sub(FIND_WINDOW))
            .to(now.saturating_add(FIND_CLOCK_SKEW));
        let mut found: Vec<Payment> = Vec::new();
        let mut pages = std::pin::pin!(self.search_all_with_raw(&query, FIND_PAGE_SIZE));
        while let Some((payment, raw)) = pages.try_next().await? {
            let ours = payment.reference.as_deref().is_none_or(|r| r == reference);
            if ours && !found.iter().any(|p| p.id == payment.payment_id) {
                found.push(to_payment(&payment, raw));
            }
        }
        found.reverse();
        Ok(found)
    }
}
