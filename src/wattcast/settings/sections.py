"""The settings, one frozen section per TOML table; each field is one option.

A field is declared once: ``key: Annotated[type, Setting(help, ...)] = default``.
Its type and :class:`~wattcast.settings.values.Setting` say how its value is read
from TOML, a flag, a stored run or a keyword argument; a section converts and
checks its values when it is made, so ``ModelSection(input="7D")`` and
``ModelSection(input=timedelta(days=7))`` are the same section, and
``ModelSection(trees=0)`` is refused with the message the site file would get.
The engine takes these sections as they are.
"""

from __future__ import annotations

from wattcast.settings.base import (
    BACKENDS,
    ESTIMATORS,
    Aggregation,
    Backend,
    Estimator,
    IntervalMethod,
    Method,
    Section,
    SettingError,
)
from wattcast.settings.delivery import AlertsSection, EmailSection, StoreSection, WebhookSection
from wattcast.settings.inputs import DataSection, ExtrasSection, SiteSection, WeatherSection
from wattcast.settings.modelling import (
    BacktestSection,
    ModelSection,
    ModelsSection,
    ReferenceSection,
)

__all__ = [
    "BACKENDS", "ESTIMATORS", "Aggregation", "AlertsSection", "Backend", "BacktestSection",
    "DataSection", "EmailSection", "Estimator", "ExtrasSection", "IntervalMethod", "Method",
    "ModelSection", "ModelsSection", "ReferenceSection", "Section", "SettingError",
    "SiteSection", "StoreSection", "WeatherSection", "WebhookSection",
]  # fmt: skip
