#ifndef PEERGRAPH_HTTP_PARSE_H
#define PEERGRAPH_HTTP_PARSE_H
/* The socket-free half of the server core: request-target splitting,
 * percent-decoding, query parsing, UTF-8 checks, route compilation and
 * matching, and the small header grammars (request ids, Accept-Encoding,
 * If-None-Match). Pure functions over caller memory, so the unit tests and
 * the libFuzzer target (tests/fuzz/fuzz_router.c) drive exactly the code the
 * daemon runs. Everything allocated comes from the caller's arena. */
#include <stddef.h>

#include "graph/util.h"
#include "server/http.h"

#define SRVP_MAX_QUERY_PARAMS 256
#define SRVP_MAX_SEGMENTS 64
#define SRVP_MAX_PARAMS 8

/* 1 if s[0..n) is well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF). */
int srvp_utf8_valid(const char *s, size_t n);

/* Percent-decodes s[0..n) into a new NUL-terminated arena string (*out,
 * *out_len excluding the NUL; the result may contain NUL bytes, which the
 * callers reject). plus_space: '+' means ' ' (query strings). Returns 0, or
 * -1 for a malformed escape or allocation failure (*bad_escape says which). */
int srvp_decode(pgr_arena *a, const char *s, size_t n, int plus_space, char **out,
                size_t *out_len, int *bad_escape);

/* Parses a query string (without '?') into name/value pairs in order,
 * duplicates kept, empty pieces ("a=1&&b") skipped. Each name and value is
 * decoded and must be valid UTF-8 without NUL bytes: otherwise -1 with
 * err->code PGR_EINVAL and a message naming the parameter. */
int srvp_parse_query(pgr_arena *a, const char *qs, size_t n, srv_kv **out, size_t *count,
                     pgr_err *err);

/* Splits a request target "/a/b%20c?x=1" into the raw path and the raw query
 * (NULL if none) and decodes the path segments. Rejects a target that does
 * not start with '/', a segment with a bad escape, NUL or invalid UTF-8,
 * "." / ".." segments and more than SRVP_MAX_SEGMENTS segments (-1, PGR_EINVAL).
 * A trailing slash is dropped ("/x/" -> segments {"x"}); "/" has zero segments. */
typedef struct srvp_target {
    char **seg;      /* decoded segments */
    size_t nseg;
    char *path;      /* "/" + decoded segments joined by '/' */
    const char *query; /* points into the target; NULL if no '?' */
    size_t query_len;
} srvp_target;
int srvp_split_target(pgr_arena *a, const char *target, size_t n, srvp_target *t, pgr_err *err);

/* ---- routing ----------------------------------------------------------------- */
typedef struct srvp_seg {
    const char *text; /* literal, or parameter name */
    size_t len;
    unsigned char is_param, is_rest;
} srvp_seg;

typedef struct srvp_route {
    const srv_route *route;
    srvp_seg seg[SRVP_MAX_SEGMENTS];
    size_t nseg;
    size_t nliteral;
    unsigned index; /* position in the router (metrics slot) */
} srvp_route;

typedef struct srvp_router {
    srvp_route *routes;
    size_t n, cap;
} srvp_router;

/* Compiles and adds a route; -1 for a bad pattern or a duplicate method+pattern. */
int srvp_router_add(srvp_router *r, const srv_route *route, pgr_err *err);
void srvp_router_free(srvp_router *r);

enum { SRVP_FOUND = 0, SRVP_NOT_FOUND = 1, SRVP_WRONG_METHOD = 2 };
typedef struct srvp_match {
    const srvp_route *route;
    srv_kv params[SRVP_MAX_PARAMS];
    size_t nparams;
    char allow[128]; /* for SRVP_WRONG_METHOD: "GET, HEAD" */
} srvp_match;
/* Finds the route for method (HEAD matches GET routes) and decoded segments.
 * Parameter values are arena strings. */
int srvp_route_match(const srvp_router *r, pgr_arena *a, const char *method,
                     const srvp_target *t, srvp_match *m);

/* ---- header grammars ------------------------------------------------------------- */
/* 1 if an incoming X-Request-Id is safe to echo: 1..64 of [A-Za-z0-9._:-]. */
int srvp_request_id_ok(const char *s);
/* 1 if Accept-Encoding allows gzip (gzip or x-gzip or '*' with q > 0). */
int srvp_accepts_gzip(const char *accept_encoding);
/* 1 if If-None-Match (a list of entity tags or '*') matches etag (quoted,
 * e.g. "\"abc\""); weak comparison as RFC 9110 asks for If-None-Match. */
int srvp_etag_match(const char *if_none_match, const char *etag);
/* Copies at most max bytes of s into out (size max+4), cut on a UTF-8
 * boundary, "..." appended when cut: for naming hostile input in messages. */
void srvp_clip(const char *s, size_t n, char *out, size_t max);

#endif
