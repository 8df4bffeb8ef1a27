/* Row-major matrix products for the training pass (LoRA and ReFT in rank
 * space, x·W^T forward and dy·W backward through the frozen weights):
 * cublasGemmEx with fp32 accumulation, operands bf16 or float.
 * Reference: a double loop over the same (bf16-rounded) operands in
 * tests/unit/test_cuda_train.c.
 *
 * Row-major C = op(A) op(B) is, seen column-major, C^T = op(B)^T op(A)^T, and
 * a row-major matrix's storage is its transpose column-major: so cuBLAS gets
 * the operands swapped with the same transpose flags and the row-major
 * leading dimensions. */
#include "kernels/cuda/train_common.cuh"

extern "C" int pgr_cu_mm(pgr_cu_blas *b, int ta, int tb, int M, int N, int K, float alpha,
                         const void *d_A, int lda, const void *d_B, int ldb, float beta, float *d_C,
                         int ldc, int bf16, pgr_err *err)
{
    const cudaDataType_t t = bf16 ? CUDA_R_16BF : CUDA_R_32F;
    ARG_CHECK(M > 0 && N > 0 && K > 0 && lda >= (ta ? M : K) && ldb >= (tb ? K : N) && ldc >= N,
              "cuda mm: (%d, %d) x (%d) with lda %d ldb %d ldc %d (ta %d tb %d)", M, N, K, lda, ldb,
              ldc, ta, tb);
    BLAS_TRY(cublasGemmEx(pgr_cu_blas_handle(b), tb ? CUBLAS_OP_T : CUBLAS_OP_N,
                          ta ? CUBLAS_OP_T : CUBLAS_OP_N, N, M, K, &alpha, d_B, t, ldb, d_A, t, lda,
                          &beta, d_C, CUDA_R_32F, ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    return 0;
cleanup:
    return -1;
}
