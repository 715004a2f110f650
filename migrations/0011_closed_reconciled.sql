-- Issue 11 item 5: when each repo's cached closed items were last reconciled
-- (GitHub's Date of that reconciliation), so the `state=all` listing of the
-- cached closed range runs every PMBOT_RECONCILE_CLOSED_DAYS, not daily.
-- Operational (not audited), owned by cache/store.py; a cache reset drops the row.
CREATE TABLE closed_reconciled (
    repo_id        INTEGER PRIMARY KEY,
    reconciled_at  TEXT NOT NULL
);
