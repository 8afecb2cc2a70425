"""Concatenating chunks whose dtypes were inferred separately, without surprises."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def concat_frames(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """``frames`` (same columns, same order) stacked with a fresh ``RangeIndex``.

    Each chunk of a CSV or JSON Lines file infers its own dtypes, so one column can be
    ``int64`` in one chunk and ``float64`` (a missing value) or ``object`` (a stray word) in
    another. Such columns are first cast to one dtype — ``int64`` with ``float64`` gives
    ``float64``, anything else mixed gives ``object`` — the way ``pandas.read_csv`` resolves
    them, so the result does not depend on pandas' rules for all-NA chunks.
    """
    if len(frames) == 1:
        frame = frames[0]
        frame.index = pd.RangeIndex(len(frame))
        return frame
    common = _common_dtypes(frames)
    if common:
        frames = [
            frame.astype({c: t for c, t in common.items() if frame[c].dtype != t}, copy=False)
            for frame in frames
        ]
    return pd.concat(frames, ignore_index=True, copy=False)


def _common_dtypes(frames: Sequence[pd.DataFrame]) -> dict[str, object]:
    """Per column whose dtype differs between frames, the dtype all of them are cast to."""
    if not frames[0].columns.is_unique:
        return {}
    common: dict[str, object] = {}
    for position, column in enumerate(frames[0].columns):
        dtypes = {frame.dtypes.iloc[position] for frame in frames}
        if len(dtypes) > 1:
            numeric = all(_is_plain_number(dtype) for dtype in dtypes)
            common[column] = np.result_type(*dtypes) if numeric else np.dtype(object)
    return common


def _is_plain_number(dtype: object) -> bool:
    return isinstance(dtype, np.dtype) and dtype.kind in "iuf"
