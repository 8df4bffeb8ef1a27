/* Segmented multi-adapter LoRA (Punica's SGMV): the adapted tokens of a step
 * are grouped by adapter into segments; each segment is one shrink (X_seg ·
 * A^T) and one expand (· B^T), so an adapter's A and B are read once per
 * segment rather than once per token (prefill chunks: hundreds of tokens of
 * one adapter). Reference: the CPU adapter hooks (inference/adapter.c
 * hook_lora), which group the same way.
 *
 * shrink: grid (n_seg, ceil(max_rank / 8)), 8 warps, one rank row per warp,
 *         looping over the segment's tokens (A's row stays in L1);
 *         tmp[j][r] = scale * x[tok_j] · A[r].
 * expand: grid (n_seg, ceil(out / 256)), a thread per output column looping
 *         over the segment's tokens: y[tok_j][o] += sum_r tmp[j][r] Bt[r][o]. */
#include "kernels/cuda/cuda_common.cuh"

#define SG_WARPS 8

__global__ void sgmv_shrink_kernel(const float *x, int in_dim, const int32_t *seg_start,
                                   const int32_t *seg_tok, const int32_t *seg_slot,
                                   const pgr_cu_lora *const *tabs, int site_idx, int max_rank,
                                   float *tmp)
{
    const int g = blockIdx.x, lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const pgr_cu_lora L = tabs[seg_slot[g]][site_idx];
    const int r = blockIdx.y * SG_WARPS + warp;
    if (!L.A || r >= L.rank)
        return; /* no barriers in this kernel */
    const float *a = L.A + (size_t)r * in_dim;
    for (int j = seg_start[g]; j < seg_start[g + 1]; j++) {
        const float *xr = x + (size_t)seg_tok[j] * in_dim;
        float acc = 0.0f;
        for (int i = lane; i < in_dim; i += 32)
            acc = fmaf(xr[i], a[i], acc);
        acc = warp_sum(acc);
        if (lane == 0)
            tmp[(size_t)j * max_rank + r] = L.scale * acc;
    }
}

__global__ void sgmv_expand_kernel(float *y, int out_dim, const int32_t *seg_start,
                                   const int32_t *seg_tok, const int32_t *seg_slot,
                                   const pgr_cu_lora *const *tabs, int site_idx, int max_rank,
                                   const float *tmp)
{
    const int g = blockIdx.x, o = blockIdx.y * blockDim.x + threadIdx.x;
    const pgr_cu_lora L = tabs[seg_slot[g]][site_idx];
    if (!L.A || o >= out_dim)
        return;
    for (int j = seg_start[g]; j < seg_start[g + 1]; j++) {
        const float *v = tmp + (size_t)j * max_rank;
        float acc = 0.0f;
        for (int r = 0; r < L.rank; r++)
            acc = fmaf(v[r], L.Bt[(size_t)r * out_dim + o], acc);
        y[(size_t)seg_tok[j] * out_dim + o] += acc;
    }
}

extern "C" int pgr_cu_lora_sgmv(const float *d_x, int in_dim, float *d_y, int out_dim, int n_seg,
                                const int32_t *d_seg_start, const int32_t *d_seg_tok,
                                const int32_t *d_seg_slot, const pgr_cu_lora *const *d_tabs,
                                int site_idx, int max_rank, float *d_tmp, void *stream,
                                pgr_err *err)
{
    ARG_CHECK(n_seg > 0 && in_dim > 0 && out_dim > 0 && max_rank > 0 &&
                  (max_rank + SG_WARPS - 1) / SG_WARPS <= 65535 && out_dim / 256 < 65535,
              "cuda lora_sgmv: %d segments, in %d, out %d, rank %d", n_seg, in_dim, out_dim,
              max_rank);
    {
        dim3 g1((unsigned)n_seg, (unsigned)((max_rank + SG_WARPS - 1) / SG_WARPS));
        sgmv_shrink_kernel<<<g1, 32 * SG_WARPS, 0, CU_STREAM(stream)>>>(
            d_x, in_dim, d_seg_start, d_seg_tok, d_seg_slot, d_tabs, site_idx, max_rank, d_tmp);
        LAUNCHED("sgmv_shrink_kernel");
        dim3 g2((unsigned)n_seg, cu_blocks((size_t)out_dim, 256));
        sgmv_expand_kernel<<<g2, 256, 0, CU_STREAM(stream)>>>(
            d_y, out_dim, d_seg_start, d_seg_tok, d_seg_slot, d_tabs, site_idx, max_rank, d_tmp);
        LAUNCHED("sgmv_expand_kernel");
    }
    return 0;
cleanup:
    return -1;
}
