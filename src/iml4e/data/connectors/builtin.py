"""iml4e's own datasets as sources: ``builtin:<name>?<parameter>=<value>&…``.

======================  =========================================  ==============================
name                    parameters (defaults)                      made by
======================  =========================================  ==============================
``credit``              ``rows=1000``, ``seed=0``, ``drift=0.0``   ``credit_applications``
``iot``                 ``sensors=5``, ``hours=336``, ``seed=0``,  ``iot_sensor_readings``
                        ``drift=0.0``, ``freq_minutes=10``
``breast_cancer``,      none                                       ``bundled_dataset``
``diabetes``, ``iris``,
``wine``
======================  =========================================  ==============================

``source`` spells out every parameter (``builtin:credit?rows=1000&seed=0&drift=0.0``), so two
sources that give the same frame have the same description.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import import_module
from urllib.parse import parse_qsl

import pandas as pd

from iml4e.data.connectors.base import SourceOptions
from iml4e.data.errors import DataSourceError, InvalidArgument


@dataclass(frozen=True)
class Parameter:
    """One ``name=value`` of a builtin source, passed to the generator as ``argument``."""

    name: str
    argument: str
    kind: type[int] | type[float]
    default: int | float


@dataclass(frozen=True)
class BuiltinDataset:
    """A dataset made by ``function`` (``"module:function"``) from ``parameters``.

    ``fixed`` are positional arguments passed first (a bundled dataset's name).
    """

    function: str
    parameters: tuple[Parameter, ...] = ()
    fixed: tuple[str, ...] = ()

    def load(self, values: dict[str, int | float]) -> pd.DataFrame:
        module_name, _, function_name = self.function.partition(":")
        function: Callable[..., pd.DataFrame] = getattr(import_module(module_name), function_name)
        arguments = {p.argument: values[p.name] for p in self.parameters}
        return function(*self.fixed, **arguments)


_SEED = Parameter("seed", "seed", int, 0)
_DRIFT = Parameter("drift", "drift", float, 0.0)
_BUNDLED = "iml4e.data.bundled:bundled_dataset"
DATASETS = {
    "credit": BuiltinDataset(
        "iml4e.data.synthetic:credit_applications",
        (Parameter("rows", "n_rows", int, 1000), _SEED, _DRIFT),
    ),
    "iot": BuiltinDataset(
        "iml4e.data.iot:iot_sensor_readings",
        (
            Parameter("sensors", "sensors", int, 5),
            Parameter("hours", "hours", int, 24 * 14),
            _SEED,
            _DRIFT,
            Parameter("freq_minutes", "freq_minutes", int, 10),
        ),
    ),
    **{
        name: BuiltinDataset(_BUNDLED, fixed=(name,))
        for name in ("breast_cancer", "diabetes", "iris", "wine")
    },
}


class BuiltinConnector:
    """A dataset iml4e generates or bundles; made on every read (they are deterministic)."""

    OPTIONS: frozenset[str] = frozenset()

    def __init__(self, source: str, options: SourceOptions) -> None:
        del options  # builtin sources take their parameters from the source string
        text = source.split(":", 1)[1]
        name, _, query = text.partition("?")
        name = name.strip().lower()
        if name not in DATASETS:
            raise DataSourceError(
                f"unknown builtin dataset {name!r}; known: {', '.join(sorted(DATASETS))}",
                where=source,
            )
        self.name = name
        self.dataset = DATASETS[name]
        self.values = self._parse(query, source)
        rendered = "&".join(f"{p.name}={self.values[p.name]!r}" for p in self.dataset.parameters)
        self.source = f"builtin:{name}" + (f"?{rendered}" if rendered else "")

    def read(self) -> pd.DataFrame:
        """The dataset, made now."""
        try:
            return self.dataset.load(self.values)
        except InvalidArgument as error:
            names = {p.argument: p.name for p in self.dataset.parameters}
            parameter = names.get(error.where or "", error.where)
            raise DataSourceError(f"{parameter}= {error.message}", where=self.source) from None

    def iter_chunks(self, chunk_rows: int = 100_000) -> Iterator[pd.DataFrame]:
        """The dataset made whole, then handed out in slices (these datasets are small)."""
        frame = self.read()
        for start in range(0, len(frame), chunk_rows):
            yield frame.iloc[start : start + chunk_rows]

    def _parse(self, query: str, source: str) -> dict[str, int | float]:
        parameters = {p.name: p for p in self.dataset.parameters}
        known = ", ".join(parameters) or "none"
        try:
            pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
        except ValueError:
            raise DataSourceError(
                f"cannot parse parameters {query!r}; write name=value&name=value", where=source
            ) from None
        values: dict[str, int | float] = {p.name: p.default for p in self.dataset.parameters}
        seen: set[str] = set()
        for key, raw in pairs:
            parameter = parameters.get(key.strip().lower())
            if parameter is None:
                raise DataSourceError(
                    f"unknown parameter {key!r} for builtin:{self.name}; known: {known}",
                    where=source,
                )
            if parameter.name in seen:
                raise DataSourceError(f"parameter {key!r} is given twice", where=source)
            seen.add(parameter.name)
            values[parameter.name] = _convert(parameter, raw, source)
        return values


def _convert(parameter: Parameter, raw: str, source: str) -> int | float:
    try:
        value = parameter.kind(raw.strip())
    except ValueError:
        kind = "a whole number" if parameter.kind is int else "a number"
        raise DataSourceError(
            f"parameter {parameter.name}= must be {kind}, got {raw!r}", where=source
        ) from None
    if isinstance(value, float) and not math.isfinite(value):
        raise DataSourceError(f"parameter {parameter.name}= must be finite", where=source)
    return value
