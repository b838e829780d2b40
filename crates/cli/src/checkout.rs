//! The demo's one flow, the same for every provider over its hooks: connect → create once →
//! payer pays → webhook received → stored → applied → handler notified → reconciled against the
//! order. The steps here are shared with the scenarios ([`crate::scenarios`]).

use std::sync::Arc;
use std::time::Duration;

use payments_core::webhook::Authenticity;
use payments_core::{Capability, Checkout, CreatePayment, PaymentProvider, PaymentStatus};
use payments_ledger::{Created, HistoryEntry, LedgerPayment, Providers, Source, Verdict};
use payments_sandbox::hooks::{ObservedVia, ToPay};

use crate::demo::Run;
use crate::flow::{Failed, Flow};
use crate::providers::Target;

/// What `connect` set up.
pub(crate) struct Connection {
    pub(crate) client: Arc<dyn PaymentProvider>,
    /// Where the provider sends its webhooks.
    pub(crate) webhook_url: String,
}

/// Step `connect`: the provider's client, its webhook registered where it takes it, and the
/// receiver ready for its deliveries.
pub(crate) async fn connect(
    run: &Run<'_>,
    target: &Target,
    flow: &mut Flow,
) -> Result<Connection, Failed> {
    let provider = target.provider;
    let public = target.webhooks.as_ref().ok().cloned().flatten();
    let webhook_url = run.receiver.webhook_url(provider, public.as_deref());
    if public.is_some() {
        // A real provider posts to the public URL: whatever forwards it must reach the
        // receiver's random port.
        eprintln!(
            "[{provider}] webhooks go to {webhook_url}: forward it to {}",
            run.receiver.webhook_url(provider, None)
        );
    }
    flow.step("connect", async {
        let connected = target
            .hooks
            .connect(run.sandbox, run.http(), &webhook_url)
            .await
            .map_err(|e| e.to_string())?;
        if target.webhooks.is_ok() {
            let verifier = target
                .hooks
                .verifier(run.sandbox, &webhook_url)
                .map_err(|e| e.to_string())?;
            run.receiver.accept(provider, verifier, public.as_deref());
        }
        let detail = format!("webhook: {}", connected.webhook);
        Ok((
            Connection {
                client: Arc::from(connected.client),
                webhook_url: webhook_url.clone(),
            },
            detail,
        ))
    })
    .await
}

/// The order of `target` for this run: `tag` says which scenario (empty for the checkout).
pub(crate) fn order(
    run: &Run<'_>,
    target: &Target,
    connection: &Connection,
    tag: &str,
) -> CreatePayment {
    let mut order = target
        .hooks
        .create_request(target.minor_units, &connection.webhook_url);
    order.reference = format!("{}-{tag}{}", run.run_id, target.provider);
    order.description = Some("payments demo".to_owned());
    order
}

/// Step `create once`: the ledger records the reference, then creates the payment.
pub(crate) async fn create_once(
    run: &Run<'_>,
    connection: &Connection,
    order: &CreatePayment,
    flow: &mut Flow,
) -> Result<Created, Failed> {
    flow.reference = Some(order.reference.clone());
    flow.step("create once", async {
        let created = run
            .ledger
            .create_once(connection.client.as_ref(), order)
            .await
            .map_err(|e| e.to_string())?;
        let outcome = format!("{:?}", created.outcome).to_lowercase();
        let detail = format!(
            "payment {}, {}, {outcome}",
            created.checkout.payment_id, order.amount
        );
        Ok((created, detail))
    })
    .await
}

/// Step `payer pays`: the provider's payer hook; what the merchant's side saw on the way (an
/// attempt's answer, a confirmed return) is recorded in the ledger unless `record` says not.
pub(crate) async fn payer_pays(
    run: &Run<'_>,
    target: &Target,
    order: &CreatePayment,
    checkout: &Checkout,
    record: impl Fn(ObservedVia) -> bool,
    flow: &mut Flow,
) -> Result<(), Failed> {
    flow.step("payer pays", async {
        let payment = ToPay::new(order, checkout, run.http()).timeout(run.timeout);
        let paid = target
            .hooks
            .pay(run.sandbox, &payment)
            .await
            .map_err(|e| e.to_string())?;
        let mut detail = paid.detail;
        if let Some(observed) = paid.observed.filter(|o| record(o.via)) {
            let source = match observed.via {
                ObservedVia::Redirect => Source::Redirect,
                _ => Source::Fetch,
            };
            let verdict = run
                .ledger
                .observe(target.provider.as_str(), &observed.payment, source)
                .await
                .map_err(|e| format!("recording what the payer's side saw: {e}"))?;
            detail.push_str(&format!(
                "; recorded ({source}, {}): {verdict}",
                observed.payment.status
            ));
        }
        Ok(((), detail))
    })
    .await
}

/// The payment's history, or an error for a step.
pub(crate) async fn history(
    run: &Run<'_>,
    target: &Target,
    reference: &str,
) -> Result<Vec<HistoryEntry>, String> {
    run.ledger
        .history(target.provider.as_str(), reference)
        .await
        .map_err(|e| e.to_string())
}

/// The payment as the ledger holds it.
pub(crate) async fn payment(
    run: &Run<'_>,
    target: &Target,
    reference: &str,
) -> Result<LedgerPayment, String> {
    run.ledger
        .payment(target.provider.as_str(), reference)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("the ledger holds no payment {reference}"))
}

/// `signed`, `fetched_back`, ...
pub(crate) fn authenticity(a: Option<Authenticity>) -> &'static str {
    match a {
        Some(Authenticity::Signed) => "signed",
        Some(Authenticity::FetchedBack) => "fetched back",
        Some(Authenticity::Guarded) => "guarded",
        Some(_) => "unverified",
        None => "-",
    }
}

/// A history row, one line: `webhook SUCCEEDED (signed): pending → succeeded, advance`.
pub(crate) fn describe(entry: &HistoryEntry) -> String {
    let raw = entry.raw_status.as_deref().unwrap_or("-");
    let mut out = format!(
        "{} {raw} ({}): {} → {}, {}",
        entry.source,
        authenticity(entry.authenticity),
        entry.before,
        entry.after,
        entry.verdict
    );
    if let Some(note) = &entry.note {
        out.push_str(&format!(" ({note})"));
    }
    out
}

/// Polls `check` every 50 ms until it yields, or `timeout` passes (then its last error).
pub(crate) async fn poll<T, F, Fut>(timeout: Duration, mut check: F) -> Result<T, String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>, String>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(found) = check().await? {
            return Ok(found);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!("not within {} s", timeout.as_secs()));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The webhook rows of the payment's history, once there is one.
pub(crate) async fn webhook_rows(
    run: &Run<'_>,
    target: &Target,
    reference: &str,
) -> Result<Vec<HistoryEntry>, String> {
    poll(run.timeout, || async {
        let rows: Vec<HistoryEntry> = history(run, target, reference)
            .await?
            .into_iter()
            .filter(|h| h.source == Source::Webhook)
            .collect();
        Ok((!rows.is_empty()).then_some(rows))
    })
    .await
    .map_err(|e| format!("no webhook about it was stored: {e}"))
}

/// Step `applied`: waits until the payment is final, fetching it meanwhile where nothing
/// trusted said so (the reconciler); it must have succeeded and need no review.
pub(crate) async fn applied(
    run: &Run<'_>,
    target: &Target,
    connection: &Connection,
    reference: &str,
    flow: &mut Flow,
) -> Result<HistoryEntry, Failed> {
    let providers = Providers::new().with(connection.client.clone());
    flow.step("applied", async {
        let paid = poll(run.timeout, || async {
            let payment = payment(run, target, reference).await?;
            if payment.status.is_final() || payment.review.is_some() {
                return Ok(Some(payment));
            }
            run.ledger
                .reconcile_once(&providers)
                .await
                .map_err(|e| e.to_string())?;
            Ok(None)
        })
        .await
        .map_err(|e| format!("the payment never became final: {e}"))?;
        if let Some(review) = &paid.review {
            return Err(format!("the payment needs review: {review}"));
        }
        if paid.status != PaymentStatus::Succeeded {
            return Err(format!("the payment ended {}, not succeeded", paid.status));
        }
        let rows = history(run, target, reference).await?;
        let row = rows
            .into_iter()
            .find(|h| h.after == PaymentStatus::Succeeded && h.verdict.applied())
            .ok_or("no history row applied the success")?;
        let detail = describe(&row);
        Ok((row, detail))
    })
    .await
}

/// The changes the handler was told about this payment, once one says it succeeded.
pub(crate) async fn notified(
    run: &Run<'_>,
    target: &Target,
    reference: &str,
) -> Result<Vec<payments_ledger::Change>, String> {
    poll(run.timeout, || async {
        run.ledger
            .dispatch_once(run.handler)
            .await
            .map_err(|e| e.to_string())?;
        let changes = run.handler.changes(target.provider, reference);
        Ok(changes
            .iter()
            .any(|c| c.after == PaymentStatus::Succeeded)
            .then_some(changes))
    })
    .await
    .map_err(|e| format!("the handler was not told of the success: {e}"))
}

/// A change, one line: `change 7: pending → succeeded (webhook), attempt 1`.
pub(crate) fn describe_change(change: &payments_ledger::Change) -> String {
    format!(
        "change {}: {} → {} ({}, {}), attempt {}",
        change.id, change.before, change.after, change.source, change.verdict, change.attempt
    )
}

/// The flow of one checkout.
pub(crate) async fn checkout(
    run: &Run<'_>,
    target: &Target,
    flow: &mut Flow,
) -> Result<(), Failed> {
    let connection = connect(run, target, flow).await?;
    let order = order(run, target, &connection, "");
    let created = create_once(run, &connection, &order, flow).await?;
    payer_pays(run, target, &order, &created.checkout, |_| true, flow).await?;
    let reference = order.reference.as_str();

    match &target.webhooks {
        Ok(_) => {
            let rows = flow
                .step("webhook received", async {
                    let rows = webhook_rows(run, target, reference).await?;
                    let keys: Vec<&str> =
                        rows.iter().filter_map(|r| r.event_key.as_deref()).collect();
                    let deliveries = run.receiver.deliveries(target.provider);
                    let answered: Vec<String> = deliveries
                        .iter()
                        .filter(|d| d.key().is_some_and(|k| keys.contains(&k)))
                        .map(|d| format!("HTTP {}", d.answered))
                        .collect();
                    let detail = format!(
                        "{} deliver{} verified and answered ({}) after the ledger stored {}",
                        answered.len(),
                        if answered.len() == 1 { "y" } else { "ies" },
                        answered.join(", "),
                        if answered.len() == 1 { "it" } else { "them" }
                    );
                    Ok((rows, detail))
                })
                .await?;
            flow.step("stored", async {
                let shown: Vec<String> = rows
                    .iter()
                    .map(|r| {
                        format!(
                            "{} {}",
                            r.event_key.as_deref().unwrap_or("-"),
                            r.raw_status.as_deref().unwrap_or("-")
                        )
                    })
                    .collect();
                let detail = format!(
                    "{} event(s) in the inbox, each once under its de-duplication key: {}",
                    rows.len(),
                    shown.join(", ")
                );
                Ok(((), detail))
            })
            .await?;
        }
        Err(why) => {
            flow.skip("webhook received", why.clone());
            flow.skip("stored", why.clone());
        }
    }

    applied(run, target, &connection, reference, flow).await?;

    flow.step("handler notified", async {
        let changes = notified(run, target, reference).await?;
        let last = changes
            .iter()
            .rev()
            .find(|c| c.after == PaymentStatus::Succeeded)
            .ok_or("no change to succeeded")?;
        let paid = if last.payment.is_paid() {
            "paid: ship the order"
        } else {
            "not paid"
        };
        Ok(((), format!("{}; {paid}", describe_change(last))))
    })
    .await?;

    reconciled(run, target, &connection, &order, &created, flow).await
}

/// Step `reconciled`: the provider's view of the payment, the ledger's and the order agree.
async fn reconciled(
    run: &Run<'_>,
    target: &Target,
    connection: &Connection,
    order: &CreatePayment,
    created: &Created,
    flow: &mut Flow,
) -> Result<(), Failed> {
    if !connection
        .client
        .capabilities()
        .supports(Capability::GetPayment)
    {
        flow.skip(
            "reconciled",
            "the provider documents no status endpoint: the ledger's view is all there is",
        );
        return Ok(());
    }
    flow.step("reconciled", async {
        let id = &created.checkout.payment_id;
        let fetched = connection
            .client
            .fetch_payment(id)
            .await
            .map_err(|e| e.to_string())?;
        let held = payment(run, target, &order.reference).await?;
        let mut problems = Vec::new();
        if fetched.id != *id {
            problems.push(format!(
                "the provider answered about {}, not {id}",
                fetched.id
            ));
        }
        if fetched.status != PaymentStatus::Succeeded {
            problems.push(format!("the provider says {}", fetched.status));
        }
        match fetched.amount {
            Some(amount) if amount != order.amount => {
                problems.push(format!(
                    "the provider's amount {amount} ≠ the order's {}",
                    order.amount
                ));
            }
            _ => {}
        }
        if held.amount != order.amount {
            problems.push(format!(
                "the ledger's amount {} ≠ the order's {}",
                held.amount, order.amount
            ));
        }
        if held.status != fetched.status {
            problems.push(format!(
                "the ledger says {}, the provider {}",
                held.status, fetched.status
            ));
        }
        if !held.is_paid() {
            problems.push("the ledger does not hold it as paid".to_owned());
        }
        if !problems.is_empty() {
            return Err(problems.join("; "));
        }
        let amount = match fetched.amount {
            Some(_) => "",
            None => " (the provider's answer has no amount)",
        };
        Ok((
            (),
            format!(
                "provider, ledger and order agree: {id}, {}, {}{amount}",
                order.amount, fetched.status
            ),
        ))
    })
    .await
}

/// Verdicts, for a scenario's detail.
pub(crate) fn verdicts(rows: &[HistoryEntry]) -> String {
    rows.iter()
        .map(|r| r.verdict)
        .map(|v: Verdict| v.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
