-- Issue 13 ("truth at a glance"): two operational additions, neither audited.
--
-- The github_status row says whose facts it holds: the API base and a one-way
-- fingerprint of the token (never the token) the last exchange used, and how
-- GitHub judged that token (accepted / rejected, the login and the scopes it
-- named). A row written for another token or base is not shown as the current
-- one's: the banner once showed a rate limit left over from an earlier token.
-- Operational (not audited), like the rest of the row.
ALTER TABLE github_status ADD COLUMN api_base TEXT;
ALTER TABLE github_status ADD COLUMN token_fingerprint TEXT;
ALTER TABLE github_status ADD COLUMN token_state TEXT
    CHECK (token_state IN ('accepted', 'rejected'));
ALTER TABLE github_status ADD COLUMN token_login TEXT;
ALTER TABLE github_status ADD COLUMN token_scopes TEXT;
ALTER TABLE github_status ADD COLUMN token_checked_at TEXT;

-- Import progress (issue 13 item 5): the size estimate the sync reads from
-- GitHub's Link headers, and when the sync holding the lease started (the ETA).
-- Cleared with the lease, like the other progress columns.
ALTER TABLE repo_schedule ADD COLUMN progress_estimate INTEGER;
ALTER TABLE repo_schedule ADD COLUMN progress_started_at TEXT;
