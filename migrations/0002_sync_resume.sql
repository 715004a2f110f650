-- Incremental sync (issue 4): where an interrupted pass resumes, and how fresh
-- each cached PR's /pulls details are.
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

-- The updated_at of the item version whose /pulls details (draft, merged_at,
-- head/base ref, payload) are cached; NULL or older than updated_at means the
-- details are stale and the next /pulls pass must fetch them.
ALTER TABLE github_pull_requests ADD COLUMN details_updated_at TEXT;
