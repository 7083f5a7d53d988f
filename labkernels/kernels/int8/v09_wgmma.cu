// v09_wgmma — A8W8 GEMM with Hopper's warpgroup MMA (wgmma, sm_90a only).
//
// Computes  Y[m, n] = (sum_k X[m, k] * W[n, k]) * sx[m] * sw[n]   (as v02, any M)
// Block: WGS warpgroups (default 2: 256 threads) over a (64 * WGS) x 256 tile of Y; each
// warpgroup owns 64 x 256 outputs: one wgmma m64n256k32 per 32 values of k, 128 int32 per
// thread. (WGS = 3 measured no faster: fp16/v04_wgmma.cu's header says why.)
// Grid: one dimension, grouped block order as v06.
//
// Bound: MMA at the wgmma int8 rate (measured by ceilings/wgmma_rate.cu), which mma.sync
// cannot reach on Hopper.
// Changed from v06: the instruction. Every v06 warp copies its A and B fragments from
// shared memory into registers (ldmatrix) before each mma.sync, 4 KB per 32 MMAs, and
// mma.sync itself runs at ~65% of the Tensor Cores' int8 rate on Hopper. (What held v06
// at half of even that was its barrier-bound pipeline, not the shared-memory traffic:
// v10 feeds the same fragments through TMA and mbarriers and reaches 77% of it.)
// wgmma reads both operands straight
// from shared memory, once per warpgroup (4 warps), through a *matrix descriptor*:
// the tile's address plus how its rows are laid out. The rows here are 128 bytes of
// k, stored with the 128-byte swizzle the descriptor announces (16-byte chunk c of
// row r sits at chunk c ^ (r % 8)), so the Tensor Cores read them without bank
// conflicts; stepping 32 bytes along k is adding 2 to the descriptor's address field.
// wgmma is asynchronous: issue, commit a group, and wait for it only before its
// registers or its shared-memory slot are needed again — one group stays in flight
// while the next tile is issued. cp.async writes shared memory through the generic
// proxy and wgmma reads it through the async proxy: fence.proxy.async orders the two.
//
// Expects: #define STAGES, RAW, WGS (default 2). Needs K % 16 == 0. Dynamic shared memory:
// STAGES * (64 * WGS + 256) * 128 + 1024 bytes (the extra 1 KB aligns the tiles to the swizzle).
#include "wgmma.cuh"

#ifndef WGS
#define WGS 2                     // warpgroups: each owns 64 rows of the tile
#endif
#define THREADS (128 * WGS)
#define BM (64 * WGS)
#define BN 256
#define BK 128                    // bytes (= k) per stage: one 128-byte swizzle row
#define A_STAGE (BM * BK)         // bytes
#define B_STAGE (BN * BK)
#define GROUP_M 8

// D (+)= A·B for a 64 x 256 x 32 int8 tile of one warpgroup, both operands in shared memory.
__device__ __forceinline__ void wgmma_s8_m64n256k32(int (&d)[128], unsigned long long da, unsigned long long db, int accumulate)
{
    asm volatile(
        "{\n.reg .pred p;\nsetp.ne.b32 p, %130, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n256k32.s32.s8.s8 "
        "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63, %64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, %80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95, %96, %97, %98, %99, %100, %101, %102, %103, %104, %105, %106, %107, %108, %109, %110, %111, %112, %113, %114, %115, %116, %117, %118, %119, %120, %121, %122, %123, %124, %125, %126, %127}, %128, %129, p;\n}\n"
        : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3]), "+r"(d[4]), "+r"(d[5]), "+r"(d[6]), "+r"(d[7]),
          "+r"(d[8]), "+r"(d[9]), "+r"(d[10]), "+r"(d[11]), "+r"(d[12]), "+r"(d[13]), "+r"(d[14]), "+r"(d[15]),
          "+r"(d[16]), "+r"(d[17]), "+r"(d[18]), "+r"(d[19]), "+r"(d[20]), "+r"(d[21]), "+r"(d[22]), "+r"(d[23]),
          "+r"(d[24]), "+r"(d[25]), "+r"(d[26]), "+r"(d[27]), "+r"(d[28]), "+r"(d[29]), "+r"(d[30]), "+r"(d[31]),
          "+r"(d[32]), "+r"(d[33]), "+r"(d[34]), "+r"(d[35]), "+r"(d[36]), "+r"(d[37]), "+r"(d[38]), "+r"(d[39]),
          "+r"(d[40]), "+r"(d[41]), "+r"(d[42]), "+r"(d[43]), "+r"(d[44]), "+r"(d[45]), "+r"(d[46]), "+r"(d[47]),
          "+r"(d[48]), "+r"(d[49]), "+r"(d[50]), "+r"(d[51]), "+r"(d[52]), "+r"(d[53]), "+r"(d[54]), "+r"(d[55]),
          "+r"(d[56]), "+r"(d[57]), "+r"(d[58]), "+r"(d[59]), "+r"(d[60]), "+r"(d[61]), "+r"(d[62]), "+r"(d[63]),
          "+r"(d[64]), "+r"(d[65]), "+r"(d[66]), "+r"(d[67]), "+r"(d[68]), "+r"(d[69]), "+r"(d[70]), "+r"(d[71]),
          "+r"(d[72]), "+r"(d[73]), "+r"(d[74]), "+r"(d[75]), "+r"(d[76]), "+r"(d[77]), "+r"(d[78]), "+r"(d[79]),
          "+r"(d[80]), "+r"(d[81]), "+r"(d[82]), "+r"(d[83]), "+r"(d[84]), "+r"(d[85]), "+r"(d[86]), "+r"(d[87]),
          "+r"(d[88]), "+r"(d[89]), "+r"(d[90]), "+r"(d[91]), "+r"(d[92]), "+r"(d[93]), "+r"(d[94]), "+r"(d[95]),
          "+r"(d[96]), "+r"(d[97]), "+r"(d[98]), "+r"(d[99]), "+r"(d[100]), "+r"(d[101]), "+r"(d[102]), "+r"(d[103]),
          "+r"(d[104]), "+r"(d[105]), "+r"(d[106]), "+r"(d[107]), "+r"(d[108]), "+r"(d[109]), "+r"(d[110]), "+r"(d[111]),
          "+r"(d[112]), "+r"(d[113]), "+r"(d[114]), "+r"(d[115]), "+r"(d[116]), "+r"(d[117]), "+r"(d[118]), "+r"(d[119]),
          "+r"(d[120]), "+r"(d[121]), "+r"(d[122]), "+r"(d[123]), "+r"(d[124]), "+r"(d[125]), "+r"(d[126]), "+r"(d[127])
        : "l"(da), "l"(db), "r"(accumulate));
}

extern "C" __global__ void __launch_bounds__(THREADS, 1)
a8w8_wgmma(const signed char* __restrict__ X, const __half* __restrict__ SX,
           const signed char* __restrict__ W, const __half* __restrict__ SW,
           out_t* __restrict__ Y, int M, int N, int K)
{
    extern __shared__ unsigned char smem_raw[];
    // The swizzle pattern repeats every 1024 bytes and is anchored to the address: align.
    unsigned char* smem = smem_raw + ((1024 - (static_cast<unsigned>(__cvta_generic_to_shared(smem_raw)) & 1023)) & 1023);
    unsigned char* As = smem;
    unsigned char* Bs = smem + STAGES * A_STAGE;

    int tile_m, tile_n;
    grouped_tile(blockIdx.x, (M + BM - 1) / BM, (N + BN - 1) / BN, GROUP_M, tile_m, tile_n);
    const int m0 = tile_m * BM, n0 = tile_n * BN;

    const int tid = threadIdx.x, wg = tid >> 7, t = tid & 127, warp = t >> 5, lane = t & 31;
    // The pipeline (wgmma.cuh): tiles of 128 bytes of k, stored with the 128-byte swizzle by cp.async,
    // STAGES - 2 ahead; one wgmma group in flight.
    int d[128];
#pragma unroll
    for (int i = 0; i < 128; ++i) d[i] = 0;
    cp_async_wgmma_loop<STAGES, BM, BN, THREADS>(d, As, Bs, reinterpret_cast<const unsigned char*>(X),
                                                 reinterpret_cast<const unsigned char*>(W), m0, n0, M, N, K, tid, wg,
                                                 [&](unsigned long long da, unsigned long long db) {
#pragma unroll
        for (int ks = 0; ks < BK / 32; ++ks)  // +32 bytes along k = +2 in the address field
            wgmma_s8_m64n256k32(d, da + 2 * ks, db + 2 * ks, 1);
    });

    // Accumulator layout: warp w of the warpgroup holds rows 16w..16w+15; in each 8-column
    // block i, d[4i], d[4i+1] are row lane/4, columns 2(lane%4), +1; d[4i+2], d[4i+3] row + 8.
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        const int m = m0 + 64 * wg + 16 * warp + lane / 4 + 8 * h;
        if (m >= M) continue;
#if !RAW
        const float sx = __half2float(SX[m]);
#endif
#pragma unroll
        for (int i = 0; i < 32; ++i) {
            const int n = n0 + 8 * i + 2 * (lane & 3);
            const int a = d[4 * i + 2 * h], b = d[4 * i + 2 * h + 1];
#if RAW
            if (n < N) Y[(size_t)m * N + n] = a;
            if (n + 1 < N) Y[(size_t)m * N + n + 1] = b;
#else
            const float y0 = (float)a * sx * (n < N ? __half2float(SW[n]) : 0.f);
            const float y1 = (float)b * sx * (n + 1 < N ? __half2float(SW[n + 1]) : 0.f);
            store_f16x2(Y, m, n, N, y0, y1);
#endif
        }
    }
}
