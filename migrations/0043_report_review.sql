-- Review state kept with each report version: the sentences the radiologist
-- accepted word for word (drafts/sentences.go), so that the AI marking
-- survives a reload and a second tab.
ALTER TABLE report_versions ADD COLUMN accepted_sentences jsonb NOT NULL DEFAULT '[]'::jsonb;
