"""scikit-learn's bundled toy datasets as single frames, without touching the network.

Each loader is listed as data (name → scikit-learn function name) and scikit-learn is imported
only when a dataset is loaded, so importing :mod:`iml4e.data` stays cheap.
"""

from __future__ import annotations

import re
from importlib import import_module

import pandas as pd

from iml4e.data.errors import UnknownDataset

TARGET_COLUMN = "target"

_LOADERS = {
    "breast_cancer": "load_breast_cancer",
    "diabetes": "load_diabetes",
    "iris": "load_iris",
    "wine": "load_wine",
}
BUNDLED_DATASETS = tuple(sorted(_LOADERS))
WINE_FEATURES = (
    "alcohol",
    "malic_acid",
    "ash",
    "alcalinity_of_ash",
    "magnesium",
    "total_phenols",
    "flavanoids",
    "nonflavanoid_phenols",
    "proanthocyanins",
    "color_intensity",
    "hue",
    "od280_od315_of_diluted_wines",
    "proline",
)


def bundled_dataset(name: str) -> pd.DataFrame:
    """One of scikit-learn's bundled datasets as a frame whose last column is ``target``.

    ``name`` is one of :data:`BUNDLED_DATASETS` (``breast_cancer``, ``diabetes``, ``iris``,
    ``wine``; case and surrounding spaces are ignored). Feature names are made safe for
    formulas, SQL and file formats: lower case, every run of characters other than letters,
    digits and ``_`` becomes one ``_`` (``od280/od315_of_diluted_wines`` →
    ``od280_od315_of_diluted_wines``, ``sepal length (cm)`` → ``sepal_length_cm``).
    Classification targets are integer class codes; the diabetes target is a float.

    Raises :class:`~iml4e.data.errors.UnknownDataset` (a ``BadInput``) naming the known
    datasets when ``name`` is not one of them.
    """
    key = name.strip().lower() if isinstance(name, str) else ""
    if key not in _LOADERS:
        raise UnknownDataset(str(name), BUNDLED_DATASETS)
    loader = getattr(import_module("sklearn.datasets"), _LOADERS[key])
    bunch = loader(as_frame=True)
    features = bunch.data.rename(columns=safe_column_name)
    frame = features.assign(**{TARGET_COLUMN: bunch.target.to_numpy()})
    return frame.reset_index(drop=True)


def wine() -> pd.DataFrame:
    """The UCI wine recognition data: 178 wines, 13 chemical features, 3 cultivars (0-2)."""
    return bundled_dataset("wine")


def safe_column_name(name: object) -> str:
    """``name`` in lower case with each run of characters other than ``[a-z0-9_]`` as one ``_``.

    Leading and trailing underscores are dropped (``sepal length (cm)`` → ``sepal_length_cm``).
    """
    return re.sub(r"[^a-z0-9_]+", "_", str(name).strip().lower()).strip("_")
