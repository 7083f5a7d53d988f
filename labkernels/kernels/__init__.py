"""Kernel families. Importing this package registers every variant (see labkernels.registry)."""
from . import fp16  # noqa: F401
