//! `payments demo --scenario NAME`: what the ledger guarantees when things go wrong, each as a
//! table of steps, against the embedded sandbox (its faults and its payer make them happen).
//!
//! - `duplicate`: the receiver loses its answer twice (the ledger stored the event, the
//!   provider sees a failure), so the provider delivers the event three times: stored once,
//!   applied once, the handler told once.
//! - `out-of-order`: the payer goes through a notified status before paying; both webhooks are
//!   held and handed to the ledger newest first: the older one is kept, not applied.
//! - `lost-webhook`: the endpoint is down for every delivery (and the payer does not come back
//!   to the shop): the reconciler fetches the payment and finds it paid.
//! - `create-500`: the provider processes the creation and its answer is lost: the ledger finds
//!   the payment by its reference instead of creating it twice; Banq and Paylican, which cannot
//!   be searched, hold it for review and send nothing more.

use payments_core::{Capability, Error, PaymentStatus};
use payments_ledger::{CreateOutcome, LedgerError, Source};
use payments_sandbox::hooks::ObservedVia;
use payments_sandbox::{DeliveryState, Fault, FaultRule};

use crate::checkout::{
    Connection, applied, connect, create_once, describe, describe_change, history, notified, order,
    payer_pays, poll, verdicts,
};
use crate::demo::Run;
use crate::flow::{Failed, Flow};
use crate::providers::Target;
use crate::receiver::Mode;

/// How many times the `duplicate` scenario's event is delivered.
const DELIVERIES: usize = 3;

/// Waits (quietly, within the run's timeout) until the sandbox has no delivery about
/// `payment_id` left to retry, so that none arrives during the next scenario.
async fn settle(run: &Run<'_>, payment_id: &str) {
    let _ = poll(run.timeout, || async {
        Ok(run
            .sandbox
            .deliveries()
            .iter()
            .filter(|d| d.payment_id == payment_id)
            .all(|d| d.state != DeliveryState::Pending)
            .then_some(()))
    })
    .await;
}

/// One webhook delivered three times: stored and applied once, the handler told once.
pub(crate) async fn duplicate(
    run: &Run<'_>,
    target: &Target,
    flow: &mut Flow,
) -> Result<(), Failed> {
    let provider = target.provider;
    let connection = connect(run, target, flow).await?;
    let order = order(run, target, &connection, "dup-");
    let reference = order.reference.as_str();
    let created = create_once(run, &connection, &order, flow).await?;
    run.receiver
        .set_mode(provider, Mode::LoseAnswers(DELIVERIES - 1));
    // What the payer's side sees is not recorded: the webhook alone makes the change here.
    let paid = payer_pays(run, target, &order, &created.checkout, |_| false, flow).await;
    let deliveries =
        match paid {
            Ok(()) => {
                flow.step("delivered three times", async {
                let (key, deliveries) = poll(run.timeout, || async {
                    let rows = history(run, target, reference).await?;
                    let webhooks: Vec<_> =
                        rows.iter().filter(|r| r.source == Source::Webhook).collect();
                    // The event that made the change, else the first (an unsigned notice).
                    let Some(key) = webhooks
                        .iter()
                        .find(|r| r.verdict.applied())
                        .or(webhooks.first())
                        .and_then(|r| r.event_key.clone())
                    else {
                        return Ok(None);
                    };
                    let deliveries: Vec<_> = run
                        .receiver
                        .deliveries(provider)
                        .into_iter()
                        .filter(|d| d.key() == Some(key.as_str()))
                        .collect();
                    Ok((deliveries.len() >= DELIVERIES).then_some((key, deliveries)))
                })
                .await
                .map_err(|e| format!("the event was not delivered {DELIVERIES} times: {e}"))?;
                let detail = format!(
                    "event {key}: the answer to the first {} deliveries was lost, so {provider} \
                     delivered it again",
                    DELIVERIES - 1
                );
                Ok((deliveries, detail))
            })
            .await
            }
            Err(failed) => Err(failed),
        };
    run.receiver.set_mode(provider, Mode::Normal);
    let deliveries = deliveries?;
    for (i, delivery) in deliveries.iter().take(DELIVERIES).enumerate() {
        let duplicate = matches!(
            delivery.receipt.as_ref().map(|r| &r.outcome),
            Some(payments_ledger::Outcome::Duplicate { .. })
        );
        flow.step(&format!("delivery {}", i + 1), async {
            let detail = delivery.describe();
            match (i, duplicate) {
                (0, false) | (1.., true) => Ok(((), detail)),
                (0, true) => Err(format!("the first delivery was a duplicate: {detail}")),
                _ => Err(format!("a repeated delivery was stored again: {detail}")),
            }
        })
        .await?;
    }
    let key = deliveries
        .first()
        .and_then(|d| d.key())
        .unwrap_or_default()
        .to_owned();
    let applied_row = applied(run, target, &connection, reference, flow).await?;
    flow.step("applied once", async {
        let rows = history(run, target, reference).await?;
        let of_event = rows
            .iter()
            .filter(|r| r.event_key.as_deref() == Some(key.as_str()))
            .count();
        if of_event != 1 {
            return Err(format!("{of_event} history rows for {key}"));
        }
        Ok((
            (),
            format!(
                "{key}: one row in the history ({} deliveries); the success from: {}",
                DELIVERIES,
                describe(&applied_row)
            ),
        ))
    })
    .await?;
    flow.step("handler notified once", async {
        notified(run, target, reference).await?;
        // One more pass: nothing left to tell about it.
        run.ledger
            .dispatch_once(run.handler)
            .await
            .map_err(|e| e.to_string())?;
        let changes = run.handler.changes(provider, reference);
        let successes: Vec<_> = changes
            .iter()
            .filter(|c| c.after == PaymentStatus::Succeeded)
            .collect();
        match successes.as_slice() {
            [one] => Ok((
                (),
                format!(
                    "{} ({} change(s) in all)",
                    describe_change(one),
                    changes.len()
                ),
            )),
            many => Err(format!("told of the success {} times", many.len())),
        }
    })
    .await?;
    settle(run, &created.checkout.payment_id).await;
    Ok(())
}

/// The webhooks of one payment reach the ledger newest first.
pub(crate) async fn out_of_order(
    run: &Run<'_>,
    target: &Target,
    flow: &mut Flow,
) -> Result<(), Failed> {
    let provider = target.provider;
    let connection = connect(run, target, flow).await?;
    let order = order(run, target, &connection, "ooo-");
    let reference = order.reference.as_str();
    // Held from the creation on (HUB2 notifies the creation too).
    run.receiver.set_mode(provider, Mode::Hold);
    let held = async {
        let created = create_once(run, &connection, &order, flow).await?;
        let id = created.checkout.payment_id.clone();
        flow.step("payer pays in two steps", async {
            let detail = target
                .hooks
                .pay_in_two_steps(run.sandbox, &id)
                .await
                .map_err(|e| e.to_string())?;
            Ok(((), detail))
        })
        .await?;
        flow.step("deliveries held", async {
            let count = poll(run.timeout, || async {
                let about: Vec<_> = run
                    .sandbox
                    .deliveries()
                    .into_iter()
                    .filter(|d| d.payment_id == id)
                    .collect();
                let done = about.len() >= 2
                    && about.iter().all(|d| d.state != DeliveryState::Pending)
                    && run.receiver.held(provider) >= about.len();
                Ok(done.then_some(about.len()))
            })
            .await
            .map_err(|e| format!("two webhooks did not arrive: {e}"))?;
            // In the order the provider sent them (its delivery ids): two deliveries in flight at
            // once may reach the receiver the other way round.
            let mut sent: Vec<_> = run
                .sandbox
                .deliveries()
                .into_iter()
                .filter(|d| d.payment_id == id)
                .collect();
            sent.sort_by_key(|d| d.id);
            let mut held = run.receiver.take_held(provider);
            held.sort_by_key(|h| {
                sent.iter()
                    .position(|d| d.body.as_bytes() == h.body())
                    .unwrap_or(usize::MAX)
            });
            Ok((
                held,
                format!("{count} deliveries held at the receiver, to be handed over newest first"),
            ))
        })
        .await
        .map(|held| (id, held))
    }
    .await;
    run.receiver.set_mode(provider, Mode::Normal);
    let (id, held) = held?;
    let count = held.len();
    for (i, request) in held.iter().rev().enumerate() {
        flow.step(&format!("delivery {} of {count}", count - i), async {
            let delivery = run.receiver.release(request).await?;
            match delivery.answered {
                200 => Ok(((), delivery.describe())),
                _ => Err(delivery.describe()),
            }
        })
        .await?;
    }
    applied(run, target, &connection, reference, flow).await?;
    flow.step("older kept, not applied", async {
        let rows = history(run, target, reference).await?;
        let Some(success) = rows
            .iter()
            .position(|r| r.after == PaymentStatus::Succeeded && r.verdict.applied())
        else {
            return Err("no row applied the success".to_owned());
        };
        let later = rows.get(success + 1..).unwrap_or_default();
        if let Some(moved) = later.iter().find(|r| r.after != PaymentStatus::Succeeded) {
            return Err(format!("a later row moved it: {}", describe(moved)));
        }
        let webhooks: Vec<_> = rows
            .iter()
            .filter(|r| r.source == Source::Webhook)
            .cloned()
            .collect();
        Ok((
            (),
            format!(
                "status stays succeeded; the webhooks' verdicts in arrival order: {}",
                verdicts(&webhooks)
            ),
        ))
    })
    .await?;
    flow.step("handler notified", async {
        let changes = notified(run, target, reference).await?;
        let Some(last) = changes.last() else {
            return Err("no change".to_owned());
        };
        if last.after != PaymentStatus::Succeeded {
            return Err(format!("the last change was {}", describe_change(last)));
        }
        let successes = changes
            .iter()
            .filter(|c| c.after == PaymentStatus::Succeeded)
            .count();
        if successes != 1 {
            return Err(format!("told of the success {successes} times"));
        }
        Ok((
            (),
            format!("{} (the last of {})", describe_change(last), changes.len()),
        ))
    })
    .await?;
    settle(run, &id).await;
    Ok(())
}

/// Every delivery fails: the reconciler finds the payment paid.
pub(crate) async fn lost_webhook(
    run: &Run<'_>,
    target: &Target,
    flow: &mut Flow,
) -> Result<(), Failed> {
    let provider = target.provider;
    let connection = connect(run, target, flow).await?;
    let order = order(run, target, &connection, "lost-");
    let reference = order.reference.as_str();
    // Down from the creation on (HUB2 notifies the creation too).
    run.receiver.set_mode(provider, Mode::Down);
    let outcome = async {
        let created = create_once(run, &connection, &order, flow).await?;
        lost_webhook_steps(run, target, &connection, &order, &created, flow).await?;
        Ok(created.checkout.payment_id)
    }
    .await;
    run.receiver.set_mode(provider, Mode::Normal);
    let id = outcome?;
    flow.step("handler notified", async {
        let changes = notified(run, target, reference).await?;
        let last = changes
            .iter()
            .rev()
            .find(|c| c.after == PaymentStatus::Succeeded)
            .ok_or("no change to succeeded")?;
        Ok(((), describe_change(last)))
    })
    .await?;
    settle(run, &id).await;
    Ok(())
}

async fn lost_webhook_steps(
    run: &Run<'_>,
    target: &Target,
    connection: &Connection,
    order: &payments_core::CreatePayment,
    created: &payments_ledger::Created,
    flow: &mut Flow,
) -> Result<(), Failed> {
    let id = created.checkout.payment_id.as_str();
    let reference = order.reference.as_str();
    // The payer does not come back to the shop either: only the merchant's own API calls (a
    // HUB2 attempt's answer) are recorded.
    payer_pays(
        run,
        target,
        order,
        &created.checkout,
        |via| via == ObservedVia::Fetch,
        flow,
    )
    .await?;
    flow.step("webhooks lost", async {
        let failed = poll(run.timeout, || async {
            let failed: usize = run
                .sandbox
                .deliveries()
                .iter()
                .filter(|d| d.payment_id == id)
                .map(|d| d.attempts.iter().filter(|a| a.status == Some(503)).count())
                .sum();
            Ok((failed > 0).then_some(failed))
        })
        .await
        .map_err(|e| format!("no delivery was attempted: {e}"))?;
        let stored = history(run, target, reference)
            .await?
            .iter()
            .filter(|r| r.source == Source::Webhook)
            .count();
        if stored > 0 {
            return Err(format!(
                "{stored} webhook(s) stored although the endpoint is down"
            ));
        }
        Ok((
            (),
            format!(
                "{failed} attempt(s) answered 503 (the endpoint is down); nothing stored; \
                 {} retries on its schedule",
                target.provider
            ),
        ))
    })
    .await?;
    let row = applied(run, target, connection, reference, flow).await?;
    if row.source != Source::Fetch {
        let _ = flow
            .step::<(), _>("found by the reconciler", async {
                Err(format!("applied from the {}, not a fetch", row.source))
            })
            .await;
        return Err(Failed);
    }
    flow.step("found by the reconciler", async {
        Ok(((), format!("a fetch of {id} found it: {}", describe(&row))))
    })
    .await
}

/// The creation's answer is lost: found by reference, or held for review.
pub(crate) async fn create_500(
    run: &Run<'_>,
    target: &Target,
    flow: &mut Flow,
) -> Result<(), Failed> {
    let provider = target.provider;
    let connection = connect(run, target, flow).await?;
    let order = order(run, target, &connection, "c500-");
    let reference = order.reference.as_str();
    let (method, path) = target.hooks.create_route();
    let route = FaultRule::new(method, path, Fault::Drop);
    let creations = || {
        run.sandbox
            .requests()
            .iter()
            .filter(|r| route.matches(&r.method, &r.path))
            .count()
    };
    let held_before = run.sandbox.payments(provider).len();
    let sent_before = creations();
    let searchable = connection
        .client
        .capabilities()
        .supports(Capability::FindByReference);
    run.sandbox.add_fault(
        FaultRule::new(
            method,
            path,
            Fault::Status {
                status: 500,
                body: None,
            },
        )
        .times(1)
        .after_processing(),
    );
    flow.reference = Some(order.reference.clone());
    let first = flow
        .step("create once", async {
            match run
                .ledger
                .create_once(connection.client.as_ref(), &order)
                .await
            {
                Ok(created) if created.outcome == CreateOutcome::Recovered => {
                    let detail = format!(
                        "the answer was lost (500 after processing); found by reference: \
                         payment {}, recovered",
                        created.checkout.payment_id
                    );
                    Ok((Some(created.checkout.payment_id), detail))
                }
                Ok(created) => Err(format!("expected a lost answer, got {:?}", created.outcome)),
                Err(LedgerError::NeedsReview { reason, .. }) if !searchable => Ok((
                    None,
                    format!(
                        "the answer was lost (500 after processing); {reason}: held for review"
                    ),
                )),
                Err(LedgerError::Provider(Error::OutcomeUnknown { .. })) if searchable => {
                    Err("the lost answer was not resolved by reference".to_owned())
                }
                Err(e) => Err(e.to_string()),
            }
        })
        .await?;
    flow.step("create again", async {
        let sent = creations();
        let requests = run.sandbox.requests().len();
        match (
            run.ledger
                .create_once(connection.client.as_ref(), &order)
                .await,
            &first,
        ) {
            (Ok(again), Some(id)) if again.outcome == CreateOutcome::Stored => {
                if again.checkout.payment_id != *id {
                    return Err(format!("another payment: {}", again.checkout.payment_id));
                }
                Ok(((), format!("the stored checkout of {id}; nothing sent")))
            }
            (Err(LedgerError::NeedsReview { .. }), None) => {
                if run.sandbox.requests().len() != requests || creations() != sent {
                    return Err("a request was sent while the creation is held".to_owned());
                }
                Ok(((), "still held for review; nothing sent".to_owned()))
            }
            (Ok(again), _) => Err(format!("unexpected: {:?}", again.outcome)),
            (Err(e), _) => Err(e.to_string()),
        }
    })
    .await?;
    flow.step("created once", async {
        let sent = creations() - sent_before;
        let held = run.sandbox.payments(provider).len() - held_before;
        if sent != 1 || held != 1 {
            return Err(format!(
                "{provider} received {sent} creation(s) and holds {held} payment(s)"
            ));
        }
        Ok((
            (),
            format!("{provider} received 1 creation request and holds 1 payment"),
        ))
    })
    .await?;
    if first.is_none() {
        flow.step("needs review", async {
            let review = run.ledger.needs_review().await.map_err(|e| e.to_string())?;
            let listed = review
                .iter()
                .any(|p| p.provider == provider.as_str() && p.reference == reference);
            if !listed {
                return Err("not listed for review".to_owned());
            }
            Ok((
                (),
                "listed by `payments ledger needs-review`: a person checks the provider's back \
                 office and resolves it"
                    .to_owned(),
            ))
        })
        .await?;
    }
    Ok(())
}
