"""# ex04 — Read the roofline: where does A8W8 overtake W4A16?

[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/labkernels/labkernels/blob/v0.1.0/solutions/ex04_predict_crossover.ipynb)

A layer `Y[M, N] = X[M, K]·W[N, K]ᵀ` at decode time (M = a few tokens) is
memory-bound: the weights dominate the bytes, so the format with the fewest
bits per weight wins — W4A16 (int4 weights, fp16 activations). As M grows
the MMA work grows with it while the weight bytes do not, and at some M the
kernel turns compute-bound. From there the format with the faster MMA wins —
A8W8 (int8 weights and activations) runs on the int8 MMA, twice (or more)
the fp16 rate that W4A16's dequantized weights use. This exercise predicts
both turning points for a given GPU, with pencil and paper, and checks them
against the lab's model (`labkernels.roofline`).

**The model** (the two-ceiling roofline, `alu=False` in `labkernels.roofline`):

    t(M) = max( bytes(M) / bw ,  2·M·N·K / peak )

* `bytes(M)`: every tensor moved once — X (M·K activations), W (N·K
  weights, with their scales) and Y (M·N outputs, fp16).
* W4A16: X fp16 (2 bytes), W int4 (0.5 byte) plus one fp16 scale per 128
  weights along K (no zero points), Y fp16; its MMA runs in **fp16** at
  `fp16_peak`.
* A8W8: X int8 (1 byte), W int8 (1 byte), Y fp16; its per-row and
  per-channel scales are negligible and not counted; its MMA runs in
  **int8** at `int8_peak`.
* No dequantization cost, perfect overlap of memory and MMA.

**Spec.** Write `predict_crossover(bw, fp16_peak, int8_peak, N, K)`
(bandwidth in bytes/s, peaks in FLOP/s or OP/s) returning three numbers:

1. `ridge_w4a16`: the M at which W4A16's memory time equals its MMA time
   (a real number, not rounded);
2. `ridge_a8w8`: the same for A8W8;
3. `crossover`: the M above which A8W8's time is below W4A16's
   (`math.inf` if it never is).

The notebook's rule of thumb `M* ≈ R·w/2` (R = peak/bw, w = bytes per
weight) is a lead, not the answer: X and Y grow with M too.

The grader compares with `labkernels.roofline.ridge_m` and the first of
`labkernels.roofline.crossovers(..., alu=False)`, within 0.5% (the crossover
within 1 as well: the model reports the first whole M at which A8W8 is
faster), on several GPUs and layer shapes, some hidden, with each GPU's
datasheet ceilings scaled by random factors between 0.8 and 1.25 — derive,
do not tabulate. Your code may not import `labkernels.roofline` while it is
graded. The last cell checks it.
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

    notebook.report_device(IN_COLAB, family=None,
                           without_gpu="this exercise is plain Python on the CPU")


# %%
import math

GROUP = 128  # W4A16: weights per fp16 scale, along K


# %%
def w4a16_bytes(M, N, K):
    """Bytes W4A16 moves at M: X fp16, W int4 with an fp16 scale per GROUP weights, Y fp16."""
    # BEGIN SOLUTION hint="X: 2 bytes each; W: 4 bits + 16 bits per GROUP; Y: 2 bytes each"
    return 2 * M * K + N * K * (4 + 16 / GROUP) / 8 + 2 * M * N
    # END SOLUTION


def a8w8_bytes(M, N, K):
    """Bytes A8W8 moves at M: X int8, W int8, Y fp16."""
    # BEGIN SOLUTION hint="X and W: 1 byte each; Y: 2 bytes each"
    return M * K + N * K + 2 * M * N
    # END SOLUTION


def mma_flops(M, N, K):
    return 2 * M * N * K


# %%
def ridge(bytes_fn, bw, peak, N, K):
    """The M where bytes_fn(M, N, K) / bw == mma_flops(M, N, K) / peak (math.inf if never).

    bytes(M) is affine in M — a·M + b — and so is the MMA time, c·M: solve a·M + b = c·M·bw."""
    # BEGIN SOLUTION hint="b = bytes_fn(0, N, K), a = bytes_fn(1, N, K) - b; c = 2·N·K / peak; M = b / (c·bw - a)"
    b = bytes_fn(0, N, K)
    a = bytes_fn(1, N, K) - b
    c = mma_flops(1, N, K) / peak
    d = c * bw - a
    return b / d if d > 0 else math.inf
    # END SOLUTION


def predict_crossover(bw, fp16_peak, int8_peak, N, K):
    """(ridge M of W4A16, ridge M of A8W8, M above which A8W8 is faster) on the two-ceiling roofline."""
    # BEGIN SOLUTION hint="two ridges with ridge(); then where max(mem, mma) of A8W8 drops below W4A16's"
    ridge_w4 = ridge(w4a16_bytes, bw, fp16_peak, N, K)
    ridge_a8 = ridge(a8w8_bytes, bw, int8_peak, N, K)

    def t_w4(M):
        return max(w4a16_bytes(M, N, K) / bw, mma_flops(M, N, K) / fp16_peak)

    def t_a8(M):
        return max(a8w8_bytes(M, N, K) / bw, mma_flops(M, N, K) / int8_peak)

    # Each time is the larger of two lines in M, so the two can only cross where one line of
    # A8W8 meets one line of W4A16: try the four meeting points, in order, and keep the first
    # after which A8W8 is faster.
    lines_w4 = [(w4a16_bytes(1, N, K) - w4a16_bytes(0, N, K)) / bw, w4a16_bytes(0, N, K) / bw], \
               [mma_flops(1, N, K) / fp16_peak, 0.0]
    lines_a8 = [(a8w8_bytes(1, N, K) - a8w8_bytes(0, N, K)) / bw, a8w8_bytes(0, N, K) / bw], \
               [mma_flops(1, N, K) / int8_peak, 0.0]
    meets = sorted((b2 - b1) / (s1 - s2) for s1, b1 in lines_w4 for s2, b2 in lines_a8
                   if s1 != s2 and (b2 - b1) / (s1 - s2) > 0)
    crossover = next((m for m in meets if t_a8(m * (1 + 1e-9)) < t_w4(m * (1 + 1e-9))), math.inf)
    return ridge_w4, ridge_a8, crossover
    # END SOLUTION


# %%
if __name__ == "__main__":
    from labkernels import grading
    from labkernels.specs import spec

    h100 = spec("h100-sxm")  # datasheet numbers: TB/s and TFLOP/s
    bw, fp16, int8 = h100.bw_tbps * 1e12, h100.peaks["fp16"] * 1e12, h100.peaks["int8"] * 1e12
    try:
        r_w4, r_a8, m_x = predict_crossover(bw, fp16, int8, 8192, 8192)
        print(f"H100 SXM, N = K = 8192: W4A16 turns compute-bound at M = {r_w4:.1f}, A8W8 at M = {r_a8:.1f}; "
              f"A8W8 is faster above M = {m_x:.1f}")
    except NotImplementedError:
        print("predict_crossover is not written yet")
    grading.check("ex04", predict_crossover)
