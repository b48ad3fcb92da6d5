"""System preset templates and template lookup."""

from reelflow.presets.catalog import (
    CUSTOM_ID_START,
    Preset,
    get_preset,
    is_preset,
    list_presets,
)
from reelflow.presets.lookup import ChainLookup, MemoryLookup, PresetLookup, TemplateLookup

__all__ = [
    "CUSTOM_ID_START",
    "ChainLookup",
    "MemoryLookup",
    "Preset",
    "PresetLookup",
    "TemplateLookup",
    "get_preset",
    "is_preset",
    "list_presets",
]
