// v05_wgmma_tma — FP8 (e4m3) GEMM on Hopper: fp16/v05's producer/consumer TMA pipeline with
// fp8/v04's per-stage promotion (sm_90a only).
//
// Computes  Y[m, n] = (sum_k X[m, k] * W[n, k]) * sx[m] * sw[n]   (as v04)
//   X [M, K], W [N, K] float8_e4m3fn codes, read through TMA tensor maps of their bytes (a box of
//   128 bytes of k x 128 rows of X or BN rows of W, 128-byte swizzle); sx [M, 1], sw [N, 1] fp32;
//   Y [M, N] fp16.
// Block: 3 warpgroups (384 threads): warpgroup 0 produces (one thread, two TMA copies a stage),
// warpgroups 1 and 2 each own 64 x BN outputs of the 128 x BN tile: one wgmma m64nBNk32 per 32
// values of k into fresh accumulators, added into fp32 sums after every stage of 128 k.
// Grid: grouped block order.
//
// Bound: MMA at the wgmma fp8 rate (ceilings/wgmma_rate.cu).
// Changed from v04: the loads and the synchronization of fp16/v05_wgmma_tma.cu (its header says
// why). Promotion is where v04 lost most: every stage, each warpgroup must wait for its own MMAs
// before adding them into fp32 (DeepSeek-V3's recipe for Hopper's ~14-bit fp8 accumulation, see
// v04), and in v04 both warpgroups did so at the same moment, between two block barriers, with the
// Tensor Cores idle. Here the two consumers are not tied to each other: while one waits and adds,
// the other's MMAs run. The sums take registers (BN/2 accumulators + BN/2 sums a thread), which
// setmaxnreg can now give: BN = 192 fits in the consumers' 232 registers, where v04 stopped at 128.
//
// Expects: #define STAGES (2..6), BN (128 or 192). Needs K % 16 == 0.
// Dynamic shared memory: STAGES * (128 + BN) * 128 + 1024 + 16 * STAGES bytes.
#include "wgmma.cuh"

#define BM 128
#define BK 128                    // bytes (= k) per stage: one 128-byte swizzle row
#define A_STAGE (BM * BK)
#define B_STAGE (BN * BK)
#define ACCS (BN / 2)             // accumulators a thread: 64 rows x BN columns over 128 threads
#define GROUP_M 8

#if BN != 128 && BN != 192
#error "BN must be 128 or 192"
#endif
#define WGMMA wgmma_e4m3_k32<BN>  // wgmma.cuh

extern "C" __global__ void __launch_bounds__(384, 1)
fp8_wgmma_tma(const void* __restrict__ TX, const float* __restrict__ SX,
              const void* __restrict__ TW, const float* __restrict__ SW,
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
    const int KC = (K + BK - 1) / BK;

    if (tid == 0) tma_pipeline_init<STAGES>(full, empty, 8);  // 8 consumer warps release each slot
    __syncthreads();

    if (wg == 0) {
        asm volatile("setmaxnreg.dec.sync.aligned.u32 40;");
        if (t == 0) tma_produce<STAGES, A_STAGE, B_STAGE>(As, Bs, TX, TW, m0, n0, KC, full, empty);
    } else {
        asm volatile("setmaxnreg.inc.sync.aligned.u32 232;");
        const int c = wg - 1;  // consumer: rows 64c..64c+63 of the tile
        float d[ACCS], sum[ACCS];
#pragma unroll
        for (int i = 0; i < ACCS; ++i) { d[i] = 0.f; sum[i] = 0.f; }
        for (int kc = 0; kc < KC; ++kc) {
            const int s = kc % STAGES;
            mbar_wait(&full[s], (kc / STAGES) & 1);
            const unsigned long long da = smem_desc(As + s * A_STAGE + c * 64 * BK);
            const unsigned long long db = smem_desc(Bs + s * B_STAGE);
            fence_operands(d);
            wgmma_fence();
#pragma unroll
            for (int ks = 0; ks < BK / 32; ++ks)  // +32 bytes along k = +2 in the address field
                WGMMA(d, da + 2 * ks, db + 2 * ks, ks != 0);  // the stage starts from zero
            wgmma_commit();
            wgmma_wait<0>();  // promotion: this stage's partial sum joins the fp32 total
            fence_operands(d);
            if (lane == 0) mbar_arrive(&empty[s]);  // the slot has been read
#pragma unroll
            for (int i = 0; i < ACCS; ++i) sum[i] += d[i];
        }

        // Accumulator layout: warp w of the warpgroup holds rows 16w..16w+15; in each 8-column
        // block i, sum[4i], sum[4i+1] are row lane/4, columns 2(lane%4), +1; sum[4i+2], sum[4i+3] row + 8.
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            const int m = m0 + 64 * c + 16 * warp + lane / 4 + 8 * h;
            if (m >= M) continue;
            const float sx = SX[m];
#pragma unroll
            for (int i = 0; i < BN / 8; ++i) {
                const int n = n0 + 8 * i + 2 * (lane & 3);
                const float y0 = sum[4 * i + 2 * h] * sx * (n < N ? SW[n] : 0.f);
                const float y1 = sum[4 * i + 2 * h + 1] * sx * (n + 1 < N ? SW[n + 1] : 0.f);
                store_f16x2(Y, m, n, N, y0, y1);
            }
        }
    }
}
