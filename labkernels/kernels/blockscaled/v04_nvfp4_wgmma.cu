// v04_nvfp4_wgmma — NVFP4 GEMM on Hopper: elements times block scales widened to fp16 (exact),
// then fp16 wgmma with fp32 accumulation (sm_90a only).
//
// Computes  Y[m, n] = (sum_k Xh[m, k] * Wh[n, k]) * x_global * w_global
//   Xh [M, K], Wh [N, K] fp16: e2m1 element * UE4M3 block scale, made by nvfp4_to_fp16.cu (exact);
//   XG, WG: the fp32 per-tensor scales, one value each; Y [M, N] fp16.
// Block: 2 warpgroups (256 threads) over a 128 x 256 tile of Y; each warpgroup owns 64 x 256
// outputs: one wgmma m64n256k16 per 16 values of k, 128 fp32 accumulators per thread.
// Grid: one dimension, grouped block order.
//
// Bound: at large M, the fp16 Tensor Core rate (half Hopper's fp8 rate: the roofline's NVFP4 entry
// for sm_90, "e2m1*e4m3 -> fp16 (exact), fp16 MMA"). The widening is a separate memory-bound pass,
// 0.5625 bytes read and 2 written per element of X and W, that this kernel then reads back: it
// costs more than the MMAs below M of a few hundred (the GEMV, v02, takes M <= 16).
// Changed from MXFP4's v04 (e2m1 widened to e4m3, the MXFP8 GEMM): that GEMM waits for each
// 32-k wgmma step and scales it on the CUDA cores, because a block's E8M0 scales are applied
// after its products are summed. NVFP4's blocks are 16 k, half an fp8 wgmma step, so the same
// plan would have to wait twice as often. But a UE4M3 scale times an e2m1 element is exact in
// fp16, so the scales go into the operands before the MMA, and no block structure is left: what
// remains is a plain GEMM with one scale per tensor, applied once in the epilogue. The main loop
// is int8/v09_wgmma.cu's — same 128 x 256 tiles, 128-byte swizzled rows, cp.async pipeline, all
// counted in bytes — because an fp16 m64n256k16 reads 32 bytes of k per row, as the s8
// m64n256k32 does: a stage's 128-byte row is 64 fp16 instead of 128 int8, and stepping the
// descriptors by 32 bytes is the same +2. Only the instruction (f16 operands, f32 accumulators)
// and the epilogue change. fp16 products are exact in fp32 and Hopper's fp16 MMA accumulates in
// full fp32, so, unlike the fp8 wgmma of MXFP8/MXFP4, the k loop needs no promotion.
//
// Expects: #define STAGES (>= 3). Needs K % 8 == 0 (16-byte chunks of fp16 rows; NVFP4 has K % 16 == 0).
// Dynamic shared memory: STAGES * (128 + 256) * 128 + 1024 bytes (1 KB to align the swizzle).
#include "lab.cuh"

#define BM 128
#define BN 256
#define BK 128                    // bytes (= 64 fp16 of k) per stage: one 128-byte swizzle row
#define A_STAGE (BM * BK)         // bytes
#define B_STAGE (BN * BK)
#define GROUP_M 8

#define X8(F, i) F(i), F(i + 1), F(i + 2), F(i + 3), F(i + 4), F(i + 5), F(i + 6), F(i + 7)
#define ACC(i) "+f"(d[i])

// D (+)= A·B for a 64 x 256 x 16 fp16 tile of one warpgroup, both operands K-major in shared
// memory (trans-a = trans-b = 0), no negation (scale-a = scale-b = 1); `accumulate` = 0 overwrites D.
__device__ __forceinline__ void wgmma_f16_m64n256k16(float (&d)[128], unsigned long long da, unsigned long long db,
                                                     int accumulate)
{
    asm volatile(
        "{\n.reg .pred p;\nsetp.ne.b32 p, %130, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n256k16.f32.f16.f16 "
        "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63, %64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, %80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95, %96, %97, %98, %99, %100, %101, %102, %103, %104, %105, %106, %107, %108, %109, %110, %111, %112, %113, %114, %115, %116, %117, %118, %119, %120, %121, %122, %123, %124, %125, %126, %127}, "
        "%128, %129, p, 1, 1, 0, 0;\n}\n"
        : X8(ACC, 0), X8(ACC, 8), X8(ACC, 16), X8(ACC, 24), X8(ACC, 32), X8(ACC, 40), X8(ACC, 48), X8(ACC, 56),
          X8(ACC, 64), X8(ACC, 72), X8(ACC, 80), X8(ACC, 88), X8(ACC, 96), X8(ACC, 104), X8(ACC, 112), X8(ACC, 120)
        : "l"(da), "l"(db), "r"(accumulate));
}

// One pipeline stage of a K-major operand, by the block's 256 threads: bytes k0..k0+127 of rows
// row0..row0+ROWS-1 of a [rows, KB]-byte matrix G, 16-byte chunk c of tile row r stored at chunk
// c ^ (r % 8) of a 128-byte shared row: the 128-byte swizzle the descriptors announce. Rows past
// `rows` and chunks past a row's end are zero-filled: they add 0 to the sums.
template <int ROWS>
__device__ __forceinline__ void load_rows_swizzled(unsigned char* s, const unsigned char* G, int row0, int rows, int KB,
                                                   int k0, int tid)
{
#pragma unroll
    for (int i = 0; i < ROWS * 8 / 256; ++i) {
        const int e = tid + 256 * i, r = e >> 3, c = e & 7, k = k0 + 16 * c;
        const bool ok = row0 + r < rows && k < KB;
        cp_async16(s + r * BK + 16 * (c ^ (r & 7)), ok ? (const void*)(G + (size_t)(row0 + r) * KB + k) : (const void*)G,
                   ok ? 16 : 0);
    }
}

extern "C" __global__ void __launch_bounds__(256, 1)
nvfp4_wgmma(const __half* __restrict__ Xh, const float* __restrict__ XG,
            const __half* __restrict__ Wh, const float* __restrict__ WG,
            __half* __restrict__ Y, int M, int N, int K)
{
    extern __shared__ unsigned char smem_raw[];
    // The swizzle pattern repeats every 1024 bytes and is anchored to the address: align.
    unsigned char* smem = smem_raw + ((1024 - (static_cast<unsigned>(__cvta_generic_to_shared(smem_raw)) & 1023)) & 1023);
    unsigned char* As = smem;
    unsigned char* Bs = smem + STAGES * A_STAGE;
    const unsigned char* X = reinterpret_cast<const unsigned char*>(Xh);
    const unsigned char* W = reinterpret_cast<const unsigned char*>(Wh);
    const int KB = 2 * K;  // bytes per row

    int tile_m, tile_n;
    grouped_tile(blockIdx.x, (M + BM - 1) / BM, (N + BN - 1) / BN, GROUP_M, tile_m, tile_n);
    const int m0 = tile_m * BM, n0 = tile_n * BN;

    const int tid = threadIdx.x, wg = tid >> 7, t = tid & 127, warp = t >> 5, lane = t & 31;
    const int KC = (KB + BK - 1) / BK;

    auto load_stage = [&](int slot, int kc) {
        load_rows_swizzled<BM>(As + slot * A_STAGE, X, m0, M, KB, kc * BK, tid);
        load_rows_swizzled<BN>(Bs + slot * B_STAGE, W, n0, N, KB, kc * BK, tid);
    };

    float d[128];
#pragma unroll
    for (int i = 0; i < 128; ++i) d[i] = 0.f;

#pragma unroll
    for (int s = 0; s < STAGES - 2; ++s) {
        if (s < KC) load_stage(s, s);
        cp_async_commit();
    }
    for (int kc = 0; kc < KC; ++kc) {
        // As in v09: tiles up to kc + STAGES - 2 are in flight; wait for kc's, make the copies
        // visible to the async proxy (wgmma) and to every thread.
        cp_async_wait<STAGES - 3>();
        fence_proxy_async();
        __syncthreads();
        // The slot loaded now was last read by the wgmma group of kc - 2, finished below.
        if (kc + STAGES - 2 < KC) load_stage((kc + STAGES - 2) % STAGES, kc + STAGES - 2);
        cp_async_commit();

        const int slot = kc % STAGES;
        const unsigned long long da = smem_desc(As + slot * A_STAGE + wg * 64 * BK);
        const unsigned long long db = smem_desc(Bs + slot * B_STAGE);
        fence_operands(d);
        wgmma_fence();
#pragma unroll
        for (int ks = 0; ks < BK / 32; ++ks)  // 16 fp16 = 32 bytes along k = +2 in the address field
            wgmma_f16_m64n256k16(d, da + 2 * ks, db + 2 * ks, 1);
        wgmma_commit();
        wgmma_wait<1>();  // the group of kc - 1 is done: its slot may be refilled next time round
        fence_operands(d);
    }
    wgmma_wait<0>();
    fence_operands(d);
    cp_async_wait<0>();

    // Accumulator layout (the same for f32 as for s32): warp w of the warpgroup holds rows
    // 16w..16w+15; in each 8-column block i, d[4i], d[4i+1] are row lane/4, columns 2(lane%4), +1;
    // d[4i+2], d[4i+3] row + 8. The per-tensor scales are one fp32 factor: an output that fp16
    // can hold keeps their product far inside fp32's range.
    const float g = XG[0] * WG[0];
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        const int m = m0 + 64 * wg + 16 * warp + lane / 4 + 8 * h;
        if (m >= M) continue;
#pragma unroll
        for (int i = 0; i < 32; ++i) {
            const int n = n0 + 8 * i + 2 * (lane & 3);
            const float y0 = d[4 * i + 2 * h] * g, y1 = d[4 * i + 2 * h + 1] * g;
            if (n + 1 < N && (N & 1) == 0) {
                *reinterpret_cast<__half2*>(Y + (size_t)m * N + n) = __floats2half2_rn(y0, y1);
            } else {
                if (n < N) Y[(size_t)m * N + n] = __float2half(y0);
                if (n + 1 < N) Y[(size_t)m * N + n + 1] = __float2half(y1);
            }
        }
    }
}
