"""Migrations on real SQLite and PostgreSQL, beside MLflow's own schema."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from sqlalchemy import inspect, select, text

from iml4e.config import Settings
from iml4e.store import Store, current_revision, head_revision, open_store
from iml4e.store.models import Dataset
from iml4e.tracking.client import ensure_mlflow_schema


def test_open_store_migrates_to_head_with_own_version_table(store: Store) -> None:
    with store.engine.connect() as connection:
        assert current_revision(connection) == head_revision()
        tables = set(inspect(connection).get_table_names())
    assert "iml4e_alembic_version" in tables
    assert {
        "iml4e_dataset_version",
        "iml4e_pipeline_run",
        "iml4e_model_record",
        "iml4e_deployment",
    } <= tables
    assert "alembic_version" not in tables  # MLflow's version table is not ours to create


def test_mlflow_schema_and_ours_coexist_in_one_database(
    backend_settings: Settings, store: Store
) -> None:
    ensure_mlflow_schema(backend_settings, store)
    with store.engine.connect() as connection:
        tables = set(inspect(connection).get_table_names())
        mlflow_revision = connection.execute(text("SELECT version_num FROM alembic_version"))
        mlflow_revision = mlflow_revision.scalar_one()
        ours = current_revision(connection)
    assert {"alembic_version", "experiments", "runs", "registered_models"} <= tables
    assert ours == head_revision()
    assert mlflow_revision != ours
    # Opening again is a no-op on both schemas.
    again = open_store(backend_settings)
    ensure_mlflow_schema(backend_settings, again)
    again.close()


def test_reopening_a_current_store_changes_nothing(backend_settings: Settings) -> None:
    first = open_store(backend_settings)
    with first.session() as session:
        session.add(Dataset(name="kept"))
    first.close()
    second = open_store(backend_settings)
    with second.session() as session:
        assert session.scalars(select(Dataset.name)).all() == ["kept"]
    second.close()


def _open_and_write(settings_json: str, worker: int, rows: int) -> None:
    settings = Settings.model_validate_json(settings_json)
    opened = open_store(settings)
    for i in range(rows):
        with opened.session() as session:
            session.add(Dataset(name=f"w{worker}-{i}"))
    opened.close()


def test_two_processes_migrate_and_write_at_once(backend_settings: Settings) -> None:
    context = multiprocessing.get_context("spawn")
    rows = 40
    workers = [
        context.Process(target=_open_and_write, args=(backend_settings.model_dump_json(), n, rows))
        for n in range(2)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    opened = open_store(backend_settings)
    with opened.session() as session:
        names = session.scalars(select(Dataset.name)).all()
    with opened.engine.connect() as connection:
        versions = connection.execute(text("SELECT count(*) FROM iml4e_alembic_version"))
        assert versions.scalar_one() == 1
    opened.close()
    assert sorted(names) == sorted(f"w{w}-{i}" for w in range(2) for i in range(rows))


def test_sqlite_database_uses_wal(make_settings, tmp_path: Path) -> None:
    opened = open_store(make_settings())
    with opened.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert connection.execute(text("PRAGMA busy_timeout")).scalar_one() == 30000
    opened.close()


def test_upgrading_an_older_schema_keeps_its_rows(backend_settings: Settings) -> None:
    from alembic import command

    from iml4e.store.engine import create_store_engine
    from iml4e.store.migrate import alembic_config

    engine = create_store_engine(backend_settings)
    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        connection.execute(
            text(
                "INSERT INTO iml4e_dataset (name, description, created_at) "
                "VALUES ('old', '', CURRENT_TIMESTAMP)"
            )
        )
    with engine.connect() as connection:
        assert current_revision(connection) == "0001"
    engine.dispose()
    upgraded = open_store(backend_settings)
    with upgraded.engine.connect() as connection:
        assert current_revision(connection) == head_revision()
        columns = {c["name"] for c in inspect(connection).get_columns("iml4e_dataset_version")}
    with upgraded.session() as session:
        assert session.scalars(select(Dataset.name)).all() == ["old"]
    upgraded.close()
    assert {"profile", "contract", "snapshot_uri"} <= columns


def test_migrations_create_exactly_the_tables_the_models_declare(store: Store) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from iml4e.store.models import Base

    with store.engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"include_name": _ours},
        )
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def _ours(name: str | None, kind: str, parent: object) -> bool:
    """Compare iml4e's tables, not MLflow's nor the migration history table."""
    if kind != "table":
        return True
    return bool(name) and name.startswith("iml4e_") and name != "iml4e_alembic_version"
