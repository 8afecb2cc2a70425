"""Ground-truth labels joined to a real inference log, through Python, HTTP and the CLI."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.testclient import TestClient
from typer.testing import CliRunner

from iml4e.cli import commands_feedback
from iml4e.cli.context import CliState
from iml4e.cli.main import EXIT_BAD_INPUT, _exit_code_for
from iml4e.config import Settings
from iml4e.monitoring.errors import FeedbackRejected
from iml4e.monitoring.feedback import (
    FeedbackResult,
    RejectedLabel,
    load_label_file,
    read_labels,
    record_labels,
)
from iml4e.monitoring.performance import live_performance
from iml4e.serving import _http
from iml4e.serving.inference_log import InferenceLogWriter, InferenceRecord, read_inference_log
from iml4e.serving.routes_feedback import feedback_routes
from iml4e.store import Store, open_store
from iml4e.store.models import FeedbackLabel
from tests.serving.conftest import RegisteredModel, registered_model, serve_champion

__all__ = ["registered_model"]  # the session fixture, shared with the serving tests

DEPLOYMENT = "credit"


def _record(request_id: str, *, role: str = "champion", rows: int = 1) -> InferenceRecord:
    return InferenceRecord(
        request_id=request_id,
        timestamp=time.time(),
        deployment=DEPLOYMENT,
        model_name="m",
        model_version="1",
        protocol="mlflow",
        inputs=[{"x": 1.0}] * rows,
        outputs=[1] * rows,
        latency_ms=1.0,
        role=role,
    )


def write_log(store: Store, root: Path, records: list[InferenceRecord]) -> None:
    writer = InferenceLogWriter(store, root, DEPLOYMENT, max_records_per_segment=4_000)
    for record in records:
        writer.append(record)
    writer.close()


@pytest.fixture
def logged(store: Store, tmp_path: Path) -> Store:
    """``r0``…``r9`` answered by the champion, ``s0`` seen only by the shadow."""
    records = [_record(f"r{i}") for i in range(10)]
    records += [_record("r0", role="shadow"), _record("s0", role="shadow")]
    write_log(store, tmp_path / "log", records)
    return store


def test_valid_labels_are_recorded_and_the_others_named(logged: Store) -> None:
    result = record_labels(
        logged,
        DEPLOYMENT,
        [
            ("r0", 1),
            ("r1", "yes"),
            ("r2", 0.5),
            ("r3", True),
            ("unknown", 1),
            ("s0", 1),
            ("r4", 1),
            ("r4", 0),
            ("r5", float("nan")),
            ("r6", float("inf")),
            ("r7", None),
            ("r8", [1, 2]),
            ("", 1),
        ],
        source="crm-export",
        actor="ana",
    )
    assert result.recorded == 4
    reasons = {item.request_id: item.reason for item in result.rejected}
    assert reasons["unknown"] == "not an answered request of credit"
    assert reasons["s0"] == "not an answered request of credit"  # only the shadow saw it
    assert reasons["r4"] == "given 2 times in this upload"
    assert [item.request_id for item in result.rejected].count("r4") == 2
    assert "nan" in reasons["r5"] and "inf" in reasons["r6"]
    assert "NoneType" in reasons["r7"] and "list" in reasons["r8"]
    assert "non-empty" in reasons[""]
    assert read_labels(logged, DEPLOYMENT) == {"r0": 1, "r1": "yes", "r2": 0.5, "r3": True}
    assert read_labels(logged, "other") == {}


def test_a_labelled_request_is_never_overwritten(logged: Store) -> None:
    assert record_labels(logged, DEPLOYMENT, [("r0", 1)], source="a", actor="ana").recorded == 1
    again = record_labels(logged, DEPLOYMENT, [("r0", 0), ("r1", 0)], source="b", actor="bo")
    assert again == FeedbackResult(1, [RejectedLabel("r0", "already labelled")])
    assert read_labels(logged, DEPLOYMENT) == {"r0": 1, "r1": 0}


def test_request_ids_with_quotes_and_backslashes_are_found(store: Store, tmp_path: Path) -> None:
    odd = 'say "hi" \\ bye'
    write_log(store, tmp_path / "log", [_record(odd), _record("plain")])
    result = record_labels(store, DEPLOYMENT, [(odd, 1), ('say "hi"', 0)], source="s", actor="a")
    assert result == FeedbackResult(
        1, [RejectedLabel('say "hi"', "not an answered request of credit")]
    )
    assert read_labels(store, DEPLOYMENT) == {odd: 1}


def test_source_and_actor_are_required(logged: Store) -> None:
    with pytest.raises(FeedbackRejected) as raised:
        record_labels(logged, DEPLOYMENT, [("r0", 1)], source="file", actor=" ")
    assert raised.value.where == "actor"
    with pytest.raises(FeedbackRejected, match="longer than 200") as raised:
        record_labels(logged, DEPLOYMENT, [("r0", 1)], source="s" * 201, actor="ana")
    assert raised.value.where == "source"
    assert read_labels(logged, DEPLOYMENT) == {}


def test_ten_thousand_labels_are_joined_in_one_pass(store: Store, tmp_path: Path) -> None:
    write_log(store, tmp_path / "log", [_record(f"q{i}") for i in range(12_000)])
    labels = [(f"q{i}", i % 2) for i in range(10_000)]
    started = time.perf_counter()
    result = record_labels(store, DEPLOYMENT, labels, source="bulk", actor="ana")
    elapsed = time.perf_counter() - started
    assert result == FeedbackResult(10_000, [])
    assert len(read_labels(store, DEPLOYMENT)) == 10_000
    assert elapsed < 10, f"10,000 labels took {elapsed:.1f}s"


# --- label files ---------------------------------------------------------------------------


def test_csv_and_json_lines_files_are_read(tmp_path: Path) -> None:
    csv_file = tmp_path / "labels.csv"
    csv_file.write_text("request_id,label,comment\nr0,1,ok\nr1,0.5,\nr2,approved,x\n")
    assert load_label_file(csv_file) == [("r0", 1), ("r1", 0.5), ("r2", "approved")]
    jsonl = tmp_path / "labels.jsonl"
    jsonl.write_text('{"request_id": "r0", "label": 1}\n\n{"request_id": "r1", "label": "no"}\n')
    assert load_label_file(jsonl) == [("r0", 1), ("r1", "no")]


@pytest.mark.parametrize(
    ("name", "content", "where", "says"),
    [
        ("a.csv", "id,label\nr0,1\n", "a.csv:1", "missing request_id"),
        ("b.csv", "request_id,label\nr0,1\nr1\n", "b.csv:3", "expected 2 fields"),
        ("c.csv", "request_id,label\nr0,1\nr1,1,extra\n", "c.csv:3", "expected 2 fields"),
        ("d.csv", "request_id,label\nr0,\n", "d.csv:2", "must not be empty"),
        (
            "e.jsonl",
            '{"request_id": "r0", "label": 1}\n{"request_id": "r1",\n',
            "e.jsonl:2",
            "JSON",
        ),
        ("f.jsonl", '{"request_id": "r0", "label": NaN}\n', "f.jsonl:1", "JSON"),
        ("g.jsonl", '{"request_id": "r0"}\n', "g.jsonl:1", "expected an object"),
        ("h.jsonl", '{"request_id": 7, "label": 1}\n', "h.jsonl:1", "request_id must be text"),
        ("i.csv", "request_id,label\n", "i.csv", "holds no labels"),
        ("j.txt", "r0 1\n", "j.txt", "label files are"),
    ],
)
def test_a_malformed_file_is_refused_naming_file_and_line(
    tmp_path: Path, name: str, content: str, where: str, says: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(FeedbackRejected) as raised:
        load_label_file(path)
    assert raised.value.where == str(tmp_path / where)
    assert says in raised.value.message


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(FeedbackRejected, match="no such file"):
        load_label_file(tmp_path / "absent.csv")


# --- HTTP ----------------------------------------------------------------------------------


@pytest.fixture
def http(logged: Store) -> Iterator[TestClient]:
    with TestClient(Starlette(routes=feedback_routes(logged, DEPLOYMENT))) as client:
        yield client


def test_post_feedback_records_valid_labels_and_lists_the_others(
    http: TestClient, logged: Store
) -> None:
    response = http.post(
        "/feedback",
        json={
            "labels": [
                {"request_id": "r0", "label": 1},
                {"request_id": "r1", "label": 0},
                {"request_id": "nope", "label": 1},
            ],
            "actor": "ana",
        },
    )
    assert response.status_code == 200
    assert response.json() == {
        "recorded": 2,
        "rejected": [{"request_id": "nope", "reason": "not an answered request of credit"}],
    }
    assert read_labels(logged, DEPLOYMENT) == {"r0": 1, "r1": 0}


def test_a_nan_label_over_http_is_refused_by_name(http: TestClient) -> None:
    body = '{"labels": [{"request_id": "r0", "label": NaN}], "actor": "ana"}'
    response = http.post("/feedback", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 200
    assert response.json()["rejected"] == [
        {"request_id": "r0", "reason": "the label is nan, not a finite number"}
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], "body"),
        ({"actor": "ana"}, "labels"),
        ({"labels": [], "actor": "ana"}, "labels"),
        ({"labels": ["r0"], "actor": "ana"}, "labels[0]"),
        ({"labels": [{"label": 1}], "actor": "ana"}, "labels[0].request_id"),
        ({"labels": [{"request_id": "r0"}], "actor": "ana"}, "labels[0].label"),
        ({"labels": [{"request_id": "r0", "label": 1}]}, "actor"),
        ({"labels": [{"request_id": "r0", "label": 1}], "actor": "a", "source": 3}, "source"),
    ],
)
def test_a_malformed_body_is_a_400_naming_the_field(
    http: TestClient, body: object, field: str
) -> None:
    response = http.post("/feedback", json=body)
    assert response.status_code == 400
    assert response.json()["field"] == field


def test_a_body_that_is_not_json_is_refused(http: TestClient) -> None:
    broken = http.post("/feedback", content="{", headers={"content-type": "application/json"})
    assert (broken.status_code, broken.json()["field"]) == (400, "body")
    text = http.post("/feedback", content="r0,1", headers={"content-type": "text/csv"})
    assert text.status_code == 415


def test_a_body_over_the_limit_is_a_413(http: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_http, "MAX_BODY_BYTES", 1_000)
    labels = [{"request_id": f"r{i % 10}", "label": 1} for i in range(100)]
    response = http.post("/feedback", json={"labels": labels, "actor": "ana"})
    assert response.status_code == 413


# --- CLI -----------------------------------------------------------------------------------


def _cli(settings: Settings) -> typer.Typer:
    """A root command with a ``monitor`` group, as ``iml4e`` builds it."""
    root = typer.Typer(pretty_exceptions_enable=False)

    @root.callback()
    def options(ctx: typer.Context) -> None:
        ctx.obj = CliState(home=settings.home, database_url=settings.database_url)

    monitor = typer.Typer(name="monitor")
    commands_feedback.register(monitor)
    root.add_typer(monitor)
    return root


@pytest.fixture
def cli_settings(make_settings, tmp_path: Path) -> Settings:
    settings = make_settings()
    with open_store(settings) as store:
        write_log(store, tmp_path / "log", [_record(f"r{i}") for i in range(5)])
    return settings


def test_cli_records_labels_and_exits_1_on_refused_ones(
    cli_settings: Settings, tmp_path: Path
) -> None:
    app = _cli(cli_settings)
    labels = tmp_path / "labels.csv"
    labels.write_text("request_id,label\nr0,1\nr1,0\n")
    ok = CliRunner().invoke(app, ["monitor", "feedback", DEPLOYMENT, "--file", str(labels)])
    assert ok.exit_code == 0, ok.output
    assert "2 labels recorded, 0 refused" in ok.output
    labels.write_text("request_id,label\nr1,1\nr2,1\nghost,0\n")
    args = ["monitor", "feedback", DEPLOYMENT, "--file", str(labels), "--by", "bo", "--json"]
    refused = CliRunner().invoke(app, args)
    assert refused.exit_code == 1
    assert json.loads(refused.stdout) == {
        "recorded": 1,
        "rejected": [
            {"request_id": "ghost", "reason": "not an answered request of credit"},
            {"request_id": "r1", "reason": "already labelled"},
        ],
    }
    with open_store(cli_settings) as store:
        assert read_labels(store, DEPLOYMENT) == {"r0": 1, "r1": 0, "r2": 1}
        with store.session() as session:
            who = session.execute(
                select(
                    FeedbackLabel.request_id,
                    FeedbackLabel.source,
                    FeedbackLabel.actor,
                    FeedbackLabel.created_at,
                )
            ).all()
    assert all(created is not None for *_, created in who)
    assert sorted(row[:3] for row in who) == [
        ("r0", "labels.csv", cli_settings.user),
        ("r1", "labels.csv", cli_settings.user),
        ("r2", "labels.csv", "bo"),
    ]


def test_cli_bad_file_is_bad_input(cli_settings: Settings, tmp_path: Path) -> None:
    labels = tmp_path / "labels.jsonl"
    labels.write_text('{"request_id": "r0", "label": 1}\nnot json\n')
    args = ["monitor", "feedback", DEPLOYMENT, "--file", str(labels)]
    result = CliRunner().invoke(_cli(cli_settings), args)
    assert isinstance(result.exception, FeedbackRejected)
    assert result.exception.where == f"{labels}:2"
    assert _exit_code_for(result.exception) == EXIT_BAD_INPUT  # how `iml4e` exits on it


# --- end to end ----------------------------------------------------------------------------


def test_served_requests_labelled_over_http_give_live_performance(
    registered_model: RegisteredModel,
) -> None:
    """A real model answers; its answers are labelled over HTTP and scored."""
    deployment = "feedback-e2e"
    frame = registered_model.frame.head(40)
    rows = frame.drop(columns=["label"]).to_dict(orient="records")
    with serve_champion(registered_model, deployment) as (client, store):
        for i, row in enumerate(rows):
            response = client.post(
                "/invocations", json={"dataframe_records": [row]}, headers={"x-request-id": f"e{i}"}
            )
            assert response.status_code == 200
        truth = [{"request_id": f"e{i}", "label": int(y)} for i, y in enumerate(frame["label"])]
        app = Starlette(routes=feedback_routes(store, deployment))
        with TestClient(app) as feedback:
            answer = feedback.post("/feedback", json={"labels": truth[:30], "actor": "ana"})
        assert answer.json() == {"recorded": 30, "rejected": []}
        records = read_inference_log(store, deployment)
        report = live_performance(records, read_labels(store, deployment), group_by="color")
    assert report.task == "classification"
    assert report.overall is not None
    assert (report.overall.n_labelled, report.overall.n_unlabelled) == (30, 10)
    assert report.overall.metrics["accuracy"] is not None
    assert set(report.by_group) <= {"red", "green", "blue"}
    assert all(group.too_small for group in report.by_group.values())
