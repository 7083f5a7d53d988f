// quantize — per-token dynamic int8 quantization of activations, on the GPU.
//
// For each row m of X [M, K] fp16:  s = fp16(max|x| / 127)  (1 where that is 0),
//   Q[m, k] = clamp(rint(x / s), -127, 127)   int8,   S[m] = s   fp16.
// Bit-exact with labkernels.formats.quantize_int(x, bits=8, group_size=None): the
// same IEEE float32 division (__fdiv_rn, never the fast approximate one), the same
// round-half-to-even (__float2int_rn = np.rint), the same fp16 rounding of the scale,
// and the division is by the *fp16* scale, the one the GEMM will multiply by.
//
// Bound: memory (read 2 bytes, write 1 per element). One block per row, two passes
// over the row (max, then quantize); the second pass reads from L1/L2.
#include <cuda_fp16.h>

#define THREADS 256

extern "C" __global__ void __launch_bounds__(THREADS)
quantize_rows_int8(const __half* __restrict__ X, signed char* __restrict__ Q, __half* __restrict__ S, int M, int K)
{
    __shared__ float red[THREADS / 32];
    const int m = blockIdx.x;
    const __half* x = X + (size_t)m * K;

    float amax = 0.f;
    for (int k = threadIdx.x; k < K; k += THREADS) amax = fmaxf(amax, fabsf(__half2float(x[k])));
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, off));
    if ((threadIdx.x & 31) == 0) red[threadIdx.x >> 5] = amax;
    __syncthreads();
    amax = red[0];
#pragma unroll
    for (int i = 1; i < THREADS / 32; ++i) amax = fmaxf(amax, red[i]);

    __half s16 = __float2half_rn(__fdiv_rn(amax, 127.0f));
    if (__half2float(s16) == 0.f) s16 = __float2half(1.0f);  // never a zero scale
    const float s = __half2float(s16);
    if (threadIdx.x == 0) S[m] = s16;

    for (int k = threadIdx.x; k < K; k += THREADS) {
        const int q = __float2int_rn(__fdiv_rn(__half2float(x[k]), s));
        Q[(size_t)m * K + k] = (signed char)max(-127, min(127, q));
    }
}
