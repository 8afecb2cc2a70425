"""Chunked reads: bounded chunks, a continuous index, the same rows as a full read, streaming."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from iml4e.data.connectors import DataSourceError, open_source
from iml4e.data.connectors.csv_reader import MIN_BLOCK_BYTES
from iml4e.data.errors import InvalidArgument

ROWS = 1_003


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame(
        {
            "id": np.arange(ROWS, dtype=np.int64),
            "amount": rng.normal(100.0, 15.0, ROWS).round(3),
            "kind": rng.choice(["a", "b, c", 'say "hi"', "line\nbreak"], ROWS),
        }
    )


def _csv(frame: pd.DataFrame, folder: Path) -> str:
    path = folder / "data.csv"
    frame.to_csv(path, index=False, sep=";")
    return str(path)


def _parquet(frame: pd.DataFrame, folder: Path) -> str:
    path = folder / "data.parquet"
    frame.to_parquet(path, row_group_size=250)
    return str(path)


def _jsonl(frame: pd.DataFrame, folder: Path) -> str:
    path = folder / "data.jsonl"
    frame.to_json(path, orient="records", lines=True)
    return str(path)


def _sqlite(frame: pd.DataFrame, folder: Path) -> str:
    path = folder / "data.db"
    with sqlite3.connect(path) as connection:
        frame.to_sql("rows", connection, index=False)
    connection.close()
    return f"sqlite:///{path}"


WRITERS: dict[str, Callable[[pd.DataFrame, Path], str]] = {
    "csv": _csv,
    "parquet": _parquet,
    "jsonl": _jsonl,
    "sqlite": _sqlite,
}


@pytest.mark.parametrize("kind", sorted(WRITERS))
@pytest.mark.parametrize("chunk_rows", [1, 97, 250, 5_000])
def test_chunks_add_up_to_the_full_read(
    tmp_path: Path, frame: pd.DataFrame, kind: str, chunk_rows: int
) -> None:
    source = WRITERS[kind](frame, tmp_path)
    options = {"table": "rows"} if kind == "sqlite" else {}
    connector = open_source(source, **options)
    full = connector.read()
    pd.testing.assert_frame_equal(full, frame)
    chunks = list(connector.iter_chunks(chunk_rows))
    assert all(0 < len(chunk) <= chunk_rows for chunk in chunks)
    assert sum(len(chunk) for chunk in chunks) == ROWS
    starts = [chunk.index[0] for chunk in chunks]
    assert starts == list(np.cumsum([0] + [len(chunk) for chunk in chunks[:-1]]))
    pd.testing.assert_frame_equal(pd.concat(chunks), full)


def test_builtin_chunks_add_up(tmp_path: Path) -> None:
    connector = open_source("builtin:credit?rows=1000&seed=3")
    chunks = list(connector.iter_chunks(300))
    assert [len(chunk) for chunk in chunks] == [300, 300, 300, 100]
    pd.testing.assert_frame_equal(pd.concat(chunks), connector.read())


def test_csv_chunks_stream_before_a_late_problem(tmp_path: Path) -> None:
    """Chunks come out before the whole file is parsed: a bad line far down fails late."""
    rows = 4 * MIN_BLOCK_BYTES // 12
    path = tmp_path / "late.csv"
    with path.open("w") as file:
        file.write("a,b\n")
        file.writelines(f"{i},{i % 97}\n" for i in range(rows))
        file.write("1,2,3\n")
    chunks = open_source(str(path)).iter_chunks(1_000)
    first = next(chunks)
    assert len(first) == 1_000
    assert first["a"].tolist() == list(range(1_000))
    with pytest.raises(DataSourceError, match=f"Expected 2 fields in line {rows + 2}, saw 3"):
        for _ in chunks:
            pass


@pytest.mark.parametrize("chunk_rows", [1, 2, 3, 1_000])
def test_a_bad_line_at_a_chunk_start_is_not_silently_cut(tmp_path: Path, chunk_rows: int) -> None:
    # pandas' own read_csv(chunksize=…) drops the extra field of a chunk's first line.
    path = tmp_path / "ragged.csv"
    lines = [f"{i},{i}" for i in range(12)]
    lines[6] += ",surplus"
    path.write_text("a,b\n" + "\n".join(lines) + "\n")
    with pytest.raises(DataSourceError, match="Expected 2 fields in line 8, saw 3"):
        list(open_source(str(path)).iter_chunks(chunk_rows))


def test_quoted_line_breaks_across_block_boundaries(tmp_path: Path) -> None:
    text = "multi\nline " * 40_000  # one field of ~440 KB with line breaks inside quotes
    frame = pd.DataFrame({"n": range(8), "text": [text, "x"] * 4})
    path = tmp_path / "long.csv"
    frame.to_csv(path, index=False)
    chunks = list(open_source(str(path)).iter_chunks(1))
    pd.testing.assert_frame_equal(pd.concat(chunks), frame)


def test_a_header_only_file_has_no_rows_in_chunks_too(tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    path.write_text("a;b;c\n")
    with pytest.raises(DataSourceError, match=r"no rows \(columns: a, b, c\)"):
        list(open_source(str(path)).iter_chunks())


@pytest.mark.parametrize("chunk_rows", [0, -5, 2.5, True])
def test_chunk_rows_must_be_a_positive_whole_number(tmp_path: Path, chunk_rows: object) -> None:
    connector = open_source("builtin:iris")
    with pytest.raises(InvalidArgument, match="chunk_rows"):
        connector.iter_chunks(chunk_rows)  # type: ignore[arg-type]


def test_csv_chunk_dtypes_are_per_chunk(tmp_path: Path) -> None:
    path = tmp_path / "gaps.csv"
    lines = [f"{i}" for i in range(3 * MIN_BLOCK_BYTES // 7)] + ["", "7"]
    path.write_text("n,m\n" + "\n".join(f"{n},1" for n in lines) + "\n")
    connector = open_source(str(path))
    chunks = list(connector.iter_chunks(len(lines) // 2))
    assert chunks[0]["n"].dtype == np.int64
    assert chunks[-1]["n"].dtype == np.float64  # the missing value is in the last chunk
    assert connector.read()["n"].dtype == np.float64
