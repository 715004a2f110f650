"""Helpers for the browser tests: a live `pmbot serve` on a fake GitHub, and a watched page.

`LiveServer` runs the real server process (with its worker thread) against an
in-process FakeGitHub, so a test can change GitHub's state and watch the UI
catch up. `WatchedPage` collects console errors and page errors so each test
can fail on any it did not expect, and saves screenshots into
`test-artifacts/screenshots/`.
"""

from __future__ import annotations

import contextlib
import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pmbot.shared.settings import Settings
from tests.fake_github.demo import (
    ROOT,
    free_port,
    pmbot_env,
    start_pmbot,
    stop_process,
    wait_ready,
)

SCREENSHOT_DIR = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """Debian's chromium, headless, driven by Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class LiveServer:
    """A running `pmbot serve` process and how to reach it."""

    base_url: str
    data_dir: Path
    log_path: Path
    settings: object | None = None  # the server's Settings, for tests that reach its DB directly

    def api(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        """Call the API as a script client would (JSON + the CSRF header)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.base_url}{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json", "X-PMBot-Request": "1"},
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def repo_id(self, full_name: str) -> int:
        _, body = self.api("GET", "/api/repos")
        return next(r["repo_id"] for r in body["items"] if r["full_name"] == full_name)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@contextlib.contextmanager
def serve(workdir: Path, github: Any, token: str | None = None) -> Iterator[LiveServer]:
    """`pmbot serve` on a free loopback port against the fake GitHub, polling rarely (the
    tests ask for syncs); after it stops, its log must not hold the token."""
    token = github.token if token is None else token
    port = free_port()
    env = pmbot_env(workdir / "data", github.base_url, token, PMBOT_SYNC_POLL_SECONDS="300")
    process = start_pmbot(env, port, workdir, workdir / "pmbot.log")
    settings = Settings.from_env(env, env_file=None)
    live = LiveServer(
        f"http://127.0.0.1:{port}", workdir / "data", workdir / "pmbot.log", settings=settings
    )
    try:
        wait_ready(f"{live.base_url}/healthz", process)
        yield live
    finally:
        stop_process(process)
    if token:
        assert token not in live.log_text()


@dataclass
class WatchedPage:
    """A Playwright page whose console errors and page errors are recorded."""

    page: object
    errors: list[str] = field(default_factory=list)
    allowed: list[re.Pattern] = field(default_factory=list)

    def allow_console_error(self, pattern: str) -> None:
        """Accept console errors matching `pattern` (e.g. the browser's log of an expected 422)."""
        self.allowed.append(re.compile(pattern))

    def unexpected_errors(self) -> list[str]:
        return [e for e in self.errors if not any(p.search(e) for p in self.allowed)]

    def screenshot(self, name: str) -> Path:
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOT_DIR / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


def watch(page) -> WatchedPage:
    watched = WatchedPage(page)
    page.on(
        "console",
        lambda message: (
            watched.errors.append(f"console: {message.text}") if message.type == "error" else None
        ),
    )
    page.on("pageerror", lambda error: watched.errors.append(f"pageerror: {error}"))
    return watched


@contextlib.contextmanager
def watched_page(browser: Any, wait_ms: int, **context_options: Any) -> Iterator[WatchedPage]:
    """A fresh page in its own context (1280×800 unless told); afterwards, fails the test
    on any console or page error it did not allow."""
    options = {"viewport": {"width": 1280, "height": 800}, **context_options}
    context = browser.new_context(**options)
    page = context.new_page()
    page.set_default_timeout(wait_ms)
    watched = watch(page)
    yield watched
    context.close()
    assert watched.unexpected_errors() == []


def open_route(ui: WatchedPage, server: LiveServer, route: str) -> Any:
    """Go to `route` of the server's UI (e.g. `#/repos`); returns the page."""
    ui.page.goto(f"{server.base_url}/{route}")
    return ui.page
