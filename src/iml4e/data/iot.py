"""A deterministic synthetic IoT time series, with controllable drift: a forecasting case.

Machines in a plant report temperature, humidity and vibration every few minutes, and a meter
reports each machine's power draw. Everything is drawn with vectorised numpy from one
``numpy.random.default_rng(seed)`` stream in a fixed order, so the same arguments always give
the identical frame, and frames that differ only in ``drift`` share their random draws.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from iml4e.data.arguments import check_drift, check_whole
from iml4e.data.errors import InvalidArgument

START = pd.Timestamp("2024-01-01 00:00", tz="UTC")  # a Monday
MEASUREMENTS = ["temperature", "humidity", "vibration"]
IOT_TARGET = "power_kw"
IOT_COLUMNS = ["timestamp", "sensor_id", *MEASUREMENTS, IOT_TARGET]
MINUTES_PER_DAY = 24 * 60

# Noise correlation time: the AR(1) coefficient per step is exp(-step / this).
_NOISE_CORRELATION_MINUTES = 90.0
_DROPOUT_P = 0.01  # a whole reading (all three measurements) is missing
_GAP_P = 0.005  # one measurement of a reading is missing


def iot_sensor_readings(
    sensors: int = 5,
    hours: int = 24 * 14,
    *,
    seed: int = 0,
    drift: float = 0.0,
    freq_minutes: int = 10,
) -> pd.DataFrame:
    """Readings of ``sensors`` machines every ``freq_minutes`` for ``hours``, from 2024-01-01.

    One row per (timestamp, sensor), ordered by timestamp then sensor; every row is present.
    Columns:

    - ``timestamp`` (``datetime64[ns, UTC]``), from Monday 2024-01-01 00:00 UTC;
    - ``sensor_id`` (str): ``sensor-01``, ``sensor-02``, …;
    - ``temperature`` (°C, about 15-30): a daily cycle peaking mid-afternoon, warmer while
      the machine works, a per-sensor offset (sd 2 °C);
    - ``humidity`` (%, clipped to 5-100): per-sensor offset (sd 5), lower when warmer;
    - ``vibration`` (mm/s, > 0): per-sensor base level times the machine's load — high on
      weekday shifts (06:00-22:00), lower on Saturdays, near idle on Sundays and at night;
    - ``power_kw`` (> 0), target-like: a per-sensor scale times
      ``3 + 6·load + 0.25·max(temperature - 20, 0) + 1.5·vibration + 0.02·(humidity - 50)``
      (the true, not the reported, measurements), plus noise.

    Noise is autocorrelated (AR(1), correlation time 90 minutes, whatever ``freq_minutes``),
    so consecutive readings are alike as real ones are. Readings go missing: a whole reading
    (the three measurements NaN) with probability 1 %, and single measurements with 0.5 %;
    ``power_kw`` is never missing.

    ``drift`` in [0, 1] ages the plant, linearly:

    - temperature trends upwards over the period, by up to ``4·drift`` °C at its end;
    - from the period's midpoint, vibration is ``1 + 0.5·drift`` times higher and power draw
      ``2·drift`` kW higher (a level shift: worn bearings);
    - all noise is ``1 + drift`` times larger, and readings go missing ``1 + 2·drift`` times
      as often.

    Raises :class:`~iml4e.data.errors.InvalidArgument` (a ``BadInput``) for ``sensors``,
    ``hours`` or ``freq_minutes`` that are not whole numbers >= 1 (``freq_minutes`` at most a
    day and at most ``hours``), a negative ``seed``, or a ``drift`` outside [0, 1].
    """
    n_sensors = check_whole("sensors", sensors, minimum=1)
    n_hours = check_whole("hours", hours, minimum=1)
    step = check_whole("freq_minutes", freq_minutes, minimum=1)
    if step > MINUTES_PER_DAY or step > n_hours * 60:
        raise InvalidArgument(
            f"must be at most a day and at most hours * 60, got {freq_minutes!r}",
            where="freq_minutes",
        )
    drift = check_drift(drift)
    rng = np.random.default_rng(check_whole("seed", seed, minimum=0))
    n_steps = n_hours * 60 // step
    shape = (n_steps, n_sensors)

    # Every draw is made whatever the drift, in this order.
    temperature_offset = rng.normal(0.0, 2.0, n_sensors)
    humidity_offset = rng.normal(0.0, 5.0, n_sensors)
    vibration_base = rng.lognormal(math.log(0.8), 0.25, n_sensors)
    power_scale = rng.uniform(0.8, 1.25, n_sensors)
    noise = _ar1_noise(
        rng.standard_normal((4, *shape)), math.exp(-step / _NOISE_CORRELATION_MINUTES)
    )
    dropout = rng.random(shape)
    gaps = rng.random((len(MEASUREMENTS), *shape))

    elapsed_hours = np.arange(n_steps) * (step / 60.0)
    hour_of_day = elapsed_hours % 24.0
    weekday = (elapsed_hours // 24.0).astype(np.int64) % 7
    progress = (elapsed_hours / n_hours)[:, None]
    late = progress >= 0.5
    on_shift = (hour_of_day >= 6.0) & (hour_of_day < 22.0)
    shift_share = np.select([weekday < 5, weekday == 5], [1.0, 0.4], default=0.05)
    load = (0.1 + 0.8 * on_shift * shift_share)[:, None]
    daily = np.sin(2.0 * math.pi * (hour_of_day - 9.0) / 24.0)[:, None]
    loudness = 1.0 + drift

    temperature = (
        21.0
        + temperature_offset
        + 3.5 * daily
        + 1.5 * load
        + 4.0 * drift * progress
        + 0.6 * loudness * noise[0]
    )
    humidity = np.clip(
        50.0
        + humidity_offset
        - 1.8 * (temperature - 21.0 - temperature_offset)
        + 2.0 * loudness * noise[1],
        5.0,
        100.0,
    )
    vibration = np.maximum(
        vibration_base * (0.3 + 1.2 * load) * (1.0 + 0.5 * drift * late)
        + 0.08 * loudness * noise[2],
        0.01,
    )
    power_kw = np.maximum(
        power_scale
        * (
            3.0
            + 6.0 * load
            + 0.25 * np.maximum(temperature - 20.0, 0.0)
            + 1.5 * vibration
            + 0.02 * (humidity - 50.0)
        )
        + 2.0 * drift * late
        + 0.3 * loudness * noise[3],
        0.0,
    )

    missing_share = 1.0 + 2.0 * drift
    reading_lost = dropout < _DROPOUT_P * missing_share
    reported = {}
    for position, (name, values, decimals) in enumerate(
        zip(MEASUREMENTS, (temperature, humidity, vibration), (2, 1, 3), strict=True)
    ):
        lost = reading_lost | (gaps[position] < _GAP_P * missing_share)
        reported[name] = np.where(lost, np.nan, np.round(values, decimals)).ravel()

    width = max(2, len(str(n_sensors)))
    sensor_ids = np.array([f"sensor-{i:0{width}d}" for i in range(1, n_sensors + 1)], dtype=object)
    timestamps = pd.date_range(START, periods=n_steps, freq=pd.Timedelta(minutes=step))
    return pd.DataFrame(
        {
            "timestamp": timestamps.repeat(n_sensors),
            "sensor_id": np.tile(sensor_ids, n_steps),
            **reported,
            IOT_TARGET: np.round(power_kw, 3).ravel(),
        }
    )


def _ar1_noise(shocks: np.ndarray, phi: float) -> np.ndarray:
    """Stationary AR(1) series of unit variance along axis 1 of ``shocks`` (``k, T, S``).

    ``x[0] = e[0]`` and ``x[t] = phi·x[t-1] + sqrt(1 - phi²)·e[t]``, computed in closed form
    over blocks short enough that ``phi ** -length`` stays far from overflow.
    """
    gain = math.sqrt(1.0 - phi * phi)
    n_steps = shocks.shape[1]
    length = max(1, int(math.log(1e-10) / math.log(phi))) if 0.0 < phi < 1.0 else n_steps
    series = np.empty_like(shocks)
    series[:, 0] = shocks[:, 0]
    for start in range(1, n_steps, length):
        block = shocks[:, start : start + length]
        powers = phi ** np.arange(1, block.shape[1] + 1)
        weighted = np.cumsum(block / powers[None, :, None], axis=1)
        previous = series[:, start - 1][:, None, :]
        series[:, start : start + length] = powers[None, :, None] * (previous + gain * weighted)
    return series
