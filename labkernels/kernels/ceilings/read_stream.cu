// read_stream — the fastest this GPU reads a given number of bytes once: the memory floor of a
// memory-bound kernel of that size, beside the copy bandwidth (1 GiB, read + written) that the
// roofline uses.
//
// Each thread issues UNROLL independent 16-byte loads (HINT = 1: the GEMVs' streaming load,
// ld.global.nc.L1::no_allocate.L2::256B; 0: plain ld.global.nc) and folds them into one word,
// so nothing but the reads costs time. A small buffer is read in one short wave: its time is
// the bytes at full bandwidth plus the fixed cost of a launch, its ramp-up (the first loads
// travel the whole latency before the pipe is full) and its tail (the last loads do too).
// That fixed cost, not the bandwidth, is what a 34 MB GEMV (a W4 8192 x 8192 matrix, ~12 us at
// full bandwidth) cannot avoid.
//
// Defines: UNROLL (default 2), HINT (default 1).
#ifndef UNROLL
#define UNROLL 2
#endif
#ifndef HINT
#define HINT 1
#endif
#include "lab.cuh"

extern "C" __global__ void read_stream(const uint4* __restrict__ p, long long n16, int* __restrict__ sink)
{
    unsigned acc = 0;
    const long long step = (long long)gridDim.x * blockDim.x * UNROLL;
    for (long long i = (long long)blockIdx.x * blockDim.x * UNROLL + threadIdx.x; i < n16; i += step) {
        uint4 v[UNROLL];
#pragma unroll
        for (int u = 0; u < UNROLL; ++u) {
            const long long j = i + (long long)u * blockDim.x;
            v[u] = j < n16 ? ldg_weights16(p + j) : make_uint4(0, 0, 0, 0);
        }
#pragma unroll
        for (int u = 0; u < UNROLL; ++u) acc ^= v[u].x ^ v[u].y ^ v[u].z ^ v[u].w;
    }
    if (acc == 0x7fffffffu) *sink = (int)acc;  // practically never: keeps the loads alive
}

// The fixed cost alone: a launch of the same grid that reads nothing.
extern "C" __global__ void empty_kernel(int* __restrict__ sink)
{
    if (threadIdx.x == 1u << 30) *sink = 0;
}
