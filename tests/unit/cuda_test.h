#ifndef PEERGRAPH_TEST_CUDA_H
#define PEERGRAPH_TEST_CUDA_H
/* Shared by tests/unit/test_cuda_*.c: is a CUDA device usable here?
 * NEED_CUDA() skips the test ("skipped: no CUDA device (why)") when not, or
 * fails it when PEERGRAPH_REQUIRE_CUDA is set (make test-cuda on a GPU
 * machine, where a skip would hide a broken setup). Include after check.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cuda/cuda_backend.h"

static int cuda_ready(char *why, size_t n)
{
    pgr_err err = {0};
    if (pgr_cuda_available(NULL, 0, &err) == 0)
        return 1;
    const char *m = err.msg, *pre = "no CUDA device: ";
    if (strncmp(m, pre, strlen(pre)) == 0)
        m += strlen(pre);
    snprintf(why, n, "%s", m);
    return 0;
}

/* PEERGRAPH_TEST_EMULATED is set by the emu suite of tests/run.sh (the CUDA
 * tests on the CPU emulator, docs/cuda.md): tests on the real model then use
 * shorter sequences (each test says which), since every emulated thread and
 * cuBLAS product runs on one CPU core; every comparison still runs. */
static inline int cuda_emulated_short(void)
{
    return getenv("PEERGRAPH_TEST_EMULATED") != NULL;
}

#define NEED_CUDA()                                                                        \
    do {                                                                                   \
        char why_[1024];                                                                   \
        if (!cuda_ready(why_, sizeof why_)) {                                              \
            if (getenv("PEERGRAPH_REQUIRE_CUDA"))                                          \
                CHECK_MSG(0, "PEERGRAPH_REQUIRE_CUDA is set, but: %s", why_);              \
            SKIP("no CUDA device (%s)", why_);                                             \
        }                                                                                  \
    } while (0)
#endif
