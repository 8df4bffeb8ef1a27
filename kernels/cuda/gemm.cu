/* Projections through cuBLAS: bf16 weights and activations, fp32 accumulate
 * and output (cublasGemmEx). Reference: pgr_kernels_ref()->matmul on the same
 * weights (tolerance of bf16 operands, about 1e-2 relative).
 *
 * Row-major y (n, rows) = x (n, cols) · W^T is, seen column-major, Y (rows, n)
 * = W^T' (rows, cols) · X (cols, n) where W's row-major (rows, cols) storage
 * is a column-major (cols, rows) matrix: op(A) = A^T with lda = cols. */
#include <stdlib.h>

#include "kernels/cuda/cuda_common.cuh"

struct pgr_cu_blas {
    cublasHandle_t h;
    void *ws; /* our workspace: no allocation inside a captured graph */
    size_t ws_bytes;
};

extern "C" int pgr_cu_blas_new(void *stream, pgr_cu_blas **out, pgr_err *err)
{
    pgr_cu_blas *b = (pgr_cu_blas *)calloc(1, sizeof *b);
    *out = NULL;
    if (!b)
        return pgr_errf(err, PGR_ENOMEM, "cuBLAS: out of memory");
    b->ws_bytes = (size_t)32 << 20;
    BLAS_TRY(cublasCreate(&b->h));
    BLAS_TRY(cublasSetStream(b->h, CU_STREAM(stream)));
    CU_TRY(cudaMalloc(&b->ws, b->ws_bytes));
    BLAS_TRY(cublasSetWorkspace(b->h, b->ws, b->ws_bytes));
    /* bf16 inputs, fp32 compute: no reduced-precision reductions */
    BLAS_TRY(cublasSetMathMode(b->h, CUBLAS_DEFAULT_MATH));
    *out = b;
    return 0;
cleanup:
    pgr_cu_blas_free(b);
    return -1;
}

extern "C" void pgr_cu_blas_free(pgr_cu_blas *b)
{
    if (!b)
        return;
    if (b->h)
        cublasDestroy(b->h);
    if (b->ws)
        cudaFree(b->ws);
    free(b);
}

extern "C" int pgr_cu_gemm_bf16(pgr_cu_blas *b, const uint16_t *d_w, int rows, int cols,
                                const uint16_t *d_x, float *d_y, int n_tok, pgr_err *err)
{
    return pgr_cu_gemm_bf16_acc(b, d_w, rows, cols, d_x, d_y, n_tok, 0, err);
}

extern "C" int pgr_cu_gemm_bf16_acc(pgr_cu_blas *b, const uint16_t *d_w, int rows, int cols,
                                    const uint16_t *d_x, float *d_y, int n_tok, int accumulate,
                                    pgr_err *err)
{
    const float alpha = 1.0f, beta = accumulate ? 1.0f : 0.0f;
    ARG_CHECK(rows > 0 && cols > 0 && n_tok > 0, "cuda gemm: W (%d, %d), %d tokens", rows, cols,
              n_tok);
    BLAS_TRY(cublasGemmEx(b->h, CUBLAS_OP_T, CUBLAS_OP_N, rows, n_tok, cols, &alpha, d_w,
                          CUDA_R_16BF, cols, d_x, CUDA_R_16BF, cols, &beta, d_y, CUDA_R_32F, rows,
                          CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    return 0;
cleanup:
    return -1;
}

/* The handle, for the row-major products of the training kernels (gemm_rm.cu). */
extern "C" cublasHandle_t pgr_cu_blas_handle(pgr_cu_blas *b)
{
    return b->h;
}
