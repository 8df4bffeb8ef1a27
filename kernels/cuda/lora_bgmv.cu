/* Per-token multi-adapter LoRA (Punica's BGMV): each token gathers its own
 * adapter's A and B. For all-token decode steps, where the tokens of a step
 * mostly belong to different adapters and a segment would hold one token.
 * Reference: the CPU adapter hooks (inference/adapter.c hook_lora):
 *   v = scale * (x[t] · A^T) (rank), y[t] += v · B^T.
 * One block of 256 threads per token: warps compute v (one rank row per warp
 * at a time, coalesced over in_dim), then threads add their outputs (Bt is
 * (rank, out): coalesced over out). */
#include "kernels/cuda/cuda_common.cuh"

__global__ void lora_bgmv_kernel(const float *x, int in_dim, float *y, int out_dim,
                                 const int32_t *slot, const pgr_cu_lora *const *tabs,
                                 int site_idx)
{
    extern __shared__ float v[]; /* (rank) */
    const int t = blockIdx.x, s = slot[t];
    if (s < 0)
        return;
    const pgr_cu_lora L = tabs[s][site_idx];
    if (!L.A)
        return; /* the whole block leaves: no barrier is skipped by some threads only */
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    const float *xr = x + (size_t)t * in_dim;
    for (int r = warp; r < L.rank; r += nw) {
        const float *a = L.A + (size_t)r * in_dim;
        float acc = 0.0f;
        for (int i = lane; i < in_dim; i += 32)
            acc = fmaf(xr[i], a[i], acc);
        acc = warp_sum(acc);
        if (lane == 0)
            v[r] = L.scale * acc;
    }
    __syncthreads();
    float *yr = y + (size_t)t * out_dim;
    for (int o = threadIdx.x; o < out_dim; o += blockDim.x) {
        float acc = 0.0f;
        for (int r = 0; r < L.rank; r++)
            acc = fmaf(v[r], L.Bt[(size_t)r * out_dim + o], acc);
        yr[o] += acc;
    }
}

extern "C" int pgr_cu_lora_bgmv(const float *d_x, int in_dim, float *d_y, int out_dim, int n_tok,
                                const int32_t *d_slot, const pgr_cu_lora *const *d_tabs,
                                int site_idx, int max_rank, void *stream, pgr_err *err)
{
    ARG_CHECK(n_tok > 0 && in_dim > 0 && out_dim > 0 && max_rank > 0 && max_rank <= 8192,
              "cuda lora_bgmv: %d tokens, in %d, out %d, rank %d", n_tok, in_dim, out_dim,
              max_rank);
    lora_bgmv_kernel<<<(unsigned)n_tok, 256, (size_t)max_rank * sizeof(float),
                       CU_STREAM(stream)>>>(d_x, in_dim, d_y, out_dim, d_slot, d_tabs, site_idx);
    LAUNCHED("lora_bgmv_kernel");
    return 0;
cleanup:
    return -1;
}
