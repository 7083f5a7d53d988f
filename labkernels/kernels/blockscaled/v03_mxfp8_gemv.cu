// v03_mxfp8_gemv — MXFP8 GEMV for M <= 16: the FP8 GEMV (fp8/v02_gemv.cu) with a scale per 32 k.
//
// Computes  Y[m, n] = sum_b (sum_{k in b} x[m, k] * w[n, k]) * sx[m, b] * sw[n, b]
//   X [M, K], W [N, K] e4m3 codes; sx [M, K/32], sw [N, K/32] E8M0 codes; Y [M, N] fp16.
//
// Bound: memory: 8.25 bits a weight (8 of e4m3, 8 of scale per 32), 3% more than FP8.
// Changed from fp8/v02: only where the scales are applied. A lane's 16-byte chunk is
// half an MX block, so its 16 products are summed first (fp32; e4m3 products are exact)
// and that sum is scaled by 2^(sx + sw - 254): one extra multiply-add per 16 weights, and
// two one-byte scale loads. Everything else — decoding, layout, reduction — is fp8/v02's.
#define MX 1
#include "fp8/v02_gemv.cu"
