#ifndef PEERGRAPH_TRAIN_COMMON_CUH
#define PEERGRAPH_TRAIN_COMMON_CUH
/* Private to the training kernels of kernels/cuda (the *_train.cu and *_bwd.cu
 * files): reductions in double (the CPU references of inference/train_ops.c
 * sum rows in double), a block maximum, and the cuBLAS handle accessor. */
#include "kernels/cuda/cuda_common.cuh"
#include "kernels/cuda/cuda_train.h"

extern "C" cublasHandle_t pgr_cu_blas_handle(pgr_cu_blas *b); /* gemm.cu */

__device__ __forceinline__ double warp_sum_d(double v)
{
#pragma unroll
    for (int o = 16; o > 0; o >>= 1)
        v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

/* Sum over the block (blockDim.x a multiple of 32); every thread gets it.
 * sh: 32 doubles of shared memory. The order is fixed: deterministic. */
__device__ __forceinline__ double block_sum_d(double v, double *sh)
{
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = warp_sum_d(v);
    __syncthreads();
    if (lane == 0)
        sh[warp] = v;
    __syncthreads();
    v = lane < nw ? sh[lane] : 0.0;
    return warp_sum_d(v);
}

/* Maximum over the block; sh: 32 floats. */
__device__ __forceinline__ float block_max(float v, float *sh)
{
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = warp_max(v);
    __syncthreads();
    if (lane == 0)
        sh[warp] = v;
    __syncthreads();
    v = lane < nw ? sh[lane] : -INFINITY;
    return warp_max(v);
}
#endif
