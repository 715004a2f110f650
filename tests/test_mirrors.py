"""Git mirrors with real git: origins served by `git http-backend` on 127.0.0.1 (Basic auth
with `x-access-token` and the token, as GitHub's git endpoint does), clone URLs from the
fake GitHub's repository payload, injected clocks."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from pmbot.control_plane import doctor, operations, registry
from pmbot.control_plane.audit import rebuild
from pmbot.control_plane.context import code, packs
from pmbot.control_plane.db import migrate
from pmbot.control_plane.github.client import GitHubClient
from pmbot.control_plane.registry import ensure_default_workspace
from pmbot.control_plane.sync import git_runner, mirrors
from pmbot.control_plane.sync import sync as real_sync
from pmbot.control_plane.sync.mirrors import Mirrors, mirror_path
from pmbot.control_plane.sync.worker import Worker
from pmbot.shared.settings import Secret
from pmbot.shared.timeutil import utc_now
from tests.conftest import database_before
from tests.fake_github import FakeGitHub
from tests.git_http import GitHttpServer, commit, git, make_origin

ROOT = Path(__file__).resolve().parent.parent
REPO = "acme/widgets"
CANARY = "ghp_CANARYtoken0000000000000000000000mirror"


@pytest.fixture
def git_server(tmp_path):
    with GitHttpServer(tmp_path / "origins", CANARY) as server:
        yield server


@pytest.fixture
def work(git_server):
    return make_origin(git_server.root, REPO, files={"README.md": "# Widgets\n", "a.txt": "a\n"})


@pytest.fixture
def fake(clock, git_server, work):
    with FakeGitHub(CANARY, clock=clock, html_base=git_server.base_url) as server:
        server.add_repo(REPO)
        yield server
    assert server.errors == []


@pytest.fixture
def mirror_settings(settings, fake):
    return dataclasses.replace(
        settings, github_api_base=fake.base_url, github_token=Secret(CANARY), mirrors=False
    )


@pytest.fixture
def repo_id(conn):
    return operations.add_repo(conn, REPO).repo_id


def make_mirrors(settings, clock) -> Mirrors:
    client = GitHubClient.from_settings(settings, clock=clock, sleep=lambda s: None)
    return Mirrors(settings, client, clock)


def events(conn, prefix="mirror."):
    rows = conn.execute(
        "SELECT type, payload_json FROM audit_events WHERE type LIKE ? ORDER BY seq",
        (prefix + "%",),
    )
    return [(t, json.loads(p)) for t, p in rows]


def mirror_refs(path: Path) -> dict[str, str]:
    out = git("-C", str(path), "for-each-ref", "--format=%(refname) %(objectname)")
    return dict(line.split(" ") for line in out.splitlines())


def origin_path(git_server) -> Path:
    return git_server.root / f"{REPO}.git"


def fake_id(fake) -> int:
    return fake.resolve(REPO).id


def test_enable_clones_a_bare_mirror_of_branches_and_tags(
    conn, repo_id, mirror_settings, clock, fake, git_server, work
):
    git("tag", "v1", cwd=work)
    git("push", "--quiet", "origin", "v1", cwd=work)
    git("update-ref", "refs/pull/1/head", "HEAD", cwd=origin_path(git_server))
    m = make_mirrors(mirror_settings, clock)
    assert m.run_once(conn) == []  # opt-in: nothing while neither global nor per repo

    operations.set_mirror(conn, repo_id, True)
    [outcome] = m.run_once(conn)

    path = mirror_path(mirror_settings.data_dir, fake_id(fake))
    assert (outcome.status, outcome.refs_changed) == ("cloned", 2)
    assert git("-C", str(path), "rev-parse", "--is-bare-repository").strip() == "true"
    head = git("rev-parse", "HEAD", cwd=work).strip()
    assert mirror_refs(path) == {"refs/heads/main": head, "refs/tags/v1": head}
    assert git("-C", str(path), "cat-file", "blob", "main:README.md") == "# Widgets\n"
    assert [t for t, _ in events(conn)] == ["mirror.enabled", "mirror.cloned"]
    assert events(conn)[1][1] == {"repo_id": repo_id, "github_id": fake_id(fake), "refs": 2}
    assert list((path.parent / ".tmp").iterdir()) == []
    config = (path / "config").read_text()
    assert CANARY not in config and "x-access-token" not in config
    status = mirrors.statuses(conn, False, repo_id)[repo_id]
    assert status["enabled"] and status["path"] == f"repos/{fake_id(fake)}.git"
    assert status["size_bytes"] > 0 and status["last_error"] is None
    assert rebuild.check(conn).differences == []


def test_a_sync_that_saw_changes_fetches_the_pushed_commit(
    conn, repo_id, mirror_settings, clock, fake, work
):
    m = make_mirrors(dataclasses.replace(mirror_settings, mirrors=True), clock)
    [cloned] = m.run_once(conn)
    assert cloned.status == "cloned"
    new_head = commit(work, "second")
    git("push", "--quiet", "origin", "main", cwd=work)
    assert m.run_once(conn) == []  # idle: neither a sync with changes nor the interval

    fake.add_issue(REPO, title="a change")
    client = GitHubClient.from_settings(m.settings, clock=clock, sleep=lambda s: None)
    real_sync.sync_repo(conn, client, repo_id, settings=m.settings)
    [fetched] = m.run_once(conn)

    assert (fetched.status, fetched.refs_changed) == ("fetched", 1)
    path = mirror_path(m.settings.data_dir, fake_id(fake))
    assert mirror_refs(path)["refs/heads/main"] == new_head
    assert events(conn)[-1] == (
        "mirror.fetched",
        {"repo_id": repo_id, "github_id": fake_id(fake), "refs_changed": 1},
    )
    assert m.run_once(conn) == []


def test_the_interval_fetch_prunes_deleted_branches_and_follows_force_pushes(
    conn, repo_id, mirror_settings, clock, fake, work
):
    git("push", "--quiet", "origin", "main:feature", cwd=work)
    m = make_mirrors(dataclasses.replace(mirror_settings, mirrors=True), clock)
    m.run_once(conn)
    path = mirror_path(m.settings.data_dir, fake_id(fake))
    assert set(mirror_refs(path)) == {"refs/heads/main", "refs/heads/feature"}
    git("commit", "--quiet", "--amend", "-m", "rewritten", cwd=work)
    git("push", "--quiet", "--force", "origin", "main", cwd=work)
    git("push", "--quiet", "origin", ":feature", cwd=work)

    clock.advance(899)
    assert m.run_once(conn) == []  # a no-change interval is not due yet
    clock.advance(1)
    [fetched] = m.run_once(conn)
    assert (fetched.status, fetched.refs_changed) == ("fetched", 2)
    assert mirror_refs(path) == {"refs/heads/main": git("rev-parse", "HEAD", cwd=work).strip()}
    assert subprocess.run(["git", "-C", str(path), "fsck", "--no-dangling"]).returncode == 0

    clock.advance(900)
    [unchanged] = m.run_once(conn)
    assert unchanged.status == "unchanged"
    assert [t for t, _ in events(conn)].count("mirror.fetched") == 1  # no event without changes


def test_a_wrong_token_fails_with_authentication_failed_and_leaks_nothing(
    conn, repo_id, mirror_settings, clock, fake, git_server, mocker, caplog
):
    git_server.expected = "Basic d3Jvbmc6dG9rZW4="  # the git server wants another token
    spawned = mocker.spy(git_runner.subprocess, "Popen")
    caplog.set_level(logging.DEBUG)
    m = make_mirrors(dataclasses.replace(mirror_settings, mirrors=True), clock)

    [failed] = m.run_once(conn)

    assert failed.status == "failed" and failed.error.code == "auth_failed"
    [(kind, payload)] = events(conn)
    assert kind == "mirror.failed" and payload["error_code"] == "auth_failed"
    assert payload["message"].startswith("authentication failed")
    assert any(authorized is False for _, _, authorized in git_server.requests)
    assert len(git_server.requests) >= 2  # git did answer the 401 with credentials
    for call in spawned.call_args_list:
        assert not any(CANARY in arg for arg in call.args[0])
    for path in mirror_settings.data_dir.rglob("*"):
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path
    assert CANARY not in caplog.text
    status = mirrors.statuses(conn, True, repo_id)[repo_id]
    assert status["last_error_code"] == "auth_failed" and status["next_try_at"] is not None
    assert m.run_once(conn) == []  # backing off
    clock.advance(61)
    m.run_once(conn)
    assert [t for t, _ in events(conn)] == ["mirror.failed"]  # same error: no new event


def test_an_unreachable_origin_fails_in_bounded_time_and_the_sync_is_unaffected(
    conn, repo_id, mirror_settings, clock, fake, git_server
):
    git_server.stop()
    m = make_mirrors(dataclasses.replace(mirror_settings, mirrors=True), clock)
    started = time.monotonic()
    [failed] = m.run_once(conn)
    assert time.monotonic() - started < 60
    assert failed.error.code == "unreachable"
    assert failed.error.message.startswith("unreachable: cannot connect to http://127.0.0.1:")

    fake.add_issue(REPO, title="still synced")
    real_sync.sync_repo(conn, m.client, repo_id, settings=m.settings)
    repo = registry.get_repo(conn, repo_id)
    assert (repo.status, repo.last_error) == ("ok", None)
    assert mirrors.statuses(conn, True, repo_id)[repo_id]["last_error_code"] == "unreachable"


@pytest.mark.slow
def test_an_origin_that_accepts_but_never_answers_times_out_after_the_low_speed_time(
    conn, repo_id, mirror_settings, clock, fake, git_server
):
    silent = socket.create_server(("127.0.0.1", 0))  # accepts (backlog), never answers
    try:
        git_server.stop()
        port = silent.getsockname()[1]
        with fake.lock:
            fake.routes.payloads.html_base = f"http://127.0.0.1:{port}"
        settings = dataclasses.replace(mirror_settings, mirrors=True, mirror_low_speed_seconds=2)
        m = make_mirrors(settings, clock)
        started = time.monotonic()
        [failed] = m.run_once(conn)
        assert time.monotonic() - started < 60
        assert failed.error.code == "timed_out", failed.error
        assert failed.error.message.startswith("timed out: the transfer from http://127.0.0.1:")
    finally:
        silent.close()


@pytest.mark.slow
def test_a_stalled_clone_never_delays_the_metadata_sync(
    conn, repo_id, mirror_settings, fake, git_server
):
    git_server.hold_uploads.set()
    worker = Worker(dataclasses.replace(mirror_settings, mirrors=True)).start()
    try:
        assert git_server.upload_started.wait(30)  # the mirror thread's clone is stuck
        deadline = time.monotonic() + 30
        while registry.get_repo(conn, repo_id).status != "ok" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert registry.get_repo(conn, repo_id).status == "ok"  # the import went on
        assert not mirror_path(mirror_settings.data_dir, fake_id(fake)).exists()
    finally:
        assert worker.stop(10)  # stopping kills the stuck git
        assert worker._mirrors.stop(0)  # the mirror thread ended too, without the release
        git_server.release.set()
    assert events(conn) == []  # a stop is not the mirror's failure


def test_recovery_after_a_failure_clears_the_error_with_an_event(
    conn, repo_id, mirror_settings, clock, fake, git_server
):
    m = make_mirrors(dataclasses.replace(mirror_settings, mirrors=True), clock)
    m.run_once(conn)
    good = git_server.expected
    git_server.expected = "Basic d3Jvbmc6dG9rZW4="
    clock.advance(900)
    [failed] = m.run_once(conn)
    assert failed.status == "failed"
    git_server.expected = good
    clock.advance(120)
    [ok] = m.run_once(conn)
    assert ok.status == "unchanged"
    assert [t for t, _ in events(conn)] == [
        "mirror.cloned", "mirror.failed", "mirror.fetched"
    ]  # fmt: skip
    assert mirrors.statuses(conn, True, repo_id)[repo_id]["last_error"] is None
    assert rebuild.check(conn).differences == []


def test_disable_stops_fetches_and_the_mirror_stays_until_the_repo_is_removed(
    conn, repo_id, mirror_settings, clock, fake, git_server
):
    m = make_mirrors(mirror_settings, clock)
    operations.set_mirror(conn, repo_id, True)
    m.run_once(conn)
    path = mirror_path(m.settings.data_dir, fake_id(fake))
    operations.set_mirror(conn, repo_id, False)
    served = len(git_server.requests)

    clock.advance(10_000)
    assert m.run_once(conn) == []
    assert len(git_server.requests) == served and path.is_dir()
    global_on = make_mirrors(dataclasses.replace(mirror_settings, mirrors=True), clock)
    assert global_on.run_once(conn) == []  # the per-repo choice overrides the global one

    operations.reset_cache(conn)
    m.run_once(conn)
    assert path.is_dir()  # reset cache keeps mirrors

    operations.remove_repo(conn, repo_id)
    m.run_once(conn)
    assert not path.exists()
    assert conn.execute("SELECT count(*) FROM repo_mirrors").fetchone()[0] == 0
    assert rebuild.check(conn).differences == []


def test_a_partial_clone_has_no_old_blobs_but_the_packs_readme(
    conn, repo_id, mirror_settings, clock, fake, git_server, work
):
    git("config", "uploadpack.allowFilter", "true", cwd=origin_path(git_server))
    first = git("rev-parse", "HEAD", cwd=work).strip()
    commit(work, "second", name="a.txt")
    git("push", "--quiet", "origin", "main", cwd=work)
    settings = dataclasses.replace(mirror_settings, mirrors=True, mirror_partial_clone=True)
    [cloned] = make_mirrors(settings, clock).run_once(conn)
    assert cloned.status == "cloned"

    path = code.mirror_for(conn, settings.data_dir, repo_id)
    assert git("-C", str(path), "config", "remote.origin.promisor").strip() == "true"
    with pytest.raises(code.CodeReadError):  # not fetched, and the read side has no token
        code.read_file(path, first, "a.txt")
    pack = json.loads(packs.build_content(conn, repo_id, settings.data_dir)[0])
    assert pack["code"]["readme"] == {"path": "README.md", "excerpt": "# Widgets\n"}


def test_doctor_checks_each_enabled_mirror(conn, repo_id, mirror_settings, clock, fake):
    assert doctor.check_mirrors(conn, mirror_settings.data_dir, False).detail == "no mirror enabled"
    m = make_mirrors(dataclasses.replace(mirror_settings, mirrors=True), clock)
    m.run_once(conn)
    healthy = doctor.check_mirrors(conn, mirror_settings.data_dir, True)
    assert healthy.ok and healthy.detail.startswith("1 enabled, bare and readable, ")

    path = mirror_path(mirror_settings.data_dir, fake_id(fake))
    shutil.rmtree(path / "objects")
    shutil.rmtree(path / "refs")
    broken = doctor.check_mirrors(conn, mirror_settings.data_dir, True)
    assert not broken.ok and broken.detail.startswith(f"{REPO}: {path}")


def test_the_read_side_lists_branches_and_reads_files_at_a_ref(
    conn, repo_id, mirror_settings, clock, fake, work
):
    data_dir = mirror_settings.data_dir
    without = packs.build_content(conn, repo_id)
    assert packs.build_content(conn, repo_id, data_dir) == without  # no mirror: unchanged
    assert b'"code"' not in without[0]
    m = make_mirrors(dataclasses.replace(mirror_settings, mirrors=True), clock)
    m.run_once(conn)
    path = code.mirror_for(conn, data_dir, repo_id)
    first = git("rev-parse", "HEAD", cwd=work).strip()
    assert code.list_branches(path) == [("main", first)]
    assert code.read_file(path, first, "a.txt") == b"a\n"
    with pytest.raises(code.CodeReadError):
        code.read_file(path, first, "missing.txt")

    pack = json.loads(packs.build_content(conn, repo_id, data_dir)[0])
    assert pack["code"] == {
        "mirror": f"repos/{fake_id(fake)}.git",
        "branch": "main",
        "commit": first,
        "readme": {"path": "README.md", "excerpt": "# Widgets\n"},
    }
    assert packs.build_content(conn, repo_id, data_dir) == packs.build_content(
        conn, repo_id, data_dir
    )  # deterministic for the same cache and commit
    second = commit(work, "more")
    git("push", "--quiet", "origin", "main", cwd=work)
    clock.advance(900)
    m.run_once(conn)
    assert code.read_file(path, first, "a.txt") == b"a\n"  # a pinned read never moves
    assert json.loads(packs.build_content(conn, repo_id, data_dir)[0])["code"]["commit"] == second


_CHILD = """
import sys
from pmbot.control_plane.db import connect
from pmbot.control_plane.github.client import GitHubClient
from pmbot.control_plane.sync.mirrors import Mirrors
from pmbot.shared.settings import Settings
settings = Settings.from_env(env_file=None)
conn = connect(settings.db_path)
Mirrors(settings, GitHubClient.from_settings(settings)).run_once(conn)
"""


@pytest.mark.slow
def test_sigkill_during_a_clone_then_restart_finishes_it_and_fsck_is_clean(
    conn, repo_id, mirror_settings, clock, fake, git_server
):
    s = mirror_settings
    env = {
        **os.environ,
        "PMBOT_DATA_DIR": str(s.data_dir),
        "GITHUB_TOKEN": CANARY,
        "GITHUB_API_BASE": s.github_api_base,
        "PMBOT_MIRRORS": "1",
    }
    git_server.hold_uploads.set()
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD], env=env, cwd=ROOT, start_new_session=True
    )
    try:
        assert git_server.upload_started.wait(30)
        [temp] = (s.data_dir / "repos" / ".tmp").glob(f"{fake_id(fake)}.git.*")
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            with contextlib.suppress(OSError):  # processes come and go
                assert CANARY.encode() not in cmdline.read_bytes()
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
        git_server.hold_uploads.clear()
        git_server.release.set()
    path = mirror_path(s.data_dir, fake_id(fake))
    assert not path.exists()

    clock.now = utc_now().replace(microsecond=0) + timedelta(seconds=mirrors.LEASE_SECONDS + 5)
    m = make_mirrors(dataclasses.replace(s, mirrors=True), clock)
    [outcome] = m.run_once(conn)
    assert outcome.status == "cloned"
    done = subprocess.run(["git", "-C", str(path), "fsck", "--full"], capture_output=True)
    assert done.returncode == 0, done.stderr
    assert not temp.exists()


def test_a_database_from_before_mirrors_upgrades_and_rebuilds_clean(tmp_path):
    conn = database_before(tmp_path, "0005")
    ensure_default_workspace(conn)
    repo = operations.add_repo(conn, REPO)

    applied = migrate(conn)

    assert "0005_mirrors.sql" in [m.path.name for m in applied]
    operations.set_mirror(conn, repo.repo_id, True)
    assert mirrors.statuses(conn, False)[repo.repo_id]["setting"] == "on"
    assert rebuild.check(conn).differences == []
    conn.close()


@pytest.mark.parametrize(
    ("clone_url", "api_base", "origin"),
    [
        ("https://github.com/a/b.git", "https://api.github.com", "https://github.com"),
        ("https://ghe.example/a/b.git", "https://ghe.example/api/v3", "https://ghe.example"),
        ("http://127.0.0.1:9/a/b.git", "http://127.0.0.1:8", "http://127.0.0.1:9"),
        ("https://evil.example/a/b.git", "https://api.github.com", None),
        ("http://github.com/a/b.git", "https://api.github.com", None),
        ("https://x:y@github.com/a/b.git", "https://api.github.com", None),
        ("file:///etc/a.git", "https://api.github.com", None),
    ],
)
def test_credentials_go_only_to_the_configured_github_host(clone_url, api_base, origin):
    if origin is None:
        with pytest.raises(git_runner.GitError) as caught:
            git_runner.allowed_origin(clone_url, api_base)
        assert caught.value.code == "bad_clone_url"
    else:
        assert git_runner.allowed_origin(clone_url, api_base) == origin


def test_the_askpass_script_answers_only_prompts_for_the_allowed_origin(tmp_path):
    askpass = git_runner.write_askpass(tmp_path)
    auth = git_runner.GitAuth("https://github.com", Secret(CANARY))
    env = git_runner.git_env(auth, askpass, low_speed_seconds=60)
    assert CANARY not in askpass.read_text()

    def ask(prompt: str) -> tuple[int, str]:
        done = subprocess.run([str(askpass), prompt], env=env, capture_output=True, text=True)
        return done.returncode, done.stdout

    assert ask("Username for 'https://github.com': ") == (0, "x-access-token\n")
    assert ask("Password for 'https://x-access-token@github.com': ") == (0, CANARY + "\n")
    assert ask("Password for 'https://x-access-token@evil.example': ")[1] == ""
    assert ask("Password for 'https://x-access-token@github.com.evil.example': ")[1] == ""
    assert ask("Username for 'https://evil.example': ")[1] == ""


@pytest.mark.parametrize(
    ("stderr", "code"),
    [
        ("fatal: Authentication failed for 'https://github.com/a/b.git/'", "auth_failed"),
        ("fatal: repository 'https://github.com/a/b.git/' not found", "not_found"),
        ("error: unable to write file: No space left on device", "disk_full"),
        ("error: RPC failed; curl 28 Operation too slow. Less than 1000 bytes/sec", "timed_out"),
        ("fatal: unable to access '...': Failed to connect to github.com port 443", "unreachable"),
        ("fatal: something else entirely", "git_failed"),
    ],
)
def test_git_errors_are_classified_for_the_operator(stderr, code):
    error = git_runner.classify(stderr, "https://github.com", CANARY)
    assert error.code == code and CANARY not in error.message
