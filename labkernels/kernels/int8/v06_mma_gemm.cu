// v06_mma_gemm — A8W8 GEMM: mma.sync m16n8k32 fed by ldmatrix, a STAGES-deep cp.async
// pipeline, large warp tiles, grouped block order (sm_80+).
//
// Computes  Y[m, n] = (sum_k X[m, k] * W[n, k]) * sx[m] * sw[n]   (as v02, any M)
// Block: WARPS_M x WARPS_N warps over a BM x BN tile of Y; each warp owns a
// (BM/WARPS_M) x (BN/WARPS_N) tile: MT x NT MMA tiles of 16 x 8, int32 in registers.
// Grid: one dimension, ceil(M/BM) * ceil(N/BN) blocks in grouped order (below).
//
// Bound: MMA (int8 mma.sync). On Hopper mma.sync reaches about 65% of the int8
// datasheet peak (the rest needs wgmma); the lab measures that ceiling with its own
// microbenchmark and compares this kernel with it and with cuBLAS.
// Changed from v05: (1) m16n8k32 does 4x the multiply-adds of m8n8k16 per
// instruction; its fragments hold the same bytes as an fp16 m16n8k16's, so one
// ldmatrix.x4 loads a 16 x 32-byte A fragment or two 8 x 32-byte B fragments.
// (2) Tiles stream global -> shared with cp.async, STAGES - 1 k-steps ahead of the
// MMAs: no registers pass through, and loading overlaps computing. (3) Each warp
// keeps a 64 x 64 (or 64 x 32) tile, so every fragment loaded feeds 8 (or 4) MMAs:
// the MMA pipe, not shared memory, sets the pace. (4) Blocks run in groups of GROUP_M
// row tiles: blocks resident at the same time share the same few tiles of W and X,
// which then come from L2 instead of DRAM.
//
// Expects: #define BM, BN, WARPS_M, WARPS_N, STAGES, RAW. Needs K % 16 == 0.
// Dynamic shared memory: STAGES * (BM + BN) * (128 + 16) bytes.
#include "lab.cuh"

// fp8/v03_mma_sync.cu includes this file with E4M3 = 1: the same pipeline with e4m3
// operands (an fp8 byte sits in fragments like an int8 byte), fp32 accumulators and scales.
#ifndef E4M3
#define E4M3 0
#endif
#if E4M3
typedef unsigned char elem_t;
typedef float acc_t;
typedef float scale_t;
typedef __half y_t;
#define KERNEL_NAME fp8_mma_sync
#define MMA_M16N8K32 mma_e4m3_m16n8k32
#else
typedef signed char elem_t;
typedef int acc_t;
typedef __half scale_t;
typedef out_t y_t;
#define KERNEL_NAME a8w8_mma_gemm
#define MMA_M16N8K32 mma_s8_m16n8k32
#endif

#define BK 128                       // bytes (= k) per pipeline stage: 4 MMA k-steps
#define SROW (BK + 16)               // padded row: 9 x 16 bytes, so 8 rows of an ldmatrix hit 8 bank groups
#define THREADS (32 * WARPS_M * WARPS_N)
#define WTM (BM / WARPS_M)
#define WTN (BN / WARPS_N)
#define MT (WTM / 16)
#define NT (WTN / 8)
#define GROUP_M 8

extern "C" __global__ void __launch_bounds__(THREADS, 1)
KERNEL_NAME(const elem_t* __restrict__ X, const scale_t* __restrict__ SX,
            const elem_t* __restrict__ W, const scale_t* __restrict__ SW,
            y_t* __restrict__ Y, int M, int N, int K)
{
    extern __shared__ __align__(16) unsigned char smem[];
    unsigned char* As = smem;
    unsigned char* Bs = smem + STAGES * BM * SROW;

    // Grouped order: blocks running together share tiles of X and W in L2 (lab.cuh).
    int tile_m, tile_n;
    grouped_tile(blockIdx.x, (M + BM - 1) / BM, (N + BN - 1) / BN, GROUP_M, tile_m, tile_n);
    const int m0 = tile_m * BM, n0 = tile_n * BN;

    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int wm = warp / WARPS_N, wn = warp % WARPS_N;
    const int KC = (K + BK - 1) / BK;

    // Copy k-chunk kc of the X and W tiles into stage `slot`; rows past M or N and
    // k past K become zeros (a zero adds nothing to an integer sum).
    auto load_stage = [&](int slot, int kc) {
        unsigned char* as = As + slot * BM * SROW;
        unsigned char* bs = Bs + slot * BN * SROW;
#pragma unroll
        for (int i = 0; i < BM * (BK / 16) / THREADS; ++i) {
            const int c = tid + THREADS * i, r = c / (BK / 16), col = 16 * (c % (BK / 16));
            const int k = kc * BK + col;
            const bool ok = m0 + r < M && k < K;
            cp_async16(as + r * SROW + col, ok ? (const void*)(X + (size_t)(m0 + r) * K + k) : (const void*)X,
                       ok ? 16 : 0);
        }
#pragma unroll
        for (int i = 0; i < BN * (BK / 16) / THREADS; ++i) {
            const int c = tid + THREADS * i, r = c / (BK / 16), col = 16 * (c % (BK / 16));
            const int k = kc * BK + col;
            const bool ok = n0 + r < N && k < K;
            cp_async16(bs + r * SROW + col, ok ? (const void*)(W + (size_t)(n0 + r) * K + k) : (const void*)W,
                       ok ? 16 : 0);
        }
    };

    acc_t acc[MT][NT][4];
#pragma unroll
    for (int i = 0; i < MT; ++i)
#pragma unroll
        for (int j = 0; j < NT; ++j)
#pragma unroll
            for (int e = 0; e < 4; ++e) acc[i][j][e] = 0;

#pragma unroll
    for (int s = 0; s < STAGES - 1; ++s) {
        if (s < KC) load_stage(s, s);
        cp_async_commit();  // commit even when empty: group counting stays uniform
    }

    for (int kc = 0; kc < KC; ++kc) {
        cp_async_wait<STAGES - 2>();  // chunk kc has landed (this thread's copies) ...
        __syncthreads();              // ... and everyone's; the slot of kc - 1 is free again
        if (kc + STAGES - 1 < KC) load_stage((kc + STAGES - 1) % STAGES, kc + STAGES - 1);
        cp_async_commit();

        const int slot = kc % STAGES;
        const unsigned char* as = As + slot * BM * SROW + (WTM * wm) * SROW;
        const unsigned char* bs = Bs + slot * BN * SROW + (WTN * wn) * SROW;
#pragma unroll
        for (int ks = 0; ks < BK / 32; ++ks) {
            unsigned a[MT][4], b[NT][2];
            // A: lanes 0-15 address rows 0-15 at byte 0, lanes 16-31 the same rows at byte 16.
#pragma unroll
            for (int i = 0; i < MT; ++i)
                ldmatrix_x4(a[i], as + (16 * i + (lane & 15)) * SROW + 32 * ks + 16 * (lane >> 4));
            // B: one ldmatrix.x4 = two n8 tiles x (bytes 0-15, 16-31): b0, b1 of each.
#pragma unroll
            for (int j = 0; j < NT; j += 2) {
                unsigned r[4];
                ldmatrix_x4(r, bs + (8 * j + (lane & 7) + 8 * (lane >> 4)) * SROW + 32 * ks + 16 * ((lane >> 3) & 1));
                b[j][0] = r[0]; b[j][1] = r[1]; b[j + 1][0] = r[2]; b[j + 1][1] = r[3];
            }
#pragma unroll
            for (int i = 0; i < MT; ++i)
#pragma unroll
                for (int j = 0; j < NT; ++j) MMA_M16N8K32(acc[i][j], a[i], b[j][0], b[j][1]);
        }
    }
    cp_async_wait<0>();

    store_mma_tiles(acc, Y, SX, SW, m0 + WTM * wm, n0 + WTN * wn, M, N, lane);  // lab.cuh
}
