-- Core schema: what DICOM ingest writes and every later stage reads.
-- Studies, series and instances are keyed by their DICOM UIDs; the study row
-- also carries the drafting state machine (see drafts/studies.go).

CREATE TABLE studies (
    study_uid            text PRIMARY KEY,
    accession_number     text NOT NULL DEFAULT '',
    patient_id           text NOT NULL DEFAULT '',
    patient_name         text NOT NULL DEFAULT '',
    patient_birth_date   text NOT NULL DEFAULT '',
    patient_sex          text NOT NULL DEFAULT '',
    study_date           date,
    study_time           text NOT NULL DEFAULT '',
    study_description    text NOT NULL DEFAULT '',
    referring_physician  text NOT NULL DEFAULT '',
    -- indication found inside the DICOM headers (used when no order exists)
    dicom_indication        text NOT NULL DEFAULT '',
    dicom_indication_source text NOT NULL DEFAULT '',
    -- receiving -> settled -> (needs_view | ready) -> drafting -> drafted | draft_failed
    state                text NOT NULL DEFAULT 'receiving',
    state_reason         text NOT NULL DEFAULT '',
    frontal_sop_instance_uid text,
    view_reason          text NOT NULL DEFAULT '',
    instance_count       integer NOT NULL DEFAULT 0,
    first_received_at    timestamptz NOT NULL DEFAULT now(),
    last_received_at     timestamptz NOT NULL DEFAULT now(),
    settled_at           timestamptz,
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX studies_accession_idx ON studies (accession_number) WHERE accession_number <> '';
CREATE INDEX studies_state_idx ON studies (state, last_received_at);

CREATE TABLE series (
    series_uid           text PRIMARY KEY,
    study_uid            text NOT NULL REFERENCES studies(study_uid) ON DELETE CASCADE,
    modality             text NOT NULL DEFAULT '',
    series_number        text NOT NULL DEFAULT '',
    series_description   text NOT NULL DEFAULT '',
    body_part            text NOT NULL DEFAULT '',
    created_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX series_study_idx ON series (study_uid);

CREATE TABLE instances (
    sop_instance_uid     text PRIMARY KEY,
    sop_class_uid        text NOT NULL,
    series_uid           text NOT NULL REFERENCES series(series_uid) ON DELETE CASCADE,
    study_uid            text NOT NULL REFERENCES studies(study_uid) ON DELETE CASCADE,
    instance_number      text NOT NULL DEFAULT '',
    transfer_syntax_uid  text NOT NULL,
    -- path relative to RADRAFT_STORAGE_DIR
    path                 text NOT NULL,
    file_size            bigint NOT NULL,
    dataset_size         bigint NOT NULL,
    sha256               text NOT NULL,
    calling_ae           text NOT NULL DEFAULT '',
    view_position        text NOT NULL DEFAULT '',
    view_code            text NOT NULL DEFAULT '',
    image_laterality     text NOT NULL DEFAULT '',
    photometric          text NOT NULL DEFAULT '',
    rows_                integer NOT NULL DEFAULT 0,
    columns_             integer NOT NULL DEFAULT 0,
    received_at          timestamptz NOT NULL DEFAULT now(),
    -- how many times an identical copy was received again (idempotent re-send)
    duplicate_count      integer NOT NULL DEFAULT 0
);
CREATE INDEX instances_study_idx ON instances (study_uid);
CREATE INDEX instances_series_idx ON instances (series_uid);

-- A differing second copy of an already stored SOP Instance UID is kept
-- (never silently dropped, never overwriting the first) for an admin to look at.
CREATE TABLE instance_conflicts (
    id                   bigserial PRIMARY KEY,
    sop_instance_uid     text NOT NULL,
    path                 text NOT NULL,
    sha256               text NOT NULL,
    file_size            bigint NOT NULL,
    calling_ae           text NOT NULL DEFAULT '',
    received_at          timestamptz NOT NULL DEFAULT now()
);

-- Append-only audit trail. PHI is referenced (study UID, report id), never copied.
CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text NOT NULL,          -- username, "dicom:<AE>", "hl7:<app>", "system"
    action      text NOT NULL,          -- e.g. study.view, report.edit, report.sign
    study_uid   text,
    object_ref  text NOT NULL DEFAULT '',
    remote_addr text NOT NULL DEFAULT '',
    detail      jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_at_idx ON audit_log (at);
CREATE INDEX audit_log_study_idx ON audit_log (study_uid);
