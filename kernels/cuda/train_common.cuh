#ifndef PEERGRAPH_TRAIN_COMMON_CUH
#define PEERGRAPH_TRAIN_COMMON_CUH
/* Private to the training kernels of kernels/cuda (the *_train.cu and *_bwd.cu
 * files): reductions in double (the CPU references of inference/train_ops.c
 * sum rows in double), a block maximum, and the cuBLAS handle accessor. */
#include "kernels/cuda/cuda_common.cuh"
#include "kernels/cuda/cuda_train.h"

extern "C" cublasHandle_t pgr_cu_blas_handle(pgr_cu_blas *b); /* gemm.cu */

/* Sum over the block in double; sh: 32 doubles. */
__device__ __forceinline__ double block_sum_d(double v, double *sh)
{
    return block_reduce(v, sh, 0.0, op_add());
}

/* Maximum over the block; sh: 32 floats. */
__device__ __forceinline__ float block_max(float v, float *sh)
{
    return block_reduce(v, sh, -INFINITY, op_max());
}
#endif
