"""The deployment files and the `pmbot ui` proxy, checked without a Docker engine.

- Dockerfile, .dockerignore and .env.example: read as text.
- docker-compose.yml: the same facts checked twice, from a YAML-free parse of
  the file itself and from Debian's `docker-compose config` (skipped when the
  binary is missing), run on a temp copy with .env.example as .env.
- The proxy: in-process against a real upstream on 127.0.0.1.
- The services: each compose command run as compose would (same env, data dir
  in tmp_path, free ports on 127.0.0.1), healthy by its compose healthcheck,
  and ui + api as two processes driving a state-changing call.
"""

from __future__ import annotations

import contextlib
import http.client
import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pmbot.cli import build_parser
from pmbot.control_plane.api.proxy import MAX_BODY_BYTES, Upstream, create_proxy_app
from pmbot.control_plane.api.security import SECURITY_HEADERS, HostAllowlist
from pmbot.control_plane.api.server import ServerThread
from pmbot.shared import settings as settings_module
from pmbot.shared.settings import Settings, read_env_file
from tests.fake_github import FakeGitHub

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
PMBOT = ["python", "-m", "pmbot"]
COMMANDS = {
    "api": [*PMBOT, "serve", "--host", "0.0.0.0", "--no-worker"],
    "worker": [*PMBOT, "worker"],
    "ui": [*PMBOT, "ui", "--host", "0.0.0.0", "--port", "8080", "--api-url", "http://api:8000"],
}
PORTS = {"api": ["127.0.0.1:8000:8000"], "worker": [], "ui": ["127.0.0.1:8080:8080"]}
MOUNTS = {"api": ["/data"], "worker": ["/data"], "ui": []}


# -- Dockerfile, .dockerignore, .env.example -------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [tuple(line.split(None, 1)) for line in lines if line and not line.startswith("#")]


def test_the_dockerfile_builds_a_slim_non_root_image_without_secrets() -> None:
    steps = dockerfile_instructions()
    by_kind: dict[str, list[str]] = {}
    for kind, arg in steps:
        by_kind.setdefault(kind.upper(), []).append(arg)
    assert by_kind["FROM"] == ["python:3.11-slim"]
    assert any(re.search(r"pip install \.(\s|$)", run) for run in by_kind["RUN"])
    assert not any("[dev]" in run or "-e " in run for run in by_kind["RUN"])
    assert by_kind["USER"][-1] not in ("root", "0")
    assert "PMBOT_DATA_DIR=/data" in by_kind["ENV"]
    assert by_kind["EXPOSE"] == ["8000 8080"]
    (healthcheck,) = by_kind["HEALTHCHECK"]
    assert "/healthz" in healthcheck and "urllib.request" in healthcheck
    assert "ARG" not in by_kind
    assert not re.search(r"TOKEN|SECRET|PASSWORD", " ".join(by_kind["ENV"]), re.I)


def test_everything_the_dockerfile_copies_exists_and_is_not_ignored() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".env", "data", ".git"} <= ignored
    copies = [arg.split()[:-1] for kind, arg in dockerfile_instructions() if kind == "COPY"]
    sources = [source for sources in copies for source in sources]
    assert sources, "the Dockerfile copies nothing"
    for source in sources:
        assert (ROOT / source).exists(), source
        assert source not in ignored, source


def test_env_example_lists_every_setting_with_a_comment_and_safe_defaults() -> None:
    path = ROOT / ".env.example"
    values = read_env_file(path)
    expected = {*settings_module._VARIABLES, "PMBOT_DATA_DIR", "PMBOT_DB_URL"}
    assert set(values) == expected
    assert values["GITHUB_TOKEN"] == ""
    lines = path.read_text().splitlines()
    for index, line in enumerate(lines):
        if re.match(r"^[A-Z_]+=", line):
            above = lines[index - 1]
            assert above.startswith("#") or re.match(r"^[A-Z_]+=", above), line
    loaded = Settings.from_env({}, env_file=path)
    defaults = Settings(data_dir=Path("data"), db_path=Path("data/control_plane/pm_bot.sqlite3"))
    assert loaded == defaults
    text = path.read_text()
    for permission in ("Metadata: Read-only", "Issues: Read-only", "Pull requests: Read-only"):
        assert permission in text


# -- docker-compose.yml ------------------------------------------------------------------


def parse_block_yaml(text: str) -> Any:
    """The block-style YAML subset compose files use (this one and `docker-compose config`'s
    output): mappings, `- scalar` lists, quoted or plain scalars (plain ones may continue on
    deeper-indented lines) and JSON-style flow lists. Anything else fails an assertion."""
    lines = []
    for raw in text.splitlines():
        if raw.strip() and not raw.lstrip().startswith("#"):
            lines.append((len(raw) - len(raw.lstrip()), raw.strip()))
    value, end = _parse_node(lines, 0)
    assert end == len(lines), f"unparsed line: {lines[end]}"
    return value


def _parse_node(lines: list[tuple[int, str]], start: int) -> tuple[Any, int]:
    indent, first = lines[start]
    if first.startswith("- "):
        items, i = [], start
        while i < len(lines) and lines[i][0] == indent and lines[i][1].startswith("- "):
            item, i = _continued(lines, i, lines[i][1][2:].strip())
            items.append(item)
        return items, i
    mapping, i = {}, start
    while i < len(lines) and lines[i][0] == indent:
        key, sep, rest = lines[i][1].partition(":")
        assert sep, f"not a mapping entry: {lines[i][1]}"
        if rest.strip():
            mapping[key.strip()], i = _continued(lines, i, rest.strip())
        else:  # a nested block; a list may sit at the key's own indent
            below, child = lines[i + 1]
            assert below > indent or child.startswith("- "), f"empty value for {key}"
            mapping[key.strip()], i = _parse_node(lines, i + 1)
    return mapping, i


def _continued(lines: list[tuple[int, str]], i: int, text: str) -> tuple[Any, int]:
    """A scalar starting on line i, with the deeper-indented lines that fold into it."""
    indent, j = lines[i][0], i + 1
    while j < len(lines) and lines[j][0] > indent:
        text, j = f"{text} {lines[j][1]}", j + 1
    return _scalar(text), j


def _scalar(text: str) -> Any:
    if text.startswith(("[", '"')):
        return json.loads(text)
    if text.startswith("'"):
        return text[1:-1].replace("''", "'")
    if text in ("true", "false"):
        return text == "true"
    return text


def service_facts(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """What must hold in any rendering of the compose file, normalised."""
    return {
        name: {
            "image": service["image"],
            "command": service["command"],
            "mounts": [volume.split(":")[1] for volume in service.get("volumes", [])],
            "ports": [port.removesuffix("/tcp") for port in service.get("ports", [])],
            "restart": service["restart"],
            "healthcheck": service["healthcheck"]["test"],
            "environment": service.get("environment", {}),
        }
        for name, service in doc["services"].items()
    }


def assert_deployment_facts(facts: dict[str, dict[str, Any]]) -> None:
    assert set(facts) == {"api", "worker", "ui"}
    assert len({service["image"] for service in facts.values()}) == 1, "one image for all"
    parser = build_parser()
    for name, service in facts.items():
        assert service["command"] == COMMANDS[name]
        args = parser.parse_args(service["command"][3:])
        assert args.command == service["command"][3]
        assert service["ports"] == PORTS[name]
        assert all(port.startswith("127.0.0.1:") for port in service["ports"])
        assert service["mounts"] == MOUNTS[name]
        assert service["restart"] == "unless-stopped"
    assert "http://127.0.0.1:8000/healthz" in " ".join(facts["api"]["healthcheck"])
    assert "http://127.0.0.1:8080/healthz" in " ".join(facts["ui"]["healthcheck"])
    worker_check = facts["worker"]["healthcheck"]
    assert worker_check == ["CMD", *PMBOT, "worker", "--check"]
    assert parser.parse_args(worker_check[4:]).check is True
    allowed = facts["api"]["environment"]["PMBOT_ALLOWED_HOSTS"]
    assert set(allowed.split(",")) == {"api:8000", "localhost:8080", "127.0.0.1:8080"}
    assert facts["api"]["environment"]["PMBOT_DATA_DIR"] == "/data"
    assert facts["worker"]["environment"]["PMBOT_DATA_DIR"] == "/data"


def test_the_compose_file_has_the_stack_issue_7_describes() -> None:
    doc = parse_block_yaml(COMPOSE_FILE.read_text())
    assert_deployment_facts(service_facts(doc))
    for service in doc["services"].values():
        assert service["env_file"] == ".env"
        assert service["user"] == "${UID:-1000}:${GID:-1000}"
        assert service.get("volumes", ["./data:/data"]) == ["./data:/data"]
    assert "build" in doc["services"]["api"]


def test_the_yaml_free_parser_reads_what_it_claims() -> None:
    text = 'a:\n  b: "x:y"\n  c:\n    - "1"\n    - two\n  d: ["p", "q"]\n# note\ne: f\n'
    assert parse_block_yaml(text) == {
        "a": {"b": "x:y", "c": ["1", "two"], "d": ["p", "q"]},
        "e": "f",
    }


def compose_config(tmp_path: Path) -> dict[str, Any]:
    """`docker-compose config` on a copy of the repo's files, .env.example as .env."""
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("docker-compose is not installed (`make system-deps` installs Debian's)")
    for name in ("docker-compose.yml", "Dockerfile", ".dockerignore"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    env = {k: v for k, v in os.environ.items() if k not in ("UID", "GID")}
    done = subprocess.run(
        [binary, "config"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return parse_block_yaml(done.stdout)


def test_docker_compose_accepts_the_file_and_renders_the_same_facts(tmp_path: Path) -> None:
    doc = compose_config(tmp_path)
    assert_deployment_facts(service_facts(doc))
    for service in doc["services"].values():
        assert service["user"] == "1000:1000"
        assert service["environment"]["GITHUB_TOKEN"] == "", "env_file .env is read"
        for volume in service.get("volumes", []):
            assert volume.startswith(f"{tmp_path / 'data'}:/data")


# -- the ui proxy --------------------------------------------------------------------------


class EchoUpstream(http.server.ThreadingHTTPServer):
    """A stand-in api: records each request, answers what `reply` says."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _EchoHandler)
        self.seen: list[dict[str, Any]] = []
        self.reply: tuple[int, dict[str, str], bytes] = (200, {}, b"{}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _EchoHandler(http.server.BaseHTTPRequestHandler):
    server: EchoUpstream

    def _any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.seen.append(
            {"method": self.command, "path": self.path, "headers": self.headers, "body": body}
        )
        status, headers, payload = self.server.reply
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if status != 304:
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if status != 304 and self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _any

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def serving(app: Any) -> Iterator[int]:
    """`app` on real waitress, 127.0.0.1, an ephemeral port."""
    server = ServerThread(app, host="127.0.0.1", port=0, threads=4).start()
    try:
        yield server.port
    finally:
        server.stop()


@pytest.fixture
def upstream() -> Iterator[EchoUpstream]:
    server = EchoUpstream()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def static_root(tmp_path: Path) -> Path:
    root = tmp_path / "static"
    root.mkdir()
    (root / "index.html").write_text("<!doctype html><title>pmbot</title>")
    (root / "app.js").write_text("export const ok = true;\n")
    (tmp_path / "secret.txt").write_text("outside the static folder")
    return root


@pytest.fixture
def ui(upstream: EchoUpstream, static_root: Path) -> Iterator[int]:
    app = create_proxy_app(Upstream.parse(upstream.url), static_root, HostAllowlist(()))
    with serving(app) as port:
        yield port


def call(port: int, method: str, path: str, body: bytes | None = None, **headers: str):
    """One request to 127.0.0.1:port; headers by keyword (`X_PMBot_Request` → X-PMBot-Request)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    sent = {name.replace("_", "-"): value for name, value in headers.items()}
    conn.request(method, path, body=body, headers=sent)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response, data


def test_the_proxy_forwards_method_body_and_headers_and_rewrites_only_host(
    ui: int, upstream: EchoUpstream
) -> None:
    upstream.reply = (201, {"Content-Type": "application/json", "ETag": '"v2"'}, b'{"id": 7}')
    body = b'{"full_name": "acme/widgets"}'
    response, data = call(
        ui,
        "POST",
        "/api/repos?x=1&y=%20",
        body,
        X_PMBot_Request="1",
        Origin=f"http://127.0.0.1:{ui}",
        Sec_Fetch_Site="same-origin",
        Content_Type="application/json",
        If_None_Match='"v1"',
    )
    assert (response.status, data) == (201, b'{"id": 7}')
    assert response.getheader("ETag") == '"v2"'
    assert response.getheader("Content-Type") == "application/json"
    (seen,) = upstream.seen
    assert (seen["method"], seen["path"], seen["body"]) == ("POST", "/api/repos?x=1&y=%20", body)
    headers = seen["headers"]
    assert headers["Host"] == Upstream.parse(upstream.url).authority
    assert headers["X-PMBot-Request"] == "1"
    assert headers["Origin"] == f"http://127.0.0.1:{ui}"
    assert headers["Sec-Fetch-Site"] == "same-origin"
    assert headers["Content-Type"] == "application/json"
    assert headers["If-None-Match"] == '"v1"'


def test_the_proxy_adds_nothing_to_a_bodyless_post_and_passes_errors_through(
    ui: int, upstream: EchoUpstream
) -> None:
    problem = b'{"status": 403, "code": "csrf_header_missing"}'
    upstream.reply = (403, {"Content-Type": "application/problem+json"}, problem)
    response, data = call(ui, "POST", "/api/repos/1/sync")
    assert (response.status, data) == (403, problem)
    assert response.getheader("Content-Type") == "application/problem+json"
    headers = upstream.seen[0]["headers"]
    assert "Content-Type" not in headers and "X-PMBot-Request" not in headers
    assert headers.get("Content-Length") in (None, "0")


def test_the_proxy_passes_304_and_redirects_without_following(
    ui: int, upstream: EchoUpstream
) -> None:
    upstream.reply = (304, {"ETag": '"v1"'}, b"")
    response, data = call(ui, "GET", "/api/repos", If_None_Match='"v1"')
    assert (response.status, data, response.getheader("ETag")) == (304, b"", '"v1"')
    upstream.reply = (302, {"Location": "/api/elsewhere"}, b"")
    response, _ = call(ui, "GET", "/api/moved")
    assert (response.status, response.getheader("Location")) == (302, "/api/elsewhere")
    assert [seen["path"] for seen in upstream.seen] == ["/api/repos", "/api/moved"]


def test_the_proxy_checks_host_before_forwarding(ui: int, upstream: EchoUpstream) -> None:
    response, data = call(ui, "GET", "/api/repos", Host="evil.example:8080")
    assert response.status == 403
    assert response.getheader("Content-Type") == "application/problem+json"
    assert json.loads(data)["code"] == "host_not_allowed"
    assert upstream.seen == []


def test_the_proxy_refuses_a_body_over_the_api_limit_without_forwarding(
    ui: int, upstream: EchoUpstream
) -> None:
    body = b"x" * (MAX_BODY_BYTES + 1)
    response, data = call(ui, "POST", "/api/repos", body, Content_Type="application/json")
    assert response.status == 413
    assert json.loads(data)["code"] == "body_too_large"
    assert upstream.seen == []


def test_the_proxy_answers_502_when_the_api_is_down(static_root: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    upstream = Upstream("127.0.0.1", closed_port)
    with serving(create_proxy_app(upstream, static_root, HostAllowlist(()))) as port:
        response, data = call(port, "GET", "/api/repos")
        health, health_body = call(port, "GET", "/healthz")
    assert response.status == 502
    assert json.loads(data)["code"] == "api_unreachable"
    assert health.status == 200
    assert json.loads(health_body)["api"] == "unreachable"


def test_the_ui_serves_static_files_with_the_api_security_headers(ui: int) -> None:
    response, data = call(ui, "GET", "/")
    assert response.status == 200 and b"<title>pmbot</title>" in data
    for name, value in SECURITY_HEADERS.items():
        assert response.getheader(name) == value
    response, data = call(ui, "GET", "/static/app.js")
    assert response.status == 200 and b"export const ok" in data
    for escape in ("/static/../secret.txt", "/static/%2e%2e/secret.txt", "/../secret.txt"):
        response, data = call(ui, "GET", escape)
        assert response.status in (403, 404) and b"outside" not in data, escape


def test_the_ui_healthz_is_its_own_and_reports_the_api(ui: int, upstream: EchoUpstream) -> None:
    upstream.reply = (200, {"Content-Type": "application/json"}, b'{"ok": true}')
    response, data = call(ui, "GET", "/healthz")
    assert response.status == 200
    body = json.loads(data)
    assert (body["ok"], body["process"], body["api"]) == (True, "ui", "ok")
    assert [seen["path"] for seen in upstream.seen] == ["/healthz"]


def test_the_ui_command_refuses_a_bad_api_url_and_a_busy_port(capsys) -> None:
    from pmbot.cli import main

    assert main(["ui", "--api-url", "https://api:8000"]) == 2
    assert "expected http://host:port" in capsys.readouterr().err
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["ui", "--port", str(port), "--api-url", "http://127.0.0.1:9"]) == 2
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


# -- the services, run as compose runs them ----------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LocalStack:
    """The compose services as local processes: 0.0.0.0 → 127.0.0.1, the api/ui ports →
    free ports, `api:8000` → the api's local address, /data → a temp folder."""

    def __init__(self, workdir: Path, fake: FakeGitHub) -> None:
        self.workdir = workdir
        self.ports = {"8000": free_port(), "8080": free_port()}
        self.services = parse_block_yaml(COMPOSE_FILE.read_text())["services"]
        self.processes: dict[str, subprocess.Popen] = {}
        dotenv = (ROOT / ".env.example").read_text()
        dotenv = re.sub(r"(?m)^GITHUB_TOKEN=.*$", f"GITHUB_TOKEN={fake.token}", dotenv)
        dotenv = re.sub(r"(?m)^GITHUB_API_BASE=.*$", f"GITHUB_API_BASE={fake.base_url}", dotenv)
        (workdir / ".env").write_text(dotenv)  # what the operator does to .env.example

    def localize(self, text: str) -> str:
        text = text.replace("0.0.0.0", "127.0.0.1").replace("api:8000", "127.0.0.1:8000")
        text = re.sub(r"\b(8000|8080)\b", lambda m: str(self.ports[m[1]]), text)
        return text.replace("/data", str(self.workdir / "data"))

    def env(self, name: str) -> dict[str, str]:
        """env_file .env, then the service's `environment:`, as compose merges them."""
        service = self.services[name]
        env = dict(read_env_file(self.workdir / service["env_file"]))
        env.update({k: self.localize(v) for k, v in service.get("environment", {}).items()})
        return {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT), **env}

    def command(self, argv: list[str]) -> list[str]:
        argv = [self.localize(arg) for arg in argv]
        return [sys.executable, *argv[1:]] if argv[0] == "python" else argv

    def start(self, name: str) -> None:
        log = open(self.workdir / f"{name}.log", "wb")  # noqa: SIM115 (closed with the process)
        self.processes[name] = subprocess.Popen(
            self.command(self.services[name]["command"]),
            cwd=self.workdir,
            env=self.env(name),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    def healthcheck(self, name: str) -> subprocess.CompletedProcess:
        """The service's compose healthcheck (`CMD …`), run with the service's env."""
        test = self.services[name]["healthcheck"]["test"]
        assert test[0] == "CMD"
        return subprocess.run(
            self.command(test[1:]),
            cwd=self.workdir,
            env=self.env(name),
            capture_output=True,
            timeout=30,
        )

    def wait_healthy(self, name: str, deadline_seconds: float = 30) -> None:
        deadline = time.monotonic() + deadline_seconds
        while True:
            process = self.processes[name]
            assert process.poll() is None, f"{name} exited:\n{self.log(name)}"
            if self.healthcheck(name).returncode == 0:
                return
            assert time.monotonic() < deadline, f"{name} never healthy:\n{self.log(name)}"
            time.sleep(0.2)

    def log(self, name: str, tail: int = 4000) -> str:
        return (self.workdir / f"{name}.log").read_text(errors="replace")[-tail:]

    def stop(self) -> None:
        """SIGTERM, as `docker-compose stop` sends (idempotent)."""
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[LocalStack, FakeGitHub]]:
    with FakeGitHub() as fake:
        local = LocalStack(tmp_path, fake)
        try:
            yield local, fake
        finally:
            local.stop()


def ui_call(local: LocalStack, method: str, path: str, body: Any = None, **headers: str):
    data = None if body is None else json.dumps(body).encode()
    response, raw = call(local.ports["8080"], method, path, data, **headers)
    return response.status, json.loads(raw) if raw else None


@pytest.mark.slow
def test_each_service_runs_as_compose_runs_it_and_the_proxy_drives_the_api(stack) -> None:
    local, fake = stack
    fake.add_repo("acme/widgets")
    for title in ("first", "second"):
        fake.add_issue("acme/widgets", title=title)
    fake.add_pr("acme/widgets", title="a change")
    for name in ("api", "worker", "ui"):
        local.start(name)
    for name in ("api", "ui", "worker"):
        local.wait_healthy(name)

    ui_origin = f"http://127.0.0.1:{local.ports['8080']}"
    write = {"X_PMBot_Request": "1", "Content_Type": "application/json"}
    status, _ = ui_call(
        local, "POST", "/api/repos", {"full_name": "acme/evil"}, **write,
        Origin="http://evil.example", Sec_Fetch_Site="cross-site",
    )  # fmt: skip
    assert status == 403
    status, body = ui_call(
        local, "POST", "/api/repos", {"full_name": "acme/widgets"}, **write,
        Origin=ui_origin, Sec_Fetch_Site="same-origin",
    )  # fmt: skip
    assert status == 201, body
    status, listing = ui_call(local, "GET", "/api/repos")
    assert status == 200
    assert [repo["full_name"] for repo in listing["items"]] == ["acme/widgets"]

    deadline = time.monotonic() + 30
    while True:
        status, repo = ui_call(local, "GET", f"/api/repos/{body['repo_id']}/status")
        counts = repo["counts"]
        if (counts["issues_open"], counts["prs_open"]) == (2, 1):
            break
        assert time.monotonic() < deadline, f"never synced: {repo}\n{local.log('worker')}"
        time.sleep(0.2)
    status, health = ui_call(local, "GET", "/healthz")
    assert (status, health["api"]) == (200, "ok")

    response, page = call(local.ports["8080"], "GET", "/")
    assert response.status == 200
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page.decode())
    assert "/static/app.js" in assets
    for asset in assets:
        assert call(local.ports["8080"], "GET", asset)[0].status == 200, asset

    local.stop()
    logs = [local.log(name, tail=10**7) for name in local.processes]
    logs += [path.read_text() for path in (local.workdir / "data" / "logs").glob("*.log*")]
    assert logs and not any(fake.token in text for text in logs), "the token reached a log"
