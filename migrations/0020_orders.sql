-- HL7 v2 orders (ORM^O01, OMI^O23) received over MLLP; see drafts/orders.go.
-- hl7_messages keeps every order message exactly as received (bytes), once per
-- (sending app, facility, control id, content): a re-sent message after a lost
-- ACK is recognised and not applied twice.
CREATE TABLE hl7_messages (
    id                  bigserial PRIMARY KEY,
    message_control_id  text NOT NULL,          -- MSH-10
    message_type        text NOT NULL,          -- MSH-9, e.g. ORM^O01
    sending_app         text NOT NULL DEFAULT '',  -- MSH-3
    sending_facility    text NOT NULL DEFAULT '',  -- MSH-4
    version_id          text NOT NULL DEFAULT '',  -- MSH-12
    raw_message         bytea NOT NULL,
    sha256              text NOT NULL,
    remote_addr         text NOT NULL DEFAULT '',
    received_at         timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX hl7_messages_dedup_key
    ON hl7_messages (sending_app, sending_facility, message_control_id, sha256);
CREATE INDEX hl7_messages_control_idx ON hl7_messages (message_control_id);

-- One row per order (an accession, or a Study Instance UID when the RIS sends
-- no accession), holding its current state; every message that touched it is
-- a row of order_events.
CREATE TABLE orders (
    id                   bigserial PRIMARY KEY,
    accession_number     text NOT NULL DEFAULT '',
    accession_source     text NOT NULL DEFAULT '',   -- IPC-1, OBR-18, OBR-3
    study_uid            text NOT NULL DEFAULT '',   -- IPC-3 or ZDS-1
    study_uid_source     text NOT NULL DEFAULT '',
    placer_order_number  text NOT NULL DEFAULT '',   -- ORC-2 / OBR-2
    filler_order_number  text NOT NULL DEFAULT '',   -- ORC-3 / OBR-3
    -- ORC-1 of the last message applied (NW, XO, CA, ...) and ORC-5
    order_control        text NOT NULL,
    order_status         text NOT NULL DEFAULT '',
    cancelled            boolean NOT NULL DEFAULT false,
    patient_id           text NOT NULL DEFAULT '',   -- PID-3.1
    patient_id_authority text NOT NULL DEFAULT '',   -- PID-3.4
    patient_name         text NOT NULL DEFAULT '',   -- PID-5 as DICOM PN (Family^Given^Middle^Prefix^Suffix)
    patient_birth_date   text NOT NULL DEFAULT '',   -- PID-7 YYYYMMDD
    patient_sex          text NOT NULL DEFAULT '',   -- PID-8
    procedure_code       text NOT NULL DEFAULT '',   -- OBR-4.1
    procedure_text       text NOT NULL DEFAULT '',   -- OBR-4.2
    modality             text NOT NULL DEFAULT '',   -- IPC-5 / OBR-24
    indication           text NOT NULL DEFAULT '',
    indication_source    text NOT NULL DEFAULT '',   -- hl7:OBR-31, hl7:OBR-13 or ''
    ordering_provider    text NOT NULL DEFAULT '',   -- ORC-12 / OBR-16 as PN
    message_control_id   text NOT NULL,              -- MSH-10 of the last message applied
    sending_app          text NOT NULL DEFAULT '',
    sending_facility     text NOT NULL DEFAULT '',
    last_message_id      bigint NOT NULL REFERENCES hl7_messages(id),
    raw_message          bytea NOT NULL,             -- the last message applied
    version              integer NOT NULL DEFAULT 1,
    received_at          timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CHECK (accession_number <> '' OR study_uid <> '')
);
CREATE UNIQUE INDEX orders_accession_key ON orders (accession_number) WHERE accession_number <> '';
CREATE INDEX orders_study_uid_idx ON orders (study_uid) WHERE study_uid <> '';

-- History: one row per message applied to an order, with the order's fields
-- as they were after it (jsonb snapshot), so an XO or CA can be traced back.
CREATE TABLE order_events (
    order_id        bigint NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    version         integer NOT NULL,
    message_id      bigint NOT NULL REFERENCES hl7_messages(id),
    order_control   text NOT NULL,
    snapshot        jsonb NOT NULL,
    at              timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (order_id, version)
);

-- draft_study jobs are found by study; River indexes args only with a GIN
-- index, so add one on the study UID for the order path.
CREATE INDEX river_job_draft_study_uid_idx ON river_job ((args->>'study_uid')) WHERE kind = 'draft_study';
