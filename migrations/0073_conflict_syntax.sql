-- Recovery from an undecodable instance (issue 11): a differing copy kept
-- under .conflicts may replace the indexed one when it decodes and the
-- first does not; its transfer syntax then becomes the instance's.
ALTER TABLE instance_conflicts ADD COLUMN transfer_syntax_uid text NOT NULL DEFAULT '';
