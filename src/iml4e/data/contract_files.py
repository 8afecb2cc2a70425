"""Infer a data contract from reference data, and keep it as a YAML file a person can edit.

The file is pandera's own YAML schema format (``schema.to_yaml()``), so anything pandera can
express can be added by hand and validated with :func:`iml4e.data.contracts.validate_frame`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from iml4e.data.errors import ContractFileError, InvalidArgument

if TYPE_CHECKING:
    import pandera.pandas as pa

DEFAULT_MAX_CATEGORIES = 50


def infer_contract(
    frame: pd.DataFrame,
    *,
    name: str = "contract",
    max_categories: int = DEFAULT_MAX_CATEGORIES,
    optional: tuple[str, ...] = (),
) -> pa.DataFrameSchema:
    """A strict contract describing ``frame``: what new data of the same kind must look like.

    Per column: the exact dtype; nullable only if the reference has missing values; for
    numbers and datetimes the observed ``[min, max]`` range; for text/category/boolean columns
    with at most ``max_categories`` distinct values, the allowed values. Columns named in
    ``optional`` (e.g. the label, absent at serving time) may be missing. Unknown columns are
    violations (``strict``).
    """
    import pandera.pandas as pa

    if not isinstance(frame, pd.DataFrame) or frame.empty:
        raise InvalidArgument("needs a non-empty DataFrame to infer from", where="frame")
    columns = {}
    for column in frame.columns:
        values = frame[column]
        present = values.dropna()
        checks = []
        dtype = values.dtype
        if pd.api.types.is_bool_dtype(dtype):
            pass
        elif pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_datetime64_any_dtype(dtype):
            if len(present):
                low, high = present.min(), present.max()
                checks.append(pa.Check.in_range(_plain(low), _plain(high)))
        elif present.nunique() <= max_categories:
            allowed = sorted(present.astype(str).unique().tolist())
            checks.append(pa.Check.isin(allowed))
        column_dtype: object = str if dtype == object else dtype  # noqa: E721 - numpy dtype
        columns[str(column)] = pa.Column(
            column_dtype,
            checks=checks,
            nullable=bool(values.isna().any()),
            required=column not in optional,
        )
    return pa.DataFrameSchema(columns, strict=True, name=name)


def save_contract(schema: pa.DataFrameSchema, path: Path) -> Path:
    """Write ``schema`` as YAML to ``path`` (folders created); returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".partial")
    partial.write_text(contract_to_yaml(schema), encoding="utf-8")
    partial.replace(path)
    return path


def contract_to_yaml(schema: pa.DataFrameSchema) -> str:
    """The YAML text of ``schema``."""
    text = schema.to_yaml()
    if text is None:  # pragma: no cover - to_yaml returns text when given no stream
        raise InvalidArgument("the schema cannot be written as YAML", where="schema")
    return text


def load_contract(path: Path) -> pa.DataFrameSchema:
    """Read a contract file; a missing, malformed or invalid file is a ContractFileError."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ContractFileError(f"cannot read the contract ({exc})", where=str(path)) from None
    return contract_from_yaml(text, where=str(path))


def contract_from_yaml(text: str, *, where: str) -> pa.DataFrameSchema:
    """Parse contract YAML; errors name ``where``."""
    import pandera.pandas as pa
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ContractFileError(f"not valid YAML ({exc})", where=where) from None
    if not isinstance(data, dict) or "columns" not in data:
        raise ContractFileError("not a contract: expected a mapping with 'columns'", where=where)
    try:
        return pa.DataFrameSchema.from_yaml(text)
    except Exception as exc:  # pandera raises many kinds for a bad schema description
        raise ContractFileError(f"not a valid contract ({exc})", where=where) from None


def _plain(value: object) -> object:
    if isinstance(value, pd.Timestamp):
        return value
    item = getattr(value, "item", None)
    return item() if callable(item) else value
