/* Cross-entropy of logits against targets, per row, with the gradient of
 * gscale * loss written over (or beside) the logits:
 *   loss_t = logsumexp(l_t) - l_t[target_t],
 *   dl_t = (softmax(l_t) - onehot(target_t)) * gscale.
 * Reference: pgr_tr_xent (inference/train_ops.c): the exponentials and the
 * sum in double there and here. One block of 256 threads per row; every
 * thread reads its elements before any is overwritten (the block sums'
 * barriers), so dlogits may alias logits. */
#include <math.h>

#include "kernels/cuda/train_common.cuh"

__global__ void xent_kernel(const float *logits, const int32_t *target, float *dlogits,
                            double *loss, int V, float gscale)
{
    __shared__ float red[32];
    __shared__ double redd[32];
    __shared__ float lt;
    const size_t off = (size_t)blockIdx.x * V;
    const float *l = logits + off;
    const int tg = target[blockIdx.x];
    if (threadIdx.x == 0)
        lt = l[tg];
    float mx = -INFINITY;
    for (int i = threadIdx.x; i < V; i += blockDim.x)
        mx = fmaxf(mx, l[i]);
    mx = block_max(mx, red);
    double sum = 0;
    for (int i = threadIdx.x; i < V; i += blockDim.x)
        sum += exp((double)(l[i] - mx));
    sum = block_sum_d(sum, redd);
    const double lse = log(sum) + mx;
    if (threadIdx.x == 0)
        loss[blockIdx.x] = lse - lt;
    if (!dlogits)
        return;
    float *g = dlogits + off;
    for (int i = threadIdx.x; i < V; i += blockDim.x) {
        const float p = (float)exp((double)l[i] - lse) * gscale;
        g[i] = i == tg ? p - gscale : p;
    }
}

extern "C" int pgr_cu_xent(const float *d_logits, const int32_t *d_target, float *d_dlogits,
                           double *d_loss, int n, int V, float gscale, void *stream, pgr_err *err)
{
    ARG_CHECK(n > 0 && V > 0, "cuda xent: %d rows of %d", n, V);
    xent_kernel<<<(unsigned)n, 256, 0, CU_STREAM(stream)>>>(d_logits, d_target, d_dlogits, d_loss,
                                                            V, gscale);
    LAUNCHED("xent_kernel");
    return 0;
cleanup:
    return -1;
}
