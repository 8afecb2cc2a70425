"""builtin: sources — iml4e's synthetic and bundled datasets, with checked parameters."""

from __future__ import annotations

import pandas as pd
import pytest

from iml4e.data import bundled_dataset, credit_applications
from iml4e.data.connectors import DataSourceError, open_source, read_source
from iml4e.data.connectors.builtin import DATASETS
from iml4e.data.iot import iot_sensor_readings


def test_credit_with_parameters_is_the_generator_output() -> None:
    connector = open_source("builtin:credit?rows=300&seed=1&drift=0.3")
    assert connector.source == "builtin:credit?rows=300&seed=1&drift=0.3"
    expected = credit_applications(300, seed=1, drift=0.3)
    pd.testing.assert_frame_equal(connector.read(), expected)


def test_the_source_spells_out_every_default() -> None:
    assert open_source("builtin:credit").source == "builtin:credit?rows=1000&seed=0&drift=0.0"
    assert open_source("builtin:CREDIT?seed=2").source == (
        "builtin:credit?rows=1000&seed=2&drift=0.0"
    )
    assert open_source("builtin:iot?hours=48").source == (
        "builtin:iot?sensors=5&hours=48&seed=0&drift=0.0&freq_minutes=10"
    )


def test_iot_is_the_generator_output() -> None:
    frame = read_source("builtin:iot?sensors=3&hours=48&seed=4&drift=0.5&freq_minutes=30")
    pd.testing.assert_frame_equal(
        frame, iot_sensor_readings(3, 48, seed=4, drift=0.5, freq_minutes=30)
    )


@pytest.mark.parametrize("name", ["breast_cancer", "diabetes", "iris", "wine"])
def test_bundled_datasets(name: str) -> None:
    connector = open_source(f"builtin:{name}")
    assert connector.source == f"builtin:{name}"
    pd.testing.assert_frame_equal(connector.read(), bundled_dataset(name))


def test_an_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(DataSourceError) as caught:
        open_source("builtin:loans")
    assert caught.value.where == "builtin:loans"
    known = ", ".join(sorted(DATASETS))
    assert caught.value.message == f"unknown builtin dataset 'loans'; known: {known}"


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        (
            "builtin:credit?n=5",
            "unknown parameter 'n' for builtin:credit; known: rows, seed, drift",
        ),
        ("builtin:wine?rows=5", "unknown parameter 'rows' for builtin:wine; known: none"),
        ("builtin:credit?rows=ten", "parameter rows= must be a whole number, got 'ten'"),
        ("builtin:credit?rows=1.5", "parameter rows= must be a whole number, got '1.5'"),
        ("builtin:credit?drift=nan", "parameter drift= must be finite"),
        ("builtin:credit?seed=1&seed=2", "parameter 'seed' is given twice"),
        ("builtin:credit?rows", "cannot parse parameters 'rows'"),
    ],
)
def test_bad_parameters_are_named(source: str, problem: str) -> None:
    with pytest.raises(DataSourceError) as caught:
        open_source(source)
    assert caught.value.message.startswith(problem)


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("builtin:credit?drift=1.5", "drift= must be a number in [0, 1], got 1.5"),
        ("builtin:credit?rows=-3", "rows= must be a whole number >= 0, got -3"),
        ("builtin:iot?sensors=0", "sensors= must be a whole number >= 1, got 0"),
    ],
)
def test_generator_checks_name_the_source_parameter(source: str, problem: str) -> None:
    connector = open_source(source)
    with pytest.raises(DataSourceError) as caught:
        connector.read()
    assert caught.value.message == problem
    assert caught.value.where == connector.source


def test_zero_rows_is_no_rows() -> None:
    with pytest.raises(DataSourceError, match="no rows"):
        read_source("builtin:credit?rows=0")


def test_options_do_not_apply_to_builtin_sources() -> None:
    with pytest.raises(DataSourceError, match="format= does not apply to builtin sources"):
        open_source("builtin:wine", format="csv")
