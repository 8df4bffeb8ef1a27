/* Embedding lookup: out (n_tok, cols) = rows tok[t] of the (quantised) table.
 * Reference: pgr_kernels_ref()->embed. One thread per 32-element block. */
#include "kernels/cuda/cuda_common.cuh"

__global__ void embed_kernel(int type, const uint8_t *w, size_t row_bytes, int cols,
                             const int32_t *tok, float *out)
{
    const int t = blockIdx.y;
    const int blk = blockIdx.x * blockDim.x + threadIdx.x;
    if (blk >= cols / QK)
        return;
    float v[QK];
    dequant32(type, w + (size_t)tok[t] * row_bytes, blk, v);
    float *o = out + (size_t)t * cols + (size_t)blk * QK;
#pragma unroll
    for (int j = 0; j < QK; j++)
        o[j] = v[j];
}

extern "C" int pgr_cu_embed(int type, const void *d_w, size_t row_bytes, int cols,
                            const int32_t *d_tok, int n_tok, float *d_out, void *stream,
                            pgr_err *err)
{
    ARG_CHECK(pgr_cu_type_ok(type), "cuda embed: weight type %d unsupported", type);
    ARG_CHECK(n_tok > 0 && n_tok <= 65535 && cols > 0 && cols % QK == 0,
              "cuda embed: %d tokens of %d columns", n_tok, cols);
    {
        dim3 grid(cu_blocks((size_t)(cols / QK), 64), (unsigned)n_tok);
        embed_kernel<<<grid, 64, 0, CU_STREAM(stream)>>>(type, (const uint8_t *)d_w, row_bytes,
                                                         cols, d_tok, d_out);
        LAUNCHED("embed_kernel");
    }
    return 0;
cleanup:
    return -1;
}
