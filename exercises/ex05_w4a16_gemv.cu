// ex05_w4a16_gemv — W4A16 GEMV for M <= 4 (decode): one warp per row of W, int4 weights
// read in their natural packed layout and dequantized in registers.
//
// Computes   Y[m, n] = sum_k X[m, k] * (q[n, k] - 8) * S[n, k / GROUP]   for every m < M <= MAX_M
//   X  [M, K]    fp16 row-major
//   QW [N, K/2]  uint8: two int4 per byte, element k = 2j in the LOW nibble of byte j (the
//                layout of labkernels.formats.pack_int4), so 32-bit word i of a row (little
//                endian) holds k = 8i .. 8i+7, element 8i + t in bits 4t .. 4t+3
//   S  [N, G]    fp16 scales, G = K / GROUP groups along K (GROUP = 128 in the checks)
//   Y  [M, N]    fp16 row-major
//   Symmetric int4: the nibble q (0..15) stands for q - 8; no zero points.
//   K is a multiple of GROUP (so of 8: every row of QW starts on a 4-byte boundary);
//   N need not be a multiple of WARPS; K / 8 words need not be a multiple of 32.
// Launch (the grader's: labkernels/grading/launchers.py, w4a16_gemv_warp):
//   grid ceil(N / WARPS), block 32 * WARPS, with MAX_M = 4 and WARPS = 4.
//   The arguments are those of labkernels/kernels/dequant/v02_gemv_warp.cu without Z.
//
// Bound: memory. The packed weights (N*K/2 bytes) dominate what is read, once; the
// dequantization (a shift, a mask, a subtract and a multiply per weight) hides under it
// (v04_gemv_lop3.cu shows how to make it cheaper still).
//
// What to write (the kernel body; warp_sum is ex02's, given):
//   the 32 lanes of the warp for row n walk the row's 32-bit words together (lane l takes
//   words i = l, l + 32, ...: 128 contiguous bytes per step, coalesced); for each word take
//   the scale of its group (a word never straddles a group), unpack its 8 nibbles in order,
//   dequantize each in fp32, and accumulate X[m, 8i + t] * w for every row m < M into an
//   fp32 partial sum; warp_sum each sum, and lane 0 stores Y[m, n] as fp16.
#include <cuda_fp16.h>

#ifndef MAX_M
#define MAX_M 4
#endif
#ifndef WARPS
#define WARPS 4
#endif

// Sum a value over the 32 lanes of a warp; every lane gets the total.
__device__ __forceinline__ float warp_sum(float v)
{
#pragma unroll
    for (int off = 16; off > 0; off >>= 1)
        v += __shfl_xor_sync(0xffffffffu, v, off);
    return v;
}

extern "C" __global__ void __launch_bounds__(WARPS * 32)
w4a16_gemv_warp(const __half* __restrict__ X, const unsigned char* __restrict__ QW,
                const __half* __restrict__ S, __half* __restrict__ Y, int M, int N, int K, int G)
{
    const int lane = threadIdx.x & 31;
    const int n = blockIdx.x * WARPS + (threadIdx.x >> 5);
    if (n >= N) return;  // whole warps leave together: the shuffles below stay full

    // FILL ME IN (roughly 23 lines): word i = lane, lane + 32, ... < K/8; (((w >> 4t) & 15) - 8) * scale; warp_sum; lane 0 stores
}
