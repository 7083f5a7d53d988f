// v07_mxfp8_tma — MXFP8 GEMM on Hopper: fp8/v05's TMA producer/consumer pipeline with v04's
// per-block promotion (sm_90a only).
//
// Computes  Y[m, n] = sum_b (sum_{k in b} x[m, k] * w[n, k]) * sx[m, b] * sw[n, b]
//   X [M, K], W [N, K] e4m3 codes, read through TMA tensor maps of their bytes (a box of 128 bytes
//   of k x BM rows of X or BN rows of W, 128-byte swizzle); sx [M, K/32], sw [N, K/32] E8M0 codes
//   (uint8, 2^(c - 127)); Y [M, N] fp16.
// Block: 3 warpgroups (384 threads; 4 with CONSUMERS = 3, below). Warpgroup 0 produces: its thread 0
// issues the two TMA copies of a stage (128 k = 4 MX blocks), its warps 1-3 read the stage's scale
// codes from global memory and write them to shared memory as fp32, beside the tiles. Warpgroups 1
// and 2 each own 64 x BN outputs of the BM x BN tile (BM = 128): per 32-k block one wgmma m64nBNk32
// into fresh accumulators, a wait, and the promotion sum += d * sw[n, b] * sx[m, b] (an FMUL and an
// FFMA an output). Grid: grouped block order.
//
// Bound: the CUDA cores, not the Tensor Cores. The three-ceiling model's FP32 term for MXFP8 on
// sm_90 is 2 instructions an output a block: 2 * M * N * K/32 FP32 instructions at the FFMA rate,
// 1119 us at 8192^3 with the H100's measured 30.7 T FFMA/s (983 TFLOP/s; roofline.bound's alu
// term), against ~630 us for the MMAs at the measured wgmma fp8 rate. Each SM sub-partition
// issues one FP32 instruction a cycle, so a 128 x 192 tile's promotion of one block takes at least
// 384 cycles of the SM's four schedulers, its two MMAs ~210 cycles of the Tensor Cores: the kernel
// reaches the bound only if the CUDA cores never wait for an MMA and never stall.
// Changed from v04: v04 could not get near that bound because both of its warpgroups waited for
// their MMA and then promoted at the same moment, between block barriers, with the Tensor Cores
// idle during every promotion (15% of the bound, benchmarks/NOTES.md). Here the two consumers are
// not tied to each other (mbarriers, no block barrier in the loop), so one's MMA can run while
// the other promotes; the tiles come by TMA and the scales by the producer's other warps, so the
// consumers issue almost nothing but wgmmas and FP32 math; and setmaxnreg gives them the
// registers of BN = 192 columns (BN/2 accumulators + BN/2 sums a thread), where v04 stopped at 128.
// The scales reach shared memory already as fp32, each block's column scales in the order a lane
// holds its columns, so a thread reads a block's scales in BN/16 16-byte loads and 2 scalars, and
// the promotion is exactly the model's two FP32 instructions an output (SASS: 2 * BN/2 FMUL +
// FFMA a block, no other FP32 work).
// Measured on the H100 at 8192^3 (benchmarks/tune_mxfp8.py): with two consumers, BN 192, STAGES 4
// ~2.7 ms, 403-411 TFLOP/s, 41-42% of the bound and 2.85x v04 (BN 128: 375; plain FP8 on the same
// pipeline, fp8/v05, 1128). With three (CONSUMERS = 3, below; the default): 464 TFLOP/s, 47% of
// the bound, 3.24x v04. Where the rest goes (Nsight Compute, NOTES.md): the FP32 pipe is busy 48%
// of the time and the scheduler issues in 62% of its cycles, while the shared-memory path runs at
// 82%: per warp and block, the column scales take 8 LDS.128 of 4 wavefronts each (32; the lanes of
// a group read the same 16 bytes, but a 128-bit load still takes a wavefront per 8 lanes) against
// 12 for the wgmma's own operands: 46 wavefronts for 128 FP32 instructions, so at the ALU bound
// this design would need ~1.6x the shared-memory bandwidth (it is at ~60% of the bound there). And
// FMULs waiting for those loads are 17% of the stall samples. Measured and dropped (logs in
// results/): the column scales as bf16 (half the wavefronts for one integer instruction a column;
// +7-9% where it did not spill, nothing at three consumers, where it does), the row scale applied
// first (the FMULs then need no column scale; +13-17% at two consumers, spills at three), BN 96
// and 112 (registers for both, smaller tiles): none beat this default.
//
// Options, both measured and off by default. DUAL = 1 (BN = 128 only: 2 x 64 accumulators + 64
// sums): each block's wgmma is issued before the previous block is promoted, so a consumer's own
// MMA overlaps its promotion (BN 128: 375 -> 398 TFLOP/s, still under BN 192's 408). PINGPONG = 1:
// the consumers take turns to promote (named barriers), the DeepGEMM-style schedule that keeps one
// consumer's MMA under the other's promotion. Slower (BN 192: 341 TFLOP/s; BN 128: 377): from its
// time (at ~1.8 GHz), one warpgroup promoting alone issued about a third of an FP32 instruction a
// cycle per scheduler, so the two are better off promoting together and sharing the issue slots.
// ptxas notes: at BN = 192 the consumers spill a few registers (STACK 40: ~10 STL/LDL a stage of
// 768 FP32 instructions, L1 hits); BN = 128 has none. No C7514 (serialized wgmma) with DUAL.
//
// CONSUMERS = 3 (the default; 464 TFLOP/s, STAGES 2: 454): a third consumer warpgroup, BM = 192-row
// tiles, 512 threads. Each
// scheduler of the SM runs one warp of each warpgroup; with two consumers it has two consumer warps,
// each alternating "wait for my wgmma" and "promote", and its FP32 pipe idles whenever both wait.
// A third warp a scheduler can promote then. The price is registers: 512 threads launch with 128
// each (65536); the producer drops to 32 and the consumers rise to (65536 - 128 * 32) / 384 = 160,
// which holds BN = 128 (64 accumulators + 64 sums) but not DUAL's second set or BN 192, and only
// just: ptxas compiles STAGES 2 and 4 without spilling, 3 and 5 spill (the launcher takes 2 or 4).
// To fit, the consumer index goes through a shuffle (warp-uniform: the A descriptor in uniform
// registers) and the producer keeps its scale rows as 32-bit offsets, not pointers. Per stage:
// A 24 KB, scales 5 KB; the same 46 KB as BN 192 at CONSUMERS 2. W tiles are read by three
// consumers instead of two: 1/3 fewer W bytes from L2 an output.
//
// Expects: #define STAGES (2.., within 227 KB: 5 at BN 192 or CONSUMERS 3, 6 at BN 128), BN (128 or
// 192), DUAL and PINGPONG (0 or 1, not both), CONSUMERS (2 or 3; 3 only with BN 128, DUAL 0,
// PINGPONG 0). Needs K % 32 == 0 (MXFP8
// blocks; TMA needs 16-byte rows). Block: 128 * (1 + CONSUMERS) threads.
// Dynamic shared memory: STAGES * ((BM + BN) * 128 + 16 * (BM + BN) + 16) + 1024 bytes, BM = 64 * CONSUMERS.
#include "wgmma.cuh"

#ifndef DUAL
#define DUAL 0
#endif
#ifndef PINGPONG
#define PINGPONG 0
#endif
#ifndef CONSUMERS
#define CONSUMERS 2
#endif
#define BM (64 * CONSUMERS)        // tile rows: 64 a consumer warpgroup
#define THREADS (128 * (1 + CONSUMERS))
#define BK 128                     // bytes (= k) per stage: one 128-byte swizzle row = 4 MX blocks
#define NB (BK / 32)               // MX blocks per stage
#define A_STAGE (BM * BK)
#define B_STAGE (BN * BK)
#define SC_STAGE (NB * (BM + BN))  // fp32 scales a stage: [NB][BM] rows of X, then [NB][BN] of W
#define ACCS (BN / 2)              // accumulators a thread: 64 rows x BN columns over 128 threads
#define SCALE_THREADS 96           // producer warps 1-3
#define GROUP_M 8

#if BN != 128 && BN != 192
#error "BN must be 128 or 192"
#endif
#define WGMMA wgmma_e4m3_k32<BN>  // wgmma.cuh
#if DUAL && BN != 128
#error "DUAL needs BN = 128: two accumulator sets and the sums must fit the consumers' 232 registers"
#endif
#if DUAL && PINGPONG
#error "PINGPONG takes turns between the consumers; DUAL overlaps within one: choose one"
#endif
// setmaxnreg: the block launches with 65536 / THREADS registers a thread (168 or 128); the producer
// gives some back and the consumers take them (multiples of 8; 128 * PRODUCER_REGS + 128 *
// CONSUMERS * CONSUMER_REGS <= 65536, or the consumers' setmaxnreg.inc waits forever).
#if CONSUMERS == 2
#define PRODUCER_REGS 40
#define CONSUMER_REGS 232
#elif CONSUMERS == 3
#define PRODUCER_REGS 32   // 4096 + 384 * 160 = 65536
#define CONSUMER_REGS 160
#if BN != 128 || DUAL || PINGPONG
#error "CONSUMERS = 3 leaves 160 registers a consumer thread: BN = 128 (64 accumulators + 64 sums), DUAL = PINGPONG = 0"
#endif
#else
#error "CONSUMERS must be 2 or 3"
#endif


// Named barriers (0 is __syncthreads): consumer c may promote when barrier 1 + c completes, with
// its own 128 threads waiting and the other consumer's 128 arriving.
__device__ __forceinline__ void bar_sync_named(int id) { asm volatile("bar.sync %0, 256;" ::"r"(id) : "memory"); }
__device__ __forceinline__ void bar_arrive_named(int id) { asm volatile("bar.arrive %0, 256;" ::"r"(id) : "memory"); }

// sum (+)= d * sw[col] * sx[row] for one block: the promotion. sa: the block's row scales [BM];
// sb: its column scales in lane-group order (float4 v of lane group q = lane % 4 holds the columns
// 16v + 2q + {0, 1, 8, 9}: accumulator blocks 2v and 2v + 1), so lanes of one group read the same
// 16 bytes and the four groups 64 consecutive bytes, without bank conflicts.
__device__ __forceinline__ void promote(float (&sum)[ACCS], const float (&d)[ACCS], float sx0, float sx1,
                                        const float4* sb, int q)
{
#pragma unroll
    for (int v = 0; v < BN / 16; ++v) {
        const float4 w4 = sb[4 * v + q];
        const float sw[4] = {w4.x, w4.y, w4.z, w4.w};
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            const int o = 4 * (2 * v + e / 2) + e % 2;  // accumulator block 2v + e/2, column e % 2
            sum[o] = fmaf(d[o] * sw[e], sx0, sum[o]);           // row lane/4
            sum[o + 2] = fmaf(d[o + 2] * sw[e], sx1, sum[o + 2]);  // row lane/4 + 8
        }
    }
}

extern "C" __global__ void __launch_bounds__(THREADS, 1)
mxfp8_wgmma_tma(const void* __restrict__ TX, const unsigned char* __restrict__ SX,
                const void* __restrict__ TW, const unsigned char* __restrict__ SW,
                __half* __restrict__ Y, int M, int N, int K)
{
    extern __shared__ unsigned char smem_raw[];
    // The swizzle pattern repeats every 1024 bytes and is anchored to the address: align.
    unsigned char* smem = smem_raw + ((1024 - (smem_u32(smem_raw) & 1023)) & 1023);
    unsigned char* As = smem;
    unsigned char* Bs = smem + STAGES * A_STAGE;
    float* Sc = reinterpret_cast<float*>(Bs + STAGES * B_STAGE);
    unsigned long long* full = reinterpret_cast<unsigned long long*>(Sc + STAGES * SC_STAGE);
    unsigned long long* empty = full + STAGES;

    const int tid = threadIdx.x, wg = tid >> 7, t = tid & 127, warp = t >> 5, lane = t & 31;
    // Each role computes what it needs where it needs it, after its setmaxnreg: at BN = 192 the
    // consumers have ~40 registers beside the accumulators and sums, and ptxas spills values that
    // live across the main loop or across setmaxnreg (the empty asm keeps it from hoisting them).
    auto opaque = [](int v) { asm volatile("" : "+r"(v)); return v; };
    auto tile_origin = [&](int& m0, int& n0) {
        int tm, tn;
        grouped_tile(opaque(blockIdx.x), (M + BM - 1) / BM, (N + BN - 1) / BN, GROUP_M, tm, tn);
        m0 = tm * BM;
        n0 = tn * BN;
    };

    if (tid == 0) {
        // full[s]: the TMA thread's arrival (with the bytes of its copies) and each scale thread's
        for (int s = 0; s < STAGES; ++s) {
            mbar_init(&full[s], 1 + SCALE_THREADS);
            mbar_init(&empty[s], 4 * CONSUMERS);  // every consumer warp releases each slot
        }
        asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");  // visible to the copy engine
    }
    __syncthreads();

    if (wg == 0) {
        asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;" ::"n"(PRODUCER_REGS));
        const int Kp = opaque(K), KC = (Kp + BK - 1) / BK, kblocks = Kp / 32;
        int m0, n0;
        tile_origin(m0, n0);
        if (t == 0) {
            tma_produce<STAGES, A_STAGE, B_STAGE>(As, Bs, TX, TW, m0, n0, KC, full, empty);
        } else if (warp > 0) {
            // Scales: thread j = t - 32 reads the stage's 4 codes of tile rows j, j + 96, ... (X rows
            // 0..BM-1, then W rows), one 4-byte word when K % 128 == 0 (then aligned), else byte by byte,
            // and writes them as fp32 in the layouts promote() reads. Rows past M or N and blocks past
            // K/32 multiply zero-filled data: any finite scale does (code 0, 2^-127).
            // CONSUMERS = 3 (32 registers here): the rows as 32-bit offsets into SX or SW, not pointers
            // (< 2^32: the codes of a matrix of under 128 GiB); BM = 192 = 2 x 96, so whether row i is
            // of X is known at compile time.
            constexpr int ROWS = BM + BN, PER = (ROWS + SCALE_THREADS - 1) / SCALE_THREADS;
            const bool packed =
                kblocks % NB == 0 && ((reinterpret_cast<size_t>(SX) | reinterpret_cast<size_t>(SW)) & 3) == 0;
#if CONSUMERS == 2
            const unsigned char* g[PER];  // this thread's rows of codes (null: past M or N, or no row)
#else
            constexpr unsigned NO_ROW = ~0u;
            unsigned g[PER];  // offsets of this thread's rows of codes (NO_ROW: past M or N, or no row)
#endif
            int dst[PER], stride[PER];    // where their fp32 scales go in a stage's slot
#pragma unroll
            for (int i = 0; i < PER; ++i) {
                const int e = t - 32 + SCALE_THREADS * i, n = e - BM;
                const bool isx = BM % SCALE_THREADS == 0 ? i < BM / SCALE_THREADS : e < BM;
                const int row = isx ? m0 + e : n0 + n;
#if CONSUMERS == 2
                g[i] = e < ROWS && row < (isx ? M : N) ? (isx ? SX : SW) + (size_t)row * kblocks : nullptr;
#else
                g[i] = e < ROWS && row < (isx ? M : N) ? (unsigned)row * (unsigned)kblocks : NO_ROW;
#endif
                // W column n = 16v + 8h + 2q + c is element 2h + c of float4 v of lane group q
                dst[i] = isx ? e : NB * BM + 16 * (n >> 4) + 4 * ((n >> 1) & 3) + 2 * ((n >> 3) & 1) + (n & 1);
                stride[i] = isx ? BM : BN;  // [NB][BM] and [NB][BN]
            }
            for (int kc = 0; kc < KC; ++kc) {
                const int s = kc % STAGES;
                unsigned code[PER];
#pragma unroll
                for (int i = 0; i < PER; ++i) {  // loads first: their latency overlaps the wait below
#if CONSUMERS == 2
                    const unsigned char* gi = g[i];
                    const bool has = gi != nullptr;
#else
                    const unsigned char* gi = (i < BM / SCALE_THREADS ? SX : SW) + g[i];
                    const bool has = g[i] != NO_ROW;
#endif
                    code[i] = 0;
                    if (has && packed) {
                        code[i] = __ldg(reinterpret_cast<const unsigned*>(gi + kc * NB));
                    } else if (has) {
#pragma unroll
                        for (int b = 0; b < NB; ++b)
                            if (kc * NB + b < kblocks) code[i] |= (unsigned)__ldg(gi + kc * NB + b) << (8 * b);
                    }
                }
                if (kc >= STAGES) mbar_wait(&empty[s], ((kc / STAGES) & 1) ^ 1);
                float* sc = Sc + s * SC_STAGE;
#pragma unroll
                for (int i = 0; i < PER; ++i) {
                    if (PER * SCALE_THREADS != ROWS && t - 32 + SCALE_THREADS * i >= ROWS) break;
#pragma unroll
                    for (int b = 0; b < NB; ++b) sc[dst[i] + b * stride[i]] = e8m0_to_f32((code[i] >> (8 * b)) & 0xFF);
                }
                mbar_arrive(&full[s]);  // release: the stores above are visible to whoever waits on full[s]
            }
        }
    } else {
        asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;" ::"n"(CONSUMER_REGS));
        const int KC = (opaque(K) + BK - 1) / BK;
#if CONSUMERS == 2
        const int c = wg - 1;  // consumer: rows 64c..64c+63 of the tile
#else
        // The same, but warp-uniform to ptxas (a shuffle from lane 0): the A descriptor goes to
        // uniform registers, two fewer of the 160.
        const int c = __shfl_sync(0xffffffffu, wg, 0) - 1;
#endif
        const int r = 64 * c + 16 * warp + lane / 4, q = lane & 3;  // this thread's first row in the tile
        float sum[ACCS];
#if DUAL
        float d0[ACCS], d1[ACCS];
#pragma unroll
        for (int i = 0; i < ACCS; ++i) { d0[i] = 0.f; d1[i] = 0.f; sum[i] = 0.f; }
#else
        float d[ACCS];
#pragma unroll
        for (int i = 0; i < ACCS; ++i) { d[i] = 0.f; sum[i] = 0.f; }
#endif
        for (int kc = 0; kc < KC; ++kc) {
            const int s = kc % STAGES;
            mbar_wait(&full[s], (kc / STAGES) & 1);
            const unsigned long long da = smem_desc(As + s * A_STAGE + c * 64 * BK);
            const unsigned long long db = smem_desc(Bs + s * B_STAGE);
            const float* sa = Sc + s * SC_STAGE;
            const float4* sb = reinterpret_cast<const float4*>(sa + NB * BM);
#if DUAL
            // Block b + 1's wgmma goes in before block b is promoted: wait<1> leaves it in flight.
            fence_operands(d0);
            wgmma_fence();
            WGMMA(d0, da, db, 0);
            wgmma_commit();
#pragma unroll
            for (int b = 0; b < NB; ++b) {
                float (&cur)[ACCS] = b % 2 ? d1 : d0;
                float (&nxt)[ACCS] = b % 2 ? d0 : d1;
                const float sx0 = sa[b * BM + r], sx1 = sa[b * BM + r + 8];  // read during the MMAs
                if (b + 1 < NB) {
                    fence_operands(nxt);
                    wgmma_fence();
                    WGMMA(nxt, da + 2 * (b + 1), db + 2 * (b + 1), 0);  // +32 bytes along k = +2 in the address
                    wgmma_commit();
                    wgmma_wait<1>();
                } else {
                    wgmma_wait<0>();
                }
                fence_operands(cur);
                promote(sum, cur, sx0, sx1, sb + b * (BN / 4), q);
            }
#else
#pragma unroll
            for (int b = 0; b < NB; ++b) {  // one 32-k wgmma step = one MX block
                fence_operands(d);
                wgmma_fence();
                WGMMA(d, da + 2 * b, db + 2 * b, 0);  // +32 bytes along k = +2 in the address field
                wgmma_commit();
                wgmma_wait<0>();  // every block is promoted on its own: it has its own scales
                fence_operands(d);
                // Scales read after the wait, not during the MMA: at BN = 192 two more live registers
                // make ptxas spill. ptxas still overlaps the next wgmma with this block's last FFMAs.
                const float sx0 = sa[b * BM + r], sx1 = sa[b * BM + r + 8];
#if PINGPONG
                // Turns: consumer 0 promotes block b, then consumer 1 promotes its block b while
                // consumer 0's wgmma of block b + 1 runs, and so on. Without them the two fall into
                // step (same stages, same MMA times) and promote at the same moment, as in v04.
                if (c == 1 || kc > 0 || b > 0) bar_sync_named(1 + c);  // the other has promoted its block
                promote(sum, d, sx0, sx1, sb + b * (BN / 4), q);
                if (c == 0 || kc < KC - 1 || b < NB - 1) bar_arrive_named(2 - c);  // its turn (none after the last)
#else
                promote(sum, d, sx0, sx1, sb + b * (BN / 4), q);
#endif
            }
#endif
            // The slot (tiles and scales) has been read by every lane of this warp.
            __syncwarp();
            if (lane == 0) mbar_arrive(&empty[s]);
        }

        // Accumulator layout: warp w of the warpgroup holds rows 16w..16w+15; in each 8-column
        // block i, sum[4i], sum[4i+1] are row lane/4, columns 2(lane%4), +1; sum[4i+2], sum[4i+3] row + 8.
        // Every block's scales are already in the sums.
        int m0, n0;
        tile_origin(m0, n0);
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            const int m = m0 + r + 8 * h;
            if (m >= M) continue;
#pragma unroll
            for (int i = 0; i < BN / 8; ++i)
                store_f16x2(Y, m, n0 + 8 * i + 2 * q, N, sum[4 * i + 2 * h], sum[4 * i + 2 * h + 1]);
        }
    }
}
