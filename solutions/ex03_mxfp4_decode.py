"""# ex03 — Decode MXFP4 blocks (Numba)

[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/labkernels/labkernels/blob/v0.1.0/solutions/ex03_mxfp4_decode.ipynb)

MXFP4 (OCP Microscaling v1.0) stores each weight as a 4-bit E2M1 float and
one shared 8-bit power-of-two scale (E8M0) per block of 32 weights along K:
4.25 bits per weight. Blackwell's block-scaled MMAs read it natively; every
other GPU decodes it first. This exercise writes that decode.

**Element: E2M1** (`labkernels.formats.fp4`). A code `c` (0..15) is
`S EE M`: sign `c >> 3`, exponent field `e = (c >> 1) & 3`, mantissa bit
`m = c & 1`, bias 1. `e == 0` is subnormal, `0.5 * m`; otherwise
`(1 + 0.5 * m) * 2**(e - 1)`. So codes 0..7 are

    0, 0.5, 1, 1.5, 2, 3, 4, 6

and `8 | c` is the negative of `c` (code 8 is -0.0). No Inf, no NaN.

**Scale: E8M0** (`labkernels.formats.fp8`). A byte `s` is the power of two
`2**(s - 127)` (bias 127, no sign, no mantissa): 0 is `2**-127`, 127 is 1,
254 is `2**127`. **255 (0xFF) is NaN**, and the MX spec makes every element
of a NaN-scaled block NaN, whatever its own code.

**Layout** (`labkernels.formats.mx`): `packed` is uint8 `[N, K/2]`; element
`k = 2j` of row `n` is the LOW nibble of `packed[n, j]`, element `2j + 1` the
HIGH nibble (as in ex01). `scales` is uint8 `[N, K/32]`: the scale of
element `(n, k)` is `scales[n, k // 32]`, so a block is 16 consecutive bytes.

**Spec.** Write `mxfp4_decode_kernel(packed, scales, out)` computing, into
fp32 `out[N, K]`,

    out[n, k] = e2m1(code[n, k]) * 2**(scales[n, k // 32] - 127)     (NaN if the scale is 0xFF)

exactly `labkernels.formats.dequantize_mx` — **bit for bit**: -0.0 stays
-0.0, products beyond fp32's range are ±inf (as fp32 arithmetic makes them),
and a NaN-scaled block must be written as NaN (the output starts as a NaN the
grader can tell from yours, so skipping those blocks fails). Why fp32: every
product of an E2M1 value and a scale in `2**-127 .. 2**127` is a float32 (or
beyond its range), so fp32 holds the decode exactly; fp16 would not.

One thread per packed byte: thread `(j, n) = cuda.grid(2)` writes
`out[n, 2j]` and `out[n, 2j + 1]`. Compute in fp32: `math.ldexp(float32(1.0),
e)` is `2**e` as a float32, and `float32(a) * float32(b)` stays fp32 (a
Python float literal would make it fp64, slow on most GPUs). The grader
launches it like `launch` below, blocks of 32 threads along the bytes of a
row and 4 rows, so K/2 and N need not fill the last block: guard. Checked shapes have K a multiple of 32
but not of 64 (K/2 not a multiple of 32 bytes) and N not a multiple of 4,
with NaN-scaled, all-zero and extreme-scale blocks.

Without a GPU the kernel runs in the Numba CUDA simulator (slowly: the checks
use small shapes). The last cell checks it.
"""

# %%
# Setup: run this cell first. On Colab it installs this release of labkernels and
# checks that a GPU runtime is attached; anywhere else it only prints the device.
# pip upgrades what Colab ships older than the lab's pins (numba-cuda, CuPy) and
# keeps the rest. The grader loads this file under another name: then the cell
# does nothing.
import subprocess
import sys

LABKERNELS_PIP = "labkernels[cuda12] @ git+https://github.com/labkernels/labkernels@v0.1.0"
IN_COLAB = "google.colab" in sys.modules

if __name__ == "__main__":
    if IN_COLAB:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", LABKERNELS_PIP], check=True)
    from labkernels import notebook

    notebook.report_device(IN_COLAB, family="blockscaled",
                           without_gpu="the kernel runs in the Numba CUDA simulator (slowly: the checks use small shapes)")


# %%
import math

from numba import float32

from labkernels.numba_compat import cuda

nb = cuda()  # numba.cuda; the CUDA simulator when there is no GPU
BLOCK = 32  # elements per E8M0 scale, along K
SCALE_NAN = 0xFF  # the E8M0 NaN
SCALE_BIAS = 127


# %%
@nb.jit(device=True)
def e2m1(c):
    """The value of one E2M1 code (0..15) as a float32 (exactly)."""
    # BEGIN SOLUTION hint="sign c >> 3, exponent (c >> 1) & 3, mantissa c & 1; see the table" stub="return float32(0.0)"
    e = (c >> 1) & 3
    m = c & 1
    twice = m if e == 0 else (2 + m) << (e - 1)  # 2·|value|: an integer, 0..12
    mag = float32(twice) * float32(0.5)
    return -mag if c & 8 else mag  # -0.0 for code 8
    # END SOLUTION


# %%
@nb.jit
def mxfp4_decode_kernel(packed, scales, out):
    j, n = nb.grid(2)  # j: byte along the row, n: row
    # BEGIN SOLUTION hint="guard j, n; s = scales[n, j // 16]: NaN if 0xFF, else 2**(s - 127); low nibble -> 2j"
    if n < packed.shape[0] and j < packed.shape[1]:
        b = packed[n, j]
        s = scales[n, (2 * j) // BLOCK]
        if s == SCALE_NAN:
            out[n, 2 * j] = math.nan
            out[n, 2 * j + 1] = math.nan
        else:
            scale = math.ldexp(float32(1.0), int(s) - SCALE_BIAS)  # 2**(s - 127), exact in fp32
            out[n, 2 * j] = e2m1(b & 0xF) * scale  # exact in fp32, or ±inf beyond its range
            out[n, 2 * j + 1] = e2m1(b >> 4) * scale
    # END SOLUTION


# %%
BLOCK_DIM = (32, 4)  # threads along the bytes of a row, along rows


def launch(packed, scales, out):
    """One thread per packed byte: the grader launches your kernel exactly like this."""
    grid = ((packed.shape[1] + BLOCK_DIM[0] - 1) // BLOCK_DIM[0], (packed.shape[0] + BLOCK_DIM[1] - 1) // BLOCK_DIM[1])
    mxfp4_decode_kernel[grid, BLOCK_DIM](packed, scales, out)
    return out


# %%
if __name__ == "__main__":
    from labkernels import grading

    grading.check("ex03", mxfp4_decode_kernel)
