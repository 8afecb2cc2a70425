"""Model-file safety: hashes and the code a pickled model would run when loaded (Art. 15(5)).

Art. 15(5) of the EU AI Act asks high-risk systems to resist attempts to alter their use or
behaviour, model poisoning included. A pickle is a program: loading it may import and call
anything. This module reads the imports of every pickle in a model folder with the standard
library's :func:`pickletools.genops`, without ever unpickling, and flags the ones that can run
commands, open files or load code. Every file also gets its SHA-256, so a stored model can be
checked against the hash recorded when it was approved.

Limits: a pickle is read up to its STOP opcode. Joblib writes numpy arrays' raw bytes in the
middle of its pickle stream; reading stops there and the file is reported with the imports
read until then. Compressed joblib files are not readable and are reported as ``"other"``.
"""

from __future__ import annotations

import hashlib
import pickletools
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

PICKLE_SUFFIXES = {".pkl": "pickle", ".pickle": "pickle", ".joblib": "joblib"}
PICKLE_PROTO = 0x80
CHUNK = 1024 * 1024
UNRESOLVED = "?"

#: Modules whose functions run commands, touch the file system or load code.
UNSAFE_MODULES: tuple[str, ...] = (
    "os",
    "posix",
    "nt",
    "subprocess",
    "sys",
    "shutil",
    "socket",
    "importlib",
    "runpy",
    "pty",
    "webbrowser",
    "ctypes",
    "multiprocessing",
)
#: Builtins that evaluate code, open files or reach any attribute.
UNSAFE_BUILTINS = frozenset(
    {
        "eval",
        "exec",
        "compile",
        "open",
        "__import__",
        "getattr",
        "setattr",
        "delattr",
        "globals",
        "locals",
        "input",
        "breakpoint",
    }
)

_STRING_OPS = {
    "STRING",
    "BINSTRING",
    "SHORT_BINSTRING",
    "UNICODE",
    "BINUNICODE",
    "SHORT_BINUNICODE",
    "BINUNICODE8",
}
_GET_OPS = {"GET", "BINGET", "LONG_BINGET"}
_PUT_OPS = {"PUT", "BINPUT", "LONG_BINPUT"}
_NO_PUSH_OPS = {"PROTO", "FRAME", "MEMOIZE", *_PUT_OPS}


@dataclass(frozen=True)
class ScannedFile:
    """One file of a model folder; ``imports`` and ``unsafe`` are ``"module.name"`` globals."""

    path: str
    sha256: str
    size_bytes: int
    format: str
    imports: tuple[str, ...]
    unsafe: tuple[str, ...]


@dataclass(frozen=True)
class ModelFileScan:
    """The files of a model folder, in path order."""

    files: tuple[ScannedFile, ...]

    @property
    def unsafe(self) -> list[str]:
        """Every unsafe import as ``"path: module.name"``."""
        return [f"{file.path}: {name}" for file in self.files for name in file.unsafe]

    def as_dict(self) -> dict[str, Any]:
        """The scan as JSON-ready data."""
        return {
            "files": [
                {**asdict(file), "imports": list(file.imports), "unsafe": list(file.unsafe)}
                for file in self.files
            ],
            "unsafe": self.unsafe,
        }


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _pickle_imports(path: Path) -> list[tuple[str, str]] | None:
    """The (module, name) globals of the first pickle in ``path``; ``None`` if none is readable.

    STACK_GLOBAL takes module and name from the stack, so the last pushed values are tracked,
    strings resolved through the memo, as far as real sklearn and cloudpickle files need.
    """
    imports: list[tuple[str, str]] = []
    memo: dict[int, str | None] = {}
    pushed: list[str | None] = []
    with path.open("rb") as handle:
        try:
            for opcode, arg, _ in pickletools.genops(handle):
                name = opcode.name
                if name in ("GLOBAL", "INST"):
                    module, _, attribute = str(arg).partition(" ")
                    imports.append((module, attribute))
                elif name == "STACK_GLOBAL":
                    module = pushed[-2] if len(pushed) > 1 else None
                    attribute = pushed[-1] if pushed else None
                    imports.append((module or UNRESOLVED, attribute or UNRESOLVED))
                elif name == "MEMOIZE":
                    memo[len(memo)] = pushed[-1] if pushed else None
                elif name in _PUT_OPS:
                    memo[int(arg)] = pushed[-1] if pushed else None
                if name in _STRING_OPS:
                    pushed.append(arg if isinstance(arg, str) else None)
                elif name in _GET_OPS:
                    pushed.append(memo.get(int(arg)))
                elif name not in _NO_PUSH_OPS:
                    pushed.append(None)
                del pushed[:-2]
        except Exception:  # genops raises ValueError and others on bytes that are no pickle
            # bytes that break off before any import are no pickle; after one, joblib arrays
            return imports or None
    return imports


def _is_unsafe(module: str, name: str) -> bool:
    if UNRESOLVED in (module, name):  # a name computed at load time hides what it imports
        return True
    if module in ("builtins", "__builtin__"):
        return name in UNSAFE_BUILTINS
    return any(module == root or module.startswith(f"{root}.") for root in UNSAFE_MODULES)


def _looks_like_pickle(path: Path) -> bool:
    if path.suffix.lower() in PICKLE_SUFFIXES:
        return True
    with path.open("rb") as handle:
        return handle.read(1) == bytes([PICKLE_PROTO])


def _scan_file(path: Path, folder: Path) -> ScannedFile:
    found = _pickle_imports(path) if _looks_like_pickle(path) else None
    imports = [f"{module}.{name}" for module, name in found or []]
    unsafe = [f"{module}.{name}" for module, name in found or [] if _is_unsafe(module, name)]
    file_format = "other" if found is None else PICKLE_SUFFIXES.get(path.suffix.lower(), "pickle")
    return ScannedFile(
        path=path.relative_to(folder).as_posix(),
        sha256=_sha256(path),
        size_bytes=path.stat().st_size,
        format=file_format,
        imports=tuple(dict.fromkeys(imports)),
        unsafe=tuple(dict.fromkeys(unsafe)),
    )


def scan_model_files(folder: Path) -> ModelFileScan:
    """Hash every file under ``folder`` and list the imports of every pickle, in path order."""
    folder = Path(folder)
    files = sorted(path for path in folder.rglob("*") if path.is_file())
    return ModelFileScan(files=tuple(_scan_file(path, folder) for path in files))
