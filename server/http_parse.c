/* Socket-free request parsing and routing (see http_parse.h). Every byte
 * here comes from a client: lengths are explicit, nothing trusts a NUL. */
#include "server/http_parse.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int srvp_utf8_valid(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        unsigned min, cp;
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1, min = 0x80, cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2, min = 0x800, cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3, min = 0x10000, cp = c & 0x07;
        } else {
            return 0;
        }
        if (n - i - 1 < need)
            return 0;
        for (size_t k = 1; k <= need; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += need + 1;
    }
    return 1;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int srvp_decode(pgr_arena *a, const char *s, size_t n, int plus_space, char **out,
                size_t *out_len, int *bad_escape)
{
    size_t cap;
    *bad_escape = 0;
    if (!pgr_add_ok(n, 1, &cap))
        return -1;
    char *d = pgr_arena_alloc(a, cap);
    if (!d)
        return -1;
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            int hi = -1;
            if (n - i < 3 || (hi = hexval((unsigned char)s[i + 1])) < 0 ||
                hexval((unsigned char)s[i + 2]) < 0) {
                *bad_escape = 1;
                return -1;
            }
            d[j++] = (char)(hi * 16 + hexval((unsigned char)s[i + 2]));
            i += 2;
        } else if (c == '+' && plus_space) {
            d[j++] = ' ';
        } else {
            d[j++] = c;
        }
    }
    d[j] = 0;
    *out = d;
    *out_len = j;
    return 0;
}

void srvp_clip(const char *s, size_t n, char *out, size_t max)
{
    size_t k = n < max ? n : max;
    /* back up to a UTF-8 boundary so the clipped text stays valid */
    if (k < n)
        while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
            k--;
    memcpy(out, s, k);
    if (k < n)
        memcpy(out + k, "...", 4);
    else
        out[k] = 0;
}

/* Decodes one name or value; on failure fills err naming the parameter. */
static int decode_part(pgr_arena *a, const char *s, size_t n, const char *what,
                       const char *pname, size_t index, char **out, pgr_err *err)
{
    size_t len;
    int bad;
    if (srvp_decode(a, s, n, 1, out, &len, &bad) != 0) {
        if (!bad)
            return pgr_errf(err, PGR_ENOMEM, "query string: out of memory");
        if (pname)
            return pgr_errf(err, PGR_EINVAL,
                            "query parameter '%s': %s has a malformed percent-escape", pname,
                            what);
        return pgr_errf(err, PGR_EINVAL,
                        "query parameter %zu: name has a malformed percent-escape", index + 1);
    }
    const char *problem = NULL;
    if (memchr(*out, 0, len))
        problem = "contains a NUL byte";
    else if (!srvp_utf8_valid(*out, len))
        problem = "is not valid UTF-8";
    if (problem) {
        if (pname)
            return pgr_errf(err, PGR_EINVAL, "query parameter '%s': %s %s", pname, what,
                            problem);
        return pgr_errf(err, PGR_EINVAL, "query parameter %zu: name %s", index + 1, problem);
    }
    return 0;
}

int srvp_parse_query(pgr_arena *a, const char *qs, size_t n, srv_kv **out, size_t *count,
                     pgr_err *err)
{
    *out = NULL;
    *count = 0;
    /* count pieces first so the array is allocated once */
    size_t pieces = 1;
    for (size_t i = 0; i < n; i++)
        if (qs[i] == '&')
            pieces++;
    if (pieces > SRVP_MAX_QUERY_PARAMS * 4)
        return pgr_errf(err, PGR_EINVAL, "query string: more than %d parameters",
                        SRVP_MAX_QUERY_PARAMS);
    srv_kv *kv = pgr_arena_calloc(a, pieces, sizeof *kv);
    if (!kv)
        return pgr_errf(err, PGR_ENOMEM, "query string: out of memory");
    size_t k = 0, start = 0;
    while (start <= n) {
        const char *p = qs + start;
        const char *amp = memchr(p, '&', n - start);
        size_t len = amp ? (size_t)(amp - p) : n - start;
        if (len > 0) {
            if (k == SRVP_MAX_QUERY_PARAMS)
                return pgr_errf(err, PGR_EINVAL, "query string: more than %d parameters",
                                SRVP_MAX_QUERY_PARAMS);
            const char *eq = memchr(p, '=', len);
            size_t nlen = eq ? (size_t)(eq - p) : len;
            char *name, *value;
            if (decode_part(a, p, nlen, "name", NULL, k, &name, err) != 0)
                return -1;
            char shown[72];
            srvp_clip(name, strlen(name), shown, 64);
            if (eq) {
                if (decode_part(a, eq + 1, len - nlen - 1, "value", shown, k, &value, err) != 0)
                    return -1;
            } else {
                value = pgr_arena_strdup(a, "");
                if (!value)
                    return pgr_errf(err, PGR_ENOMEM, "query string: out of memory");
            }
            kv[k].name = name;
            kv[k].value = value;
            k++;
        }
        if (!amp)
            break;
        start += len + 1;
    }
    *out = kv;
    *count = k;
    return 0;
}

int srvp_split_target(pgr_arena *a, const char *target, size_t n, srvp_target *t, pgr_err *err)
{
    memset(t, 0, sizeof *t);
    if (n == 0 || target[0] != '/')
        return pgr_errf(err, PGR_EINVAL, "request target must start with '/'");
    const char *q = memchr(target, '?', n);
    size_t plen = q ? (size_t)(q - target) : n;
    if (q) {
        t->query = q + 1;
        t->query_len = n - plen - 1;
    }
    /* a '#' never reaches a server legitimately; treat it as part of the path */
    t->seg = pgr_arena_calloc(a, SRVP_MAX_SEGMENTS, sizeof *t->seg);
    pgr_sb path = {0};
    if (!t->seg)
        return pgr_errf(err, PGR_ENOMEM, "request target: out of memory");
    size_t i = 1;
    int rc = -1;
    while (i <= plen) {
        const char *s = target + i;
        const char *slash = memchr(s, '/', plen - i);
        size_t len = slash ? (size_t)(slash - s) : plen - i;
        int last = !slash;
        if (len == 0 && last)
            break; /* trailing slash, or "/" itself */
        if (t->nseg == SRVP_MAX_SEGMENTS) {
            pgr_errf(err, PGR_EINVAL, "path has more than %d segments", SRVP_MAX_SEGMENTS);
            goto cleanup;
        }
        char *d;
        size_t dlen;
        int bad;
        if (srvp_decode(a, s, len, 0, &d, &dlen, &bad) != 0) {
            pgr_errf(err, bad ? PGR_EINVAL : PGR_ENOMEM, "path segment %zu: %s", t->nseg + 1,
                     bad ? "malformed percent-escape" : "out of memory");
            goto cleanup;
        }
        if (memchr(d, 0, dlen)) {
            pgr_errf(err, PGR_EINVAL, "path segment %zu contains a NUL byte", t->nseg + 1);
            goto cleanup;
        }
        if (!srvp_utf8_valid(d, dlen)) {
            pgr_errf(err, PGR_EINVAL, "path segment %zu is not valid UTF-8", t->nseg + 1);
            goto cleanup;
        }
        if (!strcmp(d, ".") || !strcmp(d, "..")) {
            pgr_errf(err, PGR_EINVAL, "path segment %zu is '%s'", t->nseg + 1, d);
            goto cleanup;
        }
        t->seg[t->nseg++] = d;
        pgr_sb_putc(&path, '/');
        pgr_sb_append(&path, d, dlen);
        i += len + 1;
    }
    if (t->nseg == 0)
        pgr_sb_putc(&path, '/');
    if (!pgr_sb_ok(&path) || !(t->path = pgr_arena_strndup(a, path.data, path.len))) {
        pgr_errf(err, PGR_ENOMEM, "request target: out of memory");
        goto cleanup;
    }
    rc = 0;
cleanup:
    pgr_sb_free(&path);
    return rc;
}

int srvp_router_add(srvp_router *r, const srv_route *route, pgr_err *err)
{
    const char *p = route->pattern;
    if (!route->method || !p || p[0] != '/' || !route->handler)
        return pgr_errf(err, PGR_EINVAL, "route '%s %s': method, pattern starting with '/' "
                        "and handler are required", route->method ? route->method : "?",
                        p ? p : "?");
    srvp_route cr;
    memset(&cr, 0, sizeof cr);
    cr.route = route;
    size_t i = 1, n = strlen(p), nparams = 0;
    while (i <= n) {
        const char *s = p + i;
        const char *slash = strchr(s, '/');
        size_t len = slash ? (size_t)(slash - s) : n - i;
        if (len == 0) {
            if (!slash)
                break;
            return pgr_errf(err, PGR_EINVAL, "route pattern '%s': empty segment", p);
        }
        if (cr.nseg == SRVP_MAX_SEGMENTS)
            return pgr_errf(err, PGR_EINVAL, "route pattern '%s': too many segments", p);
        srvp_seg *sg = &cr.seg[cr.nseg++];
        if (s[0] == '{') {
            if (len < 3 || s[len - 1] != '}')
                return pgr_errf(err, PGR_EINVAL, "route pattern '%s': bad parameter segment", p);
            sg->is_param = 1;
            sg->text = s + 1;
            sg->len = len - 2;
            if (sg->len > 3 && !memcmp(sg->text + sg->len - 3, "...", 3)) {
                if (slash && slash[1])
                    return pgr_errf(err, PGR_EINVAL,
                                    "route pattern '%s': {name...} must be the last segment", p);
                sg->is_rest = 1;
                sg->len -= 3;
            }
            if (++nparams > SRVP_MAX_PARAMS)
                return pgr_errf(err, PGR_EINVAL, "route pattern '%s': too many parameters", p);
        } else {
            if (memchr(s, '{', len) || memchr(s, '}', len))
                return pgr_errf(err, PGR_EINVAL, "route pattern '%s': braces inside a segment", p);
            sg->text = s;
            sg->len = len;
            cr.nliteral++;
        }
        if (!slash)
            break;
        i += len + 1;
    }
    /* duplicates: same method and the same shape (literals equal, params anywhere equal) */
    for (size_t k = 0; k < r->n; k++) {
        const srvp_route *o = &r->routes[k];
        if (strcmp(o->route->method, route->method) != 0 || o->nseg != cr.nseg)
            continue;
        int same = 1;
        for (size_t j = 0; j < cr.nseg && same; j++) {
            const srvp_seg *x = &o->seg[j], *y = &cr.seg[j];
            if (x->is_param != y->is_param || x->is_rest != y->is_rest)
                same = 0;
            else if (!x->is_param && (x->len != y->len || memcmp(x->text, y->text, x->len)))
                same = 0;
        }
        if (same)
            return pgr_errf(err, PGR_ECONFLICT, "route '%s %s' duplicates '%s %s'",
                            route->method, p, o->route->method, o->route->pattern);
    }
    if (r->n == r->cap) {
        size_t ncap = r->cap ? r->cap * 2 : 32, bytes;
        if (!pgr_mul_ok(ncap, sizeof *r->routes, &bytes))
            return pgr_errf(err, PGR_ENOMEM, "router: too many routes");
        srvp_route *nr = realloc(r->routes, bytes);
        if (!nr)
            return pgr_errf(err, PGR_ENOMEM, "router: out of memory");
        r->routes = nr;
        r->cap = ncap;
    }
    cr.index = (unsigned)r->n;
    r->routes[r->n++] = cr;
    return 0;
}

void srvp_router_free(srvp_router *r)
{
    free(r->routes);
    memset(r, 0, sizeof *r);
}

/* Matches the segment shape of one route; fills params when m is non-NULL. */
static int shape_match(const srvp_route *cr, pgr_arena *a, const srvp_target *t, srvp_match *m)
{
    size_t np = 0;
    for (size_t j = 0; j < cr->nseg; j++) {
        const srvp_seg *sg = &cr->seg[j];
        if (sg->is_rest) {
            if (j >= t->nseg)
                return 0;
            if (m) {
                pgr_sb sb = {0};
                for (size_t k = j; k < t->nseg; k++) {
                    if (k > j)
                        pgr_sb_putc(&sb, '/');
                    pgr_sb_puts(&sb, t->seg[k]);
                }
                char *v = pgr_sb_ok(&sb) ? pgr_arena_strndup(a, sb.data ? sb.data : "", sb.len)
                                         : NULL;
                pgr_sb_free(&sb);
                char *name = pgr_arena_strndup(a, sg->text, sg->len);
                if (!v || !name)
                    return -1;
                m->params[np].name = name;
                m->params[np++].value = v;
                m->nparams = np;
            }
            return 1;
        }
        if (j >= t->nseg)
            return 0;
        if (sg->is_param) {
            if (m) {
                char *name = pgr_arena_strndup(a, sg->text, sg->len);
                if (!name)
                    return -1;
                m->params[np].name = name;
                m->params[np++].value = t->seg[j];
            }
        } else if (strlen(t->seg[j]) != sg->len || memcmp(t->seg[j], sg->text, sg->len)) {
            return 0;
        }
    }
    if (cr->nseg != t->nseg)
        return 0;
    if (m)
        m->nparams = np;
    return 1;
}

/* Ordering of candidates: more literal segments first, then exact-length
 * patterns before rest patterns, then registration order. */
static int better(const srvp_route *a, const srvp_route *b)
{
    if (!b)
        return 1;
    if (a->nliteral != b->nliteral)
        return a->nliteral > b->nliteral;
    int ar = a->nseg && a->seg[a->nseg - 1].is_rest, br = b->nseg && b->seg[b->nseg - 1].is_rest;
    if (ar != br)
        return !ar;
    return a->index < b->index;
}

int srvp_route_match(const srvp_router *r, pgr_arena *a, const char *method,
                     const srvp_target *t, srvp_match *m)
{
    memset(m, 0, sizeof *m);
    const char *want = !strcmp(method, "HEAD") ? "GET" : method;
    const srvp_route *best = NULL;
    int any = 0;
    for (size_t k = 0; k < r->n; k++) {
        const srvp_route *cr = &r->routes[k];
        if (shape_match(cr, a, t, NULL) != 1)
            continue;
        any = 1;
        if (!strcmp(cr->route->method, want) && better(cr, best))
            best = cr;
    }
    if (best) {
        if (shape_match(best, a, t, m) != 1)
            return -1;
        m->route = best;
        return SRVP_FOUND;
    }
    if (!any)
        return SRVP_NOT_FOUND;
    /* Allow: every method of a route whose shape matches, GET implying HEAD */
    size_t used = 0;
    int has_get = 0;
    for (size_t k = 0; k < r->n; k++) {
        const srvp_route *cr = &r->routes[k];
        if (shape_match(cr, a, t, NULL) != 1)
            continue;
        const char *meth = cr->route->method;
        int dup = 0;
        for (size_t j = 0; j < k && !dup; j++)
            if (!strcmp(r->routes[j].route->method, meth) &&
                shape_match(&r->routes[j], a, t, NULL) == 1)
                dup = 1;
        if (dup)
            continue;
        if (!strcmp(meth, "GET"))
            has_get = 1;
        size_t ml = strlen(meth);
        if (used + ml + 3 < sizeof m->allow) {
            if (used) {
                memcpy(m->allow + used, ", ", 2);
                used += 2;
            }
            memcpy(m->allow + used, meth, ml);
            used += ml;
        }
    }
    if (has_get && used + 6 < sizeof m->allow) {
        memcpy(m->allow + used, ", HEAD", 6);
        used += 6;
    }
    m->allow[used] = 0;
    return SRVP_WRONG_METHOD;
}

int srvp_request_id_ok(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        unsigned char c = (unsigned char)s[n];
        if (n >= 64 || !(isalnum(c) || c == '.' || c == '_' || c == '-' || c == ':'))
            return 0;
    }
    return n > 0;
}

/* Skips optional whitespace. */
static const char *ows(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* Parses the q parameter of one list element [p, end): returns 0 when q=0. */
static int q_nonzero(const char *p, const char *end)
{
    while (p < end) {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        if (!semi)
            return 1;
        p = ows(semi + 1);
        if (p < end && (*p == 'q' || *p == 'Q') && p + 1 < end && p[1] == '=') {
            p += 2;
            /* q=0, q=0.0, q=0.000 mean "not acceptable" */
            if (p < end && *p == '0') {
                p++;
                if (p < end && *p == '.') {
                    p++;
                    while (p < end && *p == '0')
                        p++;
                }
                p = ows(p);
                return !(p == end || *p == ';');
            }
            return 1;
        }
    }
    return 1;
}

int srvp_accepts_gzip(const char *ae)
{
    if (!ae)
        return 0;
    int gzip = -1, star = -1;
    const char *p = ae;
    while (*p) {
        p = ows(p);
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        size_t tok = 0;
        while (p + tok < end && p[tok] != ';' && p[tok] != ' ' && p[tok] != '\t')
            tok++;
        int ok = q_nonzero(p + tok, end);
        if ((tok == 4 && !strncasecmp(p, "gzip", 4)) || (tok == 6 && !strncasecmp(p, "x-gzip", 6)))
            gzip = ok;
        else if (tok == 1 && *p == '*')
            star = ok;
        if (!comma)
            break;
        p = comma + 1;
    }
    if (gzip >= 0)
        return gzip;
    return star == 1;
}

int srvp_etag_match(const char *inm, const char *etag)
{
    if (!inm || !etag)
        return 0;
    size_t elen = strlen(etag);
    const char *p = inm;
    while (*p) {
        p = ows(p);
        if (*p == '*')
            return 1;
        if (p[0] == 'W' && p[1] == '/')
            p += 2;
        if (*p != '"')
            return 0;
        const char *close = strchr(p + 1, '"');
        if (!close)
            return 0;
        size_t len = (size_t)(close - p) + 1;
        if (len == elen && !memcmp(p, etag, len))
            return 1;
        p = ows(close + 1);
        if (*p != ',')
            return 0;
        p++;
    }
    return 0;
}
