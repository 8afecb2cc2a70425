"""compile_kfp writes a KFP v2 pipeline spec: checked with the real kfp SDK, and run locally.

The SDK loads the YAML back, reuses it inside another pipeline and compiles that again; the
last test plays the KFP backend's part (resolve each task's inputs, substitute the
placeholders, run the containers' commands in dependency order) against the real ``iml4e``
command in child processes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from kfp import compiler, components, dsl

from iml4e.config import Settings
from iml4e.errors import BadInput
from iml4e.pipelines import InvalidParameter, get_run
from iml4e.pipelines.kfp_export import RUN_ID_INPUT, KfpExportError, compile_kfp
from iml4e.store import open_store
from tests.pipelines.kfp_sample import kfp_sample

REPO = Path(__file__).resolve().parents[2]
IMAGE = "registry.example.com/flows/iml4e:1.0"
ENV = {
    "IML4E_DATABASE_URL": "postgresql+psycopg://iml4e@postgres:5432/iml4e",
    "IML4E_ARTIFACT_ROOT": "s3://ml-artifacts/iml4e",
}
PARAMETERS = ["rows", "scale", "prefix", "shout", "tags", "result_path"]


def _spec(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _tasks_by_step(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The root DAG's tasks, keyed by their display name (the iml4e step name)."""
    return {task["taskInfo"]["name"]: task for task in spec["root"]["dag"]["tasks"].values()}


def _container(spec: dict[str, Any], task: dict[str, Any]) -> dict[str, Any]:
    component = spec["components"][task["componentRef"]["name"]]
    return spec["deploymentSpec"]["executors"][component["executorLabel"]]["container"]


def test_compiled_pipeline_loads_back_with_the_kfp_sdk(tmp_path: Path) -> None:
    output = tmp_path / "new" / "folder" / "sample.yaml"
    written = compile_kfp(
        kfp_sample, output, image=IMAGE, params={"rows": 7, "tags": ["x", "y"]}, env=ENV
    )

    assert written == output
    loaded = components.load_component_from_file(str(output))
    assert loaded.name == "kfp-sample-pipeline"
    inputs = loaded.component_spec.inputs
    assert {name: (spec.type, spec.default) for name, spec in inputs.items()} == {
        "rows": ("Integer", 7),  # overridden
        "scale": ("Float", 0.5),
        "prefix": ("String", "n"),
        "shout": ("Boolean", False),
        "tags": ("String", '["x","y"]'),  # not a KFP type: JSON text, overridden
        "result_path": ("String", ""),
    }

    graph = kfp_sample.build()
    spec = _spec(output)
    tasks = _tasks_by_step(spec)
    assert len(spec["components"]) == len(tasks) == len(graph.nodes) == 4
    assert len(spec["deploymentSpec"]["executors"]) == 4
    step_of = {key: task["taskInfo"]["name"] for key, task in spec["root"]["dag"]["tasks"].items()}
    assert {
        name: sorted(step_of[key] for key in task.get("dependentTasks", []))
        for name, task in tasks.items()
    } == {name: sorted(node.upstream) for name, node in graph.nodes.items()}
    assert sorted(graph.nodes["report"].upstream) == ["make_label", "total"]  # the join

    for name, task in tasks.items():
        container = _container(spec, task)
        assert container["image"] == IMAGE
        assert container["command"] == ["iml4e"]
        assert container["args"] == [
            "pipeline",
            "run-step",
            "tests.pipelines.kfp_sample:kfp_sample",
            "--step",
            name,
            "--run-id",
            f"{{{{$.inputs.parameters['{RUN_ID_INPUT}']}}}}",
            "--no-retries",
            *[
                item
                for parameter in PARAMETERS
                for item in ("-p", f"{parameter}={{{{$.inputs.parameters['{parameter}']}}}}")
            ],
        ]
        parameters = task["inputs"]["parameters"]
        assert parameters[RUN_ID_INPUT] == {
            "runtimeValue": {"constant": dsl.PIPELINE_JOB_ID_PLACEHOLDER}
        }
        assert {key: value for key, value in parameters.items() if key != RUN_ID_INPUT} == {
            parameter: {"componentInputParameter": parameter} for parameter in PARAMETERS
        }
        assert container["env"] == [{"name": key, "value": value} for key, value in ENV.items()]
        assert not task.get("cachingOptions", {}).get("enableCache", False)

    assert tasks["total"]["retryPolicy"] == {
        "maxRetryCount": 2,
        "backoffDuration": "1s",  # 0.5 s rounded up: KFP takes whole seconds
        "backoffFactor": 2.0,
        "backoffMaxDuration": "3600s",
    }
    assert [name for name, task in tasks.items() if "retryPolicy" in task] == ["total"]


def test_compiled_pipeline_is_a_component_other_kfp_pipelines_can_use(tmp_path: Path) -> None:
    compile_kfp(kfp_sample, tmp_path / "sample.yaml", image=IMAGE)
    sample = components.load_component_from_file(str(tmp_path / "sample.yaml"))

    def outer(rows=3):  # type: ignore[no-untyped-def]
        sample(rows=rows, tags='["z"]')
        sample(shout=True).set_display_name("again")

    # kfp reads annotations as objects; `from __future__ import annotations` makes them text
    outer.__annotations__ = {"rows": int}
    compiler.Compiler().compile(dsl.pipeline(name="outer")(outer), str(tmp_path / "outer.yaml"))

    spec = _spec(tmp_path / "outer.yaml")
    assert sorted(spec["root"]["dag"]["tasks"]) == ["kfp-sample-pipeline", "kfp-sample-pipeline-2"]
    inner = spec["components"]["comp-kfp-sample-pipeline"]["dag"]["tasks"]
    assert sorted(inner) == ["make-label", "report", "source", "total"]
    assert len(spec["deploymentSpec"]["executors"]) == 8


def test_bad_parameters_raise_before_anything_is_written(tmp_path: Path) -> None:
    output = tmp_path / "out" / "sample.yaml"

    with pytest.raises(InvalidParameter) as unknown:
        compile_kfp(kfp_sample, output, image=IMAGE, params={"bogus": 1})
    assert unknown.value.where is not None and "bogus" in unknown.value.where

    with pytest.raises(InvalidParameter) as wrong_type:
        compile_kfp(kfp_sample, output, image=IMAGE, params={"rows": "many"})
    assert wrong_type.value.where is not None and "rows" in wrong_type.value.where

    with pytest.raises(KfpExportError) as no_image:
        compile_kfp(kfp_sample, output, image=" ")
    assert no_image.value.where == "image"

    with pytest.raises(KfpExportError) as bad_env:
        compile_kfp(kfp_sample, output, image=IMAGE, env={"NOT A NAME": "x"})
    assert bad_env.value.where == "NOT A NAME"

    assert not (tmp_path / "out").exists()


def test_an_unwritable_output_path_is_reported_with_its_path(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file, not a folder", encoding="utf-8")
    output = tmp_path / "taken" / "sample.yaml"

    with pytest.raises(KfpExportError) as raised:
        compile_kfp(kfp_sample, output, image=IMAGE)

    assert isinstance(raised.value, BadInput)
    assert raised.value.where == str(output)


def test_importing_iml4e_does_not_import_kfp() -> None:
    probe = "import sys, iml4e, iml4e.pipelines.kfp_export; print('kfp' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


# --- playing the KFP backend -------------------------------------------------------------------


def _dependency_order(tasks: dict[str, dict[str, Any]]) -> list[str]:
    ordered: list[str] = []
    while len(ordered) < len(tasks):
        ready = [
            key
            for key, task in sorted(tasks.items())
            if key not in ordered and set(task.get("dependentTasks", [])) <= set(ordered)
        ]
        assert ready, "the tasks' dependencies form a cycle"
        ordered.append(ready[0])
    return ordered


def _rendered(value: Any, parameter_type: str) -> str:
    """A parameter value as the KFP launcher puts it into a command line."""
    if parameter_type == "BOOLEAN":
        return "true" if value else "false"
    if parameter_type == "NUMBER_INTEGER":
        return str(int(value))
    return str(value)


def _resolve_inputs(spec: dict[str, Any], task: dict[str, Any], job_id: str) -> dict[str, str]:
    pipeline_inputs = spec["root"]["inputDefinitions"]["parameters"]
    values: dict[str, str] = {}
    for name, source in task["inputs"]["parameters"].items():
        if "componentInputParameter" in source:
            definition = pipeline_inputs[source["componentInputParameter"]]
            values[name] = _rendered(definition["defaultValue"], definition["parameterType"])
        else:
            constant = source["runtimeValue"]["constant"]
            values[name] = job_id if constant == dsl.PIPELINE_JOB_ID_PLACEHOLDER else constant
    return values


def _substituted(text: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        text = text.replace(f"{{{{$.inputs.parameters['{name}']}}}}", value)
    assert "{{$" not in text, f"unresolved placeholder in {text!r}"
    return text


@pytest.mark.slow
def test_compiled_yaml_runs_step_by_step_with_the_iml4e_command(
    tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    result_file = tmp_path / "result.json"
    home = tmp_path / "home"  # where make_settings() puts its home too
    path = compile_kfp(
        kfp_sample,
        tmp_path / "sample.yaml",
        image=IMAGE,
        params={"result_path": str(result_file), "shout": True, "tags": ["x"]},
        env={"IML4E_HOME": str(home)},
    )
    spec = _spec(path)
    tasks = spec["root"]["dag"]["tasks"]
    job_id = str(uuid.uuid4())  # KFP's job ids are UUIDs with dashes
    environment = {k: v for k, v in os.environ.items() if not k.startswith("IML4E_")}

    for key in _dependency_order(tasks):
        task = tasks[key]
        container = _container(spec, task)
        values = _resolve_inputs(spec, task, job_id)
        argv = [_substituted(item, values) for item in container["command"] + container["args"]]
        assert argv[0] == "iml4e"
        step_env = {item["name"]: item["value"] for item in container.get("env", [])}
        done = subprocess.run(
            [sys.executable, "-m", "iml4e", *argv[1:]],
            capture_output=True,
            text=True,
            cwd=REPO,
            env={**environment, **step_env},
            timeout=300,
        )
        assert done.returncode == 0, f"{key}: {argv}\n{done.stdout}\n{done.stderr}"

    assert json.loads(result_file.read_text(encoding="utf-8")) == {
        "total": 3.0,  # 0.5 * (0 + 1 + 2 + 3)
        "label": "N4-X",
    }
    store = open_store(make_settings())
    try:
        record = get_run(store, uuid.UUID(job_id).hex)
    finally:
        store.close()
    assert record.status == "succeeded"
    assert record.params["tags"] == ["x"] and record.params["shout"] is True
    assert sorted(step.name for step in record.steps) == [
        "make_label",
        "report",
        "source",
        "total",
    ]
    assert {step.status for step in record.steps} == {"succeeded"}
