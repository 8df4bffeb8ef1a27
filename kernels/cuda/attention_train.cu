/* Causal self-attention of one training sequence (positions 0..n-1), keeping
 * the softmax probabilities P for the backward pass, and that backward pass:
 *   o_i = sum_j P_ij v_j, P_i = softmax(S_i), S_ij = scale q_i.k_j (j <= i);
 *   dv_j += sum_i P_ij do_i;  dP_ij = do_i.v_j;
 *   dS_ij = scale P_ij (dP_ij - sum_k P_ik dP_ik);
 *   dq_i += sum_j dS_ij k_j;  dk_j += sum_i dS_ij q_i
 * with grouped-query heads (head h reads kv head h / (nh / nkv); dk, dv sum
 * over the group's heads). References: pgr_tr_attention and
 * pgr_tr_attention_bwd (inference/train_ops.c).
 *
 * Plain kernels, no tensor cores: training sequences are short (T <= a few
 * hundred) and the model small; the cost is O(nh T^2 hd) either way.
 *   forward   one block per (query i, head h), hd threads: the scores row in
 *             shared memory, softmax, then o_i one element per thread;
 *   dS, dq    one block per (i, h): dP row, its P-weighted sum, dS row (kept
 *             in d_dS for the next kernel), dq_i;
 *   dk, dv    one block per (key j, kv head): sums over i >= j and the
 *             group's heads in a fixed order (no atomics: deterministic). */
#include <math.h>

#include "kernels/cuda/train_common.cuh"

#define ATTN_MAX_N 8192

/* threads = hd (a multiple of 32); dynamic shared memory: n + hd floats */
__global__ void attn_train_fwd_kernel(const float *q, const float *k, const float *v, float *out,
                                      float *P, int n, int nh, int nkv, int hd, float scale)
{
    extern __shared__ float sm[];
    __shared__ float red[32];
    __shared__ double redd[32];
    float *s = sm, *qs = sm + n;
    const int i = blockIdx.x, h = blockIdx.y, kh = h / (nh / nkv);
    const int qd = nh * hd, kvd = nkv * hd;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    qs[threadIdx.x] = q[(size_t)i * qd + (size_t)h * hd + threadIdx.x];
    __syncthreads();
    for (int j = warp; j <= i; j += nw) {
        const float *kj = k + (size_t)j * kvd + (size_t)kh * hd;
        float a = 0.0f;
        for (int c = lane; c < hd; c += 32)
            a = fmaf(qs[c], kj[c], a);
        a = warp_sum(a);
        if (lane == 0)
            s[j] = a * scale;
    }
    __syncthreads();
    float mx = -INFINITY;
    for (int j = threadIdx.x; j <= i; j += blockDim.x)
        mx = fmaxf(mx, s[j]);
    mx = block_max(mx, red);
    double sum = 0;
    for (int j = threadIdx.x; j <= i; j += blockDim.x) {
        const float e = expf(s[j] - mx);
        s[j] = e;
        sum += e;
    }
    sum = block_sum_d(sum, redd); /* its barriers also publish s[] */
    const float inv = (float)(1.0 / sum);
    float *prow = P + ((size_t)h * n + i) * n;
    for (int j = threadIdx.x; j < n; j += blockDim.x) {
        const float p = j <= i ? s[j] * inv : 0.0f;
        prow[j] = p;
        if (j <= i)
            s[j] = p;
    }
    __syncthreads();
    const int c = threadIdx.x;
    float o = 0.0f;
    for (int j = 0; j <= i; j++)
        o = fmaf(s[j], v[(size_t)j * kvd + (size_t)kh * hd + c], o);
    out[(size_t)i * qd + (size_t)h * hd + c] = o;
}

/* dS row and dq_i; threads = hd; dynamic shared memory: n + hd floats */
__global__ void attn_train_ds_kernel(const float *k, const float *v, const float *P,
                                     const float *dout, float *dq, float *dS, int n, int nh,
                                     int nkv, int hd, float scale)
{
    extern __shared__ float sm[];
    __shared__ double redd[32];
    float *dp = sm, *dos = sm + n;
    const int i = blockIdx.x, h = blockIdx.y, kh = h / (nh / nkv);
    const int qd = nh * hd, kvd = nkv * hd;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    const float *prow = P + ((size_t)h * n + i) * n;
    dos[threadIdx.x] = dout[(size_t)i * qd + (size_t)h * hd + threadIdx.x];
    __syncthreads();
    for (int j = warp; j <= i; j += nw) {
        const float *vj = v + (size_t)j * kvd + (size_t)kh * hd;
        float a = 0.0f;
        for (int c = lane; c < hd; c += 32)
            a = fmaf(dos[c], vj[c], a);
        a = warp_sum(a);
        if (lane == 0)
            dp[j] = a;
    }
    __syncthreads();
    double pdp = 0;
    for (int j = threadIdx.x; j <= i; j += blockDim.x)
        pdp += (double)prow[j] * dp[j];
    pdp = block_sum_d(pdp, redd);
    float *dsrow = dS + ((size_t)h * n + i) * n;
    for (int j = threadIdx.x; j < n; j += blockDim.x) {
        const float ds = j <= i ? prow[j] * (dp[j] - (float)pdp) * scale : 0.0f;
        dsrow[j] = ds;
        if (j <= i)
            dp[j] = ds;
    }
    __syncthreads();
    const int c = threadIdx.x;
    float a = 0.0f;
    for (int j = 0; j <= i; j++)
        a = fmaf(dp[j], k[(size_t)j * kvd + (size_t)kh * hd + c], a);
    dq[(size_t)i * qd + (size_t)h * hd + c] += a;
}

/* dk_j, dv_j of kv head kh; threads = hd */
__global__ void attn_train_dkv_kernel(const float *q, const float *P, const float *dout,
                                      const float *dS, float *dk, float *dv, int n, int nh, int nkv,
                                      int hd)
{
    const int j = blockIdx.x, kh = blockIdx.y, group = nh / nkv, c = threadIdx.x;
    const int qd = nh * hd, kvd = nkv * hd;
    float ak = 0.0f, av = 0.0f;
    for (int g = 0; g < group; g++) {
        const int h = kh * group + g;
        const float *ds = dS + (size_t)h * n * n + j, *p = P + (size_t)h * n * n + j;
        for (int i = j; i < n; i++) {
            const size_t row = (size_t)i * n;
            ak = fmaf(ds[row], q[(size_t)i * qd + (size_t)h * hd + c], ak);
            av = fmaf(p[row], dout[(size_t)i * qd + (size_t)h * hd + c], av);
        }
    }
    dk[(size_t)j * kvd + (size_t)kh * hd + c] += ak;
    dv[(size_t)j * kvd + (size_t)kh * hd + c] += av;
}

#define ATTN_ARGS_OK                                                                               \
    (n > 0 && n <= ATTN_MAX_N && nh > 0 && nkv > 0 && nh % nkv == 0 && hd >= 32 && hd <= 256 &&    \
     hd % 32 == 0 && nh <= 65535 && nkv <= 65535)

extern "C" int pgr_cu_attn_train_fwd(const float *d_q, const float *d_k, const float *d_v,
                                     float *d_out, float *d_P, int n, int nh, int nkv, int hd,
                                     float scale, void *stream, pgr_err *err)
{
    ARG_CHECK(ATTN_ARGS_OK,
              "cuda attn_train_fwd: %d tokens, %d/%d heads of %d (hd a multiple of 32 up to "
              "256, n up to %d)",
              n, nh, nkv, hd, ATTN_MAX_N);
    {
        const size_t sh = (size_t)(n + hd) * sizeof(float);
        attn_train_fwd_kernel<<<dim3((unsigned)n, (unsigned)nh), (unsigned)hd, sh,
                                CU_STREAM(stream)>>>(d_q, d_k, d_v, d_out, d_P, n, nh, nkv, hd,
                                                     scale);
        LAUNCHED("attn_train_fwd_kernel");
    }
    return 0;
cleanup:
    return -1;
}

extern "C" int pgr_cu_attn_train_bwd(const float *d_q, const float *d_k, const float *d_v,
                                     const float *d_P, const float *d_dout, float *d_dq,
                                     float *d_dk, float *d_dv, int n, int nh, int nkv, int hd,
                                     float scale, float *d_dS, void *stream, pgr_err *err)
{
    ARG_CHECK(ATTN_ARGS_OK, "cuda attn_train_bwd: %d tokens, %d/%d heads of %d", n, nh, nkv, hd);
    {
        const size_t sh = (size_t)(n + hd) * sizeof(float);
        attn_train_ds_kernel<<<dim3((unsigned)n, (unsigned)nh), (unsigned)hd, sh,
                               CU_STREAM(stream)>>>(d_k, d_v, d_P, d_dout, d_dq, d_dS, n, nh, nkv,
                                                    hd, scale);
        LAUNCHED("attn_train_ds_kernel");
        attn_train_dkv_kernel<<<dim3((unsigned)n, (unsigned)nkv), (unsigned)hd, 0,
                                CU_STREAM(stream)>>>(d_q, d_P, d_dout, d_dS, d_dk, d_dv, n, nh, nkv,
                                                     hd);
        LAUNCHED("attn_train_dkv_kernel");
    }
    return 0;
cleanup:
    return -1;
}
