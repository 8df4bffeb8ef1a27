/* SwiGLU backward: act = silu(g) u, silu'(g) = s(g) (1 + g (1 - s(g))):
 *   du += dact g s(g);  dg += dact u s(g) (1 + g (1 - s(g))).
 * Reference: pgr_tr_swiglu_bwd (the same float expression). Memory bound. */
#include "kernels/cuda/train_common.cuh"

__global__ void swiglu_bwd_kernel(const float *g, const float *u, const float *dact, float *dg,
                                  float *du, size_t n)
{
    const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n)
        return;
    const float x = g[i], sg = 1.0f / (1.0f + expf(-x));
    du[i] += dact[i] * x * sg;
    dg[i] += dact[i] * u[i] * sg * (1.0f + x * (1.0f - sg));
}

extern "C" int pgr_cu_swiglu_bwd(const float *d_g, const float *d_u, const float *d_dact,
                                 float *d_dg, float *d_du, size_t n, void *stream, pgr_err *err)
{
    ARG_CHECK(n > 0 && n / 256 < (size_t)1 << 31, "cuda swiglu_bwd: %zu elements", n);
    swiglu_bwd_kernel<<<cu_blocks(n, 256), 256, 0, CU_STREAM(stream)>>>(d_g, d_u, d_dact, d_dg,
                                                                        d_du, n);
    LAUNCHED("swiglu_bwd_kernel");
    return 0;
cleanup:
    return -1;
}
