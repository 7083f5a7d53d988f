// v03_gemv_warp — fp16 GEMV for M <= 16 (decode): one warp per output row.
//
// Computes   Y[m, n] = sum_k X[m, k] * W[n, k]   for m < M (fp32 accumulation)
//   X  [M, K] fp16 row-major;  W [N, K] fp16 row-major;  Y [M, N] fp16
// Grid: one warp per n, WARPS warps per block.
//
// Bound: memory. W (N*K*2 bytes) is read exactly once and dominates the bytes;
// at M = 1 and N = K = 8192 that is 134 MB, ~45 us at 3 TB/s.
// Changed from v02: the warp walks *along* a row of W, so its 32 lanes read 32
// consecutive 16-byte chunks (512 contiguous bytes: fully coalesced); each lane
// issues UNROLL such loads before using any, so enough bytes are in flight to
// cover DRAM latency; every row of X is applied to each loaded chunk, so W is
// read once however large M is; partial sums meet through warp shuffles.
// One kernel is compiled per M (ROWS), so the loops over rows have known trip
// counts and the code stays small (a kernel unrolled for 16 rows but run for 1
// would spend its time missing in the instruction cache).
//
// Expects: #define ROWS (= M, 1..16), WARPS, UNROLL. K % 8 == 0 takes the vector path.
#include "lab.cuh"

extern "C" __global__ void __launch_bounds__(WARPS * 32)
fp16_gemv_warp(const __half* __restrict__ X, const __half* __restrict__ W,
               __half* __restrict__ Y, int M, int N, int K)
{
    const int lane = threadIdx.x & 31;
    const int n = blockIdx.x * WARPS + (threadIdx.x >> 5);
    if (n >= N) return;  // whole warps leave together: the shuffles below stay full

    const __half* w = W + (size_t)n * K;
    float acc[ROWS];
#pragma unroll
    for (int m = 0; m < ROWS; ++m) acc[m] = 0.0f;

    // Rows start on a 16-byte boundary only when K is a multiple of 8: then use
    // 16-byte vector loads; any other K goes element by element.
    const int chunks = (K % 8 == 0) ? K / 8 : 0;
    const uint4* wv = reinterpret_cast<const uint4*>(w);
    for (int c0 = lane; c0 < chunks; c0 += 32 * UNROLL) {
        uint4 v[UNROLL];
#pragma unroll
        for (int u = 0; u < UNROLL; ++u)
            if (c0 + 32 * u < chunks) v[u] = wv[c0 + 32 * u];
#pragma unroll
        for (int u = 0; u < UNROLL; ++u) {
            const int c = c0 + 32 * u;
            if (c >= chunks) break;
            const __half2* wh = reinterpret_cast<const __half2*>(&v[u]);
#pragma unroll
            for (int m = 0; m < ROWS; ++m) {
                const uint4 xv = *reinterpret_cast<const uint4*>(X + (size_t)m * K + 8 * c);
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
    for (int k = 8 * chunks + lane; k < K; k += 32) {
        const float b = __half2float(w[k]);
#pragma unroll
        for (int m = 0; m < ROWS; ++m) acc[m] += __half2float(X[(size_t)m * K + k]) * b;
    }

#pragma unroll
    for (int m = 0; m < ROWS; ++m) {
        const float s = warp_sum(acc[m]);
        if (lane == 0) Y[(size_t)m * N + n] = __float2half(s);
    }
}
