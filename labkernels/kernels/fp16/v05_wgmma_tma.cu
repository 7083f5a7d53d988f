// v05_wgmma_tma — fp16 GEMM on Hopper: the tiles loaded by the tensor memory accelerator (TMA)
// for a producer warpgroup, handed to two consumer warpgroups through mbarriers (sm_90a only).
//
// Computes  Y[m, n] = sum_k X[m, k] * W[n, k]   (times XG[0] * WG[0] with TENSOR_SCALE = 1)
//   X [M, K], W [N, K], Y [M, N] fp16, fp32 accumulation; X and W are read through *tensor maps*
//   (labkernels.kernels.fp16.tensor_map): 2-D views of their bytes, [rows, 2K], with a box of
//   128 bytes x 128 (X) or 256 (W) rows and the 128-byte swizzle.
// Block: 3 warpgroups (384 threads). Warpgroup 0 is the producer: one thread issues two TMA copies a
// stage. Warpgroups 1 and 2 are consumers: each owns 64 x 256 outputs of the 128 x 256 tile, one
// wgmma m64n256k16 per 16 values of k, 128 fp32 accumulators per thread. Grid: grouped order.
//
// Bound: MMA at the wgmma fp16 rate (ceilings/wgmma_rate.cu).
// Changed from v04 (the same tiles, swizzle and wgmma): v04's 256 threads each copied 12 chunks
// of 16 bytes a stage with cp.async, then all of them met at a barrier before the MMAs of the
// stage: the Tensor Cores idled at every barrier and behind every late copy, and v04 ran at ~60%
// of the wgmma rate however its tiles were shaped (benchmarks/NOTES.md). Here:
//  * one instruction copies a whole 128-byte x 256-row tile, addresses and swizzle computed by
//    the copy engine; it counts the bytes it delivers on the stage's "full" mbarrier;
//  * a consumer waits only for the stage it needs (mbarrier phase parity), and tells the producer
//    a slot is free by arriving on its "empty" mbarrier once its MMAs have read it (one arrive per
//    warp). No block-wide barrier is left in the loop; the producer runs up to STAGES ahead;
//  * setmaxnreg gives the producer's registers (it needs few) to the consumers' accumulators.
// Rows past M or N and bytes past 2K are zero-filled by the copy engine: tails need no code.
//
// Expects: #define STAGES (2..4). Needs K % 8 == 0 (tensor-map rows are multiples of 16 bytes).
// Dynamic shared memory: STAGES * (128 + 256) * 128 + 1024 + 16 * STAGES bytes.
#include "wgmma.cuh"

#ifndef TENSOR_SCALE
#define TENSOR_SCALE 0
#endif
#define BM 128
#define BN 256
#define BK 128                    // bytes (= 64 fp16 of k) per stage: one 128-byte swizzle row
#define A_STAGE (BM * BK)
#define B_STAGE (BN * BK)
#define GROUP_M 8

extern "C" __global__ void __launch_bounds__(384, 1)
fp16_wgmma_tma(const void* __restrict__ TX, const float* __restrict__ XG,
               const void* __restrict__ TW, const float* __restrict__ WG,
               __half* __restrict__ Y, int M, int N, int K)
{
    extern __shared__ unsigned char smem_raw[];
    unsigned char *As, *Bs;
    unsigned long long *full, *empty;
    tma_stages_layout<STAGES, A_STAGE, B_STAGE>(smem_raw, As, Bs, full, empty);

    int tile_m, tile_n;
    grouped_tile(blockIdx.x, (M + BM - 1) / BM, (N + BN - 1) / BN, GROUP_M, tile_m, tile_n);
    const int m0 = tile_m * BM, n0 = tile_n * BN;
    const int tid = threadIdx.x, wg = tid >> 7, t = tid & 127, warp = t >> 5, lane = t & 31;
    const int KC = (2 * K + BK - 1) / BK;

    if (tid == 0) tma_pipeline_init<STAGES>(full, empty, 8);  // 8 consumer warps release each slot
    __syncthreads();

    if (wg == 0) {
        asm volatile("setmaxnreg.dec.sync.aligned.u32 40;");
        if (t == 0) tma_produce<STAGES, A_STAGE, B_STAGE>(As, Bs, TX, TW, m0, n0, KC, full, empty);
    } else {
        asm volatile("setmaxnreg.inc.sync.aligned.u32 232;");
        const int c = wg - 1;  // consumer: rows 64c..64c+63 of the tile
        float d[128];
#pragma unroll
        for (int i = 0; i < 128; ++i) d[i] = 0.f;
        for (int kc = 0; kc < KC; ++kc) {
            const int s = kc % STAGES;
            mbar_wait(&full[s], (kc / STAGES) & 1);
            const unsigned long long da = smem_desc(As + s * A_STAGE + c * 64 * BK);
            const unsigned long long db = smem_desc(Bs + s * B_STAGE);
            fence_operands(d);
            wgmma_fence();
#pragma unroll
            for (int ks = 0; ks < BK / 32; ++ks)  // 16 fp16 = 32 bytes along k = +2 in the address field
                wgmma_f16_m64n256k16(d, da + 2 * ks, db + 2 * ks, 1);
            wgmma_commit();
            wgmma_wait<1>();  // the group of kc - 1 is done: its slot goes back to the producer
            fence_operands(d);
            if (kc > 0 && lane == 0) mbar_arrive(&empty[(kc - 1) % STAGES]);
        }
        wgmma_wait<0>();
        fence_operands(d);

#if TENSOR_SCALE
        const float g = XG[0] * WG[0];
#else
        const float g = 1.f;  // XG, WG unused
#endif
        store_m64n256_f16(Y, d, g, m0 + 64 * c + 16 * warp, n0, M, N, lane);
    }
}
