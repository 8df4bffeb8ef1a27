/* Small element-wise ops of the forward pass: residual add, fp32 -> bf16 for
 * the cuBLAS inputs, and the gather of the rows that want logits.
 * References: x[i] += y[i]; pgr_f32_to_bf16; memcpy of rows. */
#include "kernels/cuda/cuda_common.cuh"

__global__ void add_kernel(float *x, const float *y, size_t n)
{
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        x[i] += y[i];
}

__global__ void to_bf16_kernel(const float *x, __nv_bfloat16 *y, size_t n)
{
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        y[i] = __float2bfloat16_rn(x[i]);
}

__global__ void gather_rows_kernel(const float *x, const int32_t *rows, int dim, float *out)
{
    const int i = blockIdx.x;
    const float *src = x + (size_t)rows[i] * dim;
    for (int d = threadIdx.x; d < dim; d += blockDim.x)
        out[(size_t)i * dim + d] = src[d];
}

extern "C" int pgr_cu_add(float *d_x, const float *d_y, size_t n, void *stream, pgr_err *err)
{
    ARG_CHECK(n > 0 && n / 256 < (size_t)1 << 31, "cuda add: %zu elements", n);
    add_kernel<<<cu_blocks(n, 256), 256, 0, CU_STREAM(stream)>>>(d_x, d_y, n);
    LAUNCHED("add_kernel");
    return 0;
cleanup:
    return -1;
}

extern "C" int pgr_cu_to_bf16(const float *d_x, uint16_t *d_y, size_t n, void *stream,
                              pgr_err *err)
{
    ARG_CHECK(n > 0 && n / 256 < (size_t)1 << 31, "cuda to_bf16: %zu elements", n);
    to_bf16_kernel<<<cu_blocks(n, 256), 256, 0, CU_STREAM(stream)>>>(d_x, (__nv_bfloat16 *)d_y,
                                                                     n);
    LAUNCHED("to_bf16_kernel");
    return 0;
cleanup:
    return -1;
}

extern "C" int pgr_cu_gather_rows(const float *d_x, const int32_t *d_rows, int n_rows, int dim,
                                  float *d_out, void *stream, pgr_err *err)
{
    ARG_CHECK(n_rows > 0 && dim > 0, "cuda gather_rows: %d rows of %d", n_rows, dim);
    gather_rows_kernel<<<(unsigned)n_rows, 256, 0, CU_STREAM(stream)>>>(d_x, d_rows, dim, d_out);
    LAUNCHED("gather_rows_kernel");
    return 0;
cleanup:
    return -1;
}
