"""Cache keys: when a step's earlier result may stand in for running it again.

A step's key is the SHA-256 of, canonically encoded:

- its function's reference (``module:qualname``) and code hash — the function's code as
  Python parses it, so comments, docstring and formatting do not count — plus the step's
  ``version`` option;
- its parameter values;
- the content hash of every input artifact (so a change anywhere upstream that changes an
  output's bytes reaches every step below it);
- its output names and serializer.

Not part of the key: code the step calls in other functions or modules, installed library
versions, environment variables, files the step reads by itself, the clock. Bump ``version``
(or run with ``--no-cache``) when one of those changes and the results should too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import orjson

from iml4e.pipelines.artifacts import ArtifactRef
from iml4e.pipelines.dsl import StepDefinition


def cache_key(
    step: StepDefinition[Any, Any], params: Mapping[str, Any], inputs: Mapping[str, ArtifactRef]
) -> str:
    """The key under which ``step``'s result for these parameters and inputs is cached."""
    payload = {
        "step": step.ref,
        "code": step.code_hash,
        "params": dict(params),
        "inputs": {name: ref.content_hash for name, ref in inputs.items()},
        "outputs": list(step.outputs),
        "serializer": step.options.serializer,
    }
    encoded = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    return hashlib.sha256(encoded).hexdigest()
