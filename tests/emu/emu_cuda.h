/* peergraph CPU emulator of CUDA (docs/cuda.md, "Running the CUDA tests
 * without a GPU"): force-included (g++ -include) before every
 * kernels/cuda sources once tests/emu/cu2cpp.pl has rewritten its launches
 * (k<<<g, b, smem, st>>>(args) -> emu::launch(k, "k", g, b, smem, st)(args))
 * and its shared memory declarations (-> emu::smem_static / emu::smem_dyn).
 * Device code becomes host code: each CUDA thread of a block is a fiber run by
 * tests/emu/emu.cc until it reaches a barrier (__syncthreads, a warp shuffle).
 * Only the builtins kernels/cuda uses are here: anything else fails to
 * compile. */
#ifndef PEERGRAPH_EMU_CUDA_H
#define PEERGRAPH_EMU_CUDA_H
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <functional>
#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "cuda_runtime.h"

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)

/* the current thread's coordinates: set by the scheduler before it resumes a
 * fiber (one block runs at a time, under the emulator's lock) */
extern uint3 threadIdx, blockIdx;
extern dim3 blockDim, gridDim;

namespace emu {
void syncthreads(void);
uint64_t shfl_xor(unsigned mask, uint64_t v, int lane_mask, int width);
void *smem_static(const void *key, size_t bytes);
void *smem_dyn(void);

struct launch_cfg {
    const char *name;
    dim3 grid, block;
    size_t smem;
    cudaStream_t st;
};
/* Validates the configuration (a bad one sets the error cudaGetLastError
 * returns, as on a GPU), checks that each pointer argument lies in device or
 * pinned memory, and queues body (run once per CUDA thread) on the stream. */
void submit(const launch_cfg &c, std::function<void()> body, const std::vector<const void *> &ptrs);

template <class T> static inline void collect_ptr(std::vector<const void *> &v, const T &a)
{
    if constexpr (std::is_pointer_v<T>)
        v.push_back((const void *)a);
    else
        (void)v, (void)a;
}

template <class... P> struct launcher {
    void (*k)(P...);
    launch_cfg c;
    template <class... A> void operator()(A &&...a) const
    {
        static_assert(sizeof...(A) == sizeof...(P), "kernel launched with the wrong argument count");
        /* kernel parameters are copied at the launch, as on a GPU */
        auto args = std::make_shared<std::tuple<std::decay_t<P>...>>(std::forward<A>(a)...);
        std::vector<const void *> ptrs;
        std::apply([&](const auto &...x) { (collect_ptr(ptrs, x), ...); }, *args);
        void (*kk)(P...) = k;
        submit(c, [kk, args] { std::apply(kk, *args); }, ptrs);
    }
};
template <class... P>
static inline launcher<P...> launch(void (*k)(P...), const char *name, dim3 grid, dim3 block,
                                    size_t smem = 0, cudaStream_t st = 0)
{
    return launcher<P...>{k, launch_cfg{name, grid, block, smem, st}};
}
} // namespace emu

static inline void __syncthreads(void)
{
    emu::syncthreads();
}

template <class T> static inline T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = 32)
{
    static_assert(sizeof(T) <= 8 && std::is_trivially_copyable_v<T>, "shuffle of this type");
    uint64_t u = 0;
    memcpy(&u, &v, sizeof v);
    u = emu::shfl_xor(mask, u, lane_mask, width);
    T r;
    memcpy(&r, &u, sizeof r);
    return r;
}

/* read-only and evict-first loads: plain loads here */
template <class T> static inline T __ldg(const T *p)
{
    return *p;
}
template <class T> static inline T __ldcs(const T *p)
{
    return *p;
}

static inline float __uint_as_float(unsigned u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}
#endif
