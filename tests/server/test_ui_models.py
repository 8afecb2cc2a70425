"""The pipeline-run and model pages: on the demo's story (read only), paging and step states on
a store of recorded runs, and the approve/promote/roll-back forms on models of their own."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from iml4e.audit import list_audit
from iml4e.config import load_settings
from iml4e.pipelines.artifacts import ArtifactRef
from iml4e.pipelines.records import RunDescription, RunRecorder, get_run
from iml4e.registry import current_alias_version, register_model_version
from iml4e.server import create_platform_app
from iml4e.server.access import CSRF_HEADER
from iml4e.server.ui_models_data import RUNS_PER_PAGE, pipeline_run_page, pipeline_runs_page
from iml4e.store import Store, open_store
from iml4e.store.models import PipelineRun, utcnow
from iml4e.tracking import connect_tracking
from tests.server.conftest import DEMO_PASSWORD, DemoPlatform, ui_login

EVIL = "<script>alert(1)</script>"


@dataclass
class Pages:
    client: TestClient
    store: Store
    demo: DemoPlatform
    mlflow: Any

    def login(self, role: str) -> str:
        """Log in as ``<role>-user``; returns the CSRF token of the pages' forms."""
        return ui_login(self.client, f"{role}-user")

    def new_model(self, name: str, versions: int, *, registrant: str) -> None:
        """Register ``versions`` versions of ``name`` (a model only this test uses)."""
        run_id = self.demo.summary.mlflow_run_id
        for _ in range(versions):
            register_model_version(
                self.mlflow,
                self.store,
                name=name,
                source=f"runs:/{run_id}/model",
                run_id=run_id,
                metrics={"roc_auc": 0.8},
                actor=registrant,
            )


@pytest.fixture(scope="module")
def pages(demo_platform: DemoPlatform) -> Iterator[Pages]:
    store = open_store(demo_platform.settings)
    with TestClient(create_platform_app(demo_platform.settings)) as client:
        yield Pages(client, store, demo_platform, connect_tracking(demo_platform.settings, store))
    store.close()


# --- the demo's story, read only ------------------------------------------------------------


def test_pipeline_runs_list_the_demos_runs(pages: Pages) -> None:
    pages.login("viewer")
    answer = pages.client.get("/ui/pipelines")
    assert answer.status_code == 200
    run_id = pages.demo.summary.pipeline_run_id
    assert f'href="/ui/pipelines/{run_id}"' in answer.text
    assert answer.text.count("<tr>") >= 4  # the header and the demo's three training runs
    assert "train-case" in answer.text and "Older runs" not in answer.text
    odd = pages.client.get("/ui/pipelines?page=x")  # not a number: the first page
    assert odd.status_code == 200 and f'href="/ui/pipelines/{run_id}"' in odd.text


def test_a_runs_page_draws_one_node_per_step_with_its_status(pages: Pages) -> None:
    pages.login("viewer")
    summary = pages.demo.summary
    answer = pages.client.get(f"/ui/pipelines/{summary.pipeline_run_id[:10]}")
    assert answer.status_code == 200
    steps = get_run(pages.store, summary.pipeline_run_id).steps
    svg = answer.text[answer.text.index("<svg") : answer.text.index("</svg>")]
    nodes = re.findall(r'<g class="node status-(\w+) kind-step" data-node="step:(\d+)"', svg)
    assert sorted(int(step_id) for _, step_id in nodes) == sorted(step.id for step in steps)
    assert {status for status, _ in nodes} == {"succeeded"}
    assert svg.count('class="edge"') >= len(steps) - 1  # every step after collect reads
    mlflow_link = (
        f"/mlflow/#/experiments/{summary.experiment_id}/runs/{summary.pipeline_mlflow_run_id}"
    )
    assert mlflow_link in answer.text
    assert '<tr id="step-' in answer.text and "Logs and errors" in answer.text


def test_models_list_aliases_and_the_newest_version(pages: Pages) -> None:
    pages.login("viewer")
    text = pages.client.get("/ui/models").text
    row = text[text.index('href="/ui/models/credit-default"') :]
    row = row[: row.index("</tr>")]
    assert ">v3</a>" in row  # champion and newest version after the demo's retraining


def test_a_models_page_shows_versions_approvals_and_alias_history(pages: Pages) -> None:
    pages.login("viewer")
    text = pages.client.get("/ui/models/credit-default").text
    for version in ("1", "2", "3"):
        assert f'href="/ui/models/credit-default/versions/{version}">v{version}</a>' in text
    history = text[text.index('id="alias-history"') :]
    assert "rolled back" in history and "promotion refused" in history and "promoted" in history
    assert "demo review" not in text  # notes are on the version's page
    versions = text[text.index('id="versions"') : text.index("</table>")]
    assert "roc_auc" in versions and "0.7859" in versions
    assert 'name="csrf_token"' in text and 'action="/ui/models/credit-default/promote"' in text


def test_a_versions_page_shows_lineage_metrics_approvals_and_compliance(pages: Pages) -> None:
    pages.login("viewer")
    summary = pages.demo.summary
    answer = pages.client.get("/ui/models/credit-default/versions/2")
    assert answer.status_code == 200
    svg = answer.text[answer.text.index("<svg") : answer.text.index("</svg>")]
    assert f"{summary.dataset}@" in svg and 'class="node kind-dataset"' in svg
    assert "credit-default@2" in svg and 'class="node kind-model"' in svg
    assert 'class="node status-succeeded kind-step"' in svg and 'href="/ui/pipelines/' in svg
    assert "demo review" in answer.text  # the approval's note
    compliance = pages.client.get("/ui/models/credit-default/versions/3").text
    assert f'href="/ui/compliance/{summary.compliance.system}"' in compliance
    assert summary.compliance.blocking[0] in compliance


@pytest.mark.parametrize(
    "path",
    [
        "/ui/pipelines/no-such-run",
        "/ui/models/no-such-model",
        "/ui/models/credit-default/versions/99",
    ],
)
def test_unknown_runs_models_and_versions_are_a_404_page(pages: Pages, path: str) -> None:
    pages.login("viewer")
    answer = pages.client.get(path)
    assert (
        answer.status_code == 404 and "Not found" in answer.text and 'class="error"' in answer.text
    )


# --- the forms, each on a model of its own --------------------------------------------------


def test_approving_is_for_approvers_and_never_by_the_registrant(pages: Pages) -> None:
    name = "ui-approve-check"
    pages.new_model(name, 1, registrant="approver-user")
    csrf = pages.login("viewer")
    refused = pages.client.post(
        f"/ui/models/{name}/approve", data={"csrf_token": csrf, "version": "1"}
    )
    assert refused.status_code == 403 and "role viewer may not model.approve" in refused.text
    denied = list_audit(pages.store, actor="viewer-user", action="model.approve", outcome="denied")
    assert any(event.target == f"/ui/models/{name}/approve" for event in denied)

    csrf = pages.login("approver")
    own = pages.client.post(f"/ui/models/{name}/approve", data={"csrf_token": csrf, "version": "1"})
    assert own.status_code == 403 and 'id="refusal"' in own.text
    assert "segregation of duties" in own.text
    denied = list_audit(
        pages.store, actor="approver-user", action="model.approve", outcome="denied"
    )
    assert any(event.target == f"model:{name}@1" for event in denied)

    csrf = pages.login("admin")
    done = pages.client.post(
        f"/ui/models/{name}/approve",
        data={"csrf_token": csrf, "version": "1", "note": EVIL},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/ui/models/{name}?done=approve&version=1"
    page = pages.client.get(done.headers["location"]).text
    assert "Version 1 approved." in page and "admin-user" in page
    version_page = pages.client.get(f"/ui/models/{name}/versions/1").text
    assert EVIL not in version_page and "&lt;script&gt;" in version_page


def test_the_rest_route_approves_through_the_same_check(pages: Pages) -> None:
    name = "ui-api-approve-check"
    pages.new_model(name, 1, registrant="approver-user")
    route = f"/api/models/{name}/versions/1/approve"
    answers = {}
    for role in ("approver", "admin"):
        pages.client.cookies.clear()
        login = pages.client.post(
            "/api/login", json={"name": f"{role}-user", "password": DEMO_PASSWORD}
        )
        csrf = login.json()["csrf_token"]
        answers[role] = pages.client.post(route, headers={CSRF_HEADER: csrf})
    assert answers["approver"].status_code == 403
    assert "segregation of duties" in answers["approver"].json()["error"]
    assert answers["admin"].status_code == 200
    assert answers["admin"].json() == {"approvers": ["admin-user"]}


def test_a_form_without_its_csrf_token_is_refused(pages: Pages) -> None:
    pages.login("admin")
    answer = pages.client.post("/ui/models/credit-default/approve", data={"version": "1"})
    assert answer.status_code == 403
    answer = pages.client.post("/ui/models/credit-default/rollback", data={"csrf_token": "x"})
    assert answer.status_code == 403
    assert current_alias_version(pages.mlflow, "credit-default", "champion") == "3"


def test_a_promotion_the_policy_refuses_shows_why(pages: Pages) -> None:
    name = "ui-gate-check"
    pages.new_model(name, 1, registrant="developer-user")
    policy = Path(pages.demo.settings.home) / "policies" / f"{name}.yaml"
    policy.parent.mkdir(parents=True, exist_ok=True)
    policy.write_text(f"model: {name}\nto: champion\nthresholds: ['roc_auc >= 0.99']\n")
    csrf = pages.login("approver")
    answer = pages.client.post(
        f"/ui/models/{name}/promote", data={"csrf_token": csrf, "version": "1"}
    )
    assert answer.status_code == 409
    refusal = answer.text[answer.text.index('id="refusal"') :]
    assert "promotion policy not met" in refusal and "roc_auc" in refusal
    assert current_alias_version(pages.mlflow, name, "champion") is None
    assert "promotion refused" in answer.text  # the alias history shows the refusal


def test_promote_then_roll_back_from_the_page(pages: Pages) -> None:
    name = "ui-promote-check"
    pages.new_model(name, 2, registrant="developer-user")
    csrf = pages.login("approver")
    nothing = pages.client.post(f"/ui/models/{name}/rollback", data={"csrf_token": csrf})
    assert nothing.status_code == 409 and "no promotion to roll back" in nothing.text
    for version in ("1", "2"):
        done = pages.client.post(
            f"/ui/models/{name}/promote",
            data={"csrf_token": csrf, "version": version},
            follow_redirects=False,
        )
        assert done.status_code == 303, done.text
    assert current_alias_version(pages.mlflow, name, "champion") == "2"
    back = pages.client.post(f"/ui/models/{name}/rollback", data={"csrf_token": csrf})
    assert back.status_code == 200 and "Champion rolled back to version 1." in back.text
    assert current_alias_version(pages.mlflow, name, "champion") == "1"


# --- runs recorded in a store of their own --------------------------------------------------


@dataclass
class Recorded:
    store: Store
    first: dict[str, int]
    second: dict[str, int]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recorded]:
    """1,020 old runs, then a run whose train step failed and one whose load step was cached."""
    folder = tmp_path_factory.mktemp("ui-runs")
    settings = load_settings({"home": str(folder / "home")}, environ={}, cwd=folder).settings
    store = open_store(settings)
    start = utcnow() - timedelta(days=30)
    with store.session() as session:
        session.add_all(
            PipelineRun(
                id=f"old{i:05d}",
                pipeline="nightly",
                status="succeeded",
                params={},
                started_at=start + timedelta(minutes=i),
                finished_at=start + timedelta(minutes=i, seconds=3),
            )
            for i in range(1_020)
        )
    first = _record_run(store, "first")
    second = _record_run(store, "second", cached_from=first["load"])
    yield Recorded(store, first, second)
    store.close()


def _ref(content: str) -> ArtifactRef:
    digest = (content * 64)[:64]
    return ArtifactRef(digest, "pickle", f"file:///{content}", "builtins.int", 1)


def _record_run(store: Store, run_id: str, *, cached_from: int | None = None) -> dict[str, int]:
    """A run of load → train → (evaluate, the step named EVIL) in which train failed, or,
    with ``cached_from``, in which load was answered from that earlier step run."""
    recorder = RunRecorder(store)
    recorder.start_run(run_id, RunDescription("fraud", "tests:fraud", {}, "local", {}))
    ids: dict[str, int] = {}
    if cached_from is None:
        ids["load"] = recorder.start_step(
            run_id,
            name="load",
            step_ref="t:load",
            code_hash="c",
            cache_key="k",
            params={},
            inputs={},
        )
        recorder.finish_step(
            ids["load"], status="succeeded", duration_s=0.1, attempts=1, outputs={"out": _ref("a")}
        )
    else:
        source = next(s for s in get_run(store, "first").steps if s.id == cached_from)
        ids["load"] = recorder.record_reused_step(
            run_id,
            name="load",
            status="cached",
            source=source,
            step_ref="t:load",
            code_hash="c",
            params={},
            inputs={},
        )
    ids["train"] = recorder.start_step(
        run_id,
        name="train",
        step_ref="t:train",
        code_hash="c",
        cache_key="k2",
        params={},
        inputs={"rows": _ref("a")},
    )
    recorder.finish_step(
        ids["train"],
        status="failed",
        duration_s=0.2,
        attempts=3,
        error=f"Traceback (most recent call last):\nValueError: {EVIL}",
        logs="epoch 1\n",
    )
    recorder.record_skipped_steps(run_id, ["evaluate", EVIL])
    recorder.finish_run(run_id, "failed", error="step train failed")
    return ids


def test_runs_are_paged_newest_first_reading_only_the_page(recorded: Recorded) -> None:
    first = pipeline_runs_page(recorded.store, 1)
    assert len(first["runs"]) == RUNS_PER_PAGE and first["has_next"] and not first["has_previous"]
    assert [row.id for row in first["runs"][:3]] == ["second", "first", "old01019"]
    assert (first["runs"][0].steps, first["runs"][0].cache_hits) == (4, 1)
    assert first["runs"][2].duration_s == 3.0
    last = pipeline_runs_page(recorded.store, 21)  # 1,022 runs: 22 on the last page
    assert [row.id for row in last["runs"]] == [f"old{i:05d}" for i in range(21, -1, -1)]
    assert not last["has_next"] and last["has_previous"]
    assert pipeline_runs_page(recorded.store, 99)["runs"] == []


def test_a_cached_failed_and_skipped_step_each_show_their_state(recorded: Recorded) -> None:
    second = recorded.second
    data = pipeline_run_page(recorded.store, None, "second")
    svg = str(data["dag"])
    assert f'<g class="node status-cached kind-step" data-node="step:{second["load"]}">' in svg
    assert f'class="node status-failed kind-step" data-node="step:{second["train"]}"' in svg
    assert svg.count("status-skipped") == 2 and svg.count('class="edge"') == 1
    assert EVIL not in svg and "&lt;script&gt;" in svg
    assert data["run"].cache_hits == 1 and data["experiment_id"] is None
    failed = pipeline_run_page(recorded.store, None, "first")["dag"]
    assert f'status-succeeded kind-step" data-node="step:{recorded.first["load"]}"' in failed
