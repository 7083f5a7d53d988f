// v04_gemv_lop3 — W4A16 GEMV for M <= 16: fast int4 -> fp16 with lop3 and a magic number.
//
// Same arguments and layout as v02 (see its header):
//   Y[m, n] = sum_k X[m, k] * (q[n, k] - z[n, g]) * s[n, g]
// Grid: WARPS warps per block, each warp owns RPW consecutive rows of W.
//
// Bound: memory at M = 1: N*K/2 weight bytes + N*G*2 scale bytes. The work per
// weight must stay small enough to hide under the loads; v03 spent ~4 integer
// and float instructions per weight (shift, mask, I2F, subtract, scale) before
// the multiply, which costs as much time as the loads at M = 1.
// Changed from v03:
//  * Conversion without converts. fp16 1024.0 is 0x6400 with an ulp of 1, so
//    (word & 0x000F000F) | 0x64006400 — one lop3 — is half2(1024 + e0, 1024 + e4)
//    for the nibbles e0 (bits 0-3) and e4 (bits 16-19). Shifting the word by 4, 8,
//    12 brings the other six nibbles under the same mask: four lop3 and three
//    shifts turn 8 weights into four half2.
//  * Zero point folded in: one exact hsub2 of (1024 + z) leaves q - z as small
//    integers in fp16 — no separate "subtract 1024" and "subtract z".
//  * Scale applied once per 32 weights, not per weight: sum_t x_t (q_t - z) is
//    formed in half2 (products of an fp16 and a small integer; four terms per
//    lane half), converted to fp32, multiplied by s and accumulated in fp32.
//  The pairs come out as (e0,e4), (e1,e5), (e2,e6), (e3,e7), so X is paired the
//  same way (x0,x4), ... with one byte-permute each — no re-layout of W needed.
//
//  * RPW rows of W per warp: at 4 bits a weight, X (16 bits per element) is four
//    times the bytes of W, and each load of X now feeds RPW rows; each lane keeps
//    RPW x UNROLL 16-byte loads of W in flight.
//
//  * HINT = 1 streams W past L1 in 256-byte L2 fetches (lab.cuh, ldg_weights16), as the
//    lab's int8 and FP4 GEMVs do. (A register double buffer of W, which helps the FP4 GEMV,
//    measured no gain here: benchmarks/NOTES.md.)
//
// Expects: #define ROWS (= M, 1..16; one kernel per M), WARPS, UNROLL, RPW, MINB, and
// optionally HINT (default 0). Needs K % 32 == 0 (16-byte rows).
#include "lab.cuh"

// Accumulate, into the half2 partial p, x[k] * (q[k] - z) over one 32-bit word of
// weights (k = k0 .. k0+7), with zq = half2(1024 + z).
__device__ __forceinline__ __half2 dot8_int4(unsigned w, uint4 xv, __half2 zq, __half2 p)
{
    const __half2 q04 = __hsub2(int4_pair_magic(w), zq);        // (q0 - z, q4 - z), exact
    const __half2 q15 = __hsub2(int4_pair_magic(w >> 4), zq);   // (q1, q5)
    const __half2 q26 = __hsub2(int4_pair_magic(w >> 8), zq);   // (q2, q6)
    const __half2 q37 = __hsub2(int4_pair_magic(w >> 12), zq);  // (q3, q7)
    const __half2 x01 = u32_as_half2(xv.x), x23 = u32_as_half2(xv.y);
    const __half2 x45 = u32_as_half2(xv.z), x67 = u32_as_half2(xv.w);
    p = __hfma2(__lows2half2(x01, x45), q04, p);                // (x0, x4)
    p = __hfma2(__highs2half2(x01, x45), q15, p);               // (x1, x5)
    p = __hfma2(__lows2half2(x23, x67), q26, p);                // (x2, x6)
    return __hfma2(__highs2half2(x23, x67), q37, p);            // (x3, x7)
}

// MINB blocks per SM at least: at M = 1 the launcher asks for 8 (64 registers), so
// N = 8192 rows fit in one wave of blocks, with no second, nearly empty wave.
extern "C" __global__ void __launch_bounds__(WARPS * 32, MINB)
w4a16_gemv_lop3(const __half* __restrict__ X, const unsigned char* __restrict__ QW,
                const __half* __restrict__ S, const unsigned char* __restrict__ Z,
                __half* __restrict__ Y, int M, int N, int K, int G)
{
    const int lane = threadIdx.x & 31;
    const int n0 = (blockIdx.x * WARPS + (threadIdx.x >> 5)) * RPW;  // this warp's first row
    if (n0 >= N) return;

    const int chunks = K / 32;  // 16-byte chunks per row
    // Groups are 32, 64 or 128 wide (a shift, not a division); per-channel (G = 1): always group 0.
    const int gshift = G == 1 ? 30 : 31 - __clz(K / G);
    float acc[ROWS][RPW];
#pragma unroll
    for (int m = 0; m < ROWS; ++m)
#pragma unroll
        for (int r = 0; r < RPW; ++r) acc[m][r] = 0.0f;

    for (int c0 = lane; c0 < chunks; c0 += 32 * UNROLL) {
        uint4 w[RPW][UNROLL];
#pragma unroll
        for (int r = 0; r < RPW; ++r) {  // RPW x UNROLL loads in flight per lane
            const uint4* qw = reinterpret_cast<const uint4*>(QW + (size_t)min(n0 + r, N - 1) * (K / 2));
#pragma unroll
            for (int u = 0; u < UNROLL; ++u)
                if (c0 + 32 * u < chunks) w[r][u] = ldg_weights16(qw + c0 + 32 * u);
        }
#pragma unroll
        for (int u = 0; u < UNROLL; ++u) {
            const int c = c0 + 32 * u;
            if (c >= chunks) break;
            const int g = (32 * c) >> gshift;  // 32 weights never straddle a group
            float s[RPW];
            __half2 zq[RPW];
#pragma unroll
            for (int r = 0; r < RPW; ++r) {
                const size_t i = (size_t)min(n0 + r, N - 1) * G + g;
                s[r] = __half2float(S[i]);
                zq[r] = magic_zero(Z ? Z[i] : 8u);
            }
#pragma unroll
            for (int m = 0; m < ROWS; ++m) {
                // One load of X serves RPW rows of W.
                const uint4* xr = reinterpret_cast<const uint4*>(X + (size_t)m * K + 32 * c);
                const uint4 xv[4] = {xr[0], xr[1], xr[2], xr[3]};
#pragma unroll
                for (int r = 0; r < RPW; ++r) {
                    // Four products per half-lane summed in fp16 (per 32-bit word), then
                    // to fp32. (Sixteen per conversion was measured: it saves ~10% of the
                    // instructions but its rounding error breaks the fp16 tolerance.)
                    const unsigned words[4] = {w[r][u].x, w[r][u].y, w[r][u].z, w[r][u].w};
                    float part = 0.0f;
#pragma unroll
                    for (int j = 0; j < 4; ++j) {
                        const float2 f = __half22float2(dot8_int4(words[j], xv[j], zq[r], __float2half2_rn(0.f)));
                        part += f.x + f.y;
                    }
                    acc[m][r] += part * s[r];
                }
            }
        }
    }
#pragma unroll
    for (int m = 0; m < ROWS; ++m) {
#pragma unroll
        for (int r = 0; r < RPW; ++r) {
            const float v = warp_sum(acc[m][r]);
            if (lane == 0 && n0 + r < N) Y[(size_t)m * N + n0 + r] = __float2half(v);
        }
    }
}
