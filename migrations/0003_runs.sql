-- Runs (issue 12): plans and runs, their interrupts and artifacts, and the
-- context packs taken from the cache. All four tables are projections of the
-- audit log (pmbot/control_plane/audit/run_projections.py), rebuilt exactly
-- by `pmbot audit rebuild`. No foreign key points at repos: a repo with only
-- finished runs can be removed and its runs keep their history (repo_id and
-- the name at plan time stay as recorded). Artifact bytes live in files under
-- <data dir>/artifacts/sha256/; rows keep only the pointer.

CREATE TABLE runs (
    run_id           TEXT PRIMARY KEY,
    repo_id          INTEGER NOT NULL,
    repo             TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('draft', 'approved', 'rejected',
                     'cancelled', 'running', 'waiting', 'completed', 'failed')),
    goal             TEXT NOT NULL,
    graph_id         TEXT NOT NULL,
    thread_id        TEXT,
    spec_json        TEXT NOT NULL,
    context_pack_id  TEXT,
    state_reason     TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX runs_created ON runs (created_at, run_id);
CREATE INDEX runs_repo ON runs (repo_id, state);

CREATE TABLE run_interrupts (
    interrupt_id   TEXT PRIMARY KEY,
    run_id         TEXT NOT NULL REFERENCES runs (run_id),
    thread_id      TEXT NOT NULL,
    kind           TEXT NOT NULL,
    risk           TEXT NOT NULL,
    payload_json   TEXT NOT NULL,
    status         TEXT NOT NULL,
    decision_json  TEXT,
    created_at     TEXT NOT NULL
);
CREATE INDEX run_interrupts_run ON run_interrupts (run_id, created_at);

CREATE TABLE run_artifacts (
    artifact_id    TEXT PRIMARY KEY,
    run_id         TEXT NOT NULL REFERENCES runs (run_id),
    kind           TEXT NOT NULL,
    uri            TEXT NOT NULL,
    sha256         TEXT NOT NULL,
    size_bytes     INTEGER NOT NULL,
    media_type     TEXT,
    metadata_json  TEXT NOT NULL DEFAULT '{}',
    created_at     TEXT NOT NULL
);
CREATE INDEX run_artifacts_run ON run_artifacts (run_id, created_at);

CREATE TABLE context_packs (
    pack_id     TEXT PRIMARY KEY,
    repo_id     INTEGER NOT NULL,
    sha256      TEXT NOT NULL,
    uri         TEXT NOT NULL,
    size_bytes  INTEGER NOT NULL,
    issues      INTEGER NOT NULL,
    prs         INTEGER NOT NULL,
    taken_at    TEXT NOT NULL
);
CREATE INDEX context_packs_repo ON context_packs (repo_id, taken_at);
