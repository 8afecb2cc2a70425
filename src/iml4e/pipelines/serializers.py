"""How a step output becomes one file and back: serializers chosen by the value's type.

Built-ins, tried in this order: ``parquet`` (pandas DataFrame), ``parquet-series`` (pandas
Series), ``npy`` (numpy array), ``dataclass-json`` (dataclass instance), ``json`` (plain JSON
data), ``joblib`` (scikit-learn estimator). Serializers registered with
:func:`register_serializer` are tried first, so a plugin can take over a type. There is no
catch-all pickle: a value no serializer accepts is :class:`NotSerializable`, which keeps stored
artifacts readable by other versions and other machines.

A serializer accepts only what it can load back equal, and writes equal values as equal bytes
where its format allows, because the artifact store addresses files by their hash. ``accepts``
stays cheap: it never imports pandas, numpy or scikit-learn (a value cannot be a DataFrame
when pandas was never imported).
"""

from __future__ import annotations

import dataclasses
import importlib
import sys
import threading
from pathlib import Path
from typing import Any, Protocol

import orjson

from iml4e.errors import BadInput
from iml4e.pipelines.json_values import (
    JSON_KINDS,
    explain,
    fields_problem,
    find_class,
    json_problem,
    numpy_default,
    numpy_item,
    plain,
    rebuild,
    type_label,
)


class Serializer(Protocol):
    """Writes the values it accepts to one local file and reads them back.

    ``name`` is recorded with every artifact, so it must never change once data exists;
    ``extension`` (with its dot) ends the stored file's name.
    """

    name: str
    extension: str

    def accepts(self, value: object) -> bool:
        """Whether this serializer can store ``value`` and load it back equal (cheaply)."""
        ...

    def dump(self, value: object, path: Path) -> None:
        """Write ``value`` to the local file ``path``, which does not exist yet."""
        ...

    def load(self, path: Path) -> object:
        """The value stored in the local file ``path`` (it may be deleted after this returns)."""
        ...


class NotSerializable(BadInput):
    """A value no serializer accepts, or whose serializer failed; the message names its type."""


class UnknownSerializer(BadInput):
    """No serializer is registered under a name; ``where`` is that name."""


class _Builtin:
    """A built-in serializer: ``verdict`` is False (not its kind), True, or why it refuses."""

    name = ""
    extension = ""

    def verdict(self, value: object) -> bool | str:
        raise NotImplementedError

    def accepts(self, value: object) -> bool:
        return self.verdict(value) is True


class _ParquetFrame(_Builtin):
    """pandas DataFrames as Parquet; the index is kept unless it is the default RangeIndex."""

    name, extension = "parquet", ".parquet"

    def verdict(self, value: object) -> bool | str:
        pd = sys.modules.get("pandas")
        if pd is None or not isinstance(value, pd.DataFrame):
            return False
        if not all(isinstance(column, str) for column in value.columns):
            return "Parquet needs string column names (try df.columns = df.columns.map(str))"
        return True if value.columns.is_unique else "Parquet needs unique column names"

    def dump(self, value: Any, path: Path) -> None:
        _write_parquet(value, path, {})

    def load(self, path: Path) -> object:
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pandas()


class _ParquetSeries(_Builtin):
    """pandas Series as a one-column Parquet file; the name is kept in the file's metadata."""

    name, extension = "parquet-series", ".parquet"
    column, metadata_key = "series", b"iml4e.series"

    def verdict(self, value: object) -> bool | str:
        pd = sys.modules.get("pandas")
        if pd is None or not isinstance(value, pd.Series):
            return False
        if value.name is None or type(value.name) in (str, int):
            return True
        return f"a Series name must be a str, an int or None, not {type_label(value.name)}"

    def dump(self, value: Any, path: Path) -> None:
        metadata = {self.metadata_key: orjson.dumps({"name": value.name})}
        _write_parquet(value.to_frame(name=self.column), path, metadata)

    def load(self, path: Path) -> object:
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        series = table.to_pandas()[self.column]
        series.name = orjson.loads(table.schema.metadata[self.metadata_key])["name"]
        return series


def _write_parquet(frame: Any, path: Path, metadata: dict[bytes, bytes]) -> None:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    index = frame.index
    default = isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1
    keep_index = False if default and index.name is None else None
    table = pa.Table.from_pandas(frame, preserve_index=keep_index)
    if metadata:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), **metadata})
    pq.write_table(table, path)


class _Npy(_Builtin):
    """numpy arrays in ``.npy`` format, without pickle (so no object dtypes)."""

    name, extension = "npy", ".npy"

    def verdict(self, value: object) -> bool | str:
        np = sys.modules.get("numpy")
        if np is None or not isinstance(value, np.ndarray):
            return False
        if type(value) not in (np.ndarray, np.memmap):
            return f"{type_label(value)} would load back as a plain ndarray"
        if value.dtype.hasobject:
            return "object-dtype arrays need pickle; convert to a numeric or string dtype"
        return True

    def dump(self, value: Any, path: Path) -> None:
        import numpy as np

        with path.open("wb") as file:
            np.save(file, value, allow_pickle=False)

    def load(self, path: Path) -> object:
        import numpy as np

        return np.load(path, allow_pickle=False)


class _DataclassJson(_Builtin):
    """Dataclass instances as ``{"type": "module:QualName", "fields": {...}}``.

    Fields may hold JSON data, datetimes, dates and nested dataclasses. Loading imports the
    class and rebuilds values from its annotations, so a datetime, date or dataclass is only
    accepted where its field's annotation names that type (``X`` or ``X | None``, also inside
    ``list[X]``, ``tuple[X, ...]``, ``dict[str, X]``). Aware datetimes keep their UTC offset
    (not their zone name); sequences load back as their annotation says (list if it does not).
    """

    name, extension = "dataclass-json", ".json"

    def verdict(self, value: object) -> bool | str:
        if not dataclasses.is_dataclass(value) or isinstance(value, type):
            return False
        cls = type(value)
        if "<locals>" in cls.__qualname__:
            return "its class is defined inside a function; define it at module level"
        if find_class(sys.modules.get(cls.__module__), cls.__qualname__) is not cls:
            return f"its class cannot be imported as {cls.__module__}:{cls.__qualname__}"
        return explain(fields_problem(value, 0))

    def dump(self, value: Any, path: Path) -> None:
        kind = type(value)
        document = {"type": f"{kind.__module__}:{kind.__qualname__}", "fields": plain(value)}
        path.write_bytes(orjson.dumps(document, option=orjson.OPT_SORT_KEYS))

    def load(self, path: Path) -> object:
        document = orjson.loads(path.read_bytes())
        module, _, qualname = document["type"].partition(":")
        cls = find_class(importlib.import_module(module), qualname)
        if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
            raise BadInput(f"{document['type']} is not a dataclass", where=str(path))
        return rebuild(cls, document["fields"])


class _Json(_Builtin):
    """None, bool, int, float, str and lists, tuples and str-keyed dicts of them, as JSON.

    Keys are sorted so equal values give equal bytes. Tuples load back as lists and numpy
    scalars as Python numbers. NaN and infinity are refused: JSON cannot hold them.
    """

    name, extension = "json", ".json"

    def verdict(self, value: object) -> bool | str:
        kind = type(value)
        if not (value is None or kind in JSON_KINDS or numpy_item(value) is not None):
            return False
        return explain(json_problem(value, 0))

    def dump(self, value: Any, path: Path) -> None:
        path.write_bytes(orjson.dumps(value, default=numpy_default, option=orjson.OPT_SORT_KEYS))

    def load(self, path: Path) -> object:
        return orjson.loads(path.read_bytes())


class _Joblib(_Builtin):
    """scikit-learn estimators (fitted or not) with joblib, scikit-learn's own format."""

    name, extension = "joblib", ".joblib"

    def verdict(self, value: object) -> bool | str:
        base = sys.modules.get("sklearn.base")
        return base is not None and isinstance(value, base.BaseEstimator)

    def dump(self, value: Any, path: Path) -> None:
        import joblib

        joblib.dump(value, path)

    def load(self, path: Path) -> object:
        import joblib

        return joblib.load(path)


# --- the registry ------------------------------------------------------------------------------

_BUILTINS: tuple[Serializer, ...] = (
    _ParquetFrame(),
    _ParquetSeries(),
    _Npy(),
    _DataclassJson(),
    _Json(),
    _Joblib(),
)


class _Registry:
    """Custom serializers (newest first) in front of the built-ins they do not replace."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.custom: dict[str, Serializer] = {}
        self.order: tuple[Serializer, ...] = _BUILTINS
        self.by_name: dict[str, Serializer] = {s.name: s for s in _BUILTINS}

    def update(self) -> None:
        custom = tuple(reversed(self.custom.values()))
        self.order = custom + tuple(s for s in _BUILTINS if s.name not in self.custom)
        self.by_name = {s.name: s for s in self.order}


_registry = _Registry()


def register_serializer(serializer: Serializer) -> None:
    """Try ``serializer`` before every other one; a serializer of the same name is replaced."""
    name, extension = serializer.name, serializer.extension
    if not (name and isinstance(name, str)):
        raise BadInput("a serializer needs a non-empty str name", where=repr(name))
    if not (extension.startswith(".") and "/" not in extension and "\\" not in extension):
        raise BadInput(
            f"extension {extension!r} must start with '.' and name no folder", where=name
        )
    with _registry.lock:
        _registry.custom.pop(name, None)
        _registry.custom[name] = serializer
        _registry.update()


def unregister_serializer(name: str) -> None:
    """Remove a registered serializer (a built-in it replaced is used again)."""
    with _registry.lock:
        if _registry.custom.pop(name, None) is None:
            raise UnknownSerializer(f"no custom serializer is registered as {name!r}", where=name)
        _registry.update()


def serializer_for(value: object) -> Serializer:
    """The first serializer that accepts ``value``: custom ones newest first, then built-ins."""
    order = _registry.order
    for serializer in order:
        if serializer.accepts(value):
            return serializer
    tried = ", ".join(s.name for s in order)
    reasons = [
        f"{s.name}: {verdict}"
        for s in order
        if isinstance(s, _Builtin) and isinstance(verdict := s.verdict(value), str)
    ]
    detail = "".join(f"; {reason}" for reason in reasons)
    raise NotSerializable(f"cannot store a {type_label(value)} (tried {tried}){detail}")


def serializer_named(name: str) -> Serializer:
    """The serializer registered (or built in) as ``name``."""
    found = _registry.by_name.get(name)
    if found is None:
        known = ", ".join(sorted(_registry.by_name))
        raise UnknownSerializer(f"no serializer is named {name!r} (known: {known})", where=name)
    return found


def builtin_serializers() -> tuple[Serializer, ...]:
    """The built-in serializers, in the order they are tried."""
    return _BUILTINS
