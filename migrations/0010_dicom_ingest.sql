-- DICOM ingest: conflicting copies are looked up by SOP Instance UID (an
-- administrator reviewing what a PACS re-sent differently).
CREATE INDEX instance_conflicts_sop_idx ON instance_conflicts (sop_instance_uid);
