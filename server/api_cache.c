/* Response caches (see api.h): direct-mapped tables of serialized bodies,
 * each tagged with the graph's data version when it was built. A profile is
 * read far more often than the graph changes, and building an author costs
 * several queries; a search costs milliseconds of ranking and page
 * assembly. Checking the version costs one query. Bounded in entries and
 * bytes; a collision simply replaces the older entry. Two tables: entities
 * (and pages), and search results, so that neither evicts the other. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "server/api.h"

#define STRIPES 64
#define MAX_BODY (256 * 1024)

typedef struct slot {
    char *key;
    char *body;
    size_t len;
    int64_t version;
    char etag[65]; /* SHA-256 of body, hex: hashed once here, not per reply */
} slot;

typedef struct table {
    slot *slots;
    size_t n_slots, max_bytes;
    size_t total_bytes; /* guarded by total_lock */
    pthread_mutex_t locks[STRIPES], total_lock;
} table;

static slot entity_slots[4096], search_slots[1024];
static table entity = {entity_slots, 4096, (size_t)64 << 20, 0, {{{0}}}, PTHREAD_MUTEX_INITIALIZER};
static table search = {search_slots, 1024, (size_t)32 << 20, 0, {{{0}}}, PTHREAD_MUTEX_INITIALIZER};
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void init_locks(void)
{
    for (int i = 0; i < STRIPES; i++) {
        pthread_mutex_init(&entity.locks[i], NULL);
        pthread_mutex_init(&search.locks[i], NULL);
    }
}

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static char *tab_get(table *t, const char *key, int64_t version, size_t *len, char etag[65])
{
    pthread_once(&once, init_locks);
    size_t i = hash(key) % t->n_slots;
    char *out = NULL;
    pthread_mutex_lock(&t->locks[i % STRIPES]);
    slot *s = &t->slots[i];
    if (s->key && s->version == version && !strcmp(s->key, key)) {
        out = malloc(s->len + 1);
        if (out) {
            memcpy(out, s->body, s->len + 1);
            *len = s->len;
            if (etag)
                memcpy(etag, s->etag, 65);
        }
    }
    pthread_mutex_unlock(&t->locks[i % STRIPES]);
    return out;
}

static void tab_put(table *t, const char *key, int64_t version, const char *body, size_t len,
                    const char etag[65])
{
    if (len > MAX_BODY)
        return;
    pthread_once(&once, init_locks);
    char *k = strdup(key), *b = malloc(len + 1);
    if (!k || !b) {
        free(k);
        free(b);
        return;
    }
    memcpy(b, body, len);
    b[len] = '\0';
    size_t i = hash(key) % t->n_slots;
    pthread_mutex_lock(&t->locks[i % STRIPES]);
    slot *s = &t->slots[i];
    size_t freed = s->key ? s->len : 0;
    pthread_mutex_lock(&t->total_lock);
    int fits = t->total_bytes - freed + len <= t->max_bytes;
    if (fits)
        t->total_bytes = t->total_bytes - freed + len;
    pthread_mutex_unlock(&t->total_lock);
    if (fits) {
        free(s->key);
        free(s->body);
        *s = (slot){.key = k, .body = b, .len = len, .version = version};
        if (etag)
            memcpy(s->etag, etag, sizeof s->etag);
        k = b = NULL;
    }
    pthread_mutex_unlock(&t->locks[i % STRIPES]);
    free(k);
    free(b);
}

static void tab_clear(table *t)
{
    pthread_once(&once, init_locks);
    for (size_t i = 0; i < t->n_slots; i++) {
        pthread_mutex_lock(&t->locks[i % STRIPES]);
        pthread_mutex_lock(&t->total_lock);
        t->total_bytes -= t->slots[i].key ? t->slots[i].len : 0;
        pthread_mutex_unlock(&t->total_lock);
        free(t->slots[i].key);
        free(t->slots[i].body);
        t->slots[i] = (slot){0};
        pthread_mutex_unlock(&t->locks[i % STRIPES]);
    }
}

char *api_cache_get(const char *key, int64_t version, size_t *len, char etag[65])
{
    return tab_get(&entity, key, version, len, etag);
}

void api_cache_put(const char *key, int64_t version, const char *body, size_t len)
{
    char etag[65];
    if (len > MAX_BODY)
        return;
    pgr_sha256_hex(body, len, etag);
    tab_put(&entity, key, version, body, len, etag);
}

void api_cache_put_tagged(const char *key, int64_t version, const char *body, size_t len,
                          const char etag[65])
{
    tab_put(&entity, key, version, body, len, etag);
}

void api_cache_clear(void)
{
    tab_clear(&entity);
    tab_clear(&search);
}

char *api_search_cache_get(const char *key, int64_t version, size_t *len)
{
    return tab_get(&search, key, version, len, NULL);
}

void api_search_cache_put(const char *key, int64_t version, const char *body, size_t len)
{
    tab_put(&search, key, version, body, len, NULL);
}
