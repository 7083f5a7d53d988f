// instr_rate — microbenchmarks for the ceilings of the three-ceiling roofline.
//
// Each kernel keeps CHAINS independent dependency chains per thread in
// registers (no memory traffic inside the loop) and issues ITERS rounds of one
// instruction per chain, so the only limit is how fast the SMs retire that
// instruction. Rate = (threads · ITERS · CHAINS · work per instruction) / time.
// Results are written out so the compiler cannot drop the work; inline `asm
// volatile` keeps ptxas from folding chains of logic or FMAs.
//
//   mma_f16   mma.sync m16n8k16 f16·f16 -> f32   (sm_80+; 4096 flops per warp instr)
//   mma_s8    mma.sync m16n8k32 s8·s8 -> s32     (sm_80+; 8192 ops per warp instr)
//   mma_e4m3  mma.sync m16n8k32 e4m3·e4m3 -> f32 (sm_89+; 8192 flops per warp instr;
//             native QMMA on sm_89 and sm_120, emulated as F2FP + 2x HMMA on sm_90)
//   lop3      lop3.b32, the integer instruction that dequantization spends most
//   ffma      fma.rn.f32, the fp32 unit that per-block rescaling spends
//   dp4a, wmma_s8, wmma_f16: see below; wgmma has its own file (wgmma_rate.cu)
//
// Expects: #define ITERS, #define CHAINS (<= 8).


#ifndef ITERS
#define ITERS 4096
#endif
#ifndef CHAINS
#define CHAINS 4
#endif

extern "C" __global__ void lop3_rate(unsigned* out, unsigned seed)
{
    unsigned a[CHAINS];
#pragma unroll
    for (int c = 0; c < CHAINS; ++c) a[c] = seed ^ (threadIdx.x * 2654435761u + c);
    const unsigned b = seed * 3u + 1u, d = seed * 7u + 5u;
    for (int i = 0; i < ITERS; ++i) {
#pragma unroll
        for (int c = 0; c < CHAINS; ++c)
            asm volatile("lop3.b32 %0, %0, %1, %2, 0x96;" : "+r"(a[c]) : "r"(b), "r"(d));
    }
    unsigned r = 0;
#pragma unroll
    for (int c = 0; c < CHAINS; ++c) r ^= a[c];
    out[blockIdx.x * blockDim.x + threadIdx.x] = r;
}

extern "C" __global__ void ffma_rate(float* out, float seed)
{
    float a[CHAINS];
#pragma unroll
    for (int c = 0; c < CHAINS; ++c) a[c] = seed + threadIdx.x + c;
    const float b = 0.999f, d = 1e-3f;
    for (int i = 0; i < ITERS; ++i) {
#pragma unroll
        for (int c = 0; c < CHAINS; ++c)
            asm volatile("fma.rn.f32 %0, %0, %1, %2;" : "+f"(a[c]) : "f"(b), "f"(d));
    }
    float r = 0.f;
#pragma unroll
    for (int c = 0; c < CHAINS; ++c) r += a[c];
    out[blockIdx.x * blockDim.x + threadIdx.x] = r;
}

#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
extern "C" __global__ void mma_f16_rate(float* out, unsigned seed)
{
    // A: 4 regs of half2, B: 2 regs; accumulators: 4 floats per chain.
    unsigned a[4], b[2];
#pragma unroll
    for (int i = 0; i < 4; ++i) a[i] = 0x3c003c00u ^ ((seed + threadIdx.x + i) & 0x00ff00ffu);
    b[0] = 0x3c003c00u; b[1] = 0x3c003c00u ^ (seed & 0x00ff00ffu);
    float acc[CHAINS][4] = {};
    for (int i = 0; i < ITERS; ++i) {
#pragma unroll
        for (int c = 0; c < CHAINS; ++c)
            asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 "
                         "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
                         : "+f"(acc[c][0]), "+f"(acc[c][1]), "+f"(acc[c][2]), "+f"(acc[c][3])
                         : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
    }
    float r = 0.f;
#pragma unroll
    for (int c = 0; c < CHAINS; ++c) r += acc[c][0] + acc[c][1] + acc[c][2] + acc[c][3];
    out[blockIdx.x * blockDim.x + threadIdx.x] = r;
}

extern "C" __global__ void mma_s8_rate(int* out, unsigned seed)
{
    unsigned a[4], b[2];
#pragma unroll
    for (int i = 0; i < 4; ++i) a[i] = (seed + threadIdx.x * 0x01010101u + i) & 0x07070707u;
    b[0] = 0x01020304u; b[1] = seed & 0x07070707u;
    int acc[CHAINS][4] = {};
    for (int i = 0; i < ITERS; ++i) {
#pragma unroll
        for (int c = 0; c < CHAINS; ++c)
            asm volatile("mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 "
                         "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
                         : "+r"(acc[c][0]), "+r"(acc[c][1]), "+r"(acc[c][2]), "+r"(acc[c][3])
                         : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
    }
    int r = 0;
#pragma unroll
    for (int c = 0; c < CHAINS; ++c) r += acc[c][0] + acc[c][1] + acc[c][2] + acc[c][3];
    out[blockIdx.x * blockDim.x + threadIdx.x] = r;
}
#endif

#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 890
extern "C" __global__ void mma_e4m3_rate(float* out, unsigned seed)
{
    // Every chain gets its own operands, and they change every iteration: on
    // sm_90 ptxas has no fp8 mma.sync and emulates it (F2FP unpacks e4m3 to
    // f16, then two HMMA.16816); given operands it can prove equal it would
    // share the unpacking and the product between chains and iterations and
    // measure nothing. Bytes stay in 0x38..0x3b (e4m3 values near 1).
    unsigned a[CHAINS][4], b[CHAINS][2];
#pragma unroll
    for (int c = 0; c < CHAINS; ++c) {
#pragma unroll
        for (int r = 0; r < 4; ++r) a[c][r] = 0x38383838u ^ ((((seed ^ (threadIdx.x * (c + 1))) + r) & 3u) * 0x01010101u);
        b[c][0] = 0x38383838u ^ ((((seed >> c) + 1u) & 3u) * 0x01010101u);
        b[c][1] = 0x38383838u ^ ((((seed >> (c + 4)) + 2u) & 3u) * 0x01010101u);
    }
    float acc[CHAINS][4] = {};
    for (int i = 0; i < ITERS; ++i) {
        const unsigned v = (i & 3u) * 0x01010101u;
#pragma unroll
        for (int c = 0; c < CHAINS; ++c)
            asm volatile("mma.sync.aligned.m16n8k32.row.col.f32.e4m3.e4m3.f32 "
                         "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
                         : "+f"(acc[c][0]), "+f"(acc[c][1]), "+f"(acc[c][2]), "+f"(acc[c][3])
                         : "r"(a[c][0] ^ v), "r"(a[c][1] ^ v), "r"(a[c][2] ^ v), "r"(a[c][3] ^ v),
                           "r"(b[c][0] ^ v), "r"(b[c][1] ^ v));
    }
    float r = 0.f;
#pragma unroll
    for (int c = 0; c < CHAINS; ++c) r += acc[c][0] + acc[c][1] + acc[c][2] + acc[c][3];
    out[blockIdx.x * blockDim.x + threadIdx.x] = r;
}
#endif

// ---------------------------------------------------------------------------
// The older int8 rungs of lesson 2, each with its own ceiling.
//
//   dp4a      dp4a.s32.s32: a 4-way int8 dot product on the CUDA cores (sm_61+),
//             8 ops per thread instruction; no Tensor Cores involved
//   wmma_s8   wmma m16n16k16 s8·s8 -> s32 (sm_72+; 8192 ops per warp instr)
//   wmma_f16  wmma m16n16k16 f16·f16 -> f32 (sm_70+; 8192 flops per warp instr;
//             PTX names only the accumulator types for f16: .f32.f32)
// WMMA is the portable C++-level API; ptxas lowers each wmma.mma to the GPU's own
// MMA instructions, so its rate is whatever those few fixed shapes reach.
// ---------------------------------------------------------------------------

#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 610
extern "C" __global__ void dp4a_rate(int* out, unsigned seed)
{
    int a[CHAINS];
#pragma unroll
    for (int c = 0; c < CHAINS; ++c) a[c] = (int)(seed ^ (threadIdx.x * 2654435761u + c));
    const int b = (int)(seed * 0x01010101u + 0x7f80017fu), d = (int)(seed ^ 0x80ff7f01u);
    for (int i = 0; i < ITERS; ++i) {
#pragma unroll
        for (int c = 0; c < CHAINS; ++c)
            asm volatile("dp4a.s32.s32 %0, %1, %2, %0;" : "+r"(a[c]) : "r"(b), "r"(d));
    }
    int r = 0;
#pragma unroll
    for (int c = 0; c < CHAINS; ++c) r ^= a[c];
    out[blockIdx.x * blockDim.x + threadIdx.x] = r;
}
#endif

#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 720
extern "C" __global__ void wmma_s8_rate(int* out, unsigned seed)
{
    // m16n16k16 s8: A and B fragments are two 32-bit registers each, C/D eight s32.
    const unsigned a0 = (seed + threadIdx.x * 0x01010101u) & 0x07070707u, a1 = a0 ^ 0x01020304u;
    const unsigned b0 = 0x01020304u ^ (seed & 0x03030303u), b1 = seed & 0x07070707u;
    int acc[CHAINS][8] = {};
    for (int i = 0; i < ITERS; ++i) {
#pragma unroll
        for (int c = 0; c < CHAINS; ++c)
            asm volatile("wmma.mma.sync.aligned.row.col.m16n16k16.s32.s8.s8.s32 "
                         "{%0,%1,%2,%3,%4,%5,%6,%7}, {%8,%9}, {%10,%11}, {%0,%1,%2,%3,%4,%5,%6,%7};"
                         : "+r"(acc[c][0]), "+r"(acc[c][1]), "+r"(acc[c][2]), "+r"(acc[c][3]),
                           "+r"(acc[c][4]), "+r"(acc[c][5]), "+r"(acc[c][6]), "+r"(acc[c][7])
                         : "r"(a0), "r"(a1), "r"(b0), "r"(b1));
    }
    int r = 0;
#pragma unroll
    for (int c = 0; c < CHAINS; ++c)
#pragma unroll
        for (int j = 0; j < 8; ++j) r += acc[c][j];
    out[blockIdx.x * blockDim.x + threadIdx.x] = r;
}
#endif

#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 700
extern "C" __global__ void wmma_f16_rate(float* out, unsigned seed)
{
    // m16n16k16 f16: A and B fragments are eight half2 registers each, C/D eight f32.
    unsigned a[8], b[8];
#pragma unroll
    for (int i = 0; i < 8; ++i) {
        a[i] = 0x3c003c00u ^ ((seed + threadIdx.x + i) & 0x00ff00ffu);
        b[i] = 0x3c003c00u ^ ((seed >> i) & 0x00ff00ffu);
    }
    float acc[CHAINS][8] = {};
    for (int i = 0; i < ITERS; ++i) {
#pragma unroll
        for (int c = 0; c < CHAINS; ++c)
            asm volatile("wmma.mma.sync.aligned.row.col.m16n16k16.f32.f32 "
                         "{%0,%1,%2,%3,%4,%5,%6,%7}, {%8,%9,%10,%11,%12,%13,%14,%15}, "
                         "{%16,%17,%18,%19,%20,%21,%22,%23}, {%0,%1,%2,%3,%4,%5,%6,%7};"
                         : "+f"(acc[c][0]), "+f"(acc[c][1]), "+f"(acc[c][2]), "+f"(acc[c][3]),
                           "+f"(acc[c][4]), "+f"(acc[c][5]), "+f"(acc[c][6]), "+f"(acc[c][7])
                         : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(a[4]), "r"(a[5]), "r"(a[6]), "r"(a[7]),
                           "r"(b[0]), "r"(b[1]), "r"(b[2]), "r"(b[3]), "r"(b[4]), "r"(b[5]), "r"(b[6]), "r"(b[7]));
    }
    float r = 0.f;
#pragma unroll
    for (int c = 0; c < CHAINS; ++c)
#pragma unroll
        for (int j = 0; j < 8; ++j) r += acc[c][j];
    out[blockIdx.x * blockDim.x + threadIdx.x] = r;
}
#endif
