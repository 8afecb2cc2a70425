"""A registered model loaded for serving, with its input signature checked per request."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from iml4e.config import Settings
from iml4e.serving.errors import ModelLoadError, PayloadError
from iml4e.serving.payloads import ParsedRows
from iml4e.serving.signature import InputColumn, PreparedRows, Signature

__all__ = ["MODEL_URI", "InputColumn", "ServedModel", "load_served_model"]

MODEL_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:/(?P<version>\d+)|@(?P<alias>[\w.-]+))$")


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

    @cached_property
    def signature(self) -> Signature:
        """The checks and conversions of the input signature."""
        return Signature(self.columns)

    def prepare(self, parsed: ParsedRows) -> PreparedRows:
        """One request's rows checked against the signature and converted to its types;
        raise :class:`PayloadError` naming the column (400 missing/unexpected, 422 type)."""
        return self.signature.prepare(parsed)

    def predict_batch(self, batch: Sequence[PreparedRows]) -> list[Any]:
        """Predictions for every row of ``batch`` (one or more requests), in order, from one
        DataFrame and one ``predict`` call; bad values raise PayloadError.

        Requests that leave out different optional columns are predicted in separate calls,
        so an answer never depends on which other requests shared its batch.
        """
        groups: dict[tuple[str, ...], list[int]] = {}
        for index, prepared in enumerate(batch):
            groups.setdefault(tuple(prepared.columns), []).append(index)
        if len(groups) == 1:
            return self.predict_frame(self.signature.frame(batch))
        answers: list[list[Any]] = [[] for _ in batch]
        for indices in groups.values():
            outputs = self.predict_frame(self.signature.frame([batch[i] for i in indices]))
            start = 0
            for index in indices:
                answers[index] = outputs[start : start + len(batch[index])]
                start += len(batch[index])
        return [output for answer in answers for output in answer]

    def predict(self, frame: pd.DataFrame) -> list[Any]:
        """Predictions for ``frame`` checked and converted like a request's rows."""
        return self.predict_batch([self.prepare(ParsedRows.from_frame(frame))])

    def predict_frame(self, frame: pd.DataFrame) -> list[Any]:
        """Predictions for a frame that already matches the signature, as JSON-ready values."""
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


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "invalid input"
