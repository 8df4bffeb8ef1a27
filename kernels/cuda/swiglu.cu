/* SwiGLU: out = silu(gate) * up = gate / (1 + exp(-gate)) * up; out may equal
 * gate. Reference: pgr_kernels_ref()->swiglu. Memory bound. */
#include "kernels/cuda/cuda_common.cuh"

__global__ void swiglu_kernel(const float *g, const float *u, float *out, size_t n)
{
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        const float x = g[i];
        out[i] = x / (1.0f + expf(-x)) * u[i];
    }
}

extern "C" int pgr_cu_swiglu(const float *d_gate, const float *d_up, float *d_out, size_t n,
                             void *stream, pgr_err *err)
{
    ARG_CHECK(n > 0 && n / 256 < (size_t)1 << 31, "cuda swiglu: %zu elements", n);
    swiglu_kernel<<<cu_blocks(n, 256), 256, 0, CU_STREAM(stream)>>>(d_gate, d_up, d_out, n);
    LAUNCHED("swiglu_kernel");
    return 0;
cleanup:
    return -1;
}
