// v03_dp4a_gemm — A8W8 GEMM on CUDA cores: 64x64 tiles in shared memory, dp4a.
//
// Computes  Y[m, n] = (sum_k X[m, k] * W[n, k]) * sx[m] * sw[n]   (as v02, any M)
// Grid: x over 64-column tiles of N, y over 64-row tiles of M. Block: 256 threads,
// each owning 4 x 4 outputs (rows ty + 16i, columns tx + 16j).
//
// Bound: the dp4a issue rate (CUDA cores). Every dp4a is 4 multiply-adds, so the
// ceiling is 4x the int32 multiply-add rate, far below any Tensor Core path.
// Changed from v02: for large M a warp per row re-reads W for every 16 rows of X.
// Here a block stages a 64 x 64-byte slice of X and of W in shared memory (as
// int32 words: 16 k-words per row) and every word fetched feeds 64 dp4a — the
// classic tiled GEMM of any CUDA course, with four products per instruction.
// Rows are padded to 17 words so the 16 threads reading 16 different W rows in one
// instruction hit 16 different banks.
//
// Expects: #define RAW. Needs K % 4 == 0 (whole int32 words of k).
#include "lab.cuh"

#define TILE 64
#define KW 16  // int32 words of k per step (64 bytes)

extern "C" __global__ void __launch_bounds__(256)
a8w8_dp4a_gemm(const signed char* __restrict__ X, const __half* __restrict__ SX,
               const signed char* __restrict__ W, const __half* __restrict__ SW,
               out_t* __restrict__ Y, int M, int N, int K)
{
    __shared__ int As[TILE][KW + 1];
    __shared__ int Bs[TILE][KW + 1];
    const int tid = threadIdx.x, tx = tid & 15, ty = tid >> 4;
    const int m0 = blockIdx.y * TILE, n0 = blockIdx.x * TILE;
    const int Kw = K / 4;
    const int* X32 = reinterpret_cast<const int*>(X);
    const int* W32 = reinterpret_cast<const int*>(W);

    int acc[4][4] = {};
    for (int k0 = 0; k0 < Kw; k0 += KW) {
#pragma unroll
        for (int i = 0; i < TILE * KW / 256; ++i) {  // 4 words of each tile per thread
            const int e = tid + 256 * i, r = e / KW, kw = e % KW;
            const bool kok = k0 + kw < Kw;
            As[r][kw] = (m0 + r < M && kok) ? X32[(size_t)(m0 + r) * Kw + k0 + kw] : 0;
            Bs[r][kw] = (n0 + r < N && kok) ? W32[(size_t)(n0 + r) * Kw + k0 + kw] : 0;
        }
        __syncthreads();
#pragma unroll
        for (int kw = 0; kw < KW; ++kw) {
            int a[4], b[4];
#pragma unroll
            for (int i = 0; i < 4; ++i) a[i] = As[ty + 16 * i][kw];
#pragma unroll
            for (int j = 0; j < 4; ++j) b[j] = Bs[tx + 16 * j][kw];
#pragma unroll
            for (int i = 0; i < 4; ++i)
#pragma unroll
                for (int j = 0; j < 4; ++j) acc[i][j] = __dp4a(a[i], b[j], acc[i][j]);
        }
        __syncthreads();
    }

#pragma unroll
    for (int i = 0; i < 4; ++i) {
        const int m = m0 + ty + 16 * i;
        if (m >= M) continue;
#pragma unroll
        for (int j = 0; j < 4; ++j) {
            const int n = n0 + tx + 16 * j;
            if (n >= N) continue;
#if RAW
            Y[(size_t)m * N + n] = acc[i][j];
#else
            Y[(size_t)m * N + n] = __float2half((float)acc[i][j] * __half2float(SX[m]) * __half2float(SW[n]));
#endif
        }
    }
}
