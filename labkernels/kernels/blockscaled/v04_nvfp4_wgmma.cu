// v04_nvfp4_wgmma — NVFP4 GEMM on Hopper: elements times block scales widened to fp16 (exact),
// then fp16 wgmma with fp32 accumulation (sm_90a only).
//
// Computes  Y[m, n] = (sum_k Xh[m, k] * Wh[n, k]) * x_global * w_global
//   Xh [M, K], Wh [N, K] fp16: e2m1 element * UE4M3 block scale, made by nvfp4_to_fp16.cu (exact);
//   XG, WG: the fp32 per-tensor scales, one value each; Y [M, N] fp16.
// The GEMM is fp16/v05_wgmma_tma.cu with TENSOR_SCALE = 1: 128 x 256 tiles loaded by TMA, one
// wgmma m64n256k16 per 16 values of k, 128 fp32 accumulators per thread.
//
// Bound: at large M, the fp16 Tensor Core rate (half Hopper's fp8 rate: the roofline's NVFP4 entry
// for sm_90, "e2m1*e4m3 -> fp16 (exact), fp16 MMA"). The widening is a separate memory-bound pass,
// 0.5625 bytes read and 2 written per element of X and W, that this kernel then reads back: it
// costs more than the MMAs below M of a few hundred (the GEMV, v02, takes M <= 16).
// Changed from MXFP4's v04 (e2m1 widened to e4m3, the MXFP8 GEMM): that GEMM waits for each
// 32-k wgmma step and scales it on the CUDA cores, because a block's E8M0 scales are applied
// after its products are summed. NVFP4's blocks are 16 k, half an fp8 wgmma step, so the same
// plan would have to wait twice as often. But a UE4M3 scale times an e2m1 element is exact in
// fp16, so the scales go into the operands before the MMA, and no block structure is left: what
// remains is a plain GEMM with one scale per tensor, applied once in the epilogue: the lab's fp16
// GEMM (fp16/v05_wgmma_tma.cu, whose header explains the pipeline). fp16 products are
// exact in fp32 and Hopper's fp16 MMA accumulates in full fp32, so, unlike the fp8 wgmma of
// MXFP8/MXFP4, the k loop needs no promotion.
//
// Expects: #define STAGES (2..4). Needs K % 8 == 0 (NVFP4 has K % 16 == 0).
#define TENSOR_SCALE 1
#include "fp16/v05_wgmma_tma.cu"
