// v10_mma_gemv — W4A16 for M <= 16 on the Tensor Cores, one pass over the weights at memory speed:
// v06's fragment-ordered weights and mma.sync m16n8k16, organized as a GEMV.
//
// Computes  Y[m, n] = sum_g s[n, g] * sum_{k in g} X[m, k] * (q[n, k] - z[n, g])   (fp32 sums)
//   X   [M, K]  fp16 row-major, M <= 16
//   PW  fragment-ordered int4 weights, uint4 [ceil(N/8)][ceil(K/128)][32 lanes] (prepack_w4, as v06)
//   S   [N, G] fp16 scales;  Z [N, G] uint8 zero points or nullptr (z = 8);  Y [M, N] fp16
// Block: WARPS warps, each owning TPW consecutive n8 tiles of W (8 * TPW rows) over all of K; the
// block's X (16 rows, zero-filled past M) streams through shared memory in chunks of KCH values.
// Grid: x over groups of WARPS * TPW n8 tiles.
//
// Bound: memory (the weights, read once). At M = 16 the Tensor Cores do 16x the work of M = 1 for
// the same bytes, so what must keep up with DRAM is the instruction stream: per 8 weights a lane
// issues 4 lop3 + 4 HSUB2 for its B fragments and, per TPW tiles, 2 ldmatrix and 2 TPW MMAs.
// Changed from v06, which ran at 30-36% of the copy bandwidth:
//  * No split K. v06 split K so that its one n8 tile a warp gave enough warps, and paid a second
//    kernel to add the partial sums: at ~40 us a call, a launch is ~10% of the time. Here each warp
//    keeps a whole row range over all of K and TPW * KCH / 128 16-byte loads in flight, issued a
//    chunk ahead. The price: a matrix of few rows has few warps (N = 8192: 1024 n8 tiles, under 8
//    warps an SM).
//  * Each X fragment (ldmatrix) feeds TPW tiles' MMAs, not one: TPW times fewer shared-memory reads.
//  * Scales leave the inner loop. Each group's products are summed in fp32 from the exact integers
//    (q - z), then the sum is scaled once per output: one FFMA per output per group instead of one
//    HMUL2 per two weights. (Rounding: v06 rounded each dequantized weight to fp16 first; here the
//    scale meets an fp32 sum. Both are within the W4A16 tolerance of the float64 reference.)
//  * The weights are read with the streaming load (HINT = 1) as the GEMVs do.
//  * Few instructions besides the dequant and the MMAs. Nsight Compute on a first version (NOTES.md)
//    found MMAs 5% of its instructions and branches and integer bookkeeping ~45%: a per-word test
//    of whether a group starts or ends, and 4 * TPW * U register copies a chunk to move the next
//    chunk's weights into place. Now, when the group size divides KCH (GS, set by the launcher),
//    where groups start and end is known at compile time, and two chunks an iteration let the two
//    weight buffers trade roles without copies. That took 28672 x 8192, M = 16 from 82 to 72 us and
//    8192^2 from 50 to 34 us (now faster than v06's split K there).
// Tried and dropped (measured, NOTES.md): K split among a block's warps with X fragments loaded
// straight from global memory and no barrier: faster at N = 8192, much slower at N = 28672, M = 16;
// group scales loaded a group ahead (their loads had 4% of the stall samples): TPW 2 then needs
// more than 128 registers, and capped there it spilled and ran slower; the weights staged through
// shared memory by cp.async several chunks ahead, two accumulator chains a tile, and X in chunks
// longer than the weights' (fewer barriers): none faster. Longer weight chunks (KCH) were, up to
// what the registers hold.
//
// Expects: #define WARPS, TPW (1, 2 or 4), KCH (a multiple of 128), STAGES (2 or 3), HINT, and GS
// (the group size if it divides KCH, else 0).
// Needs K % 8 == 0. Dynamic shared memory: STAGES * 16 * (KCH + 8) * 2 bytes.
#include "lab.cuh"

#define U (KCH / 128)  // 16-byte words of W a lane loads per tile per chunk
#ifndef GS
#define GS 0           // group size when the launcher knows it divides KCH (32, 64, 128); 0: found at run time
#endif

extern "C" __global__ void __launch_bounds__(WARPS * 32)
w4a16_mma_gemv(const __half* __restrict__ X, const uint4* __restrict__ PW,
               const __half* __restrict__ S, const unsigned char* __restrict__ Z,
               __half* __restrict__ Y, int M, int N, int K, int G)
{
    // STAGES buffers of a 16 x KCH tile of X; rows padded by 8 halves (16 bytes) so the
    // 8 row addresses of an ldmatrix land in 8 different bank groups.
    extern __shared__ __align__(16) unsigned char smem[];
    typedef __half XTile[16][KCH + 8];
    XTile* xs = reinterpret_cast<XTile*>(smem);

    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int NT = (N + 7) / 8, KC = (K + 127) / 128;
    const int nt0 = (blockIdx.x * WARPS + warp) * TPW;  // this warp's first n8 tile
    const int gshift = G == 1 ? 30 : 31 - __clz(K / G);  // log2(group): groups are 32/64/128 wide
    const int chunks = (K + KCH - 1) / KCH;

    // Copy X[0:16, k0:k0+KCH] into buffer b; rows past M and columns past K are zero-filled by
    // cp.async (source size 0), so they add nothing.
    auto stage_x = [&](int b, int k0) {
        for (int i = threadIdx.x; i < 16 * (KCH / 8); i += WARPS * 32) {
            const int r = i / (KCH / 8), col = (i % (KCH / 8)) * 8;
            const int k = k0 + col;
            const bool ok = r < M && k < K;
            cp_async16(&xs[b][r][col], ok ? (const void*)(X + (size_t)r * K + k) : (const void*)X, ok ? 16 : 0);
        }
    };
    // This lane's 16 bytes of each tile's k128 steps in chunk c (zeros past N or K: they meet zero
    // columns of X, or land in rows nobody stores).
    auto load_w = [&](uint4 (&w)[TPW][U], int c) {
#pragma unroll
        for (int t = 0; t < TPW; ++t)
#pragma unroll
            for (int u = 0; u < U; ++u) {
                const int kc = c * U + u, tile = nt0 + t;
                w[t][u] = (tile < NT && kc < KC) ? ldg_weights16(PW + ((size_t)tile * KC + kc) * 32 + lane)
                                                 : make_uint4(0, 0, 0, 0);
            }
    };

#pragma unroll
    for (int s = 0; s < STAGES - 1; ++s) {
        if (s < chunks) stage_x(s, s * KCH);
        cp_async_commit();  // commit even when empty: group counting stays uniform
    }
    uint4 w0[TPW][U], w1[TPW][U];  // two chunks of weights: this one's and the next's, in turn
    load_w(w0, 0);

    // C fragments: acc[t][0..1] row lane/4, columns 2(lane%4), +1 of tile t; [2..3] row + 8.
    float acc[TPW][4], sum[TPW][4];
#pragma unroll
    for (int t = 0; t < TPW; ++t)
#pragma unroll
        for (int e = 0; e < 4; ++e) acc[t][e] = sum[t][e] = 0.f;
    __half2 zq[TPW];  // half2(1024 + z) of this lane's B row (n = tile * 8 + lane / 4), per group
#if !GS
    int gz = -1;      // the group zq belongs to
#endif

    // One chunk: weights of chunk c in wc, the next chunk's loads issued into wn first.
    auto step = [&](int c, uint4 (&wc)[TPW][U], uint4 (&wn)[TPW][U]) {
        if (c + 1 < chunks) load_w(wn, c + 1);  // the next chunk's weights in flight first
        cp_async_wait<STAGES - 2>();  // chunk c of X has landed (this thread's copies) ...
        __syncthreads();              // ... and everyone's; the slot of chunk c - 1 is free again
        if (c + STAGES - 1 < chunks) stage_x((c + STAGES - 1) % STAGES, (c + STAGES - 1) * KCH);
        cp_async_commit();

        const int slot = c % STAGES;
#pragma unroll
        for (int u = 0; u < U; ++u) {
#pragma unroll
            for (int j = 0; j < 4; ++j) {  // word j of each 16 bytes: k16 steps 2j and 2j+1
                const int kk = 128 * u + 32 * j, k = c * KCH + kk;
                if (k >= K) break;
#if GS
                // Groups of GS divide KCH, so where each starts and ends in a chunk is known here.
                const int g = k / GS;
                const bool starts = kk % GS == 0, ends = (kk + 32) % GS == 0;
#else
                const int g = k >> gshift;
                const bool starts = g != gz;
                const int kend = k + 32;
                const bool ends = kend >= K || (G > 1 && (kend & ((1 << gshift) - 1)) == 0);
                gz = g;
#endif
                if (starts) {  // a new group: its zero points
#pragma unroll
                    for (int t = 0; t < TPW; ++t) {
                        const int n = (nt0 + t) * 8 + lane / 4;
                        zq[t] = magic_zero(Z && n < N ? Z[(size_t)n * G + g] : 8u);
                    }
                }
                unsigned a[2][4];
#pragma unroll
                for (int st = 0; st < 2; ++st)
                    ldmatrix_x4(a[st], &xs[slot][lane & 15][kk + 16 * st + (lane >> 4) * 8]);
#pragma unroll
                for (int t = 0; t < TPW; ++t) {
                    const unsigned w = j == 0 ? wc[t][u].x : j == 1 ? wc[t][u].y : j == 2 ? wc[t][u].z : wc[t][u].w;
                    unsigned b[4];  // (q - z) exactly, as fp16: b0, b1 of the two k16 steps
#pragma unroll
                    for (int i = 0; i < 4; ++i) {
                        const __half2 v = __hsub2(int4_pair_magic(w >> (4 * i)), zq[t]);
                        b[i] = *reinterpret_cast<const unsigned*>(&v);
                    }
                    mma_m16n8k16(acc[t], a[0], b[0], b[2]);
                    mma_m16n8k16(acc[t], a[1], b[1], b[3]);
                }
                // The group ends with this word: scale its sums into the totals, start afresh.
                if (ends) {
#pragma unroll
                    for (int t = 0; t < TPW; ++t) {
                        const int n = (nt0 + t) * 8 + 2 * (lane & 3);
                        const float s0 = n < N ? __half2float(S[(size_t)n * G + g]) : 0.f;
                        const float s1 = n + 1 < N ? __half2float(S[(size_t)(n + 1) * G + g]) : 0.f;
                        sum[t][0] += acc[t][0] * s0; sum[t][1] += acc[t][1] * s1;
                        sum[t][2] += acc[t][2] * s0; sum[t][3] += acc[t][3] * s1;
#pragma unroll
                        for (int e = 0; e < 4; ++e) acc[t][e] = 0.f;
                    }
                }
            }
        }
    };
    // Two chunks an iteration, so the buffers trade roles without copying 4 * TPW * U registers.
    for (int c = 0; c < chunks; c += 2) {
        step(c, w0, w1);
        if (c + 1 < chunks) step(c + 1, w1, w0);
    }

#pragma unroll
    for (int t = 0; t < TPW; ++t) {
        const int n = (nt0 + t) * 8 + 2 * (lane & 3);
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            const int m = lane / 4 + 8 * h;
            if (m < M) store_f16x2(Y, m, n, N, sum[t][2 * h], sum[t][2 * h + 1]);
        }
    }
}
