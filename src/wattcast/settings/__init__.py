"""The settings model: one frozen section per TOML table, each option declared once.

:class:`RunSpec` holds the sections; :mod:`~wattcast.settings.sections` declares
them; :mod:`~wattcast.settings.values` is the one converter from TOML, flags,
stored runs and keyword arguments. This package imports neither pandas nor
scikit-learn: commands that only read the store parse their settings without
paying for the science stack.
"""

from wattcast.settings.reference import example_toml, options_table
from wattcast.settings.run_spec import RunSpec, default_of, options
from wattcast.settings.sections import (
    AlertsSection,
    BacktestSection,
    DataSection,
    EmailSection,
    ExtrasSection,
    ModelSection,
    ModelsSection,
    ReferenceSection,
    SettingError,
    SiteSection,
    StoreSection,
    WeatherSection,
    WebhookSection,
)
from wattcast.settings.values import Setting

__all__ = [
    "AlertsSection",
    "BacktestSection",
    "DataSection",
    "EmailSection",
    "ExtrasSection",
    "ModelSection",
    "ModelsSection",
    "ReferenceSection",
    "RunSpec",
    "Setting",
    "SettingError",
    "SiteSection",
    "StoreSection",
    "WeatherSection",
    "WebhookSection",
    "default_of",
    "example_toml",
    "options",
    "options_table",
]
