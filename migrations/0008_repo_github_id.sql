-- Repository identity (issue 11 items 1, 2): GitHub's numeric repository id.
--
-- `owner/name` is a label that changes on a rename or transfer, and after one
-- another repository can take the old name. The first sync records the id
-- with a `repo.identified` event (projected here, so `audit rebuild`
-- reproduces it); from then on the sync addresses the repo as
-- `/repositories/{id}/...`, so another repository's items can never be taken
-- for this one's.
ALTER TABLE repos ADD COLUMN github_id INTEGER;
CREATE INDEX repos_github_id ON repos (workspace_id, github_id);
