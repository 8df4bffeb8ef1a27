/* Entity response cache (see api.h): a direct-mapped table of serialized
 * bodies, each tagged with the graph's data version when it was built. A
 * profile is read far more often than the graph changes, and building an
 * author costs several queries; checking the version costs one. Bounded in
 * entries and bytes; a collision simply replaces the older entry. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "server/api.h"

#define SLOTS 4096
#define STRIPES 64
#define MAX_BODY (256 * 1024)
#define MAX_BYTES ((size_t)64 * 1024 * 1024)

typedef struct slot {
    char *key;
    char *body;
    size_t len;
    int64_t version;
    char etag[65]; /* SHA-256 of body, hex: hashed once here, not per reply */
} slot;

static slot slots[SLOTS];
static pthread_mutex_t locks[STRIPES];
static pthread_once_t once = PTHREAD_ONCE_INIT;
static size_t total_bytes; /* guarded by total_lock */
static pthread_mutex_t total_lock = PTHREAD_MUTEX_INITIALIZER;

static void init_locks(void)
{
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_init(&locks[i], NULL);
}

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

char *api_cache_get(const char *key, int64_t version, size_t *len, char etag[65])
{
    pthread_once(&once, init_locks);
    size_t i = hash(key) % SLOTS;
    char *out = NULL;
    pthread_mutex_lock(&locks[i % STRIPES]);
    slot *s = &slots[i];
    if (s->key && s->version == version && !strcmp(s->key, key)) {
        out = malloc(s->len + 1);
        if (out) {
            memcpy(out, s->body, s->len + 1);
            *len = s->len;
            memcpy(etag, s->etag, 65);
        }
    }
    pthread_mutex_unlock(&locks[i % STRIPES]);
    return out;
}

void api_cache_put(const char *key, int64_t version, const char *body, size_t len)
{
    char etag[65];
    if (len > MAX_BODY)
        return;
    pgr_sha256_hex(body, len, etag);
    api_cache_put_tagged(key, version, body, len, etag);
}

void api_cache_put_tagged(const char *key, int64_t version, const char *body, size_t len,
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
    size_t i = hash(key) % SLOTS;
    pthread_mutex_lock(&locks[i % STRIPES]);
    slot *s = &slots[i];
    size_t freed = s->key ? s->len : 0;
    pthread_mutex_lock(&total_lock);
    int fits = total_bytes - freed + len <= MAX_BYTES;
    if (fits)
        total_bytes = total_bytes - freed + len;
    pthread_mutex_unlock(&total_lock);
    if (fits) {
        free(s->key);
        free(s->body);
        *s = (slot){.key = k, .body = b, .len = len, .version = version};
        memcpy(s->etag, etag, sizeof s->etag);
        k = b = NULL;
    }
    pthread_mutex_unlock(&locks[i % STRIPES]);
    free(k);
    free(b);
}

void api_cache_clear(void)
{
    pthread_once(&once, init_locks);
    for (size_t i = 0; i < SLOTS; i++) {
        pthread_mutex_lock(&locks[i % STRIPES]);
        pthread_mutex_lock(&total_lock);
        total_bytes -= slots[i].key ? slots[i].len : 0;
        pthread_mutex_unlock(&total_lock);
        free(slots[i].key);
        free(slots[i].body);
        slots[i] = (slot){0};
        pthread_mutex_unlock(&locks[i % STRIPES]);
    }
}
