-- Issues 17 and 15 item 3: text filters and counts answered by the full-text index
-- alone. Each search row gains a `facet` column holding one token that says its item's
-- kind, state and whether it is gone: `issueopen`, `prclosed`, `issueopengone`, ...
-- (cache/store.py `search_facet`). A text filter with a kind, state and liveness is
-- then one FTS5 expression, `{title body} : (words) AND {facet} : (issueopen OR
-- propen)`, whose hits are exactly the items that match: a count per repo reads rowids
-- only (the slot is rowid >> 32) and a page or a search reads no item row for the hits
-- it leaves out.
--
-- FTS5 tables cannot gain a column: the table is built anew from the old one (its
-- titles and bodies) and the item tables (state, gone), then renamed in its place.
-- A search row whose item is not cached (left by a removal cut short, when items went
-- first) showed nowhere and is left out: from now on a search row never outlives its
-- item (`store.purge` deletes search rows first).
-- Ranking: `rank` is bm25 with the facet column weighted 0, so a facet in the query
-- adds nothing to a row's score. (Its one token adds 1 to every row's length, which
-- bm25 compares to the average length: on bench/gen_api_db.py's 60,000 items, 824
-- result pages of 40, and 206 counts, came out the same before and after.) The old
-- table's pages are given back after the migrations (`db.open_database`).
CREATE VIRTUAL TABLE cache_search_faceted USING fts5 (
    title, body, facet,
    repo_id UNINDEXED, kind UNINDEXED, number UNINDEXED,
    tokenize = 'unicode61 remove_diacritics 2'
);

INSERT INTO cache_search_faceted (cache_search_faceted, rank) VALUES ('rank', 'bm25(1.0, 1.0, 0.0)');

INSERT INTO cache_search_faceted (rowid, title, body, facet, repo_id, kind, number)
SELECT s.rowid, s.title, s.body,
       'issue' || i.state || CASE WHEN i.gone IS NULL THEN '' ELSE 'gone' END,
       s.repo_id, s.kind, s.number
FROM cache_search AS s
JOIN cache_search_repos AS c ON c.slot = s.rowid >> 32
JOIN github_issues AS i ON i.repo_id = c.repo_id AND i.issue_number = (s.rowid >> 1) & 2147483647
WHERE s.rowid & 1 = 0;

INSERT INTO cache_search_faceted (rowid, title, body, facet, repo_id, kind, number)
SELECT s.rowid, s.title, s.body,
       'pr' || p.state || CASE WHEN p.gone IS NULL THEN '' ELSE 'gone' END,
       s.repo_id, s.kind, s.number
FROM cache_search AS s
JOIN cache_search_repos AS c ON c.slot = s.rowid >> 32
JOIN github_pull_requests AS p ON p.repo_id = c.repo_id AND p.pr_number = (s.rowid >> 1) & 2147483647
WHERE s.rowid & 1 = 1;

DROP TABLE cache_search;
ALTER TABLE cache_search_faceted RENAME TO cache_search;
