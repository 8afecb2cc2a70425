"""A registered model loaded for serving, with its input signature checked per request."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from iml4e.config import Settings
from iml4e.serving.errors import ModelLoadError, PayloadError

NUMERIC_TYPES = {"double": "float64", "float": "float32", "long": "Int64", "integer": "Int32"}
MODEL_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:/(?P<version>\d+)|@(?P<alias>[\w.-]+))$")


@dataclass(frozen=True)
class InputColumn:
    """One input column of the model signature."""

    name: str
    type: str
    required: bool


@dataclass
class ServedModel:
    """A pyfunc model pinned to one registry version."""

    name: str
    version: str
    columns: list[InputColumn] | None
    pyfunc: Any
    output_type: str | None = None
    """The signature's output column type (``long``, ``double``…) when it has exactly one."""
    native: Any = None
    """The flavor's own model (scikit-learn) when its ``predict`` can be called directly."""

    @property
    def column_names(self) -> list[str] | None:
        """The signature's column order, used for rows given as lists."""
        return None if self.columns is None else [c.name for c in self.columns]

    def check_columns(self, frame: pd.DataFrame) -> None:
        """Raise :class:`PayloadError` naming a missing or unexpected column."""
        if self.columns is None:
            return
        known = {c.name for c in self.columns}
        for column in self.columns:
            if column.required and column.name not in frame.columns:
                raise PayloadError(
                    f"required column missing (expected {column.type})", where=column.name
                )
        for name in frame.columns:
            if name not in known:
                raise PayloadError(
                    f"unexpected column (the model takes {', '.join(sorted(known))})",
                    where=str(name),
                )

    def coerce(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Convert JSON values to the signature's types (``35`` → ``35.0`` for a double).

        MLflow's own enforcement refuses int64 for a double column, yet JSON has no way to
        say ``35.0`` rather than ``35``; a value that is not a number is a 422 naming its column.
        """
        if self.columns is None:
            return frame
        converted = {}
        for column in self.columns:
            if column.name not in frame.columns:
                continue
            values = frame[column.name]
            if column.type in NUMERIC_TYPES:
                try:
                    numbers = pd.to_numeric(values, errors="raise")
                except (ValueError, TypeError):
                    bad = values[pd.to_numeric(values, errors="coerce").isna() & values.notna()]
                    raise PayloadError(
                        f"expected a number ({column.type}), got {bad.iloc[0]!r}",
                        where=column.name,
                        status=422,
                    ) from None
                converted[column.name] = numbers.astype(NUMERIC_TYPES[column.type])
            elif column.type == "string" and not values.map(_is_text_or_missing).all():
                raise PayloadError("expected a string", where=column.name, status=422)
        return frame.assign(**converted) if converted else frame

    def prepare(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` checked against the signature and coerced to its types (PayloadError)."""
        self.check_columns(frame)
        return self.coerce(frame)

    def predict(self, frame: pd.DataFrame) -> list[Any]:
        """Predictions for ``frame`` as JSON-ready values; bad values raise PayloadError."""
        return self.predict_prepared(self.prepare(frame))

    def predict_prepared(self, frame: pd.DataFrame) -> list[Any]:
        """Predictions for a frame :meth:`prepare` already checked (one batch, maybe many
        requests)."""
        from mlflow.exceptions import MlflowException

        try:
            # The frame already matches the signature (prepare), so a scikit-learn model is
            # called directly instead of through MLflow's second schema enforcement.
            raw = (
                self.native.predict(frame)
                if self.native is not None
                else (self.pyfunc.predict(frame))
            )
        except MlflowException as exc:  # schema enforcement: wrong type, unconvertible value
            raise PayloadError(_first_line(exc.message), where="inputs", status=422) from None
        except (ValueError, TypeError) as exc:
            raise PayloadError(_first_line(str(exc)), where="inputs", status=422) from None
        return _to_json_values(raw)


def load_served_model(settings: Settings, model_uri: str) -> ServedModel:
    """Resolve ``models:/NAME/VERSION`` or ``models:/NAME@ALIAS`` and load it."""
    match = MODEL_URI.match(model_uri)
    if match is None:
        raise ModelLoadError("expected models:/NAME/VERSION or models:/NAME@ALIAS", where=model_uri)
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from iml4e.tracking import activate_tracking

    activate_tracking(settings)
    client = MlflowClient(settings.mlflow_tracking_uri, settings.mlflow_registry_uri)
    name = match["name"]
    try:
        if match["alias"]:
            version = client.get_model_version_by_alias(name, match["alias"]).version
        else:
            version = client.get_model_version(name, match["version"]).version
        import mlflow.pyfunc

        pyfunc = mlflow.pyfunc.load_model(f"models:/{name}/{version}")
    except MlflowException as exc:
        raise ModelLoadError(_first_line(exc.message), where=model_uri) from None
    schema = pyfunc.metadata.get_input_schema()
    columns = None
    if schema is not None and schema.has_input_names():
        columns = [
            InputColumn(name=spec.name, type=spec.type.name, required=spec.required)
            for spec in schema.inputs
        ]
    outputs = pyfunc.metadata.get_output_schema()
    output_type = None
    if outputs is not None and len(outputs.inputs) == 1:
        output_type = getattr(outputs.inputs[0].type, "name", None)
    native = None
    if pyfunc.metadata.flavors.get("python_function", {}).get("loader_module") == "mlflow.sklearn":
        native = pyfunc.get_raw_model()
    return ServedModel(
        name=name,
        version=str(version),
        columns=columns,
        pyfunc=pyfunc,
        output_type=output_type,
        native=native,
    )


def _to_json_values(raw: Any) -> list[Any]:
    if isinstance(raw, pd.DataFrame):
        return raw.to_dict(orient="records")
    if isinstance(raw, pd.Series):
        raw = raw.to_numpy()
    if isinstance(raw, np.ndarray):
        return raw.tolist()
    return list(raw)


def _is_text_or_missing(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "invalid input"
