// ex07_mma_fragment — A8W8 on the int8 Tensor Cores: one warp computes one 16 x 8 tile of Y
// with mma.sync m16n8k32, its fragments loaded straight from global memory (sm_80+).
//
// Computes   Y[m, n] = (sum_k X[m, k] * W[n, k]) * SX[m] * SW[n]   (as ex06, any M)
//   X  [M, K]  int8 row-major       SX [M, 1] fp16 (one scale per row of X)
//   W  [N, K]  int8 row-major       SW [N, 1] fp16 (one scale per row of W)
//   Y  [M, N]  fp16 row-major
//   K must be a multiple of 32: one MMA consumes 32 k at a time, and every 4-byte load
//   below starts on a 4-byte boundary only then. M and N are anything: rows of the tile
//   past M and columns past N are loaded as zeros and never stored.
// Launch (the grader's: labkernels/grading/launchers.py, a8w8_mma_tile):
//   grid (ceil(ceil(N / 8) / WARPS), ceil(M / 16)), block 32 * WARPS with WARPS = 4;
//   warp j of block (bx, by) owns rows m0 = 16 * by .. m0 + 15 and columns
//   n0 = 8 * (WARPS * bx + j) .. n0 + 7 of Y.
//
// The instruction. mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 (mma_s8_m16n8k32 below):
// the 32 lanes of a warp together multiply a 16 x 32 int8 tile A (rows of X) by a 32 x 8
// tile B (B[k][n] = W[n0 + n][k]: "col", so a column of B is 32 contiguous bytes of a row
// of W) and add into a 16 x 8 int32 tile D. Each lane holds a fixed piece of every operand
// in registers, 4 int8 per 32-bit register, lower k in the lower byte. With g = lane / 4
// (groupID) and t = lane % 4 (threadID_in_group), the PTX ISA ("Matrix Fragments for
// mma.m16n8k32", .s8) lays them out as
//   A  a0: row g,     k = 4t .. 4t+3          a1: row g + 8, k = 4t .. 4t+3
//      a2: row g,     k = 16+4t .. 16+4t+3    a3: row g + 8, k = 16+4t .. 16+4t+3
//   B  b0: column g (row n0 + g of W), k = 4t .. 4t+3      b1: same column, k = 16+4t .. 16+4t+3
//   D  c0, c1: row g,     columns 2t, 2t+1    c2, c3: row g + 8, columns 2t, 2t+1
// Since 4 consecutive k of a row are 4 consecutive bytes in memory, every register is one
// aligned 4-byte load (ld4 below). Note the order of A: the rows alternate first (a0, a1),
// then the k half (a2, a3).
//
// Bound: none worth measuring here. Every fragment comes straight from global memory and is
// used once (v06_mma_gemm.cu stages tiles in shared memory and reuses each fragment for 8
// MMAs); this exercise is about the fragment layout, so it has no performance target.
//
// What to write: (a) for one k32 step at k0, the six registers a[0..3], b0, b1 of this lane,
// then the MMA. Rows of X at or past M and rows of W at or past N are not loaded but set to 0:
// their values would only reach rows and columns of D that are never stored, but the load
// itself would read past the end of X or W. (b) The epilogue: store c[0..3] to their (row,
// column) of Y with the scales, Y[m, n] = c * SX[m] * SW[n] in fp32, as fp16, guarded by
// m < M and n < N.
#include <cuda_fp16.h>

#ifndef WARPS
#define WARPS 4
#endif

// D += A·B for one 16x8x32 int8 tile (see the layout above); the lab's common/lab.cuh has it too.
__device__ __forceinline__ void mma_s8_m16n8k32(int (&d)[4], const unsigned (&a)[4], unsigned b0, unsigned b1)
{
    asm volatile("mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 "
                 "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
                 : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// The 4 bytes p[0..3] as one register, p[0] in the low byte (p must be 4-byte aligned).
__device__ __forceinline__ unsigned ld4(const signed char* p)
{
    return __ldg(reinterpret_cast<const unsigned*>(p));
}

extern "C" __global__ void __launch_bounds__(WARPS * 32)
a8w8_mma_tile(const signed char* __restrict__ X, const __half* __restrict__ SX,
              const signed char* __restrict__ W, const __half* __restrict__ SW,
              __half* __restrict__ Y, int M, int N, int K)
{
    const int lane = threadIdx.x & 31;
    const int g = lane >> 2, t = lane & 3;  // groupID, threadID_in_group
    const int m0 = 16 * blockIdx.y;
    const int n0 = 8 * (blockIdx.x * WARPS + (threadIdx.x >> 5));
    if (n0 >= N) return;  // whole warps leave together: mma.sync needs all 32 lanes

    int c[4] = {0, 0, 0, 0};  // this lane's piece of the 16 x 8 int32 tile D
    for (int k0 = 0; k0 < K; k0 += 32) {
        unsigned a[4], b0, b1;
        // BEGIN SOLUTION hint="a0 row g, a1 row g+8 (bytes k0+4t..), a2 row g, a3 row g+8 (bytes k0+16+4t..); b0, b1: row n0+g of W, same bytes; 0 past M / N; then mma_s8_m16n8k32(c, a, b0, b1)"
        const bool lo = m0 + g < M, hi = m0 + g + 8 < M, col = n0 + g < N;
        const signed char* x_lo = X + (size_t)(m0 + g) * K + k0 + 4 * t;  // row g of the tile
        const signed char* x_hi = x_lo + (size_t)8 * K;                   // row g + 8
        const signed char* w_col = W + (size_t)(n0 + g) * K + k0 + 4 * t; // column g of B
        a[0] = lo ? ld4(x_lo) : 0u;
        a[1] = hi ? ld4(x_hi) : 0u;
        a[2] = lo ? ld4(x_lo + 16) : 0u;
        a[3] = hi ? ld4(x_hi + 16) : 0u;
        b0 = col ? ld4(w_col) : 0u;
        b1 = col ? ld4(w_col + 16) : 0u;
        mma_s8_m16n8k32(c, a, b0, b1);
        // END SOLUTION
    }

    // BEGIN SOLUTION hint="c[2h + j] is row m0 + g + 8h, column n0 + 2t + j; guard m < M, n < N; Y = c * SX[m] * SW[n] as fp16"
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        const int m = m0 + g + 8 * h;
        if (m >= M) continue;
        const float sx = __half2float(SX[m]);
#pragma unroll
        for (int j = 0; j < 2; ++j) {
            const int n = n0 + 2 * t + j;
            if (n < N) Y[(size_t)m * N + n] = __float2half((float)c[2 * h + j] * sx * __half2float(SW[n]));
        }
    }
    // END SOLUTION
}
