"""Send labelled rows to a model server over its protocols, as a client would."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pandas as pd

PROTOCOLS = ("dataframe_split", "dataframe_records", "instances", "inputs", "kserve_v1")


@dataclass(frozen=True)
class SentRequest:
    """One request the client sent and what it learned."""

    request_id: str
    batch: str
    protocol: str
    status: int
    label: Any
    prediction: Any
    model_version: str | None = None
    """The version that answered (the server's ``x-model-version`` header)."""


def send_rows(
    base_url: str,
    model_name: str,
    frame: pd.DataFrame,
    labels: Sequence[Any],
    *,
    batch: str,
    concurrency: int = 8,
    id_prefix: str = "",
) -> list[SentRequest]:
    """Send each row of ``frame`` as its own request, cycling through the protocols; request
    ids are ``<id_prefix>.<batch>-<row>`` (``<batch>-<row>`` without a prefix)."""
    rows = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    columns = list(frame.columns)

    def send(index: int, client: httpx.Client) -> SentRequest:
        protocol = PROTOCOLS[index % len(PROTOCOLS)]
        row = rows[index]
        url = f"{base_url}/invocations"
        if protocol == "dataframe_split":
            body: dict[str, Any] = {
                "dataframe_split": {"columns": columns, "data": [[row[c] for c in columns]]}
            }
        elif protocol == "kserve_v1":
            url = f"{base_url}/v1/models/{model_name}:predict"
            body = {"instances": [row]}
        else:
            body = {protocol: [row]}
        request_id = f"{id_prefix}.{batch}-{index}" if id_prefix else f"{batch}-{index}"
        response = client.post(
            url, json=body, headers={"x-request-id": request_id, "x-iml4e-caller": "iml4e-demo"}
        )
        prediction = response.json()["predictions"][0] if response.status_code == 200 else None
        return SentRequest(
            request_id,
            batch,
            protocol,
            response.status_code,
            labels[index],
            prediction,
            response.headers.get("x-model-version"),
        )

    with httpx.Client(timeout=30.0) as client, ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(lambda i: send(i, client), range(len(rows))))
