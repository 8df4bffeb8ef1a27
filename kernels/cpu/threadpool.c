/* A small pthread pool for the CPU kernels. A job is n_chunks independent
 * pieces of work; the caller and the workers take chunks from one atomic
 * ticket until none remain. The caller never waits for a worker to wake up:
 * on a shared 2-core machine a worker may be descheduled for a whole time
 * slice, and then the caller simply does its share. It only waits for chunks
 * that a worker has actually taken.
 *
 * The ticket holds (generation << 32 | next chunk). A worker that wakes late
 * and sees an old generation fails its compare-and-swap and takes nothing,
 * so job state may live on the caller's stack.
 *
 * Workers spin on the generation for a while after each job (decode issues
 * ~150 small jobs per token; waking a sleeping thread costs more than a
 * job), then sleep on a condition variable so an idle engine costs no CPU. */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

#include "kernels/cpu/cpu_impl.h"

#define SPIN_ROUNDS 100000

struct pgr_pool {
    int n;                 /* threads including the caller */
    pthread_t *th;
    pgr_task_fn fn;        /* current job, valid while its generation is live */
    void *arg;
    int n_chunks;
    atomic_uint gen;       /* bumped once per job */
    _Atomic uint64_t ticket;
    atomic_int done;       /* chunks finished in the current job */
    atomic_int sleepers;
    atomic_int stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

struct worker_arg {
    pgr_pool *p;
    int ith;
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Takes and runs chunks of generation g until none remain. */
static void run_chunks(pgr_pool *p, unsigned g, int ith)
{
    pgr_task_fn fn = p->fn;
    void *arg = p->arg;
    const int n = p->n_chunks;
    for (;;) {
        uint64_t t = atomic_load_explicit(&p->ticket, memory_order_acquire);
        if ((unsigned)(t >> 32) != g || (int)(uint32_t)t >= n)
            return;
        if (!atomic_compare_exchange_weak_explicit(&p->ticket, &t, t + 1, memory_order_acq_rel,
                                                   memory_order_acquire))
            continue;
        /* the successful CAS proves generation g is live, so fn/arg/n are g's */
        fn(arg, (int)(uint32_t)t, ith);
        atomic_fetch_add_explicit(&p->done, 1, memory_order_release);
    }
}

static void *worker(void *vp)
{
    struct worker_arg wa = *(struct worker_arg *)vp;
    free(vp);
    pgr_pool *p = wa.p;
    unsigned seen = 0;
    for (;;) {
        unsigned g;
        int spins = 0;
        while ((g = atomic_load_explicit(&p->gen, memory_order_acquire)) == seen &&
               !atomic_load_explicit(&p->stop, memory_order_relaxed)) {
            if (++spins < SPIN_ROUNDS) {
                cpu_relax();
                continue;
            }
            /* Sleep: re-check under the lock so a bump between the test and the
             * wait is not lost (run() broadcasts under the lock). */
            pthread_mutex_lock(&p->mu);
            atomic_fetch_add(&p->sleepers, 1);
            while (atomic_load(&p->gen) == seen && !atomic_load(&p->stop))
                pthread_cond_wait(&p->cv, &p->mu);
            atomic_fetch_sub(&p->sleepers, 1);
            pthread_mutex_unlock(&p->mu);
            spins = 0;
        }
        if (atomic_load(&p->stop))
            break;
        seen = g;
        run_chunks(p, g, wa.ith);
    }
    return NULL;
}

pgr_pool *pgr_pool_new(int n_threads)
{
    if (n_threads < 1)
        n_threads = 1;
    if (n_threads > 256)
        n_threads = 256;
    pgr_pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->n = n_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (n_threads > 1) {
        p->th = calloc((size_t)n_threads - 1, sizeof *p->th);
        if (!p->th) {
            p->n = 1;
            pgr_pool_free(p);
            return NULL;
        }
        for (int i = 1; i < n_threads; i++) {
            struct worker_arg *wa = malloc(sizeof *wa);
            if (wa) {
                wa->p = p;
                wa->ith = i;
            }
            if (!wa || pthread_create(&p->th[i - 1], NULL, worker, wa) != 0) {
                free(wa);
                p->n = i; /* only threads 1..i-1 exist: stop them */
                pgr_pool_free(p);
                return NULL;
            }
        }
    }
    return p;
}

void pgr_pool_free(pgr_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, 1);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->n; i++)
        pthread_join(p->th[i - 1], NULL);
    free(p->th);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}

int pgr_pool_threads(const pgr_pool *p) { return p->n; }

void pgr_pool_run(pgr_pool *p, pgr_task_fn fn, void *arg, int n_chunks)
{
    if (n_chunks <= 0)
        return;
    if (p->n == 1 || n_chunks == 1) {
        for (int c = 0; c < n_chunks; c++)
            fn(arg, c, 0);
        return;
    }
    unsigned g = atomic_load(&p->gen) + 1;
    p->fn = fn;
    p->arg = arg;
    p->n_chunks = n_chunks;
    atomic_store(&p->done, 0);
    atomic_store(&p->ticket, (uint64_t)g << 32);
    atomic_store(&p->gen, g); /* seq_cst: ordered before the sleepers load */
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    run_chunks(p, g, 0);
    /* every chunk is taken; wait for the ones a worker is still running */
    int spins = 0;
    while (atomic_load_explicit(&p->done, memory_order_acquire) < n_chunks) {
        if (++spins > 2000)
            sched_yield(); /* the worker holding a chunk needs this core */
        else
            cpu_relax();
    }
}
