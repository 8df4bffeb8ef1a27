#ifndef PEERGRAPH_CUDA_COMMON_CUH
#define PEERGRAPH_CUDA_COMMON_CUH
/* Private to kernels/cuda (the .cu files): the checking macros, block layouts and the
 * small device helpers every kernel file shares. */
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <stdint.h>

extern "C" {
#include "graph/util.h"
#include "kernels/kernels.h"
}
#include "kernels/cuda/cuda_kernels.h"

/* Every CUDA runtime call goes through CU_TRY, every cuBLAS call through
 * BLAS_TRY: on failure they set `err` (in scope) naming the statement, the
 * function, file and line, and jump to `cleanup` (in scope). After a kernel
 * launch, LAUNCHED("name") checks cudaGetLastError the same way. */
#define CU_TRY(call)                                                                       \
    do {                                                                                   \
        cudaError_t e_ = (call);                                                           \
        if (e_ != cudaSuccess) {                                                           \
            pgr_errf(err, PGR_EINTERNAL, "CUDA: %s failed: %s (%s) in %s at %s:%d", #call,  \
                     cudaGetErrorString(e_), cudaGetErrorName(e_), __func__, __FILE__,      \
                     __LINE__);                                                            \
            goto cleanup;                                                                  \
        }                                                                                  \
    } while (0)

#define BLAS_TRY(call)                                                                     \
    do {                                                                                   \
        cublasStatus_t s_ = (call);                                                        \
        if (s_ != CUBLAS_STATUS_SUCCESS) {                                                 \
            pgr_errf(err, PGR_EINTERNAL, "cuBLAS: %s failed: %s in %s at %s:%d", #call,     \
                     cublasGetStatusString(s_), __func__, __FILE__, __LINE__);              \
            goto cleanup;                                                                  \
        }                                                                                  \
    } while (0)

/* After a <<<...>>> launch: report a bad configuration at once, by kernel name. */
#define LAUNCHED(name)                                                                     \
    do {                                                                                   \
        cudaError_t e_ = cudaGetLastError();                                               \
        if (e_ != cudaSuccess) {                                                           \
            pgr_errf(err, PGR_EINTERNAL, "CUDA: launch of %s failed: %s in %s at %s:%d",    \
                     name, cudaGetErrorString(e_), __func__, __FILE__, __LINE__);           \
            goto cleanup;                                                                  \
        }                                                                                  \
    } while (0)

/* Arguments checked on the host before a launch (never inside a kernel). */
#define ARG_CHECK(cond, ...)                                                               \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            pgr_errf(err, PGR_EINVAL, __VA_ARGS__);                                        \
            goto cleanup;                                                                  \
        }                                                                                  \
    } while (0)

#define CU_STREAM(s) ((cudaStream_t)(s))

static inline unsigned cu_blocks(size_t n, unsigned per)
{
    return (unsigned)((n + per - 1) / per);
}

/* ---- device helpers ---- */
__device__ __forceinline__ float warp_sum(float v)
{
#pragma unroll
    for (int o = 16; o > 0; o >>= 1)
        v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float warp_max(float v)
{
#pragma unroll
    for (int o = 16; o > 0; o >>= 1)
        v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

/* Reduction over the block (blockDim.x a multiple of 32, at most 1024) with
 * warp shuffles then one warp over the per-warp results; every thread gets
 * the result. sh: 32 elements of shared memory; identity: the value of a
 * missing warp. The order is fixed: deterministic. */
template <typename T, typename Op>
__device__ __forceinline__ T block_reduce(T v, T *sh, T identity, Op op)
{
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
#pragma unroll
    for (int o = 16; o > 0; o >>= 1)
        v = op(v, __shfl_xor_sync(0xffffffffu, v, o));
    __syncthreads(); /* sh may still be read by a previous call */
    if (lane == 0)
        sh[warp] = v;
    __syncthreads();
    v = lane < nw ? sh[lane] : identity;
#pragma unroll
    for (int o = 16; o > 0; o >>= 1)
        v = op(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

struct op_add {
    template <typename T> __device__ __forceinline__ T operator()(T a, T b) const { return a + b; }
};
struct op_max {
    __device__ __forceinline__ float operator()(float a, float b) const { return fmaxf(a, b); }
};

/* Sum over the block; sh: 32 floats. */
__device__ __forceinline__ float block_sum(float v, float *sh)
{
    return block_reduce(v, sh, 0.0f, op_add());
}

/* RoPE of one pair (x[0], x[1]) by the angle of pair i at position pos:
 * theta built by repeated float multiplication by theta_scale =
 * base^(-2/d) (computed on the host), as ggml and the CPU reference do, so
 * the angles are bitwise theirs. */
__device__ __forceinline__ void rope_cos_sin(int pos, int i, float theta_scale, float *c,
                                             float *s)
{
    float theta = (float)pos;
    for (int k = 0; k < i; k++)
        theta *= theta_scale;
    *c = cosf(theta), *s = sinf(theta);
}
__device__ __forceinline__ void rope_rotate(float *x, float c, float s)
{
    const float x0 = x[0], x1 = x[1];
    x[0] = x0 * c - x1 * s;
    x[1] = x0 * s + x1 * c;
}

__device__ __forceinline__ float f16_to_f32(uint16_t h)
{
    return __half2float(__ushort_as_half(h));
}

__device__ __forceinline__ float bf16_to_f32(uint16_t h)
{
    return __uint_as_float((uint32_t)h << 16);
}

/* ggml block layouts (bytes as in GGUF; see kernels/cpu/cpu_impl.h). Read
 * byte-wise: blocks of 18/20/34 bytes are only 2-byte aligned. */
#define QK 32
#define Q4_0_BYTES 18
#define Q4_1_BYTES 20
#define Q8_0_BYTES 34

__device__ __forceinline__ uint16_t ld_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

/* Dequantises elements [32*blk, 32*blk + 32) of a row of `type` into out. */
__device__ __forceinline__ void dequant32(int type, const uint8_t *row, int blk, float out[32])
{
    switch (type) {
    case PGR_KT_F32: {
        const float *p = (const float *)row + (size_t)blk * QK;
#pragma unroll
        for (int j = 0; j < QK; j++)
            out[j] = p[j];
        break;
    }
    case PGR_KT_F16: {
        const uint16_t *p = (const uint16_t *)row + (size_t)blk * QK;
#pragma unroll
        for (int j = 0; j < QK; j++)
            out[j] = f16_to_f32(p[j]);
        break;
    }
    case PGR_KT_BF16: {
        const uint16_t *p = (const uint16_t *)row + (size_t)blk * QK;
#pragma unroll
        for (int j = 0; j < QK; j++)
            out[j] = bf16_to_f32(p[j]);
        break;
    }
    case PGR_KT_Q4_0: {
        const uint8_t *b = row + (size_t)blk * Q4_0_BYTES;
        const float d = f16_to_f32(ld_u16(b));
#pragma unroll
        for (int j = 0; j < QK / 2; j++) {
            out[j] = (float)((b[2 + j] & 15) - 8) * d;
            out[j + QK / 2] = (float)((b[2 + j] >> 4) - 8) * d;
        }
        break;
    }
    case PGR_KT_Q4_1: {
        const uint8_t *b = row + (size_t)blk * Q4_1_BYTES;
        const float d = f16_to_f32(ld_u16(b)), m = f16_to_f32(ld_u16(b + 2));
#pragma unroll
        for (int j = 0; j < QK / 2; j++) {
            out[j] = (float)(b[4 + j] & 15) * d + m;
            out[j + QK / 2] = (float)(b[4 + j] >> 4) * d + m;
        }
        break;
    }
    case PGR_KT_Q8_0: {
        const uint8_t *b = row + (size_t)blk * Q8_0_BYTES;
        const float d = f16_to_f32(ld_u16(b));
#pragma unroll
        for (int j = 0; j < QK; j++)
            out[j] = (float)(int8_t)b[2 + j] * d;
        break;
    }
    default:
#pragma unroll
        for (int j = 0; j < QK; j++)
            out[j] = 0.0f; /* unreachable: pgr_cu_type_ok is checked on the host */
    }
}

#endif
