-- Indexes for the worklist (drafts/worklist.go): keyset pagination on
-- (study date, study UID) and (last received, study UID), scanned forwards
-- or backwards; trigram GIN indexes for the case-insensitive substring
-- search on accession, MRN and patient name (ILIKE '%x%' uses them from 3
-- characters on; shorter terms use the prefix btree indexes below).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX studies_worklist_date_idx ON studies ((COALESCE(study_date, DATE '0001-01-01')), study_uid);
CREATE INDEX studies_worklist_received_idx ON studies (last_received_at, study_uid);
CREATE INDEX studies_accession_trgm_idx ON studies USING gin (accession_number gin_trgm_ops);
CREATE INDEX studies_patient_id_trgm_idx ON studies USING gin (patient_id gin_trgm_ops);
CREATE INDEX studies_patient_name_trgm_idx ON studies USING gin (lower(patient_name) gin_trgm_ops);
CREATE INDEX studies_patient_id_prefix_idx ON studies (patient_id text_pattern_ops);
CREATE INDEX studies_accession_prefix_idx ON studies (accession_number text_pattern_ops);
