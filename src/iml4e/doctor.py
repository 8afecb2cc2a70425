"""``iml4e doctor``: check that an installation can work, without changing it."""

from __future__ import annotations

import importlib.util
import os
from dataclasses import asdict, dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from iml4e.config import Settings, mask_url

OK, WARN, FAIL, INFO = "ok", "warn", "fail", "info"
PINNED_MLFLOW = "3.17.2"
EXTRAS = {  # extra name -> (import name, what it enables)
    "postgres": ("psycopg", "PostgreSQL metadata database"),
    "ray": ("ray", "Ray executor"),
    "kfp": ("kfp", "Kubeflow Pipelines export"),
    "pdf": ("weasyprint", "PDF documents"),
    "s3": ("boto3", "S3 artifact store"),
}


@dataclass(frozen=True)
class CheckResult:
    """One doctor check: ``ok``, ``warn``, ``fail`` or ``info``, with a readable detail."""

    name: str
    status: str
    detail: str

    @property
    def failed(self) -> bool:
        """Whether this check makes ``doctor`` exit 1."""
        return self.status == FAIL

    def as_dict(self) -> dict[str, str]:
        """Plain data for ``--json``."""
        return asdict(self)


def run_checks(settings: Settings) -> list[CheckResult]:
    """Run every check in order; later database checks are skipped if it cannot connect."""
    results = [_check_folder("home", settings.home), _check_artifact_root(settings)]
    results.append(_check_mlflow_package())
    engine_result, engine = _check_database(settings)
    results.append(engine_result)
    if engine is not None:
        try:
            results.append(_check_iml4e_schema(engine))
            results.append(_check_mlflow_schema(engine))
        finally:
            engine.dispose()
    results.extend(_check_extras(settings))
    return results


def _check_folder(name: str, folder: Path) -> CheckResult:
    if not folder.exists():
        return CheckResult(name, FAIL, f"{folder} does not exist: run `iml4e init`")
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        return CheckResult(name, FAIL, f"{folder} is not a writable folder")
    return CheckResult(name, OK, str(folder))


def _check_artifact_root(settings: Settings) -> CheckResult:
    if "://" in settings.artifact_root and not settings.artifact_root.startswith("file://"):
        scheme = settings.artifact_root.split("://", 1)[0]
        if scheme == "s3" and importlib.util.find_spec("boto3") is None:
            return CheckResult("artifact root", FAIL, "s3:// needs the s3 extra (boto3)")
        return CheckResult("artifact root", INFO, f"{settings.artifact_root} (not probed)")
    return _check_folder("artifact root", Path(settings.artifact_root.removeprefix("file://")))


def _check_mlflow_package() -> CheckResult:
    try:
        installed = version("mlflow")
    except PackageNotFoundError:
        return CheckResult("mlflow", FAIL, "mlflow is not installed")
    if installed != PINNED_MLFLOW:
        return CheckResult("mlflow", WARN, f"{installed} installed, iml4e pins {PINNED_MLFLOW}")
    return CheckResult("mlflow", OK, installed)


def _check_database(settings: Settings):
    from sqlalchemy import create_engine, text

    from iml4e.store.engine import sqlite_path

    where = mask_url(settings.database_url)
    path = sqlite_path(settings.database_url)
    if path is not None and not path.exists():  # connecting would create an empty file
        return CheckResult("database", FAIL, f"{path} does not exist: run `iml4e init`"), None
    try:
        engine = create_engine(settings.database_url)
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        return CheckResult("database", FAIL, f"{where}: {reason}"), None
    return CheckResult("database", OK, f"{where} ({engine.dialect.name})"), engine


def _check_iml4e_schema(engine) -> CheckResult:
    from iml4e.store.migrate import current_revision, head_revision

    with engine.connect() as connection:
        current = current_revision(connection)
    return _compare_revisions("iml4e schema", current, head_revision())


def _check_mlflow_schema(engine) -> CheckResult:
    from iml4e.tracking.client import mlflow_head_revision, mlflow_schema_revision

    return _compare_revisions(
        "mlflow schema", mlflow_schema_revision(engine), mlflow_head_revision()
    )


def _compare_revisions(name: str, current: str | None, head: str | None) -> CheckResult:
    if current is None:
        return CheckResult(name, FAIL, "no tables yet: run `iml4e init`")
    if current == head:
        return CheckResult(name, OK, f"at {current}")
    return CheckResult(name, WARN, f"at {current}, newest is {head}: upgraded on next start")


def _check_extras(settings: Settings) -> list[CheckResult]:
    results = []
    for extra, (module, purpose) in EXTRAS.items():
        present = importlib.util.find_spec(module) is not None
        needed = extra == "postgres" and settings.database_url.startswith("postgresql")
        status = OK if present else (FAIL if needed else INFO)
        state = "installed" if present else f"not installed (pip install 'iml4e[{extra}]')"
        detail = f"{purpose}: {state}"
        results.append(CheckResult(f"extra {extra}", status, detail))
    return results
