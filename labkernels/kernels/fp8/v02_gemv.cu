// v02_gemv — FP8 (e4m3) GEMV for M <= 16: one warp per row, e4m3 decoded to fp16 in registers.
//
// Computes  Y[m, n] = (sum_k X[m, k] * W[n, k]) * sx[m] * sw[n]   (fp32 accumulation)
//   X [M, K], W [N, K] float8_e4m3fn codes; sx [M, 1], sw [N, 1] fp32; Y [M, N] fp16.
// Grid: one warp per n, WARPS warps per block.
//
// Bound: memory. W is N*K bytes, one per weight: the same bytes as A8W8, half of fp16's.
// Changed from v01 (Numba, one thread per output): the layout of the lab's GEMVs —
// lanes read consecutive 16-byte chunks of a row (16 weights), UNROLL in flight.
// Decoding two e4m3 values into a half2 is one instruction on sm_89+ (cvt.rn.f16x2.e4m3x2).
// Older GPUs have no fp8 conversion, and a bit trick does it (e4m3_pair_to_half2 below):
// e4m3 is S EEEE MMM with bias 7; placed at bit 7 of an fp16 (S EEEEE MMMMMMMMMM, bias
// 15) its exponent and mantissa fields line up, and the value is the e4m3 value times
// 2^(7-15); one multiply by 2^8 fixes the bias, exactly, subnormals included.
//
// Expects: #define ROWS (= M, 1..16), WARPS, UNROLL. K % 16 == 0 takes the vector path.
// With MX = 1 (blockscaled/v03_mxfp8_gemv.cu) the scales are E8M0 codes per 32 k instead:
// each 16-byte chunk's sum is scaled by its block's two scales before it is added.
#include "lab.cuh"

#ifndef MX
#define MX 0
#endif
#if MX
typedef unsigned char scale_t;  // E8M0 codes [., K/32]
#else
typedef float scale_t;          // fp32 [., 1]
#endif

// Two e4m3 codes (low byte: the first) -> half2, exactly (no NaN codes: the lab's
// quantizers never write them).
__device__ __forceinline__ __half2 e4m3_pair_to_half2(unsigned short v)
{
#if __CUDA_ARCH__ >= 890
    unsigned h;
    asm("cvt.rn.f16x2.e4m3x2 %0, %1;" : "=r"(h) : "h"(v));
    return u32_as_half2(h);
#else
    const unsigned w = (v & 0xFFu) | ((v & 0xFF00u) << 8);  // byte 0 -> bits 0-7, byte 1 -> 16-23
    const unsigned h = ((w & 0x007F007Fu) << 7) | ((w & 0x00800080u) << 8);  // EEEEMMM at bit 7, S at 15
    return __hmul2(u32_as_half2(h), __float2half2_rn(256.0f));  // 2^(15 - 7)
#endif
}

// The 16 e4m3 codes of a 16-byte chunk as 8 float2.
__device__ __forceinline__ void decode16(const uint4& c, float2 (&f)[8])
{
    const unsigned wd[4] = {c.x, c.y, c.z, c.w};
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        f[2 * i] = __half22float2(e4m3_pair_to_half2((unsigned short)(wd[i] & 0xFFFFu)));
        f[2 * i + 1] = __half22float2(e4m3_pair_to_half2((unsigned short)(wd[i] >> 16)));
    }
}

extern "C" __global__ void __launch_bounds__(WARPS * 32)
fp8_gemv(const unsigned char* __restrict__ X, const scale_t* __restrict__ SX,
         const unsigned char* __restrict__ W, const scale_t* __restrict__ SW,
         __half* __restrict__ Y, int M, int N, int K)
{
    const int lane = threadIdx.x & 31;
    const int n = blockIdx.x * WARPS + (threadIdx.x >> 5);
    if (n >= N) return;

    const unsigned char* w = W + (size_t)n * K;
    float acc[ROWS];
#pragma unroll
    for (int m = 0; m < ROWS; ++m) acc[m] = 0.f;

    const int chunks = (K % 16 == 0) ? K / 16 : 0;
    const uint4* wv = reinterpret_cast<const uint4*>(w);
    for (int c0 = lane; c0 < chunks; c0 += 32 * UNROLL) {
        uint4 v[UNROLL];
#pragma unroll
        for (int u = 0; u < UNROLL; ++u)
            if (c0 + 32 * u < chunks) v[u] = __ldg(wv + c0 + 32 * u);
#pragma unroll
        for (int u = 0; u < UNROLL; ++u) {
            const int c = c0 + 32 * u;
            if (c >= chunks) break;
            float2 wf[8];
            decode16(v[u], wf);
#pragma unroll
            for (int m = 0; m < ROWS; ++m) {
                float2 xf[8];
                decode16(__ldg(reinterpret_cast<const uint4*>(X + (size_t)m * K) + c), xf);
#if MX
                float part = 0.f;
#pragma unroll
                for (int j = 0; j < 8; ++j) part += xf[j].x * wf[j].x + xf[j].y * wf[j].y;
                const int b = c >> 1;  // two chunks a block of 32
                acc[m] += part * (e8m0_to_f32(SX[(size_t)m * (K / 32) + b]) * e8m0_to_f32(SW[(size_t)n * (K / 32) + b]));
#else
#pragma unroll
                for (int j = 0; j < 8; ++j) acc[m] += xf[j].x * wf[j].x + xf[j].y * wf[j].y;
#endif
            }
        }
    }
#if !MX  // (MX rows are whole blocks of 32: always the vector path)
    for (int k = 16 * chunks + lane; k < K; k += 32) {  // any other K: one code at a time
        const float b = __low2float(e4m3_pair_to_half2(w[k]));
#pragma unroll
        for (int m = 0; m < ROWS; ++m) acc[m] += __low2float(e4m3_pair_to_half2(X[(size_t)m * K + k])) * b;
    }
#endif

#pragma unroll
    for (int m = 0; m < ROWS; ++m) {
        const float s = warp_sum(acc[m]);
#if MX
        if (lane == 0) Y[(size_t)m * N + n] = __float2half(s);
#else
        if (lane == 0) Y[(size_t)m * N + n] = __float2half(s * SX[m] * SW[n]);
#endif
    }
}
