// v03_gemv_vector — W4A16 GEMV for M <= 16: 16-byte loads, several in flight.
//
// Same arguments and layout as v02 (see its header):
//   Y[m, n] = sum_k X[m, k] * (q[n, k] - z[n, g]) * s[n, g]
// Grid: one warp per n, WARPS warps per block.
//
// Bound: memory. At M = 1 a row of 8192 weights is only 4 KB, and one 4-byte
// load per lane per step leaves too few bytes in flight to cover DRAM latency
// (Little's law: bandwidth x latency ~ 3 TB/s x ~1 us ~ 3 MB chip-wide).
// Changed from v02: each lane loads 16 bytes (32 weights, one uint4) at a time
// and issues UNROLL such loads before it uses any of them, so a warp keeps
// UNROLL x 512 bytes in flight. The conversion is still the slow integer path.
//
// Expects: #define ROWS (= M, 1..16; one kernel per M), WARPS, UNROLL. Needs K % 32 == 0 (16-byte rows).
#include "lab.cuh"

extern "C" __global__ void __launch_bounds__(WARPS * 32)
w4a16_gemv_vector(const __half* __restrict__ X, const unsigned char* __restrict__ QW,
                  const __half* __restrict__ S, const unsigned char* __restrict__ Z,
                  __half* __restrict__ Y, int M, int N, int K, int G)
{
    const int lane = threadIdx.x & 31;
    const int n = blockIdx.x * WARPS + (threadIdx.x >> 5);
    if (n >= N) return;

    const uint4* qw = reinterpret_cast<const uint4*>(QW + (size_t)n * (K / 2));
    const int chunks = K / 32;  // 16-byte chunks per row
    const int group = K / G;
    float acc[ROWS];
#pragma unroll
    for (int m = 0; m < ROWS; ++m) acc[m] = 0.0f;

    for (int c0 = lane; c0 < chunks; c0 += 32 * UNROLL) {
        uint4 w[UNROLL];
#pragma unroll
        for (int u = 0; u < UNROLL; ++u)  // all loads first: they are in flight together
            if (c0 + 32 * u < chunks) w[u] = qw[c0 + 32 * u];
#pragma unroll
        for (int u = 0; u < UNROLL; ++u) {
            const int c = c0 + 32 * u;
            if (c >= chunks) break;
            const int g = (32 * c) / group;
            const float s = __half2float(S[(size_t)n * G + g]);
            const float z = Z ? (float)Z[(size_t)n * G + g] : 8.0f;
#pragma unroll 1  // a rolled loop: the fully unrolled body takes NVRTC minutes to compile
            for (int j = 0; j < 4; ++j) {
                const unsigned word = j == 0 ? w[u].x : j == 1 ? w[u].y : j == 2 ? w[u].z : w[u].w;
#pragma unroll
                for (int t = 0; t < 8; ++t) {
                    const float wt = ((float)((word >> (4 * t)) & 0xFu) - z) * s;
                    const int k = 32 * c + 8 * j + t;
#pragma unroll
                    for (int m = 0; m < ROWS; ++m)
                        acc[m] += __half2float(X[(size_t)m * K + k]) * wt;
                }
            }
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
