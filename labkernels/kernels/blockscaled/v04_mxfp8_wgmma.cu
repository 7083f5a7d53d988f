// v04_mxfp8_wgmma — MXFP8 GEMM on Hopper: fp8 wgmma per 32-k block, each block scaled on the CUDA cores.
//
// Computes  Y[m, n] = sum_b (sum_{k in b} x[m, k] * w[n, k]) * sx[m, b] * sw[n, b]
//   X [M, K], W [N, K] e4m3 codes; sx [M, K/32], sw [N, K/32] E8M0 codes; Y [M, N] fp16.
//
// Bound: on Hopper, not the Tensor Cores. This is block scaling *emulated*: one wgmma k-step
// (32 k) covers exactly one scale block, so each runs into fresh accumulators (two m64n64k32,
// the tile's column halves) and the warpgroup waits for it, then adds it to the fp32 sum with
// that block's scales — a multiply and a multiply-add per output per 32 k (the three-ceiling
// model's FP32 term for MXFP8 on sm_89/sm_90). Measured on the H100 at 8192^3
// (benchmarks/NOTES.md): the wait per block alone takes fp8/v04 from ~680 to ~435 TFLOP/s,
// adding each block's product into the sum to ~300, and the scales to ~140: the CUDA-core
// work, not the Tensor Cores, sets the time. Blackwell's block-scaled MMA (v05) applies the
// scales inside the Tensor Core, and this cost disappears.
// Changed from fp8/v04 (per-channel FP8): the promotion every 32 k instead of every 128,
// with per-block scales staged through shared memory beside the tiles.
#define MX 1
#include "fp8/v04_wgmma.cu"
