"""The fake's endpoints: a request path and query in, a `Reply` out (no sockets here).

Covers what pmbot calls: /repos/{o}/{r}, its /issues and /pulls listings and single items,
/user, /user/repos, /orgs/{org}/repos and /rate_limit. Like GitHub, every repo path also
answers by numeric id (`/repositories/{id}/...`), and redirects and `Link` headers use that
form: a renamed repo answers 301 to `/repositories/{id}/...` for every path under its old name
(until someone creates a repo under that name, which then answers instead); a deleted item
410; a transferred one 301 to `/repositories/{new_repo_id}/issues/{new_number}`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import urlencode

from tests.fake_github.model import Item, Repo, epoch
from tests.fake_github.paging import PagingError, link_header, select_page
from tests.fake_github.payloads import Payloads, dumps, sample
from tests.fake_github.state import GitHubState, QueryError

DOCS = "https://docs.github.com/rest"
_REPO_PATH = re.compile(r"/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)(?P<rest>/.*)?")
_ID_PATH = re.compile(r"/repositories/(?P<id>\d+)(?P<rest>/.*)?")
_ITEM_PATH = re.compile(r"/(?P<kind>issues|pulls)(?:/(?P<number>\d+))?")


@dataclass
class Reply:
    """What to send: status, body (None for none), headers; `listing` marks a list page."""

    status: int
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    last_modified: int | None = None
    listing: bool = False


def error_reply(status: int, message: str | None = None, **headers: str) -> Reply:
    text = message or HTTPStatus(status).phrase
    body = {"message": text, "documentation_url": DOCS, "status": str(status)}
    return Reply(status, json.dumps(body).encode(), dict(headers))


@dataclass
class Config:
    """The knobs the routes need from the fake's constructor."""

    login: str
    since_inclusive: bool
    per_page_max: int
    cursor_after_page: int | None


class Routes:
    """Dispatches GET requests against the state, rendering payloads for one host."""

    def __init__(self, state: GitHubState, payloads: Payloads, config: Config) -> None:
        self.state = state
        self.payloads = payloads
        self.config = config

    def dispatch(self, method: str, path: str, query: dict[str, str]) -> Reply:
        if method != "GET":
            return error_reply(404)
        try:
            with self.state.lock:  # tests mutate from other threads; render a consistent view
                return self._dispatch_get(path.rstrip("/") or "/", query)
        except (QueryError, PagingError) as err:
            return error_reply(422, str(err) if isinstance(err, PagingError) else None)

    def prerender(self) -> None:
        """Render every listing payload now, so even the first pass serves from cache."""
        with self.state.lock:
            for repo in self.state.repos():
                for item in repo.live_items():
                    self.payloads.issue_view(repo, item)
                    if item.is_pr:
                        self.payloads.pull_simple(repo, item)

    def rate_limit(self, headers: dict[str, str]) -> Reply:
        doc = json.loads(sample("rate_limit"))
        names = ("limit", "used", "remaining", "reset")
        core = {name: int(headers[f"x-ratelimit-{name}"]) for name in names}
        doc["resources"]["core"] = doc["rate"] = core
        return Reply(200, dumps(doc).encode())

    def _dispatch_get(self, path: str, query: dict[str, str]) -> Reply:
        if path == "/user":
            return _json(self.payloads.user(self.config.login))
        if path == "/user/repos":
            return self._repo_list(self.state.repos(), path, query)
        if match := re.fullmatch(r"/orgs/([^/]+)/repos", path):
            repos = self.state.repos(owner=match[1].lower())
            return self._repo_list(repos, path, query) if repos else error_reply(404)
        if match := _REPO_PATH.fullmatch(path):
            found = self.state.resolve(f"{match['owner']}/{match['name']}")
            return self._repo_tree(found, match["rest"] or "", query)
        if match := _ID_PATH.fullmatch(path):
            found = self.state.repo_by_id(int(match["id"]))
            return self._repo_tree(found, match["rest"] or "", query)
        return error_reply(404)

    def _repo_tree(self, found: Repo | str | None, rest: str, query: dict[str, str]) -> Reply:
        if isinstance(found, str):  # renamed: GitHub redirects by repository id
            return self._moved(f"/repositories/{self.state.resolve(found).id}{rest}", query)
        if found is None:
            return error_reply(404)
        if not rest:
            return _json(self.payloads.repository(found), last_modified=epoch(found.updated_at))
        item_path = _ITEM_PATH.fullmatch(rest)
        if item_path is None:
            return error_reply(404)
        if item_path["number"] is None:
            return self._item_list(found, item_path["kind"], rest, query)
        return self._single_item(found, item_path["kind"], int(item_path["number"]))

    def _item_list(self, repo: Repo, kind: str, rest: str, query: dict[str, str]) -> Reply:
        render = self.payloads.issue_view if kind == "issues" else self.payloads.pull_simple
        items, keys = self.state.listing(
            repo, kind, query, since_inclusive=self.config.since_inclusive
        )
        page = select_page(
            keys,
            query,
            maximum=self.config.per_page_max,
            cursor_after_page=self.config.cursor_after_page,
        )
        body = b"[" + b",".join(render(repo, i) for i in items[page.start : page.stop]) + b"]"
        link = link_header(self.payloads.api_base, f"/repositories/{repo.id}{rest}", query, page)
        return Reply(200, body, {"Link": link} if link else {}, listing=True)

    def _single_item(self, repo: Repo, kind: str, number: int) -> Reply:
        item = repo.items.get(number)
        if item is None or (kind == "pulls" and not item.is_pr):
            return error_reply(404)
        if item.gone:
            return self._gone(item)
        render = self.payloads.issue_view if kind == "issues" else self.payloads.pull_full
        return Reply(200, render(repo, item), last_modified=epoch(item.updated_at))

    def _gone(self, item: Item) -> Reply:
        if item.gone == "not_visible":
            return error_reply(404)
        if item.moved_to is None:
            return error_reply(410, "This issue was deleted")
        new_repo, new_number = item.moved_to
        return self._moved(
            f"/repositories/{self.state.resolve(new_repo).id}/issues/{new_number}", {}
        )

    def _repo_list(self, repos: list[Repo], path: str, query: dict[str, str]) -> Reply:
        keys = [(index,) for index in range(len(repos))]
        page = select_page(keys, query, maximum=self.config.per_page_max, cursor_after_page=None)
        docs = [self.payloads.repository(r) for r in repos[page.start : page.stop]]
        link = link_header(self.payloads.api_base, path, query, page)
        return Reply(200, dumps(docs).encode(), {"Link": link} if link else {}, listing=True)

    def _moved(self, path: str, query: dict[str, str]) -> Reply:
        location = self.payloads.api_base + path + (f"?{urlencode(query)}" if query else "")
        body = {"message": "Moved Permanently", "url": location, "documentation_url": DOCS}
        return Reply(301, json.dumps(body).encode(), {"Location": location})


def _json(doc: dict, last_modified: int | None = None) -> Reply:
    return Reply(200, dumps(doc).encode(), last_modified=last_modified)
