// v05_mma_m8n8k16 — A8W8 GEMM with mma.sync m8n8k16 and ldmatrix: the Turing (sm_75) path.
//
// Computes  Y[m, n] = (sum_k X[m, k] * W[n, k]) * sx[m] * sw[n]   (as v02, any M)
// Grid: x over 64-column tiles of N, y over 64-row tiles of M. Block: 4 warps as
// 2 x 2, each owning 32 x 32 outputs: 4 x 4 MMA tiles of 8 x 8.
//
// Bound: MMA (int8 Tensor Cores); on sm_80+ the m16n8k32 shape of v06 does twice
// the work per instruction, so this variant is the one for T4-class GPUs.
// Changed from v04: the fragments are explicit. An m8n8k16 int8 MMA takes, per lane,
// one register of A (row lane/4, bytes 4*(lane%4)..+3 of a 16-byte k slice) and one
// of B (column lane/4, the same bytes), and returns two int32 of C (row lane/4,
// columns 2*(lane%4), +1). That is exactly what ldmatrix delivers for an 8 x 16-byte
// block of shared memory, so one ldmatrix.x4 loads four A (or B) fragments, and the
// epilogue knows which outputs each lane holds: scales are applied straight from
// registers, no trip through shared memory. Rows are padded to 80 bytes so the 8
// row addresses of an ldmatrix fall in 8 different bank groups.
//
// Expects: #define RAW. Needs K % 16 == 0 (16-byte rows).
#include "lab.cuh"

#define TILE 64
#define BK 64                 // bytes (= k) per step: 4 k16 steps
#define SROW (BK + 16)        // padded row, bytes

__device__ __forceinline__ void mma_s8_m8n8k16(int (&d)[2], unsigned a, unsigned b)
{
    asm volatile("mma.sync.aligned.m8n8k16.row.col.s32.s8.s8.s32 {%0,%1}, {%2}, {%3}, {%0,%1};"
                 : "+r"(d[0]), "+r"(d[1]) : "r"(a), "r"(b));
}

extern "C" __global__ void __launch_bounds__(128)
a8w8_mma_m8n8k16(const signed char* __restrict__ X, const __half* __restrict__ SX,
                 const signed char* __restrict__ W, const __half* __restrict__ SW,
                 out_t* __restrict__ Y, int M, int N, int K)
{
    __shared__ __align__(16) signed char As[TILE * SROW];
    __shared__ __align__(16) signed char Bs[TILE * SROW];
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, wm = warp >> 1, wn = warp & 1;
    const int m0 = blockIdx.y * TILE, n0 = blockIdx.x * TILE;
    const int4 zero = make_int4(0, 0, 0, 0);

    int acc[4][4][2] = {};
    for (int k0 = 0; k0 < K; k0 += BK) {
#pragma unroll
        for (int i = 0; i < TILE * (BK / 16) / 128; ++i) {  // 2 chunks of 16 bytes per thread per tile
            const int e = tid + 128 * i, r = e / (BK / 16), col = 16 * (e % (BK / 16)), k = k0 + col;
            *reinterpret_cast<int4*>(As + r * SROW + col) =
                (m0 + r < M && k < K) ? __ldg(reinterpret_cast<const int4*>(X + (size_t)(m0 + r) * K + k)) : zero;
            *reinterpret_cast<int4*>(Bs + r * SROW + col) =
                (n0 + r < N && k < K) ? __ldg(reinterpret_cast<const int4*>(W + (size_t)(n0 + r) * K + k)) : zero;
        }
        __syncthreads();
#pragma unroll
        for (int ks = 0; ks < BK / 16; ++ks) {
            unsigned a[4], b[4];  // lane l gives row l: matrix l/8 = the l/8-th 8-row tile
            ldmatrix_x4(a, As + (32 * wm + lane) * SROW + 16 * ks);
            ldmatrix_x4(b, Bs + (32 * wn + lane) * SROW + 16 * ks);
#pragma unroll
            for (int i = 0; i < 4; ++i)
#pragma unroll
                for (int j = 0; j < 4; ++j) mma_s8_m8n8k16(acc[i][j], a[i], b[j]);
        }
        __syncthreads();
    }

#pragma unroll
    for (int i = 0; i < 4; ++i) {
        const int m = m0 + 32 * wm + 8 * i + lane / 4;
        if (m >= M) continue;
#pragma unroll
        for (int j = 0; j < 4; ++j) {
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                const int n = n0 + 32 * wn + 8 * j + 2 * (lane & 3) + h;
                if (n >= N) continue;
#if RAW
                Y[(size_t)m * N + n] = acc[i][j][h];
#else
                Y[(size_t)m * N + n] = __float2half((float)acc[i][j][h] * __half2float(SX[m]) * __half2float(SW[n]));
#endif
            }
        }
    }
}
