/* Quantised matrix x vector(s) for small-batch decode: y (n_tok, rows) =
 * x (n_tok, cols) · W^T, W dequantised block by block in registers, float32
 * activations and accumulation. At batch 1..8 decode is bound by reading W:
 * reading Q4_1 (5 bits/weight) instead of a bf16 copy (16 bits) is the gain
 * over cuBLAS. Reference: dequantise (pgr_dequant_row) and a float dot.
 *
 * Layout: one warp per weight row; lane j takes the row's 32-element blocks
 * j, j + 32, ...; each warp handles up to QMV_TOK tokens at once so W is read
 * once per QMV_TOK tokens; grid.y walks token groups. Simple first: the block
 * bytes are read byte-wise (blocks are 2-byte aligned) - a vectorised variant
 * is the next step once a GPU run shows where it stands against bandwidth. */
#include "kernels/cuda/cuda_common.cuh"

#define QMV_TOK 8
#define QMV_WARPS 4

__global__ void qmatvec_kernel(int type, const uint8_t *w, size_t row_bytes, int rows, int cols,
                               const float *x, float *y, int n_tok)
{
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int r = blockIdx.x * QMV_WARPS + warp;
    const int t0 = blockIdx.y * QMV_TOK;
    if (r >= rows)
        return; /* whole warps leave together: no block-wide barrier below */
    const int nt = n_tok - t0 < QMV_TOK ? n_tok - t0 : QMV_TOK;
    const uint8_t *wr = w + (size_t)r * row_bytes;
    float acc[QMV_TOK];
#pragma unroll
    for (int i = 0; i < QMV_TOK; i++)
        acc[i] = 0.0f;
    const int nblk = cols / QK;
    for (int blk = lane; blk < nblk; blk += 32) {
        float v[QK];
        dequant32(type, wr, blk, v);
#pragma unroll
        for (int i = 0; i < QMV_TOK; i++) {
            if (i < nt) {
                const float *xr = x + (size_t)(t0 + i) * cols + (size_t)blk * QK;
                float s = 0.0f;
#pragma unroll
                for (int j = 0; j < QK; j++)
                    s = fmaf(v[j], xr[j], s);
                acc[i] += s;
            }
        }
    }
#pragma unroll
    for (int i = 0; i < QMV_TOK; i++) {
        float s = warp_sum(acc[i]);
        if (lane == 0 && i < nt)
            y[(size_t)(t0 + i) * rows + r] = s;
    }
}

extern "C" int pgr_cu_qmatvec(int type, const void *d_w, size_t row_bytes, int rows, int cols,
                              const float *d_x, float *d_y, int n_tok, void *stream,
                              pgr_err *err)
{
    ARG_CHECK(pgr_cu_type_ok(type), "cuda qmatvec: weight type %d unsupported", type);
    ARG_CHECK(rows > 0 && cols > 0 && cols % QK == 0 && n_tok > 0 &&
                  (n_tok + QMV_TOK - 1) / QMV_TOK <= 65535,
              "cuda qmatvec: W (%d, %d), %d tokens", rows, cols, n_tok);
    {
        dim3 grid(cu_blocks((size_t)rows, QMV_WARPS), (unsigned)((n_tok + QMV_TOK - 1) / QMV_TOK));
        qmatvec_kernel<<<grid, 32 * QMV_WARPS, 0, CU_STREAM(stream)>>>(
            type, (const uint8_t *)d_w, row_bytes, rows, cols, d_x, d_y, n_tok);
        LAUNCHED("qmatvec_kernel");
    }
    return 0;
cleanup:
    return -1;
}
