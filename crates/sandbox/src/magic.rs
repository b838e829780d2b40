//! Magic amounts: the payer's behaviour chosen by the amount, for hands-off runs.
//!
//! The last two digits of the amount in minor units (cents; for currencies without minor units
//! such as XOF, the last two digits of the amount) decide what the simulated payer does, a moment
//! after creation ([`crate::SandboxBuilder::auto_outcome_delay`], 2 s by default, divided by the
//! time divisor):
//!
//! | amount ends in | the payer | example |
//! |---|---|---|
//! | `01` | fails (refused, insufficient funds) | `10.01` EUR, `5001` XOF |
//! | `02` | never pays: the payment expires | `10.02` EUR |
//! | `03` | cancels | `10.03` EUR |
//! | `05` | pays | `10.05` EUR |
//! | anything else | waits for a control endpoint (`/_sandbox/...`) | `10.00` EUR |
//!
//! An OTP challenge is not a magic amount: HUB2 asks for one through its own `nextAction`, and
//! `POST /_sandbox/{provider}/payments/{id}/require-otp` asks for one anywhere.

use crate::PayerAction;

/// The payer action a magic amount triggers, if any.
pub fn outcome(minor_units: i64) -> Option<PayerAction> {
    match minor_units.rem_euclid(100) {
        1 => Some(PayerAction::Fail),
        2 => Some(PayerAction::Expire),
        3 => Some(PayerAction::Cancel),
        5 => Some(PayerAction::Pay),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_two_digits_decide() {
        assert_eq!(outcome(1001), Some(PayerAction::Fail));
        assert_eq!(outcome(5001), Some(PayerAction::Fail));
        assert_eq!(outcome(1002), Some(PayerAction::Expire));
        assert_eq!(outcome(1003), Some(PayerAction::Cancel));
        assert_eq!(outcome(1005), Some(PayerAction::Pay));
        assert_eq!(outcome(1000), None);
        assert_eq!(outcome(1011), None);
    }
}
