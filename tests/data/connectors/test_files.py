"""Local files: CSV (detected delimiter and encoding), Parquet, JSON Lines, globs, bad input."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from iml4e.data.connectors import DataSourceError, open_source, read_source
from iml4e.data.connectors.csv_dialect import ENCODING_SAMPLE_BYTES, locate_decode_error
from iml4e.data.errors import DataSourceError as DataSourceErrorFromErrors
from iml4e.errors import BadInput


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": np.arange(6, dtype=np.int64),
            "city": ["Oslo", "Lyon, FR", 'the "Hub"', "Bern", "Graz", "Turku"],
            "score": [0.5, 1.25, np.nan, -3.0, 2.0, 7.75],
            "label": ["a", "b", "a", "c", "b", "a"],
        }
    )


def write_csv(path: Path, frame: pd.DataFrame, **options: object) -> Path:
    frame.to_csv(path, index=False, **options)
    return path


def test_the_error_is_the_data_room_error_and_bad_input() -> None:
    assert DataSourceError is DataSourceErrorFromErrors
    assert issubclass(DataSourceError, BadInput)


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_csv_delimiter_is_detected(tmp_path: Path, frame: pd.DataFrame, delimiter: str) -> None:
    path = write_csv(tmp_path / "data.csv", frame, sep=delimiter)
    connector = open_source(str(path))
    pd.testing.assert_frame_equal(connector.read(), frame)
    assert connector.source == str(path)


def test_a_relative_path_is_recorded_absolute(
    tmp_path: Path, frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_csv(tmp_path / "data.csv", frame)
    monkeypatch.chdir(tmp_path)
    assert open_source("data.csv").source == str(tmp_path / "data.csv")
    assert open_source(f"file://{tmp_path}/data.csv").source == str(tmp_path / "data.csv")


def test_a_given_delimiter_is_used(tmp_path: Path, frame: pd.DataFrame) -> None:
    path = write_csv(tmp_path / "data.txt", frame, sep="|")
    pd.testing.assert_frame_equal(read_source(str(path), delimiter="|"), frame)


def test_a_wrong_delimiter_says_which_one_splits_the_file(
    tmp_path: Path, frame: pd.DataFrame
) -> None:
    path = write_csv(tmp_path / "data.csv", frame, sep=";")
    with pytest.raises(DataSourceError) as caught:
        read_source(str(path), delimiter=",")
    assert caught.value.where == str(path)
    assert "with delimiter=',' lines have 1 to 2 columns" in caught.value.message
    assert "';' splits every line into 4 columns" in caught.value.message


def test_cp1252_text_is_detected(tmp_path: Path) -> None:
    expected = pd.DataFrame({"name": ["José", "Müller", "Françoise"], "city": ["Zürich"] * 3})
    path = tmp_path / "latin.csv"
    path.write_bytes(expected.to_csv(index=False).encode("cp1252"))
    connector = open_source(str(path))
    pd.testing.assert_frame_equal(connector.read(), expected)


def test_a_utf8_bom_does_not_end_up_in_the_first_column_name(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbfa,b\n1,2\n")
    assert list(read_source(str(path)).columns) == ["a", "b"]


def test_undecodable_bytes_with_an_explicit_encoding_name_offset_and_line(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("a,b\nx,1\nZürich,2\n".encode("latin-1"))
    with pytest.raises(DataSourceError) as caught:
        read_source(str(path), encoding="utf-8")
    message = caught.value.message
    assert "not valid utf-8" in message
    assert "byte offset 9" in message
    assert "(line 3)" in message
    assert "b'\\xfc'" in message


def test_undecodable_bytes_after_the_sample_are_located_in_the_whole_file(tmp_path: Path) -> None:
    rows = ENCODING_SAMPLE_BYTES // 8 + 5_000
    head = b"a,b\n" + b"x,12345\n" * rows  # 8 bytes a row, well past the sample
    path = tmp_path / "late.csv"
    path.write_bytes(head + b"\xff,1\n")
    with pytest.raises(DataSourceError) as caught:
        read_source(str(path))
    assert f"byte offset {len(head)}" in caught.value.message
    assert f"(line {rows + 2})" in caught.value.message
    assert "detected" in caught.value.message


def test_decode_errors_are_located_across_block_boundaries(tmp_path: Path) -> None:
    # "é" (2 bytes in UTF-8) straddles the 1 MiB block boundary; the bad byte comes later.
    prefix = b"x" * (1024 * 1024 - 1) + "é".encode() + b"\nabc\n"
    path = tmp_path / "big.txt"
    path.write_bytes(prefix + b"\x80")
    assert locate_decode_error(path, "utf-8") == (len(prefix), 3, b"\x80")
    path.write_bytes(prefix)
    assert locate_decode_error(path, "utf-8") is None


def test_a_mixed_column_is_kept_as_object(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_text("amount,n\n1,1\n2,2\nunknown,3\n")
    result = read_source(str(path))
    assert result["amount"].dtype == object
    assert result["amount"].tolist() == ["1", "2", "unknown"]
    assert result["n"].dtype == np.int64


def test_gzip_compressed_csv(tmp_path: Path, frame: pd.DataFrame) -> None:
    path = tmp_path / "data.csv.gz"
    with gzip.open(path, "wt") as file:
        frame.to_csv(file, index=False, sep=";")
    pd.testing.assert_frame_equal(read_source(str(path)), frame)


def test_parquet_keeps_types_and_a_stored_index(tmp_path: Path, frame: pd.DataFrame) -> None:
    typed = frame.assign(when=pd.date_range("2024-01-01", periods=6, tz="UTC"))
    path = tmp_path / "data.parquet"
    typed.set_index("id").to_parquet(path)
    pd.testing.assert_frame_equal(read_source(str(path)), typed)


def test_jsonl_keeps_json_types(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    path.write_text('{"code": "007", "n": 1, "x": 0.1}\n\n{"code": "008", "n": 2}\n')
    result = read_source(str(path))
    assert result["code"].tolist() == ["007", "008"]
    assert result["n"].tolist() == [1, 2]
    assert result["x"].iloc[0] == 0.1
    assert np.isnan(result["x"].iloc[1])


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"a": 1}\n{"a": nope}\n', "line 2: invalid JSON"),
        ('{"a": 1}\n{"a": 2}\n[1, 2]\n', "line 3: expected a JSON object, got list"),
    ],
)
def test_a_bad_jsonl_line_is_named(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "bad.ndjson"
    path.write_text(content)
    with pytest.raises(DataSourceError, match=problem):
        read_source(str(path))


def test_a_non_parquet_file_with_a_parquet_name(tmp_path: Path) -> None:
    path = tmp_path / "data.parquet"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(DataSourceError, match="not a readable Parquet file"):
        read_source(str(path))


def test_format_overrides_the_extension(tmp_path: Path, frame: pd.DataFrame) -> None:
    path = write_csv(tmp_path / "export.dat", frame)
    with pytest.raises(DataSourceError, match="pass format="):
        open_source(str(path))
    pd.testing.assert_frame_equal(read_source(str(path), format="csv"), frame)
    with pytest.raises(DataSourceError, match="unknown format 'xlsx'"):
        open_source(str(path), format="xlsx")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "empty file"),
        (b"\n  \n", "empty file"),
        (b"a,b,c\n", "no rows (columns: a, b, c)"),
        (b"a,b\n1,2\n3,4,5\n", "malformed CSV: Expected 2 fields in line 3, saw 3"),
    ],
)
def test_bad_csv_files(tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    connector_error = None
    try:
        open_source(str(path)).read()
    except DataSourceError as error:
        connector_error = error
    assert connector_error is not None
    assert connector_error.where == str(path)
    assert problem in connector_error.message
    with pytest.raises(DataSourceError, match=r"empty|no rows|malformed"):
        list(open_source(str(path)).iter_chunks(1))


def test_missing_files_folders_and_empty_globs(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError, match="no such file") as caught:
        open_source(str(tmp_path / "nope.csv"))
    assert caught.value.where == str(tmp_path / "nope.csv")
    with pytest.raises(DataSourceError, match="no files match"):
        open_source(str(tmp_path / "*.csv"))
    with pytest.raises(DataSourceError, match="is a folder"):
        open_source(str(tmp_path))


def test_a_glob_reads_the_files_in_sorted_order(tmp_path: Path, frame: pd.DataFrame) -> None:
    write_csv(tmp_path / "part-2.csv", frame.iloc[3:])
    write_csv(tmp_path / "part-1.csv", frame.iloc[:3][["label", "score", "city", "id"]], sep=";")
    (tmp_path / "notes.txt").write_text("not part of the glob")
    connector = open_source(str(tmp_path / "part-*.csv"))
    assert connector.source == str(tmp_path / "part-*.csv")
    expected = frame[["label", "score", "city", "id"]]
    pd.testing.assert_frame_equal(connector.read(), expected)
    chunks = list(connector.iter_chunks(2))
    assert [len(chunk) for chunk in chunks] == [2, 1, 2, 1]  # a chunk never spans two files
    pd.testing.assert_frame_equal(pd.concat(chunks), expected)


def test_a_glob_of_files_with_other_columns_names_the_file(
    tmp_path: Path, frame: pd.DataFrame
) -> None:
    write_csv(tmp_path / "a.csv", frame)
    odd = write_csv(tmp_path / "b.csv", frame.rename(columns={"score": "points"}))
    connector = open_source(str(tmp_path / "*.csv"))
    for read in (connector.read, lambda: list(connector.iter_chunks())):
        with pytest.raises(DataSourceError) as caught:
            read()
        assert caught.value.where == str(tmp_path / "*.csv")
        assert str(odd) in caught.value.message
        assert "points" in caught.value.message


def test_a_bad_file_in_a_glob_is_named(tmp_path: Path, frame: pd.DataFrame) -> None:
    write_csv(tmp_path / "a.csv", frame)
    (tmp_path / "b.csv").write_bytes(b"")
    with pytest.raises(DataSourceError) as caught:
        read_source(str(tmp_path / "*.csv"))
    assert caught.value.message == f"{tmp_path / 'b.csv'}: empty file (0 bytes)"


def test_checksum_of_a_local_file(tmp_path: Path, frame: pd.DataFrame) -> None:
    path = write_csv(tmp_path / "data.csv", frame)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    pd.testing.assert_frame_equal(read_source(str(path), checksum=f"sha256:{digest}"), frame)
    with pytest.raises(DataSourceError, match="checksum mismatch"):
        read_source(str(path), checksum="sha256:" + "0" * 64)
    with pytest.raises(DataSourceError, match="64 hex digits"):
        open_source(str(path), checksum="sha256:abc")


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"query": "select 1"}, "query= does not apply to file sources"),
        ({"delimiter": ";;"}, "delimiter= must be one character"),
        ({"encoding": "klingon"}, "unknown encoding"),
        ({"timeout": 0}, "timeout= must be a positive number"),
        ({"retries": -1}, "retries= must be a whole number"),
    ],
)
def test_options_are_checked(
    tmp_path: Path, frame: pd.DataFrame, options: dict[str, object], problem: str
) -> None:
    path = write_csv(tmp_path / "data.csv", frame)
    with pytest.raises(DataSourceError, match=problem):
        open_source(str(path), **options)  # type: ignore[arg-type]


def test_delimiter_names_are_understood(tmp_path: Path, frame: pd.DataFrame) -> None:
    path = write_csv(tmp_path / "data.tsv", frame, sep="\t")
    pd.testing.assert_frame_equal(read_source(str(path), delimiter="tab"), frame)
    pd.testing.assert_frame_equal(read_source(str(path), delimiter="\\t"), frame)


def test_lone_carriage_returns_are_line_ends(tmp_path: Path) -> None:
    path = tmp_path / "mac.csv"
    path.write_bytes(b"a,b\r1,2\r\r 3,4\r")  # pandas alone misreads this (blank line, space)
    expected = pd.DataFrame({"a": [1, 3], "b": [2, 4]})
    connector = open_source(str(path))
    pd.testing.assert_frame_equal(connector.read(), expected)
    pd.testing.assert_frame_equal(pd.concat(connector.iter_chunks(1)), expected)


def test_lone_carriage_returns_are_found_across_blocks(tmp_path: Path) -> None:
    path = tmp_path / "late-cr.csv"
    body = b"a,b\r\n" + b"1,2\r\n" * (300_000) + b"3,4\r5,6\r\n"
    path.write_bytes(body)
    frame = read_source(str(path))
    assert len(frame) == 300_002
    assert frame.iloc[-2:].to_dict("list") == {"a": [3, 5], "b": [4, 6]}
    from iml4e.data.connectors.csv_blocks import has_lone_carriage_return

    straddling = tmp_path / "straddle.bin"
    straddling.write_bytes(b"x" * (1024 * 1024 - 1) + b"\r\n" + b"y")
    with straddling.open("rb") as stream:
        assert not has_lone_carriage_return(stream)


def test_quotes_inside_unquoted_fields_are_text(tmp_path: Path) -> None:
    path = tmp_path / "inches.csv"
    rows = [f'{i},{i}" screen,"quoted, with comma"' for i in range(2_000)]
    path.write_text("id,size,note\n" + "\n".join(rows) + "\n")
    connector = open_source(str(path))
    frame = connector.read()
    assert frame["size"].iloc[5] == '5" screen'
    assert frame["note"].iloc[5] == "quoted, with comma"
    chunks = list(connector.iter_chunks(300))
    assert max(len(chunk) for chunk in chunks) <= 300
    pd.testing.assert_frame_equal(pd.concat(chunks), frame)


def test_lines_with_more_fields_than_the_header(tmp_path: Path) -> None:
    path = tmp_path / "surplus.csv"
    path.write_text("a,b\n1,2,3\n4,5,6\n")
    with pytest.raises(DataSourceError, match="more fields than the header"):
        read_source(str(path))
    with pytest.raises(DataSourceError, match="more fields than the header"):
        list(open_source(str(path)).iter_chunks())


def test_utf16_files_are_read(tmp_path: Path, frame: pd.DataFrame) -> None:
    path = tmp_path / "wide.csv"
    path.write_bytes(frame.to_csv(index=False, sep="\t").encode("utf-16"))
    connector = open_source(str(path))
    pd.testing.assert_frame_equal(connector.read(), frame)
    pd.testing.assert_frame_equal(pd.concat(connector.iter_chunks(4)), frame)


def test_jsonl_in_another_encoding(tmp_path: Path) -> None:
    path = tmp_path / "latin.jsonl"
    path.write_bytes('{"city": "Zürich"}\n'.encode("latin-1"))
    assert read_source(str(path), encoding="latin-1")["city"].tolist() == ["Zürich"]
    with pytest.raises(DataSourceError, match="line 1: invalid JSON"):
        read_source(str(path))
