// v02_gemv_warp — W4A16 GEMV for M <= 16: one warp per output row, coalesced 4-byte loads.
//
// Computes  Y[m, n] = sum_k X[m, k] * (q[n, k] - z[n, g]) * s[n, g],  g = k / GROUP
//   X       [M, K]     fp16, row-major
//   QW      [N, K/2]   uint8: two int4 per byte, element 2j in the LOW nibble of byte j,
//                      so 32-bit word i of a row holds k = 8i..8i+7, k = 8i+t in bits 4t..4t+3
//   S       [N, G]     fp16 scales, G = K / GROUP (G = 1: per-channel)
//   Z       [N, G]     uint8 zero points, or nullptr: symmetric, z = 8
//   Y       [M, N]     fp16
// fp32 accumulation. Grid: one warp per n, WARPS warps per block.
//
// Bound: memory — the packed weights (N*K/2 bytes) and their scales, read once.
// Changed from v01 (Numba, one thread per output): the 32 lanes of a warp read
// 32 consecutive words of one row (128 contiguous bytes per load: coalesced),
// every M row of X is applied to each word, and the lanes' partial sums meet
// through warp shuffles. Each nibble still becomes a float through an integer
// subtract and an I2F conversion: v04 removes that.
//
// Expects: #define ROWS (= M, 1..16: one kernel is built per M, so every loop over
// the rows of X has a known trip count), WARPS. Needs K % 8 == 0 (word-aligned rows).
#include "lab.cuh"

extern "C" __global__ void __launch_bounds__(WARPS * 32)
w4a16_gemv_warp(const __half* __restrict__ X, const unsigned char* __restrict__ QW,
                const __half* __restrict__ S, const unsigned char* __restrict__ Z,
                __half* __restrict__ Y, int M, int N, int K, int G)
{
    const int lane = threadIdx.x & 31;
    const int n = blockIdx.x * WARPS + (threadIdx.x >> 5);
    if (n >= N) return;  // the whole warp leaves together

    const unsigned* qw = reinterpret_cast<const unsigned*>(QW + (size_t)n * (K / 2));
    const int group = K / G;
    float acc[ROWS];
#pragma unroll
    for (int m = 0; m < ROWS; ++m) acc[m] = 0.0f;

    for (int i = lane; i < K / 8; i += 32) {
        const unsigned w = qw[i];
        const int g = (8 * i) / group;  // a word never straddles a group (GROUP >= 32)
        const float s = __half2float(S[(size_t)n * G + g]);
        const float z = Z ? (float)Z[(size_t)n * G + g] : 8.0f;
#pragma unroll
        for (int t = 0; t < 8; ++t) {
            const float wt = ((float)((w >> (4 * t)) & 0xFu) - z) * s;
#pragma unroll
            for (int m = 0; m < ROWS; ++m)
                acc[m] += __half2float(X[(size_t)m * K + 8 * i + t]) * wt;
        }
    }
#pragma unroll
    for (int m = 0; m < ROWS; ++m) {
        {
            const float v = warp_sum(acc[m]);
            if (lane == 0) Y[(size_t)m * N + n] = __float2half(v);
        }
    }
}
