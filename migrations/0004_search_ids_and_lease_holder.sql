-- Hardening (issue 16 items 2 and 9). Renumber to the next free version when
-- merging: the runner refuses gaps.
--
-- 1. Search row ids no longer pack repo_id: `repo_id << 33 | number << 1 | is_pr`
--    overflowed SQLite's 64-bit INTEGER for any repo_id >= 2**30. Each item's
--    cache_search row id is now allocated in cache_search_rows, found by
--    (repo_id, kind, number) through its unique index; a repo's rows are
--    filtered by cache_search's own repo_id column. The search rows are
--    rebuilt from the cached titles and payloads under the new ids.
-- 2. The lease row names its holder's process (host, pid, start), so a worker
--    restarted on the same host takes over a lease whose holder is gone at
--    once instead of waiting for it to expire.
CREATE TABLE cache_search_rows (
    search_rowid  INTEGER PRIMARY KEY,
    repo_id       INTEGER NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('issue', 'pr')),
    number        INTEGER NOT NULL,
    UNIQUE (repo_id, kind, number)
);

DELETE FROM cache_search;

INSERT INTO cache_search_rows (repo_id, kind, number)
SELECT repo_id, 'issue', issue_number FROM github_issues
UNION ALL
SELECT repo_id, 'pr', pr_number FROM github_pull_requests
ORDER BY 1, 2, 3;

INSERT INTO cache_search (rowid, title, body, repo_id, kind, number)
SELECT m.search_rowid, i.title, coalesce(json_extract(i.payload_json, '$.body'), ''),
       m.repo_id, m.kind, m.number
FROM cache_search_rows AS m
JOIN github_issues AS i ON m.kind = 'issue' AND i.repo_id = m.repo_id AND i.issue_number = m.number
UNION ALL
SELECT m.search_rowid, p.title, coalesce(json_extract(p.payload_json, '$.body'), ''),
       m.repo_id, m.kind, m.number
FROM cache_search_rows AS m
JOIN github_pull_requests AS p ON m.kind = 'pr' AND p.repo_id = m.repo_id AND p.pr_number = m.number;

-- Holder of the lease: host (hostname and pid namespace), pid, and the
-- process's start (boot id and start tick), so a reused pid is not mistaken
-- for the holder.
ALTER TABLE repo_schedule ADD COLUMN lease_host TEXT;
ALTER TABLE repo_schedule ADD COLUMN lease_pid INTEGER;
ALTER TABLE repo_schedule ADD COLUMN lease_started TEXT;
