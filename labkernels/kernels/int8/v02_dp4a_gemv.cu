// v02_dp4a_gemv — A8W8 GEMV for M <= 16 (decode): one warp per output row, dp4a.
//
// Computes  Y[m, n] = (sum_k X[m, k] * W[n, k]) * sx[m] * sw[n]
//   X [M, K] int8, sx [M, 1] fp16 (per token);  W [N, K] int8, sw [N, 1] fp16 (per channel)
//   Y [M, N] fp16, or the raw int32 sums when compiled with RAW=1.
// Grid: SPLIT warps per n (1 by default; 4 at M = 1), WARPS warps per block.
//
// Bound: memory. W is N*K bytes, read once: half of fp16's, so at M = 1 and
// N = K = 8192 the floor is 67 MB / 3 TB/s = 22 us.
// Changed from v01: the fp16 GEMV's layout (fp16/v03) with int8 arithmetic. Lanes
// read consecutive 16-byte chunks of a row of W (16 weights each, UNROLL chunks in
// flight per lane); each 4-byte word meets the matching word of X in one dp4a: four
// multiply-adds in one instruction, exact int32 sums, no conversion until the end.
// Scales are applied once per output, after the warp's integer reduction.
// At M = 1 two changes measured faster on the H100 (NOTES.md): SPLIT = 4 warps read one
// row together, so each step of a block reads 2 KB of contiguous weights instead of
// four scattered 512-byte pieces (the partial sums meet in shared memory), and HINT = 1
// marks W as read-once. Together: 27.1 -> 25.8 us at N = K = 8192.
//
// Expects: #define ROWS (= M, 1..16), WARPS, UNROLL, RAW, and optionally HINT and SPLIT.
// K % 16 == 0 takes the vector path.
#include "lab.cuh"

#ifndef SPLIT
#define SPLIT 1  // warps per row of W (a divisor of WARPS)
#endif

// A weight is read once: HINT = 1 says so to the memory system (lab.cuh, ldg_weights16).
__device__ __forceinline__ int4 load_weights(const int4* p)
{
    const uint4 v = ldg_weights16(p);
    return make_int4((int)v.x, (int)v.y, (int)v.z, (int)v.w);
}

// The epilogue: scales once per output, after the integer sum is complete.
__device__ __forceinline__ void store(out_t* Y, const __half* SX, const __half* SW, int m, int n, int N, int s)
{
#if RAW
    Y[(size_t)m * N + n] = s;
#else
    Y[(size_t)m * N + n] = __float2half((float)s * __half2float(SX[m]) * __half2float(SW[n]));
#endif
}

extern "C" __global__ void __launch_bounds__(WARPS * 32)
a8w8_dp4a_gemv(const signed char* __restrict__ X, const __half* __restrict__ SX,
               const signed char* __restrict__ W, const __half* __restrict__ SW,
               out_t* __restrict__ Y, int M, int N, int K)
{
    // SPLIT warps share a row: warp `sub` of the group reads every SPLIT-th span of
    // 32 * UNROLL chunks, so at each step the group covers SPLIT contiguous spans of the row.
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int sub = warp % SPLIT;
    const int n = blockIdx.x * (WARPS / SPLIT) + warp / SPLIT;
    const bool valid = n < N;  // no early return: the SPLIT > 1 reduction below has a barrier

    const signed char* w = W + (size_t)(valid ? n : 0) * K;
    int acc[ROWS];
#pragma unroll
    for (int m = 0; m < ROWS; ++m) acc[m] = 0;

    const int chunks = (valid && K % 16 == 0) ? K / 16 : 0;  // rows 16-byte aligned only then
    const int4* wv = reinterpret_cast<const int4*>(w);
    for (int c0 = sub * 32 * UNROLL + lane; c0 < chunks; c0 += 32 * UNROLL * SPLIT) {
        int4 v[UNROLL];
#pragma unroll
        for (int u = 0; u < UNROLL; ++u)
            if (c0 + 32 * u < chunks) v[u] = load_weights(wv + c0 + 32 * u);
#pragma unroll
        for (int u = 0; u < UNROLL; ++u) {
            const int c = c0 + 32 * u;
            if (c >= chunks) break;
#pragma unroll
            for (int m = 0; m < ROWS; ++m) {
                const int4 xv = __ldg(reinterpret_cast<const int4*>(X + (size_t)m * K) + c);
                acc[m] = __dp4a(v[u].x, xv.x, acc[m]);
                acc[m] = __dp4a(v[u].y, xv.y, acc[m]);
                acc[m] = __dp4a(v[u].z, xv.z, acc[m]);
                acc[m] = __dp4a(v[u].w, xv.w, acc[m]);
            }
        }
    }
    if (valid && K % 16 != 0) {  // any other K: byte by byte
        for (int k = sub * 32 + lane; k < K; k += 32 * SPLIT) {
            const int b = w[k];
#pragma unroll
            for (int m = 0; m < ROWS; ++m) acc[m] += (int)X[(size_t)m * K + k] * b;
        }
    }

#if SPLIT > 1
    __shared__ int part[WARPS][ROWS];
#pragma unroll
    for (int m = 0; m < ROWS; ++m) {
        const int t = warp_sum_int(acc[m]);
        if (lane == 0) part[warp][m] = t;
    }
    __syncthreads();
    if (valid && sub == 0 && lane < ROWS) {  // lane m of the group's first warp writes row m
        int t = 0;
#pragma unroll
        for (int j = 0; j < SPLIT; ++j) t += part[warp + j][lane];
        store(Y, SX, SW, lane, n, N, t);
    }
#else
#pragma unroll
    for (int m = 0; m < ROWS; ++m) {
        const int t = warp_sum_int(acc[m]);
        if (valid && lane == 0) store(Y, SX, SW, m, n, N, t);
    }
#endif
}
