// e2m1_to_e4m3 — widen packed e2m1 (FP4) codes to e4m3 (FP8) codes, exactly; memory-bound.
//
// Every e2m1 value is an e4m3 value: e2m1 has 1 mantissa bit and exponents -1..2 (bias 1),
// e4m3 has 3 mantissa bits and exponents -6..8 (bias 7), and e2m1's subnormal 0.5 is e4m3's
// normal 2^-1. So a 16-entry table maps each code to the byte of the same value:
//   magnitude 0, 0.5, 1, 1.5, 2, 3, 4, 6  ->  0x00, 0x30, 0x38, 0x3C, 0x40, 0x44, 0x48, 0x4C
// with the sign bit moved from bit 3 to bit 7. With the E8M0 scales unchanged, MXFP4 data
// becomes MXFP8 data of the same values, and the MXFP8 GEMM (v04_mxfp8_wgmma.cu) runs it.
// The table is a 64-bit constant indexed by shifts: no memory lookup.
//
// One thread widens one 16-byte chunk (32 codes) into two 16-byte stores. n16: chunks.
#include "lab.cuh"

__device__ __forceinline__ unsigned e2m1_to_e4m3_byte(unsigned nibble)
{
    const unsigned long long table = 0x4C4844403C383000ull;  // byte i: the e4m3 code of magnitude i
    return (unsigned)((table >> (8 * (nibble & 7))) & 0xFF) | ((nibble & 8) << 4);
}

// Four e2m1 codes (the low 16 bits of w, code j at bits 4j..4j+3) -> four e4m3 bytes.
__device__ __forceinline__ unsigned widen4(unsigned w)
{
    return e2m1_to_e4m3_byte(w & 15) | (e2m1_to_e4m3_byte((w >> 4) & 15) << 8)
         | (e2m1_to_e4m3_byte((w >> 8) & 15) << 16) | (e2m1_to_e4m3_byte((w >> 12) & 15) << 24);
}

extern "C" __global__ void e2m1_to_e4m3(const uint4* __restrict__ packed, uint4* __restrict__ out, long long n16)
{
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n16) return;
    const uint4 p = packed[i];
    out[2 * i] = make_uint4(widen4(p.x), widen4(p.x >> 16), widen4(p.y), widen4(p.y >> 16));
    out[2 * i + 1] = make_uint4(widen4(p.z), widen4(p.z >> 16), widen4(p.w), widen4(p.w >> 16));
}
