/* Logits to tokens on the device: argmax (greedy) and top-k / top-p
 * sampling. Reference: the CPU versions in tests/unit/test_cuda_kernels.c
 * (the same rules: ties to the lower index; k largest, softmax at the
 * temperature, shortest prefix reaching top_p, draw with the given uniform).
 * One block of 256 threads per row. top-k repeats a block argmax k times over
 * a scratch copy of the row (k <= 256): O(k * vocab) reads, about 10 us for
 * k = 40 at vocab 128k, far under a decode step. */
#include <math.h>

#include "kernels/cuda/cuda_common.cuh"

#define SMP_THREADS 256
#define SMP_MAXK 256

/* Block argmax of x (n): (value, index), first index on ties. */
__device__ void block_argmax(const float *x, int n, float *best_v, int *best_i)
{
    __shared__ float sv[SMP_THREADS / 32];
    __shared__ int si[SMP_THREADS / 32];
    float v = -INFINITY;
    int idx = n; /* "none" sorts after every real index */
    for (int i = threadIdx.x; i < n; i += blockDim.x)
        if (x[i] > v || (x[i] == v && i < idx))
            v = x[i], idx = i;
    for (int o = 16; o > 0; o >>= 1) {
        float v2 = __shfl_xor_sync(0xffffffffu, v, o);
        int i2 = __shfl_xor_sync(0xffffffffu, idx, o);
        if (v2 > v || (v2 == v && i2 < idx))
            v = v2, idx = i2;
    }
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    __syncthreads();
    if (lane == 0)
        sv[warp] = v, si[warp] = idx;
    __syncthreads();
    if (threadIdx.x == 0) {
        for (int w = 1; w < (int)(blockDim.x >> 5); w++)
            if (sv[w] > sv[0] || (sv[w] == sv[0] && si[w] < si[0]))
                sv[0] = sv[w], si[0] = si[w];
    }
    __syncthreads();
    *best_v = sv[0];
    *best_i = si[0] < n ? si[0] : 0; /* an all-NaN row gives token 0 */
    __syncthreads();
}

__global__ void argmax_kernel(const float *logits, int vocab, int32_t *out)
{
    float v;
    int i;
    block_argmax(logits + (size_t)blockIdx.x * vocab, vocab, &v, &i);
    if (threadIdx.x == 0)
        out[blockIdx.x] = i;
}

__global__ void topk_topp_kernel(const float *logits, int vocab, int k, float top_p, float temp,
                                 const float *u, float *scratch, int32_t *out)
{
    __shared__ float top_v[SMP_MAXK];
    __shared__ int top_i[SMP_MAXK];
    const int row = blockIdx.x;
    const float *x = logits + (size_t)row * vocab;
    float *s = scratch + (size_t)row * vocab;
    for (int i = threadIdx.x; i < vocab; i += blockDim.x)
        s[i] = x[i];
    __syncthreads();
    for (int j = 0; j < k; j++) {
        float v;
        int i;
        block_argmax(s, vocab, &v, &i);
        if (threadIdx.x == 0) {
            top_v[j] = v, top_i[j] = i;
            s[i] = -INFINITY;
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) {
        /* probabilities over the k candidates, in descending order */
        float sum = 0.0f;
        for (int j = 0; j < k; j++) {
            top_v[j] = expf((top_v[j] - top_v[0]) / temp);
            sum += top_v[j];
        }
        int n = 0;
        float mass = 0.0f;
        while (n < k) {
            mass += top_v[n] / sum;
            n++;
            if (mass >= top_p)
                break;
        }
        float target = u[row] * mass * sum, c = 0.0f;
        int pick = top_i[n - 1];
        for (int j = 0; j < n; j++) {
            c += top_v[j];
            if (c > target) {
                pick = top_i[j];
                break;
            }
        }
        out[row] = pick;
    }
}

extern "C" int pgr_cu_argmax(const float *d_logits, int n_rows, int vocab, int32_t *d_out,
                             void *stream, pgr_err *err)
{
    ARG_CHECK(n_rows > 0 && vocab > 0, "cuda argmax: %d rows of %d", n_rows, vocab);
    argmax_kernel<<<(unsigned)n_rows, SMP_THREADS, 0, CU_STREAM(stream)>>>(d_logits, vocab, d_out);
    LAUNCHED("argmax_kernel");
    return 0;
cleanup:
    return -1;
}

extern "C" int pgr_cu_sample_topk_topp(const float *d_logits, int n_rows, int vocab, int top_k,
                                       float top_p, float temperature, const float *d_u,
                                       float *d_scratch, int32_t *d_out, void *stream,
                                       pgr_err *err)
{
    ARG_CHECK(n_rows > 0 && vocab > 0 && top_k >= 1 && top_k <= SMP_MAXK && top_k <= vocab &&
                  top_p > 0 && top_p <= 1 && temperature > 0,
              "cuda sample: %d rows of %d, top_k %d (1..%d), top_p %g, temperature %g", n_rows,
              vocab, top_k, SMP_MAXK, (double)top_p, (double)temperature);
    topk_topp_kernel<<<(unsigned)n_rows, SMP_THREADS, 0, CU_STREAM(stream)>>>(
        d_logits, vocab, top_k, top_p, temperature, d_u, d_scratch, d_out);
    LAUNCHED("topk_topp_kernel");
    return 0;
cleanup:
    return -1;
}
