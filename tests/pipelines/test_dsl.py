"""The DSL: graphs built from plain functions, and mistakes caught before anything runs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from iml4e.pipelines import (
    CycleError,
    InvalidParameter,
    PipelineDefinitionError,
    PipelineGraph,
    StepNode,
    pipeline,
    step,
)
from iml4e.pipelines.dsl import StepOutput
from iml4e.pipelines.params import parse_value, split_assignments
from tests.pipelines import sample_pipelines as sample


def test_graph_has_the_called_steps_in_order_with_inputs_and_params() -> None:
    graph = sample.branching.build({"rows": 6})
    assert list(graph.nodes) == [
        "make_frame",
        "halve",
        "column_sum",
        "column_sum_2",
        "total",
        "as_array",
    ]
    assert graph.order() == list(graph.nodes)
    assert graph.params == {"rows": 6, "seed": 0}
    assert graph.nodes["make_frame"].params == {"rows": 6, "seed": 0}
    assert graph.nodes["column_sum_2"].inputs["frame"] == StepOutput("halve", "right", None)
    assert graph.nodes["column_sum"].params == {"column": "y"}
    assert graph.nodes["total"].upstream == {"column_sum", "column_sum_2"}
    assert graph.downstream_of("halve") == {"column_sum", "column_sum_2", "total"}


def test_a_step_called_outside_a_pipeline_is_its_plain_function() -> None:
    frame = sample.make_frame(rows=3)
    assert isinstance(frame, pd.DataFrame) and len(frame) == 3


def test_type_mismatch_between_steps_is_caught_when_the_graph_is_built() -> None:
    @step
    def wants_array(values: np.ndarray) -> int:
        return len(values)

    @pipeline
    def mismatched() -> None:
        wants_array(sample.make_frame())

    with pytest.raises(PipelineDefinitionError) as caught:
        mismatched.build()
    assert caught.value.where == "wants_array(values)"
    assert "expects ndarray but step 'make_frame' returns DataFrame" in caught.value.message


def test_missing_input_names_the_step_and_argument() -> None:
    @pipeline
    def incomplete() -> None:
        sample.total(1.0)  # type: ignore[call-arg]

    with pytest.raises(PipelineDefinitionError, match="missing a required argument: 'right'") as e:
        incomplete.build()
    assert e.value.where == "total"


def test_parameter_of_the_wrong_type_is_refused() -> None:
    @pipeline
    def bad_param() -> None:
        sample.make_frame(rows="ten")  # type: ignore[arg-type]

    with pytest.raises(InvalidParameter, match="expects int, got str 'ten'") as caught:
        bad_param.build()
    assert caught.value.where == "make_frame(rows)"


def test_non_json_parameter_is_refused() -> None:
    @step
    def takes_anything(value: object = None) -> int:
        return 1

    @pipeline
    def bad() -> None:
        takes_anything(value={1, 2})

    with pytest.raises(InvalidParameter, match="parameters must be JSON values"):
        bad.build()


def test_pipeline_parameters_are_checked() -> None:
    with pytest.raises(InvalidParameter, match="unknown parameter") as caught:
        sample.branching.build({"rowz": 3})
    assert caught.value.where == "branching: rowz"
    with pytest.raises(InvalidParameter, match="expects int"):
        sample.branching.build({"rows": 2.5})
    with pytest.raises(InvalidParameter, match="required parameter is missing"):
        sample.retrying.build({})
    with pytest.raises(InvalidParameter, match="expects int, got 'x'"):
        sample.branching.parse_params({"rows": "x"})
    assert sample.branching.parse_params({"rows": "7"}) == {"rows": 7}


def test_using_an_output_as_a_value_in_the_pipeline_function_is_explained() -> None:
    @pipeline
    def peeking() -> None:
        frame = sample.make_frame()
        if frame.empty:
            return

    with pytest.raises(PipelineDefinitionError, match="has no value while the pipeline is built"):
        peeking.build()


def test_cycle_in_a_hand_built_graph_names_the_steps() -> None:
    a = StepNode("a", sample.total, inputs={"left": StepOutput("c", "output", float)})
    b = StepNode("b", sample.total, inputs={"left": StepOutput("a", "output", float)})
    c = StepNode("c", sample.total, inputs={"left": StepOutput("b", "output", float)})
    start = StepNode("start", sample.make_frame)
    graph = PipelineGraph("g", "m:g", "g", {}, {"start": start, "a": a, "b": b, "c": c})
    with pytest.raises(CycleError) as caught:
        graph.order()
    assert caught.value.steps == ["a", "b", "c"] or set(caught.value.steps) == {"a", "b", "c"}
    assert "the steps form a cycle" in caught.value.message


def test_code_hash_ignores_comments_and_docstrings_but_not_code() -> None:
    def first(x: int) -> int:
        """Doc."""
        return x + 1  # comment

    def second(x: int) -> int:
        # another comment
        return x + 1

    def third(x: int) -> int:
        return x + 2

    one, two, three = step(first), step(second), step(third)
    assert one.code_hash == two.code_hash
    assert one.code_hash != three.code_hash
    assert one.code_hash != one.with_options(version="2").code_hash


def test_bad_step_options_are_refused() -> None:
    with pytest.raises(PipelineDefinitionError, match="retries cannot be negative"):
        step(retries=-1)(sample.make_frame.func)
    with pytest.raises(PipelineDefinitionError, match="timeout_s must be positive"):
        sample.total.with_options(timeout_s=0)
    with pytest.raises(PipelineDefinitionError, match="step names use"):
        sample.total.with_options(name="no spaces")


def test_command_line_values_are_parsed_by_annotation() -> None:
    assert split_assignments(["a=1", "b=x=y"]) == {"a": "1", "b": "x=y"}
    with pytest.raises(InvalidParameter):
        split_assignments(["novalue"])
    assert parse_value("true", bool, where="p") is True
    assert parse_value("2.5", float, where="p") == 2.5
    assert parse_value('["a>=1"]', list[str] | None, where="p") == ["a>=1"]
    assert parse_value("none", list[str] | None, where="p") is None
    with pytest.raises(InvalidParameter):
        parse_value("maybe", bool, where="p")
