"""Property tests: CSV files pandas writes come back equal; any bytes give a frame or our error."""

from __future__ import annotations

import string
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iml4e.data.connectors import DataSourceError, open_source

DELIMITERS = [",", ";", "\t", "|"]
# Words pandas' CSV parser reads as missing values (its default na_values).
NA_WORDS = {
    "",
    "#N/A",
    "#N/A N/A",
    "#NA",
    "-1.#IND",
    "-1.#QNAN",
    "-NaN",
    "-nan",
    "1.#IND",
    "1.#QNAN",
    "<NA>",
    "N/A",
    "NA",
    "NULL",
    "NaN",
    "None",
    "n/a",
    "nan",
    "null",
}
PROPERTY_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _reads_back_as_text(value: str) -> bool:
    """Whether pandas reads ``value`` back as this string (not a number, bool or NA)."""
    if value in NA_WORDS or value.strip().lower() in {"true", "false"}:
        return False
    if not any(character.isalpha() for character in value):
        return False
    try:
        float(value)
    except ValueError:
        return True
    return False


texts = st.text(
    alphabet=string.ascii_letters + string.digits + ",;\t|\"' #.-\n", min_size=1, max_size=12
).filter(_reads_back_as_text)
integers = st.integers(min_value=-(10**15), max_value=10**15)
floats = st.floats(
    min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False, allow_subnormal=False
)


@st.composite
def frames(draw: st.DrawFn) -> pd.DataFrame:
    n_rows = draw(st.integers(min_value=1, max_value=12))
    n_columns = draw(st.integers(min_value=1, max_value=4))
    columns: dict[str, object] = {}
    for position in range(n_columns):
        kind = draw(st.sampled_from(["int", "float", "text"]))
        if kind == "int":
            values = draw(st.lists(integers, min_size=n_rows, max_size=n_rows))
            columns[f"c{position}"] = np.array(values, dtype=np.int64)
        elif kind == "float":
            values = draw(st.lists(floats, min_size=n_rows, max_size=n_rows))
            if n_columns > 1 and draw(st.booleans()):
                values[draw(st.integers(0, n_rows - 1))] = np.nan  # a missing value
            columns[f"c{position}"] = np.array(values, dtype=np.float64)
        else:
            values = draw(st.lists(texts, min_size=n_rows, max_size=n_rows))
            columns[f"c{position}"] = np.array(values, dtype=object)
    return pd.DataFrame(columns)


@PROPERTY_SETTINGS
@given(frame=frames(), delimiter=st.sampled_from(DELIMITERS))
def test_a_csv_pandas_wrote_reads_back_equal(
    tmp_path: Path, frame: pd.DataFrame, delimiter: str
) -> None:
    path = tmp_path / "frame.csv"
    frame.to_csv(path, index=False, sep=delimiter)
    connector = open_source(str(path))
    read = connector.read()
    pd.testing.assert_frame_equal(read, frame, check_exact=False, rtol=1e-12, atol=0.0)
    chunks = list(connector.iter_chunks(3))
    pd.testing.assert_frame_equal(
        pd.concat(chunks), frame, check_dtype=False, check_exact=False, rtol=1e-12, atol=0.0
    )


@PROPERTY_SETTINGS
@given(content=st.text(alphabet=",;\t|\"' \n\rab1.-", max_size=80))
def test_any_text_gives_a_frame_or_a_data_source_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "text.csv"
    path.write_text(content, encoding="utf-8", newline="")
    _read_or_data_source_error(str(path))


@PROPERTY_SETTINGS
@given(content=st.binary(max_size=80), suffix=st.sampled_from([".csv", ".jsonl", ".parquet"]))
def test_any_bytes_give_a_frame_or_a_data_source_error(
    tmp_path: Path, content: bytes, suffix: str
) -> None:
    path = tmp_path / f"bytes{suffix}"
    path.write_bytes(content)
    _read_or_data_source_error(str(path))


@pytest.mark.parametrize("delimiter", [None, ";"])
@PROPERTY_SETTINGS
@given(content=st.text(alphabet=',;"a1\n', max_size=60))
def test_given_delimiters_never_leak_parser_errors(
    tmp_path: Path, content: str, delimiter: str | None
) -> None:
    path = tmp_path / "given.csv"
    path.write_text(content, encoding="utf-8", newline="")
    _read_or_data_source_error(str(path), delimiter=delimiter, encoding="utf-8")


def _read_or_data_source_error(source: str, **options: object) -> None:
    try:
        connector = open_source(source, **options)  # type: ignore[arg-type]
        frame = connector.read()
        chunks = list(connector.iter_chunks(2))
    except DataSourceError as error:
        assert error.where == source
        assert error.message
        return
    assert len(frame) > 0
    assert sum(len(chunk) for chunk in chunks) == len(frame)
