"""Settings: one typed object, read once and passed down.

Precedence, highest first: arguments > ``IML4E_*`` environment variables > ``iml4e.toml`` >
defaults. :func:`load_settings` also records where every value came from, which
``iml4e config`` prints.
"""

from iml4e.config.errors import ConfigError
from iml4e.config.home import prepare_home
from iml4e.config.loader import ResolvedSettings, load_settings
from iml4e.config.settings import Settings, mask_url

__all__ = [
    "ConfigError",
    "ResolvedSettings",
    "Settings",
    "load_settings",
    "mask_url",
    "prepare_home",
]
