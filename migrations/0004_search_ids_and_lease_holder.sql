-- Hardening (issue 16 items 2 and 9). Renumber to the next free version when
-- merging: the runner refuses gaps.
--
-- 1. Search rowids no longer pack repo_id: `repo_id << 33 | number << 1 | is_pr`
--    overflowed SQLite's 64-bit INTEGER for any repo_id >= 2**30. They pack a
--    small per-repo slot instead, `slot << 32 | number << 1 | is_pr`, given to
--    each repo with cached items in cache_search_repos, so a repo's search
--    rows stay one rowid range (a search within a repo reads only that). The
--    search rows are rebuilt from the cached titles and payloads.
-- 2. The lease row names its holder's process (host, pid, start), so a worker
--    restarted on the same host takes over a lease whose holder is gone at
--    once instead of waiting for it to expire.
CREATE TABLE cache_search_repos (
    repo_id  INTEGER PRIMARY KEY,
    slot     INTEGER NOT NULL UNIQUE
);

DELETE FROM cache_search;

INSERT INTO cache_search_repos (repo_id, slot)
SELECT repo_id, row_number() OVER (ORDER BY repo_id)
FROM (SELECT repo_id FROM github_issues UNION SELECT repo_id FROM github_pull_requests);

INSERT INTO cache_search (rowid, title, body, repo_id, kind, number)
SELECT (r.slot << 32) | (i.issue_number << 1), i.title,
       coalesce(json_extract(i.payload_json, '$.body'), ''), i.repo_id, 'issue', i.issue_number
FROM github_issues AS i JOIN cache_search_repos AS r ON r.repo_id = i.repo_id;

INSERT INTO cache_search (rowid, title, body, repo_id, kind, number)
SELECT (r.slot << 32) | (p.pr_number << 1) | 1, p.title,
       coalesce(json_extract(p.payload_json, '$.body'), ''), p.repo_id, 'pr', p.pr_number
FROM github_pull_requests AS p JOIN cache_search_repos AS r ON r.repo_id = p.repo_id;

-- Holder of the lease: host (hostname and pid namespace), pid, and the
-- process's start (boot id and start tick), so a reused pid is not mistaken
-- for the holder.
ALTER TABLE repo_schedule ADD COLUMN lease_host TEXT;
ALTER TABLE repo_schedule ADD COLUMN lease_pid INTEGER;
ALTER TABLE repo_schedule ADD COLUMN lease_started TEXT;
