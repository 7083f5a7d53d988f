// v09_gemm_wgmma — W4A16 GEMM for large M on Hopper: the weights dequantized once per call into an
// fp16 matrix, then the lab's fp16 TMA + wgmma GEMM (fp16/v05_wgmma_tma.cu) (sm_90a only).
//
// Computes  Wh[n, k] = (q[n, k] - z[n, g]) * s[n, g]   (w4a16_widen; one fp16 rounding, as v07's)
//           Y = X · Whᵀ                                  (fp16_wgmma_tma, fp32 accumulation)
//   qweight [N, K/2] uint8 (natural layout, even k in the low nibble), scales fp16 [N, G], zeros
//   uint8 [N, G] or null (symmetric: z = 8); X [M, K] and Y [M, N] fp16; Wh [N, K] fp16 scratch.
//
// Bound: at large M, the wgmma fp16 rate, as for fp16 itself: 2·M·N·K flops. The widening is
// memory-bound, N·K/2 bytes read and 2·N·K written, then read again by the GEMM: at M = 4096 and
// N = K = 8192 about 60 µs against ~900 µs of MMAs, a few percent, and its share falls as 1/M.
// Below M of a few hundred it dominates; v04's GEMV and v06 cover small M.
// Changed from v07 (mma.sync, int4 dequantized in registers inside the k loop): there, every
// block of every M-tile dequantizes its B tiles again (M/128 times per weight), ~15 instructions
// per 8 weights beside each warp's MMAs, and mma.sync itself is capped near 75% of Hopper's Tensor
// Core rate. Here each weight is dequantized exactly once per call, by a kernel that streams
// (its instructions hide under its loads), and the k loop is a plain fp16 GEMM on the fastest
// Tensor Core instruction Hopper has. This is the same trade the lesson measures between M = 1
// and M = 4096, moved inside one kernel pair: dequantization is worth fusing when the weights
// are read once (decode), and worth doing once, up front, when each weight feeds thousands of
// multiply-adds (prefill). The cost is memory: Wh is a full fp16 copy of the weights.
//
// Expects: the fp16 GEMM's defines (STAGES). Needs K % 8 == 0 (one thread widens one 32-bit
// word, 8 weights, which never straddles a group: group sizes are multiples of 8).
#include "lab.cuh"

// One thread per 32-bit word of qweight: 8 weights in, four half2 (16 bytes) out.
extern "C" __global__ void w4a16_widen(const unsigned* __restrict__ QW, const __half* __restrict__ S,
                                       const unsigned char* __restrict__ Z, uint4* __restrict__ Wh,
                                       long long words, int K, int G)
{
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= words) return;
    const int wpr = K >> 3;  // words per row
    const long long n = i / wpr;
    const int k0 = (int)(i - n * wpr) << 3, g = (int)((long long)k0 * G / K);
    const unsigned w = __ldg(QW + i);
    const __half2 s2 = __half2half2(S[n * G + g]);
    const __half2 zq = magic_zero(Z ? Z[n * G + g] : 8u);  // half2(1024 + z)
    // lop3 + magic number (lab.cuh): nibbles (i, i + 4) as half2(1024 + q); subtracting
    // 1024 + z is exact, the scale is the one rounding.
    const __half2 q04 = __hmul2(__hsub2(int4_pair_magic(w), zq), s2);
    const __half2 q15 = __hmul2(__hsub2(int4_pair_magic(w >> 4), zq), s2);
    const __half2 q26 = __hmul2(__hsub2(int4_pair_magic(w >> 8), zq), s2);
    const __half2 q37 = __hmul2(__hsub2(int4_pair_magic(w >> 12), zq), s2);
    // Back to natural order: (k0, k1), (k2, k3), (k4, k5), (k6, k7).
    const __half2 o0 = __lows2half2(q04, q15), o1 = __lows2half2(q26, q37);
    const __half2 o2 = __highs2half2(q04, q15), o3 = __highs2half2(q26, q37);
    Wh[i] = make_uint4(*reinterpret_cast<const unsigned*>(&o0), *reinterpret_cast<const unsigned*>(&o1),
                       *reinterpret_cast<const unsigned*>(&o2), *reinterpret_cast<const unsigned*>(&o3));
}

#include "fp16/v05_wgmma_tma.cu"
