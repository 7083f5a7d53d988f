// ex02_fp16_gemv — fp16 GEMV for M <= 4 (decode): one warp per row of W.
//
// Computes   Y[m, n] = sum_k X[m, k] * W[n, k]   for every m < M <= MAX_M
//   X [M, K] fp16 row-major;  W [N, K] fp16 row-major;  Y [M, N] fp16 row-major
//   M, N, K are any sizes: N need not be a multiple of WARPS, K need not be a
//   multiple of 8 (then rows of W do not start on 16-byte boundaries).
// Launch (the grader's: labkernels/grading/launchers.py, gemv_warp):
//   grid ceil(N / WARPS), block 32 * WARPS, with MAX_M = 4 and WARPS = 4.
//   The arguments are those of labkernels/kernels/fp16/v03_gemv_warp.cu.
//
// Bound: memory. W (N*K*2 bytes) is read once and dominates the bytes moved.
//
// What to write:
//  1. warp_sum: the sum of v over the 32 lanes of a warp, every lane getting
//     it, with __shfl_xor_sync (no shared memory).
//  2. the kernel body: the 32 lanes of the warp for row n walk along W[n, :]
//     together (lane l takes k = l, l + 32, ... — or 8 halves at a time with
//     one 16-byte load when K % 8 == 0, which coalesces), accumulating in fp32
//     one partial sum per row m < M of X; each sum goes through warp_sum, and
//     lane 0 stores Y[m, n] as fp16 (__float2half).
#include <cuda_fp16.h>

#ifndef MAX_M
#define MAX_M 4
#endif
#ifndef WARPS
#define WARPS 4
#endif

// Sum a value over the 32 lanes of a warp; every lane gets the total.
__device__ __forceinline__ float warp_sum(float v)
{
    // FILL ME IN (roughly 4 lines): v += __shfl_xor_sync(0xffffffffu, v, off) for off = 16, 8, 4, 2, 1
    return v;
}

extern "C" __global__ void __launch_bounds__(WARPS * 32)
fp16_gemv_warp(const __half* __restrict__ X, const __half* __restrict__ W,
               __half* __restrict__ Y, int M, int N, int K)
{
    const int lane = threadIdx.x & 31;
    const int n = blockIdx.x * WARPS + (threadIdx.x >> 5);
    if (n >= N) return;  // whole warps leave together: the shuffles below stay full

    // FILL ME IN (roughly 35 lines): fp32 acc[m] over k = lane, lane + 32, ...; warp_sum(acc[m]); lane 0 stores Y[m * N + n]
}
