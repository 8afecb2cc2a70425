"""HTTP(S) sources: download to a temporary file (streaming, retried, verified), then parse.

Each read downloads anew with httpx, following redirects:

- ``timeout`` applies to each network operation (connect, each read of the body, …);
- connection errors, timeouts, ``5xx`` and ``429`` answers, and bodies shorter than their
  ``Content-Length`` are retried up to ``retries`` times, waiting 0.25 s, 0.5 s, 1 s, … (at
  most 8 s; a ``Retry-After`` of up to 30 s is honoured); other ``4xx`` answers fail at once;
- ``checksum="sha256:<hex>"`` is checked over the body as received (after any
  ``Content-Encoding`` is undone); a mismatch fails without retrying.

The format comes from ``format=``, else the URL path's extension, else the ``Content-Type``
(whose ``charset`` also serves as the CSV encoding when ``encoding=`` is not given). The
temporary file is removed when the read ends, also when it fails or a chunk iterator is closed
early. ``source`` is the URL with the password and secret-looking query values
(``token``, ``key``, ``signature``, …) masked.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import os
import re
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pandas as pd

from iml4e.data.connectors.base import SourceOptions, parse_checksum
from iml4e.data.connectors.checked import describe_error
from iml4e.data.connectors.formats import (
    format_from_name,
    iter_file,
    normalise_format,
    read_file,
)
from iml4e.data.errors import DataSourceError

if TYPE_CHECKING:
    import httpx

BACKOFF_FIRST_S = 0.25
BACKOFF_MAX_S = 8.0
RETRY_AFTER_MAX_S = 30.0
CONTENT_TYPES = {
    "application/csv": "csv",
    "application/jsonl": "jsonl",
    "application/jsonlines": "jsonl",
    "application/parquet": "parquet",
    "application/vnd.apache.parquet": "parquet",
    "application/x-jsonlines": "jsonl",
    "application/x-ndjson": "jsonl",
    "application/x-parquet": "parquet",
    "text/csv": "csv",
    "text/plain": "csv",
    "text/tab-separated-values": "csv",
}
_SECRET_PARAMETER = re.compile(r"token|key|secret|sig|password|passwd|auth|credential", re.I)
_CHUNK_BYTES = 1024 * 1024


class _Retryable(Exception):
    """An attempt failed in a way another attempt may not (see the module docstring)."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


@dataclass(frozen=True)
class _Download:
    path: Path
    format: str
    encoding: str | None


class HttpConnector:
    """A file on a web server, downloaded whole on each read, then parsed as a local file."""

    OPTIONS = frozenset({"format", "delimiter", "encoding", "checksum", "timeout", "retries"})

    def __init__(self, source: str, options: SourceOptions) -> None:
        self.url = source
        self.source = mask_url(source)
        self.options = options
        parts = urlsplit(source)
        if not parts.hostname:
            raise DataSourceError("not a valid http(s) URL: no host", where=self.source)
        self.format = normalise_format(options.format, self.source) if options.format else None
        self.format = self.format or format_from_name(parts.path)
        self.checksum = parse_checksum(options.checksum, self.source) if options.checksum else None
        self.attempts = 0  # made by the last read, for people (and tests) to see

    def read(self) -> pd.DataFrame:
        """Download, then parse the whole file."""
        with self._download() as download:
            return read_file(
                download.path,
                download.format,
                encoding=download.encoding,
                delimiter=self.options.delimiter,
                where=self.source,
            )

    def iter_chunks(self, chunk_rows: int = 100_000) -> Iterator[pd.DataFrame]:
        """Download, then stream the file's chunks (the download itself is written to disk)."""
        with self._download() as download:
            yield from iter_file(
                download.path,
                download.format,
                chunk_rows,
                encoding=download.encoding,
                delimiter=self.options.delimiter,
                where=self.source,
            )

    @contextlib.contextmanager
    def _download(self) -> Iterator[_Download]:
        import httpx

        suffix = "".join(Path(urlsplit(self.url).path).suffixes[-2:])[-20:]
        handle, name = tempfile.mkstemp(prefix="iml4e-download-", suffix=suffix)
        os.close(handle)
        path = Path(name)
        try:
            timeout = httpx.Timeout(self.options.timeout)
            with httpx.Client(timeout=timeout, follow_redirects=True) as client:
                content_type = self._fetch_with_retries(client, path)
            yield self._parsed_as(path, content_type)
        finally:
            path.unlink(missing_ok=True)

    def _fetch_with_retries(self, client: httpx.Client, path: Path) -> str:
        self.attempts = 0
        while True:
            self.attempts += 1
            try:
                return self._fetch(client, path)
            except _Retryable as problem:
                if self.attempts > self.options.retries:
                    tries = f"{self.attempts} attempt{'s' if self.attempts > 1 else ''}"
                    raise DataSourceError(
                        f"{problem.reason} (gave up after {tries})", where=self.source
                    ) from None
                backoff = min(BACKOFF_FIRST_S * 2 ** (self.attempts - 1), BACKOFF_MAX_S)
                time.sleep(max(backoff, problem.retry_after or 0.0))

    def _fetch(self, client: httpx.Client, path: Path) -> str:
        """One attempt: the body into ``path``; returns the Content-Type."""
        import httpx

        expected: int | None = None
        response: httpx.Response | None = None
        written = 0
        try:
            with client.stream("GET", self.url) as response:
                self._check_status(response)
                expected = _content_length(response)
                digest = hashlib.new(self.checksum[0]) if self.checksum else None
                with path.open("wb") as file:
                    for block in response.iter_bytes(_CHUNK_BYTES):
                        file.write(block)
                        written += len(block)
                        if digest is not None:
                            digest.update(block)
                received = response.num_bytes_downloaded
                content_type = response.headers.get("content-type", "")
        except httpx.RemoteProtocolError as error:
            if expected is not None and response is not None:
                received = response.num_bytes_downloaded
                raise _Retryable(
                    f"truncated download: got {received} of {expected} bytes"
                ) from None
            raise _Retryable(f"the server broke the connection: {describe_error(error)}") from None
        except httpx.TransportError as error:
            raise _Retryable(f"{type(error).__name__}: {describe_error(error)}") from None
        except httpx.HTTPError as error:
            raise DataSourceError(describe_error(error), where=self.source) from None
        if expected is not None and received != expected:
            raise _Retryable(f"truncated download: got {received} of {expected} bytes")
        if digest is not None and self.checksum is not None:
            actual = digest.hexdigest()
            algorithm, wanted = self.checksum
            if actual != wanted:
                raise DataSourceError(
                    f"checksum mismatch: expected {algorithm}:{wanted}, got {algorithm}:{actual}",
                    where=self.source,
                )
        if written == 0:
            raise DataSourceError("empty download (0 bytes)", where=self.source)
        return content_type

    def _check_status(self, response: httpx.Response) -> None:
        status = response.status_code
        if status < 300:
            return
        reason = f"HTTP {status} {response.reason_phrase}".rstrip()
        if status >= 500 or status == 429:
            raise _Retryable(reason, _retry_after(response))
        raise DataSourceError(reason, where=self.source)

    def _parsed_as(self, path: Path, content_type: str) -> _Download:
        media_type, _, parameters = content_type.partition(";")
        charset = dict(parse_qsl(parameters.replace(";", "&").replace(" ", ""))).get("charset")
        fmt = self.format or CONTENT_TYPES.get(media_type.strip().lower())
        if fmt is None:
            raise DataSourceError(
                f"cannot tell the format: the URL has no known extension and the Content-Type "
                f"is {content_type or 'missing'!r}; pass format= (csv, parquet or jsonl)",
                where=self.source,
            )
        encoding = self.options.encoding
        if encoding is None and charset and fmt != "parquet":
            with contextlib.suppress(LookupError):
                encoding = codecs.lookup(charset).name
        return _Download(path, fmt, encoding)


def mask_url(url: str) -> str:
    """``url`` without its password and with secret-looking query values as ``***``."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        netloc = netloc.replace(f":{parts.password}@", ":***@", 1)
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(_SECRET_PARAMETER.search(key) for key, _ in pairs):
            masked = [(k, "***" if _SECRET_PARAMETER.search(k) else v) for k, v in pairs]
            query = urlencode(masked, safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _content_length(response: httpx.Response) -> int | None:
    value = response.headers.get("content-length")
    if value is None or not value.strip().isdigit():
        return None
    return int(value)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "").strip()
    if not value.isdigit():
        return None
    return min(float(value), RETRY_AFTER_MAX_S)
