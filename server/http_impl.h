#ifndef PEERGRAPH_HTTP_IMPL_H
#define PEERGRAPH_HTTP_IMPL_H
/* Private to server/: the request and server structures behind http.h, the
 * rate limiter and the metrics registry. Handlers include http.h only. */
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include "server/http.h"
#include "server/http_parse.h"

/* ---- rate limiter (ratelimit.c): per-IP token buckets --------------------------- */
typedef struct srv_ratelimit srv_ratelimit;
/* rate <= 0 disables limiting (srv_rl_take always allows). */
srv_ratelimit *srv_rl_new(double rate, double burst);
void srv_rl_free(srv_ratelimit *rl);
/* Takes one token for ip at time now_us. Returns 0 when allowed, else the
 * whole seconds (>= 1) until a token is available (Retry-After). */
unsigned srv_rl_take(srv_ratelimit *rl, const char *ip, uint64_t now_us);

/* ---- metrics (metrics.c) -------------------------------------------------------- */
typedef struct srv_metrics srv_metrics;
/* nroutes + 1 slots: the last one counts requests that matched no route. */
srv_metrics *srv_metrics_new(size_t nroutes);
void srv_metrics_free(srv_metrics *m);
void srv_metrics_request(srv_metrics *m, size_t slot, int status, uint64_t us, uint64_t db_us);
void srv_metrics_rate_limited(srv_metrics *m);
/* names[i] labels slot i (names[nroutes] = "unmatched"). */
char *srv_metrics_render(srv_metrics *m, const char *const *names, long in_flight);

/* ---- requests -------------------------------------------------------------------- */
typedef struct srv_header_kv {
    struct srv_header_kv *next;
    char *name, *value;
} srv_header_kv;

enum srv_phase {
    PH_NEW = 0,     /* nothing decided yet */
    PH_REPLY,       /* the core has answered (error); queue once the request is complete */
    PH_HANDLER,     /* run the handler once the request is complete */
    PH_BODY,        /* receiving the body of a SRV_ROUTE_BODY route */
    PH_SUSPENDED,   /* handler called srv_suspend; waiting for srv_resume */
    PH_QUEUED,      /* response handed to MHD */
};

struct srv_request {
    srv_server *srv;
    struct MHD_Connection *conn;
    pgr_arena arena;
    atomic_int refs;          /* MHD's (until completion), an async task's, a stream's */
    pthread_mutex_t mu;       /* reply fields vs. async threads and forced shutdown */
    srv_request *prev, *next; /* live requests (srv->live) */

    char *target;     /* raw request target as sent */
    const char *method;
    int is_head;
    srvp_target t;
    srv_kv *query;
    size_t nquery;
    srvp_match match;
    size_t metrics_slot;
    char id[72];
    char etag_hex[65]; /* srv_reply_etag: the body's SHA-256, "" = hash it */
    char ip[64];
    uint64_t start_us, db_us;
    pgr_sb body;
    int body_too_large;
    size_t body_dropped;

    enum srv_phase phase;
    int suspend_asked;    /* srv_suspend called by the handler */
    int resumed_early;    /* srv_resume ran before the core suspended */
    int mhd_suspended;    /* MHD_suspend_connection in effect */
    int forced;           /* answered by the core at shutdown: late replies are ignored */

    /* the reply */
    int has_reply;
    int status;
    char *content_type;   /* arena */
    char *resp_body;      /* malloc'd */
    size_t resp_len;
    unsigned resp_flags;
    srv_header_kv *headers;
    const char *error_code; /* for the access log */
    srv_stream_read stream_read;
    void (*stream_done)(void *cls);
    void *stream_cls;
    int stream_wake_pending, stream_suspended;

    /* what was sent */
    int status_sent;
    atomic_size_t bytes_sent;
};

struct srv_server {
    srv_config cfg;
    char *public_url;
    srvp_router router;
    srv_handler not_found;
    struct MHD_Daemon *daemon;
    int port;
    FILE *access_log;
    int own_log;
    pthread_mutex_t log_mu;
    srv_ratelimit *rl;
    srv_metrics *metrics;
    const char **slot_names;
    pthread_key_t store_key;
    int store_key_ok;
    pthread_mutex_t mu; /* live list */
    srv_request *live;
    atomic_long in_flight;
    atomic_int stopping;
    atomic_int hurry; /* srv_hurry: end the grace period now */
};

#endif
