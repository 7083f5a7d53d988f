// v04_wmma — A8W8 GEMM on the Tensor Cores through WMMA (int8 16x16x16, sm_72+).
//
// Computes  Y[m, n] = (sum_k X[m, k] * W[n, k]) * sx[m] * sw[n]   (as v02, any M)
// Grid: x over 64-column tiles of N, y over 64-row tiles of M. Block: 4 warps as
// 2 x 2, each owning a 32 x 32 tile of Y: 2 x 2 WMMA accumulators (int32).
//
// Bound: MMA (int8 Tensor Cores), reached only in part: WMMA hides the fragment
// layouts, so data moves global -> registers -> shared -> fragments with no overlap
// between loading and multiplying.
// Changed from v03: the 16x16x16 product of a warp's fragments replaces 64 dp4a
// per thread; the CUDA cores only move data. Shared memory holds each 16x16 byte
// block of a tile contiguously ([k block][row][16 bytes]): WMMA wants 256-bit
// aligned fragment pointers, and 16-byte k steps in a row-major tile are not.
// The integer tile goes through shared memory once more for the scale epilogue,
// because the order of elements in a WMMA accumulator is unspecified.
//
// Expects: #define RAW. Needs K % 16 == 0 (16-byte rows).
#include "lab.cuh"
#include <mma.h>
using namespace nvcuda;

#define TILE 64
#define BK 64            // bytes (= k) per step
#define KB (BK / 16)     // 16-byte k blocks per step
#define C_STRIDE (TILE + 4)

extern "C" __global__ void __launch_bounds__(128)
a8w8_wmma(const signed char* __restrict__ X, const __half* __restrict__ SX,
          const signed char* __restrict__ W, const __half* __restrict__ SW,
          out_t* __restrict__ Y, int M, int N, int K)
{
    __shared__ __align__(32) int4 As[KB][TILE];  // As[kb][r]: X[m0 + r, k0 + 16kb .. +16]
    __shared__ __align__(32) int4 Bs[KB][TILE];
    __shared__ __align__(32) int Cs[TILE][C_STRIDE];
    const int tid = threadIdx.x, warp = tid >> 5, wm = warp >> 1, wn = warp & 1;
    const int m0 = blockIdx.y * TILE, n0 = blockIdx.x * TILE;
    const int4 zero = make_int4(0, 0, 0, 0);

    wmma::fragment<wmma::accumulator, 16, 16, 16, int> acc[2][2];
#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j) wmma::fill_fragment(acc[i][j], 0);

    for (int k0 = 0; k0 < K; k0 += BK) {
#pragma unroll
        for (int i = 0; i < TILE * KB / 128; ++i) {  // 2 chunks of each tile per thread
            const int e = tid + 128 * i, r = e / KB, kb = e % KB, k = k0 + 16 * kb;
            As[kb][r] = (m0 + r < M && k < K) ? __ldg(reinterpret_cast<const int4*>(X + (size_t)(m0 + r) * K + k)) : zero;
            Bs[kb][r] = (n0 + r < N && k < K) ? __ldg(reinterpret_cast<const int4*>(W + (size_t)(n0 + r) * K + k)) : zero;
        }
        __syncthreads();
#pragma unroll
        for (int kb = 0; kb < KB; ++kb) {
            wmma::fragment<wmma::matrix_a, 16, 16, 16, signed char, wmma::row_major> a[2];
            wmma::fragment<wmma::matrix_b, 16, 16, 16, signed char, wmma::col_major> b[2];
#pragma unroll
            for (int i = 0; i < 2; ++i)
                wmma::load_matrix_sync(a[i], reinterpret_cast<const signed char*>(&As[kb][32 * wm + 16 * i]), 16);
#pragma unroll
            for (int j = 0; j < 2; ++j)  // W [N, K] row-major is B = Wᵀ column-major
                wmma::load_matrix_sync(b[j], reinterpret_cast<const signed char*>(&Bs[kb][32 * wn + 16 * j]), 16);
#pragma unroll
            for (int i = 0; i < 2; ++i)
#pragma unroll
                for (int j = 0; j < 2; ++j) wmma::mma_sync(acc[i][j], a[i], b[j], acc[i][j]);
        }
        __syncthreads();
    }

#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j)
            wmma::store_matrix_sync(&Cs[32 * wm + 16 * i][32 * wn + 16 * j], acc[i][j], C_STRIDE, wmma::mem_row_major);
    __syncthreads();
    for (int e = tid; e < TILE * TILE; e += 128) {
        const int r = e / TILE, c = e % TILE, m = m0 + r, n = n0 + c;
        if (m < M && n < N) {
#if RAW
            Y[(size_t)m * N + n] = Cs[r][c];
#else
            Y[(size_t)m * N + n] = __float2half((float)Cs[r][c] * __half2float(SX[m]) * __half2float(SW[n]));
#endif
        }
    }
}
