-- The closed-items window per repo (issue 11 item 8).
--
-- repos.closed_window_days: the operator's choice for this repo (`repo.closed_window_set`);
-- NULL follows PMBOT_SYNC_CLOSED_DAYS. repo_sync_state.closed_since: every closed item
-- updated since then is cached (`sync.closed_window_filled`, recorded when an import's
-- window or a widened window's backfill is complete); a cache reset clears it. Both are
-- projections, so `pmbot audit rebuild` reproduces them.
ALTER TABLE repos ADD COLUMN closed_window_days INTEGER;
ALTER TABLE repo_sync_state ADD COLUMN closed_since TEXT;
