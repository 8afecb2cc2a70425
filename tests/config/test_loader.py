"""Settings: precedence, provenance, derived values and bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from iml4e.config import ConfigError, load_settings


def test_defaults_live_in_a_home_folder_under_the_working_directory(tmp_path: Path) -> None:
    resolved = load_settings(environ={}, cwd=tmp_path)
    settings = resolved.settings
    assert settings.home == tmp_path / ".iml4e"
    assert settings.database_url == f"sqlite:///{tmp_path / '.iml4e' / 'iml4e.db'}"
    assert settings.artifact_root == str(tmp_path / ".iml4e" / "artifacts")
    assert (settings.server_host, settings.server_port, settings.mlflow_port) == (
        "127.0.0.1",
        8765,
        8766,
    )
    assert settings.mlflow_tracking_uri == settings.database_url
    assert settings.mlflow_registry_uri == settings.database_url
    assert resolved.sources["home"] == "default"
    assert resolved.sources["mlflow_tracking_uri"] == "derived from database_url"
    assert resolved.config_file is None


def test_arguments_beat_environment_beat_file_beat_defaults(tmp_path: Path) -> None:
    (tmp_path / "iml4e.toml").write_text(
        'server_port = 9001\nserver_host = "0.0.0.0"\nuser = "file-user"\n'
    )
    resolved = load_settings(
        {"user": "arg-user"},
        environ={"IML4E_SERVER_PORT": "9002", "IML4E_USER": "env-user"},
        cwd=tmp_path,
    )
    assert resolved.settings.user == "arg-user"
    assert resolved.settings.server_port == 9002
    assert resolved.settings.server_host == "0.0.0.0"
    assert resolved.settings.mlflow_port == 9003  # follows the effective server port
    assert resolved.sources["user"] == "argument"
    assert resolved.sources["server_port"] == "env IML4E_SERVER_PORT"
    assert resolved.sources["server_host"] == f"file {tmp_path / 'iml4e.toml'}"


def test_one_setting_moves_mlflow_and_the_store_to_postgresql(tmp_path: Path) -> None:
    url = "postgresql+psycopg://team:s3cret@db.internal:5432/iml4e"
    settings = load_settings(environ={"IML4E_DATABASE_URL": url}, cwd=tmp_path).settings
    assert settings.mlflow_tracking_uri == url
    assert settings.mlflow_registry_uri == url
    masked = settings.masked()
    assert "s3cret" not in str(masked)
    assert masked["database_url"] == "postgresql+psycopg://team:***@db.internal:5432/iml4e"


def test_relative_paths_in_the_file_are_relative_to_the_file(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "iml4e.toml").write_text('home = "state"\n')
    resolved = load_settings(environ={"IML4E_CONFIG": str(project / "iml4e.toml")}, cwd=tmp_path)
    assert resolved.settings.home == project / "state"


@pytest.mark.parametrize(
    ("environ", "file_text", "where"),
    [
        ({"IML4E_HOMEDIR": "x"}, None, "environment variable IML4E_HOMEDIR"),
        ({}, 'hoem = "x"\n', "iml4e.toml"),
        ({}, "server_port = = 1\n", "iml4e.toml"),
        ({"IML4E_SERVER_PORT": "eighty"}, None, "env IML4E_SERVER_PORT"),
        ({"IML4E_SERVER_PORT": "70000"}, None, "env IML4E_SERVER_PORT"),
        ({"IML4E_DATABASE_URL": "nosuchdb://x/y"}, None, "env IML4E_DATABASE_URL"),
        ({"IML4E_CONFIG": "missing.toml"}, None, "IML4E_CONFIG"),
    ],
)
def test_bad_settings_name_what_and_where(
    tmp_path: Path, environ: dict[str, str], file_text: str | None, where: str
) -> None:
    if file_text is not None:
        (tmp_path / "iml4e.toml").write_text(file_text)
    with pytest.raises(ConfigError) as raised:
        load_settings(environ=environ, cwd=tmp_path)
    assert where in str(raised.value)


def test_settings_round_trip_through_a_child_environment(tmp_path: Path) -> None:
    settings = load_settings({"server_port": 9100}, environ={}, cwd=tmp_path).settings
    again = load_settings(environ=settings.as_environment(), cwd=tmp_path / "elsewhere").settings
    assert again == settings
