-- payments-ledger schema version 1. Times are Unix milliseconds (UTC).
-- One text for both databases: the identity-column placeholder becomes
-- `INTEGER PRIMARY KEY AUTOINCREMENT` on SQLite and `BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY
-- KEY` on PostgreSQL, the bytes placeholder `BLOB` or `BYTEA` (see src/store.rs).

-- One row per (provider, merchant reference): the order's payment, recorded before the
-- provider is called so that a reference is created at most once.
CREATE TABLE ledger_payments (
    id                  {id},
    provider            TEXT    NOT NULL,
    reference           TEXT    NOT NULL,
    amount_minor        BIGINT NOT NULL,
    currency            TEXT    NOT NULL,
    -- creating | retryable | unknown | created | needs_review
    creation            TEXT    NOT NULL,
    creation_error      TEXT,
    provider_payment_id TEXT,
    checkout            TEXT,
    status              TEXT    NOT NULL,
    raw_status          TEXT,
    authenticity        TEXT,
    review_reason       TEXT,
    expires_at          BIGINT,
    next_check_at       BIGINT,
    checks              BIGINT NOT NULL DEFAULT 0,
    last_checked_at     BIGINT,
    lease_owner         TEXT,
    lease_until         BIGINT,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    UNIQUE (provider, reference)
);
CREATE UNIQUE INDEX ledger_payments_provider_id
    ON ledger_payments (provider, provider_payment_id) WHERE provider_payment_id IS NOT NULL;
CREATE INDEX ledger_payments_due
    ON ledger_payments (next_check_at) WHERE next_check_at IS NOT NULL;
CREATE INDEX ledger_payments_review
    ON ledger_payments (review_reason) WHERE review_reason IS NOT NULL;

-- Every verified webhook, under its de-duplication key, stored in the same transaction that
-- applies it.
CREATE TABLE ledger_events (
    id                  {id},
    provider            TEXT    NOT NULL,
    dedup_key           TEXT    NOT NULL UNIQUE,
    event_type          TEXT,
    provider_payment_id TEXT,
    status              TEXT,
    raw_status          TEXT,
    authenticity        TEXT    NOT NULL,
    occurred_at         BIGINT,
    received_at         BIGINT NOT NULL,
    body                {bytes} NOT NULL,
    -- applied | orphan | no_payment | fetch_requested
    disposition         TEXT    NOT NULL
);
CREATE INDEX ledger_events_orphans
    ON ledger_events (provider, provider_payment_id) WHERE disposition = 'orphan';

-- What happened to each payment, in order: every observation, applied or not. A row that is a
-- change the merchant must hear of (a new status, a reason for review) is also the outbox entry
-- of its notification: `notify` is pending until the handler accepts it, then delivered, or
-- dead after too many failures.
CREATE TABLE ledger_history (
    id              {id},
    payment_id      BIGINT NOT NULL REFERENCES ledger_payments (id),
    source          TEXT    NOT NULL,
    event_id        BIGINT REFERENCES ledger_events (id),
    raw_status      TEXT,
    status          TEXT,
    authenticity    TEXT,
    verdict         TEXT    NOT NULL,
    status_before   TEXT    NOT NULL,
    status_after    TEXT    NOT NULL,
    note            TEXT,
    at              BIGINT NOT NULL,
    -- pending | delivered | dead; NULL when there is nothing to tell the merchant
    notify          TEXT,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    last_error      TEXT,
    lease_owner     TEXT,
    lease_until     BIGINT,
    delivered_at    BIGINT
);
CREATE INDEX ledger_history_payment ON ledger_history (payment_id, id);
CREATE INDEX ledger_history_to_notify
    ON ledger_history (payment_id, id) WHERE notify = 'pending';
CREATE INDEX ledger_history_dead ON ledger_history (id) WHERE notify = 'dead';

-- Webhooks refused by verification: a bounded log (nothing of the body is kept).
CREATE TABLE ledger_rejections (
    id          {id},
    provider    TEXT    NOT NULL,
    http_status BIGINT NOT NULL,
    reason      TEXT    NOT NULL,
    at          BIGINT NOT NULL
);
