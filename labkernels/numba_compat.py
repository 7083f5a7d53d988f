"""The one door to Numba's CUDA target.

numba-cuda is in maintenance mode; keeping every ``numba.cuda`` import behind
this module means a move to another Numba CUDA backend touches one file.

When no GPU is here the CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``) is
switched on *before* ``numba.cuda`` is first imported, so Numba kernels run
(slowly, in Python threads) on any machine. Set ``NUMBA_ENABLE_CUDASIM``
yourself to force either way.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import sys


def _driver_has_gpu() -> bool:
    """Ask the driver directly (no CuPy, no Numba) whether a GPU is visible."""
    from . import device

    if device.gpu() is not None:
        return True
    if os.environ.get("LABKERNELS_NO_GPU"):
        return False
    name = ctypes.util.find_library("cuda") or "libcuda.so.1"
    try:
        lib = ctypes.CDLL(name)
        count = ctypes.c_int(0)
        return lib.cuInit(0) == 0 and lib.cuDeviceGetCount(ctypes.byref(count)) == 0 and count.value > 0
    except OSError:
        return False


@functools.lru_cache(maxsize=None)
def cuda():
    """``numba.cuda``, with the simulator switched on when there is no GPU."""
    if "numba.cuda" not in sys.modules and "NUMBA_ENABLE_CUDASIM" not in os.environ:
        if not _driver_has_gpu():
            os.environ["NUMBA_ENABLE_CUDASIM"] = "1"
            if "numba" in sys.modules:
                from numba.core import config

                config.reload_config()
    import numpy as np

    if not hasattr(np, "row_stack"):
        # NumPy 2.5 removed np.row_stack (an alias of vstack); numba-cuda 0.30
        # still registers an overload for it when it first compiles a kernel.
        np.row_stack = np.vstack
    from numba import cuda as _cuda

    return _cuda


def simulator() -> bool:
    """True when Numba kernels run in the CUDA simulator."""
    cuda()
    from numba.core import config

    return bool(config.ENABLE_CUDASIM)


def jit(*args, **kwargs):
    """``numba.cuda.jit`` through this module."""
    return cuda().jit(*args, **kwargs)


def float16():
    """Numba's float16 type (loads of fp16 arrays convert through it)."""
    from numba import float16 as f16

    return f16


def compile_ptx(module: str, func: str, signature: str, cc: tuple[int, int] = (9, 0)) -> str:
    """PTX of the Numba kernel ``module.func`` for ``signature`` — no GPU or driver needed.

    Runs in a fresh interpreter with the simulator off, because a process that
    has switched the simulator on cannot compile for the real target.
    """
    import subprocess

    code = (
        "import importlib, sys\n"
        f"m = importlib.import_module({module!r})\n"
        "from numba import cuda\n"
        f"ptx, _ = cuda.compile_ptx(getattr(m, {func!r}), {signature!r}, cc={tuple(cc)!r})\n"
        "sys.stdout.write(ptx)\n"
    )
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "0"}
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError(f"Numba could not compile {module}.{func} for cc {cc}:\n{r.stderr[-3000:]}")
    return r.stdout
