//! The unified payment status every provider maps into, and the rule that keeps it moving forward.
//!
//! Providers deliver events late, twice and out of order. [`PaymentStatus::transition_to`] tells a
//! merchant whether an incoming status may replace the stored one: a payment never moves backwards
//! (an `IDENTIFIED` that arrives after `AUTHORIZED` is stale) and never leaves a final state.
//!
//! ```
//! use payments_core::{PaymentStatus, Transition};
//!
//! let stored = PaymentStatus::Succeeded;
//! assert_eq!(stored.transition_to(&PaymentStatus::Pending), Transition::FinalAlready);
//! assert!(PaymentStatus::Pending.transition_to(&PaymentStatus::Succeeded).applies());
//! // A value a provider invented after this crate was written is never success.
//! let new_value = PaymentStatus::Unknown("HALF_PAID".into());
//! assert!(!new_value.is_final());
//! assert!(!new_value.is_success());
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

/// Where a payment stands, in the same words for every provider.
///
/// The provider's own value is always kept next to it (see [`crate::Payment::raw_status`]); each
/// provider crate documents its mapping in `docs/status-mapping.md`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "status", content = "raw", rename_all = "snake_case")]
#[non_exhaustive]
pub enum PaymentStatus {
    /// Created; the payer has not started.
    Pending,
    /// The payer must act: authenticate (SCA, OTP), confirm in an app, choose a bank.
    RequiresAction,
    /// The merchant must act before the payment can complete (e.g. acknowledge it).
    RequiresMerchantAction,
    /// The payer has done their part; the provider or bank is processing.
    Processing,
    /// The bank authorised the payment; the money has not been confirmed yet.
    Authorized,
    /// Less than the requested amount has arrived so far; more may follow.
    PartiallyPaid,
    /// Final: the full amount was paid.
    Succeeded,
    /// Final: more than the requested amount was paid; the merchant owes the difference back.
    Overpaid,
    /// Final: the payment failed (refused, insufficient funds, technical failure).
    Failed,
    /// Final: cancelled by the merchant or the payer (includes voided authorisations).
    Cancelled,
    /// Final: the payer did not pay in time.
    Expired,
    /// A value this crate does not know, kept verbatim. Never final, never success.
    Unknown(String),
}

/// What to do with an incoming status given the stored one. See [`PaymentStatus::transition_to`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Transition {
    /// The incoming status is newer: store it.
    Advance,
    /// Same status again (a retried delivery): nothing to do.
    Same,
    /// The incoming status is older than the stored one (a late event): ignore it.
    Stale,
    /// The stored status is final and the incoming one is not: ignore it.
    FinalAlready,
    /// The stored status is final and the incoming one is a *different* final status (for
    /// example `Cancelled` then `Succeeded`): do not overwrite; a human or a reconciliation job must
    /// look, because money may have moved for an order that was closed.
    ConflictingFinal,
    /// The incoming status is [`PaymentStatus::Unknown`]: keep the stored status and reconcile by
    /// fetching the payment.
    UnknownIncoming,
}

impl Transition {
    /// True when the incoming status should replace the stored one.
    pub const fn applies(self) -> bool {
        matches!(self, Transition::Advance)
    }
}

impl PaymentStatus {
    /// True when the status can no longer change (through the provider's payment flow).
    pub const fn is_final(&self) -> bool {
        matches!(
            self,
            PaymentStatus::Succeeded
                | PaymentStatus::Overpaid
                | PaymentStatus::Failed
                | PaymentStatus::Cancelled
                | PaymentStatus::Expired
        )
    }

    /// True when the merchant has been paid at least the requested amount.
    pub const fn is_success(&self) -> bool {
        matches!(self, PaymentStatus::Succeeded | PaymentStatus::Overpaid)
    }

    /// How far along the payment is; higher is later. Final states share the top rank.
    /// `None` for [`PaymentStatus::Unknown`], which has no place in the order.
    const fn rank(&self) -> Option<u8> {
        Some(match self {
            PaymentStatus::Pending => 0,
            // The payer acting and the provider processing can alternate (an OTP after a first
            // processing step): they share a rank so either may follow the other.
            PaymentStatus::RequiresAction | PaymentStatus::Processing => 1,
            PaymentStatus::Authorized => 2,
            // The merchant is asked to act once the payer is done (Payconiq's acknowledgement
            // comes after authorisation): a late "payer must act" never overwrites it.
            PaymentStatus::RequiresMerchantAction | PaymentStatus::PartiallyPaid => 3,
            PaymentStatus::Succeeded
            | PaymentStatus::Overpaid
            | PaymentStatus::Failed
            | PaymentStatus::Cancelled
            | PaymentStatus::Expired => 4,
            PaymentStatus::Unknown(_) => return None,
        })
    }

    /// Decides whether `incoming` may replace `self` (the stored status).
    ///
    /// Rules, in order: an unknown incoming value never replaces anything; the same status is a
    /// no-op; a final stored status never changes (a different final status is reported as a
    /// conflict); a stored unknown status is replaced by any known one; otherwise the incoming
    /// status applies only if it is not earlier in the flow.
    pub fn transition_to(&self, incoming: &PaymentStatus) -> Transition {
        if self == incoming {
            return Transition::Same;
        }
        if matches!(incoming, PaymentStatus::Unknown(_)) {
            return Transition::UnknownIncoming;
        }
        if self.is_final() {
            return if incoming.is_final() {
                Transition::ConflictingFinal
            } else {
                Transition::FinalAlready
            };
        }
        match (self.rank(), incoming.rank()) {
            (Some(current), Some(next)) if next < current => Transition::Stale,
            _ => Transition::Advance,
        }
    }

    /// A short, stable, lowercase name (`"requires_action"`; the raw value for `Unknown`).
    pub fn as_str(&self) -> &str {
        match self {
            PaymentStatus::Pending => "pending",
            PaymentStatus::RequiresAction => "requires_action",
            PaymentStatus::RequiresMerchantAction => "requires_merchant_action",
            PaymentStatus::Processing => "processing",
            PaymentStatus::Authorized => "authorized",
            PaymentStatus::PartiallyPaid => "partially_paid",
            PaymentStatus::Succeeded => "succeeded",
            PaymentStatus::Overpaid => "overpaid",
            PaymentStatus::Failed => "failed",
            PaymentStatus::Cancelled => "cancelled",
            PaymentStatus::Expired => "expired",
            PaymentStatus::Unknown(raw) => raw,
        }
    }
}

impl fmt::Display for PaymentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PaymentStatus::Unknown(raw) => write!(f, "unknown({raw})"),
            other => f.write_str(other.as_str()),
        }
    }
}

/// Where a refund stands.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum RefundStatus {
    /// Accepted by the provider, money not moved yet.
    Pending,
    /// Final: the money went back to the payer.
    Succeeded,
    /// Final: the refund failed.
    Failed,
    /// A value this crate does not know, kept verbatim. Never success.
    Unknown(String),
}

#[cfg(test)]
mod tests {
    use super::PaymentStatus as S;
    use super::*;

    fn known() -> Vec<S> {
        vec![
            S::Pending,
            S::RequiresAction,
            S::RequiresMerchantAction,
            S::Processing,
            S::Authorized,
            S::PartiallyPaid,
            S::Succeeded,
            S::Overpaid,
            S::Failed,
            S::Cancelled,
            S::Expired,
        ]
    }

    #[test]
    fn final_states_are_exactly_the_closing_ones() {
        let finals: Vec<_> = known().into_iter().filter(S::is_final).collect();
        assert_eq!(
            finals,
            [
                S::Succeeded,
                S::Overpaid,
                S::Failed,
                S::Cancelled,
                S::Expired
            ]
        );
        assert!(!S::Unknown("SUCCEEDED_MAYBE".into()).is_final());
        assert!(!S::Unknown("SUCCEEDED".into()).is_success());
    }

    #[test]
    fn nothing_leaves_a_final_state() {
        for stored in known().into_iter().filter(S::is_final) {
            for incoming in known() {
                let t = stored.transition_to(&incoming);
                assert!(!t.applies(), "{stored} must not move to {incoming}");
                let expected = if stored == incoming {
                    Transition::Same
                } else if incoming.is_final() {
                    Transition::ConflictingFinal
                } else {
                    Transition::FinalAlready
                };
                assert_eq!(t, expected, "{stored} -> {incoming}");
            }
        }
    }

    #[test]
    fn an_older_event_never_moves_a_payment_backwards() {
        assert_eq!(S::Authorized.transition_to(&S::Pending), Transition::Stale);
        assert_eq!(
            S::Authorized.transition_to(&S::RequiresAction),
            Transition::Stale
        );
        assert_eq!(
            S::PartiallyPaid.transition_to(&S::Processing),
            Transition::Stale
        );
        assert_eq!(S::Processing.transition_to(&S::Pending), Transition::Stale);
        // Callbacks arrive out of order: a late "scanned" after "acknowledge me".
        assert_eq!(
            S::RequiresMerchantAction.transition_to(&S::RequiresAction),
            Transition::Stale
        );
        assert_eq!(
            S::RequiresMerchantAction.transition_to(&S::Authorized),
            Transition::Stale
        );
        assert!(
            S::Authorized
                .transition_to(&S::RequiresMerchantAction)
                .applies()
        );
    }

    #[test]
    fn forward_moves_apply() {
        let flow = [S::Pending, S::RequiresAction, S::Authorized, S::Succeeded];
        for pair in flow.windows(2) {
            if let [from, to] = pair {
                assert_eq!(
                    from.transition_to(to),
                    Transition::Advance,
                    "{from} -> {to}"
                );
            }
        }
        // Action and processing may alternate (OTP after a first processing step).
        assert!(S::Processing.transition_to(&S::RequiresAction).applies());
        assert!(S::RequiresAction.transition_to(&S::Processing).applies());
        // Any non-final status may jump straight to any final one.
        for stored in known().into_iter().filter(|s| !s.is_final()) {
            for fin in known().into_iter().filter(S::is_final) {
                assert!(stored.transition_to(&fin).applies(), "{stored} -> {fin}");
            }
        }
    }

    #[test]
    fn unknown_values_never_overwrite_and_are_overwritten_by_known_ones() {
        let unknown = S::Unknown("NEW_PROVIDER_VALUE".into());
        for stored in known() {
            assert_eq!(stored.transition_to(&unknown), Transition::UnknownIncoming);
        }
        assert!(unknown.transition_to(&S::Pending).applies());
        assert_eq!(unknown.transition_to(&unknown.clone()), Transition::Same);
    }

    #[test]
    fn names_are_stable() {
        assert_eq!(S::RequiresAction.as_str(), "requires_action");
        assert_eq!(S::Unknown("X".into()).to_string(), "unknown(X)");
        assert_eq!(S::Succeeded.to_string(), "succeeded");
    }
}
