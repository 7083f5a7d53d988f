// v05_mma_block_scale — MXFP8, MXFP4 and NVFP4 on Blackwell's block-scaled mma.sync (sm_120a only).
//
// Computes  Y[m, n] = sum_b (sum_{k in b} x[m, k] * w[n, k]) * sx[m, b] * sw[n, b]  (* gx * gw for NVFP4)
// with the inputs of labkernels.problems["mxfp8" | "mxfp4" | "nvfp4"], the same sum as v01:
//   X [M, K/PER_BYTE] uint8  element codes, K contiguous (e4m3 one per byte; e2m1 two per byte,
//                            even k in the low nibble)
//   SX [M, K/BLOCK]  uint8   block-scale codes of X (E8M0 per 32 k for MX, E4M3 per 16 k for NVFP4)
//   W [N, K/PER_BYTE], SW [N, K/BLOCK]  the same for the weights (one row per output channel)
//   GX, GW [1] float32       NVFP4's per-tensor scales (the MX kernels take no such arguments)
//   Y [M, N] fp16
//
// What the hardware does. Every earlier kernel of the lab scales in software: decode, or one MMA
// per block followed by CUDA-core multiply-adds that apply the block's scales (the third ceiling of
// the roofline). On sm_120a the scales are *operands of the MMA*: each lane hands the Tensor Core
// one 32-bit register of scale bytes beside its A and B fragments, and the instruction computes
// D = (A * scale_A) * (B * scale_B) + C (PTX ISA, "Block Scaling for mma.sync"). No rescale
// instruction runs on the CUDA cores; the k loop is loads and MMAs, nothing else.
//
//   MXFP8  mma.sync.aligned.m16n8k32.row.col.kind::mxf8f6f4.block_scale.scale_vec::1X.f32.e4m3.e4m3.f32.ue8m0
//          k = 32 per MMA = one MX block: one E8M0 scale per row of A and per column of B.
//   MXFP4  mma.sync.aligned.m16n8k64.row.col.kind::mxf4nvf4.block_scale.scale_vec::2X.f32.e2m1.e2m1.f32.ue8m0
//          k = 64 per MMA = two MX blocks: two E8M0 scales (bytes 0, 1 of the scale register).
//   NVFP4  mma.sync.aligned.m16n8k64.row.col.kind::mxf4nvf4.block_scale.scale_vec::4X.f32.e2m1.e2m1.f32.ue4m3
//          k = 64 per MMA = four NVFP4 blocks: four E4M3 scales (bytes 0-3); the fp32 per-tensor
//          scales gx * gw multiply the result once, in the epilogue.
//
// Fragments (PTX ISA "Matrix Fragments for mma.m16n8k32" / "mma.m16n8k64", "Block Scaling for
// mma.sync"; the same mapping as CUTLASS cute/atom/mma_traits_sm120.hpp). With g = lane >> 2 and
// t = lane & 3, *in bytes*, both shapes read the same 32 bytes of each row per MMA:
//   A  a[0] = X[m0 + g    ][32 s + 4t .. +3]   a[2] = X[m0 + g    ][32 s + 16 + 4t .. +3]
//      a[1] = X[m0 + g + 8][32 s + 4t .. +3]   a[3] = X[m0 + g + 8][32 s + 16 + 4t .. +3]
//   B  b[0] = W[n0 + g][32 s + 4t .. +3]       b[1] = W[n0 + g][32 s + 16 + 4t .. +3]
//   D  d[0], d[1] = Y[m0 + g][n0 + 2t], [n0 + 2t + 1];  d[2], d[3] = the same columns of row m0 + g + 8
// so an e4m3 register holds 4 consecutive k and an e2m1 register 8 (lowest bits = lowest k).
//   scale_A  thread-id-a = 0: lane 4r holds row m0 + r, lane 4r + 1 row m0 + r + 8 (lanes 4r + 2,
//            4r + 3 are not read); this kernel lets lane l load row m0 + g + 8 (l & 1).
//   scale_B  thread-id-b = 0: lane 4c holds column n0 + c (lanes 4c + 1..3 are not read).
//   byte j of a scale register scales k in [BLOCK j, BLOCK (j + 1)) of the MMA's k; byte-id = 0.
// labkernels/kernels/blockscaled/native.py models exactly these formulas lane by lane in NumPy
// (tests/test_blockscaled_native.py), since no GPU the lab can reach runs this instruction.
//
// Tails: a row or column past M or N, and a 4-byte word past the end of a row (K % 64 == 32 for
// MXFP4, K % 64 in {16, 32, 48} for NVFP4), load zeros; the scale bytes of blocks past K are 1.0.
// A zero element contributes exactly zero whatever its (finite) scale, so nothing else changes.
// The scale types are the instruction's: E8M0 and *unsigned* E4M3 (.ue4m3), so a block scale is
// positive, as every quantizer here writes it; a code with the E4M3 sign bit set, or the E8M0 NaN
// code 0xFF (a NaN block in the OCP spec), is outside what this kernel promises to reproduce.
//
// Bound: none reached. Each warp computes one 16 x 8 tile of Y and reads its fragments straight
// from global memory (32-bit loads, no shared memory, no reuse across warps), so it is limited by
// load latency and L2 bandwidth: the lesson is the instruction, not the schedule. Hopper (sm_90)
// cannot run it: the PTX ISA lists these instructions for sm_120a / sm_121a only, and ptxas rejects
// them for sm_90a and sm_100a (sm_100a has the tcgen05 form instead; see v06_tcgen05_note.md).
// Changed from the variants before it: the block scales move from CUDA-core instructions into the
// MMA instruction itself.
//
// Expects: #define FMT FMT_MXFP8 | FMT_MXFP4 | FMT_NVFP4. Needs K % BLOCK == 0 (32 MX, 16 NVFP4)
// and x, w starting 4-byte aligned. Grid (ceil(N / (8 WARPS)), ceil(M / 16)), block 32 WARPS threads.
#include "lab.cuh"

#define FMT_MXFP8 1
#define FMT_MXFP4 2
#define FMT_NVFP4 3

#if FMT == FMT_MXFP8
#define KERNEL_NAME mxfp8_mma_block_scale
#define PER_BYTE 1              // elements per byte
#define BLOCK 32                // k per scale
#define SCALE_ONE 127u          // E8M0 code of 1.0, the scale of a padded block
#elif FMT == FMT_MXFP4
#define KERNEL_NAME mxfp4_mma_block_scale
#define PER_BYTE 2
#define BLOCK 32
#define SCALE_ONE 127u
#elif FMT == FMT_NVFP4
#define KERNEL_NAME nvfp4_mma_block_scale
#define PER_BYTE 2
#define BLOCK 16
#define SCALE_ONE 0x38u         // E4M3 code of 1.0
#else
#error "define FMT as FMT_MXFP8, FMT_MXFP4 or FMT_NVFP4"
#endif

#define STEP_BYTES 32                           // bytes of a row one MMA consumes (k32 e4m3, k64 e2m1)
#define SCALES_PER_MMA (STEP_BYTES * PER_BYTE / BLOCK)  // 1 (1X), 2 (2X) or 4 (4X)
#define WARPS 4

// D += (A * scale_A)(B * scale_B) for one 16 x 8 tile. The selectors {byte-id, thread-id} = {0, 0}:
// scale bytes from byte 0 up, scale_A from lanes 4r and 4r + 1, scale_B from lanes 4c.
__device__ __forceinline__ void mma_block_scale(float (&d)[4], const unsigned (&a)[4], const unsigned (&b)[2],
                                                unsigned sa, unsigned sb)
{
#if FMT == FMT_MXFP8
    asm volatile("mma.sync.aligned.m16n8k32.row.col.kind::mxf8f6f4.block_scale.scale_vec::1X.f32.e4m3.e4m3.f32.ue8m0 "
#elif FMT == FMT_MXFP4
    asm volatile("mma.sync.aligned.m16n8k64.row.col.kind::mxf4nvf4.block_scale.scale_vec::2X.f32.e2m1.e2m1.f32.ue8m0 "
#else
    asm volatile("mma.sync.aligned.m16n8k64.row.col.kind::mxf4nvf4.block_scale.scale_vec::4X.f32.e2m1.e2m1.f32.ue4m3 "
#endif
                 "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3}, %10, {0, 0}, %11, {0, 0};"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "r"(sa), "r"(sb));
}

// The 4 bytes at P[row][col .. col + 3] as one register (little-endian: byte col is the lowest),
// or 0 past the matrix: a zero word is zero elements in every format here.
__device__ __forceinline__ unsigned load_word(const unsigned char* __restrict__ P, int row, int col, int rows,
                                              int row_bytes)
{
    if (row >= rows || col >= row_bytes) return 0u;
    return __ldg(reinterpret_cast<const unsigned*>(P + (size_t)row * row_bytes + col));
}

// The scale register of MMA step s for one row: byte j = S[row][SCALES_PER_MMA s + j], 1.0 past K.
__device__ __forceinline__ unsigned load_scales(const unsigned char* __restrict__ S, int row, int s, int rows, int nb)
{
    unsigned v = 0;
#pragma unroll
    for (int j = 0; j < SCALES_PER_MMA; ++j) {
        const int b = SCALES_PER_MMA * s + j;
        const unsigned code = (row < rows && b < nb) ? (unsigned)__ldg(S + (size_t)row * nb + b) : SCALE_ONE;
        v |= code << (8 * j);
    }
    return v;
}

extern "C" __global__ void __launch_bounds__(32 * WARPS)
KERNEL_NAME(const unsigned char* __restrict__ X, const unsigned char* __restrict__ SX,
            const unsigned char* __restrict__ W, const unsigned char* __restrict__ SW,
#if FMT == FMT_NVFP4
            const float* __restrict__ GX, const float* __restrict__ GW,
#endif
            __half* __restrict__ Y, int M, int N, int K)
{
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int g = lane >> 2, t = lane & 3;
    const int m0 = 16 * blockIdx.y, n0 = 8 * (WARPS * blockIdx.x + warp);
    if (n0 >= N) return;  // the whole warp leaves together: mma.sync needs all 32 lanes or none

    const int row_bytes = K / PER_BYTE, nb = K / BLOCK;
    const int steps = (row_bytes + STEP_BYTES - 1) / STEP_BYTES;
    const int sa_row = m0 + g + 8 * (lane & 1);  // scale_A row this lane supplies (read from lanes 4r, 4r + 1)
    const int sb_col = n0 + g;                   // scale_B column (read from lanes 4c)

    float acc[4] = {0.f, 0.f, 0.f, 0.f};
    for (int s = 0; s < steps; ++s) {
        const int c0 = STEP_BYTES * s + 4 * t, c1 = c0 + 16;  // this lane's two words in a row
        unsigned a[4], b[2];
        a[0] = load_word(X, m0 + g, c0, M, row_bytes);
        a[1] = load_word(X, m0 + g + 8, c0, M, row_bytes);
        a[2] = load_word(X, m0 + g, c1, M, row_bytes);
        a[3] = load_word(X, m0 + g + 8, c1, M, row_bytes);
        b[0] = load_word(W, n0 + g, c0, N, row_bytes);
        b[1] = load_word(W, n0 + g, c1, N, row_bytes);
        const unsigned sa = load_scales(SX, sa_row, s, M, nb);
        const unsigned sb = load_scales(SW, sb_col, s, N, nb);
        mma_block_scale(acc, a, b, sa, sb);  // the block scales are applied in here, nowhere else
    }

#if FMT == FMT_NVFP4
    const float gs = GX[0] * GW[0];  // the per-tensor scales: once per output, not per block
#else
    const float gs = 1.f;
#endif
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        const int m = m0 + g + 8 * h;
        if (m >= M) continue;
#pragma unroll
        for (int e = 0; e < 2; ++e) {
            const int n = n0 + 2 * t + e;
            if (n < N) Y[(size_t)m * N + n] = __float2half(acc[2 * h + e] * gs);
        }
    }
}
