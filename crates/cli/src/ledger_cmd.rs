//! `payments ledger`: reads a ledger (the demo's SQLite file by default, or any `--db URL`),
//! retries a dead-lettered notification, reconciles. A table by default, `--json` for scripts.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::sync::Arc;

use payments_core::PaymentStatus;
use payments_core::webhook::Authenticity;
use payments_ledger::{DeadLetter, HistoryEntry, Ledger, LedgerPayment, Providers};
use payments_sandbox::Provider;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::args::{LedgerArgs, LedgerCommand, PaymentRef};
use crate::checkout::authenticity;
use crate::demo::shown_db;
use crate::providers;

/// The unified statuses, as `--status` takes them.
const STATUSES: [&str; 11] = [
    "pending",
    "requires_action",
    "requires_merchant_action",
    "processing",
    "authorized",
    "partially_paid",
    "succeeded",
    "overpaid",
    "failed",
    "cancelled",
    "expired",
];

pub(crate) async fn run(args: LedgerArgs) -> Result<ExitCode, String> {
    let ledger = Ledger::open(&args.db)
        .await
        .map_err(|e| format!("the ledger {}: {e}", shown_db(&args.db)))?;
    let result = command(&ledger, args.command, args.json).await;
    ledger.close().await;
    let out = result?;
    if !out.is_empty() {
        print!("{out}");
    }
    Ok(ExitCode::SUCCESS)
}

async fn command(ledger: &Ledger, command: LedgerCommand, json: bool) -> Result<String, String> {
    let store = |e: payments_ledger::LedgerError| e.to_string();
    Ok(match command {
        LedgerCommand::List { status, limit } => {
            let status = status.as_deref().map(parse_status).transpose()?;
            let payments = ledger.list(status.as_ref(), limit).await.map_err(store)?;
            if json {
                lines(&Value::Array(payments.iter().map(payment_json).collect()))
            } else if payments.is_empty() {
                "no payments\n".to_owned()
            } else {
                payments_table(&payments)
            }
        }
        LedgerCommand::Show(which) => {
            let payment = find(ledger, &which).await?;
            if json {
                lines(&payment_json(&payment))
            } else {
                show(&payment)
            }
        }
        LedgerCommand::History(which) => {
            let payment = find(ledger, &which).await?;
            let history = ledger
                .history(&payment.provider, &payment.reference)
                .await
                .map_err(store)?;
            if json {
                lines(&json!({
                    "payment": payment_json(&payment),
                    "history": history.iter().map(history_json).collect::<Vec<_>>(),
                }))
            } else {
                history_table(&payment, &history)
            }
        }
        LedgerCommand::NeedsReview => {
            let payments = ledger.needs_review().await.map_err(store)?;
            if json {
                lines(&Value::Array(payments.iter().map(payment_json).collect()))
            } else if payments.is_empty() {
                "nothing needs review\n".to_owned()
            } else {
                payments_table(&payments)
            }
        }
        LedgerCommand::DeadLetters => {
            let dead = ledger.dead_letters().await.map_err(store)?;
            if json {
                lines(&Value::Array(dead.iter().map(dead_json).collect()))
            } else if dead.is_empty() {
                "no dead letters\n".to_owned()
            } else {
                dead_table(&dead)
            }
        }
        LedgerCommand::Retry { id } => {
            ledger.retry_dead_letter(id).await.map_err(store)?;
            if json {
                lines(&json!({ "retried": id }))
            } else {
                format!("notification {id} is due again: the next dispatcher pass delivers it\n")
            }
        }
        LedgerCommand::Reconcile { once } => reconcile(ledger, once, json).await?,
    })
}

fn lines(value: &Value) -> String {
    format!("{value}\n")
}

fn parse_status(text: &str) -> Result<PaymentStatus, String> {
    STATUSES
        .iter()
        .find(|s| s.eq_ignore_ascii_case(text))
        .and_then(|s| serde_json::from_value(json!({ "status": s })).ok())
        .ok_or_else(|| {
            format!(
                "--status `{text}` is not a status: one of {}",
                STATUSES.join(", ")
            )
        })
}

/// The payment `which` names: by reference, at the provider given or the only one holding it.
async fn find(ledger: &Ledger, which: &PaymentRef) -> Result<LedgerPayment, String> {
    let providers: Vec<Provider> = match &which.provider {
        Some(name) => vec![
            name.parse()
                .map_err(|e: payments_sandbox::UnknownProvider| e.to_string())?,
        ],
        None => Provider::ALL.to_vec(),
    };
    let mut found = Vec::new();
    for provider in providers {
        if let Some(payment) = ledger
            .payment(provider.as_str(), &which.reference)
            .await
            .map_err(|e| e.to_string())?
        {
            found.push(payment);
        }
    }
    match found.len() {
        0 => Err(format!(
            "no payment with reference `{}` in the ledger",
            which.reference
        )),
        1 => found.pop().ok_or_else(|| "no payment".to_owned()),
        _ => Err(format!(
            "reference `{}` exists at {}: name one with --provider",
            which.reference,
            found
                .iter()
                .map(|p| p.provider.as_str())
                .collect::<Vec<_>>()
                .join(" and ")
        )),
    }
}

/// An authenticity as stored (`fetched_back`), for JSON.
fn authenticity_name(a: Authenticity) -> &'static str {
    match a {
        Authenticity::Signed => "signed",
        Authenticity::FetchedBack => "fetched_back",
        Authenticity::Guarded => "guarded",
        _ => "unverified",
    }
}

fn time_text(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_else(|_| at.to_string())
}

fn payment_json(p: &LedgerPayment) -> Value {
    json!({
        "id": p.id,
        "provider": p.provider,
        "reference": p.reference,
        "amount": p.amount.to_decimal_string(),
        "amount_minor": p.amount.minor_units(),
        "currency": p.amount.currency().code(),
        "creation": p.creation.name(),
        "creation_error": p.creation_error,
        "provider_payment_id": p.provider_payment_id,
        "status": p.status.to_string(),
        "raw_status": p.raw_status,
        "authenticity": p.authenticity.map(authenticity_name),
        "review": p.review,
        "paid": p.is_paid(),
        "expires_at": p.expires_at.map(time_text),
        "next_check_at": p.next_check_at.map(time_text),
        "created_at": time_text(p.created_at),
        "updated_at": time_text(p.updated_at),
    })
}

fn history_json(h: &HistoryEntry) -> Value {
    json!({
        "id": h.id,
        "source": h.source.name(),
        "event_key": h.event_key,
        "raw_status": h.raw_status,
        "status": h.status.as_ref().map(ToString::to_string),
        "authenticity": h.authenticity.map(authenticity_name),
        "verdict": h.verdict.to_string(),
        "before": h.before.to_string(),
        "after": h.after.to_string(),
        "note": h.note,
        "at": time_text(h.at),
    })
}

fn dead_json(d: &DeadLetter) -> Value {
    json!({
        "id": d.id,
        "provider": d.provider,
        "reference": d.reference,
        "verdict": d.verdict.to_string(),
        "attempts": d.attempts,
        "last_error": d.last_error,
    })
}

/// Rows of cells as aligned columns, the first row the header.
fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
    }
    out
}

fn payments_table(payments: &[LedgerPayment]) -> String {
    let mut rows = vec![
        [
            "provider",
            "reference",
            "amount",
            "status",
            "creation",
            "provider id",
            "review",
        ]
        .map(str::to_owned)
        .to_vec(),
    ];
    for p in payments {
        rows.push(vec![
            p.provider.clone(),
            p.reference.clone(),
            p.amount.to_string(),
            p.status.to_string(),
            p.creation.name().to_owned(),
            p.provider_payment_id.clone().unwrap_or_else(|| "-".into()),
            p.review.clone().unwrap_or_else(|| "-".into()),
        ]);
    }
    table(&rows)
}

fn show(p: &LedgerPayment) -> String {
    let fields = [
        ("provider", p.provider.clone()),
        ("reference", p.reference.clone()),
        ("amount", p.amount.to_string()),
        ("status", p.status.to_string()),
        (
            "raw status",
            p.raw_status.clone().unwrap_or_else(|| "-".into()),
        ),
        ("authenticity", authenticity(p.authenticity).to_owned()),
        ("paid", p.is_paid().to_string()),
        ("review", p.review.clone().unwrap_or_else(|| "-".into())),
        ("creation", p.creation.name().to_owned()),
        (
            "provider id",
            p.provider_payment_id.clone().unwrap_or_else(|| "-".into()),
        ),
        (
            "next check",
            p.next_check_at.map_or_else(|| "-".into(), time_text),
        ),
        ("created", time_text(p.created_at)),
        ("updated", time_text(p.updated_at)),
    ];
    let mut out = String::new();
    for (name, value) in fields {
        let _ = writeln!(out, "{name:<13} {value}");
    }
    out
}

fn history_table(p: &LedgerPayment, history: &[HistoryEntry]) -> String {
    let mut rows = vec![
        [
            "at", "source", "raw", "status", "auth", "verdict", "before", "after", "event", "note",
        ]
        .map(str::to_owned)
        .to_vec(),
    ];
    for h in history {
        rows.push(vec![
            time_text(h.at),
            h.source.name().to_owned(),
            h.raw_status.clone().unwrap_or_else(|| "-".into()),
            h.status
                .as_ref()
                .map_or_else(|| "-".into(), ToString::to_string),
            authenticity(h.authenticity).to_owned(),
            h.verdict.to_string(),
            h.before.to_string(),
            h.after.to_string(),
            h.event_key.clone().unwrap_or_else(|| "-".into()),
            h.note.clone().unwrap_or_else(|| "-".into()),
        ]);
    }
    format!(
        "{} {} ({}, {})\n{}",
        p.provider,
        p.reference,
        p.amount,
        p.status,
        table(&rows)
    )
}

fn dead_table(dead: &[DeadLetter]) -> String {
    let mut rows = vec![
        [
            "id",
            "provider",
            "reference",
            "verdict",
            "attempts",
            "last error",
        ]
        .map(str::to_owned)
        .to_vec(),
    ];
    for d in dead {
        rows.push(vec![
            d.id.to_string(),
            d.provider.clone(),
            d.reference.clone(),
            d.verdict.to_string(),
            d.attempts.to_string(),
            d.last_error.clone().unwrap_or_else(|| "-".into()),
        ]);
    }
    let mut out = table(&rows);
    out.push_str("retry one with `payments ledger retry ID`\n");
    out
}

/// Clients from the environment (the variables `demo` reads for real providers).
async fn reconcile(ledger: &Ledger, once: bool, json: bool) -> Result<String, String> {
    let mut providers = Providers::new();
    let mut with = Vec::new();
    let mut without = Vec::new();
    for provider in Provider::ALL {
        match providers::real_client(provider) {
            Some(Ok(client)) => {
                providers = providers.with(Arc::from(client));
                with.push(provider.as_str());
            }
            Some(Err(e)) => return Err(format!("{provider}: {e}")),
            None => without.push(provider.as_str()),
        }
    }
    if !once {
        eprintln!(
            "reconciling {} every second until Ctrl-C (payments of {} are left for later: no \
             credentials in the environment)",
            with.join(", "),
            without.join(", ")
        );
        let reconciler = ledger.reconciler(providers);
        reconciler
            .run(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await;
        return Ok(String::new());
    }
    let report = ledger
        .reconcile_once(&providers)
        .await
        .map_err(|e| e.to_string())?;
    Ok(if json {
        lines(&json!({
            "fetched": report.fetched,
            "changed": report.changed,
            "flagged": report.flagged,
            "deferred": report.deferred,
            "failed": report.failed,
            "adopted": report.adopted,
            "providers": with,
            "without_credentials": without,
        }))
    } else {
        format!(
            "fetched {}, changed {}, put in review {}, deferred {}, failed {}, webhooks adopted {}\n\
             clients: {} (no credentials in the environment for: {})\n",
            report.fetched,
            report.changed,
            report.flagged,
            report.deferred,
            report.failed,
            report.adopted,
            if with.is_empty() {
                "none".to_owned()
            } else {
                with.join(", ")
            },
            if without.is_empty() {
                "-".to_owned()
            } else {
                without.join(", ")
            },
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_parse_by_their_name_and_an_unknown_one_lists_them() {
        assert_eq!(parse_status("succeeded"), Ok(PaymentStatus::Succeeded));
        assert_eq!(
            parse_status("Requires_Action"),
            Ok(PaymentStatus::RequiresAction)
        );
        let err = parse_status("paid").err().unwrap_or_default();
        assert!(err.contains("`paid`") && err.contains("succeeded"), "{err}");
        for name in STATUSES {
            assert!(parse_status(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn tables_align_their_columns() {
        let out = table(&[
            vec!["a".into(), "bb".into()],
            vec!["ccc".into(), "d".into()],
        ]);
        assert_eq!(out, "a    bb\nccc  d\n");
    }
}
