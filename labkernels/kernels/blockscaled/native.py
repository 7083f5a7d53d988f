"""Native block-scaled MMA variants for Blackwell (in progress)."""
from __future__ import annotations

#: format -> id of the native variant the dispatcher prefers when the GPU has it
NATIVE_VARIANTS: dict = {}
