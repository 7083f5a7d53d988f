// quantize — MX (MXFP8 e4m3 / e5m2, MXFP4) and NVFP4 quantizers on the GPU, bit-exact with
// labkernels.formats.quantize_mx and labkernels.formats.quantize_nvfp4.
//
// Arguments (every array row-major, C-contiguous):
//   X  float32 or float16 [M, K]. K is a multiple of the block (32 for MX, 16 for NVFP4), so
//      no block straddles two rows: the kernels see X as n = M*K elements cut into n / BLOCK
//      consecutive blocks, and the row structure never matters.
//   Q  uint8 codes: [M, K] for MXFP8 (one e4m3 / e5m2 code per byte); [M, K/2] for MXFP4 and
//      NVFP4 (two e2m1 codes per byte, element 2j in the low nibble of byte j).
//   S  uint8 scale codes [M, K/BLOCK], one per block in order: E8M0 for MX, E4M3 for NVFP4.
//   n  M*K (64-bit).
//
// Bound: memory. Every element is read once (4 or 2 bytes) and written once (1 byte or half
// a byte, plus a scale byte per block); there is no reuse and about a dozen integer and
// float32 operations per element, with no branch that depends on the data. The layout serves
// the loads: each lane takes one 16-byte vector (4 float32 or 8 float16), the 32 lanes of a
// warp take 512 consecutive bytes, and the LANES = BLOCK / VEC lanes that share a block find
// its max with log2(LANES) shuffles. Stores are as contiguous.
//
// MX: scale = 2^se (an E8M0 code se + 127); elements = round(x / 2^se) in the element format.
//   FLOOR (the OCP MX spec): se = floor(log2 amax) - emax. The block's largest element lands in
//     [2^emax, 2^(emax+1)), the top binade of the element format, which can be above the
//     format's max (e4m3: up to 511.9 > 448) and then saturates: the largest element may lose
//     up to ~12% (e4m3), but every other element keeps the finest grid the block allows.
//   RCEIL (NVIDIA cuBLAS, torchao; PTX cvt.rp.satfinite.ue8m0x2.f32 of amax / max): the smallest
//     se with amax / 2^se <= max. Nothing saturates, but a block whose amax has a significand
//     above max's (1.75 for the fp8 formats, 1.5 for e2m1) moves up one binade, and its small
//     elements lose one bit. Both rules are integer arithmetic on the exponent and fraction
//     bits of amax: no log2, no rounding.
//   Scaling by 2^-se is a float32 multiply by a power of two: exact (unless the product falls
//   below float32's normal range, far under every element grid, where it rounds to 0 anyway;
//   the reference computes the same IEEE product). The element encoder (section 2) then
//   rounds once, to nearest even.
//
// NVFP4: global scale g (fp32, from the launcher); per block s = e4m3(amax / (6 g)), the ratio
//   rounded to float64 by one division, then once to e4m3; elements are e2m1(x / (s g)).
//   The reference divides in float64 per element. Here no quotient is formed (section 3):
//   e2m1 has 8 magnitudes, so rounding is finding how many of the 7 midpoints |x| / d lies
//   beyond, three comparisons of |x| with the boundaries m * s * g, each one IEEE multiply
//   rounded outward to float32 (down or up), which keeps every comparison exact. The only
//   float64 work is one division per lane, for the block scale.
//
// Exactness needs IEEE float32 arithmetic with subnormals: never --use_fast_math (it adds
// -ftz=true, which would flush subnormal inputs and products to zero; the compile tests check
// that the PTX holds no .ftz). Everything here runs on sm_75 and newer; nothing uses the
// hardware fp8/fp4 conversions of sm_89+ / sm_100+, so one source serves every GPU.
//
// Kernels (one per element format and input type; the launcher is
// labkernels.kernels.blockscaled.quantize):
//   mx_quantize_{e4m3,e5m2,e2m1}_{f32,f16}(X, Q, S, n, rceil)   rceil: 0 FLOOR, 1 RCEIL
//   nvfp4_amax_{f32,f16}(X, n, amax)           atomic max of |x| as float32 bits into *amax
//   nvfp4_quantize_{f32,f16}(X, Q, S, g, n, bad)  *bad |= 1 when a block holds NaN or Inf
// Expects no #defines.
#include <cuda_fp16.h>

#define THREADS 256                 // 8 warps per CTA
#define WARPS (THREADS / 32)
#define FULL_MASK 0xffffffffu
#define ABS_MASK 0x7fffffffu        // clears a float32's sign bit
#define INF_BITS 0x7f800000u        // |x| bits >= this: Inf or NaN

// ---------------------------------------------------------------------------
// 1. The formats.
// ---------------------------------------------------------------------------
// A small float is S | E (ebits, bias BIAS) | M (MBITS): the magnitude code's top bits are the
// exponent, its low MBITS the fraction, code 1 << MBITS the smallest normal 2^EMIN with
// EMIN = 1 - BIAS, codes below it subnormals k * 2^(EMIN - MBITS). MAX_CODE is the largest
// finite magnitude code (saturation writes it). EMAX (the exponent of the largest binade) and
// RCEIL_FRAC (the 23-bit float32 fraction of max / 2^EMAX) serve the MX shared exponent.
struct E4M3 {  // float8_e4m3fn: max 448 = 1.75 * 2^8 (0x7E; 0x7F is NaN)
    static constexpr int MBITS = 3, BIAS = 7, EMAX = 8, CODE_BITS = 8;
    static constexpr unsigned MAX_CODE = 0x7E, RCEIL_FRAC = 0x600000;  // 0.75 * 2^23
};
struct E5M2 {  // float8_e5m2: max 57344 = 1.75 * 2^15 (0x7B; 0x7C is Inf)
    static constexpr int MBITS = 2, BIAS = 15, EMAX = 15, CODE_BITS = 8;
    static constexpr unsigned MAX_CODE = 0x7B, RCEIL_FRAC = 0x600000;
};
struct E2M1 {  // float4_e2m1fn: 0, 0.5, 1, 1.5, 2, 3, 4, 6 (max 6 = 1.5 * 2^2, code 7)
    static constexpr int MBITS = 1, BIAS = 1, EMAX = 2, CODE_BITS = 4;
    static constexpr unsigned MAX_CODE = 0x7, RCEIL_FRAC = 0x400000;  // 0.5 * 2^23
};

// The IEEE layouts the encoder reads, by floating type: the same-size unsigned integer of its
// bits, fraction bits and exponent bias, and the bit casts and the correctly rounded add.
template <typename Real> struct Ieee;
template <> struct Ieee<float> {
    using U = unsigned;
    static constexpr int FRAC = 23, BIAS = 127;
    static __device__ __forceinline__ U bits(float x) { return __float_as_uint(x); }
    static __device__ __forceinline__ float value(U u) { return __uint_as_float(u); }
    static __device__ __forceinline__ float add_rn(float a, float b) { return __fadd_rn(a, b); }
};
template <> struct Ieee<double> {
    using U = unsigned long long;
    static constexpr int FRAC = 52, BIAS = 1023;
    static __device__ __forceinline__ U bits(double x) { return (U)__double_as_longlong(x); }
    static __device__ __forceinline__ double value(U u) { return __longlong_as_double((long long)u); }
    static __device__ __forceinline__ double add_rn(double a, double b) { return __dadd_rn(a, b); }
};

// ---------------------------------------------------------------------------
// 2. Round to nearest even, saturating, in software.
// ---------------------------------------------------------------------------
// Round-half-even of an integer `v` to a multiple of 2^s, returned divided by 2^s (s >= 1):
// adding 2^(s-1) - 1 carries into bit s exactly when the dropped bits exceed one half;
// adding bit s itself as well makes an exact half carry only from an odd result, the tie
// going to the even neighbour.
template <typename U>
__device__ __forceinline__ U rne_shift(U v, int s)
{
    return (v + ((U(1) << (s - 1)) - 1) + ((v >> s) & 1)) >> s;
}

// Magnitude code of the format F nearest to ax = |x| (float32 or float64, sign clear), ties to
// even, saturating to MAX_CODE (Inf and NaN saturate too; callers deal with them first). The
// value is rounded once, from its exact value, by one of two roundings, both computed and one
// kept (no branch: on a GPU, lanes that took different branches would run both anyway):
//   * |x| >= 2^EMIN (F's normal range): F's code is |x|'s bit pattern with all but MBITS
//     fraction bits rounded off (the exponent field rides along, and a carry out of the
//     fraction correctly bumps it), then re-biased from the input's exponent to F's.
//   * |x| < 2^EMIN: let the FPU round. C = 2^(EMIN - MBITS + FRAC) has an ulp of exactly F's
//     subnormal quantum 2^(EMIN - MBITS), and |x| + C stays in C's binade, so the IEEE add
//     rounds |x| to a whole number of quanta, ties to even: the sum's bits minus C's are that
//     number, the code (2^MBITS quanta is exactly the code of 2^EMIN). A float32 subnormal |x|
//     takes part correctly because nothing flushes it (no -ftz).
// These are the two roundings of labkernels.formats (its encode_chunk), so the codes agree.
template <class F, typename Real>
__device__ __forceinline__ unsigned encode_magnitude(Real ax)
{
    using I = Ieee<Real>;
    using U = typename I::U;
    constexpr int EMIN = 1 - F::BIAS;
    const U a = I::bits(ax);
    // (wraps for |x| below 2^EMIN, where it is not used)
    const U normal = rne_shift<U>(a, I::FRAC - F::MBITS) - ((U)(I::BIAS - F::BIAS) << F::MBITS);
    const Real c = I::value((U)(EMIN - F::MBITS + I::FRAC + I::BIAS) << I::FRAC);
    const U subnormal = I::bits(I::add_rn(ax, c)) - I::bits(c);
    const U code = a < ((U)(EMIN + I::BIAS) << I::FRAC) ? subnormal : normal;
    return code > F::MAX_CODE ? F::MAX_CODE : (unsigned)code;
}

// ---------------------------------------------------------------------------
// 3. The per-block arithmetic.
// ---------------------------------------------------------------------------

// MX shared exponent se (the scale is 2^se, its E8M0 code se + 127) from the bits of
// amax = max |x| of a block, finite. floor(log2 amax) is amax's unbiased exponent.
//   FLOOR: se = floor(log2 amax) - EMAX.
//   RCEIL: amax = m * 2^e with 1 <= m < 2 and max = p * 2^EMAX: amax / 2^se <= max needs
//          se >= e - EMAX, and one more when m > p -- a comparison of fractions.
// Clamped to E8M0's [-127, 127]. A zero or subnormal amax (e <= -127) always clamps to -127,
// which is the spec's (and the reference's) scale for an all-zero block. The largest float32
// amax (e = 127) gives se <= 126, so 2^-se is a normal float32 (built from bits below).
template <class F>
__device__ __forceinline__ int mx_shared_exponent(unsigned amax, bool rceil)
{
    const int ef = (int)(amax >> 23);
    if (ef == 0) return -127;
    int se = ef - 127 - F::EMAX;
    if (rceil && (amax & 0x7fffffu) > F::RCEIL_FRAC) se += 1;
    return se < -127 ? -127 : (se > 127 ? 127 : se);
}

// One MX element: x * 2^-se rounded to F, the sign from the product's bit (so -0 stays -0, and
// a tiny negative value keeps its sign when it rounds to zero, as in the reference).
// __fmul_rn: one IEEE multiply, never fused into anything else.
template <class F>
__device__ __forceinline__ unsigned mx_encode(float x, float inv_scale)
{
    const float y = __fmul_rn(x, inv_scale);
    return ((__float_as_uint(y) >> 31) << (F::CODE_BITS - 1)) | encode_magnitude<F>(fabsf(y));
}

// NVFP4 block scale: the e4m3 code of amax / (6 g). 6 g is exact in double (a float32 times
// 6 needs 26 bits), the one division rounds the ratio to double, and the encoder rounds that
// once to e4m3 -- the reference's steps, so the same code. (It also equals rounding the exact
// ratio once: a 24-bit amax over a 26-bit 6g cannot land within 2^-53 of an e4m3 midpoint
// without being on it.) One float64 division per lane, not per element.
__device__ __forceinline__ unsigned nvfp4_scale_code(unsigned amax, float g)
{
    const double ratio = (double)__uint_as_float(amax) / (6.0 * (double)g);
    return encode_magnitude<E4M3>(ratio);
}

// Value of an e4m3 magnitude code as a float32, exactly: (8 + m) * 2^(e - 10) for an exponent
// field e >= 1, m * 2^-9 for e = 0 (a small integer times a normal power of two).
__device__ __forceinline__ float e4m3_value(unsigned code)
{
    const int e = (int)(code >> 3), m = (int)(code & 7);
    const float pow2 = __uint_as_float((unsigned)((e ? e : 1) - 10 + 127) << 23);
    return (float)(e ? 8 + m : m) * pow2;
}

// NVFP4 elements. e2m1 has 8 magnitudes 0, .5, 1, 1.5, 2, 3, 4, 6 (codes 0..7), so rounding
// |x| / d (d = s * g, the block's divisor) to nearest means finding how many of the 7 midpoints
// m_i = .25, .75, 1.25, 1.75, 2.5, 3.5, 5 it lies beyond: code = #{i : |x| / d beyond m_i},
// saturation (above 5 -> code 7 = 6) included. A tie sits exactly on m_i, between codes i and
// i+1, and goes to the even one: past an even-indexed midpoint only when strictly above it
// (>), past an odd-indexed one already when equal to it (>=).
// The quotient is never formed: |x| / d > m_i  <=>  |x| > T_i = m_i * s * g (exact reals).
// m_i * s is exact in float32 (3 + 4 significant bits), and one IEEE multiply by g rounded
// *outward* gives a float32 boundary that keeps the comparison with a float32 |x| exact:
//   |x| >  T  <=>  |x| >  round_down(T)     (no float32 lies strictly between the two)
//   |x| >= T  <=>  |x| >= round_up(T)
// (__fmul_rd / __fmul_ru: a T above FLT_MAX rounds down to FLT_MAX and up to +Inf, a T below
// the smallest subnormal down to 0 and up to 2^-149; every case stays right.) Float32 only: no
// per-element float64 division, which runs at 1/64 of the float32 rate on GeForce and T4-class
// GPUs. The reference divides in double and rounds that quotient; the two agree because a
// 24-bit x over a 28-bit d is never within 2^-53 of a midpoint without being on it.
struct Nvfp4Bounds {
    float t[7];  // t[i]: the float32 boundary of midpoint i, rounded down (i even) or up (i odd)
};

__device__ __forceinline__ Nvfp4Bounds nvfp4_bounds(unsigned scale_code, float g)
{
    const float s = e4m3_value(scale_code);
    const float mid[7] = {0.25f, 0.75f, 1.25f, 1.75f, 2.5f, 3.5f, 5.0f};
    Nvfp4Bounds b;
#pragma unroll
    for (int i = 0; i < 7; ++i) {
        const float ms = __fmul_rn(mid[i], s);  // exact
        b.t[i] = (i & 1) ? __fmul_ru(ms, g) : __fmul_rd(ms, g);
    }
    return b;
}

// The count as a binary search over the nested tests (beyond midpoint i implies beyond every
// midpoint below it): three comparisons give the code's three bits.
__device__ __forceinline__ unsigned nvfp4_encode(float x, const Nvfp4Bounds& b)
{
    const float ax = fabsf(x);
    const unsigned b2 = ax >= b.t[3];                          // beyond 1.75 (odd: >=): codes 4..7
    const unsigned b1 = ax >= (b2 ? b.t[5] : b.t[1]);          // beyond 3.5 or 0.75 (odd)
    const unsigned b0 = ax > (b2 ? (b1 ? b.t[6] : b.t[4])      // beyond 5, 2.5, 1.25, 0.25 (even: >)
                                 : (b1 ? b.t[2] : b.t[0]));
    return ((__float_as_uint(x) >> 31) << 3) | (b2 << 2) | (b1 << 1) | b0;
}

// ---------------------------------------------------------------------------
// 4. Moving the data: one 16-byte load per lane, a shuffle reduction, packed stores.
// ---------------------------------------------------------------------------

// VEC elements of X from element i (a multiple of VEC: 16-byte aligned), widened exactly to
// float32; zeros past the end, so a lane with no data joins its block's reduction harmlessly.
__device__ __forceinline__ void load_vec(const float* __restrict__ X, long long i, bool live, float (&v)[4])
{
    float4 q = make_float4(0.f, 0.f, 0.f, 0.f);
    if (live) q = __ldg(reinterpret_cast<const float4*>(X + i));
    v[0] = q.x; v[1] = q.y; v[2] = q.z; v[3] = q.w;
}

__device__ __forceinline__ void load_vec(const __half* __restrict__ X, long long i, bool live, float (&v)[8])
{
    uint4 q = make_uint4(0u, 0u, 0u, 0u);
    if (live) q = __ldg(reinterpret_cast<const uint4*>(X + i));
    const __half2* h = reinterpret_cast<const __half2*>(&q);
#pragma unroll
    for (int j = 0; j < 4; ++j) {
        const float2 f = __half22float2(h[j]);  // exact: every float16 is a float32
        v[2 * j] = f.x;
        v[2 * j + 1] = f.y;
    }
}

// max of |x| over the lane's values, as float32 bits: for non-negative floats the bit
// patterns order like the values, and Inf / NaN patterns are above every finite one, so an
// integer max finds the block's amax and flags a NaN or Inf (amax >= INF_BITS) in one go.
template <int VEC>
__device__ __forceinline__ unsigned abs_max_bits(const float (&v)[VEC])
{
    unsigned m = 0;
#pragma unroll
    for (int j = 0; j < VEC; ++j) m = max(m, __float_as_uint(v[j]) & ABS_MASK);
    return m;
}

// Max over each aligned group of LANES lanes (the lanes sharing one block); all 32 lanes
// take part, live or not, so the full mask is right.
template <int LANES>
__device__ __forceinline__ unsigned group_max(unsigned m)
{
#pragma unroll
    for (int off = LANES / 2; off > 0; off >>= 1) m = max(m, __shfl_xor_sync(FULL_MASK, m, off));
    return m;
}

// Store VEC codes of CODE_BITS each, code j at bit j * CODE_BITS of one little-endian word:
// for 4-bit codes that puts element 2j in the low nibble of byte j. i is the first element's
// index; the word is 2, 4 or 8 bytes and naturally aligned.
template <int VEC, int CODE_BITS>
__device__ __forceinline__ void store_codes(unsigned char* __restrict__ Q, long long i, const unsigned (&c)[VEC])
{
    unsigned long long w = 0;
#pragma unroll
    for (int j = 0; j < VEC; ++j) w |= (unsigned long long)c[j] << (j * CODE_BITS);
    constexpr int BYTES = VEC * CODE_BITS / 8;
    unsigned char* p = Q + i * CODE_BITS / 8;
    if constexpr (BYTES == 2) *reinterpret_cast<unsigned short*>(p) = (unsigned short)w;
    else if constexpr (BYTES == 4) *reinterpret_cast<unsigned*>(p) = (unsigned)w;
    else *reinterpret_cast<uint2*>(p) = make_uint2((unsigned)w, (unsigned)(w >> 32));
}

// ---------------------------------------------------------------------------
// 5. The kernels. Warp w of the grid takes elements [w * 32 * VEC, (w + 1) * 32 * VEC);
//    lane l takes VEC of them from w * 32 * VEC + l * VEC. BLOCK is a multiple of VEC and
//    n of BLOCK, so a block's lanes are all live or all past the end.
// ---------------------------------------------------------------------------

template <class F, typename T>
__device__ __forceinline__ void mx_quantize(const T* __restrict__ X, unsigned char* __restrict__ Q,
                                            unsigned char* __restrict__ S, long long n, int rceil)
{
    constexpr int BLOCK = 32, VEC = 16 / sizeof(T), LANES = BLOCK / VEC;
    const int lane = threadIdx.x & 31;
    const long long warp = (long long)blockIdx.x * WARPS + (threadIdx.x >> 5);
    const long long i = warp * (32 * VEC) + lane * VEC;
    const bool live = i < n;

    float v[VEC];
    load_vec(X, i, live, v);
    const unsigned amax = group_max<LANES>(abs_max_bits<VEC>(v));

    unsigned c[VEC];
    unsigned scale;
    if (amax >= INF_BITS) {  // NaN or Inf in the block: NaN scale, element codes 0
        scale = 0xFF;
#pragma unroll
        for (int j = 0; j < VEC; ++j) c[j] = 0;
    } else {
        const int se = mx_shared_exponent<F>(amax, rceil != 0);
        scale = (unsigned)(se + 127);
        const float inv_scale = __uint_as_float((unsigned)(127 - se) << 23);  // 2^-se, se in [-127, 126]
#pragma unroll
        for (int j = 0; j < VEC; ++j) c[j] = mx_encode<F>(v[j], inv_scale);
    }
    if (live) {
        store_codes<VEC, F::CODE_BITS>(Q, i, c);
        if (lane % LANES == 0) S[i / BLOCK] = (unsigned char)scale;
    }
}

template <typename T>
__device__ __forceinline__ void nvfp4_quantize(const T* __restrict__ X, unsigned char* __restrict__ Q,
                                               unsigned char* __restrict__ S, float g, long long n,
                                               unsigned* __restrict__ bad)
{
    constexpr int BLOCK = 16, VEC = 16 / sizeof(T), LANES = BLOCK / VEC;
    const int lane = threadIdx.x & 31;
    const long long warp = (long long)blockIdx.x * WARPS + (threadIdx.x >> 5);
    const long long i = warp * (32 * VEC) + lane * VEC;
    const bool live = i < n;

    float v[VEC];
    load_vec(X, i, live, v);
    const unsigned amax = group_max<LANES>(abs_max_bits<VEC>(v));

    unsigned c[VEC];
    unsigned scale = 0;
    if (amax >= INF_BITS) {
        if (live && lane % LANES == 0) atomicOr(bad, 1u);  // the launcher raises ValueError
    } else {
        scale = nvfp4_scale_code(amax, g);
    }
    if (scale == 0) {  // a zero scale (or a NaN block): all-zero codes, as the reference writes
#pragma unroll
        for (int j = 0; j < VEC; ++j) c[j] = 0;
    } else {
        const Nvfp4Bounds b = nvfp4_bounds(scale, g);
#pragma unroll
        for (int j = 0; j < VEC; ++j) c[j] = nvfp4_encode(v[j], b);
    }
    if (live) {
        store_codes<VEC, 4>(Q, i, c);
        if (lane % LANES == 0) S[i / BLOCK] = (unsigned char)scale;
    }
}

// max |x| of the whole tensor (the NVFP4 global scale's amax) as float32 bits: a grid-stride
// loop, a warp reduction, a CTA reduction through shared memory, and one atomicMax per CTA
// into *amax (zeroed by the launcher; the grid is capped at a few CTAs per SM, so the atomics
// on one address stay few). NaN or Inf anywhere leaves *amax >= INF_BITS.
template <typename T>
__device__ __forceinline__ void nvfp4_amax(const T* __restrict__ X, long long n, unsigned* __restrict__ amax)
{
    constexpr int VEC = 16 / sizeof(T);
    __shared__ unsigned warp_max[WARPS];
    unsigned m = 0;
    const long long stride = (long long)gridDim.x * THREADS * VEC;
    for (long long i = ((long long)blockIdx.x * THREADS + threadIdx.x) * VEC; i < n; i += stride) {
        float v[VEC];
        load_vec(X, i, true, v);
        m = max(m, abs_max_bits<VEC>(v));
    }
    m = group_max<32>(m);
    if ((threadIdx.x & 31) == 0) warp_max[threadIdx.x >> 5] = m;
    __syncthreads();
    if (threadIdx.x == 0) {
#pragma unroll
        for (int w = 1; w < WARPS; ++w) m = max(m, warp_max[w]);
        atomicMax(amax, m);
    }
}

#define MX_KERNEL(NAME, F, T)                                                                        \
    extern "C" __global__ void __launch_bounds__(THREADS)                                            \
    NAME(const T* __restrict__ X, unsigned char* __restrict__ Q, unsigned char* __restrict__ S,      \
         long long n, int rceil)                                                                     \
    {                                                                                                \
        mx_quantize<F, T>(X, Q, S, n, rceil);                                                        \
    }

MX_KERNEL(mx_quantize_e4m3_f32, E4M3, float)
MX_KERNEL(mx_quantize_e5m2_f32, E5M2, float)
MX_KERNEL(mx_quantize_e2m1_f32, E2M1, float)
MX_KERNEL(mx_quantize_e4m3_f16, E4M3, __half)
MX_KERNEL(mx_quantize_e5m2_f16, E5M2, __half)
MX_KERNEL(mx_quantize_e2m1_f16, E2M1, __half)

#define NVFP4_KERNELS(SUFFIX, T)                                                                     \
    extern "C" __global__ void __launch_bounds__(THREADS)                                            \
    nvfp4_quantize_##SUFFIX(const T* __restrict__ X, unsigned char* __restrict__ Q,                  \
                            unsigned char* __restrict__ S, float g, long long n, unsigned* bad)      \
    {                                                                                                \
        nvfp4_quantize<T>(X, Q, S, g, n, bad);                                                       \
    }                                                                                                \
    extern "C" __global__ void __launch_bounds__(THREADS)                                            \
    nvfp4_amax_##SUFFIX(const T* __restrict__ X, long long n, unsigned* amax)                        \
    {                                                                                                \
        nvfp4_amax<T>(X, n, amax);                                                                   \
    }

NVFP4_KERNELS(f32, float)
NVFP4_KERNELS(f16, __half)
