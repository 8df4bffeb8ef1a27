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
 * head_dim <= 256 (8 values per lane), a multiple of 32. This general
 * kernel serves the shapes the grouped one below does not.
 *
 * The grouped kernel (attention_gqa_kernel): one block of GQ_WARPS warps per
 * (token, kv head) computes all G = n_head / n_kv_head query heads that share
 * it, so each key and value is read once instead of G times; a lane holds
 * PER = head_dim / 32 consecutive dimensions (one 4-16 byte load per row),
 * and a warp takes GQ_U consecutive positions per iteration (their loads in
 * flight together). On an H100 (G4, 2026-11-23) the general kernel ran
 * decode at 320 GB/s (11% of the copy bandwidth) and a 512-token prefill at
 * 2.5 TFLOP/s; it made attention most of a G3 run. G in {1, 2, 3, 4, 8} and
 * head_dim in {64, 128, 256} take the grouped kernel. A prefill tile kernel
 * (K/V blocks in shared memory reused by a tile of queries) is the next
 * step for long prompts. */
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

#define GQ_WARPS 4
#define GQ_U 4

template <int PER> __device__ __forceinline__ void load_halves(const __half *p, float *out)
{
    if (PER == 2) {
        const float2 f = __half22float2(*(const __half2 *)p);
        out[0] = f.x, out[1] = f.y;
    } else if (PER == 4) {
        const uint2 u = *(const uint2 *)p;
        const __half2 *h = (const __half2 *)&u;
        float2 a = __half22float2(h[0]), b = __half22float2(h[1]);
        out[0] = a.x, out[1] = a.y, out[2] = b.x, out[3] = b.y;
    } else {
        const uint4 u = *(const uint4 *)p;
        const __half2 *h = (const __half2 *)&u;
#pragma unroll
        for (int i = 0; i < PER / 2; i++) {
            const float2 f = __half22float2(h[i]);
            out[2 * i] = f.x, out[2 * i + 1] = f.y;
        }
    }
}

template <int G, int PER>
__global__ void __launch_bounds__(32 * GQ_WARPS)
    attention_gqa_kernel(const float *q, float *out, const int32_t *pos, const int32_t *tab_off,
                         const int32_t *tabs, const __half *kc, const __half *vc, int block_size,
                         int n_head, int n_kv_head, float scale)
{
    constexpr int HD = 32 * PER;
    __shared__ float wm[GQ_WARPS][G], wl[GQ_WARPS][G];
    __shared__ float wacc[GQ_WARPS][G][HD];
    const int t = blockIdx.x, kvh = blockIdx.y, h0 = kvh * G;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int p_last = pos[t], kv_dim = n_kv_head * HD;
    if (p_last < 0) { /* padding token */
        for (int d = threadIdx.x; d < G * HD; d += blockDim.x)
            out[((size_t)t * n_head + h0) * HD + d] = 0.0f;
        return;
    }
    float qv[G][PER], m[G], l[G], acc[G][PER];
#pragma unroll
    for (int g = 0; g < G; g++) {
        const float *qr = q + ((size_t)t * n_head + h0 + g) * HD + lane * PER;
#pragma unroll
        for (int i = 0; i < PER; i++) {
            qv[g][i] = __half2float(__float2half_rn(qr[i])); /* fp16 x fp16, as the reference */
            acc[g][i] = 0.0f;
        }
        m[g] = -INFINITY, l[g] = 0.0f;
    }
    const int32_t *tab = tabs + tab_off[t];
    for (int p0 = warp * GQ_U; p0 <= p_last; p0 += GQ_WARPS * GQ_U) {
        float kf[GQ_U][PER], vf[GQ_U][PER], s[GQ_U][G];
#pragma unroll
        for (int u = 0; u < GQ_U; u++) {
            const int p = p0 + u;
            if (p <= p_last) {
                const size_t base =
                    ((size_t)tab[p / block_size] * block_size + (size_t)(p % block_size)) *
                        kv_dim +
                    (size_t)kvh * HD + (size_t)lane * PER;
                load_halves<PER>(kc + base, kf[u]);
                load_halves<PER>(vc + base, vf[u]);
            } else {
#pragma unroll
                for (int i = 0; i < PER; i++)
                    kf[u][i] = vf[u][i] = 0.0f;
            }
        }
#pragma unroll
        for (int u = 0; u < GQ_U; u++)
#pragma unroll
            for (int g = 0; g < G; g++) {
                float d = 0.0f;
#pragma unroll
                for (int i = 0; i < PER; i++)
                    d = fmaf(qv[g][i], kf[u][i], d);
                s[u][g] = warp_sum(d) * scale;
            }
#pragma unroll
        for (int g = 0; g < G; g++) {
            float mx = m[g];
#pragma unroll
            for (int u = 0; u < GQ_U; u++)
                if (p0 + u <= p_last)
                    mx = fmaxf(mx, s[u][g]);
            const float c = expf(m[g] - mx); /* m = -inf at first: 0 */
            l[g] *= c;
#pragma unroll
            for (int i = 0; i < PER; i++)
                acc[g][i] *= c;
#pragma unroll
            for (int u = 0; u < GQ_U; u++) {
                const float e = p0 + u <= p_last ? expf(s[u][g] - mx) : 0.0f;
                l[g] += e;
#pragma unroll
                for (int i = 0; i < PER; i++)
                    acc[g][i] = fmaf(e, vf[u][i], acc[g][i]);
            }
            m[g] = mx;
        }
    }
    /* merge the warps (a warp that saw no position has m = -inf, l = 0) */
#pragma unroll
    for (int g = 0; g < G; g++) {
        if (lane == 0)
            wm[warp][g] = m[g], wl[warp][g] = l[g];
#pragma unroll
        for (int i = 0; i < PER; i++)
            wacc[warp][g][lane * PER + i] = acc[g][i];
    }
    __syncthreads();
    for (int e = threadIdx.x; e < G * HD; e += blockDim.x) {
        const int g = e / HD, d = e % HD;
        float M = wm[0][g];
        for (int w = 1; w < GQ_WARPS; w++)
            M = fmaxf(M, wm[w][g]);
        float L = 0.0f, v = 0.0f;
        for (int w = 0; w < GQ_WARPS; w++) {
            const float f = wm[w][g] == -INFINITY ? 0.0f : expf(wm[w][g] - M);
            L += wl[w][g] * f;
            v += wacc[w][g][d] * f;
        }
        out[((size_t)t * n_head + h0 + g) * HD + d] = v / L;
    }
}

/* Launches the grouped kernel when (G, head_dim) is one it is built for:
 * 1 = launched (the caller checks the launch), 0 = not this shape. */
template <int G>
static int gqa_launch(dim3 grid, cudaStream_t st, int head_dim, const float *q, float *out,
                      const int32_t *pos, const int32_t *tab_off, const int32_t *tabs,
                      const __half *kc, const __half *vc, int block_size, int n_head,
                      int n_kv_head, float scale)
{
#define GQ_CASE(P)                                                                         \
    case 32 * P:                                                                           \
        attention_gqa_kernel<G, P><<<grid, 32 * GQ_WARPS, 0, st>>>(                         \
            q, out, pos, tab_off, tabs, kc, vc, block_size, n_head, n_kv_head, scale);     \
        return 1;
    switch (head_dim) {
        GQ_CASE(2)
        GQ_CASE(4)
        GQ_CASE(8)
    default:
        return 0;
    }
#undef GQ_CASE
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
        const int G = n_head / n_kv_head;
        const dim3 ggrid((unsigned)n_tok, (unsigned)n_kv_head);
        const cudaStream_t st = CU_STREAM(stream);
        const __half *kc = (const __half *)d_kc, *vc = (const __half *)d_vc;
        int done = 0;
#define GQ_G(g)                                                                            \
    case g:                                                                                \
        done = gqa_launch<g>(ggrid, st, head_dim, d_q, d_out, d_pos, d_tab_off, d_tabs, kc, vc, \
                             block_size, n_head, n_kv_head, scale);                        \
        break;
        switch (G) {
            GQ_G(1)
            GQ_G(2)
            GQ_G(3)
            GQ_G(4)
            GQ_G(8)
        default:
            break;
        }
#undef GQ_G
        if (done) {
            LAUNCHED("attention_gqa_kernel");
            return 0;
        }
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
