// ex06_dp4a_dot — A8W8 GEMV for M <= 4 (decode): one warp per row of W, int8 dot products
// four at a time with __dp4a, exact int32 sums, the scales applied once per output.
//
// Computes   Y[m, n] = (sum_k X[m, k] * W[n, k]) * SX[m] * SW[n]   for every m < M <= MAX_M
//   X  [M, K]  int8 row-major (activations, quantized per token)
//   SX [M, 1]  fp16: one scale per row of X
//   W  [N, K]  int8 row-major (weights, quantized per output channel)
//   SW [N, 1]  fp16: one scale per row of W
//   Y  [M, N]  fp16 row-major
//   K is a multiple of 4, so every row starts on a 4-byte boundary and is K/4 whole 32-bit
//   words; word i of a row holds k = 4i .. 4i+3, element 4i + j in byte j (little endian).
//   N need not be a multiple of WARPS; K/4 need not be a multiple of 32; K need not be a
//   multiple of 16 (no 16-byte loads).
// Launch (the grader's: labkernels/grading/launchers.py, a8w8_gemv_warp):
//   grid ceil(N / WARPS), block 32 * WARPS, with MAX_M = 4 and WARPS = 4.
//   The arguments are those of labkernels/kernels/int8/v02_dp4a_gemv.cu.
//
// Bound: memory. W is N*K bytes, read once (half of fp16's bytes); X, the scales and Y are
// small. __dp4a(a, b, c) = c + a.x*b.x + a.y*b.y + a.z*b.z + a.w*b.w on the four signed
// bytes of two 32-bit words: four multiply-adds in one instruction (dp4a.s32.s32, sm_61+),
// exact in int32 (|x*w| <= 2^14, so a row of K <= 2^17 cannot overflow).
//
// What to write (the kernel body after the guard; warp_sum_int is given):
//   the 32 lanes of the warp for row n walk the row's 32-bit words together (lane l takes
//   words i = l, l + 32, ... < K/4: 128 contiguous bytes per step, coalesced); each word of
//   W meets the same word of every row m < M of X in one __dp4a into an int partial sum
//   (int arguments: the unsigned overload is dp4a.u32.u32 and reads -1 as 255); then
//   warp_sum_int each sum, and lane 0 stores Y[m, n] = sum * SX[m] * SW[n], in fp32, as fp16.
#include <cuda_fp16.h>

#ifndef MAX_M
#define MAX_M 4
#endif
#ifndef WARPS
#define WARPS 4
#endif

// Sum an int over the 32 lanes of a warp; every lane gets the total. (ex02's warp_sum, for
// int: integer addition is exact and associative, so the order of the butterfly is free.)
__device__ __forceinline__ int warp_sum_int(int v)
{
#pragma unroll
    for (int off = 16; off > 0; off >>= 1)
        v += __shfl_xor_sync(0xffffffffu, v, off);
    return v;
}

extern "C" __global__ void __launch_bounds__(WARPS * 32)
a8w8_gemv_warp(const signed char* __restrict__ X, const __half* __restrict__ SX,
               const signed char* __restrict__ W, const __half* __restrict__ SW,
               __half* __restrict__ Y, int M, int N, int K)
{
    const int lane = threadIdx.x & 31;
    const int n = blockIdx.x * WARPS + (threadIdx.x >> 5);
    if (n >= N) return;  // whole warps leave together: the shuffles below stay full

    // FILL ME IN (roughly 21 lines): int words i = lane, lane + 32, ... < K/4; acc[m] = __dp4a(x word, w word, acc[m]); warp_sum_int; lane 0 stores sum * SX[m] * SW[n]
}
