/* The adapter registry: adapters load on demand, stay while they fit a memory
 * budget, and the least recently used one that nobody holds is evicted first.
 *
 * One mutex guards the table; file reads and parsing run outside it, so loads
 * of different adapters proceed in parallel and a thread waits only while the
 * adapter it asked for is being loaded by someone else (a shared condition
 * variable is broadcast when any load ends; each waiter re-checks its own
 * entry). A failed load removes its entry: the next acquire tries again. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inference/adapter.h"

typedef struct entry {
    char *path;
    pgr_adapter *ad; /* NULL while loading */
    int loading;
    int refs;
    uint64_t last_use; /* registry clock tick */
    struct entry *next;
} entry;

struct pgr_adapter_reg {
    const pgr_model *m;
    char sha[65];
    size_t budget;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    entry *head;
    uint64_t clock;
    pgr_adapter_reg_stats st;
};

int pgr_adapter_reg_new(const pgr_model *m, const char *model_sha256, size_t budget_bytes,
                        pgr_adapter_reg **out, pgr_err *err)
{
    pgr_adapter_reg *r = calloc(1, sizeof *r);
    *out = NULL;
    if (!r)
        return pgr_errf(err, PGR_ENOMEM, "out of memory");
    r->m = m, r->budget = budget_bytes;
    if (model_sha256)
        snprintf(r->sha, sizeof r->sha, "%s", model_sha256);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    *out = r;
    return 0;
}

void pgr_adapter_reg_free(pgr_adapter_reg *r)
{
    if (!r)
        return;
    for (entry *e = r->head, *n; e; e = n) {
        n = e->next;
        pgr_adapter_free(e->ad);
        free(e->path);
        free(e);
    }
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

static entry *find_path(pgr_adapter_reg *r, const char *path)
{
    for (entry *e = r->head; e; e = e->next)
        if (strcmp(e->path, path) == 0)
            return e;
    return NULL;
}

static void unlink_entry(pgr_adapter_reg *r, entry *x)
{
    for (entry **pp = &r->head; *pp; pp = &(*pp)->next)
        if (*pp == x) {
            *pp = x->next;
            return;
        }
}

/* Under the lock: evicts unheld, loaded adapters, oldest first, until within budget. */
static void evict(pgr_adapter_reg *r)
{
    while (r->st.bytes > r->budget) {
        entry *lru = NULL;
        for (entry *e = r->head; e; e = e->next)
            if (e->ad && !e->loading && e->refs == 0 && (!lru || e->last_use < lru->last_use))
                lru = e;
        if (!lru)
            return; /* everything left is in use: over budget until released */
        unlink_entry(r, lru);
        r->st.bytes -= lru->ad->bytes;
        r->st.n_loaded--;
        r->st.evictions++;
        pgr_adapter_free(lru->ad);
        free(lru->path);
        free(lru);
    }
}

int pgr_adapter_reg_acquire(pgr_adapter_reg *r, const char *path, const pgr_adapter **out,
                            pgr_err *err)
{
    *out = NULL;
    pthread_mutex_lock(&r->mu);
    entry *e;
    while ((e = find_path(r, path)) && e->loading)
        pthread_cond_wait(&r->cv, &r->mu);
    if (e) {
        e->refs++;
        e->last_use = ++r->clock;
        r->st.hits++;
        *out = e->ad;
        pthread_mutex_unlock(&r->mu);
        return 0;
    }
    e = calloc(1, sizeof *e);
    if (!e || !(e->path = strdup(path))) {
        free(e);
        pthread_mutex_unlock(&r->mu);
        return pgr_errf(err, PGR_ENOMEM, "out of memory");
    }
    e->loading = 1;
    e->next = r->head;
    r->head = e;
    pthread_mutex_unlock(&r->mu);

    pgr_adapter *ad = NULL;
    int rc = pgr_adapter_load(path, r->m, r->sha, &ad, err);

    pthread_mutex_lock(&r->mu);
    if (rc != 0) {
        unlink_entry(r, e);
        free(e->path);
        free(e);
    } else {
        e->ad = ad;
        e->loading = 0;
        e->refs = 1;
        e->last_use = ++r->clock;
        r->st.bytes += ad->bytes;
        r->st.n_loaded++;
        r->st.loads++;
        *out = ad;
        evict(r);
    }
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    return rc;
}

void pgr_adapter_reg_release(pgr_adapter_reg *r, const pgr_adapter *a)
{
    if (!a)
        return;
    pthread_mutex_lock(&r->mu);
    for (entry *e = r->head; e; e = e->next)
        if (e->ad == a && e->refs > 0) {
            e->refs--;
            break;
        }
    evict(r);
    pthread_mutex_unlock(&r->mu);
}

void pgr_adapter_reg_stats_get(pgr_adapter_reg *r, pgr_adapter_reg_stats *out)
{
    pthread_mutex_lock(&r->mu);
    *out = r->st;
    pthread_mutex_unlock(&r->mu);
}
