-- The order a study matched, kept on the study row (drafts/worklist.go): its
-- accession, MRN and patient name are shown and searched beside the DICOM
-- ones, and a cancelled order (ORC-1 CA, ...) shows in the worklist as the
-- status 'cancelled' until the report is signed. Kept by triggers on both
-- tables, so every writer (HL7, ingest, tests) leaves them true.
ALTER TABLE studies
    ADD COLUMN order_id               bigint,
    ADD COLUMN order_accession_number text NOT NULL DEFAULT '',
    ADD COLUMN order_patient_id       text NOT NULL DEFAULT '',
    ADD COLUMN order_patient_name     text NOT NULL DEFAULT '',
    ADD COLUMN order_cancelled        boolean NOT NULL DEFAULT false;

-- A corrected or cancelled order is found by its order numbers when its
-- accession changed; a study drafted without an indication is checked
-- against the patient's orders.
CREATE INDEX orders_placer_idx ON orders (placer_order_number) WHERE placer_order_number <> '';
CREATE INDEX orders_filler_idx ON orders (filler_order_number) WHERE filler_order_number <> '';
CREATE INDEX orders_patient_id_idx ON orders (patient_id) WHERE patient_id <> '';
CREATE INDEX orders_received_idx ON orders (received_at);
CREATE INDEX studies_order_accession_lower_prefix_idx ON studies (lower(order_accession_number) text_pattern_ops);
CREATE INDEX studies_order_patient_id_lower_prefix_idx ON studies (lower(order_patient_id) text_pattern_ops);
CREATE INDEX studies_order_patient_name_trgm_idx ON studies USING gin (lower(order_patient_name) gin_trgm_ops);

-- The order of a study: by accession first, then by Study Instance UID; a
-- live order before a cancelled one; the newest first (as OrderForStudy).
CREATE FUNCTION radraft_study_order(p_study_uid text, p_accession text) RETURNS orders
LANGUAGE sql STABLE AS $$
    SELECT (m.o).* FROM (
        SELECT o, 0 AS pri FROM orders o WHERE p_accession <> '' AND o.accession_number = p_accession AND o.accession_number <> ''
        UNION ALL
        SELECT o, 1 AS pri FROM orders o WHERE o.study_uid = p_study_uid AND o.study_uid <> ''
    ) m ORDER BY m.pri, (m.o).cancelled, (m.o).updated_at DESC LIMIT 1
$$;

CREATE FUNCTION radraft_studies_order_match() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    o orders;
BEGIN
    o := radraft_study_order(NEW.study_uid, NEW.accession_number);
    NEW.order_id := o.id;
    NEW.order_accession_number := COALESCE(o.accession_number, '');
    NEW.order_patient_id := COALESCE(o.patient_id, '');
    NEW.order_patient_name := COALESCE(o.patient_name, '');
    NEW.order_cancelled := COALESCE(o.cancelled, false);
    RETURN NEW;
END
$$;
-- Named to sort before studies_worklist_status: BEFORE triggers run in name
-- order, and the status reads order_cancelled.
CREATE TRIGGER studies_order_match BEFORE INSERT OR UPDATE OF accession_number, study_uid ON studies
    FOR EACH ROW EXECUTE FUNCTION radraft_studies_order_match();

CREATE FUNCTION radraft_orders_study_match() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- Studies of the order's identifiers, new and old (an XO may correct
    -- the accession): recompute which order each has.
    UPDATE studies st SET (order_id, order_accession_number, order_patient_id, order_patient_name, order_cancelled) =
        (SELECT m.id, COALESCE(m.accession_number, ''), COALESCE(m.patient_id, ''), COALESCE(m.patient_name, ''),
                COALESCE(m.cancelled, false)
         FROM radraft_study_order(st.study_uid, st.accession_number) m)
    WHERE (st.accession_number <> '' AND st.accession_number IN (NEW.accession_number, COALESCE(OLD.accession_number, '')))
       OR (st.study_uid <> '' AND st.study_uid IN (NEW.study_uid, COALESCE(OLD.study_uid, '')));
    RETURN NULL;
END
$$;
CREATE TRIGGER orders_study_match AFTER INSERT OR UPDATE ON orders
    FOR EACH ROW EXECUTE FUNCTION radraft_orders_study_match();

-- The worklist status (0044) with the cancellation: an unsigned study whose
-- order was cancelled reads 'cancelled'.
CREATE FUNCTION radraft_study_worklist_status(p_state text, p_study_uid text, p_cancelled boolean) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN p_cancelled AND s NOT IN ('signed', 'amended') THEN 'cancelled' ELSE s END
    FROM radraft_worklist_status(p_state, p_study_uid) s
$$;

CREATE OR REPLACE FUNCTION radraft_studies_worklist_status() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.worklist_status := radraft_study_worklist_status(NEW.state, NEW.study_uid, NEW.order_cancelled);
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION radraft_reports_worklist_status() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE studies SET worklist_status = radraft_study_worklist_status(state, study_uid, order_cancelled)
     WHERE study_uid = NEW.study_uid
       AND worklist_status IS DISTINCT FROM radraft_study_worklist_status(state, study_uid, order_cancelled);
    RETURN NULL;
END
$$;

UPDATE studies st SET (order_id, order_accession_number, order_patient_id, order_patient_name, order_cancelled) =
    (SELECT m.id, COALESCE(m.accession_number, ''), COALESCE(m.patient_id, ''), COALESCE(m.patient_name, ''),
            COALESCE(m.cancelled, false)
     FROM radraft_study_order(st.study_uid, st.accession_number) m);
