"""Checks other rooms add to every promotion, listed as data and imported when first used.

Each entry maps a name to ``module:function``; the function takes ``(store, name, version,
to)`` and returns the :class:`PolicyCheck` results it adds. The compliance room's gate is one:
a high-risk system's model reaches ``champion`` only when its controls allow it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from iml4e.registry.policy import PolicyCheck
from iml4e.store import Store

PromotionCheck = Callable[[Store, str, str, str], list[PolicyCheck]]

PROMOTION_CHECKS: dict[str, str] = {
    "compliance": "iml4e.compliance.gate:check_promotion",
}


def promotion_check(name: str) -> PromotionCheck:
    """The check registered as ``name``, imported on first use."""
    module, _, function = PROMOTION_CHECKS[name].partition(":")
    check: PromotionCheck = getattr(importlib.import_module(module), function)
    return check


def run_promotion_checks(store: Store, name: str, version: str, to: str) -> list[PolicyCheck]:
    """Every registered check's results for promoting ``name`` ``version`` to ``to``."""
    results: list[PolicyCheck] = []
    for check_name in PROMOTION_CHECKS:
        results += promotion_check(check_name)(store, name, str(version), to)
    return results
