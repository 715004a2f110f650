"""A git server on 127.0.0.1: `git http-backend` behind a small CGI wrapper with GitHub's auth.

GitHub's git endpoint takes the token as HTTP Basic, user `x-access-token`; a
request without it, or with a wrong one, gets 401 with `WWW-Authenticate`.
Bare repositories live at `root/<owner>/<name>.git`, so a FakeGitHub built with
`html_base=server.base_url` gives `clone_url`s pointing here.

    with GitHttpServer(tmp_path / "origins", token) as git_server:
        work = make_origin(git_server.root, "acme/widgets")   # a work tree pushing there
        commit(work, "second"); push(work)
        git_server.hold_uploads.set()   # stall the next upload-pack until released
"""

from __future__ import annotations

import base64
import os
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

GIT_ENV = {
    **{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
    "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
}


def git(*args: str, cwd: Path | None = None, input: bytes | None = None) -> str:
    """Run git for a test's own setup (fixed identity and dates, no user config)."""
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=GIT_ENV, input=input, capture_output=True, check=True
    )
    return done.stdout.decode()


def make_origin(root: Path, full_name: str, *, files: dict[str, str] | None = None) -> Path:
    """A bare origin at `root/<full_name>.git` with one commit on `main`; returns a work tree."""
    origin = root / f"{full_name}.git"
    origin.parent.mkdir(parents=True, exist_ok=True)
    git("init", "--bare", "--quiet", "--initial-branch=main", str(origin))
    work = root.parent / "work" / full_name
    git("init", "--quiet", "--initial-branch=main", str(work))
    git("remote", "add", "origin", str(origin), cwd=work)
    for name, text in (files or {"README.md": f"# {full_name}\n"}).items():
        (work / name).write_text(text)
    git("add", "-A", cwd=work)
    git("commit", "--quiet", "-m", "initial", cwd=work)
    git("push", "--quiet", "origin", "main", cwd=work)
    return work


def commit(work: Path, message: str, name: str = "CHANGES.txt") -> str:
    """Append a line to `name`, commit it and return the new commit id."""
    with (work / name).open("a") as handle:
        handle.write(message + "\n")
    git("add", "-A", cwd=work)
    git("commit", "--quiet", "-m", message, cwd=work)
    return git("rev-parse", "HEAD", cwd=work).strip()


class GitHttpServer:
    """Serves `root` over smart HTTP; records each request's (method, path, authorized)."""

    def __init__(self, root: Path, token: str, user: str = "x-access-token") -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.expected = "Basic " + base64.b64encode(f"{user}:{token}".encode()).decode()
        self.requests: list[tuple[str, str, bool]] = []
        self.hold_uploads = threading.Event()
        self.upload_started = threading.Event()
        self.release = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> str:
        server = self
        handler = type("Handler", (_Handler,), {"git_server": server})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self.base_url

    def stop(self) -> None:
        self.release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> GitHttpServer:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    git_server: GitHttpServer

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        server = self.git_server
        body = self._body()
        authorized = self.headers.get("Authorization") == server.expected
        server.requests.append((self.command, self.path, authorized))
        if not authorized:
            self._reply(401, {"WWW-Authenticate": 'Basic realm="GitHub"'}, b"")
            return
        if self.path.endswith("git-upload-pack") and server.hold_uploads.is_set():
            server.upload_started.set()
            server.release.wait(60)
        self._cgi(body)

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _cgi(self, body: bytes) -> None:
        url = urlsplit(self.path)
        env = {
            **GIT_ENV,
            "GIT_PROJECT_ROOT": str(self.git_server.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": url.path,
            "QUERY_STRING": url.query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": "x-access-token",
            "REMOTE_ADDR": "127.0.0.1",
            "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
            "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
        }
        done = subprocess.run(
            ["git", "http-backend"], env=env, input=body, capture_output=True, check=False
        )
        head, _, payload = done.stdout.partition(b"\r\n\r\n")
        if not _:
            head, _, payload = done.stdout.partition(b"\n\n")
        status, headers = 200, {}
        for line in head.decode("latin-1").splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers[name] = value.strip()
        self._reply(status, headers, payload)

    def _reply(self, status: int, headers: dict[str, str], payload: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
