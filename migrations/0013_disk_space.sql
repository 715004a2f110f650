-- Issue 15 item 4: disk. Both tables are operational (not audited), owned by
-- cache/store.py.
--
-- cache_purge: repos whose cached rows are being deleted after a removal or a
-- cache reset. The reset (with its event) or the removal commits the fence
-- (the generation bump) with this row; the rows then go in bounded batches,
-- so the WAL never holds a whole repo, and a purge cut short by a crash is
-- finished by the next worker tick or the repo's next sync. Lists and search
-- skip a repo while it is here; its search slot (`cache_search_repos`) goes
-- last, so no other repo can be given that slot while its old search rows
-- remain. `removed_by`: the actor of a removal, recorded (`repo.removed`) once
-- the rows are gone, since they reference the registry row (NULL: a reset).
CREATE TABLE cache_purge (
    repo_id       INTEGER PRIMARY KEY,
    requested_at  TEXT NOT NULL,
    removed_by    TEXT
);

-- cache_sizes: bytes of each repo's cached payloads (kept by the triggers
-- below on every write) and of its search text (title + body, kept by the
-- code that writes the search rows), so the status can show a repo's data
-- size without reading its rows. A reset or removal drops the row.
CREATE TABLE cache_sizes (
    repo_id        INTEGER PRIMARY KEY,
    payload_bytes  INTEGER NOT NULL DEFAULT 0,
    search_bytes   INTEGER NOT NULL DEFAULT 0
);

CREATE TRIGGER github_issues_size_insert AFTER INSERT ON github_issues
BEGIN
    INSERT INTO cache_sizes (repo_id, payload_bytes)
    VALUES (NEW.repo_id, length(CAST(NEW.payload_json AS BLOB)))
    ON CONFLICT (repo_id) DO UPDATE SET payload_bytes = payload_bytes + excluded.payload_bytes;
END;
CREATE TRIGGER github_issues_size_update AFTER UPDATE OF payload_json ON github_issues
BEGIN
    UPDATE cache_sizes SET payload_bytes = payload_bytes
        + length(CAST(NEW.payload_json AS BLOB)) - length(CAST(OLD.payload_json AS BLOB))
    WHERE repo_id = NEW.repo_id;
END;
CREATE TRIGGER github_pull_requests_size_insert AFTER INSERT ON github_pull_requests
BEGIN
    INSERT INTO cache_sizes (repo_id, payload_bytes)
    VALUES (NEW.repo_id, length(CAST(NEW.payload_json AS BLOB)))
    ON CONFLICT (repo_id) DO UPDATE SET payload_bytes = payload_bytes + excluded.payload_bytes;
END;
CREATE TRIGGER github_pull_requests_size_update AFTER UPDATE OF payload_json
    ON github_pull_requests
BEGIN
    UPDATE cache_sizes SET payload_bytes = payload_bytes
        + length(CAST(NEW.payload_json AS BLOB)) - length(CAST(OLD.payload_json AS BLOB))
    WHERE repo_id = NEW.repo_id;
END;

-- The sizes of what an existing database already holds (one pass over it).
INSERT INTO cache_sizes (repo_id, payload_bytes)
SELECT repo_id, sum(length(CAST(payload_json AS BLOB))) FROM (
    SELECT repo_id, payload_json FROM github_issues
    UNION ALL SELECT repo_id, payload_json FROM github_pull_requests
) GROUP BY repo_id;
INSERT INTO cache_sizes (repo_id, search_bytes)
SELECT CAST(repo_id AS INTEGER), sum(length(CAST(title AS BLOB)) + length(CAST(body AS BLOB)))
FROM cache_search WHERE true GROUP BY repo_id
ON CONFLICT (repo_id) DO UPDATE SET search_bytes = excluded.search_bytes;
