// v03_gemv_warp — fp16 GEMV for M <= 16 (decode): one warp per output row.
//
// Computes   Y[m, n] = sum_k X[m, k] * W[n, k]   for every m < M <= MAX_M
//   X  [M, K] fp16 row-major;  W [N, K] fp16 row-major;  Y [M, N] fp16
// Grid: one warp per n, WARPS warps per block.
//
// Bound: memory. W (N*K*2 bytes) is read exactly once and dominates the bytes;
// at M = 1 and N = K = 8192 that is 134 MB, ~45 us at 3 TB/s.
// Changed from v02: the warp walks *along* a row of W, so its 32 lanes read
// 32 consecutive 16-byte chunks (512 contiguous bytes: fully coalesced), and
// each lane loads 8 halves at once (one 16-byte load instead of eight). All M
// rows of X are applied to each loaded chunk, so W is read once however large
// M is (up to MAX_M); partial sums meet through warp shuffles, not shared memory.
//
// Expects: #define MAX_M (largest M, <= 16), #define WARPS (warps per block).
#include <cuda_fp16.h>

#ifndef MAX_M
#define MAX_M 16
#endif
#ifndef WARPS
#define WARPS 4
#endif

// Sum a value over the 32 lanes of a warp; every lane gets the total.
__device__ __forceinline__ float warp_sum(float v)
{
#pragma unroll
    for (int off = 16; off > 0; off >>= 1)
        v += __shfl_xor_sync(0xffffffffu, v, off);
    return v;
}

extern "C" __global__ void __launch_bounds__(WARPS * 32)
fp16_gemv_warp(const __half* __restrict__ X, const __half* __restrict__ W,
               __half* __restrict__ Y, int M, int N, int K)
{
    const int lane = threadIdx.x & 31;
    const int n = blockIdx.x * WARPS + (threadIdx.x >> 5);
    if (n >= N) return;  // whole warps leave together: the shuffles below stay full

    const __half* w = W + (size_t)n * K;
    float acc[MAX_M];
#pragma unroll
    for (int m = 0; m < MAX_M; ++m) acc[m] = 0.0f;

    // Rows start on a 16-byte boundary only when K is a multiple of 8: then use
    // 16-byte vector loads; the remainder (and any other K) goes element by element.
    const int k_vec = (K % 8 == 0) ? K : 0;
    for (int k = lane * 8; k < k_vec; k += 32 * 8) {
        const uint4 wv = *reinterpret_cast<const uint4*>(w + k);
        const __half2* wh = reinterpret_cast<const __half2*>(&wv);
#pragma unroll
        for (int m = 0; m < MAX_M; ++m) {
            if (m < M) {  // M is uniform across the warp: no divergence
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
    for (int k = k_vec + lane; k < K; k += 32) {
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
}
