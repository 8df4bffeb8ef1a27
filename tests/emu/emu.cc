/* peergraph CPU emulator of CUDA: the runtime behind the headers of tests/emu/include
 * and tests/emu/emu_cuda.h, so that the kernels/cuda sources run as host code
 * and the CUDA tests compare them with the CPU reference on a machine without
 * a GPU (docs/cuda.md, "Running the CUDA tests without a GPU").
 *
 * Execution model:
 *   - a launch is queued on its stream; queued work runs when the host
 *     synchronises (stream, event, device, a synchronous copy on the legacy
 *     stream, allocation and free), so host code that reads a result (or
 *     reuses a pinned staging buffer) without the synchronisation CUDA
 *     requires sees stale data, as it may on a GPU;
 *   - blocks run one at a time; the threads of a block are fibers (own stacks,
 *     a small context switch) run in the order PEERGRAPH_CUDA_EMU_ORDER names
 *     (forward, reverse or shuffle[:SEED]; blocks in the same order), each
 *     until it reaches __syncthreads or a warp shuffle, or returns;
 *   - __syncthreads completes when every thread of the block arrived; a
 *     shuffle when all 32 lanes of the warp did; a barrier some threads can
 *     never reach (they exited, or wait at another barrier) aborts naming the
 *     kernel and block: undefined on a GPU;
 *   - shared memory is an arena per block, filled with 0xff bytes (NaN) when
 *     the block starts, so a read of shared memory nobody wrote shows;
 *     cudaMalloc'd memory is filled the same way;
 *   - pointer arguments of a kernel must point into device or pinned memory;
 *     copies, memsets and GEMM operands must lie inside one allocation;
 *   - stream capture records launches, copies, memsets and GEMMs into the
 *     graph (nothing runs while capturing); cudaGraphLaunch replays them;
 *     calls that are illegal while capturing fail and invalidate the capture.
 * Not emulated: concurrency between threads beyond the orders tried, the
 * memory model, timing, tensor-core numerics. */
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cublas_v2.h"
#include "cuda_bf16.h"
#include "cuda_fp16.h"
#include "cuda_runtime.h"
#include "emu_cuda.h"

uint3 threadIdx, blockIdx;
dim3 blockDim, gridDim;

namespace {

[[noreturn]] void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
[[noreturn]] void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "CUDA emulator: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    fflush(stderr);
    abort();
}

std::recursive_mutex big_lock; /* every API call; a launch runs under it */
#define LOCKED std::lock_guard<std::recursive_mutex> lock_(big_lock)

thread_local cudaError_t last_error = cudaSuccess;

cudaError_t fail(cudaError_t e)
{
    last_error = e;
    return e;
}

/* ---------------------------------------------------------------------------
 * Memory: every allocation is known, so that ranges can be checked. */
enum mem_kind { MEM_DEVICE, MEM_PINNED };
struct alloc_info {
    size_t bytes;
    mem_kind kind;
};
std::map<uintptr_t, alloc_info> allocs;
size_t device_bytes_used;

size_t device_total(void)
{
    static size_t total;
    if (!total) {
        const char *s = getenv("PEERGRAPH_CUDA_EMU_MEM_MIB");
        const long mib = s ? atol(s) : 4096;
        total = (size_t)(mib > 0 ? mib : 4096) << 20;
    }
    return total;
}

/* The allocation holding [p, p + bytes) (bytes 0: p may be its end), or NULL. */
const alloc_info *find_alloc(const void *p, size_t bytes, uintptr_t *base = nullptr)
{
    const uintptr_t a = (uintptr_t)p;
    auto it = allocs.upper_bound(a);
    if (it == allocs.begin())
        return nullptr;
    --it;
    if (a < it->first || a - it->first > it->second.bytes ||
        bytes > it->second.bytes - (a - it->first))
        return nullptr;
    if (base)
        *base = it->first;
    return &it->second;
}

bool in_device(const void *p, size_t bytes)
{
    const alloc_info *a = find_alloc(p, bytes);
    return a && a->kind == MEM_DEVICE;
}

/* ---------------------------------------------------------------------------
 * Streams, graphs, events. */
struct op {
    std::function<void()> run;
};

} // namespace

struct emu_graph {
    std::vector<std::shared_ptr<op>> nodes;
};

struct emu_stream {
    std::deque<std::shared_ptr<op>> q;
    emu_graph *capture = nullptr; /* the graph being captured */
    bool capture_invalid = false;
    std::thread::id capture_thread;
    cudaStreamCaptureMode capture_mode = cudaStreamCaptureModeGlobal;
};

struct emu_event {
    double ms = 0;
    bool done = false;
    emu_stream *st = nullptr;
};

struct emu_blas {
    cudaStream_t st = nullptr;
};

namespace {

emu_stream legacy_stream;
std::vector<emu_stream *> streams{&legacy_stream};

emu_stream *S(cudaStream_t s)
{
    return s ? s : &legacy_stream;
}

bool valid_stream(cudaStream_t s)
{
    return !s || std::find(streams.begin(), streams.end(), s) != streams.end();
}

/* A capture begun by this thread in global or thread-local mode: the calls
 * CUDA calls "potentially unsafe" are refused while it lasts. */
emu_stream *capturing_here(void)
{
    for (emu_stream *s : streams)
        if (s->capture && s->capture_thread == std::this_thread::get_id() &&
            s->capture_mode != cudaStreamCaptureModeRelaxed)
            return s;
    return nullptr;
}

/* A call not allowed during capture: it fails and invalidates the capture. */
bool refused_in_capture(void)
{
    emu_stream *s = capturing_here();
    if (!s)
        return false;
    s->capture_invalid = true;
    fail(cudaErrorStreamCaptureUnsupported);
    return true;
}

void flush(emu_stream *s)
{
    while (!s->q.empty()) {
        std::shared_ptr<op> o = s->q.front();
        s->q.pop_front();
        o->run();
    }
}

void flush_all(void)
{
    for (emu_stream *s : streams)
        flush(s);
}

/* Queues work on a stream, or records it into the graph being captured. */
void enqueue(cudaStream_t st, std::function<void()> fn)
{
    emu_stream *s = S(st);
    auto o = std::make_shared<op>();
    o->run = std::move(fn);
    static const bool eager = getenv("PEERGRAPH_CUDA_EMU_EAGER") != nullptr;
    if (s->capture) {
        if (s->capture_thread != std::this_thread::get_id() &&
            s->capture_mode != cudaStreamCaptureModeRelaxed) {
            /* not what the sources do: stop rather than guess */
            die("work queued on a capturing stream from another thread");
        }
        s->capture->nodes.push_back(o);
    } else if (eager) { /* a diagnosis aid: work runs at once, in call order */
        flush(s);
        o->run();
    } else {
        s->q.push_back(std::move(o));
    }
}

double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---------------------------------------------------------------------------
 * Fibers. x86-64: a context switch saves the callee-saved registers, MXCSR and
 * the x87 control word on the old stack and loads them from the new one. */
#if defined(__x86_64__)
extern "C" void emu_ctx_switch(void **save_sp, void *to_sp);
extern "C" void emu_ctx_start(void);
asm(R"(
    .text
    .globl emu_ctx_switch
    .type emu_ctx_switch, @function
emu_ctx_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size emu_ctx_switch, .-emu_ctx_switch
    .globl emu_ctx_start
    .type emu_ctx_start, @function
emu_ctx_start:
    movq %r12, %rdi
    callq *%r13
    ud2
    .size emu_ctx_start, .-emu_ctx_start
)");
#else
#error "tests/emu: the fiber switch is written for x86-64 only"
#endif

enum fstate { F_READY, F_BLOCK_BAR, F_WARP_BAR, F_DONE };

struct fiber {
    void *sp;
    char *stack_top;
    uint3 tid;
    int warp, lane;
    fstate state;
    unsigned shfl_count; /* shuffles done: every lane of a warp must agree */
};

constexpr size_t STACK_BYTES = 256 << 10;
constexpr int MAX_THREADS = 1024;
constexpr size_t SMEM_LIMIT = 48 << 10; /* static + dynamic, no opt-in used */

struct warp_state {
    int size;     /* lanes in this warp */
    int waiting;  /* lanes at a shuffle */
    int done;     /* lanes that returned */
    uint64_t slot[2][32];
};

struct launch_ctx {
    const char *name;
    std::function<void()> *body;
    dim3 grid, block;
    size_t dyn_bytes;
    std::vector<fiber> fibers;
    std::vector<warp_state> warps;
    std::vector<int> order;
    int n, block_waiting, done;
    int pos; /* index into order of the running fiber in this pass */
    fiber *cur;
    void *sched_sp;
    /* shared memory: static declarations get offsets (kept for the launch),
     * dynamic memory follows them */
    std::vector<std::pair<const void *, size_t>> smem_keys;
    size_t smem_used;
    alignas(16) unsigned char smem_static[SMEM_LIMIT];
    std::vector<unsigned char> smem_dyn;
};

launch_ctx *L; /* the launch running (one at a time, under big_lock) */
char *stacks;  /* MAX_THREADS stacks, each under a guard page */

void pass_on(void);

void fiber_main(void *arg)
{
    (void)arg;
    (*L->body)();
    L->cur->state = F_DONE;
    L->done++;
    L->warps[(size_t)L->cur->warp].done++;
    pass_on();
    die("a finished fiber was resumed");
}

void fiber_init(fiber *f)
{
    uint64_t *sp = (uint64_t *)f->stack_top - 8;
    uint32_t mxcsr;
    uint16_t fpucw;
    asm volatile("stmxcsr %0" : "=m"(mxcsr));
    asm volatile("fnstcw %0" : "=m"(fpucw));
    sp[0] = (uint64_t)mxcsr | ((uint64_t)fpucw << 32);
    sp[1] = sp[2] = 0;                   /* r15, r14 */
    sp[3] = (uint64_t)(uintptr_t)&fiber_main; /* r13: called */
    sp[4] = 0;                           /* r12: its argument */
    sp[5] = sp[6] = 0;                   /* rbx, rbp */
    sp[7] = (uint64_t)(uintptr_t)&emu_ctx_start;
    f->sp = sp;
}

/* Switches from the running fiber back to the scheduler. */
/* The running fiber stops (at a barrier, or finished): switch straight to the
 * next ready fiber of this pass, in the launch's order, or back to the
 * scheduler at the end of the pass. */
void pass_on(void)
{
    launch_ctx &c = *L;
    fiber *from = c.cur;
    while (++c.pos < c.n) {
        fiber &f = c.fibers[(size_t)c.order[(size_t)c.pos]];
        if (f.state == F_READY) {
            c.cur = &f;
            threadIdx = f.tid;
            emu_ctx_switch(&from->sp, f.sp);
            return; /* resumed: whoever switched here set cur and threadIdx */
        }
    }
    emu_ctx_switch(&from->sp, c.sched_sp);
}

void yield_to_scheduler(void)
{
    pass_on();
}

struct order_cfg {
    int mode; /* 0 forward, 1 reverse, 2 shuffle */
    uint64_t seed;
};

order_cfg order_from_env(void)
{
    static order_cfg c;
    static bool done;
    if (done)
        return c;
    done = true;
    const char *s = getenv("PEERGRAPH_CUDA_EMU_ORDER");
    c.mode = 0, c.seed = 1;
    if (!s || !*s || !strcmp(s, "forward"))
        c.mode = 0;
    else if (!strcmp(s, "reverse"))
        c.mode = 1;
    else if (!strncmp(s, "shuffle", 7) && (s[7] == 0 || s[7] == ':')) {
        c.mode = 2;
        if (s[7] == ':')
            c.seed = strtoull(s + 8, nullptr, 10);
    } else
        die("PEERGRAPH_CUDA_EMU_ORDER='%s': forward, reverse or shuffle[:SEED]", s);
    return c;
}

uint64_t rng_state = 0;
uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void make_order(std::vector<int> &v, int n, const order_cfg &c)
{
    v.resize((size_t)n);
    for (int i = 0; i < n; i++)
        v[(size_t)i] = c.mode == 1 ? n - 1 - i : i;
    if (c.mode == 2)
        for (int i = n - 1; i > 0; i--)
            std::swap(v[(size_t)i], v[(size_t)(rng_next() % (uint64_t)(i + 1))]);
}

[[noreturn]] void stuck(const char *why)
{
    std::string s;
    for (size_t w = 0; w < L->warps.size(); w++) {
        int at_shfl = 0, at_sync = 0, exited = 0;
        for (int i = 0; i < L->warps[w].size; i++) {
            const fiber &f = L->fibers[w * 32 + (size_t)i];
            at_shfl += f.state == F_WARP_BAR, at_sync += f.state == F_BLOCK_BAR,
                exited += f.state == F_DONE;
        }
        char b[160];
        snprintf(b, sizeof b, "\n  warp %zu: %d lanes at a shuffle, %d at __syncthreads, %d exited", w,
                 at_shfl, at_sync, exited);
        s += b;
    }
    die("kernel %s, block (%u, %u, %u) of (%u, %u, %u), %u x %u x %u threads: %s (undefined on a "
        "GPU)%s",
        L->name, blockIdx.x, blockIdx.y, blockIdx.z, L->grid.x, L->grid.y, L->grid.z, L->block.x,
        L->block.y, L->block.z, why, s.c_str());
}

void run_block(const order_cfg &oc)
{
    launch_ctx &c = *L;
    if (c.smem_used)
        memset(c.smem_static, 0xff, c.smem_used);
    if (!c.smem_dyn.empty())
        memset(c.smem_dyn.data(), 0xff, c.smem_dyn.size());
    for (warp_state &w : c.warps)
        w.waiting = 0, w.done = 0;
    c.block_waiting = 0, c.done = 0;
    for (fiber &f : c.fibers) {
        f.state = F_READY;
        f.shfl_count = 0;
        fiber_init(&f);
    }
    if (oc.mode == 2)
        make_order(c.order, c.n, oc);
    for (;;) {
        /* one pass: the first ready fiber runs, each passes on to the next */
        for (c.pos = 0; c.pos < c.n; c.pos++) {
            fiber &f = c.fibers[(size_t)c.order[(size_t)c.pos]];
            if (f.state == F_READY) {
                c.cur = &f;
                threadIdx = f.tid;
                emu_ctx_switch(&c.sched_sp, f.sp);
                break;
            }
        }
        c.cur = nullptr;
        if (c.done == c.n)
            return;
        /* every fiber waits: complete the barriers that can complete */
        bool released = false;
        for (size_t w = 0; w < c.warps.size(); w++) {
            warp_state &ws = c.warps[w];
            if (!ws.waiting)
                continue;
            if (ws.waiting != ws.size)
                continue;
            const unsigned cnt = c.fibers[w * 32].shfl_count;
            for (int l = 0; l < ws.size; l++) {
                fiber &f = c.fibers[w * 32 + (size_t)l];
                if (f.shfl_count != cnt)
                    stuck("the lanes of a warp reached different shuffles");
                f.state = F_READY;
            }
            ws.waiting = 0;
            released = true;
        }
        if (released)
            continue;
        if (c.block_waiting == c.n - c.done && c.block_waiting > 0) {
            if (c.done)
                stuck("__syncthreads reached by some threads after others exited");
            for (fiber &f : c.fibers)
                f.state = F_READY;
            c.block_waiting = 0;
            continue;
        }
        for (warp_state &ws : c.warps)
            if (ws.waiting && ws.done)
                stuck("a full-mask shuffle after some lanes of the warp exited");
        stuck("threads wait at barriers that cannot complete");
    }
}

char *stack_pool(void)
{
    if (!stacks) {
        const size_t page = (size_t)sysconf(_SC_PAGESIZE), per = STACK_BYTES + page;
        void *p = mmap(nullptr, per * MAX_THREADS, PROT_READ | PROT_WRITE,
                       MAX_THREADS ? MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE : 0, -1, 0);
        if (p == MAP_FAILED)
            die("no memory for %d fiber stacks", MAX_THREADS);
        for (int i = 0; i < MAX_THREADS; i++) /* a guard page under each stack */
            mprotect((char *)p + per * (size_t)i, page, PROT_NONE);
        stacks = (char *)p;
    }
    return stacks;
}

void run_kernel(const emu::launch_cfg &cfg, std::function<void()> &body)
{
    static order_cfg oc = order_from_env();
    auto c = std::make_unique<launch_ctx>();
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    char *pool = stack_pool();
    c->name = cfg.name;
    c->body = &body;
    c->grid = cfg.grid, c->block = cfg.block;
    c->n = (int)(cfg.block.x * cfg.block.y * cfg.block.z);
    c->fibers.resize((size_t)c->n);
    c->warps.resize((size_t)(c->n + 31) / 32);
    for (size_t w = 0; w < c->warps.size(); w++)
        c->warps[w].size = std::min(32, c->n - (int)w * 32);
    for (int i = 0; i < c->n; i++) {
        fiber &f = c->fibers[(size_t)i];
        f.tid = uint3{(unsigned)i % cfg.block.x, (unsigned)i / cfg.block.x % cfg.block.y,
                      (unsigned)i / (cfg.block.x * cfg.block.y)};
        f.warp = i / 32, f.lane = i % 32;
        f.stack_top = pool + (STACK_BYTES + page) * (size_t)(i + 1);
    }
    make_order(c->order, c->n, oc);
    c->smem_dyn.resize(cfg.smem);
    c->smem_used = 0;
    L = c.get();
    blockDim = cfg.block, gridDim = cfg.grid;
    const uint64_t nb = (uint64_t)cfg.grid.x * cfg.grid.y * cfg.grid.z;
    std::vector<uint64_t> border;
    if (oc.mode == 2) {
        border.resize(nb);
        for (uint64_t i = 0; i < nb; i++)
            border[i] = i;
        for (uint64_t i = nb - 1; i > 0; i--)
            std::swap(border[i], border[rng_next() % (i + 1)]);
    }
    for (uint64_t i = 0; i < nb; i++) {
        const uint64_t b = oc.mode == 2 ? border[i] : oc.mode == 1 ? nb - 1 - i : i;
        blockIdx = uint3{(unsigned)(b % cfg.grid.x), (unsigned)(b / cfg.grid.x % cfg.grid.y),
                         (unsigned)(b / ((uint64_t)cfg.grid.x * cfg.grid.y))};
        run_block(oc);
    }
    L = nullptr;
}

} // namespace

/* ---------------------------------------------------------------------------
 * Device side (called from kernels, on a fiber). */
namespace emu {

void syncthreads(void)
{
    if (!L || !L->cur)
        die("__syncthreads outside a kernel");
    L->cur->state = F_BLOCK_BAR;
    L->block_waiting++;
    yield_to_scheduler();
}

uint64_t shfl_xor(unsigned mask, uint64_t v, int lane_mask, int width)
{
    if (!L || !L->cur)
        die("__shfl_xor_sync outside a kernel");
    fiber &f = *L->cur;
    warp_state &w = L->warps[(size_t)f.warp];
    if (mask != 0xffffffffu || w.size != 32)
        die("kernel %s: __shfl_xor_sync with mask %#x in a warp of %d lanes (the emulator takes "
            "full warps and full masks only)",
            L->name, mask, w.size);
    if (width < 1 || width > 32 || (width & (width - 1)))
        die("kernel %s: __shfl_xor_sync width %d", L->name, width);
    const int ph = (int)(f.shfl_count & 1);
    w.slot[ph][f.lane] = v;
    f.state = F_WARP_BAR;
    w.waiting++;
    yield_to_scheduler();
    f.shfl_count++;
    int src = f.lane ^ lane_mask;
    if (src / width != f.lane / width || src < 0 || src > 31)
        src = f.lane; /* outside the lane's segment: its own value */
    return w.slot[ph][src];
}

void *smem_static(const void *key, size_t bytes)
{
    launch_ctx &c = *L;
    for (auto &k : c.smem_keys)
        if (k.first == key)
            return c.smem_static + k.second;
    const size_t off = (c.smem_used + 15) & ~(size_t)15;
    if (off + bytes + c.smem_dyn.size() > SMEM_LIMIT)
        die("kernel %s: %zu bytes of static and %zu of dynamic shared memory: over 48 KiB",
            c.name, off + bytes, c.smem_dyn.size());
    c.smem_keys.push_back({key, off});
    c.smem_used = off + bytes;
    memset(c.smem_static + off, 0xff, bytes);
    return c.smem_static + off;
}

void *smem_dyn(void)
{
    return L->smem_dyn.empty() ? nullptr : L->smem_dyn.data();
}

void submit(const launch_cfg &c, std::function<void()> body, const std::vector<const void *> &ptrs)
{
    LOCKED;
    const uint64_t threads = (uint64_t)c.block.x * c.block.y * c.block.z;
    if (!c.block.x || !c.block.y || !c.block.z || threads > 1024 || c.block.z > 64 ||
        !c.grid.x || !c.grid.y || !c.grid.z || c.grid.x > 0x7fffffffu || c.grid.y > 65535 ||
        c.grid.z > 65535) {
        if (emu_stream *s = S(c.st); s->capture)
            s->capture_invalid = true;
        fail(cudaErrorInvalidConfiguration);
        return;
    }
    if (c.smem > SMEM_LIMIT) {
        if (emu_stream *s = S(c.st); s->capture)
            s->capture_invalid = true;
        fail(cudaErrorInvalidValue);
        return;
    }
    if (!valid_stream(c.st))
        die("kernel %s launched on an unknown stream %p", c.name, (void *)c.st);
    for (size_t i = 0; i < ptrs.size(); i++)
        if (ptrs[i] && !find_alloc(ptrs[i], 0))
            die("kernel %s: pointer argument %zu (%p) is not in device or pinned memory", c.name,
                i, ptrs[i]);
    launch_cfg cfg = c;
    enqueue(c.st, [cfg, body]() mutable { run_kernel(cfg, body); });
}

} // namespace emu

/* ---------------------------------------------------------------------------
 * Runtime API. */
cudaError_t cudaGetDeviceCount(int *n)
{
    *n = 1;
    return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int dev)
{
    if (dev != 0)
        return fail(cudaErrorInvalidDevice);
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "peergraph CPU emulator");
    p->totalGlobalMem = device_total();
    p->major = 9, p->minor = 0;
    p->multiProcessorCount = 1;
    return cudaSuccess;
}

cudaError_t cudaSetDevice(int dev)
{
    return dev == 0 ? cudaSuccess : fail(cudaErrorInvalidDevice);
}

cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total_bytes)
{
    LOCKED;
    *total_bytes = device_total();
    *free_bytes = device_total() - device_bytes_used;
    return cudaSuccess;
}

cudaError_t cudaGetLastError(void)
{
    cudaError_t e = last_error;
    last_error = cudaSuccess;
    return e;
}

const char *cudaGetErrorName(cudaError_t e)
{
    switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
    case cudaErrorIllegalState: return "cudaErrorIllegalState";
    case cudaErrorNotReady: return "cudaErrorNotReady";
    case cudaErrorStreamCaptureUnsupported: return "cudaErrorStreamCaptureUnsupported";
    case cudaErrorStreamCaptureInvalidated: return "cudaErrorStreamCaptureInvalidated";
    case cudaErrorStreamCaptureUnmatched: return "cudaErrorStreamCaptureUnmatched";
    case cudaErrorStreamCaptureWrongThread: return "cudaErrorStreamCaptureWrongThread";
    }
    return "cudaErrorUnknown";
}

const char *cudaGetErrorString(cudaError_t e)
{
    switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorIllegalState: return "the operation cannot be performed in the present state";
    case cudaErrorNotReady: return "device not ready";
    case cudaErrorStreamCaptureUnsupported: return "operation not permitted when stream is capturing";
    case cudaErrorStreamCaptureInvalidated: return "operation failed due to a previous error during capture";
    case cudaErrorStreamCaptureUnmatched: return "capture was not initiated in this stream";
    case cudaErrorStreamCaptureWrongThread: return "attempt to terminate a thread-local capture sequence from another thread";
    }
    return "unknown error";
}

/* Each allocation ends (rounded up to 256 bytes, CUDA's alignment) at an
 * inaccessible page, with another before its first page: a kernel that reads
 * or writes past either end faults at once. The bytes between the page
 * boundary and the start, and from the end to the 256-byte boundary, hold a
 * pattern that cudaFree checks. */
constexpr unsigned char SLACK = 0xa5;

static size_t page_size(void)
{
    static size_t p = (size_t)sysconf(_SC_PAGESIZE);
    return p;
}

static void map_geometry(size_t bytes, size_t *data_pages_bytes, size_t *rounded)
{
    const size_t pg = page_size();
    *rounded = (bytes + 255) & ~(size_t)255;
    if (!*rounded)
        *rounded = 256;
    *data_pages_bytes = (*rounded + pg - 1) / pg * pg;
}

static void slack_check(const void *p, size_t bytes)
{
    size_t data, rounded;
    map_geometry(bytes, &data, &rounded);
    const unsigned char *start = (const unsigned char *)p, *first = start + rounded - data;
    for (const unsigned char *q = first; q < start; q++)
        if (*q != SLACK)
            die("memory before the allocation %p (%zu bytes) was written: %zd bytes before it", p,
                bytes, start - q);
    for (const unsigned char *q = start + rounded - 1; q >= start + bytes && q > first; q--)
        if (*q != SLACK)
            die("memory after the allocation %p (%zu bytes) was written: byte %zd past its end",
                p, bytes, q - (start + bytes));
}

static cudaError_t do_alloc(void **p, size_t bytes, mem_kind kind)
{
    LOCKED;
    *p = nullptr;
    if (refused_in_capture())
        return cudaErrorStreamCaptureUnsupported;
    flush_all(); /* allocation synchronises (conservatively) */
    if (kind == MEM_DEVICE && bytes > device_total() - device_bytes_used)
        return fail(cudaErrorMemoryAllocation);
    const size_t pg = page_size();
    size_t data, rounded;
    map_geometry(bytes, &data, &rounded);
    void *m = mmap(nullptr, data + 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
    if (m == MAP_FAILED)
        return fail(cudaErrorMemoryAllocation);
    unsigned char *first = (unsigned char *)m + pg;
    if (mprotect(m, pg, PROT_NONE) || mprotect(first + data, pg, PROT_NONE))
        die("mprotect: no guard pages");
    unsigned char *q = first + data - rounded;
    memset(first, SLACK, data);
    memset(q, 0xff, bytes); /* not zeros: a read of unwritten memory shows */
    allocs[(uintptr_t)q] = alloc_info{bytes, kind};
    if (kind == MEM_DEVICE)
        device_bytes_used += bytes;
    *p = q;
    return cudaSuccess;
}

static cudaError_t do_free(void *p, mem_kind kind)
{
    LOCKED;
    if (!p)
        return cudaSuccess;
    if (refused_in_capture())
        return cudaErrorStreamCaptureUnsupported;
    flush_all(); /* cudaFree synchronises the device */
    auto it = allocs.find((uintptr_t)p);
    if (it == allocs.end() || it->second.kind != kind)
        return fail(cudaErrorInvalidValue);
    const size_t bytes = it->second.bytes, pg = page_size();
    slack_check(p, bytes);
    if (kind == MEM_DEVICE)
        device_bytes_used -= bytes;
    allocs.erase(it);
    size_t data, rounded;
    map_geometry(bytes, &data, &rounded);
    munmap((unsigned char *)p + rounded - data - pg, data + 2 * pg);
    return cudaSuccess;
}

cudaError_t cudaMalloc(void **p, size_t bytes)
{
    return do_alloc(p, bytes, MEM_DEVICE);
}
cudaError_t cudaFree(void *p)
{
    return do_free(p, MEM_DEVICE);
}
cudaError_t cudaMallocHost(void **p, size_t bytes)
{
    return do_alloc(p, bytes, MEM_PINNED);
}
cudaError_t cudaFreeHost(void *p)
{
    return do_free(p, MEM_PINNED);
}

/* Is a copy of this kind between these ranges legal? Device sides must lie in
 * one device allocation, host sides must not be device memory. */
static bool copy_ok(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind)
{
    if (!bytes)
        return true;
    const bool dst_dev = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
    const bool src_dev = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
    if (kind == cudaMemcpyHostToHost)
        return false; /* not used by the sources */
    if (dst_dev ? !in_device(dst, bytes) : in_device(dst, 1))
        return false;
    if (src_dev ? !in_device(src, bytes) : in_device(src, 1))
        return false;
    return dst && src;
}

cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t st)
{
    LOCKED;
    if (!valid_stream(st))
        return fail(cudaErrorInvalidResourceHandle);
    if (!copy_ok(dst, src, bytes, kind))
        return fail(cudaErrorInvalidValue);
    if (!bytes)
        return cudaSuccess;
    const alloc_info *hs = find_alloc(src, bytes);
    if (kind == cudaMemcpyHostToDevice && !hs && !S(st)->capture) {
        /* from pageable memory: staged at the call, as the driver does */
        auto copy = std::make_shared<std::vector<unsigned char>>((const unsigned char *)src,
                                                                 (const unsigned char *)src + bytes);
        enqueue(st, [dst, copy] { memcpy(dst, copy->data(), copy->size()); });
    } else {
        enqueue(st, [dst, src, bytes] { memmove(dst, src, bytes); });
    }
    return cudaSuccess;
}

cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind)
{
    LOCKED;
    if (refused_in_capture())
        return cudaErrorStreamCaptureUnsupported;
    if (!copy_ok(dst, src, bytes, kind))
        return fail(cudaErrorInvalidValue);
    flush(&legacy_stream); /* the legacy stream's earlier work, not other streams' */
    if (bytes)
        memmove(dst, src, bytes);
    return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void *p, int byte, size_t bytes, cudaStream_t st)
{
    LOCKED;
    if (!valid_stream(st))
        return fail(cudaErrorInvalidResourceHandle);
    if (bytes && !in_device(p, bytes))
        return fail(cudaErrorInvalidValue);
    enqueue(st, [p, byte, bytes] { memset(p, byte, bytes); });
    return cudaSuccess;
}

cudaError_t cudaMemset(void *p, int byte, size_t bytes)
{
    LOCKED;
    if (refused_in_capture())
        return cudaErrorStreamCaptureUnsupported;
    if (bytes && !in_device(p, bytes))
        return fail(cudaErrorInvalidValue);
    flush_all(); /* a device memset synchronises (conservatively) */
    memset(p, byte, bytes);
    return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize(void)
{
    LOCKED;
    if (refused_in_capture())
        return cudaErrorStreamCaptureUnsupported;
    flush_all();
    return cudaSuccess;
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t *st, unsigned flags)
{
    LOCKED;
    if (flags != cudaStreamNonBlocking)
        die("cudaStreamCreateWithFlags(%#x): the emulator has non-blocking streams only", flags);
    *st = new emu_stream;
    streams.push_back(*st);
    return cudaSuccess;
}

cudaError_t cudaStreamDestroy(cudaStream_t st)
{
    LOCKED;
    auto it = std::find(streams.begin(), streams.end(), st);
    if (!st || it == streams.end())
        return fail(cudaErrorInvalidResourceHandle);
    flush(st); /* its work completes first */
    if (st->capture)
        die("a stream destroyed while capturing");
    streams.erase(it);
    delete st;
    return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t st)
{
    LOCKED;
    if (!valid_stream(st))
        return fail(cudaErrorInvalidResourceHandle);
    if (S(st)->capture) {
        S(st)->capture_invalid = true;
        return fail(cudaErrorStreamCaptureUnsupported);
    }
    if (refused_in_capture())
        return cudaErrorStreamCaptureUnsupported;
    flush(S(st));
    return cudaSuccess;
}

cudaError_t cudaEventCreate(cudaEvent_t *e)
{
    LOCKED;
    *e = new emu_event;
    return cudaSuccess;
}

cudaError_t cudaEventDestroy(cudaEvent_t e)
{
    LOCKED;
    delete e;
    return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t st)
{
    LOCKED;
    if (!valid_stream(st))
        return fail(cudaErrorInvalidResourceHandle);
    if (S(st)->capture) /* event nodes: not used by the sources */
        return refused_in_capture() ? cudaErrorStreamCaptureUnsupported
                                    : fail(cudaErrorStreamCaptureUnsupported);
    e->done = false;
    e->st = S(st);
    enqueue(st, [e] {
        e->ms = now_ms();
        e->done = true;
    });
    return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t e)
{
    LOCKED;
    if (refused_in_capture())
        return cudaErrorStreamCaptureUnsupported;
    if (e->st)
        flush(e->st);
    return cudaSuccess;
}

cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t a, cudaEvent_t b)
{
    LOCKED;
    if (!a->done || !b->done)
        return fail(cudaErrorNotReady);
    *ms = (float)(b->ms - a->ms);
    return cudaSuccess;
}

cudaError_t cudaStreamBeginCapture(cudaStream_t st, cudaStreamCaptureMode mode)
{
    LOCKED;
    if (!st || !valid_stream(st))
        return fail(cudaErrorStreamCaptureUnsupported); /* the legacy stream cannot capture */
    if (st->capture)
        return fail(cudaErrorIllegalState);
    st->capture = new emu_graph;
    st->capture_invalid = false;
    st->capture_thread = std::this_thread::get_id();
    st->capture_mode = mode;
    return cudaSuccess;
}

cudaError_t cudaStreamEndCapture(cudaStream_t st, cudaGraph_t *g)
{
    LOCKED;
    *g = nullptr;
    if (!st || !valid_stream(st) || !st->capture)
        return fail(cudaErrorStreamCaptureUnmatched);
    if (st->capture_mode != cudaStreamCaptureModeRelaxed &&
        st->capture_thread != std::this_thread::get_id())
        return fail(cudaErrorStreamCaptureWrongThread);
    emu_graph *gr = st->capture;
    st->capture = nullptr;
    if (st->capture_invalid) {
        st->capture_invalid = false;
        delete gr;
        return fail(cudaErrorStreamCaptureInvalidated);
    }
    *g = gr;
    return cudaSuccess;
}

cudaError_t cudaGraphInstantiate(cudaGraphExec_t *ge, cudaGraph_t g, unsigned long long flags)
{
    LOCKED;
    if (!g || flags)
        return fail(cudaErrorInvalidValue);
    *ge = new emu_graph(*g); /* the nodes are shared: they hold copied arguments */
    return cudaSuccess;
}

cudaError_t cudaGraphLaunch(cudaGraphExec_t ge, cudaStream_t st)
{
    LOCKED;
    if (!ge || !valid_stream(st))
        return fail(cudaErrorInvalidResourceHandle);
    if (S(st)->capture) /* child graphs: not used by the sources */
        die("cudaGraphLaunch into a capturing stream");
    for (auto &n : ge->nodes)
        S(st)->q.push_back(n);
    return cudaSuccess;
}

cudaError_t cudaGraphDestroy(cudaGraph_t g)
{
    LOCKED;
    delete g;
    return cudaSuccess;
}

cudaError_t cudaGraphExecDestroy(cudaGraphExec_t ge)
{
    LOCKED;
    delete ge;
    return cudaSuccess;
}

/* ---------------------------------------------------------------------------
 * cuBLAS: cublasGemmEx as the cuBLAS documentation defines it,
 *   C = alpha op(A) op(B) + beta C   (column-major; C is m x n, op(A) m x k),
 * A and B bf16, fp16 or fp32 (the same type), C fp32, fp32 accumulation; with
 * beta = 0, C is not read (it may hold NaN). */
cublasStatus_t cublasCreate(cublasHandle_t *h)
{
    *h = new emu_blas;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDestroy(cublasHandle_t h)
{
    if (!h)
        return CUBLAS_STATUS_NOT_INITIALIZED;
    delete h;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetStream(cublasHandle_t h, cudaStream_t st)
{
    LOCKED;
    if (!h)
        return CUBLAS_STATUS_NOT_INITIALIZED;
    if (!valid_stream(st))
        return CUBLAS_STATUS_INVALID_VALUE;
    h->st = st;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetWorkspace(cublasHandle_t h, void *ws, size_t bytes)
{
    LOCKED;
    if (!h)
        return CUBLAS_STATUS_NOT_INITIALIZED;
    if (bytes && !in_device(ws, bytes))
        return CUBLAS_STATUS_INVALID_VALUE;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetMathMode(cublasHandle_t h, cublasMath_t mode)
{
    if (!h)
        return CUBLAS_STATUS_NOT_INITIALIZED;
    return mode == CUBLAS_DEFAULT_MATH ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_INVALID_VALUE;
}

const char *cublasGetStatusString(cublasStatus_t s)
{
    switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    }
    return "CUBLAS_STATUS_UNKNOWN_ERROR";
}

namespace {
size_t type_bytes(cudaDataType_t t)
{
    return t == CUDA_R_32F ? 4 : 2;
}

typedef float v4f __attribute__((vector_size(16)));

inline v4f ld4(const float *p)
{
    v4f v;
    memcpy(&v, p, sizeof v);
    return v;
}

inline float hsum(v4f v)
{
    return (v[0] + v[1]) + (v[2] + v[3]);
}

inline float cvt(float x)
{
    return x;
}
inline float cvt(__half x)
{
    return __half2float(x);
}
inline float cvt(__nv_bfloat16 x)
{
    return __uint_as_float((uint32_t)x.__x << 16);
}

/* Packs rows r0 .. r0 + rows - 1 of op(X) (each k long) as rows of kp floats,
 * zero-padded, reading X in its storage order. */
template <class T>
void pack_t(const T *X, cublasOperation_t op, int ld, int r0, int rows, int k, int kp, float *out)
{
    if (op == CUBLAS_OP_T) { /* row r of op(X) is column r of X: contiguous */
        for (int i = 0; i < rows; i++)
            for (int p = 0; p < k; p++)
                out[(size_t)i * kp + p] = cvt(X[(size_t)p + (size_t)(r0 + i) * ld]);
    } else { /* element (r, p) at r + p ld: walk r fastest */
        for (int p = 0; p < k; p++)
            for (int i = 0; i < rows; i++)
                out[(size_t)i * kp + p] = cvt(X[(size_t)(r0 + i) + (size_t)p * ld]);
    }
    for (int i = 0; i < rows; i++)
        for (int p = k; p < kp; p++)
            out[(size_t)i * kp + p] = 0.0f;
}

void pack(cudaDataType_t t, const void *X, cublasOperation_t op, int ld, int r0, int rows, int k,
          int kp, float *out)
{
    if (t == CUDA_R_32F)
        pack_t((const float *)X, op, ld, r0, rows, k, kp, out);
    else if (t == CUDA_R_16F)
        pack_t((const __half *)X, op, ld, r0, rows, k, kp, out);
    else
        pack_t((const __nv_bfloat16 *)X, op, ld, r0, rows, k, kp, out);
}

/* C (m x n) = alpha op(A) op(B) + beta C, fp32 sums in 4 lanes: rows of op(A)
 * in panels of 64, tiles of 4 rows x 2 columns. */
void gemm_run(cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, float alpha,
              const void *A, cudaDataType_t at, int lda, const void *B, cudaDataType_t bt, int ldb,
              float beta, float *C, int ldc)
{
    const int kp = (k + 7) & ~7;
    std::vector<float> bk((size_t)n * kp + 8), ak((size_t)64 * kp + 8);
    /* column j of op(B) is row j of op'(B) = op(B)^T: pack those n rows */
    pack(bt, B, tb == CUBLAS_OP_N ? CUBLAS_OP_T : CUBLAS_OP_N, ldb, 0, n, k, kp, bk.data());
    for (int i0 = 0; i0 < m; i0 += 64) {
        const int mi = std::min(64, m - i0);
        pack(at, A, ta, lda, i0, mi, k, kp, ak.data());
        for (int j0 = 0; j0 < n; j0 += 2) {
            const int nj = std::min(2, n - j0);
            const float *b0 = &bk[(size_t)j0 * kp], *b1 = nj > 1 ? b0 + kp : b0;
            for (int ii = 0; ii < mi; ii += 4) {
                const int ni = std::min(4, mi - ii);
                const float *a[4];
                for (int r = 0; r < 4; r++)
                    a[r] = &ak[(size_t)(ii + (r < ni ? r : 0)) * kp];
                v4f acc[4][2] = {};
                for (int p = 0; p < kp; p += 4) {
                    const v4f x0 = ld4(b0 + p), x1 = ld4(b1 + p);
                    for (int r = 0; r < 4; r++) {
                        const v4f w = ld4(a[r] + p);
                        acc[r][0] += w * x0;
                        acc[r][1] += w * x1;
                    }
                }
                for (int r = 0; r < ni; r++)
                    for (int c = 0; c < nj; c++) {
                        const float sum = hsum(acc[r][c]);
                        float *y = &C[(size_t)(i0 + ii + r) + (size_t)(j0 + c) * ldc];
                        *y = beta == 0.0f ? alpha * sum : alpha * sum + beta * *y;
                    }
            }
        }
    }
}

/* bytes a column-major (rows, cols) matrix with leading dimension ld spans */
size_t span(int rows, int cols, int ld, size_t elem)
{
    return ((size_t)(cols - 1) * (size_t)ld + (size_t)rows) * elem;
}
} // namespace

cublasStatus_t cublasGemmEx(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m,
                            int n, int k, const void *alpha, const void *A, cudaDataType_t at,
                            int lda, const void *B, cudaDataType_t bt, int ldb, const void *beta,
                            void *C, cudaDataType_t ct, int ldc, cublasComputeType_t compute,
                            cublasGemmAlgo_t algo)
{
    LOCKED;
    if (!h)
        return CUBLAS_STATUS_NOT_INITIALIZED;
    if ((ta != CUBLAS_OP_N && ta != CUBLAS_OP_T) || (tb != CUBLAS_OP_N && tb != CUBLAS_OP_T) ||
        m < 0 || n < 0 || k < 0 || lda < std::max(1, ta == CUBLAS_OP_N ? m : k) ||
        ldb < std::max(1, tb == CUBLAS_OP_N ? k : n) || ldc < std::max(1, m))
        return CUBLAS_STATUS_INVALID_VALUE;
    if (compute != CUBLAS_COMPUTE_32F || algo != CUBLAS_GEMM_DEFAULT || at != bt ||
        ct != CUDA_R_32F || (at != CUDA_R_32F && at != CUDA_R_16F && at != CUDA_R_16BF))
        return CUBLAS_STATUS_NOT_SUPPORTED;
    if (!m || !n)
        return CUBLAS_STATUS_SUCCESS;
    const float al = *(const float *)alpha, be = *(const float *)beta; /* host pointer mode */
    const size_t es = type_bytes(at);
    if (k && (!find_alloc(A, span(ta == CUBLAS_OP_N ? m : k, ta == CUBLAS_OP_N ? k : m, lda, es)) ||
              !find_alloc(B, span(tb == CUBLAS_OP_N ? k : n, tb == CUBLAS_OP_N ? n : k, ldb, es))))
        die("cublasGemmEx (%c%c, m %d n %d k %d, lda %d ldb %d): A %p or B %p not inside one "
            "device allocation",
            ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, lda, ldb, A, B);
    if (!find_alloc(C, span(m, n, ldc, 4)))
        die("cublasGemmEx (m %d n %d, ldc %d): C %p not inside one device allocation", m, n, ldc,
            C);
    float *Cf = (float *)C;
    enqueue(h->st, [=] { gemm_run(ta, tb, m, n, k, al, A, at, lda, B, bt, ldb, be, Cf, ldc); });
    return CUBLAS_STATUS_SUCCESS;
}
