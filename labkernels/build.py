"""Building CUDA C: from a ``.cu`` file in the package to PTX, cubin and a CuPy module.

One compiler path everywhere: NVRTC through ``cuda-bindings``, which needs no
driver, so a laptop or CI runner compiles every kernel for every architecture
it claims and can show its PTX. On a GPU the cubin built for the device's own
target is loaded with ``cupy.RawModule(path=...)`` (RawModule's ``code=``
path appends its own ``-arch`` and cannot ask for an arch-specific target such
as ``sm_90a``).

Sources are read from ``labkernels/kernels``; a header ``#define`` block is
prepended (tile sizes and other compile-time knobs, the way CuPy's own
examples do) followed by a ``#line 1`` directive, so compiler messages point
at the line of the file the reader has open. Shared helpers live in
``labkernels/kernels/common/*.cuh`` and are found through ``-I``.
"""
from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import UnsupportedDevice, check_choice

KERNEL_DIR = Path(__file__).resolve().parent / "kernels"
COMMON_DIR = KERNEL_DIR / "common"

#: Targets the lab knows how to compile for, oldest first.
TARGETS = ("sm_75", "sm_80", "sm_86", "sm_89", "sm_90", "sm_90a", "sm_100a", "sm_120a")


class CompileError(RuntimeError):
    """NVRTC rejected a source; ``log`` holds its messages (file:line: error)."""

    def __init__(self, name: str, arch: str, log: str):
        self.name, self.arch, self.log = name, arch, log
        super().__init__(f"compiling {name} for {arch} failed:\n{log}")


@dataclass(frozen=True)
class Compiled:
    name: str
    arch: str
    ptx: str
    cubin: bytes | None
    log: str

    def has(self, instruction: str) -> bool:
        return instruction in self.ptx


# --------------------------------------------------------------------------
# Sources.
# --------------------------------------------------------------------------


def source_path(relpath: str | os.PathLike) -> Path:
    """Absolute path of a kernel source given relative to ``labkernels/kernels``."""
    p = Path(relpath)
    if not p.is_absolute():
        p = KERNEL_DIR / p
    if not p.is_file():
        raise FileNotFoundError(f"no CUDA source {str(relpath)!r} (looked in {KERNEL_DIR})")
    return p


def read_source(relpath: str | os.PathLike) -> str:
    return source_path(relpath).read_text()


def with_defines(source: str, defines: dict | None, filename: str) -> str:
    """Prepend ``#define NAME VALUE`` lines, then reset line numbering to the file's own."""
    head = "".join(f"#define {k} {v}\n" for k, v in sorted((defines or {}).items()))
    return f'{head}#line 1 "{filename}"\n{source}'


# --------------------------------------------------------------------------
# NVRTC through cuda-bindings (driver-free).
# --------------------------------------------------------------------------


def _nvrtc():
    try:
        from cuda.bindings import nvrtc
    except ImportError:
        try:
            from cuda import nvrtc  # cuda-python < 12.6 layout
        except ImportError as e:
            raise UnsupportedDevice(
                "compiling CUDA C needs NVRTC from cuda-bindings: pip install 'labkernels[cuda13]' "
                "(or [cuda12])"
            ) from e
    return nvrtc


@functools.lru_cache(maxsize=None)
def nvrtc_version() -> tuple[int, int]:
    nvrtc = _nvrtc()
    err, major, minor = nvrtc.nvrtcVersion()
    return int(major), int(minor)


@functools.lru_cache(maxsize=None)
def cuda_include_dirs() -> tuple[str, ...]:
    """Directories holding cuda_fp16.h, mma.h and crt/ (from pip wheels or a CUDA install)."""
    dirs: list[str] = []
    try:
        import cuda.pathfinder as pf

        d = pf.find_nvidia_header_directory("cudart")
        if d:
            dirs.append(str(d))
    except Exception:
        pass
    for env in ("CUDA_PATH", "CUDA_HOME"):
        if os.environ.get(env):
            dirs.append(os.path.join(os.environ[env], "include"))
    dirs.append("/usr/local/cuda/include")
    seen, out = set(), []
    for d in dirs:
        if d not in seen and os.path.isfile(os.path.join(d, "cuda_fp16.h")):
            seen.add(d)
            out.append(d)
    return tuple(out)


def _check(nvrtc, result, what):
    err = result[0] if isinstance(result, tuple) else result
    if int(err) != 0:
        _, msg = nvrtc.nvrtcGetErrorString(err)
        raise RuntimeError(f"{what}: {msg.decode() if isinstance(msg, bytes) else msg}")
    return result[1:] if isinstance(result, tuple) else None


def compile_source(
    source: str,
    arch: str,
    *,
    name: str = "kernel.cu",
    defines: dict | None = None,
    options: tuple[str, ...] = (),
    cubin: bool = True,
) -> Compiled:
    """Compile CUDA C text for ``arch`` (e.g. ``"sm_90a"``) with NVRTC; no driver needed."""
    if not isinstance(source, str):
        raise TypeError(f"source must be the CUDA C text as a str; got {type(source).__name__}"
                        + (" (decode the bytes first)" if isinstance(source, bytes) else ""))
    _check_options(options)
    arch = check_choice("arch", arch, TARGETS + ("sm_70", "sm_72", "sm_87", "sm_100", "sm_120", "sm_121a", "sm_103a"))
    nvrtc = _nvrtc()
    text = with_defines(source, defines, name)
    opts = [f"--gpu-architecture={arch}", "-std=c++17", "-default-device",
            f"-I{COMMON_DIR}", f"-I{KERNEL_DIR}"] + [f"-I{d}" for d in cuda_include_dirs()] + list(options)
    (prog,) = _check(nvrtc, nvrtc.nvrtcCreateProgram(text.encode(), name.encode(), 0, [], []), "nvrtcCreateProgram")
    try:
        opts_b = [o.encode() for o in opts]
        res = nvrtc.nvrtcCompileProgram(prog, len(opts_b), opts_b)
        (size,) = _check(nvrtc, nvrtc.nvrtcGetProgramLogSize(prog), "log size")
        buf = b" " * size
        _check(nvrtc, nvrtc.nvrtcGetProgramLog(prog, buf), "log")
        log = buf.rstrip(b"\x00 ").decode(errors="replace")
        if int(res[0]) != 0:
            raise CompileError(name, arch, log)
        (size,) = _check(nvrtc, nvrtc.nvrtcGetPTXSize(prog), "PTX size")
        buf = b" " * size
        _check(nvrtc, nvrtc.nvrtcGetPTX(prog, buf), "PTX")
        ptx = buf.rstrip(b"\x00").decode()
        bin_ = None
        if cubin:
            (size,) = _check(nvrtc, nvrtc.nvrtcGetCUBINSize(prog), "cubin size")
            if size:
                bbuf = b" " * size
                _check(nvrtc, nvrtc.nvrtcGetCUBIN(prog, bbuf), "cubin")
                bin_ = bytes(bbuf)
        return Compiled(name=name, arch=arch, ptx=ptx, cubin=bin_, log=log)
    finally:
        nvrtc.nvrtcDestroyProgram(prog)


@functools.lru_cache(maxsize=256)
def _compile_file_cached(relpath: str, arch: str, defines_items: tuple, options: tuple) -> Compiled:
    p = source_path(relpath)
    return compile_source(p.read_text(), arch, name=p.name, defines=dict(defines_items), options=options)


def _check_options(options) -> None:
    if isinstance(options, str) or not all(isinstance(o, str) for o in options):
        raise TypeError(f"options must be a tuple of strings, e.g. ('-lineinfo',); got {options!r}")


def _check_defines(defines) -> None:
    if defines is None:
        return
    if not isinstance(defines, dict):
        raise TypeError(f"defines must be a dict NAME -> value; got {type(defines).__name__}")
    for k, v in defines.items():
        if not isinstance(k, str) or not k.isidentifier():
            raise ValueError(f"defines: {k!r} is not a C macro name")
        if not isinstance(v, (str, int, float)):
            raise TypeError(f"defines[{k!r}] must be a str, int or float (a macro's text); got {type(v).__name__}")


def compile_file(relpath: str, arch: str, defines: dict | None = None, options: tuple[str, ...] = ()) -> Compiled:
    """Compile a package ``.cu`` (path relative to ``labkernels/kernels``) for ``arch``."""
    if not isinstance(relpath, (str, os.PathLike)):
        raise TypeError(f"relpath must be a path (str) to a .cu file; got {type(relpath).__name__}")
    _check_defines(defines)
    _check_options(options)
    return _compile_file_cached(str(relpath), arch, tuple(sorted((defines or {}).items())), tuple(options))


# --------------------------------------------------------------------------
# Loading on the GPU.
# --------------------------------------------------------------------------


def _cache_dir() -> Path:
    d = Path(os.environ.get("LABKERNELS_CACHE", Path.home() / ".cache" / "labkernels"))
    d.mkdir(parents=True, exist_ok=True)
    return d


_INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def source_closure(path: Path, seen: dict | None = None) -> dict:
    """``path`` and every local header it includes (``#include "..."`` found under the
    common or kernels folder), recursively: {path: text}. The cubin cache key hashes all
    of them, so editing lab.cuh or an included kernel rebuilds what uses it."""
    seen = {} if seen is None else seen
    path = Path(path)
    if path in seen:
        return seen
    seen[path] = text = path.read_text()
    for name in _INCLUDE.findall(text):
        for d in (path.parent, COMMON_DIR, KERNEL_DIR):
            if (d / name).is_file():
                source_closure((d / name).resolve(), seen)
                break
    return seen


@functools.lru_cache(maxsize=256)
def _module(relpath: str, arch: str, defines_items: tuple, options: tuple):
    import cupy

    src = [t for _, t in sorted((str(p), t) for p, t in source_closure(source_path(relpath).resolve()).items())]
    key = hashlib.sha256(repr((src, arch, defines_items, options, nvrtc_version())).encode()).hexdigest()[:24]
    path = _cache_dir() / f"{Path(relpath).stem}-{arch}-{key}.cubin"
    if not path.exists():
        c = compile_file(relpath, arch, dict(defines_items), options)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_bytes(c.cubin)
        os.replace(tmp, path)  # atomic: a concurrent reader never sees half a cubin
    return cupy.RawModule(path=str(path))


def load_module(relpath: str, defines: dict | None = None, *, specific: bool = False, options: tuple[str, ...] = ()):
    """A ``cupy.RawModule`` of a package ``.cu`` built for this GPU.

    ``specific`` builds for the arch-specific target (``sm_90a``, ``sm_120a``)
    that features such as ``wgmma`` or block-scaled ``mma.sync`` need.
    """
    from . import device

    g = device.require_gpu(f"loading {relpath}")
    return _module(str(relpath), device.arch(g.cc, specific=specific), tuple(sorted((defines or {}).items())), tuple(options))


def get_function(relpath: str, name: str, defines: dict | None = None, *, specific: bool = False):
    """A kernel of a package ``.cu``, built for this GPU (cached: launchers call this per launch)."""
    return _function(str(relpath), name, tuple(sorted((defines or {}).items())), specific)


@functools.lru_cache(maxsize=512)
def _function(relpath: str, name: str, defines_items: tuple, specific: bool):
    return load_module(relpath, dict(defines_items), specific=specific).get_function(name)


# --------------------------------------------------------------------------
# Looking at what was built.
# --------------------------------------------------------------------------


def ptx_lines(ptx: str, patterns) -> list[str]:
    """The PTX lines containing any of ``patterns`` (plain substrings), stripped."""
    pats = [patterns] if isinstance(patterns, str) else list(patterns)
    return [ln.strip() for ln in ptx.splitlines() if any(p in ln for p in pats)]


def ptx_summary(ptx: str, patterns, max_lines: int = 6) -> str:
    """Each pattern with how often it occurs in ``ptx`` and its first few lines."""
    out = []
    for p in [patterns] if isinstance(patterns, str) else patterns:
        lines = ptx_lines(ptx, p)
        out.append(f"{p!r}: {len(lines)} occurrence(s)")
        out.extend(f"    {ln}" for ln in lines[:max_lines])
    return "\n".join(out)


def sass(compiled: Compiled) -> str | None:
    """SASS of a compiled kernel through cuobjdump or nvdisasm, where either is installed."""
    if not compiled.cubin:
        return None
    tool = shutil.which("cuobjdump")
    if tool is None:
        try:
            import cuda.pathfinder as pf

            tool = pf.find_nvidia_binary_utility("cuobjdump")
        except Exception:
            tool = None
    if not tool:
        return None
    with tempfile.NamedTemporaryFile(suffix=".cubin") as f:
        f.write(compiled.cubin)
        f.flush()
        r = subprocess.run([tool, "--dump-sass", f.name], capture_output=True, text=True)
    return r.stdout if r.returncode == 0 else None


def show_source(relpath: str):
    """Display a kernel's CUDA C in a notebook (plain text elsewhere)."""
    p = source_path(relpath)
    try:
        from IPython.display import Code

        return Code(filename=str(p), language="cuda")
    except ImportError:
        return p.read_text()


def ptx_of(relpath: str, arch: str = "sm_90", defines: dict | None = None) -> str:
    return compile_file(relpath, arch, defines).ptx



def show_ptx(relpath: str, patterns, arch: str = "sm_90", defines: dict | None = None, max_lines: int = 6) -> str:
    """The PTX lines of a kernel that a lesson points at (e.g. ``mma.sync``, ``lop3``)."""
    return ptx_summary(compile_file(relpath, arch, defines).ptx, patterns, max_lines=max_lines)
