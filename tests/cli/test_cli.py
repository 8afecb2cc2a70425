"""The real ``iml4e`` command: help everywhere, JSON output, exit codes for bad input."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from iml4e import __version__
from iml4e.ports import find_free_port
from tests.conftest import run_iml4e

COMMANDS = ("init", "config", "doctor", "demo", "up", "serve")


def test_version() -> None:
    result = run_iml4e("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"iml4e {__version__}"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str) -> None:
    result = run_iml4e(command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout


def test_init_then_doctor_passes_and_reports_json(tmp_path: Path) -> None:
    home = tmp_path / "home"
    init = run_iml4e("--home", str(home), "init", "--json")
    assert init.returncode == 0, init.stderr
    assert json.loads(init.stdout)["schema_revision"]
    assert (home / "iml4e.db").exists()
    doctor = run_iml4e("--home", str(home), "doctor", "--json")
    assert doctor.returncode == 0, doctor.stdout
    checks = {check["name"]: check["status"] for check in json.loads(doctor.stdout)}
    assert checks["database"] == checks["iml4e schema"] == checks["mlflow schema"] == "ok"
    assert checks["home"] == checks["artifact root"] == "ok"
    table = run_iml4e("--home", str(home), "doctor")
    assert table.returncode == 0
    assert "mlflow schema" in table.stdout


def test_doctor_fails_with_exit_1_on_an_uninitialised_home(tmp_path: Path) -> None:
    doctor = run_iml4e("--home", str(tmp_path / "never"), "doctor", "--json")
    assert doctor.returncode == 1
    failed = [c["name"] for c in json.loads(doctor.stdout) if c["status"] == "fail"]
    assert {"home", "artifact root", "database"} <= set(failed)
    assert not (tmp_path / "never").exists()  # doctor changes nothing


def test_config_prints_sources_and_masks_secrets(tmp_path: Path) -> None:
    (tmp_path / "iml4e.toml").write_text("server_port = 9100\n")
    result = run_iml4e(
        "config",
        "--json",
        cwd=tmp_path,
        env={"IML4E_DATABASE_URL": "postgresql+psycopg://team:hunter2@db:5432/x"},
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert "hunter2" not in result.stdout
    assert data["settings"]["database_url"]["source"] == "env IML4E_DATABASE_URL"
    assert data["settings"]["server_port"] == {
        "value": 9100,
        "source": f"file {tmp_path / 'iml4e.toml'}",
    }
    assert data["settings"]["mlflow_tracking_uri"]["value"].endswith("team:***@db:5432/x")


def _assert_clean_bad_input(result, *fragments: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


def test_unknown_environment_setting(tmp_path: Path) -> None:
    result = run_iml4e("config", cwd=tmp_path, env={"IML4E_DATABSE_URL": "sqlite://"})
    _assert_clean_bad_input(result, "IML4E_DATABSE_URL", "unknown setting")


def test_unknown_key_in_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "iml4e.toml").write_text('databse_url = "sqlite://"\n')
    _assert_clean_bad_input(run_iml4e("init", cwd=tmp_path), "databse_url", "iml4e.toml")


def test_database_that_does_not_connect_leaves_nothing_behind(tmp_path: Path) -> None:
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    url = f"postgresql+psycopg://nobody:pw@127.0.0.1:{port}/nothing"
    result = run_iml4e("--home", str(tmp_path / "home"), "--database-url", url, "init")
    _assert_clean_bad_input(result, "cannot connect to the database", f"127.0.0.1:{port}")
    assert "pw@" not in result.stderr
    assert not (tmp_path / "home").exists()


@pytest.mark.parametrize("home", ["/proc/iml4e-home", "{tmp}/a-file/home"])
def test_home_that_cannot_be_written(tmp_path: Path, home: str) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    home = home.format(tmp=tmp_path)
    result = run_iml4e("--home", home, "init")
    _assert_clean_bad_input(result, "home", "not writable", home)


def test_port_in_use_for_the_model_server(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_iml4e(
            "--home", str(tmp_path / "h"), "serve", "models:/m@champion", "--port", str(port)
        )
    _assert_clean_bad_input(result, f"127.0.0.1:{port}", "already in use")


def test_serving_a_model_that_does_not_exist(tmp_path: Path) -> None:
    port = str(find_free_port())
    result = run_iml4e(
        "--home", str(tmp_path / "h"), "serve", "models:/nothing@champion", "--port", port
    )
    _assert_clean_bad_input(result, "models:/nothing@champion")


@pytest.mark.parametrize(
    ("options", "where"),
    [
        (("--split", "0.2"), "--split"),
        (("--challenger", "models:/m@challenger"), "--challenger"),
        (("--challenger", "models:/m@challenger", "--split", "1.5"), "--split"),
        (("--challenger", "models:/m@c", "--split", "0.1", "--shadow", "models:/m@s"), "--shadow"),
    ],
)
def test_serve_refuses_traffic_rules_that_do_not_fit(
    tmp_path: Path, options: tuple[str, ...], where: str
) -> None:
    port = str(find_free_port())
    result = run_iml4e(
        "--home", str(tmp_path / "h"), "serve", "models:/m@champion", "--port", port, *options
    )
    _assert_clean_bad_input(result, where)


@pytest.mark.parametrize(
    "args",
    [
        ("init", "--bogus"),
        ("no-such-command",),
        ("demo", "--rows", "ten"),
        ("demo", "--gate", "roc_auc~0.5"),
    ],
)
def test_usage_errors_exit_2(tmp_path: Path, args: tuple[str, ...]) -> None:
    result = run_iml4e("--home", str(tmp_path / "h"), *args)
    _assert_clean_bad_input(result)
