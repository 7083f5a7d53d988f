// v04_wgmma — FP8 (e4m3) GEMM with Hopper's warpgroup MMA (sm_90a only), fp32 sums promoted per stage.
//
// Computes  Y[m, n] = (sum_k X[m, k] * W[n, k]) * sx[m] * sw[n]
//   X [M, K], W [N, K] float8_e4m3fn codes; sx [M, 1], sw [N, 1] fp32; Y [M, N] fp16.
// Block: WGS warpgroups (2, or 3 without MX) over a (64 * WGS) x 128 tile of Y; each warpgroup
// owns 64 x 128 outputs, one wgmma m64n128k32 per 32 values of k. Grid: grouped block order.
//
// Bound: MMA at the wgmma fp8 rate (twice fp16's). On Hopper this is the only fp8
// Tensor Core path: mma.sync ... e4m3 (v03) is emulated with fp16 MMAs there.
// Changed from v03: the pipeline of int8/v09_wgmma.cu — 128-byte-swizzled tiles written
// by cp.async, matrix descriptors, one wgmma group in flight — with e4m3 operands (an
// fp8 byte sits in shared memory like an int8 byte). One thing is new, and it is about
// accuracy: Hopper's fp8 Tensor Cores do not keep a full fp32 sum while accumulating
// (DeepSeek-V3's report measured about 14 bits); left in the wgmma accumulators for all
// of K = 8192 the result drifts toward zero by ~0.2% (measured here; over the fp8
// problem's tolerance). So every PROMOTE stages the warpgroup waits for its MMAs, adds
// the accumulators into fp32 registers on the CUDA cores ("promotion", as DeepGEMM does)
// and starts the next stage from zero (scale-d = 0). The fp32 sums cost 64 more
// registers per thread, which is why the tile is 64 x 128 per warpgroup, not v09's
// 64 x 256; to keep the per-stage overhead (barrier, copies, waits) small against less
// MMA work per stage, a stage holds KSUB 128-byte swizzle atoms of k (256 k with KSUB 2).
//
// A third warpgroup (WGS = 3, 192 x 128) measured 8-15% faster (more MMA work per barrier); the
// default keeps 128 x 128, MXFP8 v04's tiles, so that the two differ only in the block scaling.
// v05 is the fast FP8 GEMM: the same promotion fed by TMA, without block barriers.
//
// Expects: #define STAGES, PROMOTE (stages per promotion), KSUB (1 or 2), WGS (default 2). Needs
// K % 16 == 0. Dynamic shared memory: STAGES * (64 * WGS + 128) * 128 * KSUB + 1024 bytes.
//
// With MX = 1 (blockscaled/v04_mxfp8_wgmma.cu) the scales are MXFP8's E8M0 codes, one per
// 32 k for every row of X and of W, and every wgmma (32 k: one block) is promoted with its
// own scales: sum += d * sx[m, b] * sw[n, b]. The scales travel with the stage in shared
// memory as fp32 (SC_STAGE more bytes a stage), converted once per block instead of once
// per thread that reads them.
#include "wgmma.cuh"

#ifndef MX
#define MX 0
#endif
#if MX
typedef unsigned char scale_t;       // E8M0 codes [., K/32]
#define SC_BLOCKS (4 * KSUB)         // scale blocks (32 k each) per stage
#define SC_STAGE (SC_BLOCKS * (BM + BN) * 4)
#else
typedef float scale_t;               // fp32 [., 1]
#define SC_STAGE 0
#endif

#ifndef WGS
#define WGS 2                     // warpgroups: each owns 64 rows of the tile
#endif
#if MX && WGS != 2
#error "MXFP8 (MX = 1) stages its scales with 256 threads: WGS must be 2"
#endif
#define THREADS (128 * WGS)
#define BM (64 * WGS)
#define BN 128
#define BK (128 * KSUB)           // bytes (= k) per stage: KSUB atoms of one 128-byte swizzle row
#define A_ATOM (BM * 128)         // bytes of one atom of the A tile: rows of 128 bytes of k
#define B_ATOM (BN * 128)
#define A_STAGE (A_ATOM * KSUB)
#define B_STAGE (B_ATOM * KSUB)
#define GROUP_M 8

#if MX
// sum (+)= d * sx[row] * sw[col] for one 64-column half h of the warpgroup's tile and one block:
// the promotion, a multiply and a multiply-add per output. sa: the block's row scales, sb its
// column scales in the [4][32] lane-group order (see load_scales).
__device__ __forceinline__ void promote_half(float (&sum)[64], const float (&d)[32], int h, const float* sa,
                                             const float* sb, int r, int q)
{
    const float sx0 = sa[r], sx1 = sa[r + 8];
    const float4* swv = reinterpret_cast<const float4*>(sb + q * 32) + 4 * h;
#pragma unroll
    for (int v = 0; v < 4; ++v) {
        const float4 w4 = swv[v];  // columns of accumulator blocks 8h + 2v, 8h + 2v + 1
        const float sw[4] = {w4.x, w4.y, w4.z, w4.w};
#pragma unroll
        for (int c = 0; c < 4; ++c) {
            const int i = 2 * v + c / 2, j = c % 2, o = 4 * (8 * h + i) + j;
            sum[o] = fmaf(d[4 * i + j] * sw[c], sx0, sum[o]);
            sum[o + 2] = fmaf(d[4 * i + 2 + j] * sw[c], sx1, sum[o + 2]);
        }
    }
}
#endif

extern "C" __global__ void __launch_bounds__(THREADS, 1)
fp8_wgmma(const unsigned char* __restrict__ X, const scale_t* __restrict__ SX,
          const unsigned char* __restrict__ W, const scale_t* __restrict__ SW,
          __half* __restrict__ Y, int M, int N, int K)
{
    extern __shared__ unsigned char smem_raw[];
    unsigned char* smem = smem_raw + ((1024 - (static_cast<unsigned>(__cvta_generic_to_shared(smem_raw)) & 1023)) & 1023);
    unsigned char* As = smem;
    unsigned char* Bs = smem + STAGES * A_STAGE;

    int tile_m, tile_n;
    grouped_tile(blockIdx.x, (M + BM - 1) / BM, (N + BN - 1) / BN, GROUP_M, tile_m, tile_n);
    const int m0 = tile_m * BM, n0 = tile_n * BN;

    const int tid = threadIdx.x, wg = tid >> 7, t = tid & 127, warp = t >> 5, lane = t & 31;
    const int KC = (K + BK - 1) / BK;

    // 16-byte chunk c of a row's k slice: atom c / 8, and within the atom chunk (c % 8) ^ (r % 8),
    // the 128-byte swizzle.
    auto load_stage = [&](int slot, int kc) {
        unsigned char* as = As + slot * A_STAGE;
        unsigned char* bs = Bs + slot * B_STAGE;
#pragma unroll
        for (int i = 0; i < BM * 8 * KSUB / THREADS; ++i) {
            const int e = tid + THREADS * i, r = e / (8 * KSUB), c = e % (8 * KSUB), k = kc * BK + 16 * c;
            const bool ok = m0 + r < M && k < K;
            cp_async16(as + (c >> 3) * A_ATOM + r * 128 + 16 * ((c & 7) ^ (r & 7)),
                       ok ? (const void*)(X + (size_t)(m0 + r) * K + k) : (const void*)X, ok ? 16 : 0);
        }
#pragma unroll
        for (int i = 0; i < (BN * 8 * KSUB + THREADS - 1) / THREADS; ++i) {
            const int e = tid + THREADS * i, r = e / (8 * KSUB), c = e % (8 * KSUB), k = kc * BK + 16 * c;
            if (BN * 8 * KSUB % THREADS && e >= BN * 8 * KSUB) break;  // 3 warpgroups: not a multiple
            const bool ok = n0 + r < N && k < K;
            cp_async16(bs + (c >> 3) * B_ATOM + r * 128 + 16 * ((c & 7) ^ (r & 7)),
                       ok ? (const void*)(W + (size_t)(n0 + r) * K + k) : (const void*)W, ok ? 16 : 0);
        }
    };

#if MX
    // Stage s's scales as fp32: A part [SC_BLOCKS][BM] (row r of block b), then B part
    // [SC_BLOCKS][4][32]: for lane group q = lane % 4, the 32 columns 8i + 2q + {0, 1} it holds
    // in the accumulators, contiguous, so a thread reads its block's column scales in 8
    // 16-byte loads (lanes of one q read the same addresses: a broadcast).
    float* Sc = reinterpret_cast<float*>(Bs + STAGES * B_STAGE);
    const int kblocks = K / 32;
    float sc_next[SC_BLOCKS * (BM + BN) / 256];  // this thread's scales of the stage being loaded
    auto load_scales = [&](int kc) {
#pragma unroll
        for (int i = 0; i < SC_BLOCKS * (BM + BN) / 256; ++i) {
            const int e = tid + 256 * i;
            float v = 0.f;  // out of range: the data there is zero-filled, any finite scale does
            if (e < SC_BLOCKS * BM) {
                const int b = e / BM, r = e % BM, kb = kc * SC_BLOCKS + b;
                if (m0 + r < M && kb < kblocks) v = e8m0_to_f32(__ldg(SX + (size_t)(m0 + r) * kblocks + kb));
            } else {
                const int f = e - SC_BLOCKS * BM, b = f / BN, q = (f / 32) % 4, j = f % 32;
                const int n = 8 * (j >> 1) + 2 * q + (j & 1), kb = kc * SC_BLOCKS + b;
                if (n0 + n < N && kb < kblocks) v = e8m0_to_f32(__ldg(SW + (size_t)(n0 + n) * kblocks + kb));
            }
            sc_next[i] = v;
        }
    };
    auto store_scales = [&](int slot) {
#pragma unroll
        for (int i = 0; i < SC_BLOCKS * (BM + BN) / 256; ++i) Sc[slot * SC_STAGE / 4 + tid + 256 * i] = sc_next[i];
    };
#endif

#if MX
    float dlo[32], dhi[32], sum[64];  // the two 64-column halves of a block's product, and the total
#pragma unroll
    for (int i = 0; i < 32; ++i) { dlo[i] = 0.f; dhi[i] = 0.f; }
#pragma unroll
    for (int i = 0; i < 64; ++i) sum[i] = 0.f;
    const int q = lane & 3, r = 64 * wg + 16 * warp + lane / 4;
#else
    float d[64], sum[64];
#pragma unroll
    for (int i = 0; i < 64; ++i) { d[i] = 0.f; sum[i] = 0.f; }
#endif

#pragma unroll
    for (int s = 0; s < STAGES - 2; ++s) {
        if (s < KC) load_stage(s, s);
        cp_async_commit();
#if MX
        if (s < KC) { load_scales(s); store_scales(s); }
#endif
    }
    for (int kc = 0; kc < KC; ++kc) {
        cp_async_wait<STAGES - 3>();
        fence_proxy_async();
        __syncthreads();
        const bool more = kc + STAGES - 2 < KC;
        if (more) load_stage((kc + STAGES - 2) % STAGES, kc + STAGES - 2);
        cp_async_commit();

        const int slot = kc % STAGES;
#if MX
        // The next stage's scales are read now and stored after this stage's MMAs, so their
        // global-load latency hides behind the MMAs (that slot was last read two stages ago).
        if (more) load_scales(kc + STAGES - 2);
        // Each block waits for its own MMA before its promotion. (Overlapping them inside the
        // warpgroup — issue one 64-column half, promote the other half of the previous block —
        // makes ptxas serialize the wgmma pipeline anyway (info C7514: accumulators read by
        // other instructions while a wgmma is in flight); it measured no faster.)
#pragma unroll
        for (int a = 0; a < KSUB; ++a) {
            const unsigned long long da = smem_desc(As + slot * A_STAGE + a * A_ATOM + wg * 64 * 128);
            const unsigned long long db = smem_desc(Bs + slot * B_STAGE + a * B_ATOM);
#pragma unroll
            for (int ks = 0; ks < 4; ++ks) {  // one 32-k step = one MX block
                const int b = 4 * a + ks;
                fence_operands(dlo);
                fence_operands(dhi);
                wgmma_fence();
                wgmma_e4m3_m64n64k32(dlo, da + 2 * ks, db + 2 * ks);
                wgmma_e4m3_m64n64k32(dhi, da + 2 * ks, db + 2 * ks + (64 * 128 >> 4));  // rows 64..127 of B
                wgmma_commit();
                wgmma_wait<0>();
                fence_operands(dlo);
                fence_operands(dhi);
                const float* sa = Sc + slot * SC_STAGE / 4 + b * BM;
                const float* sb = Sc + slot * SC_STAGE / 4 + SC_BLOCKS * BM + b * 4 * 32;
                promote_half(sum, dlo, 0, sa, sb, r, q);
                promote_half(sum, dhi, 1, sa, sb, r, q);
            }
        }
        if (more) store_scales((kc + STAGES - 2) % STAGES);
#else
        const bool fresh = kc % PROMOTE == 0;  // the first stage after a promotion starts from zero
        fence_operands(d);
        wgmma_fence();
#pragma unroll
        for (int a = 0; a < KSUB; ++a) {
            const unsigned long long da = smem_desc(As + slot * A_STAGE + a * A_ATOM + wg * 64 * 128);
            const unsigned long long db = smem_desc(Bs + slot * B_STAGE + a * B_ATOM);
#pragma unroll
            for (int ks = 0; ks < 4; ++ks)  // +32 bytes along k = +2 in the address field
                wgmma_e4m3_m64n128k32(d, da + 2 * ks, db + 2 * ks, !(fresh && a == 0 && ks == 0));
        }
        wgmma_commit();
        if ((kc + 1) % PROMOTE == 0 || kc == KC - 1) {
            wgmma_wait<0>();  // promotion: the partial sum joins the fp32 total
            fence_operands(d);
#pragma unroll
            for (int i = 0; i < 64; ++i) sum[i] += d[i];
        } else {
            wgmma_wait<1>();  // one group stays in flight; the slot of kc - 1 is free
            fence_operands(d);
        }
#endif
    }
    cp_async_wait<0>();

    // Accumulator layout: warp w of the warpgroup holds rows 16w..16w+15; in each 8-column
    // block i, sum[4i], sum[4i+1] are row lane/4, columns 2(lane%4), +1; sum[4i+2], sum[4i+3] row + 8.
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        const int m = m0 + 64 * wg + 16 * warp + lane / 4 + 8 * h;
        if (m >= M) continue;
#if MX
        const float sx = 1.f;  // every block's scales are already in the sum
#define COL_SCALE(n) 1.f
#else
        const float sx = SX[m];
#define COL_SCALE(n) SW[n]
#endif
#pragma unroll
        for (int i = 0; i < 16; ++i) {
            const int n = n0 + 8 * i + 2 * (lane & 3);
            const float y0 = sum[4 * i + 2 * h] * sx * (n < N ? COL_SCALE(n) : 0.f);
            const float y1 = sum[4 * i + 2 * h + 1] * sx * (n + 1 < N ? COL_SCALE(n + 1) : 0.f);
            store_f16x2(Y, m, n, N, y0, y1);
        }
    }
}
