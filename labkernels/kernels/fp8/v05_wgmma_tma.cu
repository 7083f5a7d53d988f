// v05_wgmma_tma — FP8 (e4m3) GEMM on Hopper: fp16/v05's producer/consumer TMA pipeline with
// fp8/v04's per-stage promotion (sm_90a only).
//
// Computes  Y[m, n] = (sum_k X[m, k] * W[n, k]) * sx[m] * sw[n]   (as v04)
//   X [M, K], W [N, K] float8_e4m3fn codes, read through TMA tensor maps of their bytes (a box of
//   128 bytes of k x 128 rows of X or BN rows of W, 128-byte swizzle); sx [M, 1], sw [N, 1] fp32;
//   Y [M, N] fp16.
// Block: 3 warpgroups (384 threads): warpgroup 0 produces (one thread, two TMA copies a stage),
// warpgroups 1 and 2 each own 64 x BN outputs of the 128 x BN tile: one wgmma m64nBNk32 per 32
// values of k into fresh accumulators, added into fp32 sums after every stage of 128 k.
// Grid: grouped block order.
//
// Bound: MMA at the wgmma fp8 rate (ceilings/wgmma_rate.cu).
// Changed from v04: the loads and the synchronization of fp16/v05_wgmma_tma.cu (its header says
// why). Promotion is where v04 lost most: every stage, each warpgroup must wait for its own MMAs
// before adding them into fp32 (DeepSeek-V3's recipe for Hopper's ~14-bit fp8 accumulation, see
// v04), and in v04 both warpgroups did so at the same moment, between two block barriers, with the
// Tensor Cores idle. Here the two consumers are not tied to each other: while one waits and adds,
// the other's MMAs run. The sums take registers (BN/2 accumulators + BN/2 sums a thread), which
// setmaxnreg can now give: BN = 192 fits in the consumers' 232 registers, where v04 stopped at 128.
//
// Expects: #define STAGES (2..6), BN (128 or 192). Needs K % 16 == 0.
// Dynamic shared memory: STAGES * (128 + BN) * 128 + 1024 + 16 * STAGES bytes.
#include "lab.cuh"

#define BM 128
#define BK 128                    // bytes (= k) per stage: one 128-byte swizzle row
#define A_STAGE (BM * BK)
#define B_STAGE (BN * BK)
#define ACCS (BN / 2)             // accumulators a thread: 64 rows x BN columns over 128 threads
#define GROUP_M 8

// D (+)= A·B for a 64 x 128 x 32 e4m3 tile of one warpgroup, operands in shared memory;
// accumulate = 0 starts D from zero.
__device__ __forceinline__ void wgmma_e4m3_m64n128k32(float (&d)[64], unsigned long long da, unsigned long long db,
                                                      int accumulate)
{
    asm volatile(
        "{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n128k32.f32.e4m3.e4m3 "
        "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, %64, %65, p, 1, 1;\n}\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]),
          "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]),
          "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]),
          "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]),
          "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]),
          "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]),
          "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]),
          "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
        : "l"(da), "l"(db), "r"(accumulate));
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
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]),
          "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]),
          "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]),
          "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]),
          "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]),
          "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]),
          "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]),
          "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63]),
          "+f"(d[64]), "+f"(d[65]), "+f"(d[66]), "+f"(d[67]), "+f"(d[68]), "+f"(d[69]), "+f"(d[70]), "+f"(d[71]),
          "+f"(d[72]), "+f"(d[73]), "+f"(d[74]), "+f"(d[75]), "+f"(d[76]), "+f"(d[77]), "+f"(d[78]), "+f"(d[79]),
          "+f"(d[80]), "+f"(d[81]), "+f"(d[82]), "+f"(d[83]), "+f"(d[84]), "+f"(d[85]), "+f"(d[86]), "+f"(d[87]),
          "+f"(d[88]), "+f"(d[89]), "+f"(d[90]), "+f"(d[91]), "+f"(d[92]), "+f"(d[93]), "+f"(d[94]), "+f"(d[95])
        : "l"(da), "l"(db), "r"(accumulate));
}

#if BN == 128
#define WGMMA wgmma_e4m3_m64n128k32
#elif BN == 192
#define WGMMA wgmma_e4m3_m64n192k32
#else
#error "BN must be 128 or 192"
#endif

extern "C" __global__ void __launch_bounds__(384, 1)
fp8_wgmma_tma(const void* __restrict__ TX, const float* __restrict__ SX,
              const void* __restrict__ TW, const float* __restrict__ SW,
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
    const int KC = (K + BK - 1) / BK;

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
                if (kc >= STAGES) mbar_wait(&empty[s], ((kc / STAGES) & 1) ^ 1);
                mbar_arrive_expect_tx(&full[s], A_STAGE + B_STAGE);
                tma_load_2d(As + s * A_STAGE, TX, kc * BK, m0, &full[s]);
                tma_load_2d(Bs + s * B_STAGE, TW, kc * BK, n0, &full[s]);
            }
        }
    } else {
        asm volatile("setmaxnreg.inc.sync.aligned.u32 232;");
        const int c = wg - 1;  // consumer: rows 64c..64c+63 of the tile
        float d[ACCS], sum[ACCS];
#pragma unroll
        for (int i = 0; i < ACCS; ++i) { d[i] = 0.f; sum[i] = 0.f; }
        for (int kc = 0; kc < KC; ++kc) {
            const int s = kc % STAGES;
            mbar_wait(&full[s], (kc / STAGES) & 1);
            const unsigned long long da = smem_desc(As + s * A_STAGE + c * 64 * BK);
            const unsigned long long db = smem_desc(Bs + s * B_STAGE);
            fence_operands(d);
            wgmma_fence();
#pragma unroll
            for (int ks = 0; ks < BK / 32; ++ks)  // +32 bytes along k = +2 in the address field
                WGMMA(d, da + 2 * ks, db + 2 * ks, ks != 0);  // the stage starts from zero
            wgmma_commit();
            wgmma_wait<0>();  // promotion: this stage's partial sum joins the fp32 total
            fence_operands(d);
            if (lane == 0) mbar_arrive(&empty[s]);  // the slot has been read
#pragma unroll
            for (int i = 0; i < ACCS; ++i) sum[i] += d[i];
        }

        // Accumulator layout: warp w of the warpgroup holds rows 16w..16w+15; in each 8-column
        // block i, sum[4i], sum[4i+1] are row lane/4, columns 2(lane%4), +1; sum[4i+2], sum[4i+3] row + 8.
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            const int m = m0 + 64 * c + 16 * warp + lane / 4 + 8 * h;
            if (m >= M) continue;
            const float sx = SX[m];
#pragma unroll
            for (int i = 0; i < BN / 8; ++i) {
                const int n = n0 + 8 * i + 2 * (lane & 3);
                const float y0 = sum[4 * i + 2 * h] * sx * (n < N ? SW[n] : 0.f);
                const float y1 = sum[4 * i + 2 * h + 1] * sx * (n + 1 < N ? SW[n + 1] : 0.f);
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
