/* RoPE on q and k and the paged KV store in one launch: the decode step's
 * three small kernels after the q/k/v projections (rope.cu on q, on k, then
 * kv_store.cu) fused, so that a batch-1 step pays one launch and one ramp
 * per layer for them instead of three. The arithmetic is that of the two
 * kernels it replaces, in the same order: each pair rotated by the angle
 * rope.cu builds (theta by repeated multiplication by base^(-2/d), the
 * factor computed on the host), then k and v rounded to fp16 to nearest even
 * at slot tabs[tab_off[t] + pos / block_size] * block_size + pos %
 * block_size. q and k are rotated in place, as rope.cu leaves them. Padding
 * tokens (pos < 0) are rotated and not stored, as before. Reference:
 * pgr_kernels_ref()->rope then ->kv_store (test_rope_kv_store).
 *
 * One block per token, one thread per rotation pair (head_dim / 2 threads,
 * rounded up to a warp); each thread walks the heads. */
#include <math.h>

#include "kernels/cuda/cuda_common.cuh"

__global__ void rope_kv_kernel(float *q, float *k, const float *v, __half *kc, __half *vc,
                               const int32_t *pos, const int32_t *tab_off, const int32_t *tabs,
                               int block_size, int n_head, int n_kv_head, int head_dim,
                               float theta_scale)
{
    const int t = blockIdx.x, i = threadIdx.x; /* pair i: elements 2i, 2i+1 */
    if (2 * i >= head_dim)
        return;
    const int p = pos[t];
    float c, s;
    rope_cos_sin(p, i, theta_scale, &c, &s);
    for (int h = 0; h < n_head; h++)
        rope_rotate(q + ((size_t)t * n_head + h) * head_dim + 2 * i, c, s);
    const int kv_dim = n_kv_head * head_dim;
    size_t slot = 0;
    if (p >= 0)
        slot = (size_t)tabs[tab_off[t] + p / block_size] * (size_t)block_size +
               (size_t)(p % block_size);
    for (int h = 0; h < n_kv_head; h++) {
        const size_t e = (size_t)h * head_dim + 2 * i; /* element within the token's row */
        float *x = k + (size_t)t * kv_dim + e;
        rope_rotate(x, c, s);
        if (p >= 0) {
            const float *vv = v + (size_t)t * kv_dim + e;
            kc[slot * kv_dim + e] = __float2half_rn(x[0]);
            kc[slot * kv_dim + e + 1] = __float2half_rn(x[1]);
            vc[slot * kv_dim + e] = __float2half_rn(vv[0]);
            vc[slot * kv_dim + e + 1] = __float2half_rn(vv[1]);
        }
    }
}

extern "C" int pgr_cu_rope_kv_store(float *d_q, float *d_k, const float *d_v, uint16_t *d_kc,
                                    uint16_t *d_vc, int n_tok, const int32_t *d_pos,
                                    const int32_t *d_tab_off, const int32_t *d_tabs,
                                    int block_size, int n_head, int n_kv_head, int head_dim,
                                    float theta_base, void *stream, pgr_err *err)
{
    const float theta_scale = powf(theta_base, -2.0f / (float)head_dim);
    ARG_CHECK(n_tok > 0 && n_head > 0 && n_kv_head > 0 && block_size > 0 && head_dim >= 2 &&
                  head_dim % 2 == 0 && head_dim <= 2048,
              "cuda rope_kv_store: %d tokens, %d/%d heads of %d, block %d", n_tok, n_head,
              n_kv_head, head_dim, block_size);
    {
        const unsigned threads = (unsigned)((head_dim / 2 + 31) / 32 * 32);
        rope_kv_kernel<<<(unsigned)n_tok, threads, 0, CU_STREAM(stream)>>>(
            d_q, d_k, d_v, (__half *)d_kc, (__half *)d_vc, d_pos, d_tab_off, d_tabs, block_size,
            n_head, n_kv_head, head_dim, theta_scale);
        LAUNCHED("rope_kv_kernel");
    }
    return 0;
cleanup:
    return -1;
}
