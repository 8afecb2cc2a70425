"""Immutable Parquet snapshots of dataset versions, content-addressed under the artifact root.

A version's data is stored once, at ``<artifact root>/datasets/<name>/<content hash>.parquet``:
the same content always lands at the same place, so a write that loses a race or is repeated
changes nothing, and a version can always be read back exactly as it was registered.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from iml4e.data.errors import InvalidArgument


class SnapshotStore:
    """Parquet snapshots under ``root`` (a folder or any URI pyarrow's filesystems open)."""

    def __init__(self, root: str) -> None:
        self.root = root.rstrip("/")

    def uri_for(self, name: str, digest: str) -> str:
        """Where the snapshot of content ``digest`` of dataset ``name`` lives."""
        return f"{self.root}/{name}/{digest}.parquet"

    def write(self, name: str, digest: str, frame: pd.DataFrame) -> str:
        """Store ``frame`` (if not there yet) and return its URI."""
        uri = self.uri_for(name, digest)
        filesystem, path = pafs.FileSystem.from_uri(_as_uri(uri))
        if filesystem.get_file_info(path).type == pafs.FileType.File:
            return uri
        folder = path.rsplit("/", 1)[0]
        filesystem.create_dir(folder, recursive=True)
        partial = f"{folder}/.{uuid.uuid4().hex}.partial"
        table = pa.Table.from_pandas(frame, preserve_index=False)
        pq.write_table(table, partial, filesystem=filesystem)
        filesystem.move(partial, path)
        return uri

    @staticmethod
    def read_uri(uri: str) -> pd.DataFrame:
        """The frame stored at ``uri``."""
        filesystem, path = pafs.FileSystem.from_uri(_as_uri(uri))
        try:
            return pq.read_table(path, filesystem=filesystem).to_pandas()
        except (OSError, pa.ArrowInvalid) as exc:
            raise InvalidArgument(f"cannot read the snapshot ({exc})", where=uri) from None


def snapshot_store_for(artifact_location_uri: str) -> SnapshotStore:
    """The snapshot store of an installation (``Settings.artifact_location_uri``)."""
    return SnapshotStore(f"{artifact_location_uri.rstrip('/')}/datasets")


def _as_uri(location: str) -> str:
    return location if "://" in location else Path(location).resolve().as_uri()
