-- The worklist status of a study (drafts/worklist.go), kept on the study row
-- by triggers so that a status filter is an index range scan in worklist
-- order: the report's state when the study has a report (drafted = AI draft
-- untouched, edited, signed, amended), else the study's drafting state.
ALTER TABLE studies ADD COLUMN worklist_status text NOT NULL DEFAULT 'receiving';

CREATE FUNCTION radraft_worklist_status(p_state text, p_study_uid text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT COALESCE((
        SELECT CASE WHEN r.status = 'draft' AND r.current_version IS NOT DISTINCT FROM r.ai_version THEN 'drafted'
                    WHEN r.status = 'draft' THEN 'edited'
                    ELSE r.status END
        FROM reports r WHERE r.study_uid = p_study_uid), p_state)
$$;

CREATE FUNCTION radraft_studies_worklist_status() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.worklist_status := radraft_worklist_status(NEW.state, NEW.study_uid);
    RETURN NEW;
END
$$;
CREATE TRIGGER studies_worklist_status BEFORE INSERT OR UPDATE ON studies
    FOR EACH ROW EXECUTE FUNCTION radraft_studies_worklist_status();

CREATE FUNCTION radraft_reports_worklist_status() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- The studies trigger recomputes the value from the report row.
    UPDATE studies SET worklist_status = radraft_worklist_status(state, study_uid)
     WHERE study_uid = NEW.study_uid
       AND worklist_status IS DISTINCT FROM radraft_worklist_status(state, study_uid);
    RETURN NULL;
END
$$;
CREATE TRIGGER reports_worklist_status AFTER INSERT OR UPDATE OF status, current_version, ai_version ON reports
    FOR EACH ROW EXECUTE FUNCTION radraft_reports_worklist_status();

UPDATE studies SET worklist_status = radraft_worklist_status(state, study_uid);

CREATE INDEX studies_wl_status_date_idx ON studies (worklist_status, (COALESCE(study_date, DATE '0001-01-01')), study_uid);
CREATE INDEX studies_wl_status_received_idx ON studies (worklist_status, last_received_at, study_uid);

-- Accession numbers and MRNs are identifiers typed from their start: match
-- them by case-insensitive prefix (btree), which stays selective where
-- trigrams of sequential numbers ("000") are not. Names keep the trigram
-- index (substring search).
DROP INDEX studies_accession_trgm_idx;
DROP INDEX studies_patient_id_trgm_idx;
DROP INDEX studies_accession_prefix_idx;
DROP INDEX studies_patient_id_prefix_idx;
CREATE INDEX studies_accession_lower_prefix_idx ON studies (lower(accession_number) text_pattern_ops);
CREATE INDEX studies_patient_id_lower_prefix_idx ON studies (lower(patient_id) text_pattern_ops);
