/* Segmented multi-adapter LoRA (Punica's SGMV): the adapted tokens of a step
 * are grouped by adapter into segments; each segment is one shrink (X_seg ·
 * A^T) and one expand (· B^T), so an adapter's A and B are read once per
 * segment rather than once per token (prefill chunks: hundreds of tokens of
 * one adapter). Reference: the CPU adapter hooks (inference/adapter.c
 * hook_lora), which group the same way.
 *
 * Both kernels tile a segment by SG_TILE tokens (grid (n_seg, tiles of the
 * longest segment, ...); a block past its own segment's end returns at once),
 * so an adapter's A and B are read from memory once per tile, not per token.
 * The first version (a warp per rank row walking the segment's tokens one by
 * one) ran at 54 GB/s on an H100 (G4, 2026-11-23) and made a 512-adapter
 * PreFT run no faster than all-token.
 *
 * shrink: grid z = rank chunks of SG_RC; 8 warps, 4 tokens each; A's chunk
 *         (SG_RC ranks x SG_KC inputs) staged in shared memory;
 *         tmp[j][r] = scale * x[tok_j] . A[r].
 * expand: grid z = output columns / 256, a thread per column; the tile's
 *         tmp rows in shared memory, Bt's column in registers SG_RC ranks at
 *         a time; y[tok_j][o] += sum_r tmp[j][r] Bt[r][o]. */
#include "kernels/cuda/cuda_common.cuh"

#define SG_TILE 32 /* tokens per block */
#define SG_RC 16   /* ranks per shrink block / per register chunk */
#define SG_KC 128  /* input columns per shared-memory stage */
#define SG_TPW (SG_TILE / 8) /* tokens per warp in the shrink */

__global__ void __launch_bounds__(256)
    sgmv_shrink_kernel(const float *x, int in_dim, const int32_t *seg_start,
                       const int32_t *seg_tok, const int32_t *seg_slot,
                       const pgr_cu_lora *const *tabs, int site_idx, int max_rank, float *tmp)
{
    __shared__ float As[SG_RC][SG_KC];
    const int g = blockIdx.x, lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int s1 = seg_start[g + 1], j0 = seg_start[g] + (int)blockIdx.y * SG_TILE;
    const int r0 = (int)blockIdx.z * SG_RC;
    if (j0 >= s1)
        return; /* the whole block: before any barrier */
    const pgr_cu_lora L = tabs[seg_slot[g]][site_idx];
    if (!L.A || r0 >= L.rank)
        return;
    const int nr = L.rank - r0 < SG_RC ? L.rank - r0 : SG_RC;
    const float *xr[SG_TPW];
#pragma unroll
    for (int u = 0; u < SG_TPW; u++) {
        const int j = j0 + warp * SG_TPW + u;
        xr[u] = j < s1 ? x + (size_t)seg_tok[j] * in_dim : NULL;
    }
    float acc[SG_TPW][SG_RC];
#pragma unroll
    for (int u = 0; u < SG_TPW; u++)
#pragma unroll
        for (int r = 0; r < SG_RC; r++)
            acc[u][r] = 0.0f;
    for (int c0 = 0; c0 < in_dim; c0 += SG_KC) {
        for (int e = threadIdx.x; e < SG_RC * SG_KC; e += blockDim.x) {
            const int r = e / SG_KC, i = c0 + e % SG_KC;
            As[r][e % SG_KC] = r < nr && i < in_dim ? L.A[(size_t)(r0 + r) * in_dim + i] : 0.0f;
        }
        __syncthreads();
#pragma unroll
        for (int q = 0; q < SG_KC / 32; q++) {
            const int i = c0 + lane + 32 * q;
            float xv[SG_TPW];
#pragma unroll
            for (int u = 0; u < SG_TPW; u++)
                xv[u] = xr[u] && i < in_dim ? xr[u][i] : 0.0f;
#pragma unroll
            for (int r = 0; r < SG_RC; r++) {
                const float a = As[r][lane + 32 * q];
#pragma unroll
                for (int u = 0; u < SG_TPW; u++)
                    acc[u][r] = fmaf(xv[u], a, acc[u][r]);
            }
        }
        __syncthreads();
    }
#pragma unroll
    for (int u = 0; u < SG_TPW; u++)
#pragma unroll
        for (int r = 0; r < SG_RC; r++) {
            const float v = warp_sum(acc[u][r]);
            const int j = j0 + warp * SG_TPW + u;
            if (lane == 0 && xr[u] && r < nr)
                tmp[(size_t)j * max_rank + r0 + r] = L.scale * v;
        }
}

__global__ void __launch_bounds__(256)
    sgmv_expand_kernel(float *y, int out_dim, const int32_t *seg_start, const int32_t *seg_tok,
                       const int32_t *seg_slot, const pgr_cu_lora *const *tabs, int site_idx,
                       int max_rank, const float *tmp)
{
    extern __shared__ float vs[]; /* (SG_TILE, rank rounded up to SG_RC) */
    const int g = blockIdx.x, o = (int)blockIdx.z * blockDim.x + threadIdx.x;
    const int s1 = seg_start[g + 1], j0 = seg_start[g] + (int)blockIdx.y * SG_TILE;
    if (j0 >= s1)
        return;
    const pgr_cu_lora L = tabs[seg_slot[g]][site_idx];
    if (!L.A)
        return;
    const int nt = s1 - j0 < SG_TILE ? s1 - j0 : SG_TILE;
    const int rs = (L.rank + SG_RC - 1) / SG_RC * SG_RC;
    for (int e = threadIdx.x; e < SG_TILE * rs; e += blockDim.x) {
        const int t = e / rs, r = e % rs;
        vs[e] = t < nt && r < L.rank ? tmp[(size_t)(j0 + t) * max_rank + r] : 0.0f;
    }
    __syncthreads();
    if (o >= out_dim)
        return;
    float acc[SG_TILE];
#pragma unroll
    for (int t = 0; t < SG_TILE; t++)
        acc[t] = 0.0f;
    for (int c = 0; c < rs; c += SG_RC) {
        float b[SG_RC];
#pragma unroll
        for (int k = 0; k < SG_RC; k++)
            b[k] = c + k < L.rank ? L.Bt[(size_t)(c + k) * out_dim + o] : 0.0f;
#pragma unroll
        for (int t = 0; t < SG_TILE; t++)
#pragma unroll
            for (int k = 0; k < SG_RC; k++)
                acc[t] = fmaf(vs[t * rs + c + k], b[k], acc[t]);
    }
#pragma unroll
    for (int t = 0; t < SG_TILE; t++)
        if (t < nt)
            y[(size_t)seg_tok[j0 + t] * out_dim + o] += acc[t];
}

extern "C" int pgr_cu_lora_sgmv(const float *d_x, int in_dim, float *d_y, int out_dim, int n_seg,
                                int max_seg_len, const int32_t *d_seg_start,
                                const int32_t *d_seg_tok, const int32_t *d_seg_slot,
                                const pgr_cu_lora *const *d_tabs, int site_idx, int max_rank,
                                float *d_tmp, void *stream, pgr_err *err)
{
    const int tiles = (max_seg_len + SG_TILE - 1) / SG_TILE;
    const int rs = (max_rank + SG_RC - 1) / SG_RC * SG_RC;
    ARG_CHECK(n_seg > 0 && max_seg_len > 0 && in_dim > 0 && out_dim > 0 && max_rank > 0 &&
                  max_rank <= 256 && tiles <= 65535 && out_dim / 256 < 65535,
              "cuda lora_sgmv: %d segments (longest %d), in %d, out %d, rank %d (at most 256)",
              n_seg, max_seg_len, in_dim, out_dim, max_rank);
    {
        dim3 g1((unsigned)n_seg, (unsigned)tiles, (unsigned)(rs / SG_RC));
        sgmv_shrink_kernel<<<g1, 256, 0, CU_STREAM(stream)>>>(
            d_x, in_dim, d_seg_start, d_seg_tok, d_seg_slot, d_tabs, site_idx, max_rank, d_tmp);
        LAUNCHED("sgmv_shrink_kernel");
        dim3 g2((unsigned)n_seg, (unsigned)tiles, cu_blocks((size_t)out_dim, 256));
        sgmv_expand_kernel<<<g2, 256, (size_t)SG_TILE * rs * sizeof(float), CU_STREAM(stream)>>>(
            d_y, out_dim, d_seg_start, d_seg_tok, d_seg_slot, d_tabs, site_idx, max_rank, d_tmp);
        LAUNCHED("sgmv_expand_kernel");
    }
    return 0;
cleanup:
    return -1;
}
