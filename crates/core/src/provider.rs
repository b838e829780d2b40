//! The provider-neutral flow: create a payment, fetch it, cancel it, refund it.
//!
//! [`PaymentProvider`] is the lowest common denominator across providers, not a cage: every
//! provider crate also exposes its full native API. Each implementation states what it can do in
//! [`PaymentProvider::capabilities`]; an operation outside that list returns
//! [`Error::Unsupported`], never a silent no-op.
//!
//! The neutral methods are named so that none is also the name of a native method of a provider
//! client ([`checkout`](PaymentProvider::checkout), [`fetch_payment`](PaymentProvider::fetch_payment),
//! [`cancel`](PaymentProvider::cancel), [`refund_payment`](PaymentProvider::refund_payment),
//! [`find_by_reference`](PaymentProvider::find_by_reference)): `client.fetch_payment(id)` is
//! always the neutral call and `client.get_payment(id)` always the native one, whatever traits
//! are in scope.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::money::Money;
use crate::status::{PaymentStatus, RefundStatus};

/// One operation of the neutral flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Capability {
    /// [`PaymentProvider::checkout`].
    CreatePayment,
    /// [`PaymentProvider::fetch_payment`].
    GetPayment,
    /// [`PaymentProvider::cancel`].
    CancelPayment,
    /// [`PaymentProvider::refund_payment`] of the whole amount.
    Refund,
    /// [`PaymentProvider::refund_payment`] of part of the amount (and more than once).
    PartialRefund,
    /// [`PaymentProvider::find_by_reference`]: the provider can list the payments it holds for
    /// a merchant reference, so a creation whose answer was lost can be resolved without
    /// creating the payment again.
    FindByReference,
    /// Webhooks authenticated by a signature the crate verifies.
    SignedWebhooks,
    /// Webhooks that are not signed and must be confirmed by fetching the payment back.
    UnsignedWebhooks,
}

impl Capability {
    /// The operation's name as used in errors (`"create_payment"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Capability::CreatePayment => "create_payment",
            Capability::GetPayment => "get_payment",
            Capability::CancelPayment => "cancel_payment",
            Capability::Refund => "refund",
            Capability::PartialRefund => "partial_refund",
            Capability::FindByReference => "find_by_reference",
            Capability::SignedWebhooks => "signed_webhooks",
            Capability::UnsignedWebhooks => "unsigned_webhooks",
        }
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The explicit list of what a provider implementation can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities(&'static [Capability]);

impl Capabilities {
    /// A list of capabilities.
    pub const fn new(list: &'static [Capability]) -> Self {
        Capabilities(list)
    }

    /// True when `capability` is in the list.
    pub fn supports(&self, capability: Capability) -> bool {
        self.0.contains(&capability)
    }

    /// The list.
    pub fn as_slice(&self) -> &'static [Capability] {
        self.0
    }
}

/// Who is paying, for providers that want to know or prefill it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Customer {
    /// Full name.
    pub name: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
    /// Phone number in international form.
    pub phone: Option<String>,
}

/// A provider-neutral payment request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CreatePayment {
    /// What to charge.
    pub amount: Money,
    /// The merchant's own reference (order id), used for reconciliation.
    pub reference: String,
    /// Text shown to the payer (and often on bank statements).
    pub description: Option<String>,
    /// Where the payer's browser returns after paying (redirect flows).
    pub return_url: Option<String>,
    /// Where the provider sends status webhooks, for providers that take it per payment.
    pub webhook_url: Option<String>,
    /// The payer, when known.
    pub customer: Option<Customer>,
    /// How long the payer has to pay, for providers that let the merchant choose.
    pub expires_in: Option<std::time::Duration>,
}

impl CreatePayment {
    /// A request for `amount` with the merchant reference `reference`.
    pub fn new(amount: Money, reference: impl Into<String>) -> Self {
        CreatePayment {
            amount,
            reference: reference.into(),
            description: None,
            return_url: None,
            webhook_url: None,
            customer: None,
            expires_in: None,
        }
    }

    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets the return URL.
    pub fn return_url(mut self, url: impl Into<String>) -> Self {
        self.return_url = Some(url.into());
        self
    }

    /// Sets the webhook URL.
    pub fn webhook_url(mut self, url: impl Into<String>) -> Self {
        self.webhook_url = Some(url.into());
        self
    }

    /// Sets the payer.
    pub fn customer(mut self, customer: Customer) -> Self {
        self.customer = Some(customer);
        self
    }

    /// Sets the time the payer has.
    pub fn expires_in(mut self, expires_in: std::time::Duration) -> Self {
        self.expires_in = Some(expires_in);
        self
    }
}

/// What the merchant needs to send the payer to pay.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Checkout {
    /// The provider's payment id: store it with the order.
    pub payment_id: String,
    /// Status right after creation (usually [`PaymentStatus::Pending`]).
    pub status: PaymentStatus,
    /// A web page to redirect the payer to.
    pub redirect_url: Option<String>,
    /// An app deeplink (mobile payers).
    pub deeplink: Option<String>,
    /// A URL of a QR code image to show (desktop payers).
    pub qr_code_url: Option<String>,
    /// When the payment can no longer be paid.
    pub expires_at: Option<OffsetDateTime>,
    /// The provider's full answer.
    pub raw: serde_json::Value,
}

impl Checkout {
    /// A checkout with only an id and a status.
    pub fn new(payment_id: impl Into<String>, status: PaymentStatus) -> Self {
        Checkout {
            payment_id: payment_id.into(),
            status,
            redirect_url: None,
            deeplink: None,
            qr_code_url: None,
            expires_at: None,
            raw: serde_json::Value::Null,
        }
    }
}

/// A payment as the provider reports it now.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Payment {
    /// The provider's payment id.
    pub id: String,
    /// Unified status.
    pub status: PaymentStatus,
    /// The provider's own status value(s), verbatim.
    pub raw_status: String,
    /// The amount requested, when reported.
    pub amount: Option<Money>,
    /// The merchant reference, when reported.
    pub reference: Option<String>,
    /// When the payment was created, when reported.
    pub created_at: Option<OffsetDateTime>,
    /// The provider's full answer.
    pub raw: serde_json::Value,
}

impl Payment {
    /// A payment with an id and status; the optional fields start empty.
    pub fn new(
        id: impl Into<String>,
        status: PaymentStatus,
        raw_status: impl Into<String>,
    ) -> Self {
        Payment {
            id: id.into(),
            status,
            raw_status: raw_status.into(),
            amount: None,
            reference: None,
            created_at: None,
            raw: serde_json::Value::Null,
        }
    }
}

/// A provider-neutral refund request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RefundRequest {
    /// The payment to refund.
    pub payment_id: String,
    /// How much; `None` refunds everything that is left.
    pub amount: Option<Money>,
    /// The merchant's reference for the refund.
    pub reference: Option<String>,
}

impl RefundRequest {
    /// A full refund of `payment_id`.
    pub fn full(payment_id: impl Into<String>) -> Self {
        RefundRequest {
            payment_id: payment_id.into(),
            amount: None,
            reference: None,
        }
    }

    /// A partial refund of `amount`.
    pub fn partial(payment_id: impl Into<String>, amount: Money) -> Self {
        RefundRequest {
            payment_id: payment_id.into(),
            amount: Some(amount),
            reference: None,
        }
    }

    /// Sets the merchant's reference for the refund.
    pub fn reference(mut self, reference: impl Into<String>) -> Self {
        self.reference = Some(reference.into());
        self
    }
}

/// A refund as the provider reports it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Refund {
    /// The provider's refund id, when it has one.
    pub id: Option<String>,
    /// The payment refunded.
    pub payment_id: String,
    /// Where the refund stands.
    pub status: RefundStatus,
    /// How much.
    pub amount: Option<Money>,
    /// The provider's full answer.
    pub raw: serde_json::Value,
}

impl Refund {
    /// A refund of `payment_id` in `status`; the optional fields start empty.
    pub fn new(payment_id: impl Into<String>, status: RefundStatus) -> Self {
        Refund {
            id: None,
            payment_id: payment_id.into(),
            status,
            amount: None,
            raw: serde_json::Value::Null,
        }
    }
}

/// The common flow every provider crate implements.
///
/// [`PaymentProvider::capabilities`] is the one source of truth for what an implementation can
/// do: the optional operations ([`cancel`](PaymentProvider::cancel),
/// [`refund_payment`](PaymentProvider::refund_payment),
/// [`find_by_reference`](PaymentProvider::find_by_reference))
/// default to [`Error::Unsupported`] without sending anything, and an
/// implementation overrides exactly the ones it declares.
#[async_trait::async_trait]
pub trait PaymentProvider: Send + Sync {
    /// The provider's short name (`"payconiq"`).
    fn name(&self) -> &'static str;

    /// What this implementation can do.
    fn capabilities(&self) -> Capabilities;

    /// What to do instead of an operation this provider does not support, shown in the
    /// [`Error::Unsupported`] the default methods return.
    fn unsupported_hint(&self, capability: Capability) -> &'static str {
        let _ = capability;
        "not in this provider's capabilities"
    }

    /// The [`Error::Unsupported`] for `capability`, with
    /// [`PaymentProvider::unsupported_hint`].
    fn unsupported(&self, capability: Capability) -> Error {
        Error::Unsupported {
            provider: self.name(),
            operation: capability.as_str(),
            hint: self.unsupported_hint(capability).to_string(),
        }
    }

    /// Creates a payment and returns what the payer needs to pay it.
    ///
    /// Never retried after it may have reached the provider: on
    /// [`Error::OutcomeUnknown`] look the payment up with
    /// [`PaymentProvider::find_by_reference`] (where supported) before trying again.
    async fn checkout(&self, request: &CreatePayment) -> Result<Checkout>;

    /// Fetches the payment's current state from the provider.
    async fn fetch_payment(&self, payment_id: &str) -> Result<Payment>;

    /// Cancels a payment that has not been paid ([`Capability::CancelPayment`]).
    async fn cancel(&self, payment_id: &str) -> Result<()> {
        let _ = payment_id;
        Err(self.unsupported(Capability::CancelPayment))
    }

    /// Refunds a paid payment ([`Capability::Refund`], [`Capability::PartialRefund`]).
    async fn refund_payment(&self, request: &RefundRequest) -> Result<Refund> {
        let _ = request;
        Err(self.unsupported(Capability::Refund))
    }

    /// Every payment the provider holds for the merchant reference `reference`
    /// ([`Capability::FindByReference`]), oldest first, each as [`PaymentProvider::fetch_payment`]
    /// would report it. An empty list means the provider holds none: after a creation that
    /// ended in [`Error::OutcomeUnknown`], it is then safe to
    /// create again; one payment means the creation went through; more than one needs a person.
    async fn find_by_reference(&self, reference: &str) -> Result<Vec<Payment>> {
        let _ = reference;
        Err(self.unsupported(Capability::FindByReference))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_are_an_explicit_list() {
        const CAPS: Capabilities =
            Capabilities::new(&[Capability::CreatePayment, Capability::GetPayment]);
        assert!(CAPS.supports(Capability::GetPayment));
        assert!(!CAPS.supports(Capability::Refund));
        assert_eq!(CAPS.as_slice().len(), 2);
        assert_eq!(Capability::CancelPayment.to_string(), "cancel_payment");
    }

    /// A provider that implements only what every provider must.
    struct Minimal;

    #[async_trait::async_trait]
    impl PaymentProvider for Minimal {
        fn name(&self) -> &'static str {
            "minimal"
        }
        fn capabilities(&self) -> Capabilities {
            Capabilities::new(&[Capability::CreatePayment, Capability::GetPayment])
        }
        fn unsupported_hint(&self, capability: Capability) -> &'static str {
            match capability {
                Capability::Refund => "refund from the dashboard",
                _ => "not offered",
            }
        }
        async fn checkout(&self, _: &CreatePayment) -> Result<Checkout> {
            Ok(Checkout::new("p1", PaymentStatus::Pending))
        }
        async fn fetch_payment(&self, id: &str) -> Result<Payment> {
            Ok(Payment::new(id, PaymentStatus::Pending, "PENDING"))
        }
    }

    #[tokio::test]
    async fn undeclared_operations_default_to_unsupported_with_the_hint() {
        let provider = Minimal;
        let unsupported = |err: Error| match err {
            Error::Unsupported {
                provider,
                operation,
                hint,
            } => format!("{provider} {operation}: {hint}"),
            other => format!("unexpected {other:?}"),
        };
        let cancel = provider.cancel("p1").await;
        assert_eq!(
            unsupported(cancel.err().unwrap_or_else(|| Error::Config("ok".into()))),
            "minimal cancel_payment: not offered"
        );
        let refund = provider.refund_payment(&RefundRequest::full("p1")).await;
        assert_eq!(
            unsupported(refund.err().unwrap_or_else(|| Error::Config("ok".into()))),
            "minimal refund: refund from the dashboard"
        );
        let found = provider.find_by_reference("order-1").await;
        assert_eq!(
            unsupported(found.err().unwrap_or_else(|| Error::Config("ok".into()))),
            "minimal find_by_reference: not offered"
        );
        assert!(
            !provider
                .capabilities()
                .supports(Capability::FindByReference)
        );
    }

    #[test]
    fn create_payment_builder_sets_fields() {
        let req = CreatePayment::new(Money::from_minor(100, crate::Currency::EUR), "order-1")
            .description("Two coffees")
            .return_url("https://shop/return")
            .expires_in(std::time::Duration::from_secs(120));
        assert_eq!(req.reference, "order-1");
        assert_eq!(req.description.as_deref(), Some("Two coffees"));
        assert_eq!(req.expires_in, Some(std::time::Duration::from_secs(120)));
        assert_eq!(req.webhook_url, None);
    }
}
