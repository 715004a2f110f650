"""Shared fixtures: real SQLite files in tmp_path, the real app, real waitress.

- `clock`, `fake`: a ManualClock (from `clock_start`, T0 unless a module overrides
  it) and a FakeGitHub (real HTTP on 127.0.0.1) on it, holding the empty repo
  `FAKE_REPO`. A module configures the fake by overriding `fake_options`
  (FakeGitHub's keywords, `clock` included, plus `seed(server)` in place of
  adding `FAKE_REPO`); every test using it fails if the fake saw an error.
- `settings`: a Settings for a fresh data dir under tmp_path (token `TEST_TOKEN`,
  GitHub base `http://127.0.0.1:9` until a test swaps in a fake's URL with
  `dataclasses.replace(settings, github_api_base=...)`).
- `db_path`: the product DB path of `settings` (layout created, not migrated).
- `conn`: a migrated connection to that DB, default workspace created.
- `app`: `create_app(settings, db_path=...)` over the same DB (depends on `conn`).
- `client`: an in-process WSGI caller (`client.get/post/delete/request`) that
  sends a loopback `Host` and, for writes, `X-PMBot-Request: 1` unless told not to.
- `live_server`: `app` served by real waitress on 127.0.0.1 with an ephemeral
  port; `.url`, `.port`, `.request(...)` over real HTTP; stopped at teardown.
"""

from __future__ import annotations

import http.client
import io
import json
import logging
import shutil
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from pmbot.control_plane.db import connect, migrate, open_database
from pmbot.control_plane.registry import ensure_default_workspace
from pmbot.shared.datadir import ensure_layout
from pmbot.shared.resources import migrations_dir
from pmbot.shared.settings import Settings
from tests.fake_github import FakeGitHub
from tests.fake_github.clock import T0, ManualClock

FAKE_REPO = "acme/widgets"
TEST_TOKEN = "ghp_" + "TestTokenValue0123456789" * 2
TEST_PORT = 8000


@pytest.fixture(autouse=True)
def _fresh_pmbot_logging() -> Iterator[None]:
    """Undo `setup_logging` after each test (the `pmbot` and `waitress` loggers): its
    handlers hold files and captured streams, and `propagate=False` would hide later
    tests' records from caplog."""
    yield
    for name in ("pmbot", "waitress"):
        root = logging.getLogger(name)
        for handler in list(root.handlers):
            root.removeHandler(handler)
            handler.close()
        root.propagate = True
        root.setLevel(logging.NOTSET)
    logging.getLogger("waitress.queue").filters.clear()


@pytest.fixture
def clock_start() -> datetime:
    """Where `clock` starts; a module whose fake must agree with real time overrides it."""
    return T0


@pytest.fixture
def clock(clock_start: datetime) -> ManualClock:
    """GitHub's clock for the fake (and injected clocks): moves only when told."""
    return ManualClock(clock_start)


def _add_fake_repo(server: FakeGitHub) -> None:
    server.add_repo(FAKE_REPO)


@pytest.fixture
def fake_options() -> dict[str, Any]:
    """How this module's `fake` is built: FakeGitHub keywords, plus `seed(server)`."""
    return {}


@pytest.fixture
def fake(clock, fake_options: dict[str, Any]) -> Iterator[FakeGitHub]:
    """A fake GitHub on 127.0.0.1 with the repo `FAKE_REPO`; fails the test if it erred."""
    options = {"clock": clock, "seed": _add_fake_repo, **fake_options}
    seed = options.pop("seed")
    with FakeGitHub(**options) as server:
        seed(server)
        yield server
    assert server.errors == []


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    environ = {
        "PMBOT_DATA_DIR": str(tmp_path / "data"),
        "GITHUB_TOKEN": TEST_TOKEN,
        "GITHUB_API_BASE": "http://127.0.0.1:9",
        "PMBOT_PORT": str(TEST_PORT),
    }
    return Settings.from_env(environ, env_file=None)


@pytest.fixture
def db_path(settings: Settings) -> Path:
    ensure_layout(settings.data_dir)
    return settings.db_path


@pytest.fixture
def conn(db_path: Path):
    connection = open_database(db_path)
    ensure_default_workspace(connection)
    yield connection
    connection.close()


@pytest.fixture
def app(settings: Settings, db_path: Path, conn):
    from pmbot.control_plane.api.app import create_app

    application = create_app(settings, db_path=db_path)
    yield application
    application.close()


@dataclass
class WsgiResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


@dataclass
class WsgiClient:
    """Calls a WSGI app in-process as a browser on http://127.0.0.1:8000 would."""

    app: Any
    host: str = f"127.0.0.1:{TEST_PORT}"
    server_port: str = str(TEST_PORT)
    default_headers: dict[str, str] = field(default_factory=dict)

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        csrf: bool = True,
    ) -> WsgiResponse:
        all_headers = {"Host": self.host, **self.default_headers}
        if csrf and method not in ("GET", "HEAD", "OPTIONS"):
            all_headers["X-PMBot-Request"] = "1"
        if json_body is not None:
            body = json.dumps(json_body).encode()
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        environ = self._environ(method, path, body or b"", all_headers)
        return self._call(environ)

    def get(self, path: str, **kwargs: Any) -> WsgiResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> WsgiResponse:
        return self.request("POST", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> WsgiResponse:
        return self.request("DELETE", path, **kwargs)

    def _environ(self, method: str, path: str, body: bytes, headers: Mapping[str, str]) -> dict:
        path_info, _, query = path.partition("?")
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path_info.encode("utf-8").decode("latin-1"),
            "QUERY_STRING": query,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": self.server_port,
            "SERVER_PROTOCOL": "HTTP/1.1",
            "SCRIPT_NAME": "",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.input_terminated": True,
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "CONTENT_LENGTH": str(len(body)) if body else "",
        }
        for name, value in headers.items():
            key = name.upper().replace("-", "_")
            if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                environ[key] = value
            else:
                environ[f"HTTP_{key}"] = value
        return environ

    def _call(self, environ: dict) -> WsgiResponse:
        started: dict[str, Any] = {}

        def start_response(status: str, headers: list, exc_info: Any = None) -> None:
            started["status"] = int(status.split(" ", 1)[0])
            started["headers"] = {k.lower(): v for k, v in headers}

        chunks = self.app(environ, start_response)
        try:
            body = b"".join(chunks)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        return WsgiResponse(started["status"], started["headers"], body)


@pytest.fixture
def client(app) -> WsgiClient:
    return WsgiClient(app)


@dataclass
class LiveServer:
    """A running waitress server; `request()` speaks real HTTP to it."""

    server: Any

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> WsgiResponse:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request(method, path, body=body, headers=dict(headers or {}))
            reply = connection.getresponse()
            headers_out = {k.lower(): v for k, v in reply.getheaders()}
            return WsgiResponse(reply.status, headers_out, reply.read())
        finally:
            connection.close()


@pytest.fixture
def live_server(app) -> Iterator[LiveServer]:
    from pmbot.control_plane.api.server import ServerThread

    server = ServerThread(app, host="127.0.0.1", port=0, threads=4).start()
    try:
        yield LiveServer(server)
    finally:
        server.stop()


def insert_cached_item(
    conn,
    repo_id: int,
    number: int,
    *,
    kind: str = "issue",
    title: str = "An item",
    body: str = "",
    state: str = "open",
    labels: tuple[str, ...] = (),
    user: str = "octocat",
    created_at: str = "2026-01-01T00:00:00Z",
    updated_at: str = "2026-01-02T00:00:00Z",
    gone: str | None = None,
    draft: bool | None = None,
) -> dict[str, Any]:
    """Put one item in the cache through the real write side (`cache.store`), as a sync would.

    For read-side tests (lists, search, UI) that need cache rows without a
    sync. `kind` is "issue" or "pr"; `draft` stores /pulls details for a PR;
    `gone` marks it deleted or transferred. Returns the GitHub-shaped item.
    """
    from pmbot.control_plane.cache import ISSUES, PRS
    from pmbot.control_plane.cache import store as cache

    path = "issues" if kind == "issue" else "pull"
    item = {
        "number": number, "title": title, "body": body, "state": state,
        "labels": [{"name": n} for n in labels], "user": {"login": user}, "comments": 0,
        "created_at": created_at, "updated_at": updated_at,
        "closed_at": updated_at if state == "closed" else None,
        "html_url": f"https://github.com/o/r/{path}/{number}",
    }  # fmt: skip
    if kind == "pr":
        item["pull_request"] = {"url": item["html_url"]}
    cache.upsert_issue_page(conn, repo_id, [item])
    if kind == "pr" and draft is not None:
        pull = {**item, "draft": draft, "merged_at": None, "head": {"ref": "feature"},
                "base": {"ref": "main"}}  # fmt: skip
        cache.apply_pull_details(conn, repo_id, [pull])
    if gone is not None:
        kind_spec = ISSUES if kind == "issue" else PRS
        cache.mark_gone(conn, repo_id, [(kind_spec, number, gone, None)])
    return item


def migrations_before(tmp_path: Path, prefix: str, name: str = "older") -> Path:
    """A folder with the shipped migration files numbered below `prefix` (e.g. "0013")."""
    folder = tmp_path / name
    folder.mkdir()
    for path in sorted(migrations_dir().glob("*.sql")):
        if path.name < prefix:
            shutil.copy(path, folder / path.name)
    return folder


def database_before(tmp_path: Path, prefix: str):
    """A database file migrated up to, not including, migration `prefix`: an upgrade's start."""
    conn = connect(tmp_path / "pm.sqlite3")
    migrate(conn, migrations_before(tmp_path, prefix))
    return conn
