"""The synthetic IoT sensor series: determinism, structure, seasonality, noise, drift, checks."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from iml4e.data.errors import InvalidArgument
from iml4e.data.iot import IOT_COLUMNS, MEASUREMENTS, START, iot_sensor_readings
from iml4e.errors import BadInput


@pytest.fixture(scope="module")
def readings() -> pd.DataFrame:
    return iot_sensor_readings(sensors=6, hours=24 * 28, seed=3)


def _series(frame: pd.DataFrame, sensor: str, column: str) -> pd.Series:
    rows = frame[frame["sensor_id"] == sensor]
    return rows.set_index("timestamp")[column]


def test_same_arguments_same_frame_and_seeds_differ() -> None:
    first = iot_sensor_readings(3, 48, seed=5, drift=0.4)
    pd.testing.assert_frame_equal(first, iot_sensor_readings(3, 48, seed=5, drift=0.4))
    other = iot_sensor_readings(3, 48, seed=6, drift=0.4)
    assert not first["power_kw"].equals(other["power_kw"])


def test_columns_dtypes_and_grid(readings: pd.DataFrame) -> None:
    assert list(readings.columns) == IOT_COLUMNS
    assert str(readings["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert readings["sensor_id"].map(type).eq(str).all()
    for column in [*MEASUREMENTS, "power_kw"]:
        assert readings[column].dtype == np.float64
    steps = 24 * 28 * 6  # every 10 minutes
    assert len(readings) == steps * 6
    assert readings["timestamp"].iloc[0] == START
    assert readings["timestamp"].iloc[-1] == START + pd.Timedelta(minutes=10 * (steps - 1))
    assert readings["timestamp"].is_monotonic_increasing
    assert sorted(readings["sensor_id"].unique()) == [f"sensor-0{i}" for i in range(1, 7)]
    assert not readings.duplicated(["timestamp", "sensor_id"]).any()


def test_value_ranges(readings: pd.DataFrame) -> None:
    assert readings["temperature"].dropna().between(5, 40).all()
    assert readings["humidity"].dropna().between(5, 100).all()
    assert (readings["vibration"].dropna() > 0).all()
    assert (readings["power_kw"] >= 0).all()
    assert readings["power_kw"].notna().all()


def test_daily_and_weekly_seasonality(readings: pd.DataFrame) -> None:
    hour = readings["timestamp"].dt.hour
    by_hour = readings.groupby(hour)["temperature"].mean()
    assert by_hour.idxmax() in range(13, 18)  # afternoon peak
    assert by_hour.max() - by_hour.min() > 5.0
    weekday = readings["timestamp"].dt.dayofweek
    working = readings[(weekday < 5) & hour.between(8, 20)]["power_kw"].mean()
    sunday = readings[(weekday == 6) & hour.between(8, 20)]["power_kw"].mean()
    assert working > sunday + 3.0


def test_sensors_have_their_own_levels(readings: pd.DataFrame) -> None:
    means = readings.groupby("sensor_id")[["temperature", "humidity"]].mean()
    assert means["temperature"].max() - means["temperature"].min() > 1.0
    assert means["humidity"].max() - means["humidity"].min() > 3.0


def test_noise_is_autocorrelated(readings: pd.DataFrame) -> None:
    temperature = _series(readings, "sensor-01", "temperature").interpolate()
    seasonal = temperature.groupby(temperature.index.hour).transform("mean")
    residual = temperature - seasonal
    assert residual.autocorr(lag=1) > 0.7  # readings ten minutes apart are alike
    assert abs(residual.autocorr(lag=6 * 24 * 7)) < residual.autocorr(lag=1)


def test_power_depends_on_the_measurements(readings: pd.DataFrame) -> None:
    complete = readings.dropna()
    features = np.column_stack(
        [complete[column].to_numpy() for column in MEASUREMENTS] + [np.ones(len(complete))]
    )
    target = complete["power_kw"].to_numpy()
    coefficients, *_ = np.linalg.lstsq(features, target, rcond=None)
    residual = target - features @ coefficients
    r_squared = 1 - residual.var() / target.var()
    assert r_squared > 0.6
    assert coefficients[2] > 0  # more vibration, more power


def test_some_readings_are_missing(readings: pd.DataFrame) -> None:
    missing = readings[MEASUREMENTS].isna()
    assert missing.mean().min() > 0.005 and missing.mean().max() < 0.04
    assert missing.all(axis=1).mean() > 0.005  # whole readings lost, not just values


def test_drift_adds_a_trend_a_level_shift_and_noise() -> None:
    reference = iot_sensor_readings(4, 24 * 28, seed=9)
    drifted = iot_sensor_readings(4, 24 * 28, seed=9, drift=1.0)
    half = reference["timestamp"] >= reference["timestamp"].iloc[len(reference) // 2]
    assert (
        drifted["temperature"][half].mean() - reference["temperature"][half].mean() > 2.0
    )  # the trend
    assert drifted["power_kw"][half].mean() - reference["power_kw"][half].mean() > 2.0
    assert abs(drifted["power_kw"][~half].mean() - reference["power_kw"][~half].mean()) < 1.0
    early = ~half & (reference["timestamp"] < reference["timestamp"].iloc[len(reference) // 8])
    noise_reference = (reference["temperature"] - reference["temperature"].rolling(6).mean())[
        early
    ].std()
    noise_drifted = (drifted["temperature"] - drifted["temperature"].rolling(6).mean())[early].std()
    assert noise_drifted > noise_reference
    assert drifted[MEASUREMENTS].isna().mean().mean() > reference[MEASUREMENTS].isna().mean().mean()


def test_drift_zero_and_no_drift_share_draws() -> None:
    reference = iot_sensor_readings(2, 24, seed=1)
    slight = iot_sensor_readings(2, 24, seed=1, drift=0.01)
    assert np.corrcoef(reference["power_kw"], slight["power_kw"])[0, 1] > 0.99


def test_freq_minutes_changes_the_grid_not_the_span() -> None:
    hourly = iot_sensor_readings(2, 48, seed=0, freq_minutes=60)
    assert len(hourly) == 48 * 2
    assert (hourly["timestamp"].diff().dropna().unique() <= pd.Timedelta(hours=1)).all()


def test_a_large_series_is_fast() -> None:
    started = time.perf_counter()
    frame = iot_sensor_readings(sensors=50, hours=24 * 90, seed=2)
    assert len(frame) == 50 * 24 * 90 * 6
    assert time.perf_counter() - started < 3.0


@pytest.mark.parametrize(
    ("arguments", "where"),
    [
        ({"sensors": 0}, "sensors"),
        ({"sensors": 2.5}, "sensors"),
        ({"hours": 0}, "hours"),
        ({"seed": -1}, "seed"),
        ({"drift": 1.5}, "drift"),
        ({"drift": float("nan")}, "drift"),
        ({"freq_minutes": 0}, "freq_minutes"),
        ({"freq_minutes": 2000}, "freq_minutes"),
        ({"hours": 1, "freq_minutes": 90}, "freq_minutes"),
    ],
)
def test_bad_arguments_are_named(arguments: dict[str, object], where: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        iot_sensor_readings(**arguments)  # type: ignore[arg-type]
    assert caught.value.where == where
    assert isinstance(caught.value, BadInput)
