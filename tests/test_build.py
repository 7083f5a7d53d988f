"""Every CUDA source compiles, driver-free, for every architecture it claims, and
contains the instructions its lesson promises; every kernel file is registered."""
import re
from pathlib import Path

import pytest

from labkernels import build, numba_compat, registry

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CU_VARIANTS = [v for v in registry.variants() if v.source and v.source.endswith(".cu")]
NUMBA_VARIANTS = [v for v in registry.variants() if v.impl == "numba"]

#: .cu files that are not matmul variants, with the targets and instructions they promise.
MICROBENCHMARKS = {
    "ceilings/timing.cu": {"sm_75": ["%clock64", "ld.global.nc.v4"], "sm_90": ["%clock64"]},
    "ceilings/instr_rate.cu": {
        "sm_75": ["lop3.b32", "fma.rn.f32", "dp4a.s32.s32", "wmma.mma.sync.aligned.row.col.m16n16k16.s32.s8.s8.s32",
                  "wmma.mma.sync.aligned.row.col.m16n16k16.f32.f32"],
        "sm_80": ["mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32", "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32"],
        "sm_89": ["mma.sync.aligned.m16n8k32.row.col.f32.e4m3.e4m3.f32"],
        "sm_90": ["mma.sync.aligned.m16n8k32.row.col.f32.e4m3.e4m3.f32", "dp4a.s32.s32",
                  "wmma.mma.sync.aligned.row.col.m16n16k16.s32.s8.s8.s32"],
    },
    "ceilings/read_stream.cu": {"sm_75": ["ld.global.nc.L1::no_allocate.v4.u32"],
                                "sm_90": ["ld.global.nc.L1::no_allocate.L2::256B.v4.u32"]},
    "ceilings/wgmma_rate.cu": {
        "sm_90a": ["wgmma.mma_async.sync.aligned.m64n256k16.f32.f16.f16", "wgmma.mma_async.sync.aligned.m64n256k32.s32.s8.s8",
                   "wgmma.mma_async.sync.aligned.m64n256k32.f32.e4m3.e4m3", "wgmma.commit_group", "wgmma.wait_group",
                   "fence.proxy.async"],
    },
}


@pytest.mark.parametrize("v", CU_VARIANTS, ids=lambda v: v.id)
def test_cuda_variant_compiles_for_every_claimed_arch(v):
    assert v.archs, f"{v.id} claims no architectures"
    for arch in v.archs:
        c = build.compile_file(v.source, arch, v.defines)
        assert c.cubin, f"{v.id}: no cubin for {arch}"
        for p in v.promises:
            assert p in c.ptx, f"{v.id} promises {p!r} in its PTX for {arch}; not found"


#: .cu files a family uses beside its variants (a quantizer, a device function for Numba).
AUXILIARY = {src: spec for fam in ("int8", "blockscaled")
             for src, spec in getattr(__import__(f"labkernels.kernels.{fam}", fromlist=["x"]),
                                      "AUXILIARY_SOURCES", {}).items()}


@pytest.mark.parametrize("src", sorted(AUXILIARY))
def test_auxiliary_sources_compile(src):
    archs, promises, options = AUXILIARY[src]
    for arch in archs:
        c = build.compile_file(src, arch, options=options)
        for p in promises:
            assert p in c.ptx, f"{src} for {arch}: {p!r} missing"


@pytest.mark.parametrize("src", sorted(MICROBENCHMARKS))
def test_microbenchmarks_compile(src):
    for arch, promises in MICROBENCHMARKS[src].items():
        c = build.compile_file(src, arch)
        for p in promises:
            assert p in c.ptx, f"{src} for {arch}: {p!r} missing"


@pytest.mark.slow
@pytest.mark.parametrize("v", NUMBA_VARIANTS, ids=lambda v: v.id)
def test_numba_variant_ptx(v):
    assert v.numba_func and v.numba_sig, f"{v.id} must name its Python kernel and a signature"
    module = "labkernels.kernels." + v.source[:-3].replace("/", ".")
    ptx = numba_compat.compile_ptx(module, v.numba_func, v.numba_sig, cc=(7, 5))
    for p in v.promises:
        assert p in ptx, f"{v.id} promises {p!r} in its PTX"


def test_every_kernel_file_is_registered():
    kdir = build.KERNEL_DIR
    registered = {v.source for v in registry.variants() if v.source}
    # Kernel files: every .cu, and every vNN_*.py in a family folder.
    on_disk = {p.relative_to(kdir).as_posix() for p in kdir.rglob("*")
               if p.suffix == ".cu" or (p.suffix == ".py" and re.match(r"v\d\d_", p.name))}
    missing = sorted(on_disk - registered - set(MICROBENCHMARKS) - set(AUXILIARY))
    assert not missing, f"kernel files not in the registry (labkernels.registry): {missing}"
    for src in registered:
        assert (kdir / src).is_file(), f"registered source {src} does not exist"


def test_variant_names_follow_teaching_order():
    for v in registry.variants():
        name = v.name
        assert name[0] == "v" and name[1:3].isdigit() and name[3] == "_", f"{v.id}: names are vNN_slug"
        if v.source:
            assert Path(v.source).stem.startswith(name[:3]), f"{v.id}: source {v.source} should start with {name[:3]}"
    # v00 of each family is the library reference
    for fam in {v.family for v in registry.variants()}:
        v00 = [v for v in registry.variants(family=fam) if v.name.startswith("v00")]
        assert all(v.reference for v in v00)


def test_compile_error_points_at_the_users_line():
    src = "extern \"C\" __global__ void k(float* y) {\n  y[0] = 1.0f\n}\n"
    with pytest.raises(build.CompileError) as e:
        build.compile_source(src, "sm_80", name="student.cu", defines={"TILE": 16})
    assert "student.cu(2)" in e.value.log or "student.cu(3)" in e.value.log, e.value.log


def test_defines_are_applied():
    src = "extern \"C\" __global__ void k(int* y) { y[0] = TILE_K * 3; }\n"
    c = build.compile_source(src, "sm_80", defines={"TILE_K": 14})
    assert "42" in c.ptx


def test_unknown_arch_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown arch 'sm_91'"):
        build.compile_source("", "sm_91")


def test_missing_source_is_a_clear_error():
    with pytest.raises(FileNotFoundError, match="no CUDA source"):
        build.compile_file("nope/v99.cu", "sm_80")


def test_ptx_summary_counts_lines():
    c = build.compile_file("fp16/v03_gemv_warp.cu", "sm_90", {"ROWS": 4, "WARPS": 4, "UNROLL": 4})
    s = build.show_ptx("fp16/v03_gemv_warp.cu", ["ld.global.nc.v4"], defines={"ROWS": 4, "WARPS": 4, "UNROLL": 4})
    n = c.ptx.count("ld.global.nc.v4")
    assert n > 0 and f"{n} occurrence(s)" in s
