"""The docs stay true: relative links resolve, and every command they show parses."""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from pmbot.cli import build_parser
from tests.readme_commands import everyday_commands

ROOT = Path(__file__).resolve().parent.parent
MARKDOWN = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
COMMAND_DOCS = [ROOT / "README.md", ROOT / "docs" / "runbooks" / "first-local-setup.md"]

_FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"`([^`\n]+)`")
_INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE_LINK = re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s.*)?$", re.MULTILINE)
_COMMAND = re.compile(r"(?:python3? -m pmbot|(?<![\w/.:-])pmbot)((?:[ \t]+[^\s`|;&#)]+)+)")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def _prose(text: str) -> str:
    """The text outside fenced code blocks (links inside code are examples, not links)."""
    return _FENCE.sub("", text)


def relative_links(text: str) -> list[str]:
    prose = _CODE_SPAN.sub("", _prose(text))
    links = _INLINE_LINK.findall(prose) + _REFERENCE_LINK.findall(prose)
    return [link for link in links if not re.match(r"^[a-z][a-z0-9+.-]*:", link, re.I)]


def anchors(text: str) -> set[str]:
    """GitHub's heading ids: lower case, punctuation dropped, spaces to hyphens."""
    found = set()
    for heading in _HEADING.findall(_prose(text)):
        plain = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
        found.add(re.sub(r"[^\w\- ]", "", plain).replace(" ", "-"))
    return found


def code_snippets(text: str) -> list[str]:
    """Every fenced code line (continuations joined) and every inline code span."""
    snippets = []
    for block in _FENCE.findall(text):
        body = "\n".join(block.splitlines()[1:-1]).replace("\\\n", " ")
        snippets += body.splitlines()
    return snippets + _CODE_SPAN.findall(_FENCE.sub("", text))


def shown_commands(text: str) -> list[list[str]]:
    """The argument lists of `pmbot …` / `python -m pmbot …` commands in the code."""
    commands = []
    for snippet in code_snippets(text):
        for match in _COMMAND.finditer(snippet):
            argv = shlex.split(match.group(1).replace("…", ""))
            if argv:
                commands.append(argv)
    return commands


def _link_problem(doc: Path, link: str) -> str | None:
    path_part, _, anchor = link.partition("#")
    target = (doc.parent / path_part).resolve() if path_part else doc
    if not target.exists():
        return f"{doc.relative_to(ROOT)}: link {link!r} points to a missing file"
    if anchor and target.suffix == ".md" and anchor not in anchors(target.read_text()):
        return f"{doc.relative_to(ROOT)}: link {link!r} has no heading #{anchor}"
    return None


@pytest.mark.parametrize("doc", MARKDOWN, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(doc: Path) -> None:
    problems = [_link_problem(doc, link) for link in relative_links(doc.read_text())]
    assert [p for p in problems if p] == []


@pytest.mark.parametrize("doc", COMMAND_DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_command_shown_exists_in_the_cli(doc: Path) -> None:
    commands = shown_commands(doc.read_text())
    assert commands, f"{doc.name} shows no pmbot command"
    parser = build_parser()
    refused = []
    for argv in commands:
        errors = io.StringIO()
        try:
            with contextlib.redirect_stderr(errors):
                parser.parse_args(argv)
        except SystemExit:
            refused.append(f"pmbot {' '.join(argv)}: {errors.getvalue().strip().splitlines()[-1]}")
    assert refused == []


def test_the_runbook_covers_what_an_operator_needs() -> None:
    text = (ROOT / "docs" / "runbooks" / "first-local-setup.md").read_text()
    for needed in (
        "cp .env.example .env",
        "docker-compose up",
        "make run",
        "X-PMBot-Request: 1",
        "pmbot repos add",
        "sqlite3 data/control_plane/pm_bot.sqlite3",
        "pmbot status",
        "pmbot doctor",
        "pmbot backup",
        "401",
        "404",
        "rate limited",
        "database is locked",
    ):
        assert needed in text, needed


def test_the_readme_table_shows_every_cli_command() -> None:
    table = " ".join(everyday_commands((ROOT / "README.md").read_text()))
    commands = build_parser()._subparsers._group_actions[0].choices

    assert [name for name in commands if f"pmbot {name}" not in table] == []


def test_both_docs_say_how_to_get_pmbot_on_the_path() -> None:
    for doc in COMMAND_DOCS:
        assert "source .venv/bin/activate" in doc.read_text(), doc.name
    runbook = (ROOT / "docs" / "runbooks" / "first-local-setup.md").read_text()
    assert "\npython -m pmbot" not in runbook, "bare `python -m pmbot` needs the venv's python"


def test_the_runbook_backup_folder_is_git_ignored() -> None:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "backups/pm_bot-2024-06-03.sqlite3"], cwd=ROOT
    )
    assert ignored.returncode == 0, "add /backups/ to .gitignore"


def test_the_command_finder_sees_commands_and_ignores_paths() -> None:
    text = (
        "Run `pmbot repos add owner/name` or see `pmbot/cli/`.\n"
        "```sh\ndocker-compose exec api python -m pmbot doctor  # check\n"
        "pmbot serve \\\n  --no-worker\n```\n"
    )
    assert shown_commands(text) == [
        ["doctor"],
        ["serve", "--no-worker"],
        ["repos", "add", "owner/name"],
    ]


def test_the_link_checker_finds_a_broken_link(tmp_path: Path) -> None:
    doc = tmp_path / "a.md"
    doc.write_text("# Title here\n[ok](#title-here) [bad](missing.md) [web](https://x.test)\n")
    assert relative_links(doc.read_text()) == ["#title-here", "missing.md"]
    assert anchors(doc.read_text()) == {"title-here"}
    assert not (tmp_path / "missing.md").exists()
