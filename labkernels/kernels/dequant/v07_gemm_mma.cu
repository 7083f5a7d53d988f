// v07_gemm_mma — W4A16 GEMM for large M: 128x128 block tiles, a 3-stage cp.async
// pipeline, ldmatrix-fed A, int4 weights dequantized in registers into mma.sync operands.
//
// Computes  Y[m, n] = sum_k X[m, k] * (q[n, k] - z[n, g]) * s[n, g]   (fp32 accumulation)
// Arguments as v06 (X fp16 [M,K]; PW fragment-ordered int4 from prepack_w4(); S, Z; Y fp16).
// Grid: x over 128-column tiles of N (16 n8 tiles), y over 128-row tiles of M.
// Block: 8 warps as 2 (M) x 4 (N); each warp owns a 64 x 32 tile of Y: 4 x 4 MMA tiles.
//
// Bound: MMA (fp16 mma.sync) for large M — plus the dequant ALU work, repeated once
// per 128-row tile of M that re-reads a weight. That repetition is why A16W4 can
// fall behind plain fp16 when compute-bound: cuBLAS's fp16 GEMM does no such work
// (and on Hopper it uses wgmma, which mma.sync cannot reach).
// Changed from v06: v06 re-reads the weights for every 16 rows of M; here a block
// keeps a 128 x 128 output tile, so each weight it dequantizes feeds 64 rows of MMA
// per warp, and each element of X is reused by 128 columns. Tiles of X (128x128
// fp16) and of packed W (16 fragment tiles, 8 KB) stream into shared memory with
// cp.async — straight from global to shared, no registers — STAGES deep, so the
// copies of tile k+2 overlap the MMAs of tile k.
//
// Expects: #define STAGES (>= 2). Needs K % 8 == 0. Dynamic shared memory:
// STAGES * (128 * (128 + 8) * 2 + 16 * 512) bytes.
#include "lab.cuh"

#define BM 128
#define BN 128
#define BK 128
#define A_STRIDE (BK + 8)  // halves per smem row of A: +16 bytes keeps ldmatrix conflict-free
#define A_STAGE (BM * A_STRIDE)  // halves
#define B_STAGE (BN / 8 * 32)  // uint4 per stage: 16 n8 tiles x 32 lanes

extern "C" __global__ void __launch_bounds__(256, 1)
w4a16_gemm_mma(const __half* __restrict__ X, const uint4* __restrict__ PW,
               const __half* __restrict__ S, const unsigned char* __restrict__ Z,
               __half* __restrict__ Y, int M, int N, int K, int G)
{
    extern __shared__ __align__(16) unsigned char smem[];
    __half* As = reinterpret_cast<__half*>(smem);
    uint4* Bs = reinterpret_cast<uint4*>(smem + (size_t)STAGES * A_STAGE * sizeof(__half));

    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int wm = warp >> 2, wn = warp & 3;  // warp tile: rows 64*wm.., n8 tiles 4*wn..
    const int NT = (N + 7) / 8, KC = (K + 127) / 128;
    const int m0 = blockIdx.y * BM, nt0 = blockIdx.x * (BN / 8);
    const int gshift = G == 1 ? 30 : 31 - __clz(K / G);  // log2(group): groups are 32/64/128 wide

    // Copy k-chunk kc of A and B into stage slot `slot` (zero-filled outside M, N, K).
    auto load_stage = [&](int slot, int kc) {
        __half* as = As + slot * A_STAGE;
#pragma unroll
        for (int i = 0; i < BM * BK / 8 / 256; ++i) {  // 8 x 16-byte copies per thread
            const int c = tid + 256 * i, r = c / (BK / 8), col = (c % (BK / 8)) * 8;
            const int m = m0 + r, k = kc * BK + col;
            const bool ok = m < M && k < K;
            cp_async16(as + r * A_STRIDE + col, ok ? (const void*)(X + (size_t)m * K + k) : (const void*)X, ok ? 16 : 0);
        }
        uint4* bs = Bs + slot * B_STAGE;
#pragma unroll
        for (int i = 0; i < B_STAGE / 256; ++i) {  // 2 x 16-byte copies per thread
            const int c = tid + 256 * i, t = c / 32, l = c % 32;
            const bool ok = nt0 + t < NT;
            cp_async16(bs + c, ok ? (const void*)(PW + ((size_t)(nt0 + t) * KC + kc) * 32 + l) : (const void*)PW,
                       ok ? 16 : 0);
        }
    };

    float acc[4][4][4];
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j)
#pragma unroll
            for (int e = 0; e < 4; ++e) acc[i][j][e] = 0.f;

#pragma unroll
    for (int s = 0; s < STAGES - 1; ++s) {
        if (s < KC) load_stage(s, s);
        cp_async_commit();  // commit even when empty: group counting stays uniform
    }

    for (int kc = 0; kc < KC; ++kc) {
        cp_async_wait<STAGES - 2>();  // chunk kc has landed (for this thread's copies) ...
        __syncthreads();              // ... and for everyone's; slot (kc-1) is free again
        if (kc + STAGES - 1 < KC) load_stage((kc + STAGES - 1) % STAGES, kc + STAGES - 1);
        cp_async_commit();

        const int slot = kc % STAGES;
        const __half* as = As + slot * A_STAGE + (64 * wm) * A_STRIDE;
        const uint4* bs = Bs + slot * B_STAGE + (4 * wn) * 32 + lane;
        uint4 wv[4];
#pragma unroll
        for (int t = 0; t < 4; ++t) wv[t] = bs[t * 32];

#pragma unroll
        for (int j = 0; j < 4; ++j) {  // word j of each fragment tile: k16 steps 2j, 2j+1
            const int g = min((kc * BK + 32 * j) >> gshift, G - 1);
            unsigned b[4][4];
#pragma unroll
            for (int t = 0; t < 4; ++t) {
                const int n = (nt0 + 4 * wn + t) * 8 + lane / 4;
                const __half s = n < N ? S[(size_t)n * G + g] : __float2half(0.f);
                const unsigned z = (Z && n < N) ? Z[(size_t)n * G + g] : 8u;
                const unsigned w = j == 0 ? wv[t].x : j == 1 ? wv[t].y : j == 2 ? wv[t].z : wv[t].w;
                dequant_word_frag(b[t], w, magic_zero(z), __half2half2(s));
            }
#pragma unroll
            for (int st = 0; st < 2; ++st) {
#pragma unroll
                for (int mt = 0; mt < 4; ++mt) {
                    unsigned a[4];
                    ldmatrix_x4(a, as + (16 * mt + (lane & 15)) * A_STRIDE + 32 * j + 16 * st + (lane >> 4) * 8);
#pragma unroll
                    for (int t = 0; t < 4; ++t) mma_m16n8k16(acc[mt][t], a, b[t][st], b[t][2 + st]);
                }
            }
        }
    }
    cp_async_wait<0>();

#pragma unroll
    for (int mt = 0; mt < 4; ++mt) {
#pragma unroll
        for (int t = 0; t < 4; ++t) {
            const int col = (nt0 + 4 * wn + t) * 8 + 2 * (lane & 3);
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                const int m = m0 + 64 * wm + 16 * mt + lane / 4 + 8 * h;
                if (m >= M) continue;
                if (col + 1 < N && (N & 1) == 0) {  // 4-byte aligned only when N is even
                    *reinterpret_cast<__half2*>(Y + (size_t)m * N + col) =
                        __floats2half2_rn(acc[mt][t][2 * h], acc[mt][t][2 * h + 1]);
                } else {
                    if (col < N) Y[(size_t)m * N + col] = __float2half(acc[mt][t][2 * h]);
                    if (col + 1 < N) Y[(size_t)m * N + col + 1] = __float2half(acc[mt][t][2 * h + 1]);
                }
            }
        }
    }
}
