// v05_wgmma_tma — fp16 GEMM on Hopper: the tiles loaded by the tensor memory accelerator (TMA)
// for a producer warpgroup, handed to two consumer warpgroups through mbarriers (sm_90a only).
//
// Computes  Y[m, n] = sum_k X[m, k] * W[n, k]   (times XG[0] * WG[0] with TENSOR_SCALE = 1)
//   X [M, K], W [N, K], Y [M, N] fp16, fp32 accumulation; X and W are read through *tensor maps*
//   (labkernels.kernels.fp16.tensor_map): 2-D views of their bytes, [rows, 2K], with a box of
//   128 bytes x 128 (X) or 256 (W) rows and the 128-byte swizzle.
// Block: 3 warpgroups (384 threads). Warpgroup 0 is the producer: one thread issues two TMA copies a
// stage. Warpgroups 1 and 2 are consumers: each owns 64 x 256 outputs of the 128 x 256 tile, one
// wgmma m64n256k16 per 16 values of k, 128 fp32 accumulators per thread. Grid: grouped order.
//
// Bound: MMA at the wgmma fp16 rate (ceilings/wgmma_rate.cu).
// Changed from v04 (the same tiles, swizzle and wgmma): v04's 256 threads each copied 12 chunks
// of 16 bytes a stage with cp.async, then all of them met at a barrier before the MMAs of the
// stage: the Tensor Cores idled at every barrier and behind every late copy, and v04 ran at ~60%
// of the wgmma rate however its tiles were shaped (benchmarks/NOTES.md). Here:
//  * one instruction copies a whole 128-byte x 256-row tile, addresses and swizzle computed by
//    the copy engine; it counts the bytes it delivers on the stage's "full" mbarrier;
//  * a consumer waits only for the stage it needs (mbarrier phase parity), and tells the producer
//    a slot is free by arriving on its "empty" mbarrier once its MMAs have read it (one arrive per
//    warp). No block-wide barrier is left in the loop; the producer runs up to STAGES ahead;
//  * setmaxnreg gives the producer's registers (it needs few) to the consumers' accumulators.
// Rows past M or N and bytes past 2K are zero-filled by the copy engine: tails need no code.
//
// Expects: #define STAGES (2..4). Needs K % 8 == 0 (tensor-map rows are multiples of 16 bytes).
// Dynamic shared memory: STAGES * (128 + 256) * 128 + 1024 + 16 * STAGES bytes.
#include "lab.cuh"

#ifndef TENSOR_SCALE
#define TENSOR_SCALE 0
#endif
#define BM 128
#define BN 256
#define BK 128                    // bytes (= 64 fp16 of k) per stage: one 128-byte swizzle row
#define A_STAGE (BM * BK)
#define B_STAGE (BN * BK)
#define GROUP_M 8

#define X8(F, i) F(i), F(i + 1), F(i + 2), F(i + 3), F(i + 4), F(i + 5), F(i + 6), F(i + 7)
#define ACC(i) "+f"(d[i])

// D (+)= A·B for a 64 x 256 x 16 fp16 tile of one warpgroup, both operands K-major in shared memory.
__device__ __forceinline__ void wgmma_f16_m64n256k16(float (&d)[128], unsigned long long da, unsigned long long db)
{
    asm volatile(
        "wgmma.mma_async.sync.aligned.m64n256k16.f32.f16.f16 "
        "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63, %64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, %80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95, %96, %97, %98, %99, %100, %101, %102, %103, %104, %105, %106, %107, %108, %109, %110, %111, %112, %113, %114, %115, %116, %117, %118, %119, %120, %121, %122, %123, %124, %125, %126, %127}, "
        "%128, %129, 1, 1, 1, 0, 0;\n"
        : X8(ACC, 0), X8(ACC, 8), X8(ACC, 16), X8(ACC, 24), X8(ACC, 32), X8(ACC, 40), X8(ACC, 48), X8(ACC, 56),
          X8(ACC, 64), X8(ACC, 72), X8(ACC, 80), X8(ACC, 88), X8(ACC, 96), X8(ACC, 104), X8(ACC, 112), X8(ACC, 120)
        : "l"(da), "l"(db));
}

extern "C" __global__ void __launch_bounds__(384, 1)
fp16_wgmma_tma(const void* __restrict__ TX, const float* __restrict__ XG,
               const void* __restrict__ TW, const float* __restrict__ WG,
               __half* __restrict__ Y, int M, int N, int K)
{
    extern __shared__ unsigned char smem_raw[];
    // The swizzle pattern repeats every 1024 bytes and is anchored to the address: align.
    unsigned char* smem = smem_raw + ((1024 - (smem_u32(smem_raw) & 1023)) & 1023);
    unsigned char* As = smem;
    unsigned char* Bs = smem + STAGES * A_STAGE;
    unsigned long long* full = reinterpret_cast<unsigned long long*>(Bs + STAGES * B_STAGE);
    unsigned long long* empty = full + STAGES;

    int tile_m, tile_n;
    grouped_tile(blockIdx.x, (M + BM - 1) / BM, (N + BN - 1) / BN, GROUP_M, tile_m, tile_n);
    const int m0 = tile_m * BM, n0 = tile_n * BN;
    const int tid = threadIdx.x, wg = tid >> 7, t = tid & 127, warp = t >> 5, lane = t & 31;
    const int KC = (2 * K + BK - 1) / BK;

    if (tid == 0) {
        for (int s = 0; s < STAGES; ++s) {
            mbar_init(&full[s], 1);   // the producer's arrive (+ the bytes of its two copies)
            mbar_init(&empty[s], 8);  // one arrive per consumer warp
        }
        asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");  // visible to the copy engine
    }
    __syncthreads();

    if (wg == 0) {
        asm volatile("setmaxnreg.dec.sync.aligned.u32 40;");
        if (t == 0) {
            for (int kc = 0; kc < KC; ++kc) {
                const int s = kc % STAGES;
                // A slot is reused once both consumers have finished the stage STAGES earlier.
                if (kc >= STAGES) mbar_wait(&empty[s], ((kc / STAGES) & 1) ^ 1);
                mbar_arrive_expect_tx(&full[s], A_STAGE + B_STAGE);
                tma_load_2d(As + s * A_STAGE, TX, kc * BK, m0, &full[s]);
                tma_load_2d(Bs + s * B_STAGE, TW, kc * BK, n0, &full[s]);
            }
        }
    } else {
        asm volatile("setmaxnreg.inc.sync.aligned.u32 232;");
        const int c = wg - 1;  // consumer: rows 64c..64c+63 of the tile
        float d[128];
#pragma unroll
        for (int i = 0; i < 128; ++i) d[i] = 0.f;
        for (int kc = 0; kc < KC; ++kc) {
            const int s = kc % STAGES;
            mbar_wait(&full[s], (kc / STAGES) & 1);
            const unsigned long long da = smem_desc(As + s * A_STAGE + c * 64 * BK);
            const unsigned long long db = smem_desc(Bs + s * B_STAGE);
            fence_operands(d);
            wgmma_fence();
#pragma unroll
            for (int ks = 0; ks < BK / 32; ++ks)  // 16 fp16 = 32 bytes along k = +2 in the address field
                wgmma_f16_m64n256k16(d, da + 2 * ks, db + 2 * ks);
            wgmma_commit();
            wgmma_wait<1>();  // the group of kc - 1 is done: its slot goes back to the producer
            fence_operands(d);
            if (kc > 0 && lane == 0) mbar_arrive(&empty[(kc - 1) % STAGES]);
        }
        wgmma_wait<0>();
        fence_operands(d);

        // Accumulator layout: warp w of the warpgroup holds rows 16w..16w+15; in each 8-column
        // block i, d[4i], d[4i+1] are row lane/4, columns 2(lane%4), +1; d[4i+2], d[4i+3] row + 8.
#if TENSOR_SCALE
        const float g = XG[0] * WG[0];
#else
        const float g = 1.f;  // XG, WG unused
#endif
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            const int m = m0 + 64 * c + 16 * warp + lane / 4 + 8 * h;
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
}
