"""Read settings from arguments, the environment and ``iml4e.toml``, remembering the source.

pydantic validates the merged values; the layering is done here rather than by
pydantic-settings because ``iml4e config`` must say where every value came from.
"""

from __future__ import annotations

import getpass
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy.engine import make_url

from iml4e.config.errors import ConfigError
from iml4e.config.settings import ARTIFACTS_FOLDER, DATABASE_FILE, DEFAULT_HOME, Settings

ENV_PREFIX = "IML4E_"
CONFIG_FILE_ENV = "IML4E_CONFIG"
CONFIG_FILE_NAME = "iml4e.toml"
PATH_KEYS = frozenset({"home", "artifact_root"})
SETTING_KEYS = tuple(Settings.model_fields)


@dataclass(frozen=True)
class ResolvedSettings:
    """Settings together with the source of each value (``default``, ``env IML4E_HOME`` …)."""

    settings: Settings
    sources: Mapping[str, str]
    config_file: Path | None


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    config_file: Path | None = None,
    cwd: Path | None = None,
) -> ResolvedSettings:
    """Resolve the effective settings.

    ``overrides`` are keyword arguments (highest precedence, e.g. CLI options); ``environ``
    defaults to ``os.environ``; ``config_file`` defaults to ``$IML4E_CONFIG`` or
    ``./iml4e.toml`` when it exists. Unknown keys anywhere are an error, so a typo never
    silently falls back to a default.
    """
    environ = os.environ if environ is None else environ
    cwd = (cwd or Path.cwd()).resolve()
    file_path = _find_config_file(config_file, environ, cwd)

    layers: list[tuple[str, dict[str, Any], Path]] = []
    layers.append(("argument", _check_keys(dict(overrides or {}), "argument"), cwd))
    layers.append(("env", _read_environment(environ), cwd))
    if file_path is not None:
        layers.append(("file", _read_config_file(file_path), file_path.parent))

    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for kind, layer, base in reversed(layers):  # lowest precedence first, higher ones overwrite
        for key, value in layer.items():
            if value is None:
                continue
            values[key] = _resolve_path(value, base) if key in PATH_KEYS else value
            sources[key] = _describe_source(kind, key, file_path)

    _fill_defaults(values, sources, cwd)
    _check_database_url(values["database_url"], sources["database_url"])
    try:
        settings = Settings(**values)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = str(error["loc"][0]) if error["loc"] else "settings"
        raise ConfigError(error["msg"], where=sources.get(key, key)) from None
    return ResolvedSettings(settings=settings, sources=sources, config_file=file_path)


def _find_config_file(explicit: Path | None, environ: Mapping[str, str], cwd: Path) -> Path | None:
    if explicit is not None:
        path = explicit if explicit.is_absolute() else cwd / explicit
        where = "config file"
    elif environ.get(CONFIG_FILE_ENV):
        path = Path(environ[CONFIG_FILE_ENV])
        path = path if path.is_absolute() else cwd / path
        where = CONFIG_FILE_ENV
    else:
        default = cwd / CONFIG_FILE_NAME
        return default if default.is_file() else None
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist", where=where)
    return path


def _read_config_file(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML ({exc})", where=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read ({exc})", where=str(path)) from None
    return _check_keys(data, str(path))


def _read_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name == CONFIG_FILE_ENV:
            continue
        key = name[len(ENV_PREFIX) :].lower()
        if key not in SETTING_KEYS:
            raise ConfigError(
                f"unknown setting (known: {', '.join(_env_name(k) for k in SETTING_KEYS)})",
                where=f"environment variable {name}",
            )
        values[key] = value
    return values


def _check_keys(values: dict[str, Any], where: str) -> dict[str, Any]:
    for key in values:
        if key not in SETTING_KEYS:
            raise ConfigError(
                f"unknown setting {key!r} (known: {', '.join(SETTING_KEYS)})", where=where
            )
    return values


def _resolve_path(value: Any, base: Path) -> Any:
    text = str(value)
    if "://" in text:
        return text
    path = Path(text).expanduser()
    return str(path if path.is_absolute() else (base / path).resolve())


def _fill_defaults(values: dict[str, Any], sources: dict[str, str], cwd: Path) -> None:
    def default(key: str, value: Any, source: str = "default") -> None:
        if key not in values:
            values[key] = value
            sources[key] = source

    default("home", str((cwd / DEFAULT_HOME).resolve()))
    home = Path(values["home"])
    default("database_url", f"sqlite:///{home / DATABASE_FILE}", "default (SQLite file in home)")
    default("artifact_root", str(home / ARTIFACTS_FOLDER), "default (folder in home)")
    default("server_host", "127.0.0.1")
    default("server_port", 8765)
    default(
        "mlflow_port",
        int(values["server_port"]) + 1 if _is_int(values["server_port"]) else 8766,
        "default (server_port + 1)",
    )
    default("mlflow_tracking_uri", values["database_url"], "derived from database_url")
    default(
        "mlflow_registry_uri", values["mlflow_tracking_uri"], "derived from mlflow_tracking_uri"
    )
    default("sqlite_busy_timeout_ms", 30_000)
    default("user", _current_user(), "default (login name)")
    default("pipeline_executor", "local")
    default("pipeline_workers", 0, "default (0: one per CPU)")
    default("ray_address", "", "default (empty: start Ray on this machine)")
    default("serving_watch_interval_s", 2.0)
    default("serving_max_connections", 4096)
    default("monitor_interval_s", 300.0)
    default("monitor_window", "1h")
    default("server_auth", "auto")
    default("server_max_body_bytes", 1_048_576, "default (1 MiB)")


def _check_database_url(url: str, source: str) -> None:
    try:
        parsed = make_url(url)
        parsed.get_dialect()
    except Exception as exc:
        raise ConfigError(f"not a usable database URL {url!r} ({exc})", where=source) from None


def _describe_source(kind: str, key: str, file_path: Path | None) -> str:
    if kind == "env":
        return f"env {_env_name(key)}"
    if kind == "file":
        return f"file {file_path}"
    return kind


def _env_name(key: str) -> str:
    return ENV_PREFIX + key.upper()


def _is_int(value: Any) -> bool:
    try:
        int(value)
    except (TypeError, ValueError):
        return False
    return True


def _current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
