-- The overlap window as a chain of conditional requests (issue 11 item 3).
--
-- A refresh re-validates every page of its `since` window on each poll. A 304
-- carries no `Link` header, so each page's validator also keeps the page's
-- `Link` next URL, to reach the next page of the chain without a 200.
ALTER TABLE http_cache ADD COLUMN next_url TEXT;
