"""The ``mrd`` command: migrate and key creation, run as a user would."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import orjson
from typer.testing import CliRunner, Result

from app.cli import cli
from app.db.engine import Database
from app.db.migrations import current_revision, head_revision
from app.logs import configure_logging
from app.services.keys import authenticate


def run_cli(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def mrd(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"MRD_DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "app", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_migrate_then_create_key(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    migrated = mrd("migrate", database_url=url)
    assert migrated.returncode == 0, migrated.stderr
    db = Database(url)
    assert current_revision(db.engine) == head_revision(url)

    created = mrd(
        "keys",
        "create",
        "--name",
        "pipeline",
        "--scope",
        "ingest",
        "--scope",
        "read",
        database_url=url,
    )
    assert created.returncode == 0, created.stderr
    secret = created.stdout.split("key:")[-1].strip()
    with db.sessions() as session:
        principal = authenticate(session, secret)
    db.dispose()
    assert principal is not None
    assert principal.scopes == {"ingest", "read"}


def test_unknown_scope_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    mrd("migrate", database_url=url)
    result = mrd("keys", "create", "--name", "x", "--scope", "root", database_url=url)
    assert result.returncode != 0
    assert "unknown scope" in result.stdout + result.stderr


def test_help_lists_commands() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app", "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    for command in ("serve", "migrate", "keys"):
        assert command in result.stdout


def test_json_logs(capsys) -> None:  # type: ignore[no-untyped-def]
    configure_logging("INFO", as_json=True)
    logging.getLogger("mrd.test").warning("هجوم %s", "بلاغات")
    line = capsys.readouterr().err.strip().splitlines()[-1]
    entry = json.loads(line)
    assert entry["level"] == "warning"
    assert entry["message"] == "هجوم بلاغات"
    assert entry["time"].endswith("Z")
    # Structured fields are keys of their own, not a repr inside the message.
    logging.getLogger("mrd.test").info(
        "run %s done", "r1", extra={"fields": {"run_id": "r1", "waves": 3, "message": "x"}}
    )
    entry = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert entry["run_id"] == "r1" and entry["waves"] == 3 and entry["message"] == "run r1 done"
    configure_logging("INFO", as_json=False)


def test_analyze_writes_a_self_contained_html_report(tmp_path: Path) -> None:
    folder = tmp_path / "set"
    assert run_cli("simulate", "--out", str(folder), "--scale", "0.2", "--seed", "5").exit_code == 0
    report = tmp_path / "report.html"
    result = run_cli("analyze", str(folder), "--html", str(report))
    assert result.exit_code == 0, result.output
    assert f"HTML report -> {report}" in result.output
    page = report.read_text("utf-8")
    document = orjson.loads((folder / "analysis.json").read_bytes())
    flagged = [w for w in document["waves"] if w["label"] == "orchestrated"]
    assert flagged
    # Self-contained: no script, nothing fetched from elsewhere.
    assert "<script" not in page and "src=" not in page and "http" not in page.split("</title>")[1]
    # Both charts drawn, with bars of both kinds, and the tables filled.
    assert page.count("<svg") == 2
    assert 'fill="#c0392b"' in page and 'fill="#7f8c9a"' in page
    assert flagged[0]["target_id"] in page
    # Accounts are shown as people know them: handle beside the id.
    handles = {
        a["account_id"]: a["handle"]
        for a in map(orjson.loads, (folder / "accounts.ndjson").read_bytes().splitlines())
    }
    target = flagged[0]["target_id"]
    assert f"@{handles[target]} ({target})" in page
    assert f"<b>{len(flagged):,}</b>orchestrated" in page
    assert 'dir="auto"' in page


def test_every_command_and_option_has_help() -> None:
    import typer

    def commands(group: Any, prefix: str = "") -> list[tuple[str, Any]]:
        found = []
        for name, command in group.commands.items():
            if hasattr(command, "commands"):
                found += commands(command, f"{prefix}{name} ")
            else:
                found.append((prefix + name, command))
        return found

    listed = commands(typer.main.get_command(cli))
    names = {name for name, _ in listed}
    assert {"serve", "migrate", "keys create", "simulate", "load", "analyze"} <= names
    assert {"evaluate", "import-tweets", "demo"} <= names
    for name, command in listed:
        assert command.help and len(command.help) > 20, name
        for param in command.params:
            if param.name != "help":
                assert getattr(param, "help", None), (name, param.name)
        shown = run_cli(*name.split(), "--help")
        assert shown.exit_code == 0 and "Usage" in shown.output, name


def one_line_failure(result: subprocess.CompletedProcess[str], code: int) -> str:
    """The command failed with ``code`` and said why in one line, without a traceback."""
    assert result.returncode == code, (result.returncode, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1, lines
    return lines[0]


def test_evaluate_with_a_wrong_key_says_so_in_one_line(tmp_path: Path, service: Any) -> None:
    folder = tmp_path / "set"
    assert run_cli("simulate", "--out", str(folder), "--scale", "0.05").exit_code == 0
    wrong_key = ("evaluate", str(folder), "--url", service.url, "--api-key", "wrong")
    line = one_line_failure(mrd(*wrong_key, database_url="sqlite://"), 1)
    assert "401" in line and "--api-key" in line, line
    # --debug shows the traceback instead.
    debug = mrd("--debug", *wrong_key, database_url="sqlite://")
    assert debug.returncode == 1 and "Traceback" in debug.stderr


def test_spark_engine_without_its_extra_says_how_to_install_it(tmp_path: Path) -> None:
    folder = tmp_path / "set"
    assert run_cli("simulate", "--out", str(folder), "--scale", "0.05").exit_code == 0
    hide_spark = (
        "import sys; sys.modules['pyspark'] = None; from app.cli import main; "
        f"sys.argv = ['mrd', 'analyze', {str(folder)!r}, '--engine', 'spark']; main()"
    )
    result = subprocess.run(
        [sys.executable, "-c", hide_spark], capture_output=True, text=True, timeout=120
    )
    line = one_line_failure(result, 1)
    assert "mass-report-detector[spark]" in line, line


def test_demo_on_a_busy_port_stops_before_preparing(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        before = set(Path(tempfile.gettempdir()).glob("mrd-demo-*"))
        result = mrd("demo", "--port", str(port), "--tweets", __file__, database_url="sqlite://")
    line = one_line_failure(result, 1)
    assert f"127.0.0.1:{port}" in line and "--port" in line, line
    assert set(Path(tempfile.gettempdir()).glob("mrd-demo-*")) == before  # nothing left behind


def test_simulate_refuses_a_folder_with_files_unless_forced(tmp_path: Path) -> None:
    folder = tmp_path / "set"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    result = mrd("simulate", "--out", str(folder), "--scale", "0.05", database_url="sqlite://")
    assert "--force" in one_line_failure(result, 2)
    assert (folder / "notes.txt").read_text() == "mine"
    assert not (folder / "reports.ndjson").exists()
    forced = mrd(
        "simulate", "--out", str(folder), "--scale", "0.05", "--force", database_url="sqlite://"
    )
    assert forced.returncode == 0 and (folder / "reports.ndjson").exists()


def test_atproto_key_makes_a_key_and_shows_the_public_half() -> None:
    unset = {k: v for k, v in os.environ.items() if k != "MRD_ATPROTO_LABEL_KEY"}
    # Without a key, it says how to make one rather than printing one unasked.
    missing = subprocess.run(
        [sys.executable, "-m", "app", "atproto-key"], env=unset, capture_output=True, text=True
    )
    assert missing.returncode == 2 and "--new" in missing.stderr
    made = subprocess.run(
        [sys.executable, "-m", "app", "atproto-key", "--new"],
        env=unset,
        capture_output=True,
        text=True,
    )
    assert made.returncode == 0, made.stderr
    lines = dict(line.split(maxsplit=1) for line in made.stdout.replace("=", " ", 1).splitlines())
    key = lines["MRD_ATPROTO_LABEL_KEY"]
    public = lines["publicKeyMultibase:"]
    assert lines["did:key:"] == f"did:key:{public}" and public.startswith("zQ3s")
    # Given the key, it shows the same public half and not the key.
    env = unset | {"MRD_ATPROTO_LABEL_KEY": key}
    shown = subprocess.run(
        [sys.executable, "-m", "app", "atproto-key"], env=env, capture_output=True, text=True
    )
    assert shown.returncode == 0 and key not in shown.stdout
    assert f"publicKeyMultibase: {public}" in shown.stdout


def test_a_malformed_secret_setting_is_named_not_printed() -> None:
    secret = "0x" + "5d1e6b7a0c9f8e7d" * 4
    env = os.environ | {"MRD_ATPROTO_LABEL_KEY": secret}
    shown = subprocess.run(
        [sys.executable, "-m", "app", "atproto-key"], env=env, capture_output=True, text=True
    )
    assert shown.returncode != 0 and "atproto_label_key" in shown.stderr
    assert "5d1e6b7a" not in shown.stdout + shown.stderr
