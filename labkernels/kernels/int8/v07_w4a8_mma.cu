// v07_w4a8_mma — W4A8 GEMM: int4 weights widened to int8 in registers, int8 mma.sync,
// group scales applied to int32 partial sums (sm_80+).
//
// Computes  Y[m, n] = sx[m] * sum_g s[n, g] * sum_{k in g} X[m, k] * q[n, k]
//   X [M, K] int8 with per-token fp16 scales sx [M, 1]; q symmetric int4 (-8..7) in
//   fragment order (prepack_w4a8_mma), group scales s [N, G] fp16; Y [M, N] fp16.
// Block: 8 warps as 2 (M) x 4 (N) over a 128 x 128 tile; each warp 64 x 32 (4 x 4 MMAs).
//
// Bound: MMA (int8 mma.sync) for large M; memory for small M, where the weights
// cost 4.125 bits each instead of A8W8's 8.
// Changed from v06: the W tile arrives as packed int4, half the bytes. The weights
// were re-laid out offline so that each lane's 32-bit word holds exactly its two B
// registers for one k32 step: byte j = q[4t + j] | q[16 + 4t + j] << 4 (t = lane % 4),
// stored as two's-complement nibbles. Masking a nibble into the high half of a byte
// gives a correctly signed int8 equal to 16·q (int4x8_to_int8x16): 3 instructions
// per 8 weights, and the Tensor Cores stay on int8. What W4A16 pays per weight per
// tile (lop3, sub, mul into fp16) is here a third of that, and the MMA runs at the
// int8 rate, twice fp16's.
// Group scales cannot go inside an integer MMA, so each group's products are summed
// in int32 (exact), then scaled once per group into fp32 accumulators: one I2F and
// one FFMA per output per group of k, on the CUDA cores, beside the MMAs. (QServe
// goes one step further with integer second-level scales; this is the plain form.)
//
// Expects: #define STAGES. Needs K % 32 == 0, group 32/64/128 or per-channel (G = 1).
// Dynamic shared memory: STAGES * (128 * (128 + 16) + 16 * 512) bytes.
#include "lab.cuh"

#define BM 128
#define BN 128
#define BK 128
#define SROW (BK + 16)
#define A_STAGE (BM * SROW)          // bytes
#define B_STAGE (BN / 8 * 32)        // uint4: 16 n8 tiles x 32 lanes

extern "C" __global__ void __launch_bounds__(256, 1)
w4a8_mma(const signed char* __restrict__ X, const __half* __restrict__ SX,
         const uint4* __restrict__ PW, const __half* __restrict__ S,
         __half* __restrict__ Y, int M, int N, int K, int G)
{
    extern __shared__ __align__(16) unsigned char smem[];
    unsigned char* As = smem;
    uint4* Bs = reinterpret_cast<uint4*>(smem + STAGES * A_STAGE);

    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int wm = warp >> 2, wn = warp & 3;  // warp tile: rows 64*wm.., n8 tiles 4*wn..
    const int NTILES = (N + 7) / 8, KC = (K + BK - 1) / BK;
    const int m0 = blockIdx.y * BM, nt0 = blockIdx.x * (BN / 8);
    // k32 steps per group; per-channel scales are applied once, after the last step.
    const int gsteps = G == 1 ? (1 << 30) : (K / G) / 32;

    auto load_stage = [&](int slot, int kc) {
        unsigned char* as = As + slot * A_STAGE;
#pragma unroll
        for (int i = 0; i < BM * (BK / 16) / 256; ++i) {
            const int c = tid + 256 * i, r = c / (BK / 16), col = 16 * (c % (BK / 16));
            const int k = kc * BK + col;
            const bool ok = m0 + r < M && k < K;
            cp_async16(as + r * SROW + col, ok ? (const void*)(X + (size_t)(m0 + r) * K + k) : (const void*)X,
                       ok ? 16 : 0);
        }
        uint4* bs = Bs + slot * B_STAGE;
#pragma unroll
        for (int i = 0; i < B_STAGE / 256; ++i) {
            const int c = tid + 256 * i, t = c / 32, l = c % 32;
            const bool ok = nt0 + t < NTILES;
            cp_async16(bs + c, ok ? (const void*)(PW + ((size_t)(nt0 + t) * KC + kc) * 32 + l) : (const void*)PW,
                       ok ? 16 : 0);
        }
    };

    int acc[4][4][4];
    float accf[4][4][4];
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j)
#pragma unroll
            for (int e = 0; e < 4; ++e) { acc[i][j][e] = 0; accf[i][j][e] = 0.f; }

#pragma unroll
    for (int s = 0; s < STAGES - 1; ++s) {
        if (s < KC) load_stage(s, s);
        cp_async_commit();
    }

    for (int kc = 0; kc < KC; ++kc) {
        cp_async_wait<STAGES - 2>();
        __syncthreads();
        if (kc + STAGES - 1 < KC) load_stage((kc + STAGES - 1) % STAGES, kc + STAGES - 1);
        cp_async_commit();

        const int slot = kc % STAGES;
        const unsigned char* as = As + slot * A_STAGE + (64 * wm) * SROW;
        uint4 wv[4];
#pragma unroll
        for (int j = 0; j < 4; ++j) wv[j] = Bs[slot * B_STAGE + (4 * wn + j) * 32 + lane];

#pragma unroll
        for (int ks = 0; ks < 4; ++ks) {
            unsigned a[4][4], b[4][2];
#pragma unroll
            for (int i = 0; i < 4; ++i)
                ldmatrix_x4(a[i], as + (16 * i + (lane & 15)) * SROW + 32 * ks + 16 * (lane >> 4));
#pragma unroll
            for (int j = 0; j < 4; ++j) {
                const unsigned w = ks == 0 ? wv[j].x : ks == 1 ? wv[j].y : ks == 2 ? wv[j].z : wv[j].w;
                int4x8_to_int8x16(w, b[j][0], b[j][1]);
            }
#pragma unroll
            for (int i = 0; i < 4; ++i)
#pragma unroll
                for (int j = 0; j < 4; ++j) mma_s8_m16n8k32(acc[i][j], a[i], b[j][0], b[j][1]);

            const int step = kc * 4 + ks;
            if ((step + 1) % gsteps == 0 || (kc == KC - 1 && ks == 3)) {  // a group ends: scale it in
                const int g = G == 1 ? 0 : min(step / gsteps, G - 1);
#pragma unroll
                for (int j = 0; j < 4; ++j) {
                    const int n = (nt0 + 4 * wn + j) * 8 + 2 * (lane & 3);
                    // 1/16 undoes the x16 of the int4 -> int8 widening (exact: a power of two).
                    const float s0 = n < N ? __half2float(S[(size_t)n * G + g]) * 0.0625f : 0.f;
                    const float s1 = n + 1 < N ? __half2float(S[(size_t)(n + 1) * G + g]) * 0.0625f : 0.f;
#pragma unroll
                    for (int i = 0; i < 4; ++i) {
                        accf[i][j][0] += (float)acc[i][j][0] * s0; accf[i][j][1] += (float)acc[i][j][1] * s1;
                        accf[i][j][2] += (float)acc[i][j][2] * s0; accf[i][j][3] += (float)acc[i][j][3] * s1;
#pragma unroll
                        for (int e = 0; e < 4; ++e) acc[i][j][e] = 0;
                    }
                }
            }
        }
    }
    cp_async_wait<0>();

#pragma unroll
    for (int i = 0; i < 4; ++i) {
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            const int m = m0 + 64 * wm + 16 * i + lane / 4 + 8 * h;
            if (m >= M) continue;
            const float sx = __half2float(SX[m]);
#pragma unroll
            for (int j = 0; j < 4; ++j) {
                const int n = (nt0 + 4 * wn + j) * 8 + 2 * (lane & 3);
                const float y0 = accf[i][j][2 * h] * sx, y1 = accf[i][j][2 * h + 1] * sx;
                store_f16x2(Y, m, n, N, y0, y1);
            }
        }
    }
}
