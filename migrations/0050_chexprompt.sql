-- CheXprompt evaluations and QA flags (chexprompt/, drafts/evaluations.go,
-- drafts/qa.go). One evaluation per report and (candidate, reference) version
-- pair: the candidate is the AI draft, the reference the signed (or amended)
-- version. Counts are columns so that QA metrics are plain SQL; the full
-- result (errors with their sentences, the split texts) is kept as JSON. The
-- result and raw judge answer quote report text: PHI, like report_versions.

CREATE TABLE evaluations (
    id                 bigserial PRIMARY KEY,
    report_id          uuid NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    study_uid          text NOT NULL,
    candidate_version  integer NOT NULL,
    reference_version  integer NOT NULL,
    -- the AI draft's provenance (for metrics per model version)
    model_name         text NOT NULL DEFAULT '',
    model_version      text NOT NULL DEFAULT '',
    -- what scored it: engine offline|llm, the judge model or rule set, a note
    engine             text NOT NULL,
    judge_model        text NOT NULL DEFAULT '',
    note               text NOT NULL DEFAULT '',
    sig_false_positive_finding      integer NOT NULL DEFAULT 0,
    sig_omission_finding            integer NOT NULL DEFAULT 0,
    sig_incorrect_location          integer NOT NULL DEFAULT 0,
    sig_incorrect_severity          integer NOT NULL DEFAULT 0,
    sig_false_positive_comparison   integer NOT NULL DEFAULT 0,
    sig_omission_comparison         integer NOT NULL DEFAULT 0,
    insig_false_positive_finding    integer NOT NULL DEFAULT 0,
    insig_omission_finding          integer NOT NULL DEFAULT 0,
    insig_incorrect_location        integer NOT NULL DEFAULT 0,
    insig_incorrect_severity        integer NOT NULL DEFAULT 0,
    insig_false_positive_comparison integer NOT NULL DEFAULT 0,
    insig_omission_comparison       integer NOT NULL DEFAULT 0,
    significant_total integer GENERATED ALWAYS AS (sig_false_positive_finding + sig_omission_finding
        + sig_incorrect_location + sig_incorrect_severity + sig_false_positive_comparison + sig_omission_comparison) STORED,
    insignificant_total integer GENERATED ALWAYS AS (insig_false_positive_finding + insig_omission_finding
        + insig_incorrect_location + insig_incorrect_severity + insig_false_positive_comparison + insig_omission_comparison) STORED,
    result             jsonb NOT NULL DEFAULT '{}'::jsonb,
    raw                text NOT NULL DEFAULT '',
    -- when the reference version was written (signing time): the week of metrics
    reference_at       timestamptz NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (report_id, candidate_version, reference_version)
);
CREATE INDEX evaluations_reference_at_idx ON evaluations (reference_at);
CREATE INDEX evaluations_model_idx ON evaluations (model_version, reference_at);

-- A QA flag: an evaluation with at least one clinically significant error.
CREATE TABLE qa_flags (
    id              bigserial PRIMARY KEY,
    evaluation_id   bigint NOT NULL UNIQUE REFERENCES evaluations(id) ON DELETE CASCADE,
    report_id       uuid NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    study_uid       text NOT NULL,
    -- open, dispositioned
    status          text NOT NULL DEFAULT 'open',
    disposition     text CHECK (disposition IN ('model_error_confirmed', 'acceptable', 'judge_wrong')),
    note            text NOT NULL DEFAULT '',
    disposed_by     text,
    disposed_at     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX qa_flags_status_idx ON qa_flags (status, created_at);
CREATE INDEX qa_flags_report_idx ON qa_flags (report_id);
