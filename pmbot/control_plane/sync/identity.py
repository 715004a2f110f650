"""A repo's identity on GitHub: its numeric id, learnt once, then the address of every request.

GitHub names a repository by `owner/name`, but that label moves on a rename or
a transfer, and another repository can then take the old name (GitHub drops
the redirect and serves the newcomer). So the first sync of a repo asks
`GET /repos/{owner}/{name}` once (one request, one rate-limit point) and
records `repo.identified` with GitHub's `id` (a rename found on the way is
recorded as `repo.renamed`). From then on every request of the sync is
addressed `/repositories/{id}/...`, the form GitHub's own redirects and
`Link` headers use: another repository's items are never read under this
repo's name, and a renamed repo costs no 301.

- An id already registered under another name in the workspace is refused
  with a clear `last_error` (`same_repository`); nothing is recorded.
- A rename is noticed from the `repository_url` of the listing's items (the
  repo is read by id, so they name its current home) and recorded once.
- When the id answers 404 and the old name answers with another repository,
  `last_error` says so (`name_reused`); nothing cached is touched.
"""

from __future__ import annotations

from pmbot.control_plane import registry
from pmbot.control_plane.audit import events as ev
from pmbot.control_plane.github.protocol import GitHubError, NotFound
from pmbot.control_plane.sync import listing as ls
from pmbot.control_plane.sync.run import Run


def identify(run: Run) -> None:
    """Address the run by GitHub's repository id, asking GitHub for it the first time."""
    known = registry.github_id(run.conn, run.repo_id)
    if known is not None:
        run.base = ls.by_id(known)
        return
    repo = run.fetch_waiting(ls.by_name(run.full_name)).data
    github_id, full_name = repo["id"], repo["full_name"]
    workspace = registry.get_repo(run.conn, run.repo_id).workspace_id
    other = registry.find_by_github_id(run.conn, workspace, github_id)
    if other is not None and other.repo_id != run.repo_id:
        raise GitHubError(
            f"{run.full_name} is GitHub repository {github_id}, already registered here"
            f" as {other.full_name}: remove one of them",
            code="same_repository",
        )
    with run.commit():
        run.record(ev.RepoIdentified(repo_id=run.repo_id, github_id=github_id, full_name=full_name))
    run.base = ls.by_id(github_id)
    note_home(run, full_name)


def note_home(run: Run, full_name: str) -> None:
    """GitHub names the repo `full_name` now: record `repo.renamed` once if that is new."""
    if full_name.lower() == run.full_name.lower():
        return
    taken = registry.find_repo(run.conn, full_name)
    if taken is not None and taken.repo_id != run.repo_id:
        raise GitHubError(
            f"{run.full_name} was renamed to {full_name}, which is also registered here:"
            " remove one of them",
            code="same_repository",
        )
    with run.commit():
        run.record(
            ev.RepoRenamed(repo_id=run.repo_id, full_name=full_name, old_full_name=run.full_name)
        )
    run.full_name = full_name


def note_listing(run: Run, items: list) -> None:
    """A listing page read by id: its items' `repository_url` names the repo's current home."""
    home = ls.repo_path(items[0].get("repository_url", "")) if items else None
    if home is not None:
        note_home(run, home[0])


def explain_not_found(run: Run, error: NotFound) -> GitHubError:
    """The repo's id answered 404: say whether its old name now belongs to another repo."""
    try:
        repo = run.fetch_waiting(ls.by_name(run.full_name)).data
    except NotFound:
        return error
    if repo.get("id") == registry.github_id(run.conn, run.repo_id):
        return error
    return GitHubError(
        f"{run.full_name} now names another GitHub repository (id {repo.get('id')}); this"
        " repo's id no longer answers (deleted, or access lost). The cache is kept as it was.",
        status=404,
        code="name_reused",
    )
