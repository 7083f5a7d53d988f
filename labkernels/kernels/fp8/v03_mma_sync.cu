// v03_mma_sync — FP8 (e4m3) GEMM with mma.sync m16n8k32 (sm_89+: Ada, Hopper, Blackwell).
//
// Computes  Y[m, n] = (sum_k X[m, k] * W[n, k]) * sx[m] * sw[n]   (as v04)
// Block and pipeline: int8/v06_mma_gemm.cu's (BM x BN tiles, ldmatrix-fed fragments,
// STAGES-deep cp.async, grouped block order), compiled from that very file with
// E4M3 = 1: e4m3 operands, fp32 accumulators, fp32 scales (one source for both).
//
// Bound: MMA at the fp8 mma.sync rate. That rate is the lesson: on Ada (sm_89) and
// Blackwell workstation parts (sm_120) this is a native fp8 Tensor Core instruction;
// on Hopper ptxas *emulates* it — each e4m3 MMA becomes unpacks to f16 and two fp16
// MMAs — so the lab measures its ceiling far below fp16's (benchmarks/NOTES.md) and
// only wgmma (v04) reaches Hopper's fp8 rate.
// Changed from v02 (the GEMV): Tensor Cores instead of CUDA-core FMAs; an fp8 byte
// and an int8 byte sit in fragments the same way, so the int8 kernel's loads carry over.
//
// Expects: #define BM, BN, WARPS_M, WARPS_N, STAGES. Needs K % 16 == 0.
// Dynamic shared memory: STAGES * (BM + BN) * (128 + 16) bytes.
#define E4M3 1
#include "int8/v06_mma_gemm.cu"
