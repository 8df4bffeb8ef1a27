/* Writes k, v (n_tok, kv_dim) into the paged fp16 cache at each token's
 * position: slot = tabs[tab_off[t] + pos / block_size] * block_size + pos %
 * block_size. Round to nearest even (__float2half_rn), as pgr_f32_to_f16.
 * Reference: pgr_kernels_ref()->kv_store (bit-exact). Padding (pos < 0) is
 * skipped. */
#include "kernels/cuda/cuda_common.cuh"

__global__ void kv_store_kernel(__half *kc, __half *vc, const float *k, const float *v,
                                const int32_t *pos, const int32_t *tab_off, const int32_t *tabs,
                                int block_size, int kv_dim)
{
    const int t = blockIdx.x, p = pos[t];
    if (p < 0)
        return;
    const size_t slot =
        (size_t)tabs[tab_off[t] + p / block_size] * (size_t)block_size + (size_t)(p % block_size);
    for (int i = threadIdx.x; i < kv_dim; i += blockDim.x) {
        kc[slot * kv_dim + i] = __float2half_rn(k[(size_t)t * kv_dim + i]);
        vc[slot * kv_dim + i] = __float2half_rn(v[(size_t)t * kv_dim + i]);
    }
}

extern "C" int pgr_cu_kv_store(uint16_t *d_kc, uint16_t *d_vc, const float *d_k,
                               const float *d_v, int n_tok, const int32_t *d_pos,
                               const int32_t *d_tab_off, const int32_t *d_tabs, int block_size,
                               int kv_dim, void *stream, pgr_err *err)
{
    ARG_CHECK(n_tok > 0 && block_size > 0 && kv_dim > 0, "cuda kv_store: %d tokens, block %d, kv_dim %d",
              n_tok, block_size, kv_dim);
    kv_store_kernel<<<(unsigned)n_tok, 128, 0, CU_STREAM(stream)>>>(
        (__half *)d_kc, (__half *)d_vc, d_k, d_v, d_pos, d_tab_off, d_tabs, block_size, kv_dim);
    LAUNCHED("kv_store_kernel");
    return 0;
cleanup:
    return -1;
}
