// wgmma_rate — the Hopper warpgroup-MMA ceiling (sm_90a only).
//
// The mma.sync microbenchmarks in instr_rate.cu keep their operands in
// registers; wgmma cannot: B (and here A too) is read by the Tensor Cores from
// shared memory through a matrix descriptor, exactly as in the lab's wgmma GEMMs
// (int8/v09, fp8/v04). So each warpgroup fills one 64-row A tile and one 256-row
// B tile of 128-byte rows (the 128-byte swizzle the descriptors announce) with
// random values once, then issues ITERS rounds of four m64n256 wgmmas — one
// 128-byte atom of k — into one accumulator, with one group in flight while
// the next is issued, like a GEMM main loop with no loads. Nothing but the
// Tensor Cores (and their shared-memory reads) limits it.
//
//   wgmma_f16_rate   m64n256k16 f32.f16.f16      524288 flops per warpgroup instr
//   wgmma_s8_rate    m64n256k32 s32.s8.s8       1048576 ops
//   wgmma_e4m3_rate  m64n256k32 f32.e4m3.e4m3   1048576 flops
//
// The values are random (not zeros): a Tensor Core fed zeros draws less power
// and clocks higher than a GEMM would.
//
// Expects: #define ITERS. 128 threads per block (one warpgroup); dynamic shared
// memory TILE_BYTES + 1024 (the extra 1 KB aligns the tiles to the swizzle).
#include "lab.cuh"

#ifndef ITERS
#define ITERS 1024
#endif
#define A_BYTES (64 * 128)
#define B_BYTES (256 * 128)
#define TILE_BYTES (A_BYTES + B_BYTES)

#define X8(F, i) F(i), F(i + 1), F(i + 2), F(i + 3), F(i + 4), F(i + 5), F(i + 6), F(i + 7)
#define X128(F) X8(F, 0), X8(F, 8), X8(F, 16), X8(F, 24), X8(F, 32), X8(F, 40), X8(F, 48), X8(F, 56), \
                X8(F, 64), X8(F, 72), X8(F, 80), X8(F, 88), X8(F, 96), X8(F, 104), X8(F, 112), X8(F, 120)
#define ACC_R(i) "+r"(d[i])
#define ACC_F(i) "+f"(d[i])
#define D128 "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63, %64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, %80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95, %96, %97, %98, %99, %100, %101, %102, %103, %104, %105, %106, %107, %108, %109, %110, %111, %112, %113, %114, %115, %116, %117, %118, %119, %120, %121, %122, %123, %124, %125, %126, %127}"

__device__ __forceinline__ void wgmma_f16(float (&d)[128], unsigned long long da, unsigned long long db)
{
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %130, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n256k16.f32.f16.f16 " D128 ", %128, %129, p, 1, 1, 0, 0;\n}\n"
                 : X128(ACC_F) : "l"(da), "l"(db), "r"(1));
}
__device__ __forceinline__ void wgmma_s8(int (&d)[128], unsigned long long da, unsigned long long db)
{
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %130, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n256k32.s32.s8.s8 " D128 ", %128, %129, p;\n}\n"
                 : X128(ACC_R) : "l"(da), "l"(db), "r"(1));
}
__device__ __forceinline__ void wgmma_e4m3(float (&d)[128], unsigned long long da, unsigned long long db)
{
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %130, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n256k32.f32.e4m3.e4m3 " D128 ", %128, %129, p, 1, 1;\n}\n"
                 : X128(ACC_F) : "l"(da), "l"(db), "r"(1));
}

// One kernel per type; the body is the same. scale-d is 1 throughout: the first
// wgmma accumulates onto the zeroed registers.
#define WGMMA_RATE_KERNEL(NAME, T, MMA)                                                            \
extern "C" __global__ void __launch_bounds__(128) NAME(T* out, const uint4* __restrict__ fill)    \
{                                                                                                  \
    extern __shared__ unsigned char smem_raw[];                                                    \
    unsigned char* s = reinterpret_cast<unsigned char*>(                                           \
        (reinterpret_cast<size_t>(smem_raw) + 1023) & ~static_cast<size_t>(1023));                \
    for (int i = threadIdx.x; i < TILE_BYTES / 16; i += 128)                                       \
        reinterpret_cast<uint4*>(s)[i] = fill[i];                                                  \
    fence_proxy_async(); /* generic-proxy stores, then async-proxy (wgmma) reads */               \
    __syncthreads();                                                                               \
    const unsigned long long da = smem_desc(s), db = smem_desc(s + A_BYTES);                       \
    T d[128];                                                                                      \
    _Pragma("unroll") for (int i = 0; i < 128; ++i) d[i] = 0;                                      \
    wgmma_fence();                                                                                 \
    for (int it = 0; it < ITERS; ++it) {                                                           \
        _Pragma("unroll") for (int ks = 0; ks < 4; ++ks) MMA(d, da + 2 * ks, db + 2 * ks);        \
        wgmma_commit();                                                                            \
        wgmma_wait<1>();                                                                           \
        fence_operands(d);                                                                         \
    }                                                                                              \
    wgmma_wait<0>();                                                                               \
    fence_operands(d);                                                                             \
    T r = 0;                                                                                       \
    _Pragma("unroll") for (int i = 0; i < 128; ++i) r += d[i];                                     \
    out[blockIdx.x * blockDim.x + threadIdx.x] = r;                                                \
}

WGMMA_RATE_KERNEL(wgmma_f16_rate, float, wgmma_f16)
WGMMA_RATE_KERNEL(wgmma_s8_rate, int, wgmma_s8)
WGMMA_RATE_KERNEL(wgmma_e4m3_rate, float, wgmma_e4m3)
