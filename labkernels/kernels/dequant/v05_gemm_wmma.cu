// v05_gemm_wmma — W4A16 GEMM on the Tensor Cores through the WMMA API (sm_70+):
// weights dequantized into a shared-memory fp16 tile, then wmma::mma_sync.
//
// Computes  Y[m, n] = sum_k X[m, k] * (q[n, k] - z[n, g]) * s[n, g]   (fp32 accumulation)
// Arguments and layouts as v02 (natural packing: QW [N, K/2], even k in the low nibble).
// Grid: x over 64-column tiles of N, y over 64-row tiles of M. Block: 4 warps (2 x 2),
// each computing a 32 x 32 tile of Y as 2 x 2 WMMA 16x16x16 fragments.
//
// Bound: MMA for large M; but here shared memory traffic comes first: every
// weight is dequantized, written to shared memory as fp16 and read back by WMMA.
// Changed from v04: the multiply-adds move to the Tensor Cores. WMMA's fragment
// layout is opaque ("unspecified" in the CUDA guide), so the weights cannot be
// dequantized straight into fragment registers: they take a detour through a
// shared-memory fp16 tile that wmma::load_matrix_sync reads. v07 removes the
// detour with mma.sync, whose fragment layout is documented.
//
// Needs K % 32 == 0 (a 32-wide K step is one 16-byte load per row of W and never
// straddles a group).
#include <mma.h>
#include "lab.cuh"

using namespace nvcuda;

#define TM 64
#define TN 64
#define TK 32
#define XS (TK + 8)   // fp16 row stride of the X and W tiles (multiple of 8, as WMMA needs)
#define CS (TN + 4)   // fp32 row stride of the output staging tile

extern "C" __global__ void __launch_bounds__(128)
w4a16_gemm_wmma(const __half* __restrict__ X, const unsigned char* __restrict__ QW,
                const __half* __restrict__ S, const unsigned char* __restrict__ Z,
                __half* __restrict__ Y, int M, int N, int K, int G)
{
    __shared__ __align__(32) __half xs[TM][XS];
    __shared__ __align__(32) __half ws[TN][XS];
    __shared__ __align__(32) float cs[TM][CS];

    const int tid = threadIdx.x, warp = tid >> 5;
    const int wm = warp >> 1, wn = warp & 1;
    const int m0 = blockIdx.y * TM, n0 = blockIdx.x * TN;
    const int group = K / G;

    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[2][2];
#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j) wmma::fill_fragment(acc[i][j], 0.0f);

    for (int k0 = 0; k0 < K; k0 += TK) {
        // X tile: 64 rows x 32 halves = 256 16-byte pieces, two per thread; zero outside M.
#pragma unroll
        for (int i = 0; i < 2; ++i) {
            const int c = tid + 128 * i, r = c / 4, col = (c % 4) * 8;
            uint4 v = make_uint4(0, 0, 0, 0);
            if (m0 + r < M) v = *reinterpret_cast<const uint4*>(X + (size_t)(m0 + r) * K + k0 + col);
            *reinterpret_cast<uint4*>(&xs[r][col]) = v;
        }
        // W tile: 64 rows x 32 weights; threads 0-63 each dequantize one row's 16 bytes.
        if (tid < TN) {
            const int n = n0 + tid;
            uint4 raw = make_uint4(0, 0, 0, 0);
            float s = 0.f, z = 8.f;
            if (n < N) {
                raw = *reinterpret_cast<const uint4*>(QW + (size_t)n * (K / 2) + k0 / 2);
                const int g = k0 / group;
                s = __half2float(S[(size_t)n * G + g]);
                if (Z) z = (float)Z[(size_t)n * G + g];
            }
            const __half2 zq = __float2half2_rn(1024.f + z), s2 = __float2half2_rn(s);
            const unsigned words[4] = {raw.x, raw.y, raw.z, raw.w};
#pragma unroll
            for (int j = 0; j < 4; ++j) {
                // (e0,e4) (e1,e5) (e2,e6) (e3,e7) -> natural order (e0,e1) (e2,e3) (e4,e5) (e6,e7)
                __half2 p[4];
#pragma unroll
                for (int i = 0; i < 4; ++i) p[i] = __hmul2(__hsub2(int4_pair_magic(words[j] >> (4 * i)), zq), s2);
                __half2* dst = reinterpret_cast<__half2*>(&ws[tid][8 * j]);
                dst[0] = __lows2half2(p[0], p[1]);
                dst[1] = __lows2half2(p[2], p[3]);
                dst[2] = __highs2half2(p[0], p[1]);
                dst[3] = __highs2half2(p[2], p[3]);
            }
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < TK; kk += 16) {
            wmma::fragment<wmma::matrix_a, 16, 16, 16, __half, wmma::row_major> a[2];
            wmma::fragment<wmma::matrix_b, 16, 16, 16, __half, wmma::col_major> b[2];
#pragma unroll
            for (int i = 0; i < 2; ++i) wmma::load_matrix_sync(a[i], &xs[32 * wm + 16 * i][kk], XS);
#pragma unroll
            for (int j = 0; j < 2; ++j) wmma::load_matrix_sync(b[j], &ws[32 * wn + 16 * j][kk], XS);
#pragma unroll
            for (int i = 0; i < 2; ++i)
#pragma unroll
                for (int j = 0; j < 2; ++j) wmma::mma_sync(acc[i][j], a[i], b[j], acc[i][j]);
        }
        __syncthreads();  // the tiles are overwritten next step
    }

#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j)
            wmma::store_matrix_sync(&cs[32 * wm + 16 * i][32 * wn + 16 * j], acc[i][j], CS, wmma::mem_row_major);
    __syncthreads();
    for (int i = tid; i < TM * TN; i += 128) {
        const int r = i / TN, c = i % TN;
        if (m0 + r < M && n0 + c < N) Y[(size_t)(m0 + r) * N + n0 + c] = __float2half(cs[r][c]);
    }
}
