"""# ex01 — Unpack int4 and dequantize (Numba)

[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/labkernels/labkernels/blob/v0.1.0/exercises/ex01_unpack_int4.ipynb)

Weight-only int4 quantization (A16W4) stores two weights per byte and one fp16
scale per group of 128 weights along K. Before an fp16 MMA can use them, every
weight is unpacked and scaled back: this exercise writes that step.

**Layout** (`labkernels.formats.intq`): `packed` is uint8 `[N, K/2]`; element
`k = 2j` of row `n` is the LOW nibble of `packed[n, j]`, element `2j + 1` the
HIGH nibble. The nibble `q` (0..15) stands for `q - 8`. `scales` is fp16
`[N, K/128]`.

**Spec.** Write `unpack_int4_kernel(packed, scales, out)` computing, into fp16
`out[N, K]`,

    out[n, k] = (q[n, k] - 8) * scales[n, k // 128]

with one thread per packed byte: thread `(j, n) = cuda.grid(2)` writes
`out[n, 2j]` and `out[n, 2j + 1]`. The grader launches it like `launch` below
(blocks of 128 threads along `j`), so threads can fall past the end of a row
when K/2 is not a multiple of 128: guard them. Compute in float32; the store
rounds to fp16 once.

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

    notebook.report_device(IN_COLAB, family="dequant",
                           without_gpu="the kernel runs in the Numba CUDA simulator (slowly: the checks use small shapes)")


# %%
from numba import float32

from labkernels.numba_compat import cuda

nb = cuda()  # numba.cuda; the CUDA simulator when there is no GPU
GROUP = 128  # weights per scale, along K


# %%
@nb.jit
def unpack_int4_kernel(packed, scales, out):
    j, n = nb.grid(2)  # j: byte along the row, n: row
    # FILL ME IN (roughly 5 lines): guard j, n; b = packed[n, j]: low nibble -> 2j, high -> 2j + 1; (q - 8) * scale
    pass


# %%
BLOCK = (128, 1)  # threads along the bytes of a row, along rows


def launch(packed, scales, out):
    """One thread per packed byte: the grader launches your kernel exactly like this."""
    grid = ((packed.shape[1] + BLOCK[0] - 1) // BLOCK[0], packed.shape[0])
    unpack_int4_kernel[grid, BLOCK](packed, scales, out)
    return out


# %%
if __name__ == "__main__":
    from labkernels import grading

    grading.check("ex01", unpack_int4_kernel)
