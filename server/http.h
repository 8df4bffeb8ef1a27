#ifndef PEERGRAPH_HTTP_H
#define PEERGRAPH_HTTP_H
/* The HTTP server core: what a handler sees.
 *
 * A module (api/, web/, inference/) exposes a table of routes ending with a
 * zeroed entry and adds one line to the route_tables[] list in
 * server/cmd_serve.c:
 *
 *     static void get_work(srv_request *req);
 *     const srv_route api_routes[] = {
 *         {"GET", "/api/v1/works/{id...}", get_work, "works.get", 0, NULL},
 *         {NULL},
 *     };
 *
 * A handler runs on one of the daemon's pool threads once the whole request
 * (headers, and the body for routes flagged SRV_ROUTE_BODY) has arrived. It
 * must end by calling exactly one srv_reply_*() function, or srv_suspend()
 * and later (from any thread) srv_reply_*() + srv_resume(). The core queues
 * the response after the handler returns, adding X-Request-Id, ETag/304,
 * gzip, Vary and the access-log line. A handler that replies nothing gets a
 * 500 (logged). Nothing is sent to the client before the handler returns, so
 * headers may be added in any order.
 *
 * Ownership: strings returned by srv_* accessors are borrowed and live until
 * the request is freed (after the response is sent); copy what an async task
 * keeps. json_t bodies passed to srv_reply_json are stolen. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "graph/util.h"

typedef struct srv_request srv_request;
typedef struct srv_server srv_server;
struct pgr_store; /* graph/graph.h */

typedef void (*srv_handler)(srv_request *req);

/* ---- routes ---------------------------------------------------------------
 * pattern: literal segments and {name} segments, e.g. "/api/v1/authors/{id}/graph".
 * A last segment "{name...}" takes the rest of the path, slashes included
 * ("/api/v1/works/{id...}" matches /api/v1/works/doi:10.1/abc with
 * id = "doi:10.1/abc"). Each segment is percent-decoded before matching, so a
 * parameter may hold any UTF-8 except NUL. When several patterns match, the
 * one with the most literal segments first wins; a path that matches only
 * with other methods is answered 405 with Allow. HEAD is served by GET routes.
 * A trailing slash is ignored ("/api/v1/works/" = "/api/v1/works"). */
enum {
    SRV_ROUTE_BODY = 1u << 0,         /* accepts a request body (up to --max-body) */
    SRV_ROUTE_NO_RATELIMIT = 1u << 1, /* not counted by the per-IP rate limit (/healthz) */
    SRV_ROUTE_NO_GZIP = 1u << 2,      /* never compress (already compressed data) */
};

typedef struct srv_route {
    const char *method;  /* "GET", "POST", ...; NULL ends a table */
    const char *pattern; /* see above */
    srv_handler handler;
    const char *name;    /* label in /metrics and the access log; NULL = pattern */
    unsigned flags;      /* SRV_ROUTE_* */
    void *cls;           /* handler context, srv_route_cls() */
} srv_route;

/* ---- the request -----------------------------------------------------------
 * All strings are NUL-terminated, valid UTF-8 (checked by the core: a query
 * parameter with invalid UTF-8 or a NUL byte is answered 400 before any
 * handler runs) and borrowed from the request. */
typedef struct srv_kv {
    const char *name;
    const char *value; /* "" for "?flag" and "?flag=" */
} srv_kv;

const char *srv_method(const srv_request *req);     /* "GET" (also for HEAD), "POST", ... */
const char *srv_path(const srv_request *req);       /* decoded path, no query string */
const char *srv_param(const srv_request *req, const char *name); /* {name} of the route; NULL if none */
/* Query parameters in the order sent, duplicates kept ("a=1&a=2" -> two entries). */
const srv_kv *srv_query(const srv_request *req, size_t *n);
const char *srv_query_get(const srv_request *req, const char *name); /* first value or NULL */
/* Request header (case-insensitive name); NULL if absent. Only valid while the
 * handler runs on its pool thread (not from an async task after srv_suspend). */
const char *srv_header(srv_request *req, const char *name);
/* "127.0.0.1", "::1"; with --trust-proxy the last X-Forwarded-For address. */
const char *srv_client_ip(const srv_request *req);
const char *srv_request_id(const srv_request *req); /* also sent as X-Request-Id */
const char *srv_route_name(const srv_request *req);
void *srv_route_cls(const srv_request *req);
const void *srv_body(const srv_request *req, size_t *len); /* SRV_ROUTE_BODY routes; else NULL, 0 */
/* Arena freed with the request: per-request scratch for handlers. */
pgr_arena *srv_arena(srv_request *req);

/* Server configuration a handler may need. */
const char *srv_public_url(const srv_request *req); /* base of entity id URLs, no trailing '/' */
const char *srv_model_path(const srv_request *req); /* --model, "" if none */
const char *srv_db_url(const srv_request *req);

/* ---- per-thread database ---------------------------------------------------
 * Each pool thread lazily opens its own store from --db on first use and
 * keeps it for its lifetime (one connection per thread, never shared).
 * Returns NULL with err set when the database cannot be opened; the handler
 * should then srv_reply_error(req, 503, "database_unavailable", ...).
 * srv_store_reset drops this thread's connection (after a connection-level
 * failure) so the next call reopens it. */
struct pgr_store *srv_store(srv_request *req, pgr_err *err);
void srv_store_reset(srv_request *req);
/* Adds database time to this request (access log "db_us", /metrics
 * peergraph_db_seconds). Handlers time their store calls with pgr_now_us(). */
void srv_note_db_time(srv_request *req, uint64_t us);
/* Counts a cache lookup in /metrics: peergraph_cache_{hits,misses}_total{cache="NAME"}. */
void srv_note_cache(const char *cache, int hit);

/* ---- responses --------------------------------------------------------------
 * Each srv_reply_* replaces any earlier reply of the same request (the last
 * one wins) and never fails from the handler's point of view: out of memory
 * becomes a 500. */
enum {
    SRV_ETAG = 1u << 0,    /* entity response: strong ETag of the body, If-None-Match -> 304 */
    SRV_NO_GZIP = 1u << 1, /* never compress this body */
};
/* Sends json (stolen; NULL = 500) compactly as application/json. */
void srv_reply_json(srv_request *req, int status, json_t *json, unsigned flags);
/* Copies body. content_type e.g. "text/html; charset=utf-8". */
void srv_reply_bytes(srv_request *req, int status, const char *content_type, const void *body,
                     size_t len, unsigned flags);
/* Takes a malloc'd body (freed by the core). */
/* The SHA-256 (hex) of the body about to be replied with SRV_ETAG, known
 * already (a cached body): the reply uses it instead of hashing the body. */
void srv_reply_etag(srv_request *req, const char *sha256_hex);
void srv_reply_owned(srv_request *req, int status, const char *content_type, char *body,
                     size_t len, unsigned flags);
void srv_reply_html(srv_request *req, int status, const char *html); /* copies */
void srv_reply_text(srv_request *req, int status, const char *text); /* text/plain, copies */
/* The one error shape: {"error": code, "message": message}. code is a short
 * snake_case word ("invalid_parameter", "not_found", "inference_unavailable").
 * Use for every 4xx/503 a handler answers. */
void srv_reply_error(srv_request *req, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Our own fault: logs "request ID: 500: message" to stderr and answers 500
 * {"error":"internal","message":"internal error (request id ID)"} without
 * the details. */
void srv_reply_internal(srv_request *req, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sends a whole file (static CSS/JS, e.g. d3 from /usr/share/javascript) with
 * an ETag and gzip like any body, and Cache-Control: public, max-age=max_age_s.
 * Returns 0, or -1 without replying when the file cannot be read or is over
 * 32 MiB (the caller answers its own 404). path is trusted: callers map URL
 * paths onto a fixed table or check them, never pass a client path. */
int srv_reply_file(srv_request *req, const char *path, const char *content_type,
                   unsigned max_age_s);
/* Adds a response header (e.g. "Retry-After", "Cache-Control"). Copies both. */
void srv_add_header(srv_request *req, const char *name, const char *value);

/* Streaming bodies (text/event-stream, long outputs): the core calls
 * read(cls, buf, max) on the pool thread whenever the socket can take more.
 *   return > 0   bytes written into buf (<= max)
 *   return 0     nothing yet: the connection is suspended until some thread
 *                calls srv_stream_wake(req) (a wake before the suspend is not lost)
 *   SRV_STREAM_END   end of body
 *   SRV_STREAM_ERROR abort the connection
 * done(cls) is called exactly once when the response is over or the client
 * went away (from a pool thread); after it returns, req is gone: the producer
 * must stop calling srv_stream_wake before freeing what done() releases.
 * Streamed bodies are sent chunked, without ETag or gzip. */
#define SRV_STREAM_END ((long)-1)
#define SRV_STREAM_ERROR ((long)-2)
typedef long (*srv_stream_read)(void *cls, char *buf, size_t max);
void srv_reply_stream(srv_request *req, int status, const char *content_type,
                      srv_stream_read read, void (*done)(void *cls), void *cls);
void srv_stream_wake(srv_request *req);

/* ---- long work (inference) ----------------------------------------------------
 * srv_suspend: call from the handler instead of replying; hand req to another
 * thread. That thread later calls srv_reply_*() (and srv_add_header) and then
 * srv_resume(req) exactly once; after srv_resume it must not touch req.
 * The request stays alive until then, even if the client disconnects (MHD
 * cannot see disconnects while suspended). Shutdown waits for suspended
 * requests up to the grace period (--shutdown-grace), then answers them 503. */
void srv_suspend(srv_request *req);
void srv_resume(srv_request *req);

/* ---- running a server ------------------------------------------------------------ */
typedef struct srv_config {
    const char *host;       /* "127.0.0.1", "::1", "0.0.0.0" */
    int port;               /* 0 = any free port (srv_port tells which) */
    unsigned threads;       /* pool threads */
    unsigned max_conns;     /* total connection limit */
    unsigned max_conns_per_ip;
    size_t conn_memory;     /* per-connection memory (request line + headers must fit) */
    unsigned timeout_s;     /* idle connection timeout: slow clients are dropped */
    size_t max_uri;         /* longer request targets -> 414 */
    size_t max_header_bytes;/* sum of header names+values -> 431 */
    size_t max_body;        /* -> 413 */
    double rate;            /* per-IP requests per second; 0 = no rate limit */
    double burst;           /* bucket size */
    size_t gzip_min;        /* compress bodies at least this long */
    unsigned shutdown_grace_s;
    int trust_proxy;        /* client IP from X-Forwarded-For (behind a load balancer) */
    const char *access_log; /* file path, NULL/"-" = stderr, "off" = none */
    const char *db_url;
    const char *model_path;
    const char *public_url;
    /* Per-thread store: open(db_url) returns a new store or NULL with err;
     * close frees it. NULL open = "no store in this build" (503). */
    struct pgr_store *(*store_open)(const char *db_url, pgr_err *err);
    void (*store_close)(struct pgr_store *st);
    /* /healthz: 0 if the database answers a trivial query, else -1 with err.
     * Runs on a pool thread with that thread's store (may be NULL when
     * store_open is NULL; then it checks db_url itself). */
    int (*db_ping)(srv_request *req, const char *db_url, pgr_err *err);
} srv_config;

void srv_config_defaults(srv_config *cfg);
/* Builds a server; routes are added before srv_start. cfg is copied
 * (strings must outlive the server). */
srv_server *srv_new(const srv_config *cfg, pgr_err *err);
/* Adds every route of a {NULL}-terminated table (the table must outlive the
 * server). A duplicate method+pattern or a bad pattern fails, naming it. */
int srv_add_routes(srv_server *srv, const srv_route *table, pgr_err *err);
/* Handler for paths that match no route and are not under /api/: defaults to
 * a plain HTML 404 page (web/ replaces it). */
void srv_set_not_found(srv_server *srv, srv_handler handler);
int srv_start(srv_server *srv, pgr_err *err); /* binds and starts the pool */
int srv_port(const srv_server *srv);
/* Stops accepting, lets in-flight requests finish (up to the grace period),
 * stops the pool. Safe to call once after srv_start. */
void srv_stop(srv_server *srv);
/* Ends the grace period of a srv_stop in progress (from another thread: the
 * second SIGTERM/SIGINT). */
void srv_hurry(srv_server *srv);
void srv_free(srv_server *srv);
/* Prometheus text for /metrics (malloc'd). */
char *srv_metrics_text(srv_server *srv);

#endif
