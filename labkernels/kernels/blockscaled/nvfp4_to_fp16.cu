// nvfp4_to_fp16 — widen NVFP4 to fp16: each e2m1 element times its UE4M3 block scale, exactly;
// memory-bound.
//
// Computes  out[r, k] = e2m1(k-th code of packed[r]) * e4m3(scales[r, k / 16])
//   packed [R, K/2] uint8 (element 2j in the low nibble of byte j), scales [R, K/16] uint8 e4m3
//   codes, out [R, K] fp16; K % 16 == 0. The fp32 per-tensor scale is left out: it does not fit
//   fp16's range, and the GEMM (v04_nvfp4_wgmma.cu) applies it in its fp32 epilogue.
//
// Why fp16 holds every product exactly, whatever the codes (tests/test_blockscaled.py checks all
// 16 x 256 pairs):
//   significand  an e2m1 value has at most 2 significant bits (1.m), an e4m3 one at most 4
//                (1.mmm), so a product has at most 6; fp16 has 11.
//   range        the largest product is 6 * 448 = 2688 < 65504, fp16's largest; every product
//                is a multiple of 0.5 * 2^-9 = 2^-10 (e2m1 steps by 0.5, e4m3 by 2^-9 at its
//                smallest), far above the 2^-24 step of fp16's subnormals.
// Rounding an exact value changes nothing, so one fp16 multiply per element is enough:
//   * an e2m1 code picks fp16(256 * its value) from a 64-bit constant (the low byte of each of
//     these fp16 is zero, so the table holds only the high bytes; the sign moves from bit 3 to 15);
//   * an e4m3 code shifted left by 7 lands its exponent and mantissa in fp16's fields: fp16's
//     exponent bias is 15, e4m3's 7, so that is the value times 2^-8, subnormals included
//     (0.mmm * 2^-6 becomes fp16's subnormal 0.mmm0000000 * 2^-14). Code 0x7F (NaN) stays NaN;
//   * (256 v) * (2^-8 s) = v s, by mul.rn.f16x2, two elements at a time.
// MXFP4's E8M0 scales cannot be folded in this way: 2^-127..2^127 is far outside fp16's range.
//
// One thread widens one 16-element block: 8 bytes of codes and one scale byte in, 32 bytes out.
// The scales are [R, K/16] row-major and the codes [R, K/2], so block b of the flattened codes is
// bytes 8b..8b+7 and its scale is byte b: no row index is needed. nblocks = R * K / 16.
#include "lab.cuh"

// fp16 bits (low 16) of 256 times the e2m1 value of `nibble`.
__device__ __forceinline__ unsigned e2m1_x256_bits(unsigned nibble)
{
    const unsigned long long table = 0x666462605E5C5800ull;  // byte i: high byte of fp16(256 * magnitude i)
    return (unsigned)((table >> (8 * (nibble & 7))) & 0xFF) << 8 | (nibble & 8) << 12;
}

// fp16 bits of 2^-8 times the value of e4m3 code `c`.
__device__ __forceinline__ unsigned e4m3_x2m8_bits(unsigned c)
{
    return (c & 0x7F) == 0x7F ? 0x7E00u : ((c & 0x7F) << 7) | ((c & 0x80) << 8);
}

extern "C" __global__ void nvfp4_to_fp16(const uint2* __restrict__ packed, const unsigned char* __restrict__ scales,
                                         uint4* __restrict__ out, long long nblocks)
{
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= nblocks) return;
    const uint2 p = packed[i];
    const __half2 s = u32_as_half2(e4m3_x2m8_bits(scales[i]) * 0x00010001u);
    unsigned h[8];
#pragma unroll
    for (int j = 0; j < 8; ++j) {
        const unsigned b = ((j < 4 ? p.x : p.y) >> (8 * (j & 3))) & 0xFF;  // elements 2j (low nibble), 2j + 1
        const __half2 v = __hmul2_rn(u32_as_half2(e2m1_x256_bits(b & 15) | e2m1_x256_bits(b >> 4) << 16), s);
        h[j] = *reinterpret_cast<const unsigned*>(&v);
    }
    out[2 * i] = make_uint4(h[0], h[1], h[2], h[3]);
    out[2 * i + 1] = make_uint4(h[4], h[5], h[6], h[7]);
}
