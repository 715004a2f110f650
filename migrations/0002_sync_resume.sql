-- Incremental sync (issue 4): where an interrupted listing pass resumes.
--
-- sync_resume is operational (not audited): one row per repo and stream while
-- a listing pass is in progress, written in the same transaction as each page,
-- so a crash resumes at the first uncommitted page instead of from zero.
-- state_json holds the pass's position (next URL or keyset `since`, the cursor
-- the pass will commit, the import window).
CREATE TABLE sync_resume (
    repo_id     INTEGER NOT NULL,
    stream      TEXT NOT NULL CHECK (stream IN ('issues', 'prs')),
    state_json  TEXT NOT NULL,
    PRIMARY KEY (repo_id, stream)
);
