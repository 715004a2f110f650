-- Local git mirrors (issue 14): a bare mirror per repo under data/repos/.
--
-- repo_mirrors is a projection of the mirror.* events: the operator's per-repo
-- choice (`enabled`: 1 or 0; NULL follows PMBOT_MIRRORS), the GitHub id the
-- mirror is stored under, the last clone, the last fetch that changed refs and
-- the mirror's own last error (separate from the metadata sync's). A row exists
-- once any mirror event named the repo; `repo.removed` deletes it.
CREATE TABLE repo_mirrors (
    repo_id           INTEGER PRIMARY KEY REFERENCES repos (repo_id),
    enabled           INTEGER CHECK (enabled IN (0, 1)),
    github_id         INTEGER,
    cloned_at         TEXT,
    last_changed_at   TEXT,
    refs_changed      INTEGER,
    last_error        TEXT,
    last_error_code   TEXT,
    changed_at        TEXT NOT NULL
);

-- mirror_state is operational (not audited), written by the mirror thread:
-- the repository payload's id, clone URL and ETag (a conditional GET), every
-- fetch (no-change ones included), the sync marker the last fetch saw
-- (repo_sync_state.last_seen_event_at), size on disk, backoff and a lease so
-- that one git process at a time works on a repo across worker processes.
CREATE TABLE mirror_state (
    repo_id           INTEGER PRIMARY KEY,
    github_id         INTEGER,
    clone_url         TEXT,
    default_branch    TEXT,
    payload_etag      TEXT,
    last_fetch_at     TEXT,
    seen_marker       TEXT,
    size_bytes        INTEGER,
    failures          INTEGER NOT NULL DEFAULT 0,
    next_try_at       TEXT,
    lease_owner       TEXT,
    lease_expires_at  TEXT
);
