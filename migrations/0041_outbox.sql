-- Durable outbox of results going out (ORU^R01 to the RIS over MLLP). A row
-- is written in the transaction that signs or amends a report; the sender
-- loop (server/results.go) delivers it with retries and backoff. The payload
-- is built at send time from the report version the row names.
CREATE TABLE outbox (
    id              bigserial PRIMARY KEY,
    kind            text NOT NULL,            -- oru
    report_id       uuid NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    version         integer NOT NULL,         -- the report version to send
    study_uid       text NOT NULL,
    -- pending -> sent | failed (gave up after max attempts)
    state           text NOT NULL DEFAULT 'pending',
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text NOT NULL DEFAULT '',  -- never PHI: transport errors only
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz
);
CREATE INDEX outbox_due_idx ON outbox (next_attempt_at) WHERE state = 'pending';
