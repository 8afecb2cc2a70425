"""New rows like the ones of a small dataset, optionally drifted: traffic for a model server."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from iml4e.data.arguments import check_drift, check_whole
from iml4e.data.errors import InvalidArgument

DEFAULT_NOISE = 0.05
DRIFT_SHIFT_STDS = 1.5


def resample_with_drift(
    frame: pd.DataFrame,
    n_rows: int,
    *,
    seed: int = 0,
    drift: float = 0.0,
    exclude: Sequence[str] = (),
    noise: float = DEFAULT_NOISE,
) -> pd.DataFrame:
    """``n_rows`` rows drawn with replacement from ``frame``, jittered, and shifted by ``drift``.

    Every float column not in ``exclude`` gets Gaussian noise of ``noise`` times its standard
    deviation, so the rows are new but alike. ``drift`` in [0, 1] then shifts every other such
    column (the 1st, 3rd, …) upwards by ``drift * 1.5`` standard deviations — a change of the
    input distribution a drift test must notice. Values stay positive where the column was.
    Columns in ``exclude`` (e.g. the label) are copied unchanged. Deterministic per ``seed``.
    """
    n_rows = check_whole("n_rows", n_rows, minimum=1)
    drift = check_drift(drift)
    if frame.empty:
        raise InvalidArgument("cannot resample an empty frame", where="frame")
    rng = np.random.default_rng(seed)
    rows = frame.iloc[rng.integers(0, len(frame), size=n_rows)].reset_index(drop=True)
    floats = [
        c for c in frame.columns if c not in exclude and pd.api.types.is_float_dtype(frame[c])
    ]
    for position, column in enumerate(floats):
        std = float(frame[column].std(ddof=0)) or 1.0
        values = rows[column].to_numpy() + rng.normal(0.0, noise * std, size=n_rows)
        if position % 2 == 0:
            values = values + drift * DRIFT_SHIFT_STDS * std
        if (frame[column] > 0).all():
            values = np.maximum(values, float(frame[column].min()) * 0.5)
        rows[column] = values
    return rows
