"""Errors of the config room."""

from iml4e.errors import BadInput


class ConfigError(BadInput):
    """A setting is unknown, malformed, or points somewhere unusable."""
