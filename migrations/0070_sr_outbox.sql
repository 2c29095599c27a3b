-- DICOM SR results (issue 14): the outbox also carries Structured Reports,
-- one row per SR and destination (kind 'sr' for signed and amended reports,
-- 'sr_draft' for the optional preliminary AI draft). destination is the
-- Storage SCP as configured (AET@host:port); '' for ORU rows.
ALTER TABLE outbox ADD COLUMN destination text NOT NULL DEFAULT '';
CREATE INDEX outbox_report_idx ON outbox (report_id, kind, destination) WHERE state = 'pending';
