/* Element-wise helpers of the training pass: masking and scaling rank-space
 * rows (LoRA u/du, ReFT z/dz), column sums (ReFT's bias gradient), a + alpha b.
 * References: the loops of inference/train_ops.c they stand for (tested
 * through lora_train.cu and reft_train.cu, and directly in test_cuda_train). */
#include "kernels/cuda/train_common.cuh"

__global__ void mask_rows_kernel(float *x, const uint8_t *mask, const float *bias, float scale,
                                 int n, int r)
{
    const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (size_t)n * r)
        return;
    const int t = (int)(i / (size_t)r), j = (int)(i % (size_t)r);
    if (mask && !mask[t]) {
        x[i] = 0.0f;
        return;
    }
    x[i] = x[i] * scale + (bias ? bias[j] : 0.0f);
}

extern "C" int pgr_cu_mask_rows(float *d_x, const uint8_t *d_mask, const float *d_bias, float scale,
                                int n, int r, void *stream, pgr_err *err)
{
    ARG_CHECK(n > 0 && r > 0 && (size_t)n * r / 256 < (size_t)1 << 31, "cuda mask_rows: (%d, %d)",
              n, r);
    mask_rows_kernel<<<cu_blocks((size_t)n * r, 256), 256, 0, CU_STREAM(stream)>>>(
        d_x, d_mask, d_bias, scale, n, r);
    LAUNCHED("mask_rows_kernel");
    return 0;
cleanup:
    return -1;
}

/* one thread per column, tokens in order: deterministic */
__global__ void colsum_add_kernel(const float *x, float *out, int n, int r)
{
    const int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= r)
        return;
    double s = 0;
    for (int t = 0; t < n; t++)
        s += (double)x[(size_t)t * r + j];
    out[j] += (float)s;
}

extern "C" int pgr_cu_colsum_add(const float *d_x, float *d_out, int n, int r, void *stream,
                                 pgr_err *err)
{
    ARG_CHECK(n > 0 && r > 0, "cuda colsum_add: (%d, %d)", n, r);
    colsum_add_kernel<<<cu_blocks((size_t)r, 128), 128, 0, CU_STREAM(stream)>>>(d_x, d_out, n, r);
    LAUNCHED("colsum_add_kernel");
    return 0;
cleanup:
    return -1;
}

__global__ void axpy3_kernel(const float *a, float alpha, const float *b, float *out, size_t n)
{
    const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        out[i] = a[i] + alpha * b[i];
}

extern "C" int pgr_cu_axpy3(const float *d_a, float alpha, const float *d_b, float *d_out, size_t n,
                            void *stream, pgr_err *err)
{
    ARG_CHECK(n > 0 && n / 256 < (size_t)1 << 31, "cuda axpy3: %zu elements", n);
    axpy3_kernel<<<cu_blocks(n, 256), 256, 0, CU_STREAM(stream)>>>(d_a, alpha, d_b, d_out, n);
    LAUNCHED("axpy3_kernel");
    return 0;
cleanup:
    return -1;
}
