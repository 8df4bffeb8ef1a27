/* libFuzzer target for the socket-free request path: request-target
 * splitting, path and query decoding, route matching with the route shapes
 * the API uses, and the header grammars (X-Request-Id, Accept-Encoding,
 * If-None-Match). Input: lines "METHOD\nTARGET\nACCEPT-ENCODING\nIF-NONE-MATCH\nREQUEST-ID".
 * Beyond "no crash": every decoded string must be NUL-free valid UTF-8, as
 * handlers are promised in http.h. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/http_parse.h"

static void h(srv_request *req) { (void)req; }

static const srv_route routes[] = {
    {"GET", "/api/v1/works", h, NULL, 0, NULL},
    {"GET", "/api/v1/works/{id...}", h, NULL, 0, NULL},
    {"GET", "/api/v1/authors", h, NULL, 0, NULL},
    {"GET", "/api/v1/authors/{id}", h, NULL, 0, NULL},
    {"GET", "/api/v1/authors/{id}/coauthors", h, NULL, 0, NULL},
    {"GET", "/api/v1/authors/{id}/graph", h, NULL, 0, NULL},
    {"GET", "/api/v1/autocomplete/{kind}", h, NULL, 0, NULL},
    {"POST", "/api/v1/authors/{id}/adapter", h, NULL, SRV_ROUTE_BODY, NULL},
    {"GET", "/healthz", h, NULL, 0, NULL},
    {"GET", "/", h, NULL, 0, NULL},
    {NULL, NULL, NULL, NULL, 0, NULL},
};

static void check_str(const char *s)
{
    if (!srvp_utf8_valid(s, strlen(s)))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static srvp_router router;
    static int ready;
    if (!ready) {
        pgr_err err;
        for (const srv_route *r = routes; r->method; r++)
            if (srvp_router_add(&router, r, &err) != 0)
                abort();
        ready = 1;
    }
    /* split into up to 5 NUL-terminated fields at '\n' */
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = 0;
    char *field[5] = {"", "", "", "", ""};
    size_t nf = 0;
    char *p = buf;
    while (nf < 5) {
        field[nf++] = p;
        char *nl = memchr(p, '\n', (size_t)(buf + size - p));
        if (!nl)
            break;
        *nl = 0;
        p = nl + 1;
    }
    pgr_arena a = {0};
    pgr_err err = {0};
    srvp_target t;
    /* the target field may hold NUL bytes (raw input): use its real length */
    size_t tlen = nf > 1 ? strlen(field[1]) : 0;
    if (nf > 1 && srvp_split_target(&a, field[1], tlen, &t, &err) == 0) {
        for (size_t i = 0; i < t.nseg; i++)
            check_str(t.seg[i]);
        check_str(t.path);
        srvp_match m;
        int rc = srvp_route_match(&router, &a, field[0], &t, &m);
        if (rc == SRVP_FOUND)
            for (size_t i = 0; i < m.nparams; i++)
                check_str(m.params[i].value);
        if (t.query) {
            srv_kv *kv;
            size_t n;
            if (srvp_parse_query(&a, t.query, t.query_len, &kv, &n, &err) == 0) {
                for (size_t i = 0; i < n; i++) {
                    check_str(kv[i].name);
                    check_str(kv[i].value);
                }
            } else {
                check_str(err.msg); /* messages quote input: must stay valid UTF-8 */
            }
        }
    } else if (nf > 1) {
        check_str(err.msg);
    }
    (void)srvp_accepts_gzip(field[2]);
    (void)srvp_etag_match(field[3], "\"0123456789abcdef0123456789abcdef\"");
    (void)srvp_request_id_ok(field[4]);
    pgr_arena_free(&a);
    free(buf);
    return 0;
}
