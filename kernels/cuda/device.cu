/* Device discovery and plain memory helpers (cudaMalloc, no managed memory). */
#include <stdio.h>
#include <stdlib.h>

#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/cuda_common.cuh"

extern "C" int pgr_cu_device_count(pgr_err *err)
{
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        /* no driver / no device: not an engine failure, just no GPU here */
        pgr_errf(err, PGR_EUNSUPPORTED, "no CUDA device: cudaGetDeviceCount: %s (%s)",
                 cudaGetErrorString(e), cudaGetErrorName(e));
        cudaGetLastError(); /* clear the sticky-free error so later calls start clean */
        return 0;
    }
    if (n == 0)
        pgr_errf(err, PGR_EUNSUPPORTED, "no CUDA device: cudaGetDeviceCount found none");
    return n;
}

extern "C" int pgr_cuda_available(char *name, size_t name_len, pgr_err *err)
{
    int rc = -1;
    cudaDeviceProp p;
    if (pgr_cu_device_count(err) < 1)
        return -1;
    CU_TRY(cudaGetDeviceProperties(&p, 0));
    if (p.major < 7) {
        pgr_errf(err, PGR_EUNSUPPORTED, "CUDA device %s has compute capability %d.%d; 7.0+ needed",
                 p.name, p.major, p.minor);
        goto cleanup;
    }
    if (name && name_len)
        snprintf(name, name_len, "%s (sm_%d%d, %.1f GiB, %d SMs)", p.name, p.major, p.minor,
                 (double)p.totalGlobalMem / (1024.0 * 1024.0 * 1024.0), p.multiProcessorCount);
    rc = 0;
cleanup:
    return rc;
}

extern "C" int pgr_cu_malloc(void **d, size_t bytes, pgr_err *err)
{
    *d = NULL;
    CU_TRY(cudaMalloc(d, bytes ? bytes : 1));
    return 0;
cleanup:
    *d = NULL;
    return -1;
}

extern "C" void pgr_cu_free(void *d)
{
    if (d)
        cudaFree(d);
}

extern "C" int pgr_cu_h2d(void *d, const void *h, size_t bytes, pgr_err *err)
{
    CU_TRY(cudaMemcpy(d, h, bytes, cudaMemcpyHostToDevice));
    return 0;
cleanup:
    return -1;
}

extern "C" int pgr_cu_d2h(void *h, const void *d, size_t bytes, pgr_err *err)
{
    CU_TRY(cudaMemcpy(h, d, bytes, cudaMemcpyDeviceToHost));
    return 0;
cleanup:
    return -1;
}

extern "C" int pgr_cu_memset(void *d, int byte, size_t bytes, pgr_err *err)
{
    CU_TRY(cudaMemset(d, byte, bytes));
    return 0;
cleanup:
    return -1;
}

extern "C" int pgr_cu_sync(pgr_err *err)
{
    CU_TRY(cudaDeviceSynchronize());
    return 0;
cleanup:
    return -1;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

extern "C" int pgr_cuda_copy_bandwidth(size_t bytes, int reps, double *bytes_per_s, pgr_err *err)
{
    int rc = -1;
    void *a = NULL, *b = NULL;
    cudaEvent_t e0 = NULL, e1 = NULL;
    float ms[64];
    *bytes_per_s = 0;
    if (reps < 1 || reps > 64 || bytes < 1024)
        return pgr_errf(err, PGR_EINVAL, "copy bandwidth: %d reps of %zu bytes", reps, bytes);
    CU_TRY(cudaMalloc(&a, bytes));
    CU_TRY(cudaMalloc(&b, bytes));
    CU_TRY(cudaMemset(a, 1, bytes)); /* not zeros: see METHOD.md */
    CU_TRY(cudaEventCreate(&e0));
    CU_TRY(cudaEventCreate(&e1));
    CU_TRY(cudaMemcpy(b, a, bytes, cudaMemcpyDeviceToDevice)); /* warm-up */
    for (int i = 0; i < reps; i++) {
        CU_TRY(cudaEventRecord(e0));
        CU_TRY(cudaMemcpyAsync(i % 2 ? a : b, i % 2 ? b : a, bytes, cudaMemcpyDeviceToDevice));
        CU_TRY(cudaEventRecord(e1));
        CU_TRY(cudaEventSynchronize(e1));
        CU_TRY(cudaEventElapsedTime(&ms[i], e0, e1));
    }
    qsort(ms, (size_t)reps, sizeof *ms, cmp_float);
    *bytes_per_s = 2.0 * (double)bytes / (ms[reps / 2] / 1e3);
    rc = 0;
cleanup:
    if (e0)
        cudaEventDestroy(e0);
    if (e1)
        cudaEventDestroy(e1);
    cudaFree(a);
    cudaFree(b);
    return rc;
}

extern "C" int pgr_cuda_mem_info(size_t *free_bytes, size_t *total_bytes, pgr_err *err)
{
    *free_bytes = *total_bytes = 0;
    if (pgr_cu_device_count(err) < 1)
        return -1;
    CU_TRY(cudaSetDevice(0));
    CU_TRY(cudaMemGetInfo(free_bytes, total_bytes));
    return 0;
cleanup:
    return -1;
}
