"""Choosing the connector from the source string, lazily, behind one interface."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from iml4e.data.connectors import CONNECTORS, Connector, connector_kind, open_source


@pytest.mark.parametrize(
    ("source", "kind"),
    [
        ("data/train.csv", "file"),
        ("data/*.parquet", "file"),
        ("file:///srv/data.csv", "file"),
        ("C:\\data\\train.csv", "file"),
        ("sqlite:///local.db", "sql"),
        ("postgresql+psycopg://user:pw@db/x", "sql"),
        ("https://example.org/data.csv", "http"),
        ("HTTP://example.org/data.csv", "http"),
        ("builtin:credit?rows=10", "builtin"),
    ],
)
def test_the_kind_comes_from_the_source_string(source: str, kind: str) -> None:
    assert connector_kind(source) == kind
    assert kind in CONNECTORS


def test_every_connector_meets_the_interface(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a\n1\n")
    for source in (str(path), "builtin:iris"):
        connector = open_source(source)
        assert isinstance(connector, Connector)
        assert isinstance(connector.backend, Connector)


def test_connectors_are_imported_only_when_used() -> None:
    code = (
        "import sys\n"
        "import iml4e.data.connectors\n"
        "heavy = ['httpx', 'charset_normalizer', 'orjson', 'sklearn',\n"
        "         'iml4e.data.connectors.http', 'iml4e.data.connectors.sql']\n"
        "print([name for name in heavy if name in sys.modules])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("source", ["", "   "])
def test_an_empty_source_is_an_error(source: str) -> None:
    from iml4e.data.connectors import DataSourceError

    with pytest.raises(DataSourceError, match="non-empty"):
        open_source(source)
