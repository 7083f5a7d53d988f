// v10_mma_tma — A8W8 GEMM: v06's mma.sync m16n8k32 and ldmatrix, fed by fp16/v05's TMA
// producer/consumer pipeline (sm_90a).
//
// Computes  Y[m, n] = (sum_k X[m, k] * W[n, k]) * sx[m] * sw[n]   (as v06; RAW = 1: int32 sums)
//   X [M, K], W [N, K] int8, read through TMA tensor maps of their bytes (a box of 128 bytes of k
//   x 128 rows of X or BN rows of W, 128-byte swizzle); sx [M, 1], sw [N, 1] fp16; Y [M, N] fp16.
// Block: 3 warpgroups (384 threads). Warpgroup 0 produces: one thread issues the two TMA copies
// of each stage. The 8 warps of warpgroups 1 and 2 consume: each owns a 64 x (BN/4) tile of the
// 128 x BN block tile, reads its fragments from the stage with ldmatrix and issues mma.sync.
// Grid: one block per tile in grouped order, or (persistent) one block per SM walking the tiles
// with a stride of the grid, so that the producer loads a tile's first stages while the consumers
// still store the last tile's outputs.
//
// Bound: MMA at the int8 mma.sync rate (ceilings/instr_rate.cu), the same as v06.
// Changed from v06: how the tiles reach shared memory and the fragments reach the MMAs.
// (1) In v06 all 128 threads compute the addresses of their cp.async copies, wait for their own
// copies, and then meet every thread of the block at a barrier before each stage's MMAs: every
// warp idles at that barrier behind the slowest copy and the slowest warp. Here the copy engine
// moves whole tiles (TMA); a stage's arrival is signalled on an mbarrier that only the warps
// needing it wait on, and each warp hands its slot back on a second mbarrier once its fragments
// are in registers. No block barrier is left in the loop, no consumer register holds an address
// of global memory, and `setmaxnreg` gives the producer's registers to the consumers (a 64 x 64
// warp tile takes 128 accumulators). The tiles arrive 128-byte swizzled (16-byte chunk c of row
// r at chunk c ^ (r % 8)), which keeps ldmatrix free of bank conflicts without v06's padding.
// (2) PIPE = 1: each warp loads the fragments of the next k-step while the MMAs of this one run,
// across stages too, so the ldmatrix latency at a stage boundary is hidden as well.
// (3) Persistent grid (the launcher's PERSIST = 1): while the consumers scale and store a tile,
// the producer already fills the stages of the next; the pipeline is filled once per SM, not once
// per tile.
// Measured at 8192^3 on the H100 (benchmarks/NOTES.md): (1) alone 880 TOP/s, v06 634;
// (1) + (2) 948; all three 995, torch._int_mm (cuBLASLt, wgmma) 941 in the same run.
//
// Expects: #define STAGES (2..4), BN (128 or 256), RAW; PIPE, GROUP_M optional. Needs K % 16 == 0.
// Dynamic shared memory: STAGES * (128 + BN) * 128 + 1024 + 16 * STAGES bytes.
#include "wgmma.cuh"

#define BM 128
#define BK 128                    // bytes (= k) per stage: one 128-byte swizzle row, 4 MMA k-steps
#define A_STAGE (BM * BK)
#define B_STAGE (BN * BK)
#define WTN (BN / 4)              // warp tile: 64 rows x WTN columns
#define MT 4                      // 16-row MMA tiles a warp
#define NT (WTN / 8)              // 8-column MMA tiles a warp
#ifndef PIPE
#define PIPE 1
#endif
#ifndef GROUP_M
#define GROUP_M 8                 // row tiles a column of the grouped order walks (lab.cuh)
#endif

#if BN != 128 && BN != 256
#error "BN must be 128 or 256"
#endif

// The byte offset of 16-byte chunk `chunk` of tile row `row` in a 128-byte-swizzled stage.
__device__ __forceinline__ unsigned swz(int row, int chunk) { return row * 128 + ((chunk ^ (row & 7)) << 4); }

// One k-step's fragments of a warp's 64 x WTN tile.
struct Frag {
    unsigned a[MT][4], b[NT][2];
};

__device__ __forceinline__ void load_frags(Frag& f, const unsigned char* as, const unsigned char* bs, int ks,
                                           int a_row, int a_half, int b_row, int b_half)
{
    // A: lanes 0-15 address rows 0-15 at bytes 0-15 of the k-step, lanes 16-31 bytes 16-31.
#pragma unroll
    for (int i = 0; i < MT; ++i) ldmatrix_x4(f.a[i], as + swz(a_row + 16 * i, 2 * ks + a_half));
    // B: one ldmatrix.x4 = two n8 tiles x (bytes 0-15, 16-31): b0, b1 of each.
#pragma unroll
    for (int j = 0; j < NT; j += 2) {
        unsigned r[4];
        ldmatrix_x4(r, bs + swz(b_row + 8 * j, 2 * ks + b_half));
        f.b[j][0] = r[0]; f.b[j][1] = r[1]; f.b[j + 1][0] = r[2]; f.b[j + 1][1] = r[3];
    }
}

__device__ __forceinline__ void mma_frags(int (&acc)[MT][NT][4], const Frag& f)
{
#pragma unroll
    for (int i = 0; i < MT; ++i)
#pragma unroll
        for (int j = 0; j < NT; ++j) mma_s8_m16n8k32(acc[i][j], f.a[i], f.b[j][0], f.b[j][1]);
}

extern "C" __global__ void __launch_bounds__(384, 1)
a8w8_mma_tma(const void* __restrict__ TX, const __half* __restrict__ SX,
             const void* __restrict__ TW, const __half* __restrict__ SW,
             out_t* __restrict__ Y, int M, int N, int K)
{
    extern __shared__ unsigned char smem_raw[];
    unsigned char *As, *Bs;
    unsigned long long *full, *empty;
    tma_stages_layout<STAGES, A_STAGE, B_STAGE>(smem_raw, As, Bs, full, empty);

    const int tiles_m = (M + BM - 1) / BM, tiles_n = (N + BN - 1) / BN;
    const int tid = threadIdx.x, wg = tid >> 7, lane = tid & 31;
    const int KC = (K + BK - 1) / BK;

    if (tid == 0) tma_pipeline_init<STAGES>(full, empty, 8);  // 8 consumer warps release each slot
    __syncthreads();

    // Block b computes tiles b, b + gridDim.x, ...: one tile when the grid covers them all, several
    // on a persistent grid, whose producer then loads the next tile while the consumers store this
    // one. Stage slots and mbarrier phases run on across tiles (it counts k-chunks).
    if (wg == 0) {
        asm volatile("setmaxnreg.dec.sync.aligned.u32 40;");
        if (tid == 0) {
            int it = 0;
            for (int tile = blockIdx.x; tile < tiles_m * tiles_n; tile += gridDim.x, it += KC) {
                int tile_m, tile_n;
                grouped_tile(tile, tiles_m, tiles_n, GROUP_M, tile_m, tile_n);
                tma_produce<STAGES, A_STAGE, B_STAGE>(As, Bs, TX, TW, tile_m * BM, tile_n * BN, KC, full, empty, it);
            }
        }
        return;
    }
    asm volatile("setmaxnreg.inc.sync.aligned.u32 232;");
    const int cw = (tid >> 5) - 4;            // consumer warp 0..7
    const int wm = cw >> 2, wn = cw & 3;      // rows 64 wm.., columns WTN wn.. of the tile
    // Every ldmatrix row this lane addresses is 8-aligned plus (lane % 8), so the swizzle XOR
    // is lane & 7 throughout; only the chunk (2 ks + which half) varies with the k-step.
    const int a_row = 64 * wm + (lane & 15), a_half = lane >> 4;
    const int b_row = WTN * wn + (lane & 7) + 8 * (lane >> 4), b_half = (lane >> 3) & 1;

    int it = 0;
    for (int tile = blockIdx.x; tile < tiles_m * tiles_n; tile += gridDim.x) {
        int tile_m, tile_n;
        grouped_tile(tile, tiles_m, tiles_n, GROUP_M, tile_m, tile_n);
        const int m0 = tile_m * BM, n0 = tile_n * BN;

        int acc[MT][NT][4];
#pragma unroll
        for (int i = 0; i < MT; ++i)
#pragma unroll
            for (int j = 0; j < NT; ++j)
#pragma unroll
                for (int e = 0; e < 4; ++e) acc[i][j][e] = 0;

#if PIPE
        // Fragments one k-step ahead, across stages too: during a stage's last k-step the warp
        // already waits for the next stage and loads its first fragments, so the MMAs of one stage
        // run into the next without the ldmatrix latency in between.
        Frag f[2];
        mbar_wait(&full[it % STAGES], (it / STAGES) & 1);
        load_frags(f[0], As + (it % STAGES) * A_STAGE, Bs + (it % STAGES) * B_STAGE, 0, a_row, a_half, b_row, b_half);
        for (int kc = 0; kc < KC; ++kc, ++it) {
            const int s = it % STAGES;
#pragma unroll
            for (int ks = 0; ks < BK / 32; ++ks) {
                if (ks + 1 < BK / 32) {
                    load_frags(f[(ks + 1) & 1], As + s * A_STAGE, Bs + s * B_STAGE, ks + 1, a_row, a_half, b_row, b_half);
                } else if (kc + 1 < KC) {
                    const int s1 = (it + 1) % STAGES;
                    mbar_wait(&full[s1], ((it + 1) / STAGES) & 1);
                    load_frags(f[0], As + s1 * A_STAGE, Bs + s1 * B_STAGE, 0, a_row, a_half, b_row, b_half);
                }
                mma_frags(acc, f[ks & 1]);
            }
            // The MMAs above have issued, so their fragments have left shared memory: release the slot.
            __syncwarp();
            if (lane == 0) mbar_arrive(&empty[s]);
        }
#else
        for (int kc = 0; kc < KC; ++kc, ++it) {
            const int s = it % STAGES;
            mbar_wait(&full[s], (it / STAGES) & 1);
#pragma unroll
            for (int ks = 0; ks < BK / 32; ++ks) {
                Frag f;
                load_frags(f, As + s * A_STAGE, Bs + s * B_STAGE, ks, a_row, a_half, b_row, b_half);
                mma_frags(acc, f);
            }
            // The MMAs above have issued, so their fragments have left shared memory: release the slot.
            __syncwarp();
            if (lane == 0) mbar_arrive(&empty[s]);
        }
#endif

        store_mma_tiles(acc, Y, SX, SW, m0 + 64 * wm, n0 + WTN * wn, M, N, lane);
    }
}
