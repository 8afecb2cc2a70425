"""Step outputs stored once under the artifact root, addressed by the hash of their bytes.

A value is written by its serializer to a local file, hashed (SHA-256), and placed at
``<root>/<hash[:2]>/<hash><extension>``. The same bytes always land at the same place, so a
repeated or concurrent save of an equal value changes nothing and stores one file. A local root
(a folder or a ``file://`` URI) is written with an atomic rename and read in place; any other URI
goes through the filesystems of ``pyarrow.fs`` (``s3://``, ``gs://``, …) and is downloaded to a
temporary file to be read. Loading checks the bytes against the hash, so a damaged file is
reported instead of silently read.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from iml4e.errors import Iml4eError
from iml4e.pipelines.serializers import (
    NotSerializable,
    Serializer,
    serializer_for,
    serializer_named,
    type_label,
)

CHUNK_BYTES = 1 << 20
"""Files are hashed and copied in pieces of this size."""


@dataclass(frozen=True)
class ArtifactRef:
    """What the store needs to find, check and read one stored value."""

    content_hash: str
    """SHA-256 (hex) of the stored file's bytes."""
    serializer: str
    """Name of the serializer that wrote the file and reads it back."""
    uri: str
    """Where the file is: a path under a local root, else a URI under the root."""
    type_name: str
    """``module.QualName`` of the stored value's type, e.g. ``pandas.core.frame.DataFrame``."""
    size_bytes: int


class ArtifactMissing(Iml4eError):
    """The file of an artifact is gone; ``where`` is its URI."""


class ArtifactCorrupt(Iml4eError):
    """The bytes of an artifact's file do not hash to its ``content_hash``; ``where`` is its URI."""


class ArtifactStore:
    """Content-addressed step outputs under ``root``: <root>/<hash[:2]>/<hash><extension>."""

    def __init__(self, root: str) -> None:
        """``root`` is a local folder, or a URI ``pyarrow.fs.FileSystem.from_uri`` opens."""
        root = root.rstrip("/") or "/"
        self.local_root = _local_path(root)
        self.root = os.path.abspath(root) if "://" not in root else root

    def uri_for(self, content_hash: str, extension: str) -> str:
        """Where the file of ``content_hash`` written with ``extension`` is stored."""
        return f"{self.root}/{content_hash[:2]}/{content_hash}{extension}"

    def save(self, value: object, *, serializer: Serializer | str | None = None) -> ArtifactRef:
        """Store ``value`` (once per content) and return its reference.

        ``serializer`` (an object or a registered name) overrides the one chosen by type and is
        used even for values it would not accept. A value that cannot be written raises
        :class:`NotSerializable` and leaves no file behind.
        """
        if serializer is None:
            chosen = serializer_for(value)
        elif isinstance(serializer, str):
            chosen = serializer_named(serializer)
        else:
            chosen = serializer
        local = self.local_root
        # a local root's own scratch folder is on its filesystem: placing a file is a rename
        scratch = os.path.join(local, ".tmp") if local is not None else tempfile.gettempdir()
        partial = Path(scratch, f"{os.urandom(16).hex()}{chosen.extension}")
        placed = False
        try:
            try:
                _dump(chosen, value, partial)
            except FileNotFoundError:  # the first save under this root
                os.makedirs(scratch, exist_ok=True)
                _dump(chosen, value, partial)
            content_hash, size = _digest(partial)
            uri = self.uri_for(content_hash, chosen.extension)
            if local is not None:
                placed = _place_local(partial, os.path.join(local, content_hash[:2]), uri)
            else:
                self._upload(partial, content_hash, chosen.extension)
        finally:
            if not placed:
                partial.unlink(missing_ok=True)
        return ArtifactRef(content_hash, chosen.name, uri, _type_name(value), size)

    def load(self, ref: ArtifactRef) -> object:
        """The value ``ref`` refers to, after checking its bytes against ``ref.content_hash``."""
        serializer = serializer_named(ref.serializer)
        path = self._local_file(ref.uri)
        if path is not None:
            try:
                content_hash, _ = _digest(path)
            except FileNotFoundError:
                raise ArtifactMissing("the artifact's file is gone", where=ref.uri) from None
            _check(ref, content_hash)
            return serializer.load(path)
        filesystem, remote = self._filesystem_path(ref.uri)
        download = Path(tempfile.gettempdir()) / f"{uuid.uuid4().hex}{Path(remote).suffix}"
        try:
            try:
                source = filesystem.open_input_stream(remote)
            except OSError:
                if self.exists(ref):
                    raise
                raise ArtifactMissing("the artifact's file is gone", where=ref.uri) from None
            digest = hashlib.sha256()
            with source, download.open("wb") as target:
                while chunk := source.read(CHUNK_BYTES):
                    digest.update(chunk)
                    target.write(chunk)
            _check(ref, digest.hexdigest())
            return serializer.load(download)
        finally:
            download.unlink(missing_ok=True)

    def exists(self, ref: ArtifactRef) -> bool:
        """Whether the file of ``ref`` is there (its bytes are not checked)."""
        path = self._local_file(ref.uri)
        if path is not None:
            return path.is_file()
        import pyarrow.fs as pafs

        filesystem, remote = self._filesystem_path(ref.uri)
        return bool(filesystem.get_file_info(remote).type == pafs.FileType.File)

    def _upload(self, local: Path, content_hash: str, extension: str) -> None:
        import pyarrow.fs as pafs

        filesystem, base = self._filesystem
        folder = f"{base}/{content_hash[:2]}"
        destination = f"{folder}/{content_hash}{extension}"
        if filesystem.get_file_info(destination).type == pafs.FileType.File:
            return
        filesystem.create_dir(folder, recursive=True)
        partial = f"{folder}/.{uuid.uuid4().hex}.partial"
        with local.open("rb") as source, filesystem.open_output_stream(partial) as target:
            shutil.copyfileobj(source, target, CHUNK_BYTES)
        filesystem.move(partial, destination)

    @functools.cached_property
    def _filesystem(self) -> tuple[Any, str]:
        import pyarrow.fs as pafs

        filesystem, base = pafs.FileSystem.from_uri(self.root)
        return filesystem, base.rstrip("/")

    def _local_file(self, uri: str) -> Path | None:
        if self.local_root is not None and uri.startswith(f"{self.root}/"):
            return self.local_root / uri[len(self.root) + 1 :]
        return _local_path(uri)

    def _filesystem_path(self, uri: str) -> tuple[Any, str]:
        if uri.startswith(f"{self.root}/"):  # reuse this store's filesystem (and connection)
            filesystem, base = self._filesystem
            return filesystem, f"{base}/{uri[len(self.root) + 1 :]}"
        import pyarrow.fs as pafs

        return pafs.FileSystem.from_uri(uri)


def artifact_store_for(artifact_location_uri: str) -> ArtifactStore:
    """The artifact store of an installation (``Settings.artifact_location_uri``)."""
    return ArtifactStore(f"{artifact_location_uri.rstrip('/')}/pipelines/artifacts")


def _local_path(location: str) -> Path | None:
    """The local path of a folder or ``file://`` URI; None for other filesystems."""
    if "://" not in location:
        return Path(os.path.abspath(location))
    parts = urlsplit(location)
    if parts.scheme == "file" and parts.netloc in ("", "localhost"):
        return Path(unquote(parts.path))
    return None


def _dump(serializer: Serializer, value: object, path: Path) -> None:
    try:
        serializer.dump(value, path)
    except NotSerializable:
        raise
    except OSError as exc:
        if exc.errno is not None:  # the disk's fault (full, read-only), not the value's
            raise
        raise _dump_failed(serializer, value, exc) from exc
    except Exception as exc:
        raise _dump_failed(serializer, value, exc) from exc


def _dump_failed(serializer: Serializer, value: object, exc: Exception) -> NotSerializable:
    cause = f"{type(exc).__name__}: {exc}"
    return NotSerializable(f"cannot store a {type_label(value)} as {serializer.name} ({cause})")


def _digest(path: Path) -> tuple[str, int]:
    with path.open("rb") as file:
        size = os.fstat(file.fileno()).st_size
        if size <= CHUNK_BYTES:
            return hashlib.sha256(file.read()).hexdigest(), size
        return hashlib.file_digest(file, "sha256").hexdigest(), size


def _place_local(partial: Path, folder: str, uri: str) -> bool:
    """Move ``partial`` into ``folder`` atomically; False if an equal file is already there."""
    destination = os.path.join(folder, uri.rsplit("/", 1)[1])
    if os.path.exists(destination):  # same hash, same bytes
        return False
    try:
        os.replace(partial, destination)
    except FileNotFoundError:
        os.makedirs(folder, exist_ok=True)
        os.replace(partial, destination)
    return True


def _check(ref: ArtifactRef, content_hash: str) -> None:
    if content_hash != ref.content_hash:
        raise ArtifactCorrupt(
            f"the file's bytes hash to {content_hash}, not {ref.content_hash}", where=ref.uri
        )


def _type_name(value: object) -> str:
    kind = type(value)
    return f"{kind.__module__}.{kind.__qualname__}"
