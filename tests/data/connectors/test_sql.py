"""SQL sources on a real SQLite file and a real PostgreSQL database."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from iml4e.data.connectors import DataSourceError, open_source, read_source

ODD_TABLE = 'loan "book" 2024'


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": list(range(1, 11)),
            "amount": [float(i) * 1.5 for i in range(10)],
            "purpose": ["car", "home"] * 5,
        }
    )


@pytest.fixture
def sqlite_url(tmp_path: Path, frame: pd.DataFrame) -> str:
    path = tmp_path / "loans.db"
    with sqlite3.connect(path) as connection:
        frame.to_sql("loans", connection, index=False)
        frame.to_sql(ODD_TABLE, connection, index=False)
        connection.execute("CREATE TABLE empty (id INTEGER)")
        connection.execute("CREATE VIEW cars AS SELECT * FROM loans WHERE purpose = 'car'")
    connection.close()
    return f"sqlite:///{path}"


@pytest.fixture(scope="module")
def postgres_url(postgres: object) -> Iterator[str]:
    url = make_url(postgres.create()).set(password="s3cret-pw")  # type: ignore[attr-defined]
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("CREATE SCHEMA sales"))
        connection.execute(
            text("CREATE TABLE sales.orders (id int, amount numeric(10, 2), region text)")
        )
        connection.execute(
            text(
                "INSERT INTO sales.orders SELECT g, g * 1.25, "
                "CASE WHEN g % 2 = 0 THEN 'north' ELSE 'south' END FROM generate_series(1, 2500) g"
            )
        )
        connection.execute(text('CREATE TABLE "Mixed Case" (x int)'))
        connection.execute(text('INSERT INTO "Mixed Case" VALUES (1), (2)'))
    engine.dispose()
    yield url.render_as_string(hide_password=False)


def test_a_table_by_name(sqlite_url: str, frame: pd.DataFrame) -> None:
    connector = open_source(sqlite_url, table="loans")
    assert connector.source == f"{sqlite_url}#table=loans"
    pd.testing.assert_frame_equal(connector.read(), frame)


def test_odd_table_names_are_quoted_not_formatted(sqlite_url: str, frame: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(read_source(sqlite_url, table=ODD_TABLE), frame)
    assert len(read_source(sqlite_url, table="cars")) == 5  # views are tables too


def test_a_query(sqlite_url: str) -> None:
    result = read_source(
        sqlite_url,
        query="SELECT purpose, COUNT(*) AS n FROM loans WHERE purpose LIKE 'c%' GROUP BY purpose",
    )
    assert result.to_dict("list") == {"purpose": ["car"], "n": [5]}


def test_an_unknown_table_lists_the_tables(sqlite_url: str) -> None:
    with pytest.raises(DataSourceError) as caught:
        read_source(sqlite_url, table="loans; DROP TABLE loans")
    assert caught.value.where == f"{sqlite_url}#table=loans; DROP TABLE loans"
    assert "unknown table 'loans; DROP TABLE loans'" in caught.value.message
    assert f"tables: cars, empty, {ODD_TABLE}, loans" in caught.value.message
    assert len(read_source(sqlite_url, table="loans")) == 10  # still there


def test_a_failing_query_reports_the_database_message(sqlite_url: str) -> None:
    with pytest.raises(DataSourceError) as caught:
        read_source(sqlite_url, query="SELECT nope FROM loans")
    assert caught.value.message == "query failed: no such column: nope"
    assert caught.value.where == f"{sqlite_url}#query=SELECT nope FROM loans"
    with pytest.raises(DataSourceError, match="query failed: no such column: nope"):
        list(open_source(sqlite_url, query="SELECT nope FROM loans").iter_chunks(3))


def test_a_literal_colon_in_a_query_gets_a_hint(sqlite_url: str) -> None:
    with pytest.raises(DataSourceError, match=r"bind parameter 'noon'.*written '\\:'"):
        read_source(sqlite_url, query="SELECT 'at :noon' AS x")
    assert read_source(sqlite_url, query="SELECT 'at \\:noon' AS x")["x"].tolist() == ["at :noon"]


def test_an_empty_result_is_no_rows(sqlite_url: str) -> None:
    with pytest.raises(DataSourceError, match=r"no rows \(columns: id\)"):
        read_source(sqlite_url, table="empty")
    with pytest.raises(DataSourceError, match="no rows"):
        list(open_source(sqlite_url, query="SELECT * FROM loans WHERE id < 0").iter_chunks())


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({}, "exactly one of query= or table="),
        ({"query": "SELECT 1", "table": "loans"}, "exactly one of query= or table="),
        ({"table": "loans", "delimiter": ";"}, "delimiter= does not apply to sql sources"),
    ],
)
def test_query_or_table_exactly(sqlite_url: str, options: dict[str, str], problem: str) -> None:
    with pytest.raises(DataSourceError, match=problem):
        open_source(sqlite_url, **options)  # type: ignore[arg-type]


def test_a_missing_sqlite_file_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "missing.db"
    with pytest.raises(DataSourceError, match="no such SQLite database file"):
        open_source(f"sqlite:///{path}", table="loans")
    assert not path.exists()


def test_an_unknown_scheme_is_not_a_database() -> None:
    with pytest.raises(DataSourceError, match="unknown source scheme 's3'"):
        open_source("s3://bucket/data.csv")


def test_postgres_table_in_a_schema_with_the_password_masked(postgres_url: str) -> None:
    connector = open_source(postgres_url, table="sales.orders")
    assert "s3cret-pw" not in connector.source
    assert connector.source.endswith("#table=sales.orders")
    assert ":***@" in connector.source
    frame = connector.read()
    assert len(frame) == 2500
    assert frame["amount"].dtype == float
    assert frame["amount"].iloc[-1] == 3125.0


def test_postgres_chunks_from_a_server_side_cursor(postgres_url: str) -> None:
    connector = open_source(postgres_url, query="SELECT * FROM sales.orders ORDER BY id")
    chunks = list(connector.iter_chunks(1000))
    assert [len(chunk) for chunk in chunks] == [1000, 1000, 500]
    pd.testing.assert_frame_equal(pd.concat(chunks), connector.read())


def test_postgres_mixed_case_table(postgres_url: str) -> None:
    assert read_source(postgres_url, table="Mixed Case")["x"].tolist() == [1, 2]


def test_postgres_errors_name_the_problem_without_the_password(postgres_url: str) -> None:
    with pytest.raises(DataSourceError) as caught:
        read_source(postgres_url, query="SELECT * FROM missing_table")
    assert 'relation "missing_table" does not exist' in caught.value.message
    assert "s3cret-pw" not in str(caught.value)
    with pytest.raises(DataSourceError) as caught:
        read_source(postgres_url, table="sales.nope")
    assert "unknown table 'sales.nope'" in caught.value.message
    missing_db = make_url(postgres_url).set(database="iml4e_no_such_db")
    with pytest.raises(DataSourceError) as caught:
        read_source(missing_db.render_as_string(hide_password=False), table="x")
    assert "cannot connect to the database" in caught.value.message
    assert "iml4e_no_such_db" in caught.value.message
    assert "s3cret-pw" not in str(caught.value)
