"""Errors the lab raises, and the small argument checks every public function uses.

A caller's mistake must surface as a ``TypeError``/``ValueError`` (or
:class:`UnsupportedDevice`) that names the argument and says what it must be,
never as a traceback from deep inside NumPy, CuPy or Numba.
"""
from __future__ import annotations

import difflib
import numbers
from typing import Iterable

import numpy as np


class UnsupportedDevice(RuntimeError):
    """The GPU here (or the lack of one) cannot run what was asked for."""


def _names(options: Iterable[str]) -> str:
    return ", ".join(repr(o) for o in options)


def check_choice(name: str, value, options: Iterable[str]) -> str:
    """``value`` must be one of ``options`` (case-insensitive); return it normalised."""
    options = list(options)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, one of {_names(options)}; got {type(value).__name__}")
    low = {o.lower(): o for o in options}
    if value.lower() in low:
        return low[value.lower()]
    hint = difflib.get_close_matches(value.lower(), list(low), n=1)
    extra = f" (did you mean {low[hint[0]]!r}?)" if hint else ""
    raise ValueError(f"unknown {name} {value!r}{extra}; known: {_names(options)}")


def check_int(name: str, value, *, min_value: int | None = None, max_value: int | None = None) -> int:
    """``value`` must be an integer (not a bool) within the bounds."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {type(value).__name__} {value!r}")
    value = int(value)
    if min_value is not None and value < min_value:
        raise ValueError(f"{name} must be >= {min_value}; got {value}")
    if max_value is not None and value > max_value:
        raise ValueError(f"{name} must be <= {max_value}; got {value}")
    return value


def check_positive(name: str, value) -> float:
    """``value`` must be a finite real number > 0 (a tolerance, a time limit); return it as a float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number; got {type(value).__name__} {value!r}")
    value = float(value)
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be finite and > 0; got {value!r}")
    return value


def check_callable(name: str, value, what: str = "a function") -> None:
    if not callable(value):
        raise TypeError(f"{name} must be {what}; got {type(value).__name__} {value!r}")


def _dtype_name(dt) -> str:
    return np.dtype(dt).name


def check_array(
    name: str,
    a,
    *,
    dtype=None,
    ndim: int | None = None,
    shape: tuple | None = None,
    contiguous: bool = True,
    allow_empty: bool = False,
):
    """Check a NumPy or CuPy array argument.

    ``dtype`` may be one dtype or a tuple of them; ``shape`` may hold ``None``
    for a free dimension. Returns the array unchanged.
    """
    if not hasattr(a, "shape") or not hasattr(a, "dtype"):
        raise TypeError(f"{name} must be a NumPy or CuPy array; got {type(a).__name__}")
    if dtype is not None:
        allowed = dtype if isinstance(dtype, tuple) else (dtype,)
        if np.dtype(a.dtype) not in [np.dtype(d) for d in allowed]:
            want = " or ".join(_dtype_name(d) for d in allowed)
            raise TypeError(f"{name} must have dtype {want}; got {_dtype_name(a.dtype)}")
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D; got shape {tuple(a.shape)}")
    if shape is not None:
        if len(shape) != a.ndim or any(s is not None and s != d for s, d in zip(shape, a.shape)):
            want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
            raise ValueError(f"{name} must have shape {want}; got {tuple(a.shape)}")
    if not allow_empty and a.size == 0:
        raise ValueError(f"{name} must not be empty; got shape {tuple(a.shape)}")
    if contiguous:
        flags = getattr(a, "flags", None)
        if flags is not None and not flags["C_CONTIGUOUS"]:
            raise ValueError(
                f"{name} must be C-contiguous (row-major); pass np.ascontiguousarray({name}) "
                f"or cupy.ascontiguousarray({name})"
            )
    return a


def check_divisible(name: str, value: int, by: int, what: str) -> None:
    """``value`` (the size called ``name``) must be a multiple of ``by`` (the ``what``)."""
    if value % by:
        raise ValueError(f"{name}={value} must be a multiple of {what} ({by})")
