-- Issue 17: the Work view's "no assignee" filter answered by two partial indexes per
-- item table, over the items that are not gone and have no assignee, instead of a
-- probe of `item_assignees` for every row tested:
-- - (state, updated_at, repo_id, number): a page sorted by update walks only the
--   unassigned items (40% of them on the benchmark), testing a label on each;
-- - (repo_id, number): a count starting from a label's side rows tests each one
--   against this small index rather than the assignees' primary key.
-- `assignees_json = '[]'` is how the write side (cache/store.py `_assignees_json`) and
-- migration 0014's backfill spell "no assignee"; the `item_assignees` rows are made
-- from that same column (store.py `_refresh_work_rows`), so the two always agree.
CREATE INDEX github_issues_work_unassigned
    ON github_issues (state, updated_at, repo_id, issue_number)
    WHERE gone IS NULL AND assignees_json = '[]';
CREATE INDEX github_pull_requests_work_unassigned
    ON github_pull_requests (state, updated_at, repo_id, pr_number)
    WHERE gone IS NULL AND assignees_json = '[]';
CREATE INDEX github_issues_work_unassigned_item ON github_issues (repo_id, issue_number)
    WHERE gone IS NULL AND assignees_json = '[]';
CREATE INDEX github_pull_requests_work_unassigned_item ON github_pull_requests (repo_id, pr_number)
    WHERE gone IS NULL AND assignees_json = '[]';
