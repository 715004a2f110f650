-- v7 foundation schema: workspaces, the repo registry, sync state and the
-- GitHub cache, the append-only audit log, and the operational rows the
-- worker needs. Projected tables (workspaces, repos, repo_sync_state,
-- repo_counts) are written only by pmbot.control_plane.audit projections.

-- Audit log: INSERT only. seq is the replay order; hash chains each event
-- to the previous one (see pmbot/control_plane/audit/events.py).
CREATE TABLE audit_events (
    seq           INTEGER PRIMARY KEY,
    event_id      TEXT NOT NULL UNIQUE,
    occurred_at   TEXT NOT NULL,
    type          TEXT NOT NULL,
    aggregate     TEXT NOT NULL,
    aggregate_id  TEXT NOT NULL,
    actor         TEXT NOT NULL,
    payload_json  TEXT NOT NULL,
    prev_hash     TEXT NOT NULL,
    hash          TEXT NOT NULL
);
CREATE INDEX audit_events_aggregate ON audit_events (aggregate, aggregate_id, seq);
CREATE INDEX audit_events_type ON audit_events (type, seq);

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only: UPDATE is not allowed');
END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only: DELETE is not allowed');
END;

-- Projection: workspaces.
CREATE TABLE workspaces (
    workspace_id   INTEGER PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    created_at     TEXT NOT NULL,
    settings_json  TEXT NOT NULL DEFAULT '{}'
);

-- Projection: the repo registry. status is 'new' (never synced or reset),
-- 'ok' (last sync succeeded) or 'error' (last sync failed; see last_error).
-- The live status shown to the operator (importing, syncing, rate_limited)
-- combines this with the operational rows in repo_schedule.
CREATE TABLE repos (
    repo_id         INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id    INTEGER NOT NULL REFERENCES workspaces (workspace_id),
    full_name       TEXT NOT NULL,
    default_branch  TEXT,
    status          TEXT NOT NULL DEFAULT 'new'
                    CHECK (status IN ('new', 'ok', 'error')),
    added_at        TEXT NOT NULL,
    last_sync_at    TEXT,
    last_error      TEXT,
    last_error_code TEXT,
    changed_at      TEXT NOT NULL
);
CREATE UNIQUE INDEX repos_full_name ON repos (workspace_id, full_name COLLATE NOCASE);

-- Projection: per-repo cursors. A cursor is the greatest updated_at seen in
-- GitHub's own data for that stream (never the local clock).
CREATE TABLE repo_sync_state (
    repo_id            INTEGER PRIMARY KEY REFERENCES repos (repo_id),
    issues_cursor      TEXT,
    prs_cursor         TEXT,
    last_seen_event_at TEXT,
    last_sync_at       TEXT,
    last_error         TEXT
);

-- Projection: per-repo cache counts, kept exact by the count deltas that
-- sync.page_committed / sync.reconciled events carry.
CREATE TABLE repo_counts (
    repo_id        INTEGER PRIMARY KEY REFERENCES repos (repo_id),
    issues_open    INTEGER NOT NULL DEFAULT 0,
    issues_closed  INTEGER NOT NULL DEFAULT 0,
    prs_open       INTEGER NOT NULL DEFAULT 0,
    prs_closed     INTEGER NOT NULL DEFAULT 0
);

-- Cache: GitHub issues (not PRs). payload_json is the raw issue object;
-- the columns hold what lists, filters and sorting need. Rowid tables: rows
-- carry 5–20 KB payloads, too large for WITHOUT ROWID to pay off.
CREATE TABLE github_issues (
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
    gone          TEXT CHECK (gone IN ('deleted', 'transferred')),
    moved_to      TEXT,
    payload_json  TEXT NOT NULL,
    PRIMARY KEY (repo_id, issue_number)
);
CREATE INDEX github_issues_updated ON github_issues (repo_id, state, updated_at, issue_number);
CREATE INDEX github_issues_created ON github_issues (repo_id, state, created_at, issue_number);

-- Cache: pull requests. State, title, labels and comments come from the
-- issues stream; draft/merged_at/head/base from /pulls (payload_json is the
-- /pulls object once fetched, else the issue view).
CREATE TABLE github_pull_requests (
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
    gone          TEXT CHECK (gone IN ('deleted', 'transferred')),
    moved_to      TEXT,
    payload_json  TEXT NOT NULL,
    -- updated_at of the item version whose /pulls details are cached; NULL or
    -- older than updated_at means the next /pulls pass fetches them again.
    details_updated_at TEXT,
    PRIMARY KEY (repo_id, pr_number)
);
CREATE INDEX github_pull_requests_updated ON github_pull_requests (repo_id, state, updated_at, pr_number);
CREATE INDEX github_pull_requests_created ON github_pull_requests (repo_id, state, created_at, pr_number);

-- Full-text index over cached titles and bodies (kept in step by the code
-- that writes the cache tables). kind is 'issue' or 'pr'.
CREATE VIRTUAL TABLE cache_search USING fts5 (
    title, body,
    repo_id UNINDEXED, kind UNINDEXED, number UNINDEXED,
    tokenize = 'unicode61 remove_diacritics 2'
);

-- Operational (not audited): conditional-request validators per URL. They
-- are written in the same transaction as the page they validate, so a 304
-- can never stand for data that was not committed.
CREATE TABLE http_cache (
    url            TEXT PRIMARY KEY,
    repo_id        INTEGER,
    etag           TEXT,
    last_modified  TEXT,
    updated_at     TEXT NOT NULL
);
CREATE INDEX http_cache_repo ON http_cache (repo_id);

-- Operational: "sync now" requests, consumed by any worker process.
CREATE TABLE sync_requests (
    request_id    INTEGER PRIMARY KEY,
    repo_id       INTEGER NOT NULL,
    requested_at  TEXT NOT NULL,
    reconcile     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sync_requests_repo ON sync_requests (repo_id);

-- Operational: scheduling, lease and live progress per repo.
CREATE TABLE repo_schedule (
    repo_id           INTEGER PRIMARY KEY,
    next_sync_at      TEXT,
    last_checked_at   TEXT,
    next_reconcile_at TEXT,
    failures          INTEGER NOT NULL DEFAULT 0,
    lease_owner       TEXT,
    lease_expires_at  TEXT,
    progress_items    INTEGER,
    progress_pages    INTEGER,
    progress_requests INTEGER
);

-- Operational: single-row facts about GitHub as last seen by any process.
CREATE TABLE github_status (
    id                   INTEGER PRIMARY KEY CHECK (id = 1),
    last_request_at      TEXT,
    last_request_ok      INTEGER,
    last_error           TEXT,
    rate_limit_remaining INTEGER,
    rate_limit_limit     INTEGER,
    rate_limit_reset_at  TEXT,
    rate_limit_resource  TEXT
);

-- Operational: worker heartbeats for `pmbot worker --check`.
CREATE TABLE worker_heartbeats (
    worker_id   TEXT PRIMARY KEY,
    pid         INTEGER NOT NULL,
    started_at  TEXT NOT NULL,
    beat_at     TEXT NOT NULL
);
