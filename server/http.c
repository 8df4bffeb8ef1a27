/* The HTTP server core on libmicrohttpd (thread-pool mode): request
 * lifecycle, limits, routing, responses (ETag, gzip, streams), suspend and
 * resume, access log, graceful stop. Handlers see only http.h.
 *
 * Lifecycle of one request:
 *   uri_log_cb      request line parsed: allocate srv_request (*req_cls), start clock
 *   access_cb #1    headers parsed: limits, target/query decoding, routing,
 *                   rate limit; then the handler, or wait for the body
 *   access_cb #2..  body chunks (SRV_ROUTE_BODY routes), then the handler
 *   access_cb (res) after srv_resume: queue the reply the async task set
 *   completed_cb    access log line, metrics, drop MHD's reference
 * Errors the client caused are answered here in the one error shape; only
 * our own faults become 500 and are logged with the request id. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "server/http_impl.h"

/* ---- request references -------------------------------------------------------- */

static void req_unref(srv_request *req)
{
    /* never touches req->srv: an async task may drop the last reference
     * after the server is gone (it left the live list at completion) */
    if (atomic_fetch_sub(&req->refs, 1) != 1)
        return;
    free(req->resp_body);
    pgr_sb_free(&req->body);
    pthread_mutex_destroy(&req->mu);
    pgr_arena_free(&req->arena);
    free(req);
}

/* ---- request accessors ------------------------------------------------------------ */

const char *srv_method(const srv_request *req) { return req->is_head ? "GET" : req->method; }
const char *srv_path(const srv_request *req) { return req->t.path ? req->t.path : "/"; }
const char *srv_client_ip(const srv_request *req) { return req->ip; }
const char *srv_request_id(const srv_request *req) { return req->id; }
pgr_arena *srv_arena(srv_request *req) { return &req->arena; }
const char *srv_public_url(const srv_request *req) { return req->srv->public_url; }
const char *srv_db_url(const srv_request *req) { return req->srv->cfg.db_url; }

const char *srv_model_path(const srv_request *req)
{
    return req->srv->cfg.model_path ? req->srv->cfg.model_path : "";
}

const char *srv_param(const srv_request *req, const char *name)
{
    for (size_t i = 0; i < req->match.nparams; i++)
        if (!strcmp(req->match.params[i].name, name))
            return req->match.params[i].value;
    return NULL;
}

const srv_kv *srv_query(const srv_request *req, size_t *n)
{
    *n = req->nquery;
    return req->query;
}

const char *srv_query_get(const srv_request *req, const char *name)
{
    for (size_t i = 0; i < req->nquery; i++)
        if (!strcmp(req->query[i].name, name))
            return req->query[i].value;
    return NULL;
}

const char *srv_header(srv_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *srv_route_name(const srv_request *req)
{
    if (!req->match.route)
        return "unmatched";
    const srv_route *r = req->match.route->route;
    return r->name ? r->name : r->pattern;
}

void *srv_route_cls(const srv_request *req)
{
    return req->match.route ? req->match.route->route->cls : NULL;
}

const void *srv_body(const srv_request *req, size_t *len)
{
    *len = req->body.len;
    return req->body.data;
}

void srv_note_db_time(srv_request *req, uint64_t us) { req->db_us += us; }

/* ---- per-thread store ---------------------------------------------------------------- */

typedef struct thread_store {
    struct pgr_store *st;
    void (*close)(struct pgr_store *st);
} thread_store;

static void thread_store_dtor(void *p)
{
    thread_store *ts = p;
    if (ts->st && ts->close)
        ts->close(ts->st);
    free(ts);
}

struct pgr_store *srv_store(srv_request *req, pgr_err *err)
{
    srv_server *srv = req->srv;
    if (!srv->cfg.store_open) {
        pgr_errf(err, PGR_EUNSUPPORTED, "graph store: not available in this build");
        return NULL;
    }
    thread_store *ts = pthread_getspecific(srv->store_key);
    if (ts && ts->st)
        return ts->st;
    uint64_t t0 = pgr_now_us();
    struct pgr_store *st = srv->cfg.store_open(srv->cfg.db_url, err);
    srv_note_db_time(req, pgr_now_us() - t0);
    if (!st)
        return NULL;
    if (!ts) {
        ts = calloc(1, sizeof *ts);
        if (!ts || pthread_setspecific(srv->store_key, ts) != 0) {
            free(ts);
            if (srv->cfg.store_close)
                srv->cfg.store_close(st);
            pgr_errf(err, PGR_ENOMEM, "graph store: out of memory");
            return NULL;
        }
    }
    ts->st = st;
    ts->close = srv->cfg.store_close;
    return st;
}

void srv_store_reset(srv_request *req)
{
    thread_store *ts = pthread_getspecific(req->srv->store_key);
    if (ts && ts->st) {
        if (ts->close)
            ts->close(ts->st);
        ts->st = NULL;
    }
}

/* ---- replies -------------------------------------------------------------------------- *
 * The *_locked variants expect req->mu held; the public functions take it,
 * because an async task may reply while the shutdown path answers 503. */

static void clear_reply(srv_request *req)
{
    free(req->resp_body);
    req->resp_body = NULL;
    req->resp_len = 0;
    req->stream_read = NULL;
    req->error_code = NULL;
}

static void reply_owned_locked(srv_request *req, int status, const char *ctype, char *body,
                               size_t len, unsigned flags)
{
    if (req->forced) {
        free(body);
        return;
    }
    clear_reply(req);
    req->has_reply = 1;
    req->status = status;
    req->content_type = pgr_arena_strdup(&req->arena, ctype);
    req->resp_body = body;
    req->resp_len = len;
    req->resp_flags = flags;
    if (!req->content_type) { /* out of memory: a bare 500 */
        free(body);
        req->resp_body = NULL;
        req->resp_len = 0;
        req->status = 500;
        req->content_type = "text/plain";
    }
}

static void reply_error_locked(srv_request *req, int status, const char *code, const char *msg)
{
    json_t *j = json_pack("{s:s, s:s}", "error", code, "message", msg);
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!s) {
        /* msg was not valid UTF-8 (a bug in the caller) or we are out of memory */
        static const char fallback[] = "{\"error\":\"internal\",\"message\":\"error message could not be encoded\"}";
        s = strdup(fallback);
        status = 500;
        code = "internal";
    }
    reply_owned_locked(req, status, "application/json", s, s ? strlen(s) : 0, SRV_NO_GZIP);
    if (!req->forced)
        req->error_code = code;
}

void srv_reply_etag(srv_request *req, const char *sha256_hex)
{
    pthread_mutex_lock(&req->mu);
    snprintf(req->etag_hex, sizeof req->etag_hex, "%s", sha256_hex ? sha256_hex : "");
    pthread_mutex_unlock(&req->mu);
}

void srv_reply_owned(srv_request *req, int status, const char *ctype, char *body, size_t len,
                     unsigned flags)
{
    pthread_mutex_lock(&req->mu);
    reply_owned_locked(req, status, ctype, body, len, flags);
    pthread_mutex_unlock(&req->mu);
}

void srv_reply_bytes(srv_request *req, int status, const char *ctype, const void *body,
                     size_t len, unsigned flags)
{
    char *copy = malloc(len ? len : 1);
    if (!copy) {
        srv_reply_internal(req, "out of memory copying a %zu-byte body", len);
        return;
    }
    if (len)
        memcpy(copy, body, len);
    srv_reply_owned(req, status, ctype, copy, len, flags);
}

void srv_reply_json(srv_request *req, int status, json_t *json, unsigned flags)
{
    char *s = json ? json_dumps(json, JSON_COMPACT) : NULL;
    json_decref(json);
    if (!s) {
        srv_reply_internal(req, "JSON body could not be built or encoded (status %d)", status);
        return;
    }
    srv_reply_owned(req, status, "application/json", s, strlen(s), flags);
}

void srv_reply_html(srv_request *req, int status, const char *html)
{
    srv_reply_bytes(req, status, "text/html; charset=utf-8", html, strlen(html), 0);
}

void srv_reply_text(srv_request *req, int status, const char *text)
{
    srv_reply_bytes(req, status, "text/plain; charset=utf-8", text, strlen(text), 0);
}

void srv_reply_error(srv_request *req, int status, const char *code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* vsnprintf may cut a multi-byte character: keep the message valid UTF-8 */
    char clipped[1024 + 4];
    srvp_clip(msg, strlen(msg), clipped, 1000);
    if (!srvp_utf8_valid(clipped, strlen(clipped)))
        snprintf(clipped, sizeof clipped, "(message not valid UTF-8)");
    pthread_mutex_lock(&req->mu);
    reply_error_locked(req, status, code, clipped);
    pthread_mutex_unlock(&req->mu);
}

void srv_reply_internal(srv_request *req, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "peergraph serve: request %s: 500: %s\n", req->id, msg);
    char pub[128];
    snprintf(pub, sizeof pub, "internal error (request id %s)", req->id);
    pthread_mutex_lock(&req->mu);
    reply_error_locked(req, 500, "internal", pub);
    pthread_mutex_unlock(&req->mu);
}

int srv_reply_file(srv_request *req, const char *path, const char *content_type,
                   unsigned max_age_s)
{
    char *data = NULL;
    size_t len = 0;
    pgr_err err = {0};
    if (pgr_read_file(path, &data, &len, &err) != 0)
        return -1;
    if (len > (32u << 20)) {
        free(data);
        return -1;
    }
    char cc[48];
    snprintf(cc, sizeof cc, "public, max-age=%u", max_age_s);
    srv_add_header(req, "Cache-Control", cc);
    srv_reply_owned(req, 200, content_type, data, len, SRV_ETAG);
    return 0;
}

void srv_add_header(srv_request *req, const char *name, const char *value)
{
    pthread_mutex_lock(&req->mu);
    srv_header_kv *h = pgr_arena_alloc(&req->arena, sizeof *h);
    if (h && (h->name = pgr_arena_strdup(&req->arena, name)) &&
        (h->value = pgr_arena_strdup(&req->arena, value))) {
        h->next = req->headers;
        req->headers = h;
    }
    pthread_mutex_unlock(&req->mu);
}

void srv_reply_stream(srv_request *req, int status, const char *ctype, srv_stream_read read,
                      void (*done)(void *cls), void *cls)
{
    pthread_mutex_lock(&req->mu);
    if (req->forced) {
        pthread_mutex_unlock(&req->mu);
        if (done)
            done(cls);
        return;
    }
    clear_reply(req);
    req->has_reply = 1;
    req->status = status;
    req->content_type = pgr_arena_strdup(&req->arena, ctype);
    req->stream_read = read;
    req->stream_done = done;
    req->stream_cls = cls;
    pthread_mutex_unlock(&req->mu);
}

/* ---- suspend / resume --------------------------------------------------------------- */

void srv_suspend(srv_request *req)
{
    pthread_mutex_lock(&req->mu);
    req->suspend_asked = 1;
    atomic_fetch_add(&req->refs, 1); /* the async task's reference */
    pthread_mutex_unlock(&req->mu);
}

void srv_resume(srv_request *req)
{
    pthread_mutex_lock(&req->mu);
    if (req->mhd_suspended) {
        req->mhd_suspended = 0;
        MHD_resume_connection(req->conn);
    } else if (!req->forced) {
        req->resumed_early = 1; /* the core has not suspended yet: it will not */
    }
    pthread_mutex_unlock(&req->mu);
    req_unref(req);
}

void srv_stream_wake(srv_request *req)
{
    pthread_mutex_lock(&req->mu);
    if (req->stream_suspended) {
        req->stream_suspended = 0;
        MHD_resume_connection(req->conn);
    } else {
        req->stream_wake_pending = 1;
    }
    pthread_mutex_unlock(&req->mu);
}

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    srv_request *req = cls;
    long n = req->stream_read(req->stream_cls, buf, max);
    if (n > 0) {
        if ((size_t)n > max)
            return MHD_CONTENT_READER_END_WITH_ERROR; /* a reader bug: never overrun */
        atomic_fetch_add(&req->bytes_sent, (size_t)n);
        return n;
    }
    if (n == SRV_STREAM_END)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (n != 0)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    if (atomic_load(&req->srv->stopping) == 2)
        return MHD_CONTENT_READER_END_WITH_ERROR; /* grace period over */
    pthread_mutex_lock(&req->mu);
    if (req->stream_wake_pending) {
        req->stream_wake_pending = 0;
    } else {
        req->stream_suspended = 1;
        MHD_suspend_connection(req->conn);
    }
    pthread_mutex_unlock(&req->mu);
    return 0;
}

static void stream_free(void *cls)
{
    srv_request *req = cls;
    if (req->stream_done)
        req->stream_done(req->stream_cls);
    req_unref(req);
}

/* ---- building and queueing the response ----------------------------------------------- */

static int gzip_body(const char *in, size_t n, char **out, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    /* 15 + 16: gzip wrapper; level 5: most of level 9's gain at a fraction of the CPU */
    if (deflateInit2(&z, 5, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    uLong bound = deflateBound(&z, (uLong)n);
    char *buf = malloc(bound);
    if (!buf || n > UINT32_MAX) {
        free(buf);
        deflateEnd(&z);
        return -1;
    }
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    z.next_out = (Bytef *)buf;
    z.avail_out = (uInt)bound;
    int rc = deflate(&z, Z_FINISH);
    size_t len = z.total_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(buf);
        return -1;
    }
    *out = buf;
    *out_len = len;
    return 0;
}

static int compressible(const char *ctype)
{
    return ctype && (!strncmp(ctype, "application/json", 16) || !strncmp(ctype, "text/", 5) ||
                     !strncmp(ctype, "application/javascript", 22) ||
                     !strncmp(ctype, "image/svg+xml", 13));
}

static void free_cb(void *p) { free(p); }

/* Queues the reply held in req. Called on the connection's pool thread with
 * req->mu NOT held (MHD may call back into the stream reader). */
static enum MHD_Result queue_reply(srv_request *req)
{
    srv_server *srv = req->srv;
    struct MHD_Response *resp = NULL;
    pthread_mutex_lock(&req->mu);
    if (!req->has_reply) {
        pthread_mutex_unlock(&req->mu);
        srv_reply_internal(req, "handler for %s %s produced no response", req->method,
                           srv_path(req));
        pthread_mutex_lock(&req->mu);
    }
    int status = req->status;
    const char *ctype = req->content_type;
    char etag[44] = "";
    int gz = 0, vary = 0;
    req->phase = PH_QUEUED;
    if (req->stream_read) {
        atomic_fetch_add(&req->refs, 1); /* released by stream_free */
        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, stream_reader,
                                                 req, stream_free);
        if (!resp)
            atomic_fetch_sub(&req->refs, 1);
    } else {
        char *body = req->resp_body;
        size_t len = req->resp_len;
        req->resp_body = NULL;
        unsigned route_flags = req->match.route ? req->match.route->route->flags : 0;
        int eligible = body && len >= srv->cfg.gzip_min && compressible(ctype) &&
                       !(req->resp_flags & SRV_NO_GZIP) && !(route_flags & SRV_ROUTE_NO_GZIP);
        int want_gz = eligible && srvp_accepts_gzip(srv_header(req, "Accept-Encoding"));
        vary = eligible;
        /* The gzip representation has its own strong tag ("...-gz"); a
         * client holding either representation gets its 304. */
        char hex[65] = "";
        if ((req->resp_flags & SRV_ETAG) && status == 200) {
            if (strlen(req->etag_hex) == 64)
                memcpy(hex, req->etag_hex, sizeof hex);
            else
                pgr_sha256_hex(body, len, hex);
            char plain[40], zipped[44];
            snprintf(plain, sizeof plain, "\"%.32s\"", hex);
            snprintf(zipped, sizeof zipped, "\"%.32s-gz\"", hex);
            const char *inm = srv_header(req, "If-None-Match");
            int hit = srvp_etag_match(inm, plain) || srvp_etag_match(inm, zipped);
            srv_note_cache("etag", hit);
            if (hit) {
                status = 304;
                free(body);
                body = NULL;
                len = 0;
                snprintf(etag, sizeof etag, "%s", want_gz ? zipped : plain);
            }
        }
        if (body && want_gz) {
            char *z;
            size_t zlen;
            if (gzip_body(body, len, &z, &zlen) == 0) {
                if (zlen < len) {
                    free(body);
                    body = z;
                    len = zlen;
                    gz = 1;
                } else {
                    free(z);
                }
            }
        }
        if (hex[0] && status == 200)
            snprintf(etag, sizeof etag, gz ? "\"%.32s-gz\"" : "\"%.32s\"", hex);
        resp = MHD_create_response_from_buffer_with_free_callback(len, body ? body : (void *)"",
                                                                  body ? free_cb : NULL);
        if (!resp)
            free(body);
        else
            atomic_store(&req->bytes_sent, req->is_head ? 0 : len);
    }
    if (!resp) {
        pthread_mutex_unlock(&req->mu);
        fprintf(stderr, "peergraph serve: request %s: could not create a response\n", req->id);
        return MHD_NO;
    }
    if (ctype && status != 304)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    MHD_add_response_header(resp, "X-Request-Id", req->id);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (etag[0])
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
    if (gz)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
    if (vary)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
    if (req->stream_read)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    for (srv_header_kv *h = req->headers; h; h = h->next)
        if (status != 304 || strcasecmp(h->name, "Content-Type") != 0)
            MHD_add_response_header(resp, h->name, h->value);
    req->status_sent = status;
    pthread_mutex_unlock(&req->mu);
    enum MHD_Result rc = MHD_queue_response(req->conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return rc;
}

/* An answer decided by the core (limits, decoding, routing): error shape. */
static enum MHD_Result core_error(srv_request *req, int status, const char *code,
                                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static enum MHD_Result core_error(srv_request *req, int status, const char *code,
                                  const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    srv_reply_error(req, status, code, "%s", msg);
    return queue_reply(req);
}

/* ---- MHD callbacks -------------------------------------------------------------------- */

static void gen_request_id(char out[72])
{
    unsigned char r[8];
    if (getrandom(r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
        uint64_t t = pgr_now_us() ^ (uint64_t)(uintptr_t)out;
        memcpy(r, &t, sizeof r);
    }
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 8; i++) {
        out[2 * i] = hex[r[i] >> 4];
        out[2 * i + 1] = hex[r[i] & 15];
    }
    out[16] = 0;
}

static void client_ip(struct MHD_Connection *conn, char out[64])
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, 64, "unknown");
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out, 64);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out, 64);
}

/* The rate-limit key of an address: IPv4 as is; IPv6 by its /64, since one
 * client usually holds a whole /64 and could rotate through it. */
static void rate_key(const char *ip, char out[64])
{
    struct in6_addr a6;
    if (strchr(ip, ':') && inet_pton(AF_INET6, ip, &a6) == 1 && !IN6_IS_ADDR_V4MAPPED(&a6)) {
        memset(a6.s6_addr + 8, 0, 8);
        char buf[INET6_ADDRSTRLEN];
        if (inet_ntop(AF_INET6, &a6, buf, sizeof buf)) {
            snprintf(out, 64, "%s/64", buf);
            return;
        }
    }
    snprintf(out, 64, "%s", ip);
}

/* --trust-proxy: the client is the last address the proxy appended to
 * X-Forwarded-For; anything before it was written by the client. */
static void forwarded_ip(srv_request *req)
{
    const char *xff = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "X-Forwarded-For");
    if (!xff)
        return;
    const char *last = strrchr(xff, ',');
    last = last ? last + 1 : xff;
    while (*last == ' ' || *last == '\t')
        last++;
    char cand[64];
    size_t n = strcspn(last, " \t");
    if (n == 0 || n >= sizeof cand)
        return;
    memcpy(cand, last, n);
    cand[n] = 0;
    unsigned char bin[16];
    if (inet_pton(AF_INET, cand, bin) == 1 || inet_pton(AF_INET6, cand, bin) == 1)
        memcpy(req->ip, cand, n + 1);
}

static void *uri_log_cb(void *cls, const char *uri, struct MHD_Connection *conn)
{
    srv_server *srv = cls;
    srv_request *req = calloc(1, sizeof *req);
    if (!req)
        return NULL;
    req->srv = srv;
    req->conn = conn;
    /* most requests need a few hundred bytes of strings; handlers that
     * build more get further chunks */
    req->arena.chunk_size = 8 * 1024;
    atomic_init(&req->refs, 1);
    pthread_mutex_init(&req->mu, NULL);
    req->start_us = pgr_now_us();
    req->metrics_slot = srv->router.n; /* "unmatched" until routed */
    req->target = pgr_arena_strdup(&req->arena, uri ? uri : "");
    client_ip(conn, req->ip);
    gen_request_id(req->id);
    atomic_fetch_add(&srv->in_flight, 1);
    pthread_mutex_lock(&srv->mu);
    req->next = srv->live;
    if (srv->live)
        srv->live->prev = req;
    srv->live = req;
    pthread_mutex_unlock(&srv->mu);
    return req;
}

static enum MHD_Result sum_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    (void)kind;
    size_t *sum = cls;
    *sum += strlen(key) + (value ? strlen(value) : 0) + 4;
    return MHD_YES;
}

static int is_api_path(const char *path)
{
    return !strncmp(path, "/api", 4) && (path[4] == 0 || path[4] == '/');
}

static void default_not_found(srv_request *req)
{
    srv_reply_html(req, 404,
                   "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                   "<title>Not found - peergraph</title></head>\n<body><h1>Not found</h1>"
                   "<p>There is no page at this address.</p><p><a href=\"/\">peergraph</a></p>"
                   "</body></html>\n");
}

/* An answer decided from the headers, sent once the request is complete. */
static enum MHD_Result later_error(srv_request *req, int status, const char *code,
                                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static enum MHD_Result later_error(srv_request *req, int status, const char *code,
                                   const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    srv_reply_error(req, status, code, "%s", msg);
    req->phase = PH_REPLY;
    /* a request with a body we will not read: answer now and let MHD close */
    if (MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING))
        return queue_reply(req);
    const char *cl =
        MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strcmp(cl, "0") != 0)
        return queue_reply(req);
    return MHD_YES;
}

/* Runs the handler (the route's, or the not-found one), then queues its
 * reply or suspends the connection. */
static enum MHD_Result run_handler(srv_request *req)
{
    if (req->match.route)
        req->match.route->route->handler(req);
    else
        (req->srv->not_found ? req->srv->not_found : default_not_found)(req);
    pthread_mutex_lock(&req->mu);
    if (req->suspend_asked && !req->resumed_early && !req->forced) {
        req->phase = PH_SUSPENDED;
        req->mhd_suspended = 1;
        MHD_suspend_connection(req->conn);
        pthread_mutex_unlock(&req->mu);
        return MHD_YES;
    }
    pthread_mutex_unlock(&req->mu);
    return queue_reply(req);
}

/* First call for a request: everything decided from the request line and
 * headers. Nothing is queued here unless the body must be refused:
 * libmicrohttpd closes a connection whose response was queued before the
 * request was complete, so normal answers wait for the next call and the
 * connection stays alive. */
static enum MHD_Result begin_request(srv_request *req, const char *method)
{
    srv_server *srv = req->srv;
    req->method = pgr_arena_strdup(&req->arena, method);
    if (!req->method)
        return MHD_NO;
    req->is_head = !strcmp(method, "HEAD");
    const char *rid = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "X-Request-Id");
    if (rid && srvp_request_id_ok(rid))
        snprintf(req->id, sizeof req->id, "%s", rid);
    if (srv->cfg.trust_proxy)
        forwarded_ip(req);

    size_t tlen = strlen(req->target);
    if (tlen > srv->cfg.max_uri)
        return later_error(req, 414, "uri_too_long",
                          "request target is %zu bytes; the limit is %zu", tlen, srv->cfg.max_uri);
    size_t hbytes = 0;
    MHD_get_connection_values(req->conn, MHD_HEADER_KIND, sum_header, &hbytes);
    if (hbytes > srv->cfg.max_header_bytes)
        return later_error(req, 431, "headers_too_large",
                          "request headers total %zu bytes; the limit is %zu", hbytes,
                          srv->cfg.max_header_bytes);

    /* bodies: too large is too large anywhere; a route that takes none refuses any */
    const char *cl = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    const char *te = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_TRANSFER_ENCODING);
    unsigned long long clen = 0;
    if (cl) {
        char *end;
        errno = 0;
        clen = strtoull(cl, &end, 10);
        if (errno || end == cl || *end)
            return core_error(req, 400, "invalid_header", "Content-Length is not a number");
    }
    int has_body = clen > 0 || te != NULL;
    if (clen > srv->cfg.max_body)
        return core_error(req, 413, "body_too_large",
                          "request body is %llu bytes; the limit is %zu", clen, srv->cfg.max_body);

    pgr_err err = {0};
    if (srvp_split_target(&req->arena, req->target, tlen, &req->t, &err) != 0)
        return err.code == PGR_ENOMEM ? MHD_NO
                                      : later_error(req, 400, "invalid_path", "%s", err.msg);
    if (req->t.query &&
        srvp_parse_query(&req->arena, req->t.query, req->t.query_len, &req->query, &req->nquery,
                         &err) != 0)
        return err.code == PGR_ENOMEM ? MHD_NO
                                      : later_error(req, 400, "invalid_parameter", "%s", err.msg);

    int m = srvp_route_match(&srv->router, &req->arena, method, &req->t, &req->match);
    if (m < 0)
        return MHD_NO;
    if (m == SRVP_FOUND)
        req->metrics_slot = req->match.route->index;
    unsigned rflags = m == SRVP_FOUND ? req->match.route->route->flags : 0;
    if (!(rflags & SRV_ROUTE_NO_RATELIMIT)) {
        char key[64];
        rate_key(req->ip, key);
        unsigned wait = srv_rl_take(srv->rl, key, pgr_now_us());
        if (wait) {
            char ra[16];
            snprintf(ra, sizeof ra, "%u", wait);
            srv_add_header(req, "Retry-After", ra);
            srv_metrics_rate_limited(srv->metrics);
            return later_error(req, 429, "rate_limited",
                              "too many requests from %s; retry after %u s", req->ip, wait);
        }
    }
    if (m == SRVP_WRONG_METHOD) {
        srv_add_header(req, "Allow", req->match.allow);
        return later_error(req, 405, "method_not_allowed", "%s is not allowed on %s; allowed: %s",
                          method, req->t.path, req->match.allow);
    }
    if (m == SRVP_NOT_FOUND && is_api_path(req->t.path))
        return later_error(req, 404, "not_found", "no API endpoint at %s", req->t.path);
    if (has_body && !(rflags & SRV_ROUTE_BODY))
        return core_error(req, 400, "body_not_allowed", "%s %s takes no request body", method,
                          req->t.path);
    req->phase = has_body ? PH_BODY : PH_HANDLER; /* not found: the not-found handler */
    return MHD_YES;
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version,
                                 const char *upload_data, size_t *upload_data_size,
                                 void **req_cls)
{
    (void)url, (void)version;
    srv_server *srv = cls;
    srv_request *req = *req_cls;
    if (!req) { /* the URI log callback could not allocate */
        req = uri_log_cb(srv, url, conn);
        if (!req)
            return MHD_NO;
        *req_cls = req;
    }
    switch (req->phase) {
    case PH_NEW:
        return begin_request(req, method);
    case PH_BODY:
        if (*upload_data_size) {
            size_t n = *upload_data_size, total;
            *upload_data_size = 0;
            /* Over the cap (a chunked body has no Content-Length to check
             * first). libmicrohttpd lets us answer only once the body is
             * complete, so the excess is read and dropped; a body that goes
             * on past 4x the cap gets its connection closed unanswered, so
             * an endless body cannot hold the slot. */
            if (req->body_too_large || !pgr_add_ok(req->body.len, n, &total) ||
                total > srv->cfg.max_body) {
                req->body_too_large = 1;
                req->body_dropped += n;
                return req->body_dropped / 4 > srv->cfg.max_body + 65536 ? MHD_NO : MHD_YES;
            }
            pgr_sb_append(&req->body, upload_data, n);
            return MHD_YES;
        }
        if (req->body_too_large)
            return core_error(req, 413, "body_too_large",
                              "request body exceeds the limit of %zu bytes", srv->cfg.max_body);
        if (!pgr_sb_ok(&req->body))
            return core_error(req, 500, "internal", "out of memory reading the body");
        return run_handler(req);
    case PH_REPLY:
    case PH_HANDLER:
        if (*upload_data_size) { /* a body we decided not to read */
            *upload_data_size = 0;
            return MHD_YES;
        }
        return req->phase == PH_REPLY ? queue_reply(req) : run_handler(req);
    case PH_SUSPENDED: /* resumed: the async task (or shutdown) has replied */
        return queue_reply(req);
    case PH_QUEUED:
        return MHD_YES;
    }
    return MHD_NO;
}

/* Path for the log: the raw path without the query, with bytes outside
 * printable ASCII %-escaped so the line is always valid JSON text. */
static void log_path(const char *target, char *out, size_t cap)
{
    size_t j = 0;
    for (const unsigned char *p = (const unsigned char *)target; *p && *p != '?'; p++) {
        if (j + 4 >= cap) {
            break;
        }
        if (*p < 0x21 || *p > 0x7e || *p == '"' || *p == '\\')
            j += (size_t)snprintf(out + j, cap - j, "%%%02X", *p);
        else
            out[j++] = (char)*p;
    }
    out[j] = 0;
}

static void access_log(srv_server *srv, srv_request *req, uint64_t us,
                       enum MHD_RequestTerminationCode toe)
{
    if (!srv->access_log)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[96];
    snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
    char path[1024];
    log_path(req->target ? req->target : "", path, sizeof path);
    char method[24];
    log_path(req->method ? req->method : "-", method, sizeof method);
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:i, s:I, s:I, s:I, s:s, s:s}", "time", when,
                          "id", req->id, "method", method, "path", path, "status",
                          req->status_sent, "bytes", (json_int_t)atomic_load(&req->bytes_sent),
                          "us", (json_int_t)us, "db_us", (json_int_t)req->db_us, "ip", req->ip,
                          "route", srv_route_name(req));
    if (!j)
        return;
    if (req->error_code)
        json_object_set_new(j, "error", json_string(req->error_code));
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
        json_object_set_new(j, "end",
                            json_string(toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED ? "timeout"
                                        : toe == MHD_REQUEST_TERMINATED_CLIENT_ABORT
                                            ? "client_abort"
                                            : toe == MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN
                                                ? "shutdown"
                                                : "error"));
    if (!req->status_sent)
        json_object_set_new(j, "note", json_string("no response from the handler layer "
                                                   "(libmicrohttpd answered or the client left)"));
    char *line = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!line)
        return;
    pthread_mutex_lock(&srv->log_mu);
    fputs(line, srv->access_log);
    fputc('\n', srv->access_log);
    fflush(srv->access_log);
    pthread_mutex_unlock(&srv->log_mu);
    free(line);
}

static void completed_cb(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    srv_server *srv = cls;
    srv_request *req = *req_cls;
    if (!req)
        return;
    *req_cls = NULL;
    uint64_t us = pgr_now_us() - req->start_us;
    srv_metrics_request(srv->metrics, req->metrics_slot, req->status_sent, us, req->db_us);
    access_log(srv, req, us, toe);
    pthread_mutex_lock(&srv->mu);
    if (req->prev)
        req->prev->next = req->next;
    else if (srv->live == req)
        srv->live = req->next;
    if (req->next)
        req->next->prev = req->prev;
    req->prev = req->next = NULL;
    pthread_mutex_unlock(&srv->mu);
    atomic_fetch_sub(&srv->in_flight, 1);
    req_unref(req);
}

static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = 0;
    fprintf(stderr, "peergraph serve: libmicrohttpd: %s\n", msg);
}

/* ---- server lifecycle -------------------------------------------------------------------- */

void srv_config_defaults(srv_config *c)
{
    memset(c, 0, sizeof *c);
    c->host = "127.0.0.1";
    c->port = 8080;
    c->threads = 4;
    c->max_conns = 512;
    c->max_conns_per_ip = 64;
    c->conn_memory = 64 * 1024;
    c->timeout_s = 15;
    c->max_uri = 8 * 1024;
    c->max_header_bytes = 16 * 1024;
    c->max_body = 1024 * 1024;
    c->rate = 100;
    c->burst = 200;
    c->gzip_min = 1024;
    c->shutdown_grace_s = 30;
}

srv_server *srv_new(const srv_config *cfg, pgr_err *err)
{
    srv_server *srv = calloc(1, sizeof *srv);
    if (!srv) {
        pgr_errf(err, PGR_ENOMEM, "server: out of memory");
        return NULL;
    }
    srv->cfg = *cfg;
    pthread_mutex_init(&srv->mu, NULL);
    pthread_mutex_init(&srv->log_mu, NULL);
    if (pthread_key_create(&srv->store_key, thread_store_dtor) != 0) {
        pgr_errf(err, PGR_ENOMEM, "server: no thread-local key for the store");
        srv_free(srv);
        return NULL;
    }
    srv->store_key_ok = 1;
    srv->access_log = stderr;
    if (cfg->access_log && !strcmp(cfg->access_log, "off")) {
        srv->access_log = NULL; /* benchmarks: nginx beside it logs nothing either */
    } else if (cfg->access_log && strcmp(cfg->access_log, "-") != 0) {
        srv->access_log = fopen(cfg->access_log, "a");
        if (!srv->access_log) {
            pgr_errf(err, PGR_EIO, "--access-log %s: %s", cfg->access_log, strerror(errno));
            srv->access_log = stderr;
            srv_free(srv);
            return NULL;
        }
        srv->own_log = 1;
    }
    srv->rl = srv_rl_new(cfg->rate, cfg->burst);
    if (!srv->rl) {
        pgr_errf(err, PGR_ENOMEM, "server: out of memory");
        srv_free(srv);
        return NULL;
    }
    return srv;
}

int srv_add_routes(srv_server *srv, const srv_route *table, pgr_err *err)
{
    if (srv->daemon)
        return pgr_errf(err, PGR_EINVAL, "routes must be added before the server starts");
    for (const srv_route *r = table; r->method; r++)
        if (srvp_router_add(&srv->router, r, err) != 0)
            return -1;
    return 0;
}

void srv_set_not_found(srv_server *srv, srv_handler handler) { srv->not_found = handler; }

int srv_port(const srv_server *srv) { return srv->port; }

int srv_start(srv_server *srv, pgr_err *err)
{
    const srv_config *c = &srv->cfg;
    srv->metrics = srv_metrics_new(srv->router.n);
    srv->slot_names = calloc(srv->router.n + 1, sizeof *srv->slot_names);
    if (!srv->metrics || !srv->slot_names)
        return pgr_errf(err, PGR_ENOMEM, "server: out of memory");
    for (size_t i = 0; i < srv->router.n; i++) {
        const srv_route *r = srv->router.routes[i].route;
        srv->slot_names[i] = r->name ? r->name : r->pattern;
    }
    srv->slot_names[srv->router.n] = "unmatched";

    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", c->port);
    int gai = getaddrinfo(c->host, portstr, &hints, &ai);
    if (gai != 0)
        return pgr_errf(err, PGR_EINVAL, "--host %s: %s", c->host, gai_strerror(gai));
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG | MHD_USE_AUTO;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /* The pool threads inherit the caller's signal mask (cmd_serve blocks
     * SIGINT/SIGTERM so that only its sigwait sees them). */
    srv->daemon = MHD_start_daemon(
        flags, (uint16_t)c->port, NULL, NULL, access_cb, srv, MHD_OPTION_EXTERNAL_LOGGER,
        mhd_logger, NULL, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(c->threads ? c->threads : 1),
        MHD_OPTION_CONNECTION_LIMIT, c->max_conns, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        c->max_conns_per_ip, MHD_OPTION_CONNECTION_MEMORY_LIMIT, c->conn_memory,
        MHD_OPTION_CONNECTION_TIMEOUT, c->timeout_s, MHD_OPTION_URI_LOG_CALLBACK, uri_log_cb, srv,
        MHD_OPTION_NOTIFY_COMPLETED, completed_cb, srv, MHD_OPTION_END);
    int family = ai->ai_family;
    freeaddrinfo(ai);
    if (!srv->daemon)
        return pgr_errf(err, PGR_EIO, "could not listen on %s port %d (in use, or limits invalid)",
                        c->host, c->port);
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = di ? di->port : c->port;
    if (c->public_url && c->public_url[0]) {
        srv->public_url = strdup(c->public_url);
        if (srv->public_url) {
            size_t n = strlen(srv->public_url);
            while (n > 0 && srv->public_url[n - 1] == '/')
                srv->public_url[--n] = 0;
        }
    } else {
        pgr_sb sb = {0};
        pgr_sb_printf(&sb, family == AF_INET6 ? "http://[%s]:%d" : "http://%s:%d", c->host,
                      srv->port);
        srv->public_url = pgr_sb_ok(&sb) ? pgr_sb_steal(&sb) : NULL;
        pgr_sb_free(&sb);
    }
    if (!srv->public_url)
        return pgr_errf(err, PGR_ENOMEM, "server: out of memory");
    return 0;
}

/* Shutdown, in the order libmicrohttpd needs: stop listening; let requests in
 * flight finish (slow clients, handlers, suspended inference) for the grace
 * period; then answer what is still suspended with 503 and resume it, since
 * stopping the daemon with suspended connections is an API violation; then
 * stop the pool, which closes idle keep-alive connections. */
void srv_stop(srv_server *srv)
{
    if (!srv->daemon)
        return;
    atomic_store(&srv->stopping, 1);
    MHD_socket ls = MHD_quiesce_daemon(srv->daemon);
    if (ls != MHD_INVALID_SOCKET)
        close(ls);
    uint64_t deadline = pgr_now_us() + (uint64_t)srv->cfg.shutdown_grace_s * 1000000u;
    while (atomic_load(&srv->in_flight) > 0 && pgr_now_us() < deadline &&
           !atomic_load(&srv->hurry))
        usleep(10 * 1000);
    if (atomic_load(&srv->in_flight) > 0) {
        atomic_store(&srv->stopping, 2);
        pthread_mutex_lock(&srv->mu);
        for (srv_request *r = srv->live; r; r = r->next) {
            pthread_mutex_lock(&r->mu);
            if (r->mhd_suspended) {
                reply_error_locked(r, 503, "shutting_down",
                                   "the server is shutting down; retry on another instance");
                r->forced = 1;
                r->mhd_suspended = 0;
                MHD_resume_connection(r->conn);
            } else if (r->stream_suspended) {
                r->stream_suspended = 0;
                MHD_resume_connection(r->conn);
            }
            pthread_mutex_unlock(&r->mu);
        }
        pthread_mutex_unlock(&srv->mu);
        uint64_t d2 = pgr_now_us() + 2000000u;
        while (atomic_load(&srv->in_flight) > 0 && pgr_now_us() < d2)
            usleep(10 * 1000);
    }
    MHD_stop_daemon(srv->daemon);
    srv->daemon = NULL;
}

void srv_hurry(srv_server *srv) { atomic_store(&srv->hurry, 1); }

void srv_free(srv_server *srv)
{
    if (!srv)
        return;
    if (srv->daemon)
        srv_stop(srv);
    if (srv->own_log)
        fclose(srv->access_log);
    if (srv->store_key_ok)
        pthread_key_delete(srv->store_key);
    srv_rl_free(srv->rl);
    srv_metrics_free(srv->metrics);
    free(srv->slot_names);
    free(srv->public_url);
    srvp_router_free(&srv->router);
    pthread_mutex_destroy(&srv->mu);
    pthread_mutex_destroy(&srv->log_mu);
    free(srv);
}

char *srv_metrics_text(srv_server *srv)
{
    return srv_metrics_render(srv->metrics, srv->slot_names, atomic_load(&srv->in_flight));
}
