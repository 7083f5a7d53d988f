// v08_w4a8_gemv — W4A8 GEMV for M <= 16 (decode): int4 weights, int8 activations, dp4a.
//
// Computes  Y[m, n] = sx[m] * sum_g s[n, g] * sum_{k in g} X[m, k] * q[n, k]   (as v07)
//   q: symmetric int4 laid out by prepack_w4a8_gemv: in each 32-bit word (8 weights,
//   k = 8i .. 8i+7) byte j = q[8i + j] | q[8i + 4 + j] << 4, two's-complement nibbles.
// Grid: one warp per n, WARPS warps per block.
//
// Bound: memory. W is 4 bits per weight plus a 16-bit scale per group: at M = 1 the
// same bytes as the W4A16 GEMV (dequant/v04), so the same time is the goal.
// Changed from v02 (the A8W8 GEMV): each 16-byte load brings 32 weights. The offline
// layout puts k = 8i..8i+3 in the low nibbles and 8i+4..8i+7 in the high ones, so the
// two int8x4 registers that int4x8_to_int8x16 makes (3 instructions per 8 weights,
// no conversions) line up with two consecutive words of X for dp4a. A 16-byte chunk
// of W lies inside one group (groups are >= 32 wide), so its int32 partial sum is
// scaled once, in fp32.
//
// Expects: #define ROWS (= M, 1..16), WARPS, UNROLL. Needs K % 32 == 0.
#include "lab.cuh"

extern "C" __global__ void __launch_bounds__(WARPS * 32)
w4a8_gemv(const signed char* __restrict__ X, const __half* __restrict__ SX,
          const uint4* __restrict__ PW, const __half* __restrict__ S,
          __half* __restrict__ Y, int M, int N, int K, int G)
{
    const int lane = threadIdx.x & 31;
    const int n = blockIdx.x * WARPS + (threadIdx.x >> 5);
    if (n >= N) return;

    const int chunks = K / 32;  // 16-byte chunks of a row: 32 weights each
    const uint4* w = PW + (size_t)n * chunks;
    const int gshift = G == 1 ? 30 : 31 - __clz(K / G);  // log2(group): 32, 64 or 128
    float acc[ROWS];
#pragma unroll
    for (int m = 0; m < ROWS; ++m) acc[m] = 0.f;

    for (int c0 = lane; c0 < chunks; c0 += 32 * UNROLL) {
        uint4 v[UNROLL];
#pragma unroll
        for (int u = 0; u < UNROLL; ++u)
            if (c0 + 32 * u < chunks) v[u] = __ldg(w + c0 + 32 * u);
#pragma unroll
        for (int u = 0; u < UNROLL; ++u) {
            const int c = c0 + 32 * u;
            if (c >= chunks) break;
            // 1/16 undoes the x16 of the widening (exact: a power of two).
            const float s = __half2float(S[(size_t)n * G + min((32 * c) >> gshift, G - 1)]) * 0.0625f;
            unsigned b[8];
            int4x8_to_int8x16(v[u].x, b[0], b[1]);
            int4x8_to_int8x16(v[u].y, b[2], b[3]);
            int4x8_to_int8x16(v[u].z, b[4], b[5]);
            int4x8_to_int8x16(v[u].w, b[6], b[7]);
#pragma unroll
            for (int m = 0; m < ROWS; ++m) {
                const int4* xp = reinterpret_cast<const int4*>(X + (size_t)m * K + 32 * c);
                const int4 x0 = __ldg(xp), x1 = __ldg(xp + 1);
                int p = __dp4a((int)b[0], x0.x, 0);
                p = __dp4a((int)b[1], x0.y, p);
                p = __dp4a((int)b[2], x0.z, p);
                p = __dp4a((int)b[3], x0.w, p);
                p = __dp4a((int)b[4], x1.x, p);
                p = __dp4a((int)b[5], x1.y, p);
                p = __dp4a((int)b[6], x1.z, p);
                p = __dp4a((int)b[7], x1.w, p);
                acc[m] += (float)p * s;
            }
        }
    }

#pragma unroll
    for (int m = 0; m < ROWS; ++m) {
        const float t = warp_sum(acc[m]);
        if (lane == 0) Y[(size_t)m * N + n] = __float2half(t * __half2float(SX[m]));
    }
}
