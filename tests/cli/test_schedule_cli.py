"""``iml4e schedule …`` through the root command's entry point (in this process, for speed):
output, JSON and exit codes, bad input refused with exit 2 and nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iml4e.cli.main import main
from iml4e.tracking.environment import MLFLOW_ENVIRONMENT_DEFAULTS

SAMPLE = "tests.pipelines.sample_pipelines"


@pytest.fixture
def iml4e(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    for name, value in MLFLOW_ENVIRONMENT_DEFAULTS.items():  # restored after the test
        monkeypatch.setenv(name, value)
    home = tmp_path / "home"

    def run(*args: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as exited:
            main(["--home", str(home), *args])
        out, err = capsys.readouterr()
        return int(exited.value.code or 0), out, err

    return run


def test_add_list_pause_resume_remove(iml4e) -> None:
    code, out, _ = iml4e(
        "schedule", "add", "nightly", f"{SAMPLE}:branching", "--every", "1h", "-p", "rows=5",
        "--executor", "local", "--by", "ana", "--json",
    )  # fmt: skip
    assert code == 0
    added = json.loads(out)
    assert added["every"] == "1h" and added["params"] == {"rows": "5"}
    assert added["executor"] == "local" and added["created_by"] == "ana"

    code, out, _ = iml4e("schedule", "pause", "nightly")
    assert code == 0 and "paused" in out
    code, out, _ = iml4e("schedule", "list", "--json")
    assert code == 0 and [(s["name"], s["paused"]) for s in json.loads(out)] == [("nightly", True)]
    code, out, _ = iml4e("schedule", "resume", "nightly", "--json")
    assert code == 0 and json.loads(out)["paused"] is False
    code, out, _ = iml4e("schedule", "list")
    assert code == 0 and "nightly" in out and "active" in out
    code, out, _ = iml4e("schedule", "remove", "nightly")
    assert code == 0 and "removed" in out
    code, out, _ = iml4e("schedule", "list", "--json")
    assert json.loads(out) == []


def test_bad_input_exits_2_with_a_clear_message(iml4e) -> None:
    assert iml4e("schedule", "add", "one", f"{SAMPLE}:branching", "--every", "1d")[0] == 0
    cases = [
        (["add", "one", f"{SAMPLE}:branching", "--every", "1h"], "exists already"),
        (["add", "two", f"{SAMPLE}:nope", "--every", "1h"], "no attribute 'nope'"),
        (["add", "two", f"{SAMPLE}:branching", "--every", "2s"], "at least 10 seconds"),
        (["add", "two", f"{SAMPLE}:branching", "--every", "often"], "a duration like"),
        (["add", "two", f"{SAMPLE}:branching", "--every", "1h", "-p", "rows"], "key=value"),
        (["pause", "absent"], "no pipeline schedule"),
        (["remove", "absent"], "no pipeline schedule"),
    ]
    for args, message in cases:
        code, _, err = iml4e("schedule", *args)
        assert code == 2, args
        assert message in err, (args, err)
    code, out, _ = iml4e("schedule", "list", "--json")
    assert [s["name"] for s in json.loads(out)] == ["one"]
