-- Issue 17: a text filter's kind, state and liveness become rowid ranges of the
-- full-text index, not a facet token. Each search row moves to
-- `group << 59 | slot << 31 | number`, its group being `gone << 2 | closed << 1 | is_pr`
-- (cache/store.py `search_group`; it was `slot << 32 | number << 1 | is_pr`, its
-- kind, state and liveness in the `facet` column). FTS5 seeks each word's doclist
-- to a rowid range and reads only that part: "open issues with crash" reads the
-- open issues' part of the doclist of "crash", where `"crash" AND {facet} :
-- issueopen` merged the whole doclist of "crash" with one the size of every open issue
-- (100,000 items, bench/bench_items.py: 4-8 ms a kind became about 1).
--
-- The facet column goes with the facet (FTS5 tables cannot drop a column: the table
-- is built anew, in rowid order, then renamed in its place), and with it its rank
-- setting: the rank is FTS5's default bm25 again, as before migration 0016. A row's
-- group comes from its facet, which every write kept in step with its item.
CREATE VIRTUAL TABLE cache_search_grouped USING fts5 (
    title, body,
    repo_id UNINDEXED, kind UNINDEXED, number UNINDEXED,
    tokenize = 'unicode61 remove_diacritics 2'
);

INSERT INTO cache_search_grouped (rowid, title, body, repo_id, kind, number)
SELECT ((facet LIKE '%gone') << 61)
       | ((facet LIKE '%closed%') << 60)
       | ((rowid & 1) << 59)
       | ((rowid >> 32) << 31)
       | ((rowid >> 1) & 2147483647),
       title, body, repo_id, kind, number
FROM cache_search
ORDER BY 1;

-- One segment for the rows moved at once (writes after it merge as FTS5 always does).
INSERT INTO cache_search_grouped (cache_search_grouped) VALUES ('optimize');

DROP TABLE cache_search;
ALTER TABLE cache_search_grouped RENAME TO cache_search;
