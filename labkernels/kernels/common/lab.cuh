// lab.cuh — small device helpers shared by the lab's kernels, one purpose each.
// Each wraps one idea (or one PTX instruction) so kernels read as their algorithm.
#pragma once
#include <cuda_fp16.h>

// Sum a value over the 32 lanes of a warp; every lane gets the total.
__device__ __forceinline__ float warp_sum(float v)
{
#pragma unroll
    for (int off = 16; off > 0; off >>= 1)
        v += __shfl_xor_sync(0xffffffffu, v, off);
    return v;
}

// lop3.b32: any three-input bitwise function in one instruction. `LUT` is the
// truth table: with a = 0xF0, b = 0xCC, c = 0xAA, (a & b) | c is 0xEA.
template <int LUT>
__device__ __forceinline__ unsigned lop3(unsigned a, unsigned b, unsigned c)
{
    unsigned d;
    asm("lop3.b32 %0, %1, %2, %3, %4;" : "=r"(d) : "r"(a), "r"(b), "r"(c), "n"(LUT));
    return d;
}

// Two int4 values -> half2, no integer-to-float conversion instruction.
// fp16 1024.0 is 0x6400 and its ulp is 1, so OR-ing a 4-bit value v into the
// low mantissa bits of 0x6400 gives exactly 1024 + v. This picks nibble 0 and
// nibble 4 of `w` (bits 0-3 and 16-19) into the two halves in one lop3:
// half2(1024 + w[0:4], 1024 + w[16:20]). Subtracting 1024 (+ the zero point)
// afterwards is exact.
__device__ __forceinline__ __half2 int4_pair_magic(unsigned w)
{
    const unsigned h = lop3<0xEA>(w, 0x000F000Fu, 0x64006400u);  // (w & mask) | magic
    return *reinterpret_cast<const __half2*>(&h);
}

__device__ __forceinline__ __half2 u32_as_half2(unsigned u)
{
    return *reinterpret_cast<const __half2*>(&u);
}

// ---------------------------------------------------------------------------
// Tensor Core helpers (sm_80+ for the m16n8k16 MMA; ldmatrix from sm_75).
// ---------------------------------------------------------------------------

// ldmatrix .x4: four 8x8 b16 matrices from shared memory into the A-fragment
// registers of an m16n8k16 MMA. Lanes 0-7, 8-15, 16-23, 24-31 give the row
// addresses of matrices 0-3 (16-byte aligned rows).
__device__ __forceinline__ void ldmatrix_x4(unsigned (&r)[4], const void* smem_row)
{
    const unsigned a = static_cast<unsigned>(__cvta_generic_to_shared(smem_row));
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(a));
}

// D = A·B + D for a 16x8x16 tile: A row-major fp16 (4 regs), B column-major fp16
// (2 regs), D fp32 (4 regs). Fragment layouts: PTX ISA, "mma.m16n8k16".
__device__ __forceinline__ void mma_m16n8k16(float (&d)[4], const unsigned (&a)[4], unsigned b0, unsigned b1)
{
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 "
                 "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// A 16-byte load of data read once (a GEMV's weights). L1::no_allocate keeps it out of
// L1, where the re-read activations stay; L2::256B asks L2 to fetch the whole 256-byte
// group the address falls in, so DRAM sees longer bursts (sm_80+; sm_75 gets the first).
__device__ __forceinline__ uint4 ldg_stream16(const void* p)
{
    uint4 v;
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 800
    asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0, %1, %2, %3}, [%4];"
                 : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w) : "l"(p));
#else
    asm volatile("ld.global.nc.L1::no_allocate.L2::256B.v4.u32 {%0, %1, %2, %3}, [%4];"
                 : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w) : "l"(p));
#endif
    return v;
}

// The GEMVs' 16-byte weight load: streamed (above) when the kernel is built with HINT = 1.
__device__ __forceinline__ uint4 ldg_weights16(const void* p)
{
#if defined(HINT) && HINT
    return ldg_stream16(p);
#else
    return __ldg(reinterpret_cast<const uint4*>(p));
#endif
}

// cp.async: copy 16 bytes global -> shared without passing through registers;
// src_bytes < 16 zero-fills the rest (0: all zeros, for tails).
__device__ __forceinline__ void cp_async16(void* smem, const void* gmem, int src_bytes)
{
    const unsigned s = static_cast<unsigned>(__cvta_generic_to_shared(smem));
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" :: "r"(s), "l"(gmem), "r"(src_bytes));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;"); }
template <int N>
__device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;" :: "n"(N)); }

// half2(1024 + z, 1024 + z) for an integer zero point z < 256, built with integer
// ops: 1024 + z has the bits 0x6400 | z (the ulp of 1024 is 1).
__device__ __forceinline__ __half2 magic_zero(unsigned z)
{
    return u32_as_half2((0x6400u | z) * 0x00010001u);
}

// Dequantize one 32-bit word of a fragment-ordered int4 tile (see prepack_w4 in
// dequant/__init__.py) into the B fragments of two k16 steps: returns
// b[0] = b0(step 0), b[1] = b0(step 1), b[2] = b1(step 0), b[3] = b1(step 1).
// (q - z) is exact in fp16 after the magic-number subtract; one rounding in the multiply.
__device__ __forceinline__ void dequant_word_frag(unsigned (&b)[4], unsigned w, __half2 zq, __half2 s2)
{
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        const __half2 v = __hmul2(__hsub2(int4_pair_magic(w >> (4 * i)), zq), s2);
        b[i] = *reinterpret_cast<const unsigned*>(&v);
    }
}

// ---------------------------------------------------------------------------
// int8 helpers.
// ---------------------------------------------------------------------------

// What an A8W8 kernel stores: fp16 results, or, compiled with RAW=1, its raw int32
// sums (the integer path, checked exactly before any scale is applied).
#if defined(RAW) && RAW
typedef int out_t;
#else
typedef __half out_t;
#endif

// D = A·B + D for a 16x8x32 int8 tile (sm_80+): A row-major s8 (4 regs of 4 bytes),
// B column-major s8 (2 regs), D s32 (4 regs). Exact: int32 accumulation of int8
// products. The fragments hold the same *bytes* as an m16n8k16 fp16 MMA's, so the
// same ldmatrix addressing feeds both (PTX ISA, "mma.m16n8k32").
__device__ __forceinline__ void mma_s8_m16n8k32(int (&d)[4], const unsigned (&a)[4], unsigned b0, unsigned b1)
{
    asm volatile("mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 "
                 "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
                 : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// D = A·B + D for a 16x8x32 e4m3 tile, fp32 D (sm_89+). The fragments hold the same
// bytes as the int8 m16n8k32's, so the same ldmatrix addressing feeds both.
__device__ __forceinline__ void mma_e4m3_m16n8k32(float (&d)[4], const unsigned (&a)[4], unsigned b0, unsigned b1)
{
    asm volatile("mma.sync.aligned.m16n8k32.row.col.f32.e4m3.e4m3.f32 "
                 "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// An E8M0 scale code (OCP MX) as fp32 2^(c - 127): the code is an fp32 exponent field.
// Code 0 is 2^-127, an fp32 subnormal; 255 is NaN.
__device__ __forceinline__ float e8m0_to_f32(unsigned c)
{
    return __int_as_float(c == 0 ? 0x00400000 : c == 255 ? 0x7FC00000 : (int)(c << 23));
}

// A scale as fp32, whichever type it is stored in.
__device__ __forceinline__ float to_f32(__half h) { return __half2float(h); }
__device__ __forceinline__ float to_f32(float f) { return f; }

// Y[m, n], Y[m, n + 1] of a row-major [., N] fp16 output, from fp32, skipping columns past N:
// one 4-byte store when both exist and are 4-byte aligned (N even), else one per element.
__device__ __forceinline__ void store_f16x2(__half* Y, int m, int n, int N, float y0, float y1)
{
    if (n + 1 < N && (N & 1) == 0) {
        *reinterpret_cast<__half2*>(Y + (size_t)m * N + n) = __floats2half2_rn(y0, y1);
    } else {
        if (n < N) Y[(size_t)m * N + n] = __float2half(y0);
        if (n + 1 < N) Y[(size_t)m * N + n + 1] = __float2half(y1);
    }
}

// The epilogue of a warp's MT x NT mma.sync m16n8 accumulator tiles, from registers: tile (i, j)
// covers rows m0 + 16i.. and columns n0 + 8j.., a lane holding rows lane/4 and lane/4 + 8, columns
// 2(lane%4) and +1. Stores Y[m, n] = acc * sx[m] * sw[n] as fp16, each column scale read once per
// warp tile; compiled with RAW = 1 (out_t int), the raw int32 sums. Rows past M, columns past N: none.
template <int MT, int NT, typename Acc, typename Scale>
__device__ __forceinline__ void store_mma_tiles(const Acc (&acc)[MT][NT][4], out_t* Y, const Scale* SX,
                                               const Scale* SW, int m0, int n0, int M, int N, int lane)
{
    const int q = 2 * (lane & 3);
#if !(defined(RAW) && RAW)
    float sw[NT][2];
#pragma unroll
    for (int j = 0; j < NT; ++j) {
        const int n = n0 + 8 * j + q;
        sw[j][0] = n < N ? to_f32(SW[n]) : 0.f;
        sw[j][1] = n + 1 < N ? to_f32(SW[n + 1]) : 0.f;
    }
#endif
#pragma unroll
    for (int i = 0; i < MT; ++i) {
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            const int m = m0 + 16 * i + lane / 4 + 8 * h;
            if (m >= M) continue;
#if !(defined(RAW) && RAW)
            const float sx = to_f32(SX[m]);
#endif
#pragma unroll
            for (int j = 0; j < NT; ++j) {
                const int n = n0 + 8 * j + q;
#if defined(RAW) && RAW
                if (n < N) Y[(size_t)m * N + n] = acc[i][j][2 * h];
                if (n + 1 < N) Y[(size_t)m * N + n + 1] = acc[i][j][2 * h + 1];
#else
                store_f16x2(Y, m, n, N, (float)acc[i][j][2 * h] * sx * sw[j][0], (float)acc[i][j][2 * h + 1] * sx * sw[j][1]);
#endif
            }
        }
    }
}

// Grouped block order for a GEMM on a 1-D grid: block b computes output tile (tm, tn) so that
// consecutive blocks walk `group_m` row tiles down a column of tiles before moving right.
// Blocks resident at the same time then share a few tiles of X and W, which come from L2
// instead of DRAM.
__device__ __forceinline__ void grouped_tile(int b, int tiles_m, int tiles_n, int group_m, int& tm, int& tn)
{
    const int per_group = group_m * tiles_n, first_m = (b / per_group) * group_m;
    const int size_m = min(tiles_m - first_m, group_m);
    tm = first_m + (b % per_group) % size_m;
    tn = (b % per_group) / size_m;
}

// Sum an int over the 32 lanes of a warp.
__device__ __forceinline__ int warp_sum_int(int v)
{
#pragma unroll
    for (int off = 16; off > 0; off >>= 1)
        v += __shfl_xor_sync(0xffffffffu, v, off);
    return v;
}

// Eight signed int4 -> eight int8 *times 16*, two 4-byte registers, no per-element work.
// The word holds two's-complement nibbles (an offline XOR with 8 turned the stored
// q + 8 into q), byte j = q[j] | q[4 + j] << 4. A nibble in the HIGH half of a byte
// is already a correctly signed int8 equal to 16·q, so masking is the whole unpack:
//   lo = bytes q[0..3]·16,   hi = bytes q[4..7]·16.
// The 16 is a power of two: it leaves int32 sums exact and is divided out of the scale.
__device__ __forceinline__ void int4x8_to_int8x16(unsigned w, unsigned& lo, unsigned& hi)
{
    lo = (w << 4) & 0xF0F0F0F0u;
    hi = w & 0xF0F0F0F0u;
}

// ---------------------------------------------------------------------------
// Hopper warpgroup MMA (wgmma, sm_90a): descriptors, fences, groups.
// ---------------------------------------------------------------------------

// 64-bit shared-memory matrix descriptor of a K-major tile with the 128-byte swizzle
// (PTX ISA, "Matrix Descriptor Format"): start address >> 4 in bits 0-13, leading
// byte offset (unused with this swizzle) in 16-29, stride byte offset >> 4 in 32-45
// (1024: from one group of 8 rows to the next), swizzle mode 1 (128 B) in bits 62-63.
__device__ __forceinline__ unsigned long long smem_desc(const void* p)
{
    const unsigned a = static_cast<unsigned>(__cvta_generic_to_shared(p));
    return (unsigned long long)((a & 0x3FFFF) >> 4) | ((unsigned long long)1 << 16) | ((unsigned long long)(1024 >> 4) << 32) | ((unsigned long long)1 << 62);
}

__device__ __forceinline__ void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;" ::: "memory"); }
__device__ __forceinline__ void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;" ::: "memory"); }
template <int N>
__device__ __forceinline__ void wgmma_wait() { asm volatile("wgmma.wait_group.sync.aligned %0;" :: "n"(N) : "memory"); }
// Pin the accumulators: the compiler may not move or read them across this point
// (otherwise ptxas must serialize the asynchronous wgmma pipeline to stay correct).
template <int N>
__device__ __forceinline__ void fence_operands(int (&d)[N])
{
#pragma unroll
    for (int i = 0; i < N; ++i) asm volatile("" : "+r"(d[i]) :: "memory");
}
template <int N>
__device__ __forceinline__ void fence_operands(float (&d)[N])
{
#pragma unroll
    for (int i = 0; i < N; ++i) asm volatile("" : "+f"(d[i]) :: "memory");
}
__device__ __forceinline__ void fence_proxy_async() { asm volatile("fence.proxy.async.shared::cta;" ::: "memory"); }

// ---------------------------------------------------------------------------
// Hopper asynchronous copies: mbarriers and the tensor memory accelerator (TMA, sm_90).
// ---------------------------------------------------------------------------

__device__ __forceinline__ unsigned smem_u32(const void* p) { return static_cast<unsigned>(__cvta_generic_to_shared(p)); }

// mbarrier: a shared-memory counter with a phase bit. It completes a phase when `count` arrivals
// and every byte announced with expect_tx have come; waiters poll the parity of the phase.
__device__ __forceinline__ void mbar_init(unsigned long long* bar, unsigned count)
{
    asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;" ::"r"(smem_u32(bar)), "r"(count) : "memory");
}
// Arrive, announcing `bytes` that asynchronous copies will deliver to this phase.
__device__ __forceinline__ void mbar_arrive_expect_tx(unsigned long long* bar, unsigned bytes)
{
    asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(smem_u32(bar)), "r"(bytes) : "memory");
}
__device__ __forceinline__ void mbar_arrive(unsigned long long* bar)
{
    asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];" ::"r"(smem_u32(bar)) : "memory");
}
__device__ __forceinline__ void mbar_wait(unsigned long long* bar, unsigned parity)
{
    asm volatile(
        "{\n.reg .pred p;\nWAIT:\n"
        "mbarrier.try_wait.parity.shared::cta.b64 p, [%0], %1;\n"
        "@!p bra WAIT;\n}\n" ::"r"(smem_u32(bar)), "r"(parity) : "memory");
}

// TMA: the box at (c0 bytes along a row, c1 rows) of the tensor map at `tmap` (global memory)
// into shared memory at dst, completing on `bar`.
__device__ __forceinline__ void tma_load_2d(void* dst, const void* tmap, int c0, int c1, unsigned long long* bar)
{
    asm volatile(
        "cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3}], [%4];"
        ::"r"(smem_u32(dst)), "l"(tmap), "r"(c0), "r"(c1), "r"(smem_u32(bar)) : "memory");
}
