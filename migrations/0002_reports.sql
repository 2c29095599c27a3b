-- Reports: one per study; every change of text is a new row in report_versions.
-- Version 1 is the AI draft (author 'ai'). A signed version is immutable; an
-- amendment is a newer version with a reason.

CREATE TABLE reports (
    id               uuid PRIMARY KEY,
    study_uid        text NOT NULL UNIQUE REFERENCES studies(study_uid) ON DELETE CASCADE,
    -- draft (AI draft only or being edited), signed, amended
    status           text NOT NULL DEFAULT 'draft',
    current_version  integer NOT NULL DEFAULT 0,
    ai_version       integer,            -- the version holding the latest AI draft
    signed_version   integer,
    signed_by        text,
    signed_at        timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reports_status_idx ON reports (status);

CREATE TABLE report_versions (
    report_id        uuid NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    version          integer NOT NULL,
    -- ai_draft, edit, sign, amend
    kind             text NOT NULL,
    author           text NOT NULL,      -- 'ai' or a username
    findings         text NOT NULL,
    reason           text NOT NULL DEFAULT '',
    -- AI provenance (kind = ai_draft)
    model_name       text NOT NULL DEFAULT '',
    model_version    text NOT NULL DEFAULT '',
    prompt           text NOT NULL DEFAULT '',
    indication       text NOT NULL DEFAULT '',
    indication_source text NOT NULL DEFAULT '',
    timings          jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (report_id, version)
);
