-- Inference: when a study's latest AI draft was stored, and an index for the
-- QA filters by model version.
ALTER TABLE studies ADD COLUMN drafted_at timestamptz;
CREATE INDEX report_versions_model_idx ON report_versions (model_name, model_version) WHERE kind = 'ai_draft';
