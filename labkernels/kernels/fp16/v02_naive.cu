// v02_naive — fp16 GEMM (and GEMV), one thread per output element.
//
// Computes   Y[m, n] = sum_k X[m, k] * W[n, k]   (Y = X·Wᵀ, fp32 accumulation)
//   X  [M, K] fp16, row-major (K contiguous)
//   W  [N, K] fp16, row-major (one output channel per row)
//   Y  [M, N] fp16, row-major
// Grid: x over N (blockDim.x threads), y over M.
//
// Bound: far from any roofline, on purpose. Neighbouring threads of a warp
// own neighbouring n, so at each step they read W[n, k], W[n+1, k], ... —
// addresses K*2 bytes apart: 32 different cache lines per load instruction
// instead of one. It runs only because the L1 keeps those lines for the next
// few k. This is the kernel every later variant improves on.
// Changed from v01 (Numba): nothing but the language — the same algorithm in
// CUDA C, so the two can be compared like for like.
#include <cuda_fp16.h>

extern "C" __global__ void fp16_naive(const __half* __restrict__ X,
                                      const __half* __restrict__ W,
                                      __half* __restrict__ Y,
                                      int M, int N, int K)
{
    const int n = blockIdx.x * blockDim.x + threadIdx.x;
    const int m = blockIdx.y;
    if (n >= N || m >= M) return;  // tail: N need not be a multiple of the block

    const __half* x = X + (size_t)m * K;
    const __half* w = W + (size_t)n * K;
    float acc = 0.0f;  // fp32: an fp16 accumulator would lose ~log2(K) bits
    for (int k = 0; k < K; ++k)
        acc += __half2float(x[k]) * __half2float(w[k]);
    Y[(size_t)m * N + n] = __float2half(acc);
}
