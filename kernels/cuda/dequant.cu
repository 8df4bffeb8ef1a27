/* Weight dequantisation to bf16 at upload (the copies cuBLAS multiplies) and
 * the type check the other weight kernels share.
 * Reference: pgr_dequant_row (kernels/cpu/quant.c), then fp32 -> bf16 with
 * round to nearest even (pgr_f32_to_bf16). Memory bound: reads the row bytes
 * once, writes 2 bytes per element. */
#include "kernels/cuda/cuda_common.cuh"

extern "C" int pgr_cu_type_ok(int type)
{
    return type == PGR_KT_F32 || type == PGR_KT_F16 || type == PGR_KT_BF16 ||
           type == PGR_KT_Q4_0 || type == PGR_KT_Q4_1 || type == PGR_KT_Q8_0;
}

/* One thread per 32-element block: grid (ceil(blocks_per_row / 128), rows). */
__global__ void dequant_bf16_kernel(int type, const uint8_t *w, size_t row_bytes, int cols,
                                    __nv_bfloat16 *out)
{
    const int nblk = cols / QK;
    const int blk = blockIdx.x * blockDim.x + threadIdx.x;
    const int r = blockIdx.y;
    if (blk >= nblk)
        return;
    float v[QK];
    dequant32(type, w + (size_t)r * row_bytes, blk, v);
    __nv_bfloat16 *o = out + (size_t)r * cols + (size_t)blk * QK;
#pragma unroll
    for (int j = 0; j < QK; j++)
        o[j] = __float2bfloat16_rn(v[j]);
}

extern "C" int pgr_cu_dequant_bf16(int type, const void *d_w, size_t row_bytes, int rows,
                                   int cols, uint16_t *d_out, void *stream, pgr_err *err)
{
    ARG_CHECK(pgr_cu_type_ok(type), "cuda dequant: weight type %d unsupported", type);
    ARG_CHECK(rows > 0 && rows <= 65535 * 64 && cols > 0 && cols % QK == 0,
              "cuda dequant: shape (%d, %d) (cols must be a multiple of 32)", rows, cols);
    {
        /* grid.y is limited to 65535: split tall matrices (vocab rows) into slabs */
        const int nblk = cols / QK;
        for (int r0 = 0; r0 < rows; r0 += 65535) {
            int nr = rows - r0 < 65535 ? rows - r0 : 65535;
            dim3 grid(cu_blocks((size_t)nblk, 128), (unsigned)nr);
            dequant_bf16_kernel<<<grid, 128, 0, CU_STREAM(stream)>>>(
                type, (const uint8_t *)d_w + (size_t)r0 * row_bytes, row_bytes, cols,
                (__nv_bfloat16 *)d_out + (size_t)r0 * cols);
            LAUNCHED("dequant_bf16_kernel");
        }
    }
    return 0;
cleanup:
    return -1;
}
