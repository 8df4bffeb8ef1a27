/* The adapter registry: adapters load on demand, stay while they fit a memory
 * budget, and the least recently used one that nobody holds is evicted first.
 *
 * One mutex guards the table; file reads and parsing run outside it, so loads
 * of different adapters proceed in parallel and a thread waits only while the
 * adapter it asked for is being loaded by someone else (a shared condition
 * variable is broadcast when any load ends; each waiter re-checks its own
 * entry). A failed load removes its entry: the next acquire tries again.
 *
 * A file rewritten in place (a retrained adapter at the same path) is noticed
 * by its size and mtime at the next acquire: the old entry turns stale (no
 * longer found; freed when its last holder releases it) and the new file
 * loads, so running requests keep the adapter they started with. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "inference/adapter.h"

typedef struct entry {
    char *path;
    pgr_adapter *ad; /* NULL while loading */
    int loading;
    int refs;
    uint64_t last_use; /* registry clock tick */
    int stale;         /* the file changed since: not found any more */
    long long size, mtime_ns; /* the file when loaded */
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
        if (!e->stale && strcmp(e->path, path) == 0)
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

static void drop_entry(pgr_adapter_reg *r, entry *x)
{
    unlink_entry(r, x);
    r->st.bytes -= x->ad->bytes;
    r->st.n_loaded--;
    pgr_adapter_free(x->ad);
    free(x->path);
    free(x);
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
        r->st.evictions++;
        drop_entry(r, lru);
    }
}

int pgr_adapter_reg_acquire(pgr_adapter_reg *r, const char *path, const pgr_adapter **out,
                            pgr_err *err)
{
    *out = NULL;
    struct stat sb;
    long long size = -1, mtime_ns = -1; /* unknown: the load reports the error */
    if (stat(path, &sb) == 0)
        size = (long long)sb.st_size,
        mtime_ns = (long long)sb.st_mtim.tv_sec * 1000000000ll + sb.st_mtim.tv_nsec;
    pthread_mutex_lock(&r->mu);
    entry *e;
    while ((e = find_path(r, path)) && e->loading)
        pthread_cond_wait(&r->cv, &r->mu);
    if (e && (e->size != size || e->mtime_ns != mtime_ns)) {
        e->stale = 1; /* rewritten: load the new file */
        if (e->refs == 0)
            drop_entry(r, e);
        e = NULL;
    }
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
    e->size = size, e->mtime_ns = mtime_ns;
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
            if (--e->refs == 0 && e->stale)
                drop_entry(r, e);
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
