// v04_wgmma — fp16 GEMM with Hopper's warpgroup MMA (sm_90a only), fp32 accumulation.
//
// Computes  Y[m, n] = sum_k X[m, k] * W[n, k]
//   X [M, K], W [N, K], Y [M, N] fp16.
// Block: WGS warpgroups (128 * WGS threads) over a (64 * WGS) x 256 tile of Y; each warpgroup owns
// 64 x 256 outputs: one wgmma m64n256k16 per 16 values of k, 128 fp32 accumulators per thread.
// Grid: one dimension, grouped block order.
//
// Bound: MMA at the wgmma fp16 rate (ceilings/wgmma_rate.cu), the rate cuBLAS's Hopper kernels
// use; mma.sync (dequant/v07) cannot reach it on Hopper. This kernel reaches ~60% of it: every
// stage, all threads wait for their own copies and meet at a block barrier before the MMAs, and
// the Tensor Cores idle there (v05 removes that). WGS = 3 (192 x 256 tiles) reads 29% fewer L2
// bytes per flop; it measured no faster (benchmarks/NOTES.md): the limit is the loop, not L2.
// Changed from the lab's other fp16 kernels: this runs int8/v09_wgmma.cu's main loop
// (cp_async_wgmma_loop in wgmma.cuh) — same tiles, 128-byte swizzled rows, cp.async pipeline, all
// counted in bytes — because an fp16 m64n256k16
// reads 32 bytes of k per row, as the s8 m64n256k32 does: a stage's 128-byte row is 64 fp16
// instead of 128 int8, and stepping the descriptors by 32 bytes is the same +2. Only the
// instruction (f16 operands, f32 accumulators) and the epilogue change. fp16 products are exact
// in fp32 and Hopper's fp16 MMA accumulates in full fp32, so, unlike the fp8 wgmma (fp8/v04),
// the k loop needs no promotion.
//
// Expects: #define STAGES (>= 3), WGS (2 or 3). Needs K % 8 == 0 (16-byte chunks of fp16 rows).
// Dynamic shared memory: STAGES * (64 * WGS + 256) * 128 + 1024 bytes (1 KB to align the swizzle).
#include "wgmma.cuh"

#ifndef WGS
#define WGS 2                     // warpgroups: each owns 64 rows of the tile
#endif
#define THREADS (128 * WGS)
#define BM (64 * WGS)
#define BN 256
#define BK 128                    // bytes (= 64 fp16 of k) per stage: one 128-byte swizzle row
#define A_STAGE (BM * BK)         // bytes
#define B_STAGE (BN * BK)
#define GROUP_M 8

extern "C" __global__ void __launch_bounds__(THREADS, 1)
fp16_wgmma(const __half* __restrict__ Xh, const __half* __restrict__ Wh, __half* __restrict__ Y, int M, int N, int K)
{
    extern __shared__ unsigned char smem_raw[];
    // The swizzle pattern repeats every 1024 bytes and is anchored to the address: align.
    unsigned char* smem = smem_raw + ((1024 - (static_cast<unsigned>(__cvta_generic_to_shared(smem_raw)) & 1023)) & 1023);
    unsigned char* As = smem;
    unsigned char* Bs = smem + STAGES * A_STAGE;
    const unsigned char* X = reinterpret_cast<const unsigned char*>(Xh);
    const unsigned char* W = reinterpret_cast<const unsigned char*>(Wh);
    const int KB = 2 * K;  // bytes per row

    int tile_m, tile_n;
    grouped_tile(blockIdx.x, (M + BM - 1) / BM, (N + BN - 1) / BN, GROUP_M, tile_m, tile_n);
    const int m0 = tile_m * BM, n0 = tile_n * BN;

    const int tid = threadIdx.x, wg = tid >> 7, t = tid & 127, warp = t >> 5, lane = t & 31;
    float d[128];
#pragma unroll
    for (int i = 0; i < 128; ++i) d[i] = 0.f;
    cp_async_wgmma_loop<STAGES, BM, BN, THREADS>(d, As, Bs, X, W, m0, n0, M, N, KB, tid, wg,
                                                 [&](unsigned long long da, unsigned long long db) {
#pragma unroll
        for (int ks = 0; ks < BK / 32; ++ks)  // 16 fp16 = 32 bytes along k = +2 in the address field
            wgmma_f16_m64n256k16(d, da + 2 * ks, db + 2 * ks, 1);
    });

    store_m64n256_f16(Y, d, 1.f, m0 + 64 * wg + 16 * warp, n0, M, N, lane);
}
