/* Request metrics for /metrics in the Prometheus text format. Counters are
 * atomics in fixed arrays sized when the routes are known, so recording a
 * request never allocates or locks. */
#include <stdlib.h>
#include <string.h>

#include "server/http_impl.h"

/* Latency buckets (seconds): from a cached entity (sub-millisecond) to a
 * generated summary (seconds). */
static const double bucket_le[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                   0.05,   0.1,   0.25,   0.5,   1,    2.5, 5, 10};
#define NBUCKETS (sizeof bucket_le / sizeof bucket_le[0])
#define NSTATUS 600

typedef struct histo {
    atomic_ullong bucket[NBUCKETS + 1]; /* last = +Inf */
    atomic_ullong sum_us;
    atomic_ullong count;
} histo;

typedef struct slot {
    atomic_ullong status[NSTATUS];
    histo latency;
    histo db;
} slot;

struct srv_metrics {
    size_t nslots;
    slot *slots;
    atomic_ullong rate_limited;
};

srv_metrics *srv_metrics_new(size_t nroutes)
{
    srv_metrics *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->nslots = nroutes + 1;
    m->slots = calloc(m->nslots, sizeof *m->slots);
    if (!m->slots) {
        free(m);
        return NULL;
    }
    return m;
}

void srv_metrics_free(srv_metrics *m)
{
    if (!m)
        return;
    free(m->slots);
    free(m);
}

static void histo_add(histo *h, uint64_t us)
{
    double s = (double)us / 1e6;
    size_t i = 0;
    while (i < NBUCKETS && s > bucket_le[i])
        i++;
    atomic_fetch_add(&h->bucket[i], 1);
    atomic_fetch_add(&h->sum_us, us);
    atomic_fetch_add(&h->count, 1);
}

void srv_metrics_request(srv_metrics *m, size_t slot_i, int status, uint64_t us, uint64_t db_us)
{
    if (!m || slot_i >= m->nslots)
        return;
    slot *s = &m->slots[slot_i];
    if (status >= 0 && status < NSTATUS)
        atomic_fetch_add(&s->status[status], 1);
    histo_add(&s->latency, us);
    histo_add(&s->db, db_us);
}

void srv_metrics_rate_limited(srv_metrics *m)
{
    if (m)
        atomic_fetch_add(&m->rate_limited, 1);
}

/* Prometheus label values escape backslash, double quote and newline. */
static void label(pgr_sb *sb, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            pgr_sb_putc(sb, '\\'), pgr_sb_putc(sb, *v);
        else if (*v == '\n')
            pgr_sb_puts(sb, "\\n");
        else
            pgr_sb_putc(sb, *v);
    }
}

static void histo_render(pgr_sb *sb, const char *metric, const char *route, const histo *h)
{
    unsigned long long cum = 0;
    for (size_t i = 0; i <= NBUCKETS; i++) {
        cum += atomic_load(&h->bucket[i]);
        pgr_sb_printf(sb, "%s_bucket{route=\"", metric);
        label(sb, route);
        if (i < NBUCKETS)
            pgr_sb_printf(sb, "\",le=\"%g\"} %llu\n", bucket_le[i], cum);
        else
            pgr_sb_printf(sb, "\",le=\"+Inf\"} %llu\n", cum);
    }
    pgr_sb_printf(sb, "%s_sum{route=\"", metric);
    label(sb, route);
    pgr_sb_printf(sb, "\"} %.6f\n", (double)atomic_load(&h->sum_us) / 1e6);
    pgr_sb_printf(sb, "%s_count{route=\"", metric);
    label(sb, route);
    pgr_sb_printf(sb, "\"} %llu\n", (unsigned long long)atomic_load(&h->count));
}

/* Cache counters are process-wide: caches live in modules that have no
 * request at hand (summary cache, entity cache). */
#define MAX_CACHES 32
static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    char name[48];
    atomic_ullong hits, misses;
} caches[MAX_CACHES];
static int ncaches;

void srv_note_cache(const char *cache, int hit)
{
    int i;
    pthread_mutex_lock(&cache_mu);
    for (i = 0; i < ncaches; i++)
        if (!strcmp(caches[i].name, cache))
            break;
    if (i == ncaches && ncaches < MAX_CACHES) {
        snprintf(caches[i].name, sizeof caches[i].name, "%s", cache);
        ncaches++;
    }
    pthread_mutex_unlock(&cache_mu);
    if (i < MAX_CACHES)
        atomic_fetch_add(hit ? &caches[i].hits : &caches[i].misses, 1);
}

char *srv_metrics_render(srv_metrics *m, const char *const *names, long in_flight)
{
    pgr_sb sb = {0};
    pgr_sb_puts(&sb, "# HELP peergraph_http_requests_total HTTP requests answered, by route and status.\n"
                     "# TYPE peergraph_http_requests_total counter\n");
    for (size_t r = 0; r < m->nslots; r++)
        for (int st = 0; st < NSTATUS; st++) {
            unsigned long long n = atomic_load(&m->slots[r].status[st]);
            if (!n)
                continue;
            pgr_sb_puts(&sb, "peergraph_http_requests_total{route=\"");
            label(&sb, names[r]);
            pgr_sb_printf(&sb, "\",status=\"%d\"} %llu\n", st, n);
        }
    pgr_sb_puts(&sb, "# HELP peergraph_http_request_duration_seconds Time from request line to "
                     "response queued, by route.\n"
                     "# TYPE peergraph_http_request_duration_seconds histogram\n");
    for (size_t r = 0; r < m->nslots; r++)
        if (atomic_load(&m->slots[r].latency.count))
            histo_render(&sb, "peergraph_http_request_duration_seconds", names[r],
                         &m->slots[r].latency);
    pgr_sb_puts(&sb, "# HELP peergraph_db_seconds Database time per request, by route.\n"
                     "# TYPE peergraph_db_seconds histogram\n");
    for (size_t r = 0; r < m->nslots; r++)
        if (atomic_load(&m->slots[r].db.count))
            histo_render(&sb, "peergraph_db_seconds", names[r], &m->slots[r].db);
    pgr_sb_puts(&sb, "# HELP peergraph_cache_hits_total Cache lookups that hit, by cache.\n"
                     "# TYPE peergraph_cache_hits_total counter\n");
    pthread_mutex_lock(&cache_mu);
    int nc = ncaches;
    pthread_mutex_unlock(&cache_mu);
    for (int i = 0; i < nc; i++) {
        pgr_sb_puts(&sb, "peergraph_cache_hits_total{cache=\"");
        label(&sb, caches[i].name);
        pgr_sb_printf(&sb, "\"} %llu\n", (unsigned long long)atomic_load(&caches[i].hits));
    }
    pgr_sb_puts(&sb, "# HELP peergraph_cache_misses_total Cache lookups that missed, by cache.\n"
                     "# TYPE peergraph_cache_misses_total counter\n");
    for (int i = 0; i < nc; i++) {
        pgr_sb_puts(&sb, "peergraph_cache_misses_total{cache=\"");
        label(&sb, caches[i].name);
        pgr_sb_printf(&sb, "\"} %llu\n", (unsigned long long)atomic_load(&caches[i].misses));
    }
    pgr_sb_printf(&sb,
                  "# HELP peergraph_http_rate_limited_total Requests answered 429.\n"
                  "# TYPE peergraph_http_rate_limited_total counter\n"
                  "peergraph_http_rate_limited_total %llu\n"
                  "# HELP peergraph_http_in_flight Requests received and not yet completed.\n"
                  "# TYPE peergraph_http_in_flight gauge\n"
                  "peergraph_http_in_flight %ld\n",
                  (unsigned long long)atomic_load(&m->rate_limited), in_flight);
    if (!pgr_sb_ok(&sb)) {
        pgr_sb_free(&sb);
        return NULL;
    }
    return pgr_sb_steal(&sb);
}
