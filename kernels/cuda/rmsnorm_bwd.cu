/* RMSNorm backward: y_i = x_i r w_i, r = (mean(x^2) + eps)^-1/2:
 *   dx_j += r w_j dy_j - x_j r^3 / d * sum_i dy_i w_i x_i.
 * Reference: pgr_tr_rmsnorm_bwd (inference/train_ops.c), whose row sums are
 * in double, as here. One block of 256 threads per token. */
#include "kernels/cuda/train_common.cuh"

__global__ void rmsnorm_bwd_kernel(const float *x, const float *w, const float *dy, float *dx,
                                   int d, float eps)
{
    __shared__ double sh[32];
    const size_t off = (size_t)blockIdx.x * d;
    const float *xr = x + off, *g = dy + off;
    float *o = dx + off;
    double ss = 0, s = 0;
    for (int i = threadIdx.x; i < d; i += blockDim.x) {
        ss += (double)(xr[i] * xr[i]);
        s += (double)g[i] * w[i] * xr[i];
    }
    ss = block_sum_d(ss, sh);
    s = block_sum_d(s, sh);
    const float r = 1.0f / sqrtf((float)(ss / d) + eps);
    const float c = (float)(s * r * r * r / d);
    for (int i = threadIdx.x; i < d; i += blockDim.x)
        o[i] += r * w[i] * g[i] - xr[i] * c;
}

extern "C" int pgr_cu_rmsnorm_bwd(const float *d_x, const float *d_w, const float *d_dy,
                                  float *d_dx, int n, int d, float eps, void *stream, pgr_err *err)
{
    ARG_CHECK(n > 0 && d > 0, "cuda rmsnorm_bwd: %d tokens of %d", n, d);
    rmsnorm_bwd_kernel<<<(unsigned)n, 256, 0, CU_STREAM(stream)>>>(d_x, d_w, d_dy, d_dx, d, eps);
    LAUNCHED("rmsnorm_bwd_kernel");
    return 0;
cleanup:
    return -1;
}
