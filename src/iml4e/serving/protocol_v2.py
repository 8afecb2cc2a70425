"""The Open Inference Protocol (KServe V2) over plain data: parse tensors, format answers.

An infer request carries ``inputs``: either one tensor per signature column (shape ``[N]`` or
``[N, 1]``, named like the column) or one 2-D tensor of shape ``[N, n_columns]`` in signature
column order. ``data`` may be flat (row-major) or nested. Every problem is a
:class:`PayloadError` whose ``where`` names the tensor or field. Framework-free: dicts and
plain rows (:class:`~iml4e.serving.payloads.ParsedRows`) in and out, no HTTP.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from iml4e.serving.errors import PayloadError
from iml4e.serving.payloads import ParsedRows
from iml4e.serving.served_model import InputColumn

PROTOCOL_VERSION = "2"
OUTPUT_NAME = "predict"
PLATFORM = "mlflow_pyfunc"
MAX_ID_LENGTH = 128

#: MLflow signature column type → V2 tensor datatype.
SIGNATURE_DATATYPES = {
    "double": "FP64",
    "float": "FP32",
    "long": "INT64",
    "integer": "INT32",
    "boolean": "BOOL",
    "string": "BYTES",
    "binary": "BYTES",
    "datetime": "BYTES",
}
#: numpy dtype of a tensor-based signature (MLflow infers one for array outputs) → V2 datatype.
NUMPY_DATATYPES = {
    "float64": "FP64",
    "float32": "FP32",
    "float16": "FP16",
    "int64": "INT64",
    "int32": "INT32",
    "int16": "INT16",
    "int8": "INT8",
    "uint64": "UINT64",
    "uint32": "UINT32",
    "uint16": "UINT16",
    "uint8": "UINT8",
    "bool": "BOOL",
}
FLOAT_TYPES = frozenset({"FP16", "FP32", "FP64"})
INT_TYPES = frozenset({"INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64"})
DATATYPES = FLOAT_TYPES | INT_TYPES | {"BOOL", "BYTES"}


@dataclass(frozen=True)
class InferRequest:
    """A parsed infer request: the rows to score and the caller's id, if any."""

    rows: ParsedRows
    id: str | None


def signature_datatype(type_name: str | None) -> str:
    """The V2 datatype of a signature type (column type or numpy dtype); BYTES when unknown."""
    if type_name is None:
        return "BYTES"
    return SIGNATURE_DATATYPES.get(type_name) or NUMPY_DATATYPES.get(type_name, "BYTES")


def server_metadata(version: str) -> dict[str, Any]:
    """The body of ``GET /v2``."""
    return {"name": "iml4e", "version": version, "extensions": []}


def model_metadata(
    name: str, version: str, columns: Sequence[InputColumn] | None, output_datatype: str
) -> dict[str, Any]:
    """The body of ``GET /v2/models/{name}``: inputs from the signature, one ``predict`` output.

    Without a signature the inputs are unknown, so the list is empty.
    """
    inputs = [
        {"name": c.name, "datatype": signature_datatype(c.type), "shape": [-1]}
        for c in columns or []
    ]
    return {
        "name": name,
        "versions": [version],
        "platform": PLATFORM,
        "inputs": inputs,
        "outputs": [{"name": OUTPUT_NAME, "datatype": output_datatype, "shape": [-1]}],
    }


def parse_infer_request(body: Any, columns: Sequence[InputColumn] | None) -> InferRequest:
    """Turn a V2 infer body into the rows to score; raise PayloadError naming the field."""
    if not isinstance(body, dict):
        raise PayloadError("the body must be a JSON object", where="body")
    request_id = infer_request_id(body)
    if "parameters" in body and not isinstance(body["parameters"], dict | None):
        raise PayloadError("must be an object", where="parameters")
    _check_requested_outputs(body.get("outputs"))
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise PayloadError("must be a non-empty list of tensors", where="inputs")
    tensors = [_parse_tensor(tensor, index) for index, tensor in enumerate(inputs)]
    names = [tensor.name for tensor in tensors]
    duplicated = {name for name in names if names.count(name) > 1}
    if duplicated:
        raise PayloadError("tensor given more than once", where=sorted(duplicated)[0])
    if len(tensors) == 1 and len(tensors[0].shape) == 2 and tensors[0].shape[1] > 1:
        rows = _rows_from_matrix(tensors[0], columns)
    else:
        rows = _rows_from_columns(tensors)
        by_name = {c.name: c for c in columns or []}
        for tensor in tensors:
            if tensor.name in by_name:
                _check_datatype(tensor.datatype, by_name[tensor.name], tensor.name)
    _check_missing_values(rows, columns)
    return InferRequest(rows=rows, id=request_id)


def infer_response(
    model_name: str, model_version: str, request_id: str, outputs: list[Any]
) -> dict[str, Any]:
    """The body answering an infer request: one ``predict`` tensor, or one per output field."""
    if outputs and all(isinstance(row, dict) for row in outputs):
        keys = list(outputs[0])
        tensors = [_output_tensor(str(key), [row.get(key) for row in outputs]) for key in keys]
    else:
        tensors = [_output_tensor(OUTPUT_NAME, outputs)]
    return {
        "model_name": model_name,
        "model_version": model_version,
        "id": request_id,
        "outputs": tensors,
    }


def datatype_of(values: Sequence[Any]) -> str:
    """The narrowest V2 datatype holding every value (BYTES when they are not all numbers)."""
    if values and all(isinstance(v, bool) for v in values):
        return "BOOL"
    if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "INT64"
    if values and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return "FP64"
    return "BYTES"


@dataclass(frozen=True)
class _Tensor:
    name: str
    shape: list[int]
    datatype: str
    values: list[Any]


def _parse_tensor(tensor: Any, index: int) -> _Tensor:
    if not isinstance(tensor, dict):
        raise PayloadError("must be a tensor object", where=f"inputs[{index}]")
    name = tensor.get("name")
    if not isinstance(name, str) or not name:
        raise PayloadError("must be a non-empty string", where=f"inputs[{index}].name")
    shape = tensor.get("shape")
    if (
        not isinstance(shape, list)
        or not shape
        or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
    ):
        raise PayloadError("shape must be a non-empty list of non-negative integers", where=name)
    if len(shape) > 2:
        raise PayloadError(f"shape {shape} has more than 2 dimensions", where=name)
    if shape[0] == 0:
        raise PayloadError("shape has no rows", where=name)
    datatype = tensor.get("datatype")
    if datatype not in DATATYPES:
        raise PayloadError(f"datatype must be one of {', '.join(sorted(DATATYPES))}", where=name)
    if "data" not in tensor:
        raise PayloadError("data is missing", where=name)
    values = _flatten(tensor["data"], name)
    expected = math.prod(shape)
    if len(values) != expected:
        raise PayloadError(
            f"shape {shape} needs {expected} values, data has {len(values)}", where=name
        )
    for value in values:
        if value is not None and not _fits(value, datatype):
            raise PayloadError(f"{value!r} is not a {datatype} value", where=name)
    return _Tensor(name=name, shape=shape, datatype=datatype, values=values)


def _flatten(data: Any, name: str) -> list[Any]:
    if not isinstance(data, list):
        raise PayloadError("data must be a list", where=name)
    flat: list[Any] = []
    stack = [iter(data)]
    while stack:
        for item in stack[-1]:
            if isinstance(item, list):
                stack.append(iter(item))
                break
            if isinstance(item, dict):
                raise PayloadError("data must hold values, not objects", where=name)
            flat.append(item)
        else:
            stack.pop()
    return flat


def _fits(value: Any, datatype: str) -> bool:
    if datatype == "BOOL":
        return isinstance(value, bool)
    if datatype == "BYTES":
        return isinstance(value, str)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if datatype in INT_TYPES:
        return isinstance(value, int) and (not datatype.startswith("U") or value >= 0)
    return True


def _rows_from_columns(tensors: list[_Tensor]) -> ParsedRows:
    rows = tensors[0].shape[0]
    for tensor in tensors:
        if len(tensor.shape) == 2 and tensor.shape[1] != 1:
            raise PayloadError(
                f"shape {tensor.shape}: a column tensor has shape [N] or [N, 1]",
                where=tensor.name,
            )
        if tensor.shape[0] != rows:
            raise PayloadError(
                f"has {tensor.shape[0]} rows, {tensors[0].name} has {rows}", where=tensor.name
            )
    rows = [list(row) for row in zip(*(tensor.values for tensor in tensors), strict=True)]
    return ParsedRows([tensor.name for tensor in tensors], rows)


def _rows_from_matrix(tensor: _Tensor, columns: Sequence[InputColumn] | None) -> ParsedRows:
    if columns is None:
        raise PayloadError(
            "a 2-D tensor needs a model signature to name its columns", where=tensor.name
        )
    rows, width = tensor.shape
    if width != len(columns):
        raise PayloadError(
            f"shape {tensor.shape}: the model takes {len(columns)} columns "
            f"({', '.join(c.name for c in columns)})",
            where=tensor.name,
        )
    if tensor.datatype != "BYTES":  # BYTES carries mixed columns as text; others must fit each
        for column in columns:
            _check_datatype(tensor.datatype, column, f"{tensor.name} (column {column.name})")
    matrix = [tensor.values[row * width : (row + 1) * width] for row in range(rows)]
    return ParsedRows([c.name for c in columns], matrix)


def _check_datatype(datatype: str, column: InputColumn, where: str) -> None:
    expected = SIGNATURE_DATATYPES.get(column.type)
    if expected is None:
        return
    numeric = FLOAT_TYPES | INT_TYPES
    if expected in FLOAT_TYPES and datatype in numeric:
        return
    if expected in INT_TYPES and datatype in INT_TYPES:
        return
    if datatype != expected:
        raise PayloadError(
            f"datatype {datatype} does not fit the signature's {column.type} (send {expected})",
            where=where,
        )


def _check_missing_values(rows: ParsedRows, columns: Sequence[InputColumn] | None) -> None:
    positions = {name: index for index, name in enumerate(rows.columns)}
    for column in columns or []:
        if not column.required or column.name not in positions:
            continue
        at = positions[column.name]
        for number, row in enumerate(rows.rows):
            value = row[at]
            if value is None or (isinstance(value, float) and math.isnan(value)):
                raise PayloadError(
                    f"row {number} is null or NaN; the signature requires a value",
                    where=column.name,
                )


def _output_tensor(name: str, values: list[Any]) -> dict[str, Any]:
    datatype = datatype_of(values)
    data = values if datatype != "BYTES" else [v if isinstance(v, str) else str(v) for v in values]
    return {"name": name, "shape": [len(values)], "datatype": datatype, "data": data}


def _check_requested_outputs(outputs: Any) -> None:
    if outputs is None:
        return
    if not isinstance(outputs, list):
        raise PayloadError("must be a list of {name} objects", where="outputs")
    for index, requested in enumerate(outputs):
        name = requested.get("name") if isinstance(requested, dict) else None
        if name != OUTPUT_NAME:
            raise PayloadError(
                f"this model has one output, {OUTPUT_NAME!r}", where=f"outputs[{index}]"
            )


def infer_request_id(body: Any) -> str | None:
    """The ``id`` of a V2 infer body, if it has one (PayloadError naming ``id`` if unusable)."""
    request_id = body.get("id") if isinstance(body, dict) else None
    if request_id is not None and not (
        isinstance(request_id, str)
        and 0 < len(request_id) <= MAX_ID_LENGTH
        and request_id.isprintable()
    ):
        raise PayloadError(f"must be printable text of 1 to {MAX_ID_LENGTH} characters", where="id")
    return request_id
