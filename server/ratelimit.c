/* Per-IP token buckets. Each client IP owns a bucket of `burst` tokens that
 * refills at `rate` tokens per second; a request takes one token or is
 * answered 429 with the time until the next token. The table is striped by
 * hash so pool threads rarely contend, and entries whose bucket has refilled
 * completely carry no information, so they are dropped whenever their chain
 * is walked: memory stays proportional to recently active clients. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "server/http_impl.h"

#define RL_BUCKETS 4096
#define RL_STRIPES 64
#define RL_MAX_ENTRIES 200000 /* beyond this many active IPs, new IPs go unlimited */

typedef struct rl_entry {
    struct rl_entry *next;
    double tokens;
    uint64_t last_us;
    char ip[64];
} rl_entry;

struct srv_ratelimit {
    double rate, burst;
    rl_entry *bucket[RL_BUCKETS];
    pthread_mutex_t stripe[RL_STRIPES];
    atomic_long entries;
};

srv_ratelimit *srv_rl_new(double rate, double burst)
{
    srv_ratelimit *rl = calloc(1, sizeof *rl);
    if (!rl)
        return NULL;
    rl->rate = rate;
    rl->burst = burst < 1 ? 1 : burst;
    for (int i = 0; i < RL_STRIPES; i++)
        pthread_mutex_init(&rl->stripe[i], NULL);
    return rl;
}

void srv_rl_free(srv_ratelimit *rl)
{
    if (!rl)
        return;
    for (int i = 0; i < RL_BUCKETS; i++) {
        rl_entry *e = rl->bucket[i];
        while (e) {
            rl_entry *n = e->next;
            free(e);
            e = n;
        }
    }
    for (int i = 0; i < RL_STRIPES; i++)
        pthread_mutex_destroy(&rl->stripe[i]);
    free(rl);
}

static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

unsigned srv_rl_take(srv_ratelimit *rl, const char *ip, uint64_t now_us)
{
    if (!rl || rl->rate <= 0)
        return 0;
    uint32_t h = fnv1a(ip) % RL_BUCKETS;
    pthread_mutex_t *mu = &rl->stripe[h % RL_STRIPES];
    unsigned wait = 0;
    pthread_mutex_lock(mu);
    rl_entry **pp = &rl->bucket[h], *found = NULL;
    while (*pp) {
        rl_entry *e = *pp;
        double elapsed = now_us > e->last_us ? (double)(now_us - e->last_us) / 1e6 : 0;
        double tokens = fmin(rl->burst, e->tokens + elapsed * rl->rate);
        if (!strcmp(e->ip, ip)) {
            e->tokens = tokens;
            e->last_us = now_us;
            found = e;
            pp = &e->next;
        } else if (tokens >= rl->burst) { /* idle long enough to forget */
            *pp = e->next;
            free(e);
            atomic_fetch_sub(&rl->entries, 1);
        } else {
            pp = &e->next;
        }
    }
    if (!found && atomic_load(&rl->entries) < RL_MAX_ENTRIES && (found = calloc(1, sizeof *found))) {
        size_t n = strlen(ip);
        if (n >= sizeof found->ip)
            n = sizeof found->ip - 1;
        memcpy(found->ip, ip, n);
        found->tokens = rl->burst;
        found->last_us = now_us;
        found->next = rl->bucket[h];
        rl->bucket[h] = found;
        atomic_fetch_add(&rl->entries, 1);
    }
    if (found) {
        if (found->tokens >= 1) {
            found->tokens -= 1;
        } else {
            double secs = (1 - found->tokens) / rl->rate;
            wait = (unsigned)ceil(secs);
            if (wait < 1)
                wait = 1;
        }
    }
    pthread_mutex_unlock(mu);
    return wait;
}
