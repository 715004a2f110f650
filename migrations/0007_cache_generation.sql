-- Sync fencing (issue 11 item 7): a cache reset must win over a sync that is running.
--
-- cache_generation is operational (not audited), owned by cache/store.py: one
-- row per repo whose cache was ever reset, bumped by every reset in the same
-- transaction that wipes the cache. A sync reads it when it starts and checks it
-- inside each page's transaction, so a sync that started before a reset can no
-- longer write a page, a resume position or a cursor after it.
CREATE TABLE cache_generation (
    repo_id     INTEGER PRIMARY KEY,
    generation  INTEGER NOT NULL
);
