"""GitHub-shaped JSON for the fake, rendered fast from the sample files.

`samples/*.json` are copies of shared/github-examples (GitHub's own OpenAPI examples). Each
sample is rebased once per repository (host, owner/name, repo ids) and compiled into a text
template whose data fields are slots, so an item's payload costs one `str.format_map`: a
50,000-item repo serves at close to socket speed without caching megabytes per item. Every key,
key order and JSON type is the sample's; a plain issue drops the `pull_request` key.
"""

from __future__ import annotations

import base64
import json
import re
import zlib
from functools import cache
from pathlib import Path
from urllib.parse import quote

from tests.fake_github.model import Item, Repo

SAMPLES = Path(__file__).with_name("samples")
SAMPLE_API = "https://api.github.com"
SAMPLE_HTML = "https://github.com"
SAMPLE_REPO = "octocat/Hello-World"
SAMPLE_NUMBER = "/1347"
_SLOT = re.compile(r'"@@(\w+)@@"|@@(\w+)@@')
_LABEL_COLORS = ("d73a4a", "a2eeef", "0075ca", "7057ff", "008672", "e4e669")
DEFAULT_LABELS = {"bug", "documentation", "duplicate", "enhancement", "question"}


@cache
def sample(name: str) -> str:
    """The sample's JSON text, compact (as GitHub sends it)."""
    return dumps(json.loads((SAMPLES / f"{name}.json").read_text(encoding="utf-8")))


def dumps(value) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def node_id(kind: str, number: int) -> str:
    return base64.b64encode(f"0{len(kind)}:{kind}{number}".encode()).decode()


def stable_id(text: str) -> int:
    return zlib.crc32(text.encode()) or 1


class Template:
    """JSON text with slots: `"@@x@@"` takes a JSON value, a bare `@@x@@` raw text in a string."""

    def __init__(self, text: str) -> None:
        pieces = _SLOT.split(text)
        literal = [p.replace("{", "{{").replace("}", "}}") for p in pieces[0::3]]
        slots = [a or b for a, b in zip(pieces[1::3], pieces[2::3], strict=True)]
        self._format = literal[0] + "".join(
            f"{{{slot}}}{text}" for slot, text in zip(slots, literal[1:], strict=True)
        )

    def render(self, values: dict[str, str]) -> str:
        return self._format.format_map(values)


class Payloads:
    """Builds every payload the fake serves for one API host."""

    def __init__(self, api_base: str, html_base: str = SAMPLE_HTML) -> None:
        self.api_base = api_base
        self.html_base = html_base
        self._templates: dict[tuple, dict[str, Template]] = {}
        self._users: dict[str, str] = {}
        self._rendered: dict[tuple[int, str], tuple[int, bytes]] = {}

    def rebase(self, text: str, full_name: str = SAMPLE_REPO) -> str:
        """Point the sample's URLs at this host and repository."""
        text = text.replace(SAMPLE_REPO, full_name)
        return text.replace(SAMPLE_API, self.api_base).replace(SAMPLE_HTML, self.html_base)

    def user(self, login: str, kind: str = "User") -> dict:
        """A user (or organisation) object; the sample's octocat with this login."""
        text = self.rebase(dumps(json.loads(sample("issue"))["user"])).replace("octocat", login)
        doc = json.loads(text)
        uid = stable_id(login)
        doc.update(id=uid, node_id=node_id(kind, uid), type=kind)
        return doc

    def user_json(self, login: str) -> str:
        if login not in self._users:
            self._users[login] = dumps(self.user(login))
        return self._users[login]

    def label(self, repo: Repo, name: str) -> dict:
        lid = stable_id(f"{repo.full_name}#{name}")
        return {
            "id": lid,
            "node_id": node_id("Label", lid),
            "url": f"{self.api_base}/repos/{repo.full_name}/labels/{quote(name)}",
            "name": name,
            "description": None,
            "color": _LABEL_COLORS[lid % len(_LABEL_COLORS)],
            "default": name in DEFAULT_LABELS,
        }

    def repository(self, repo: Repo) -> dict:
        """The full repository object (GET /repos/{o}/{r}, /user/repos)."""
        doc = json.loads(self.rebase(sample("repository"), repo.full_name))
        _fill_repo(doc, repo, self.user(repo.owner, "Organization"))
        doc.update(
            description=repo.description,
            archived=repo.archived,
            visibility="private" if repo.private else "public",
            open_issues_count=repo.open_issues_count(),
            open_issues=repo.open_issues_count(),
            created_at=repo.created_at,
            pushed_at=repo.pushed_at,
            updated_at=repo.updated_at,
            organization=self.user(repo.owner, "Organization"),
        )
        return doc

    def issue_view(self, repo: Repo, item: Item) -> bytes:
        return self._render(repo, item, "pr_issue" if item.is_pr else "issue")

    def pull_simple(self, repo: Repo, item: Item) -> bytes:
        return self._render(repo, item, "pull_simple")

    def pull_full(self, repo: Repo, item: Item) -> bytes:
        return self._render(repo, item, "pull_full")

    def _render(self, repo: Repo, item: Item, view: str) -> bytes:
        """Rendered once per item revision: listings then just join bytes."""
        cached = self._rendered.get((item.id, view))
        if cached and cached[0] == item.revision:
            return cached[1]
        values = self._values(repo, item)
        if view.startswith("pull_"):
            values["updated_at"] = dumps(item.pulls_updated)
        body = self._templates_for(repo)[view].render(values).encode()
        self._rendered[(item.id, view)] = (item.revision, body)
        return body

    def _templates_for(self, repo: Repo) -> dict[str, Template]:
        key = (repo.full_name, repo.id, repo.private)
        if key not in self._templates:
            self._templates[key] = self._compile(repo)
        return self._templates[key]

    def _compile(self, repo: Repo) -> dict[str, Template]:
        simple_repo = self.repository_simple(repo)
        docs = {
            "issue": _issue_doc(with_pr=False),
            "pr_issue": _issue_doc(with_pr=True),
            "pull_simple": _pull_doc("pull_request_simple", simple_repo),
            "pull_full": _pull_doc("pull_request", simple_repo),
        }
        return {
            name: Template(self.rebase(dumps(doc), repo.full_name)) for name, doc in docs.items()
        }

    def repository_simple(self, repo: Repo) -> dict:
        """The repo object nested in a PR's head/base (sample shape, this repo's data)."""
        doc = json.loads(sample("pull_request_simple"))["head"]["repo"]
        _fill_repo(doc, repo, self.user(repo.owner, "Organization"))
        return doc

    def _values(self, repo: Repo, item: Item) -> dict[str, str]:
        closed = item.state == "closed"
        merged = item.merged_at is not None
        return {
            "n": str(item.number),
            "number": str(item.number),
            "id": str(item.id),
            "node_id": dumps(node_id("Issue", item.id)),
            "pr_id": str(item.pr_id),
            "pr_node_id": dumps(node_id("PullRequest", item.pr_id or 0)),
            "state": dumps(item.state),
            "title": dumps(item.title),
            "body": dumps(item.body),
            "user": self.user_json(item.user),
            "labels": dumps([self.label(repo, name) for name in item.labels]),
            "assignees": dumps([self.user(login) for login in item.assignees]),
            "assignee": self.user_json(item.assignees[0]) if item.assignees else "null",
            "comments": str(item.comments),
            "created_at": dumps(item.created_at),
            "updated_at": dumps(item.updated_at),
            "closed_at": dumps(item.closed_at),
            "closed_by": self.user_json(item.user) if closed else "null",
            "state_reason": dumps(("completed" if not item.is_pr else None) if closed else None),
            "draft": dumps(bool(item.draft)),
            "merged_at": dumps(item.merged_at),
            "merged": dumps(merged),
            "merged_by": self.user_json(item.user) if merged else "null",
            "head_ref": dumps(item.head_ref),
            "head_label": dumps(f"{repo.owner}:{item.head_ref}"),
            "base_ref": dumps(item.base_ref),
            "base_label": dumps(f"{repo.owner}:{item.base_ref}"),
        }


def _fill_repo(doc: dict, repo: Repo, owner: dict) -> None:
    doc.update(
        id=repo.id,
        node_id=node_id("Repository", repo.id),
        name=repo.name,
        full_name=repo.full_name,
        owner=owner,
        private=repo.private,
    )


def _item_sample(name: str) -> dict:
    """The sample with its item number in URLs turned into a slot (before any repo data)."""
    return json.loads(sample(name).replace(SAMPLE_NUMBER, "/@@n@@"))


def _slots(doc: dict, *names: str) -> None:
    for name in names:
        doc[name] = f"@@{name}@@"


def _issue_doc(*, with_pr: bool) -> dict:
    doc = _item_sample("issue")
    _slots(doc, "id", "node_id", "number", "state", "title", "body", "user", "labels")
    _slots(doc, "assignee", "assignees")
    _slots(doc, "comments", "closed_at", "created_at", "updated_at", "closed_by", "state_reason")
    doc.update(locked=False, active_lock_reason=None)
    if not with_pr:
        del doc["pull_request"]
    else:  # GitHub's issue view of a PR links to the PR's page, as its pull_request does
        doc["html_url"] = doc["pull_request"]["html_url"]
    return doc


def _pull_doc(name: str, simple_repo: dict) -> dict:
    doc = _item_sample(name)
    _slots(doc, "number", "state", "title", "user", "body", "labels", "created_at", "updated_at")
    _slots(doc, "closed_at", "merged_at", "draft", "assignee", "assignees")
    doc.update(id="@@pr_id@@", node_id="@@pr_node_id@@", locked=False, active_lock_reason=None)
    for side in ("head", "base"):
        doc[side].update(label=f"@@{side}_label@@", ref=f"@@{side}_ref@@", repo=simple_repo)
        doc[side]["user"] = simple_repo["owner"]
    if "merged" in doc:
        _slots(doc, "merged", "merged_by", "comments")
    return doc
