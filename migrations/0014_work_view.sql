-- Issue 17, the Work view: every cached issue and PR across the tracked repos,
-- filtered and keyset-paged in milliseconds.
--
-- 1. Labels and assignees as side tables, so a filter never scans JSON. Kept by
--    SQL triggers on the two item tables, in the same transaction as any write,
--    whatever statement the write side uses (an upsert, INSERT OR REPLACE, INSERT
--    ... SELECT). Each trigger deletes the item's side rows before inserting
--    them: REPLACE fires no DELETE trigger (recursive_triggers is off), and no
--    statement in a trigger relies on a conflict clause the outer one could
--    override.
-- 2. item_versions: one row per item, its rowid (AUTOINCREMENT: never reused) a
--    new version on every write of a column the view filters or sorts on. A page
--    cursor carries the newest version when paging began; later pages leave out
--    items written since, so paging never shows an item twice and never skips
--    one that did not change (see cache/items.py).
-- 3. Partial indexes (rows not gone) over (state, sort key, repo_id, number) for
--    the cross-repo sorts, so a page is an index walk, not a sort of every row,
--    and over (state, repo_id) for the counts per repo.
--    Each side row repeats its item's state and whether it is live (not gone),
--    so a label's or an assignee's items of one state are one index range.
CREATE TABLE item_labels (
    repo_id  INTEGER NOT NULL,
    kind     TEXT NOT NULL CHECK (kind IN ('issue', 'pr')),
    number   INTEGER NOT NULL,
    label    TEXT NOT NULL,
    state    TEXT NOT NULL,
    live     INTEGER NOT NULL CHECK (live IN (0, 1)),
    PRIMARY KEY (repo_id, kind, number, label)
) WITHOUT ROWID;
CREATE INDEX item_labels_label ON item_labels (label, kind, state, live);

CREATE TABLE item_assignees (
    repo_id  INTEGER NOT NULL,
    kind     TEXT NOT NULL CHECK (kind IN ('issue', 'pr')),
    number   INTEGER NOT NULL,
    login    TEXT NOT NULL,
    state    TEXT NOT NULL,
    live     INTEGER NOT NULL CHECK (live IN (0, 1)),
    PRIMARY KEY (repo_id, kind, number, login)
) WITHOUT ROWID;
CREATE INDEX item_assignees_login ON item_assignees (login, kind, state, live);

CREATE TABLE item_versions (
    version  INTEGER PRIMARY KEY AUTOINCREMENT,
    repo_id  INTEGER NOT NULL,
    kind     TEXT NOT NULL CHECK (kind IN ('issue', 'pr')),
    number   INTEGER NOT NULL
);
CREATE UNIQUE INDEX item_versions_item ON item_versions (repo_id, kind, number);

-- Labels and assignees are stored as JSON arrays of names (cache/store.py writes
-- them from the item it already holds parsed), so a trigger never parses the
-- payload: reading `$.assignees` out of each payload cost ~15 % of an import.
ALTER TABLE github_issues ADD COLUMN assignees_json TEXT NOT NULL DEFAULT '[]';
ALTER TABLE github_pull_requests ADD COLUMN assignees_json TEXT NOT NULL DEFAULT '[]';
UPDATE github_issues SET assignees_json = (
    SELECT json_group_array(json_extract(value, '$.login')) FROM json_each(payload_json, '$.assignees')
    WHERE json_extract(value, '$.login') IS NOT NULL);
UPDATE github_pull_requests SET assignees_json = (
    SELECT json_group_array(json_extract(value, '$.login')) FROM json_each(payload_json, '$.assignees')
    WHERE json_extract(value, '$.login') IS NOT NULL);

CREATE TRIGGER github_issues_work_insert AFTER INSERT ON github_issues
BEGIN
    DELETE FROM item_labels WHERE repo_id = NEW.repo_id AND kind = 'issue' AND number = NEW.issue_number;
    DELETE FROM item_assignees WHERE repo_id = NEW.repo_id AND kind = 'issue' AND number = NEW.issue_number;
    DELETE FROM item_versions WHERE repo_id = NEW.repo_id AND kind = 'issue' AND number = NEW.issue_number;
    INSERT INTO item_labels (repo_id, kind, number, label, state, live)
        SELECT DISTINCT NEW.repo_id, 'issue', NEW.issue_number, value, NEW.state, NEW.gone IS NULL
        FROM json_each(NEW.labels_json) WHERE type = 'text';
    INSERT INTO item_assignees (repo_id, kind, number, login, state, live)
        SELECT DISTINCT NEW.repo_id, 'issue', NEW.issue_number, value, NEW.state, NEW.gone IS NULL
        FROM json_each(NEW.assignees_json) WHERE type = 'text';
    INSERT INTO item_versions (repo_id, kind, number) VALUES (NEW.repo_id, 'issue', NEW.issue_number);
END;

CREATE TRIGGER github_issues_work_update
AFTER UPDATE OF state, title, user_login, labels_json, assignees_json, comments, created_at,
    updated_at, gone, payload_json
ON github_issues
BEGIN
    DELETE FROM item_labels WHERE repo_id = OLD.repo_id AND kind = 'issue' AND number = OLD.issue_number;
    DELETE FROM item_assignees WHERE repo_id = OLD.repo_id AND kind = 'issue' AND number = OLD.issue_number;
    DELETE FROM item_versions WHERE repo_id = OLD.repo_id AND kind = 'issue' AND number = OLD.issue_number;
    INSERT INTO item_labels (repo_id, kind, number, label, state, live)
        SELECT DISTINCT NEW.repo_id, 'issue', NEW.issue_number, value, NEW.state, NEW.gone IS NULL
        FROM json_each(NEW.labels_json) WHERE type = 'text';
    INSERT INTO item_assignees (repo_id, kind, number, login, state, live)
        SELECT DISTINCT NEW.repo_id, 'issue', NEW.issue_number, value, NEW.state, NEW.gone IS NULL
        FROM json_each(NEW.assignees_json) WHERE type = 'text';
    INSERT INTO item_versions (repo_id, kind, number) VALUES (NEW.repo_id, 'issue', NEW.issue_number);
END;

CREATE TRIGGER github_issues_work_delete AFTER DELETE ON github_issues
BEGIN
    DELETE FROM item_labels WHERE repo_id = OLD.repo_id AND kind = 'issue' AND number = OLD.issue_number;
    DELETE FROM item_assignees WHERE repo_id = OLD.repo_id AND kind = 'issue' AND number = OLD.issue_number;
    DELETE FROM item_versions WHERE repo_id = OLD.repo_id AND kind = 'issue' AND number = OLD.issue_number;
END;

CREATE TRIGGER github_pull_requests_work_insert AFTER INSERT ON github_pull_requests
BEGIN
    DELETE FROM item_labels WHERE repo_id = NEW.repo_id AND kind = 'pr' AND number = NEW.pr_number;
    DELETE FROM item_assignees WHERE repo_id = NEW.repo_id AND kind = 'pr' AND number = NEW.pr_number;
    DELETE FROM item_versions WHERE repo_id = NEW.repo_id AND kind = 'pr' AND number = NEW.pr_number;
    INSERT INTO item_labels (repo_id, kind, number, label, state, live)
        SELECT DISTINCT NEW.repo_id, 'pr', NEW.pr_number, value, NEW.state, NEW.gone IS NULL
        FROM json_each(NEW.labels_json) WHERE type = 'text';
    INSERT INTO item_assignees (repo_id, kind, number, login, state, live)
        SELECT DISTINCT NEW.repo_id, 'pr', NEW.pr_number, value, NEW.state, NEW.gone IS NULL
        FROM json_each(NEW.assignees_json) WHERE type = 'text';
    INSERT INTO item_versions (repo_id, kind, number) VALUES (NEW.repo_id, 'pr', NEW.pr_number);
END;

CREATE TRIGGER github_pull_requests_work_update
AFTER UPDATE OF state, title, user_login, labels_json, assignees_json, comments, created_at,
    updated_at, gone, draft, payload_json
ON github_pull_requests
BEGIN
    DELETE FROM item_labels WHERE repo_id = OLD.repo_id AND kind = 'pr' AND number = OLD.pr_number;
    DELETE FROM item_assignees WHERE repo_id = OLD.repo_id AND kind = 'pr' AND number = OLD.pr_number;
    DELETE FROM item_versions WHERE repo_id = OLD.repo_id AND kind = 'pr' AND number = OLD.pr_number;
    INSERT INTO item_labels (repo_id, kind, number, label, state, live)
        SELECT DISTINCT NEW.repo_id, 'pr', NEW.pr_number, value, NEW.state, NEW.gone IS NULL
        FROM json_each(NEW.labels_json) WHERE type = 'text';
    INSERT INTO item_assignees (repo_id, kind, number, login, state, live)
        SELECT DISTINCT NEW.repo_id, 'pr', NEW.pr_number, value, NEW.state, NEW.gone IS NULL
        FROM json_each(NEW.assignees_json) WHERE type = 'text';
    INSERT INTO item_versions (repo_id, kind, number) VALUES (NEW.repo_id, 'pr', NEW.pr_number);
END;

CREATE TRIGGER github_pull_requests_work_delete AFTER DELETE ON github_pull_requests
BEGIN
    DELETE FROM item_labels WHERE repo_id = OLD.repo_id AND kind = 'pr' AND number = OLD.pr_number;
    DELETE FROM item_assignees WHERE repo_id = OLD.repo_id AND kind = 'pr' AND number = OLD.pr_number;
    DELETE FROM item_versions WHERE repo_id = OLD.repo_id AND kind = 'pr' AND number = OLD.pr_number;
END;

-- Backfill: the rows cached before this migration.
INSERT INTO item_labels (repo_id, kind, number, label, state, live)
    SELECT DISTINCT i.repo_id, 'issue', i.issue_number, j.value, i.state, i.gone IS NULL
    FROM github_issues AS i, json_each(i.labels_json) AS j WHERE j.type = 'text';
INSERT INTO item_labels (repo_id, kind, number, label, state, live)
    SELECT DISTINCT p.repo_id, 'pr', p.pr_number, j.value, p.state, p.gone IS NULL
    FROM github_pull_requests AS p, json_each(p.labels_json) AS j WHERE j.type = 'text';
INSERT INTO item_assignees (repo_id, kind, number, login, state, live)
    SELECT DISTINCT i.repo_id, 'issue', i.issue_number, j.value, i.state, i.gone IS NULL
    FROM github_issues AS i, json_each(i.assignees_json) AS j WHERE j.type = 'text';
INSERT INTO item_assignees (repo_id, kind, number, login, state, live)
    SELECT DISTINCT p.repo_id, 'pr', p.pr_number, j.value, p.state, p.gone IS NULL
    FROM github_pull_requests AS p, json_each(p.assignees_json) AS j WHERE j.type = 'text';
INSERT INTO item_versions (repo_id, kind, number)
    SELECT repo_id, 'issue', issue_number FROM github_issues;
INSERT INTO item_versions (repo_id, kind, number)
    SELECT repo_id, 'pr', pr_number FROM github_pull_requests;

CREATE INDEX github_issues_work_updated ON github_issues (state, updated_at, repo_id, issue_number)
    WHERE gone IS NULL;
CREATE INDEX github_issues_work_created ON github_issues (state, created_at, repo_id, issue_number)
    WHERE gone IS NULL;
CREATE INDEX github_issues_work_comments ON github_issues (state, comments, repo_id, issue_number)
    WHERE gone IS NULL;
CREATE INDEX github_pull_requests_work_updated
    ON github_pull_requests (state, updated_at, repo_id, pr_number) WHERE gone IS NULL;
CREATE INDEX github_pull_requests_work_created
    ON github_pull_requests (state, created_at, repo_id, pr_number) WHERE gone IS NULL;
CREATE INDEX github_pull_requests_work_comments
    ON github_pull_requests (state, comments, repo_id, pr_number) WHERE gone IS NULL;
-- Counts per repo: an index range per state, already grouped by repo; and an item's state
-- by its key, so counting the text's hits reads no item row.
CREATE INDEX github_issues_work_repo ON github_issues (state, repo_id) WHERE gone IS NULL;
CREATE INDEX github_pull_requests_work_repo ON github_pull_requests (state, repo_id)
    WHERE gone IS NULL;
CREATE INDEX github_issues_work_state ON github_issues (repo_id, issue_number, state)
    WHERE gone IS NULL;
CREATE INDEX github_pull_requests_work_state ON github_pull_requests (repo_id, pr_number, state)
    WHERE gone IS NULL;

-- Saved views of the Work page: a projection of the work_view.* audit events
-- (audit/work_projections.py), rebuilt and checked by `pmbot audit rebuild`.
CREATE TABLE saved_views (
    view_id     TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    filter_json TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
