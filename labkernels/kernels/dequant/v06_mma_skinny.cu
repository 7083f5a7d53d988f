// v06_mma_skinny — W4A16 for small M on the Tensor Cores: mma.sync m16n8k16, weights
// re-laid out offline into fragment order and dequantized in registers.
//
// Computes  Y[m, n] = sum_k X[m, k] * (q[n, k] - z[n, g]) * s[n, g]   (fp32 accumulation)
//   X   [M, K]  fp16 row-major
//   PW  fragment-ordered int4 weights, uint4 [NT][KC][32 lanes]  (NT = ceil(N/8),
//       KC = ceil(K/128)): the 16 bytes lane t needs for the B fragments of an n8 x k128
//       tile, in the order dequant_word_frag() consumes (built by prepack_w4()).
//   S   [N, G] fp16 scales;  Z [N, G] uint8 zero points or nullptr (z = 8);  Y [M, N] fp16
//   P   [splits, M, N] fp32 partial sums when the grid splits K (gridDim.z > 1), else unused
// Grid: x over n8 tiles (WARPS per block, one per warp), y over 16-row tiles of M,
// z over slices of K ("split-K": N/8 warps alone are too few to keep enough loads
// in flight, so each n8 tile's K range is shared by gridDim.z blocks).
//
// Bound: memory for M <= 16 (the weights are read once per 16 rows of M).
// Changed from v04: v04 spends CUDA-core instructions on every (m, weight) pair,
// so its time grows with M; here the multiply-adds go to the Tensor Cores, which
// do a 16x8x16 tile per instruction, and 16 rows cost the same as one. Two ideas
// make that cheap:
//  * Offline re-layout: in the natural layout the 4 weights a lane needs for one
//    B fragment (k = 2c, 2c+1, 2c+8, 2c+9 of row n = lane/4) are scattered; after
//    prepack_w4() each lane reads one contiguous 16 bytes per k128 (a warp, 512
//    bytes: fully coalesced) holding exactly its 32 weights, arranged so the lop3
//    conversion of v04 produces the fragment registers directly.
//  * X is staged once per block in shared memory and read with ldmatrix, which
//    delivers the A fragment of a 16x16 tile in one instruction per warp.
// Both streams are double-buffered: the next chunk of X is copied into shared
// memory with cp.async (global -> shared, no registers) and the next chunk of W
// into registers while the current chunk is multiplied, so DRAM and L2 latency
// hide behind the MMAs instead of stalling every warp at each barrier.
//
// Expects: #define WARPS, KCH (K chunk per stage, a multiple of 128). Needs K % 8 == 0.
// Dynamic shared memory: 2 * 16 * (KCH + 8) * 2 bytes.
#include "lab.cuh"

#define U (KCH / 128)  // uint4 of W per lane per chunk

extern "C" __global__ void __launch_bounds__(WARPS * 32)
w4a16_mma_skinny(const __half* __restrict__ X, const uint4* __restrict__ PW,
                 const __half* __restrict__ S, const unsigned char* __restrict__ Z,
                 __half* __restrict__ Y, float* __restrict__ P, int M, int N, int K, int G)
{
    // Two buffers of a 16 x KCH tile of X; rows padded by 8 halves (16 bytes) so the
    // 8 row addresses of an ldmatrix land in 8 different bank groups.
    extern __shared__ __align__(16) unsigned char smem[];
    typedef __half XTile[16][KCH + 8];
    XTile* xs = reinterpret_cast<XTile*>(smem);

    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int NT = (N + 7) / 8, KC = (K + 127) / 128;
    const int nt = blockIdx.x * WARPS + warp;
    const bool active = nt < NT;  // idle warps still copy X and meet the barriers
    const int m0 = blockIdx.y * 16;
    const int gshift = G == 1 ? 30 : 31 - __clz(K / G);  // log2(group): groups are 32/64/128 wide
    const int n_b = nt * 8 + lane / 4;  // the row of W this lane's B fragments come from
    // Split-K: block z of gridDim.z covers K columns [kz0, kz1), chunk-aligned.
    const int per_z = ((K + gridDim.z - 1) / gridDim.z + KCH - 1) / KCH * KCH;
    const int kz0 = blockIdx.z * per_z, kz1 = min(K, kz0 + per_z);
    const int chunks = kz1 > kz0 ? (kz1 - kz0 + KCH - 1) / KCH : 0;

    // Copy X[m0:m0+16, k0:k0+KCH] into buffer b; rows past M and columns past K
    // are zero-filled by cp.async (source size 0), so they add nothing.
    auto stage_x = [&](int b, int k0) {
        for (int i = threadIdx.x; i < 16 * (KCH / 8); i += WARPS * 32) {
            const int r = i / (KCH / 8), col = (i % (KCH / 8)) * 8;
            const int m = m0 + r, k = k0 + col;
            const bool ok = m < M && k < kz1;
            cp_async16(&xs[b][r][col], ok ? (const void*)(X + (size_t)m * K + k) : (const void*)X, ok ? 16 : 0);
        }
    };
    const uint4* pw = PW + (size_t)(active ? nt : 0) * KC * 32 + lane;
    auto load_w = [&](uint4 (&w)[U], int k0) {
#pragma unroll
        for (int u = 0; u < U; ++u) {
            const int kc = k0 / 128 + u;
            w[u] = (active && kc < KC) ? pw[(size_t)kc * 32] : make_uint4(0, 0, 0, 0);
        }
    };

    uint4 wcur[U], wnext[U];
    if (chunks > 0) {
        stage_x(0, kz0);
        load_w(wcur, kz0);
    }
    cp_async_commit();

    float acc[4] = {0.f, 0.f, 0.f, 0.f};
    for (int c = 0; c < chunks; ++c) {
        const int k0 = kz0 + c * KCH;
        if (c + 1 < chunks) {  // next chunk in flight before this one is used
            stage_x((c + 1) & 1, k0 + KCH);
            load_w(wnext, k0 + KCH);
        }
        cp_async_commit();
        cp_async_wait<1>();  // chunk c of X has landed (this thread's copies) ...
        __syncthreads();     // ... and everyone's

        if (active) {
#pragma unroll
            for (int u = 0; u < U; ++u) {
                const int kbase = k0 + 128 * u;
                if (kbase >= kz1) break;
                const unsigned words[4] = {wcur[u].x, wcur[u].y, wcur[u].z, wcur[u].w};
#pragma unroll
                for (int j = 0; j < 4; ++j) {  // word j: k16 steps 2j and 2j+1
                    const int g = min((kbase + 32 * j) >> gshift, G - 1);
                    const __half s = n_b < N ? S[(size_t)n_b * G + g] : __float2half(0.f);
                    const unsigned z = (Z && n_b < N) ? Z[(size_t)n_b * G + g] : 8u;
                    unsigned b[4];
                    dequant_word_frag(b, words[j], magic_zero(z), __half2half2(s));
#pragma unroll
                    for (int st = 0; st < 2; ++st) {
                        unsigned a[4];
                        ldmatrix_x4(a, &xs[c & 1][lane & 15][128 * u + 32 * j + 16 * st + (lane >> 4) * 8]);
                        mma_m16n8k16(acc, a, b[st], b[2 + st]);
                    }
                }
            }
        }
        __syncthreads();  // buffer c&1 is refilled by the copies issued next iteration
#pragma unroll
        for (int u = 0; u < U; ++u) wcur[u] = wnext[u];
    }

    if (!active) return;
    // C fragment: acc[0..1] -> row lane/4, cols 2(lane%4)+{0,1}; acc[2..3] -> row lane/4 + 8.
    // One K split: fp16 straight to Y. Several: fp32 partial sums to P[z][m][n],
    // added up by w4a16_splitk_reduce.
    const int col = nt * 8 + 2 * (lane & 3);
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        const int m = m0 + lane / 4 + 8 * h;
        if (m >= M) continue;
#pragma unroll
        for (int e = 0; e < 2; ++e) {
            if (col + e >= N) continue;
            if (gridDim.z == 1) Y[(size_t)m * N + col + e] = __float2half(acc[2 * h + e]);
            else P[((size_t)blockIdx.z * M + m) * N + col + e] = acc[2 * h + e];
        }
    }
}

// Y[m, n] = sum over z < splits of P[z][m][n], rounded to fp16.
extern "C" __global__ void w4a16_splitk_reduce(const float* __restrict__ P, __half* __restrict__ Y,
                                               int MN, int splits)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= MN) return;
    float v = 0.f;
    for (int z = 0; z < splits; ++z) v += P[(size_t)z * MN + i];
    Y[i] = __float2half(v);
}
