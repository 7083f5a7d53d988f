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
    // BEGIN SOLUTION hint="v += __shfl_xor_sync(0xffffffffu, v, off) for off = 16, 8, 4, 2, 1" stub="return v;"
#pragma unroll
    for (int off = 16; off > 0; off >>= 1)
        v += __shfl_xor_sync(0xffffffffu, v, off);
    return v;
    // END SOLUTION
}

extern "C" __global__ void __launch_bounds__(WARPS * 32)
fp16_gemv_warp(const __half* __restrict__ X, const __half* __restrict__ W,
               __half* __restrict__ Y, int M, int N, int K)
{
    const int lane = threadIdx.x & 31;
    const int n = blockIdx.x * WARPS + (threadIdx.x >> 5);
    if (n >= N) return;  // whole warps leave together: the shuffles below stay full

    // BEGIN SOLUTION hint="fp32 acc[m] over k = lane, lane + 32, ...; warp_sum(acc[m]); lane 0 stores Y[m * N + n]"
    const __half* w = W + (size_t)n * K;
    float acc[MAX_M];
#pragma unroll
    for (int m = 0; m < MAX_M; ++m) acc[m] = 0.0f;

    // 16-byte vector loads only when every row starts on a 16-byte boundary.
    const int k_vec = (K % 8 == 0) ? K : 0;
    for (int k = lane * 8; k < k_vec; k += 32 * 8) {
        const uint4 wv = *reinterpret_cast<const uint4*>(w + k);
        const __half2* wh = reinterpret_cast<const __half2*>(&wv);
#pragma unroll
        for (int m = 0; m < MAX_M; ++m) {
            if (m < M) {
                const uint4 xv = *reinterpret_cast<const uint4*>(X + (size_t)m * K + k);
                const __half2* xh = reinterpret_cast<const __half2*>(&xv);
#pragma unroll
                for (int j = 0; j < 4; ++j) {
                    const float2 a = __half22float2(xh[j]);
                    const float2 b = __half22float2(wh[j]);
                    acc[m] += a.x * b.x + a.y * b.y;
                }
            }
        }
    }
    for (int k = k_vec + lane; k < K; k += 32) {  // the remainder, or every k when K % 8 != 0
        const float b = __half2float(w[k]);
#pragma unroll
        for (int m = 0; m < MAX_M; ++m)
            if (m < M) acc[m] += __half2float(X[(size_t)m * K + k]) * b;
    }

#pragma unroll
    for (int m = 0; m < MAX_M; ++m) {
        if (m < M) {
            const float s = warp_sum(acc[m]);
            if (lane == 0) Y[(size_t)m * N + n] = __float2half(s);
        }
    }
    // END SOLUTION
}
