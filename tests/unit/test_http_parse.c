/* Unit tests for server/http_parse.c: query decoding, target splitting,
 * route matching and the small header grammars. */
#include "server/http_parse.h"
#include "tests/check.h"

static pgr_arena A;

static void noop(srv_request *req) { (void)req; }
static void other(srv_request *req) { (void)req; }

static int parse(const char *qs, srv_kv **kv, size_t *n, pgr_err *err)
{
    return srvp_parse_query(&A, qs, strlen(qs), kv, n, err);
}

static void test_query_order_duplicates(void)
{
    srv_kv *kv;
    size_t n;
    pgr_err err = {0};
    CHECK_INT(parse("filter=a:1&x=%C3%A9+t&filter=b:2&&flag&empty=&=v", &kv, &n, &err), 0);
    CHECK_INT(n, 6);
    CHECK_STR(kv[0].name, "filter");
    CHECK_STR(kv[0].value, "a:1");
    CHECK_STR(kv[1].name, "x");
    CHECK_STR(kv[1].value, "\xC3\xA9 t");
    CHECK_STR(kv[2].name, "filter");
    CHECK_STR(kv[2].value, "b:2");
    CHECK_STR(kv[3].name, "flag");
    CHECK_STR(kv[3].value, "");
    CHECK_STR(kv[4].name, "empty");
    CHECK_STR(kv[4].value, "");
    CHECK_STR(kv[5].name, "");
    CHECK_STR(kv[5].value, "v");
    /* '=' inside a value stays there; "%2B" is a literal plus */
    CHECK_INT(parse("filter=a=b%2Bc", &kv, &n, &err), 0);
    CHECK_STR(kv[0].value, "a=b+c");
    CHECK_INT(parse("", &kv, &n, &err), 0);
    CHECK_INT(n, 0);
}

static void test_query_hostile(void)
{
    srv_kv *kv;
    size_t n;
    pgr_err err = {0};
    CHECK_INT(parse("search=a%00b", &kv, &n, &err), -1);
    CHECK_INT(err.code, PGR_EINVAL);
    CHECK(strstr(err.msg, "'search'") && strstr(err.msg, "NUL"));
    CHECK_INT(parse("ok=1&search=%FF%FE", &kv, &n, &err), -1);
    CHECK(strstr(err.msg, "'search'") && strstr(err.msg, "UTF-8"));
    CHECK_INT(parse("q=%E0%80%80", &kv, &n, &err), -1); /* overlong NUL */
    CHECK(strstr(err.msg, "UTF-8"));
    CHECK_INT(parse("q=%ED%A0%80", &kv, &n, &err), -1); /* surrogate */
    CHECK_INT(parse("q=%F4%90%80%80", &kv, &n, &err), -1); /* > U+10FFFF */
    CHECK_INT(parse("q=%zz", &kv, &n, &err), -1);
    CHECK(strstr(err.msg, "'q'") && strstr(err.msg, "percent"));
    CHECK_INT(parse("q=%4", &kv, &n, &err), -1);
    CHECK_INT(parse("q=%", &kv, &n, &err), -1);
    CHECK_INT(parse("a=1&%FF=2", &kv, &n, &err), -1);
    CHECK(strstr(err.msg, "parameter 2") && strstr(err.msg, "name"));
    /* a 4-byte character survives */
    CHECK_INT(parse("q=%F0%9F%98%80", &kv, &n, &err), 0);
    CHECK_STR(kv[0].value, "\xF0\x9F\x98\x80");
    /* long parameter names are clipped in messages, on a character boundary */
    char big[700];
    strcpy(big, "");
    for (int i = 0; i < 100; i++)
        strcat(big, "%C3%A9");
    strcat(big, "=%00");
    CHECK_INT(parse(big, &kv, &n, &err), -1);
    CHECK(strlen(err.msg) < 200);
    CHECK(srvp_utf8_valid(err.msg, strlen(err.msg)));
}

static void test_query_too_many(void)
{
    pgr_sb sb = {0};
    for (int i = 0; i < SRVP_MAX_QUERY_PARAMS + 1; i++)
        pgr_sb_printf(&sb, "p%d=1&", i);
    srv_kv *kv;
    size_t n;
    pgr_err err = {0};
    int rc = parse(sb.data, &kv, &n, &err);
    pgr_sb_free(&sb);
    CHECK_INT(rc, -1);
    CHECK(strstr(err.msg, "more than"));
}

static void test_split_target(void)
{
    srvp_target t;
    pgr_err err = {0};
    const char *s = "/api/v1/works/doi:10.1%2Fabc/?x=1";
    CHECK_INT(srvp_split_target(&A, s, strlen(s), &t, &err), 0);
    CHECK_INT(t.nseg, 4);
    CHECK_STR(t.seg[3], "doi:10.1/abc");
    CHECK_STR(t.path, "/api/v1/works/doi:10.1/abc");
    CHECK(t.query && t.query_len == 3 && !memcmp(t.query, "x=1", 3));
    CHECK_INT(srvp_split_target(&A, "/", 1, &t, &err), 0);
    CHECK_INT(t.nseg, 0);
    CHECK_STR(t.path, "/");
    CHECK(!t.query);
    /* '+' is literal in paths */
    CHECK_INT(srvp_split_target(&A, "/a+b", 4, &t, &err), 0);
    CHECK_STR(t.seg[0], "a+b");
    CHECK_INT(srvp_split_target(&A, "x", 1, &t, &err), -1);
    CHECK_INT(srvp_split_target(&A, "/a%00", 5, &t, &err), -1);
    CHECK(strstr(err.msg, "NUL"));
    CHECK_INT(srvp_split_target(&A, "/a/%C0%AF", 9, &t, &err), -1);
    CHECK(strstr(err.msg, "segment 2") && strstr(err.msg, "UTF-8"));
    CHECK_INT(srvp_split_target(&A, "/a/../etc", 9, &t, &err), -1);
    CHECK_INT(srvp_split_target(&A, "/a/%2e%2e/etc", 13, &t, &err), -1);
    CHECK_INT(srvp_split_target(&A, "/a/%g0", 6, &t, &err), -1);
    pgr_sb sb = {0};
    for (int i = 0; i < SRVP_MAX_SEGMENTS + 1; i++)
        pgr_sb_puts(&sb, "/a");
    CHECK_INT(srvp_split_target(&A, sb.data, sb.len, &t, &err), -1);
    pgr_sb_free(&sb);
}

static const srv_route routes[] = {
    {"GET", "/api/v1/works", noop, "works.list", 0, NULL},
    {"GET", "/api/v1/works/{id...}", noop, "works.get", 0, NULL},
    {"GET", "/api/v1/authors/{id}", noop, "authors.get", 0, NULL},
    {"GET", "/api/v1/authors/{id}/coauthors", other, "authors.coauthors", 0, NULL},
    {"POST", "/api/v1/authors/{id}/coauthors", other, NULL, SRV_ROUTE_BODY, NULL},
    {"GET", "/api/v1/authors/me", other, "authors.me", 0, NULL},
    {"GET", "/", noop, "home", 0, NULL},
    {NULL, NULL, NULL, NULL, 0, NULL},
};

static int match(srvp_router *r, const char *method, const char *target, srvp_match *m)
{
    srvp_target t;
    pgr_err err = {0};
    if (srvp_split_target(&A, target, strlen(target), &t, &err) != 0)
        return -9;
    return srvp_route_match(r, &A, method, &t, m);
}

static void test_routes(void)
{
    srvp_router r = {0};
    pgr_err err = {0};
    for (const srv_route *x = routes; x->method; x++)
        CHECK_MSG(srvp_router_add(&r, x, &err) == 0, "%s", err.msg);
    srvp_match m;
    CHECK_INT(match(&r, "GET", "/api/v1/works", &m), SRVP_FOUND);
    CHECK_STR(m.route->route->name, "works.list");
    CHECK_INT(match(&r, "GET", "/api/v1/works/", &m), SRVP_FOUND);
    CHECK_STR(m.route->route->name, "works.list");
    CHECK_INT(match(&r, "GET", "/api/v1/works/W12", &m), SRVP_FOUND);
    CHECK_STR(m.route->route->name, "works.get");
    CHECK_INT(m.nparams, 1);
    CHECK_STR(m.params[0].name, "id");
    CHECK_STR(m.params[0].value, "W12");
    CHECK_INT(match(&r, "GET", "/api/v1/works/doi:10.1/abc%20d", &m), SRVP_FOUND);
    CHECK_STR(m.params[0].value, "doi:10.1/abc d");
    CHECK_INT(match(&r, "HEAD", "/api/v1/authors/A5", &m), SRVP_FOUND);
    CHECK_STR(m.route->route->name, "authors.get");
    CHECK_STR(m.params[0].value, "A5");
    /* a literal segment beats a parameter whatever the order of registration */
    CHECK_INT(match(&r, "GET", "/api/v1/authors/me", &m), SRVP_FOUND);
    CHECK_STR(m.route->route->name, "authors.me");
    CHECK_INT(match(&r, "GET", "/api/v1/authors/A5/coauthors", &m), SRVP_FOUND);
    CHECK_STR(m.route->route->name, "authors.coauthors");
    CHECK_INT(match(&r, "POST", "/api/v1/authors/A5/coauthors", &m), SRVP_FOUND);
    CHECK(m.route->route->flags & SRV_ROUTE_BODY);
    CHECK_INT(match(&r, "DELETE", "/api/v1/authors/A5/coauthors", &m), SRVP_WRONG_METHOD);
    CHECK_STR(m.allow, "GET, POST, HEAD");
    CHECK_INT(match(&r, "POST", "/api/v1/works/W1", &m), SRVP_WRONG_METHOD);
    CHECK_STR(m.allow, "GET, HEAD");
    CHECK_INT(match(&r, "GET", "/api/v1/authors", &m), SRVP_NOT_FOUND);
    CHECK_INT(match(&r, "GET", "/api/v1/authors/A5/coauthors/x", &m), SRVP_NOT_FOUND);
    CHECK_INT(match(&r, "GET", "/api/v1/worksX", &m), SRVP_NOT_FOUND);
    CHECK_INT(match(&r, "GET", "/", &m), SRVP_FOUND);
    CHECK_STR(m.route->route->name, "home");
    CHECK_INT(match(&r, "get", "/", &m), SRVP_WRONG_METHOD); /* methods are case-sensitive */
    srvp_router_free(&r);
}

static void test_route_errors(void)
{
    srvp_router r = {0};
    pgr_err err = {0};
    srv_route ok = {"GET", "/a/{id}", noop, NULL, 0, NULL};
    CHECK_INT(srvp_router_add(&r, &ok, &err), 0);
    srv_route dup = {"GET", "/a/{other}", other, NULL, 0, NULL};
    CHECK_INT(srvp_router_add(&r, &dup, &err), -1);
    CHECK(strstr(err.msg, "duplicates") && strstr(err.msg, "/a/{id}"));
    srv_route post = {"POST", "/a/{other}", other, NULL, 0, NULL};
    CHECK_INT(srvp_router_add(&r, &post, &err), 0);
    const char *bad[] = {"a/b", "/a//b", "/a/{", "/a/{}", "/a/x{y}", "/a/{r...}/b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        srv_route b = {"GET", bad[i], noop, NULL, 0, NULL};
        CHECK_MSG(srvp_router_add(&r, &b, &err) == -1, "pattern %s accepted", bad[i]);
    }
    srv_route nohandler = {"GET", "/z", NULL, NULL, 0, NULL};
    CHECK_INT(srvp_router_add(&r, &nohandler, &err), -1);
    srvp_router_free(&r);
}

static void test_headers(void)
{
    CHECK(srvp_request_id_ok("abc-123_X.y:z"));
    CHECK(!srvp_request_id_ok(""));
    CHECK(!srvp_request_id_ok("a b"));
    CHECK(!srvp_request_id_ok("a\"b"));
    CHECK(!srvp_request_id_ok("0123456789012345678901234567890123456789012345678901234567890123X"));
    CHECK(srvp_request_id_ok("0123456789012345678901234567890123456789012345678901234567890123"));

    CHECK(srvp_accepts_gzip("gzip"));
    CHECK(srvp_accepts_gzip("br, gzip;q=0.5, deflate"));
    CHECK(srvp_accepts_gzip("GZIP"));
    CHECK(srvp_accepts_gzip("*"));
    CHECK(srvp_accepts_gzip("x-gzip"));
    CHECK(!srvp_accepts_gzip(NULL));
    CHECK(!srvp_accepts_gzip(""));
    CHECK(!srvp_accepts_gzip("identity"));
    CHECK(!srvp_accepts_gzip("gzip;q=0"));
    CHECK(!srvp_accepts_gzip("gzip; q=0.000, *"));
    CHECK(srvp_accepts_gzip("gzip;q=0.001"));
    CHECK(!srvp_accepts_gzip("*;q=0"));
    CHECK(!srvp_accepts_gzip("gzipx"));

    CHECK(srvp_etag_match("\"abc\"", "\"abc\""));
    CHECK(srvp_etag_match("W/\"abc\"", "\"abc\""));
    CHECK(srvp_etag_match("\"x\", \"abc\"", "\"abc\""));
    CHECK(srvp_etag_match("*", "\"abc\""));
    CHECK(!srvp_etag_match("\"abcd\"", "\"abc\""));
    CHECK(!srvp_etag_match("abc", "\"abc\""));
    CHECK(!srvp_etag_match("\"abc", "\"abc\""));
    CHECK(!srvp_etag_match(NULL, "\"abc\""));
    CHECK(!srvp_etag_match("\"x\" junk \"abc\"", "\"abc\""));
}

static void test_clip(void)
{
    char out[16];
    srvp_clip("hello", 5, out, 10);
    CHECK_STR(out, "hello");
    srvp_clip("abcdefghijkl", 12, out, 10);
    CHECK_STR(out, "abcdefghij...");
    /* "aaaaaaaaa" + e-acute: cutting at 10 would split the character */
    srvp_clip("aaaaaaaaa\xC3\xA9", 11, out, 10);
    CHECK_STR(out, "aaaaaaaaa...");
}

int main(void)
{
    RUN(test_query_order_duplicates);
    RUN(test_query_hostile);
    RUN(test_query_too_many);
    RUN(test_split_target);
    RUN(test_routes);
    RUN(test_route_errors);
    RUN(test_headers);
    RUN(test_clip);
    pgr_arena_free(&A);
    return check_summary("test_http_parse");
}
