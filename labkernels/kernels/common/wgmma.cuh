// wgmma.cuh — building blocks of the lab's Hopper GEMMs (sm_90a): the warpgroup MMA instructions
// they use, the cp.async stage loader of the 128-byte-swizzled tiles, and the TMA producer.
// The one-instruction helpers (descriptors, fences, mbarriers, TMA copies) are in lab.cuh.
#pragma once
#include "lab.cuh"

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

// D (+)= A·B for a 64 x 128 x 32 e4m3 tile of one warpgroup, operands in shared memory;
// accumulate = 0 starts D from zero.
__device__ __forceinline__ void wgmma_e4m3_m64n128k32(float (&d)[64], unsigned long long da, unsigned long long db,
                                                      int accumulate)
{
    asm volatile(
        "{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n128k32.f32.e4m3.e4m3 "
        "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, %64, %65, p, 1, 1;\n}\n"
        : X8(ACC, 0), X8(ACC, 8), X8(ACC, 16), X8(ACC, 24), X8(ACC, 32), X8(ACC, 40), X8(ACC, 48), X8(ACC, 56)
        : "l"(da), "l"(db), "r"(accumulate));
}

// D = A·B for a 64 x 64 x 32 e4m3 tile of one warpgroup into fresh accumulators (scale-d 0): one MX
// block of one 64-column half (MXFP8 v04: fp8/v04_wgmma.cu with MX = 1).
__device__ __forceinline__ void wgmma_e4m3_m64n64k32(float (&d)[32], unsigned long long da, unsigned long long db)
{
    asm volatile(
        "wgmma.mma_async.sync.aligned.m64n64k32.f32.e4m3.e4m3 "
        "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, "
        "%23, %24, %25, %26, %27, %28, %29, %30, %31}, %32, %33, 0, 1, 1;\n"
        : X8(ACC, 0), X8(ACC, 8), X8(ACC, 16), X8(ACC, 24)
        : "l"(da), "l"(db));
}

// D (+)= A·B for a 64 x 192 x 32 e4m3 tile of one warpgroup, operands in shared memory;
// accumulate = 0 starts D from zero.
__device__ __forceinline__ void wgmma_e4m3_m64n192k32(float (&d)[96], unsigned long long da, unsigned long long db,
                                                      int accumulate)
{
    asm volatile(
        "{\n.reg .pred p;\nsetp.ne.b32 p, %98, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n192k32.f32.e4m3.e4m3 "
        "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63, %64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, %80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95}, %96, %97, p, 1, 1;\n}\n"
        : X8(ACC, 0), X8(ACC, 8), X8(ACC, 16), X8(ACC, 24), X8(ACC, 32), X8(ACC, 40), X8(ACC, 48), X8(ACC, 56),
          X8(ACC, 64), X8(ACC, 72), X8(ACC, 80), X8(ACC, 88)
        : "l"(da), "l"(db), "r"(accumulate));
}

// The e4m3 k32 wgmma of an N-column tile, by width (the TMA FP8 and MXFP8 GEMMs take BN = 128 or 192).
template <int N>
__device__ __forceinline__ void wgmma_e4m3_k32(float (&d)[N / 2], unsigned long long da, unsigned long long db,
                                               int accumulate)
{
    static_assert(N == 128 || N == 192, "the e4m3 wgmma wrappers here are 64 x 128 and 64 x 192");
    if constexpr (N == 128) wgmma_e4m3_m64n128k32(d, da, db, accumulate);
    else wgmma_e4m3_m64n192k32(d, da, db, accumulate);
}
#undef ACC
#undef X8

// One pipeline stage of a K-major operand, by the block's NTHREADS threads: bytes k0..k0+127 of rows
// row0..row0+ROWS-1 of a [rows, KB]-byte matrix G, 16-byte chunk c of tile row r stored at chunk
// c ^ (r % 8) of a 128-byte shared row: the 128-byte swizzle the descriptors announce. Rows past
// `rows` and chunks past a row's end are zero-filled: they add 0 to the sums.
template <int ROWS, int NTHREADS>
__device__ __forceinline__ void load_rows_swizzled(unsigned char* s, const unsigned char* G, int row0, int rows, int KB,
                                                   int k0, int tid)
{
#pragma unroll
    for (int i = 0; i < (ROWS * 8 + NTHREADS - 1) / NTHREADS; ++i) {  // 3 warpgroups: 5 1/3 chunks of B a thread
        const int e = tid + NTHREADS * i, r = e >> 3, c = e & 7, k = k0 + 16 * c;
        if (ROWS * 8 % NTHREADS && e >= ROWS * 8) break;
        const bool ok = row0 + r < rows && k < KB;
        cp_async16(s + r * 128 + 16 * (c ^ (r & 7)), ok ? (const void*)(G + (size_t)(row0 + r) * KB + k) : (const void*)G,
                   ok ? 16 : 0);
    }
}

// The shared memory of a TMA pipeline, carved from the kernel's dynamic shared memory: NSTAGES A
// tiles, NSTAGES B tiles, then each stage's full and empty mbarriers. The tiles start 1024-byte
// aligned: the 128-byte swizzle pattern repeats every 1024 bytes and is anchored to the address
// (the launchers ask for 1 KB more than the tiles and barriers for this).
template <int NSTAGES, int A_BYTES, int B_BYTES>
__device__ __forceinline__ void tma_stages_layout(unsigned char* smem_raw, unsigned char*& As, unsigned char*& Bs,
                                                  unsigned long long*& full, unsigned long long*& empty)
{
    As = smem_raw + ((1024 - (smem_u32(smem_raw) & 1023)) & 1023);
    Bs = As + NSTAGES * A_BYTES;
    full = reinterpret_cast<unsigned long long*>(Bs + NSTAGES * B_BYTES);
    empty = full + NSTAGES;
}

// The cp.async pipeline of int8/v09 and fp16/v04 (v09's header explains it): NSTAGES slots, each an
// A_ROWS x 128-byte A tile (rows m0.. of X) and a B_ROWS x 128-byte B tile (rows n0.. of W), loaded
// NSTAGES - 2 stages ahead by all NTHREADS threads. Before each stage's MMAs every thread waits for its own
// copies, makes them visible to the async proxy (wgmma) and meets the block at a barrier. One wgmma
// group stays in flight, so the slot refilled at stage kc was last read by the group of kc - 2.
// `mma(da, db)` issues one stage's wgmmas into d from the descriptors of the warpgroup's 64 rows of A
// and of B (4 k-steps of 32 bytes: +2 in the descriptors' address field each).
template <int NSTAGES, int A_ROWS, int B_ROWS, int NTHREADS, typename Acc, int NACC, typename Mma>
__device__ __forceinline__ void cp_async_wgmma_loop(Acc (&d)[NACC], unsigned char* As, unsigned char* Bs,
                                                    const unsigned char* X, const unsigned char* W, int m0, int n0,
                                                    int M, int N, int KB, int tid, int wg, Mma mma)
{
    constexpr int A_BYTES = A_ROWS * 128, B_BYTES = B_ROWS * 128;
    const int KC = (KB + 127) / 128;
    auto load_stage = [&](int slot, int kc) {
        load_rows_swizzled<A_ROWS, NTHREADS>(As + slot * A_BYTES, X, m0, M, KB, kc * 128, tid);
        load_rows_swizzled<B_ROWS, NTHREADS>(Bs + slot * B_BYTES, W, n0, N, KB, kc * 128, tid);
    };
#pragma unroll
    for (int s = 0; s < NSTAGES - 2; ++s) {
        if (s < KC) load_stage(s, s);
        cp_async_commit();
    }
    for (int kc = 0; kc < KC; ++kc) {
        cp_async_wait<NSTAGES - 3>();  // stage kc's copies (this thread's) have landed
        fence_proxy_async();
        __syncthreads();
        if (kc + NSTAGES - 2 < KC) load_stage((kc + NSTAGES - 2) % NSTAGES, kc + NSTAGES - 2);
        cp_async_commit();

        const int slot = kc % NSTAGES;
        const unsigned long long da = smem_desc(As + slot * A_BYTES + wg * 64 * 128);
        const unsigned long long db = smem_desc(Bs + slot * B_BYTES);
        fence_operands(d);
        wgmma_fence();
        mma(da, db);
        wgmma_commit();
        wgmma_wait<1>();  // the group of kc - 1 is done: its slot may be refilled next time round
        fence_operands(d);
    }
    wgmma_wait<0>();
    fence_operands(d);
    cp_async_wait<0>();
}

// Store a warpgroup's 64 x 256 fp32 accumulator tile, times g, as fp16 rows of Y: warp w holds rows
// 16w..16w+15 (`row0` is its first row of Y); in each 8-column block i, d[4i], d[4i+1] are row
// lane/4, columns 2(lane%4), +1, and d[4i+2], d[4i+3] the row 8 below.
__device__ __forceinline__ void store_m64n256_f16(__half* Y, const float (&d)[128], float g, int row0, int n0, int M,
                                                  int N, int lane)
{
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        const int m = row0 + lane / 4 + 8 * h;
        if (m >= M) continue;
#pragma unroll
        for (int i = 0; i < 32; ++i) {
            const int n = n0 + 8 * i + 2 * (lane & 3);
            store_f16x2(Y, m, n, N, d[4 * i + 2 * h] * g, d[4 * i + 2 * h + 1] * g);
        }
    }
}

// The TMA pipeline's mbarriers, by one thread before the block's first barrier: full[s] completes
// when the producer has arrived and the bytes of its copies have landed; empty[s] when each of
// `consumer_warps` warps has arrived after its MMAs read slot s.
template <int NSTAGES>
__device__ __forceinline__ void tma_pipeline_init(unsigned long long* full, unsigned long long* empty,
                                                  unsigned consumer_warps)
{
    for (int s = 0; s < NSTAGES; ++s) {
        mbar_init(&full[s], 1);
        mbar_init(&empty[s], consumer_warps);
    }
    asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");  // visible to the copy engine
}

// The producer (one thread): for each stage of 128 bytes of k, wait until the consumers have
// released slot it % NSTAGES (the stage NSTAGES earlier), announce the bytes, and copy the A box
// (rows m0.. of TX) and the B box (rows n0.. of TW) into it. `it0` counts the stages this block
// has produced before (a block that computes several tiles goes on where the last one stopped).
template <int NSTAGES, int A_BYTES, int B_BYTES>
__device__ __forceinline__ void tma_produce(unsigned char* As, unsigned char* Bs, const void* TX, const void* TW,
                                            int m0, int n0, int KC, unsigned long long* full,
                                            unsigned long long* empty, int it0 = 0)
{
    for (int kc = 0; kc < KC; ++kc) {
        const int it = it0 + kc, s = it % NSTAGES;
        if (it >= NSTAGES) mbar_wait(&empty[s], ((it / NSTAGES) & 1) ^ 1);
        mbar_arrive_expect_tx(&full[s], A_BYTES + B_BYTES);
        tma_load_2d(As + s * A_BYTES, TX, kc * 128, m0, &full[s]);
        tma_load_2d(Bs + s * B_BYTES, TW, kc * 128, n0, &full[s]);
    }
}
