// v08_w8a16_gemv — W8A16 GEMV for M <= 16: int8 weights, one fp16 scale per output channel.
//
// Computes  Y[m, n] = s[n] * sum_k X[m, k] * q[n, k]     (fp32 accumulation)
//   X [M, K] fp16;  QW [N, K] int8 (symmetric, -127..127);  S [N, 1] fp16;  Y [M, N] fp16
// Grid: one warp per n, WARPS warps per block; 16-byte loads, UNROLL in flight.
//
// Bound: memory — N*K weight bytes, twice the int4 kernels': the 8-bit point on
// the roofline, between W4A16 and fp16.
// Changed from v04 (int4): the same conversion trick for bytes. XOR 0x80 turns a
// signed byte q into q + 128 (0..255); a byte-permute (prmt) places two of them
// under 0x64 high bytes, i.e. half2(1024 + q0 + 128, 1024 + q1 + 128); one exact
// hsub2 of 1152 leaves (q0, q1). With one scale per row, the scale is applied
// once, to the row's total.
//
// Expects: #define ROWS (= M, 1..16; one kernel per M), WARPS, UNROLL. Needs K % 16 == 0 (16-byte rows).
#include "lab.cuh"

__device__ __forceinline__ unsigned prmt(unsigned a, unsigned b, unsigned sel)
{
    unsigned d;
    asm("prmt.b32 %0, %1, %2, %3;" : "=r"(d) : "r"(a), "r"(b), "r"(sel));
    return d;
}

// sum over 4 int8 weights (one word) of x[k] * q[k], returned in fp32.
__device__ __forceinline__ float dot4_int8(unsigned w, uint2 xv)
{
    const unsigned u = w ^ 0x80808080u;  // q + 128, as unsigned bytes
    const __half2 bias = __float2half2_rn(1152.0f);
    const __half2 q01 = __hsub2(u32_as_half2(prmt(u, 0x64646464u, 0x5140u)), bias);
    const __half2 q23 = __hsub2(u32_as_half2(prmt(u, 0x64646464u, 0x5342u)), bias);
    __half2 p = __hmul2(u32_as_half2(xv.x), q01);
    p = __hfma2(u32_as_half2(xv.y), q23, p);
    const float2 f = __half22float2(p);
    return f.x + f.y;
}

extern "C" __global__ void __launch_bounds__(WARPS * 32)
w8a16_gemv(const __half* __restrict__ X, const signed char* __restrict__ QW, const __half* __restrict__ S,
           __half* __restrict__ Y, int M, int N, int K)
{
    const int lane = threadIdx.x & 31;
    const int n = blockIdx.x * WARPS + (threadIdx.x >> 5);
    if (n >= N) return;

    const uint4* qw = reinterpret_cast<const uint4*>(QW + (size_t)n * K);
    const int chunks = K / 16;
    float acc[ROWS];
#pragma unroll
    for (int m = 0; m < ROWS; ++m) acc[m] = 0.0f;

    for (int c0 = lane; c0 < chunks; c0 += 32 * UNROLL) {
        uint4 w[UNROLL];
#pragma unroll
        for (int u = 0; u < UNROLL; ++u)
            if (c0 + 32 * u < chunks) w[u] = qw[c0 + 32 * u];
#pragma unroll
        for (int u = 0; u < UNROLL; ++u) {
            const int c = c0 + 32 * u;
            if (c >= chunks) break;
            const unsigned words[4] = {w[u].x, w[u].y, w[u].z, w[u].w};
#pragma unroll
            for (int m = 0; m < ROWS; ++m) {
                {
                    const uint2* xr = reinterpret_cast<const uint2*>(X + (size_t)m * K + 16 * c);
                    float part = 0.0f;
#pragma unroll
                    for (int j = 0; j < 4; ++j) part += dot4_int8(words[j], xr[j]);
                    acc[m] += part;
                }
            }
        }
    }
    const float s = __half2float(S[n]);
#pragma unroll
    for (int m = 0; m < ROWS; ++m) {
        {
            const float v = warp_sum(acc[m]);
            if (lane == 0) Y[(size_t)m * N + n] = __float2half(v * s);
        }
    }
}
