-- A study's draft generation (issue 11): every person's request for a new
-- draft (re-draft, frontal choice) bumps it and queues a draft_study job
-- carrying the new value, in the same transaction. A job whose generation
-- is behind the study's was superseded: it stops and writes nothing, and
-- the newer job (always inserted, being unique per study and generation)
-- drafts. This replaces reliance on River's uniqueness alone, which skipped
-- the new job while an old one, already finished, was still marked running.
ALTER TABLE studies ADD COLUMN draft_generation bigint NOT NULL DEFAULT 0;
