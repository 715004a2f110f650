"""Settings parsing, `.env` precedence, token masking, data dir and logging."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from pmbot.shared.datadir import SUBDIRS, DataDirError, ensure_layout, layout_problems
from pmbot.shared.logs import setup_logging
from pmbot.shared.settings import Secret, Settings, SettingsError

TOKEN = "ghp_" + "a1B2c3D4e5" * 4


def test_defaults_without_environment():
    settings = Settings.from_env({}, env_file=None)

    assert settings.data_dir == Path("./data")
    assert settings.db_path == Path("data/control_plane/pm_bot.sqlite3")
    assert settings.github_api_base == "https://api.github.com"
    assert (settings.sync_poll_seconds, settings.sync_overlap_seconds) == (300, 300)
    assert (settings.sync_closed_days, settings.reconcile_closed_days) == (90, 7)
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.allowed_hosts == ()
    assert settings.log_level == "INFO"
    assert not settings.token_present


def test_values_from_environment():
    settings = Settings.from_env(
        {
            "PMBOT_DATA_DIR": "/srv/pm",
            "GITHUB_TOKEN": TOKEN,
            "GITHUB_API_BASE": "http://127.0.0.1:9999/",
            "PMBOT_SYNC_POLL_SECONDS": "60",
            "PMBOT_SYNC_OVERLAP_SECONDS": "0",
            "PMBOT_PORT": "8123",
            "PMBOT_ALLOWED_HOSTS": "api:8000, LocalHost:8080",
            "PMBOT_LOG_LEVEL": "debug",
        },
        env_file=None,
    )

    assert settings.db_path == Path("/srv/pm/control_plane/pm_bot.sqlite3")
    assert settings.github_token.reveal() == TOKEN
    assert settings.github_api_base == "http://127.0.0.1:9999"
    assert settings.sync_poll_seconds == 60
    assert settings.sync_overlap_seconds == 0
    assert settings.port == 8123
    assert settings.allowed_hosts == ("api:8000", "localhost:8080")
    assert settings.log_level == "DEBUG"


def test_db_url_must_be_sqlite():
    assert Settings.from_env(
        {"PMBOT_DB_URL": "sqlite:////data/x.sqlite3"}, env_file=None
    ).db_path == Path("/data/x.sqlite3")
    with pytest.raises(SettingsError, match="PMBOT_DB_URL"):
        Settings.from_env({"PMBOT_DB_URL": "postgresql://db/pmbot"}, env_file=None)


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("PMBOT_SYNC_POLL_SECONDS", "abc", "a whole number > 0"),
        ("PMBOT_SYNC_POLL_SECONDS", "-5", "a whole number > 0"),
        ("PMBOT_SYNC_POLL_SECONDS", "0", "a whole number > 0"),
        ("PMBOT_SYNC_OVERLAP_SECONDS", "-1", "a whole number ≥ 0"),
        ("PMBOT_SYNC_CLOSED_DAYS", "ninety", "a whole number ≥ 0"),
        ("PMBOT_RECONCILE_CLOSED_DAYS", "-7", "a whole number ≥ 0"),
        ("PMBOT_PORT", "70000", "a port from 1 to 65535"),
        ("PMBOT_LOG_LEVEL", "LOUD", "one of DEBUG"),
        ("GITHUB_API_BASE", "api.github.com", "an http(s):// URL"),
        ("PMBOT_ALLOWED_HOSTS", "good:1,bad/host", "host[:port]"),
        ("PMBOT_MIRRORS", "maybe", "1 or 0"),
        ("PMBOT_MIRROR_FETCH_SECONDS", "0", "a whole number > 0"),
    ],
)
def test_bad_value_names_variable_and_accepted_form(variable, value, expected):
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({variable: value}, env_file=None)

    message = str(raised.value)
    assert variable in message and expected in message
    assert "\n" not in message


def test_mirror_settings_are_off_by_default_and_read_from_the_environment():
    default = Settings.from_env({}, env_file=None)
    assert (default.mirrors, default.mirror_fetch_seconds, default.mirror_partial_clone) == (
        False, 900, False
    )  # fmt: skip
    on = Settings.from_env(
        {"PMBOT_MIRRORS": "1", "PMBOT_MIRROR_FETCH_SECONDS": "60",
         "PMBOT_MIRROR_PARTIAL_CLONE": "true"},
        env_file=None,
    )  # fmt: skip
    assert (on.mirrors, on.mirror_fetch_seconds, on.mirror_partial_clone) == (True, 60, True)


def test_env_file_is_read_and_real_environment_wins(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text(
        "# comment\n"
        "export PMBOT_PORT=9001\n"
        "PMBOT_SYNC_POLL_SECONDS='120'\n"
        'PMBOT_DATA_DIR="/from/file"  \n'
        "PMBOT_LOG_LEVEL=WARNING # trailing comment\n"
        "not a variable line\n"
    )

    settings = Settings.from_env({"PMBOT_PORT": "9002"}, env_file=env_file)

    assert settings.port == 9002
    assert settings.sync_poll_seconds == 120
    assert settings.data_dir == Path("/from/file")
    assert settings.log_level == "WARNING"


def test_missing_env_file_is_fine(tmp_path):
    assert Settings.from_env({}, env_file=tmp_path / "absent").port == 8000


def test_token_is_masked_everywhere_but_reveal():
    settings = Settings.from_env({"GITHUB_TOKEN": TOKEN}, env_file=None)

    for shown in (repr(settings), str(settings), f"{settings.github_token}", f"{settings}"):
        assert TOKEN not in shown
    assert "***" in repr(settings.github_token)
    with pytest.raises(TypeError):
        json.dumps({"token": settings.github_token})
    assert settings.github_token == Secret(TOKEN)
    assert settings.token_present


def test_layout_is_created_idempotently(tmp_path):
    root = ensure_layout(tmp_path / "data")
    ensure_layout(tmp_path / "data")

    assert sorted(p.name for p in root.iterdir()) == sorted(SUBDIRS)
    assert layout_problems(root) == []


def test_data_dir_that_is_a_file_names_the_path(tmp_path):
    blocker = tmp_path / "data"
    blocker.write_text("not a folder")

    with pytest.raises(DataDirError) as raised:
        ensure_layout(blocker)

    assert str(blocker) in str(raised.value)


def test_logs_are_json_lines_without_token_or_authorization(tmp_path, capsys):
    setup_logging("test", tmp_path, "DEBUG", secrets=(TOKEN,))
    log = logging.getLogger("pmbot.test")

    log.info("calling GitHub with %s", TOKEN)
    log.warning("headers: {'Authorization': 'Bearer %s'}", "xyz-secret-value")
    log.info("fine-grained github_pat_%s", "A1" * 20)
    try:
        raise RuntimeError(f"boom {TOKEN}")
    except RuntimeError:
        log.exception("failed")

    written = (tmp_path / "test.log").read_text()
    lines = [json.loads(line) for line in written.splitlines()]
    assert [entry["level"] for entry in lines] == ["INFO", "WARNING", "INFO", "ERROR"]
    assert lines[0]["msg"] == "calling GitHub with ***"
    everything = written + capsys.readouterr().err
    for secret in (TOKEN, "xyz-secret-value", "A1" * 20):
        assert secret not in everything
    assert "boom ***" in lines[3]["exc"]
