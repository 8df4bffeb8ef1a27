/* LoReFT / DiReFT interventions on the residual stream, per token with its
 * own adapter: u = W h + b (- R h for LoReFT), h += R^T u.
 * Reference: the CPU adapter hooks (inference/adapter.c hook_reft), which
 * compute every u[r] from the unchanged h before adding.
 * One block of 256 threads per token: h is copied to shared memory, warps
 * compute u (one rank row per warp at a time), then threads update h
 * (R is (rank, dim): coalesced over dim). */
#include "kernels/cuda/cuda_common.cuh"

__global__ void reft_kernel(float *h, int dim, const int32_t *slot, const pgr_cu_reft *const *tabs,
                            int layer)
{
    extern __shared__ float sh[]; /* hs (dim), u (rank) */
    const int t = blockIdx.x, s = slot[t];
    if (s < 0)
        return;
    const pgr_cu_reft F = tabs[s][layer];
    if (!F.R)
        return; /* whole block: no divergent barrier */
    float *hs = sh, *u = sh + dim;
    float *hr = h + (size_t)t * dim;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    for (int d = threadIdx.x; d < dim; d += blockDim.x)
        hs[d] = hr[d];
    __syncthreads();
    for (int r = warp; r < F.rank; r += nw) {
        const float *w = F.W + (size_t)r * dim, *rr = F.R + (size_t)r * dim;
        float wh = 0.0f, rh = 0.0f;
        for (int d = lane; d < dim; d += 32) {
            wh = fmaf(w[d], hs[d], wh);
            if (F.loreft)
                rh = fmaf(rr[d], hs[d], rh);
        }
        wh = warp_sum(wh);
        rh = warp_sum(rh);
        if (lane == 0)
            u[r] = F.loreft ? (wh + F.b[r]) - rh : wh + F.b[r];
    }
    __syncthreads();
    for (int d = threadIdx.x; d < dim; d += blockDim.x) {
        float acc = 0.0f;
        for (int r = 0; r < F.rank; r++)
            acc = fmaf(u[r], F.R[(size_t)r * dim + d], acc);
        hr[d] = hs[d] + acc;
    }
}

extern "C" int pgr_cu_reft_apply(float *d_h, int dim, int n_tok, const int32_t *d_slot,
                           const pgr_cu_reft *const *d_tabs, int layer, int max_rank,
                           void *stream, pgr_err *err)
{
    ARG_CHECK(n_tok > 0 && dim > 0 && max_rank > 0 && dim + max_rank <= 12288,
              "cuda reft: %d tokens, dim %d, rank %d (dim + rank <= 12288)", n_tok, dim,
              max_rank);
    reft_kernel<<<(unsigned)n_tok, 256, (size_t)(dim + max_rank) * sizeof(float),
                  CU_STREAM(stream)>>>(d_h, dim, d_slot, d_tabs, layer);
    LAUNCHED("reft_kernel");
    return 0;
cleanup:
    return -1;
}
