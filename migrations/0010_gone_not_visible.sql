-- Issue 11 item 6: a 404 on a cached item is not proof of a transfer. GitHub
-- answers 404 for an item that was deleted, transferred to a repository the
-- token cannot see, or whose repository the token lost access to; the
-- reconciliation now records that as gone = 'not_visible'.
--
-- SQLite cannot widen a CHECK in place: each item table is rebuilt with the
-- widened CHECK, its rows copied with their rowids, and its indexes recreated
-- as they were (neither table has triggers, and no table references them).
CREATE TABLE github_issues_0010 (
    repo_id       INTEGER NOT NULL REFERENCES repos (repo_id),
    issue_number  INTEGER NOT NULL,
    state         TEXT NOT NULL,
    title         TEXT NOT NULL,
    user_login    TEXT,
    labels_json   TEXT NOT NULL DEFAULT '[]',
    comments      INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    closed_at     TEXT,
    html_url      TEXT NOT NULL,
    gone          TEXT CHECK (gone IN ('deleted', 'transferred', 'not_visible')),
    moved_to      TEXT,
    payload_json  TEXT NOT NULL,
    PRIMARY KEY (repo_id, issue_number)
);
INSERT INTO github_issues_0010 (
    rowid, repo_id, issue_number, state, title, user_login, labels_json, comments,
    created_at, updated_at, closed_at, html_url, gone, moved_to, payload_json
)
SELECT rowid, repo_id, issue_number, state, title, user_login, labels_json, comments,
       created_at, updated_at, closed_at, html_url, gone, moved_to, payload_json
FROM github_issues;
DROP TABLE github_issues;
ALTER TABLE github_issues_0010 RENAME TO github_issues;
CREATE INDEX github_issues_updated ON github_issues (repo_id, state, updated_at, issue_number);
CREATE INDEX github_issues_created ON github_issues (repo_id, state, created_at, issue_number);

CREATE TABLE github_pull_requests_0010 (
    repo_id       INTEGER NOT NULL REFERENCES repos (repo_id),
    pr_number     INTEGER NOT NULL,
    state         TEXT NOT NULL,
    title         TEXT NOT NULL,
    user_login    TEXT,
    labels_json   TEXT NOT NULL DEFAULT '[]',
    comments      INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    closed_at     TEXT,
    html_url      TEXT NOT NULL,
    draft         INTEGER,
    merged_at     TEXT,
    head_ref      TEXT,
    base_ref      TEXT,
    gone          TEXT CHECK (gone IN ('deleted', 'transferred', 'not_visible')),
    moved_to      TEXT,
    payload_json  TEXT NOT NULL,
    -- updated_at of the item version whose /pulls details are cached; NULL or
    -- older than updated_at means the next /pulls pass fetches them again.
    details_updated_at TEXT,
    PRIMARY KEY (repo_id, pr_number)
);
INSERT INTO github_pull_requests_0010 (
    rowid, repo_id, pr_number, state, title, user_login, labels_json, comments, created_at,
    updated_at, closed_at, html_url, draft, merged_at, head_ref, base_ref, gone, moved_to,
    payload_json, details_updated_at
)
SELECT rowid, repo_id, pr_number, state, title, user_login, labels_json, comments, created_at,
       updated_at, closed_at, html_url, draft, merged_at, head_ref, base_ref, gone, moved_to,
       payload_json, details_updated_at
FROM github_pull_requests;
DROP TABLE github_pull_requests;
ALTER TABLE github_pull_requests_0010 RENAME TO github_pull_requests;
CREATE INDEX github_pull_requests_updated ON github_pull_requests (repo_id, state, updated_at, pr_number);
CREATE INDEX github_pull_requests_created ON github_pull_requests (repo_id, state, created_at, pr_number);
