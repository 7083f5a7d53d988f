// v02_fp4_gemv — MXFP4 / NVFP4 GEMV for M <= 16 (decode): stream packed e2m1 at the memory roofline.
//
// Computes  Y[m, n] = sum_b (sum_{k in b} x[m, k] * w[n, k]) * sx[m, b] * sw[n, b]  (* gx * gw for NVFP4)
//   X [M, K/2], W [N, K/2]  packed e2m1 (k = 2j in the low nibble of byte j)
//   MXFP4 (NV = 0): E8M0 scales [., K/32], value 2^(code - 127)
//   NVFP4 (NV = 1): E4M3 scales [., K/16], fp32 per-tensor gx, gw
//   Y [M, N] fp16.
// Grid: WARPS warps per block, each warp owns RPW consecutive rows of W.
//
// Bound: memory at M = 1. W is N*K/2 bytes plus N*K/32 (MX) or N*K/16 (NVFP4) scale
// bytes: 4.25 or 4.5 bits a weight, 3.8x / 3.6x fewer bytes than fp16.
// Changed from v01: the layout of the lab's GEMVs (int8/v02, dequant/v04). Each lane
// reads whole 16-byte chunks of a row of W: 32 elements, exactly one MX block (two
// NVFP4 blocks), so a chunk's scales are one byte (two) and no block straddles lanes.
//
// Decoding e2m1 without a table or a convert. An e2m1 code is s|e1 e0|m with value
// 2^(e-1) * (1 + m/2) (e > 0) or m/2 (e = 0). Put e1 e0 m at bits 11..9 of an fp16 and
// the sign at bit 15: the fp16 then has exponent field e and top mantissa bit m, value
// 2^(e-15) * (1 + m/2), or for e = 0 the subnormal m * 2^-15. Both are the e2m1 value
// times 2^-14, exactly: the 2^14 is a power of two, applied once per output at the end.
// Shift, mask, shift, merge: four integer instructions give one half2 of two weights.
// The pairs come out as (e0, e4), (e1, e5), (e2, e6), (e3, e7) of a 32-bit word (nibble
// k at bits 4k..4k+3); X is decoded by the same function, so its pairs match, and then
// multiplied by 2^14 (one exact hmul2 per pair, shared by the warp's rows): two scaled
// operands would make products of 2^-30, below fp16's smallest subnormal.
//
// Exact partial sums in fp16. A product of an e2m1 value and a (2^-14-scaled) e2m1 value
// is a multiple of 2^-16 below 36 * 2^-14; a sum of 8 of them is a multiple of 2^-16
// below 2^-5, which fp16 holds exactly (11 significant bits suffice). So each lane half
// sums 8 products in half2 (hfma2, two multiply-adds an instruction) with no rounding at
// all, converts to fp32, and only then meets the block's scales: the order the hardware
// block-scaled MMA uses, here on the CUDA cores.
//
// X: with XSMEM (small M*K), decoded once per block into shared memory; otherwise once
// per warp and chunk, shared by the warp's RPW rows. At M = 1 the per-warp decode of X
// doubles the integer work, and the integer pipe (half the FP32 rate on Hopper), not
// memory, becomes the limit.
//
// Loads: a warp requests its first weights before X is decoded (so the decode hides under
// their latency); PREFETCH = 1 keeps the next step's chunks in flight while the current
// ones are decoded (a register double buffer), HINT = 1 streams W (lab.cuh, ldg_weights16).
//
// Expects: #define NV (0: MXFP4, 1: NVFP4), ROWS (= M, 1..16), WARPS, UNROLL, RPW, XSMEM,
// and optionally HINT, PREFETCH (default 0).
// Needs K % 32 == 0 (16-byte rows of W); the launcher refuses other K.
#include "lab.cuh"

// Four half2 from one word of eight e2m1 codes: pairs (k, k + 4), k = 0..3, times 2^-14.
// Nibble k sits at bits 4k..4k+3: one shift brings its e1 e0 m to bits 11..9, another its
// sign to bit 15 (for k = 3 the sign is already there); a mask and a lop3 merge them.
__device__ __forceinline__ unsigned shift_left(unsigned w, int s) { return s >= 0 ? w << s : w >> -s; }

__device__ __forceinline__ void e2m1x8_to_half2x4(unsigned w, unsigned* h)
{
#pragma unroll
    for (int k = 0; k < 4; ++k)
        h[k] = (shift_left(w, 9 - 4 * k) & 0x0E000E00u) | (shift_left(w, 12 - 4 * k) & 0x80008000u);
}

// The same, times 2^14 (one exact hmul2 a pair): X's values themselves, since two
// 2^-14-scaled operands would make products of 2^-30, below fp16's smallest subnormal.
__device__ __forceinline__ void e2m1x32_to_half2x16_exact(uint4 v, unsigned* h)
{
    e2m1x8_to_half2x4(v.x, h);
    e2m1x8_to_half2x4(v.y, h + 4);
    e2m1x8_to_half2x4(v.z, h + 8);
    e2m1x8_to_half2x4(v.w, h + 12);
    const __half2 unscale = __float2half2_rn(0x1p14f);
#pragma unroll
    for (int i = 0; i < 16; ++i) {
        const __half2 x = __hmul2(u32_as_half2(h[i]), unscale);
        h[i] = *reinterpret_cast<const unsigned*>(&x);
    }
}

// Sum of the 16 products of half2 operands a[i] * b[i], each half summing 8: exact (see above).
__device__ __forceinline__ float dot16_exact(const unsigned* a, const unsigned* b)
{
    __half2 p = __float2half2_rn(0.0f);
#pragma unroll
    for (int i = 0; i < 8; ++i) p = __hfma2(u32_as_half2(a[i]), u32_as_half2(b[i]), p);
    const float2 f = __half22float2(p);
    return f.x + f.y;  // both exact multiples of 2^-16 below 2^-4: their fp32 sum is exact
}

#if NV
// E4M3 scale code -> fp32, exactly, times 2^-8: EEEEMMM at bits 13..7 of an fp16 is the
// e4m3 value times 2^-8 (normals and subnormals alike; fp16 has the range to spare).
__device__ __forceinline__ float scale_f32(unsigned c)
{
    return __half2float(__ushort_as_half((unsigned short)((c & 0x7Fu) << 7)));
}
#define SCALE_UNDO 0x1p8f  // undoes scale_f32's 2^-8
#else
__device__ __forceinline__ float scale_f32(unsigned c) { return e8m0_to_f32(c); }  // 2^(c - 127)
#define SCALE_UNDO 1.0f
#endif

#define BLOCKS_PER_CHUNK (NV ? 2 : 1)

#ifndef PREFETCH
#define PREFETCH 0
#endif

extern "C" __global__ void __launch_bounds__(WARPS * 32)
fp4_gemv(const unsigned char* __restrict__ X, const unsigned char* __restrict__ SX, const float* __restrict__ GX,
         const unsigned char* __restrict__ W, const unsigned char* __restrict__ SW, const float* __restrict__ GW,
         __half* __restrict__ Y, int M, int N, int K)
{
    const int lane = threadIdx.x & 31;
    const int n0 = (blockIdx.x * WARPS + (threadIdx.x >> 5)) * RPW;
    const int chunks = K / 32;                     // 16-byte chunks per row
    const int nscale = chunks * BLOCKS_PER_CHUNK;  // scale codes per row

    const uint4* w_rows[RPW];
#pragma unroll
    for (int r = 0; r < RPW; ++r)
        w_rows[r] = reinterpret_cast<const uint4*>(W + (size_t)min(n0 + r, N - 1) * (K / 2));
    // UNROLL chunks of each of the warp's rows, from chunk c0 on.
    auto load_w = [&](uint4 (&v)[UNROLL][RPW], int c0) {
#pragma unroll
        for (int u = 0; u < UNROLL; ++u)
#pragma unroll
            for (int r = 0; r < RPW; ++r)
                if (c0 + 32 * u < chunks) v[u][r] = ldg_weights16(w_rows[r] + c0 + 32 * u);
    };
    // The first weights are requested before X is decoded: their DRAM latency hides the decode.
    uint4 wv[UNROLL][RPW];
    if (n0 < N) load_w(wv, lane);

#if XSMEM
    // Small X (the launcher checks M*K*2 bytes fit): decode it once per block into shared
    // memory, so each warp's integer work is W's decode alone. Chunk c of row m takes 4 uint4;
    // the uint4 i lands at i ^ ((c >> 1) & 3), so the 8 lanes of one 128-byte phase of a
    // 16-byte load (chunks c..c+7, 64 bytes apart) hit distinct banks.
    extern __shared__ uint4 xs_smem[];
    float* sx_smem = reinterpret_cast<float*>(xs_smem + (size_t)ROWS * chunks * 4);
    for (int i = threadIdx.x; i < ROWS * chunks; i += WARPS * 32) {
        const int m = i / chunks, c = i - m * chunks;
        unsigned h[16];
        e2m1x32_to_half2x16_exact(__ldg(reinterpret_cast<const uint4*>(X + (size_t)m * (K / 2)) + c), h);
#pragma unroll
        for (int q = 0; q < 4; ++q)
            xs_smem[(size_t)i * 4 + (q ^ ((c >> 1) & 3))] = make_uint4(h[4 * q], h[4 * q + 1], h[4 * q + 2], h[4 * q + 3]);
    }
    for (int i = threadIdx.x; i < ROWS * nscale; i += WARPS * 32) sx_smem[i] = scale_f32(__ldg(SX + i));
    __syncthreads();
#endif
    if (n0 >= N) return;  // whole warps leave together (after the block's shared X is ready)

    float acc[RPW][ROWS];
#pragma unroll
    for (int r = 0; r < RPW; ++r)
#pragma unroll
        for (int m = 0; m < ROWS; ++m) acc[r][m] = 0.0f;

    for (int c0 = lane; c0 < chunks; c0 += 32 * UNROLL) {
#if PREFETCH
        uint4 nxt[UNROLL][RPW];  // the next step's chunks, in flight while these are decoded
        load_w(nxt, c0 + 32 * UNROLL);
#else
        if (c0 != lane) load_w(wv, c0);  // the first step's were loaded before X was decoded
#endif
#pragma unroll
        for (int u = 0; u < UNROLL; ++u) {
            const int c = c0 + 32 * u;
            if (c >= chunks) break;
            unsigned wh[RPW][16];
            float sw[RPW][BLOCKS_PER_CHUNK];
#pragma unroll
            for (int r = 0; r < RPW; ++r) {
                e2m1x8_to_half2x4(wv[u][r].x, &wh[r][0]);
                e2m1x8_to_half2x4(wv[u][r].y, &wh[r][4]);
                e2m1x8_to_half2x4(wv[u][r].z, &wh[r][8]);
                e2m1x8_to_half2x4(wv[u][r].w, &wh[r][12]);
                const unsigned char* s = SW + (size_t)min(n0 + r, N - 1) * nscale + c * BLOCKS_PER_CHUNK;
#pragma unroll
                for (int b = 0; b < BLOCKS_PER_CHUNK; ++b) sw[r][b] = scale_f32(__ldg(s + b));
            }
#pragma unroll
            for (int m = 0; m < ROWS; ++m) {
                unsigned xh[16];
                float sx[BLOCKS_PER_CHUNK];
#if XSMEM
                const uint4* xc = xs_smem + ((size_t)m * chunks + c) * 4;
#pragma unroll
                for (int q = 0; q < 4; ++q) {
                    const uint4 v = xc[q ^ ((c >> 1) & 3)];
                    xh[4 * q] = v.x; xh[4 * q + 1] = v.y; xh[4 * q + 2] = v.z; xh[4 * q + 3] = v.w;
                }
#pragma unroll
                for (int b = 0; b < BLOCKS_PER_CHUNK; ++b) sx[b] = sx_smem[m * nscale + c * BLOCKS_PER_CHUNK + b];
#else
                e2m1x32_to_half2x16_exact(__ldg(reinterpret_cast<const uint4*>(X + (size_t)m * (K / 2)) + c), xh);
#pragma unroll
                for (int b = 0; b < BLOCKS_PER_CHUNK; ++b)
                    sx[b] = scale_f32(__ldg(SX + (size_t)m * nscale + c * BLOCKS_PER_CHUNK + b));
#endif
#pragma unroll
                for (int r = 0; r < RPW; ++r) {
#if NV
                    // words 0-1 are k 0..15 (block 0), words 2-3 are k 16..31 (block 1)
                    acc[r][m] += dot16_exact(&xh[0], &wh[r][0]) * (sx[0] * sw[r][0]);
                    acc[r][m] += dot16_exact(&xh[8], &wh[r][8]) * (sx[1] * sw[r][1]);
#else
                    acc[r][m] += (dot16_exact(&xh[0], &wh[r][0]) + dot16_exact(&xh[8], &wh[r][8]))
                                 * (sx[0] * sw[r][0]);
#endif
                }
            }
        }
#if PREFETCH
#pragma unroll
        for (int u = 0; u < UNROLL; ++u)
#pragma unroll
            for (int r = 0; r < RPW; ++r) wv[u][r] = nxt[u][r];
#endif
    }

    // the 2^14 of each decoded w, the 2^-8 of each decoded e4m3 scale, and the per-tensor scales
    float post = 0x1p14f * SCALE_UNDO * SCALE_UNDO;
#if NV
    post *= __ldg(GX) * __ldg(GW);
#endif
#pragma unroll
    for (int r = 0; r < RPW; ++r)
#pragma unroll
        for (int m = 0; m < ROWS; ++m) {
            const float s = warp_sum(acc[r][m]);
            if (lane == 0 && n0 + r < N) Y[(size_t)m * N + n0 + r] = __float2half(s * post);
        }
}
