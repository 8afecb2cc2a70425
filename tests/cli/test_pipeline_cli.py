"""``iml4e pipeline …`` and ``iml4e lineage`` through the real command, exit codes included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_iml4e

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = "tests.pipelines.sample_pipelines"

pytestmark = pytest.mark.slow


def _iml4e(home: Path, *args: str):
    return run_iml4e("--home", str(home), *args, cwd=ROOT)


def test_run_show_list_and_cached_rerun(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = _iml4e(home, "pipeline", "run", f"{SAMPLE}:branching", "-p", "rows=12", "--json")
    assert first.returncode == 0, first.stderr
    record = json.loads(first.stdout)  # stdout stays JSON: step prints go to stderr
    assert record["status"] == "succeeded" and record["cache_hits"] == 0
    assert "adding" in first.stderr
    again = _iml4e(home, "pipeline", "run", f"{SAMPLE}:branching", "-p", "rows=12")
    assert again.returncode == 0, again.stderr
    assert "6 of 6 steps from cache" in again.stdout
    shown = _iml4e(home, "pipeline", "show", record["id"][:8], "--json")
    steps = {step["name"]: step for step in json.loads(shown.stdout)["steps"]}
    assert steps["total"]["status"] == "succeeded"
    assert steps["total"]["inputs"]["left"] == steps["column_sum"]["outputs"]["output"]
    listed = _iml4e(home, "pipeline", "list", "--json")
    assert [run["cache_hits"] for run in json.loads(listed.stdout)] == [6, 0]


def test_failed_run_exits_1_shows_the_traceback_and_resumes(tmp_path: Path) -> None:
    home = tmp_path / "home"
    marker = tmp_path / "marker"
    failed = _iml4e(
        home, "pipeline", "run", f"{SAMPLE}:retrying_without_retries", "-p", f"marker={marker}"
    )
    assert failed.returncode == 1
    assert "step flaky" in failed.stderr and "RuntimeError: attempt 1 fails" in failed.stderr
    assert "Traceback" not in failed.stderr
    listed = json.loads(_iml4e(home, "pipeline", "list", "--json").stdout)
    run_id = listed[0]["id"]
    shown = _iml4e(home, "pipeline", "show", run_id)
    assert "Traceback" in shown.stdout and "raise RuntimeError" in shown.stdout
    resumed = _iml4e(home, "pipeline", "resume", run_id, "--json")
    assert resumed.returncode == 0, resumed.stderr
    statuses = {step["name"]: step["status"] for step in json.loads(resumed.stdout)["steps"]}
    assert statuses == {"make_frame": "reused", "flaky": "succeeded", "take": "succeeded"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("pipeline", "run", f"{SAMPLE}:branching", "-p", "rows=many"), "expects int"),
        (("pipeline", "run", f"{SAMPLE}:branching", "-p", "nope=1"), "unknown parameter"),
        (("pipeline", "run", f"{SAMPLE}:branching", "-p", "rows"), "expected key=value"),
        (("pipeline", "run", "no_such_module:flow"), "cannot import 'no_such_module'"),
        (("pipeline", "run", f"{SAMPLE}:make_frame"), "not a @pipeline"),
        (("pipeline", "run", f"{SAMPLE}:branching", "--executor", "spark"), "no such executor"),
        (("pipeline", "show", "ffffffff"), "no pipeline run with this id"),
        (("lineage", "nothing@1"), "not a known model@version"),
        (("pipeline", "compile", f"{SAMPLE}:branching", "-o", "x.yaml", "--target", "argo"), "kfp"),
    ],
)
def test_bad_input_exits_2_with_a_message(tmp_path: Path, args: tuple, message: str) -> None:
    result = _iml4e(tmp_path / "home", *args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_compile_writes_a_kfp_yaml(tmp_path: Path) -> None:
    output = tmp_path / "flow.yaml"
    result = _iml4e(
        tmp_path / "home",
        "pipeline",
        "compile",
        f"{SAMPLE}:branching",
        "-o",
        str(output),
        "--image",
        "registry.example/flows:1",
        "--env",
        "IML4E_DATABASE_URL=postgresql+psycopg://db/iml4e",
    )
    assert result.returncode == 0, result.stderr
    text = output.read_text()
    assert "registry.example/flows:1" in text and "run-step" in text
