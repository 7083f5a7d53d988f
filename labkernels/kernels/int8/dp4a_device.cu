// dp4a_device — one CUDA C device function for Numba to call (v01_dp4a_numba).
//
// Numba has no dp4a intrinsic; cuda.declare_device + link= compiles this file with
// NVRTC and links it into the Numba kernel. Numba's calling convention: the result
// goes through the first pointer argument, the return value is a status (0 = ok).
extern "C" __device__ int dp4a_s32(int* result, int a, int b, int c)
{
    *result = __dp4a(a, b, c);  // c + sum of the four signed byte products of a and b
    return 0;
}
