/* A small pthread pool for the CPU kernels: one job at a time, run on every
 * thread, the caller included. Workers spin on a generation counter for a
 * while after each job because decode issues ~150 tiny jobs per token; after
 * SPIN_ROUNDS idle polls they sleep on a condition variable so an idle engine
 * costs no CPU. */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

#include "kernels/cpu/cpu_impl.h"

#define SPIN_ROUNDS 200000

struct pgr_pool {
    int n;                 /* threads including the caller */
    pthread_t *th;
    pgr_task_fn fn;
    void *arg;
    atomic_uint gen;       /* bumped once per job */
    atomic_int pending;    /* workers still running the current job */
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
             * wait is not lost (run() bumps and broadcasts under the lock). */
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
        p->fn(p->arg, wa.ith, p->n);
        atomic_fetch_sub_explicit(&p->pending, 1, memory_order_release);
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
        if (!p->th)
            goto fail;
        for (int i = 1; i < n_threads; i++) {
            struct worker_arg *wa = malloc(sizeof *wa);
            if (!wa)
                goto fail_threads;
            wa->p = p;
            wa->ith = i;
            if (pthread_create(&p->th[i - 1], NULL, worker, wa) != 0) {
                free(wa);
                goto fail_threads;
            }
            continue;
        fail_threads:
            p->n = i; /* only threads 1..i-1 exist: stop them */
            pgr_pool_free(p);
            return NULL;
        }
    }
    return p;
fail:
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
    return NULL;
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

void pgr_pool_run(pgr_pool *p, pgr_task_fn fn, void *arg)
{
    if (p->n == 1) {
        fn(arg, 0, 1);
        return;
    }
    p->fn = fn;
    p->arg = arg;
    atomic_store_explicit(&p->pending, p->n - 1, memory_order_relaxed);
    atomic_fetch_add(&p->gen, 1); /* seq_cst: ordered before the sleepers load */
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    fn(arg, 0, p->n);
    int spins = 0;
    while (atomic_load_explicit(&p->pending, memory_order_acquire) > 0) {
        /* A descheduled worker on a busy 2-core machine: yield instead of
         * burning the core it needs. */
        if (++spins > 10000)
            sched_yield();
        else
            cpu_relax();
    }
}
