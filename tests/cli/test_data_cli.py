"""``iml4e data …`` through the command's entry point."""

from __future__ import annotations

import json
from pathlib import Path

from iml4e.data import credit_applications
from tests.conftest import run_iml4e_here


def _data(home: Path, *args: str, cwd: Path | None = None):
    return run_iml4e_here("--home", str(home), "data", *args, cwd=cwd)


def test_ingest_list_show_diff_profile_validate(tmp_path: Path) -> None:
    home = tmp_path / "home"
    reference = tmp_path / "reference.csv"
    credit_applications(1500, seed=1).to_csv(reference, index=False)
    drifted = tmp_path / "drifted.csv"
    credit_applications(1500, seed=1, drift=0.8).to_csv(drifted, index=False)

    first = _data(home, "ingest", str(reference), "--name", "apps", "--target", "default", "--json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["version"] == 1
    second = _data(home, "ingest", str(drifted), "--name", "apps", "--json")
    assert json.loads(second.stdout)["version"] == 2

    listed = json.loads(_data(home, "list", "--json").stdout)
    assert [(row["name"], row["version"]) for row in listed] == [("apps", 1), ("apps", 2)]
    shown = json.loads(_data(home, "show", "apps@1", "--json").stdout)
    assert shown["profile"]["n_rows"] == 1500
    assert "purpose" in shown["contract"]
    assert _data(home, "show", "apps").returncode == 0

    diff = json.loads(_data(home, "diff", "apps@1", "apps@2", "--json").stdout)
    assert any(shift["column"] == "income" and shift["shifted"] for shift in diff["shifts"])

    report = tmp_path / "report.html"
    profiled = _data(home, "profile", str(reference), "--html", str(report))
    assert profiled.returncode == 0, profiled.stderr
    assert "<svg" in report.read_text()

    assert _data(home, "validate", "apps@1").returncode == 0
    contract = tmp_path / "apps.yaml"
    assert (
        _data(
            home, "infer-contract", "apps@1", "--out", str(contract), "--optional", "default"
        ).returncode
        == 0
    )
    failed = _data(home, "validate", str(drifted), "--contract", str(contract))
    assert failed.returncode == 1
    assert "purpose" in failed.stderr and "Traceback" not in failed.stderr


def test_overlap_exits_1_on_leakage(tmp_path: Path) -> None:
    frame = credit_applications(400, seed=4)
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    frame.iloc[:300].to_csv(train, index=False)
    frame.iloc[250:].to_csv(test, index=False)
    result = _data(tmp_path / "home", "overlap", str(train), str(test), "--json")
    assert result.returncode == 1
    assert json.loads(result.stdout)["overlapping_rows"] == 50


def test_bad_sources_exit_2_naming_the_source(tmp_path: Path) -> None:
    home = tmp_path / "home"
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    header_only = tmp_path / "header.csv"
    header_only.write_text("a,b,c\n")
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("name,city\nJosé,Zürich\n".encode("latin-1"))
    cases = [
        (str(empty), ()),
        (str(header_only), ()),
        (str(tmp_path / "missing.csv"), ()),
        (str(latin1), ("--encoding", "utf-8")),
        ("sqlite:///" + str(tmp_path / "db.sqlite"), ("--query", "SELECT * FROM nothing")),
        ("builtin:nope", ()),
    ]
    for source, options in cases:
        result = _data(home, "ingest", source, "--name", "bad", *options)
        assert result.returncode == 2, (source, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        assert "error:" in result.stderr
    listed = _data(home, "list", "bad")
    assert listed.returncode == 2  # no dataset was created by any failed ingest
