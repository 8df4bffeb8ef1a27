/* Paged grouped-query attention: out (n_tok, n_head * head_dim), token t
 * attends over positions 0..pos[t] of its own sequence through its block
 * table, softmax(q·k * scale) · v, head h reading kv head h / (n_head /
 * n_kv_head). The same kernel serves prefill chunks (many tokens of one
 * sequence, each with its own causal length) and decode (one token per
 * sequence over the whole block table).
 *
 * Reference: pgr_kernels_ref()->attention. Like it, q is rounded to fp16
 * first (llama.cpp's cache dot products are fp16 x fp16); unlike it, the
 * softmax is online (one pass, flash-decoding style) and the probabilities
 * are not rounded to fp16, so results agree to about 1e-3 relative.
 *
 * Layout: one block of ATT_WARPS warps per (token, head). Warp w takes
 * positions w, w + ATT_WARPS, ...; per position the 32 lanes read the key's
 * head_dim halves coalesced (lane + 32 i), reduce the dot product with
 * shuffles and keep a running max, sum and output slice (head_dim / 32 values
 * per lane). The warps' partial results are merged through shared memory.
 * head_dim <= 256 (8 values per lane), a multiple of 32. A prefill tile
 * kernel (K/V blocks in shared memory, reused by a tile of queries) is the
 * next step for long prompts; this one is correct for any length. */
#include <math.h>

#include "kernels/cuda/cuda_common.cuh"

#define ATT_WARPS 4
#define ATT_MAXD 256

__global__ void attention_kernel(const float *q, float *out, const int32_t *pos,
                                 const int32_t *tab_off, const int32_t *tabs, const __half *kc,
                                 const __half *vc, int block_size, int n_head, int n_kv_head,
                                 int head_dim, float scale)
{
    __shared__ float qs[ATT_MAXD];
    __shared__ float wm[ATT_WARPS], wl[ATT_WARPS];
    __shared__ float wacc[ATT_WARPS][ATT_MAXD];
    const int t = blockIdx.x, h = blockIdx.y;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int p_last = pos[t];
    const int kvh = h / (n_head / n_kv_head), kv_dim = n_kv_head * head_dim;
    const int per = head_dim / 32; /* values per lane */
    float *o = out + ((size_t)t * n_head + h) * head_dim;
    if (p_last < 0) { /* padding token */
        for (int d = threadIdx.x; d < head_dim; d += blockDim.x)
            o[d] = 0.0f;
        return;
    }
    const float *qr = q + ((size_t)t * n_head + h) * head_dim;
    for (int d = threadIdx.x; d < head_dim; d += blockDim.x)
        qs[d] = __half2float(__float2half_rn(qr[d]));
    __syncthreads();

    const int32_t *tab = tabs + tab_off[t];
    float m = -INFINITY, l = 0.0f, acc[ATT_MAXD / 32];
#pragma unroll
    for (int i = 0; i < ATT_MAXD / 32; i++)
        acc[i] = 0.0f;
    for (int p = warp; p <= p_last; p += ATT_WARPS) {
        const size_t base =
            ((size_t)tab[p / block_size] * block_size + (size_t)(p % block_size)) * kv_dim +
            (size_t)kvh * head_dim;
        float s = 0.0f;
#pragma unroll
        for (int i = 0; i < ATT_MAXD / 32; i++)
            if (i < per)
                s = fmaf(qs[lane + 32 * i], __half2float(kc[base + lane + 32 * i]), s);
        s = warp_sum(s) * scale;
        const float m_new = fmaxf(m, s);
        const float c = expf(m - m_new), e = expf(s - m_new);
        l = l * c + e;
#pragma unroll
        for (int i = 0; i < ATT_MAXD / 32; i++)
            if (i < per)
                acc[i] = acc[i] * c + e * __half2float(vc[base + lane + 32 * i]);
        m = m_new;
    }
    /* merge the warps: warp 0 always saw position 0, so the max is finite */
    if (lane == 0)
        wm[warp] = m, wl[warp] = l;
#pragma unroll
    for (int i = 0; i < ATT_MAXD / 32; i++)
        if (i < per)
            wacc[warp][lane + 32 * i] = acc[i];
    __syncthreads();
    float M = wm[0];
    for (int w = 1; w < ATT_WARPS; w++)
        M = fmaxf(M, wm[w]);
    float L = 0.0f;
    for (int w = 0; w < ATT_WARPS; w++)
        L += wl[w] * expf(wm[w] - M); /* a warp with no positions has m = -inf: weight 0 */
    for (int d = threadIdx.x; d < head_dim; d += blockDim.x) {
        float v = 0.0f;
        for (int w = 0; w < ATT_WARPS; w++)
            v += wacc[w][d] * expf(wm[w] - M);
        o[d] = v / L;
    }
}

extern "C" int pgr_cu_attention(const float *d_q, float *d_out, int n_tok, const int32_t *d_pos,
                                const int32_t *d_tab_off, const int32_t *d_tabs,
                                const uint16_t *d_kc, const uint16_t *d_vc, int block_size,
                                int n_head, int n_kv_head, int head_dim, float scale,
                                void *stream, pgr_err *err)
{
    ARG_CHECK(n_tok > 0 && n_head > 0 && n_head <= 65535 && n_kv_head > 0 &&
                  n_head % n_kv_head == 0 && head_dim % 32 == 0 && head_dim > 0 &&
                  head_dim <= ATT_MAXD && block_size > 0,
              "cuda attention: %d tokens, %d/%d heads of %d (head_dim a multiple of 32, <= %d)",
              n_tok, n_head, n_kv_head, head_dim, ATT_MAXD);
    {
        dim3 grid((unsigned)n_tok, (unsigned)n_head);
        attention_kernel<<<grid, 32 * ATT_WARPS, 0, CU_STREAM(stream)>>>(
            d_q, d_out, d_pos, d_tab_off, d_tabs, (const __half *)d_kc, (const __half *)d_vc,
            block_size, n_head, n_kv_head, head_dim, scale);
        LAUNCHED("attention_kernel");
    }
    return 0;
cleanup:
    return -1;
}
