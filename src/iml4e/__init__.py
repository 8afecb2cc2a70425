"""iml4e: Industrial ML for Enterprises.

An end-to-end MLOps platform with EU AI Act compliance built in: collect and analyze data,
train and track models, register, serve and monitor them, on one laptop or a cluster.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("iml4e")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
