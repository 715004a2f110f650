-- Issue 15 (import speed): the Work view's side rows (item_labels, item_assignees,
-- item_versions) are refreshed by the write side once per page, set-based
-- (cache/store.py, `_refresh_work_rows`), instead of by row triggers on insert and
-- update. A trigger makes every row's upsert a multi-row write, which SQLite backs with
-- a statement journal (a copy of each page the row's statement touches): ~25 % of an
-- import. Every insert and update of the item tables is in cache/store.py, which owns
-- them. Deletes keep their triggers: a delete is rare (a purge, in bounded batches) and
-- adds no journal to the upsert.
DROP TRIGGER github_issues_work_insert;
DROP TRIGGER github_issues_work_update;
DROP TRIGGER github_pull_requests_work_insert;
DROP TRIGGER github_pull_requests_work_update;
