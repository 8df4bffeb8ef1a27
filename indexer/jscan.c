/* Strict one-pass JSON reader into an arena (see jscan.h). */
#include "indexer/jscan.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct cur {
    const unsigned char *p, *beg, *end;
    jscan *s;
    pgr_arena *a;
    int depth;
} cur;

static int fail(cur *c, const unsigned char *at, const char *msg)
{
    c->s->err_off = (size_t)(at - c->beg);
    c->s->err_msg = msg;
    return -1;
}

static void skip_ws(cur *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\n' || *c->p == '\r' || *c->p == '\t'))
        c->p++;
}

static int push(cur *c, const jv *v)
{
    jscan *s = c->s;
    if (s->n == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 256;
        jv *nb = realloc(s->stack, ncap * sizeof *nb);
        if (!nb)
            return fail(c, c->p, "out of memory");
        s->stack = nb;
        s->cap = ncap;
    }
    s->stack[s->n++] = *v;
    return 0;
}

static int hexval(unsigned char h)
{
    if (h >= '0' && h <= '9')
        return h - '0';
    if (h >= 'a' && h <= 'f')
        return h - 'a' + 10;
    if (h >= 'A' && h <= 'F')
        return h - 'A' + 10;
    return -1;
}

static int hex4(cur *c, const unsigned char *p, unsigned *out)
{
    if (c->end - p < 4)
        return fail(c, p, "truncated \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p[i]);
        if (h < 0)
            return fail(c, p + i, "bad hex digit in \\u escape");
        v = v << 4 | (unsigned)h;
    }
    *out = v;
    return 0;
}

static char *put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        *o++ = (char)cp;
    } else if (cp < 0x800) {
        *o++ = (char)(0xc0 | cp >> 6);
        *o++ = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        *o++ = (char)(0xe0 | cp >> 12);
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
        *o++ = (char)(0x80 | (cp & 0x3f));
    } else {
        *o++ = (char)(0xf0 | cp >> 18);
        *o++ = (char)(0x80 | ((cp >> 12) & 0x3f));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
        *o++ = (char)(0x80 | (cp & 0x3f));
    }
    return o;
}

/* c->p at the opening quote. */
static int parse_string(cur *c, jv *v)
{
    const unsigned char *start = ++c->p, *q = start;
    /* Pass 1: find the closing quote (escaped quotes skipped). */
    for (;;) {
        const unsigned char *h = memchr(q, '"', (size_t)(c->end - q));
        if (!h)
            return fail(c, start - 1, "unterminated string");
        size_t bs = 0;
        while (h - bs > start && h[-1 - (ptrdiff_t)bs] == '\\')
            bs++;
        if (!(bs & 1)) {
            q = h;
            break;
        }
        q = h + 1;
    }
    size_t raw = (size_t)(q - start);
    if (raw > UINT32_MAX)
        return fail(c, start, "string too long");
    char *out = pgr_arena_alloc(c->a, raw + 1);
    if (!out)
        return fail(c, start, "out of memory");
    /* Pass 2: validate and decode (decoded length <= raw length). */
    char *o = out;
    const unsigned char *p = start;
    while (p < q) {
        unsigned char ch = *p;
        if (ch >= 0x20 && ch < 0x80 && ch != '\\') {
            /* Copy the plain ASCII run at once. */
            const unsigned char *r = p + 1;
            while (r < q && *r >= 0x20 && *r < 0x80 && *r != '\\')
                r++;
            memcpy(o, p, (size_t)(r - p));
            o += r - p;
            p = r;
            continue;
        }
        if (ch < 0x20)
            return fail(c, p, "control character in string");
        if (ch == '\\') {
            if (p + 1 >= q)
                return fail(c, p, "bad escape");
            unsigned char e = p[1];
            p += 2;
            switch (e) {
            case '"':
                *o++ = '"';
                break;
            case '\\':
                *o++ = '\\';
                break;
            case '/':
                *o++ = '/';
                break;
            case 'b':
                *o++ = '\b';
                break;
            case 'f':
                *o++ = '\f';
                break;
            case 'n':
                *o++ = '\n';
                break;
            case 'r':
                *o++ = '\r';
                break;
            case 't':
                *o++ = '\t';
                break;
            case 'u': {
                unsigned cp;
                if (p + 4 > q || hex4(c, p, &cp))
                    return p + 4 > q ? fail(c, p, "truncated \\u escape") : -1;
                p += 4;
                if (cp >= 0xd800 && cp <= 0xdbff) {
                    unsigned lo;
                    if (p + 6 > q || p[0] != '\\' || p[1] != 'u' || hex4(c, p + 2, &lo) ||
                        lo < 0xdc00 || lo > 0xdfff)
                        return fail(c, p, "lone surrogate in \\u escape");
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    p += 6;
                } else if (cp >= 0xdc00 && cp <= 0xdfff) {
                    return fail(c, p - 6, "lone surrogate in \\u escape");
                }
                if (cp == 0)
                    return fail(c, p - 6, "\\u0000 in string");
                o = put_utf8(o, cp);
                break;
            }
            default:
                return fail(c, p - 1, "bad escape");
            }
            continue;
        }
        /* UTF-8 multi-byte sequence. */
        size_t n;
        unsigned cp;
        if (ch >= 0xc2 && ch <= 0xdf)
            n = 2, cp = ch & 0x1f;
        else if (ch >= 0xe0 && ch <= 0xef)
            n = 3, cp = ch & 0x0f;
        else if (ch >= 0xf0 && ch <= 0xf4)
            n = 4, cp = ch & 0x07;
        else
            return fail(c, p, "invalid UTF-8");
        if ((size_t)(q - p) < n)
            return fail(c, p, "invalid UTF-8");
        for (size_t k = 1; k < n; k++) {
            if ((p[k] & 0xc0) != 0x80)
                return fail(c, p, "invalid UTF-8");
            cp = cp << 6 | (p[k] & 0x3f);
        }
        if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
            return fail(c, p, "invalid UTF-8");
        memcpy(o, p, n);
        o += n;
        p += n;
    }
    *o = '\0';
    v->type = JV_STR;
    v->n = (uint32_t)(o - out);
    v->u.s = out;
    c->p = q + 1;
    return 0;
}

static int parse_number(cur *c, jv *v)
{
    const unsigned char *p = c->p, *b = p;
    if (p < c->end && *p == '-')
        p++;
    if (p >= c->end)
        return fail(c, b, "bad number");
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        while (p < c->end && *p >= '0' && *p <= '9')
            p++;
    else
        return fail(c, b, "bad number");
    if (p < c->end && *p == '.') {
        p++;
        if (p >= c->end || *p < '0' || *p > '9')
            return fail(c, p, "bad number");
        while (p < c->end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < c->end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < c->end && (*p == '+' || *p == '-'))
            p++;
        if (p >= c->end || *p < '0' || *p > '9')
            return fail(c, p, "bad number");
        while (p < c->end && *p >= '0' && *p <= '9')
            p++;
    }
    /* strtod needs a terminated copy (the buffer may end right after the
     * number). Real data has short numbers; a 4 KiB digit run is refused. */
    size_t n = (size_t)(p - b);
    if (n > 4096)
        return fail(c, b, "number too long");
    char small[64], *buf = n < sizeof small ? small : pgr_arena_alloc(c->a, n + 1);
    if (!buf)
        return fail(c, b, "out of memory");
    memcpy(buf, b, n);
    buf[n] = '\0';
    double d = strtod(buf, NULL);
    if (!isfinite(d))
        return fail(c, b, "number out of range");
    v->type = JV_NUM;
    v->n = 0;
    v->u.num = d;
    c->p = p;
    return 0;
}

static int parse_value(cur *c, jv *v);

/* Moves the top n stack entries into one arena array. */
static int collect(cur *c, size_t base, jv *v, uint32_t type, size_t count)
{
    size_t n = c->s->n - base, bytes;
    jv *items = NULL;
    if (n) {
        if (!pgr_mul_ok(n, sizeof *items, &bytes) || !(items = pgr_arena_alloc(c->a, bytes)))
            return fail(c, c->p, "out of memory");
        memcpy(items, c->s->stack + base, bytes);
    }
    c->s->n = base;
    if (count > UINT32_MAX)
        return fail(c, c->p, "container too large");
    v->type = type;
    v->n = (uint32_t)count;
    v->u.items = items;
    return 0;
}

static int parse_container(cur *c, jv *v, int obj)
{
    const unsigned char *open = c->p;
    if (++c->depth > (c->s->max_depth ? c->s->max_depth : 64))
        return fail(c, open, "nested too deeply");
    c->p++;
    size_t base = c->s->n, count = 0;
    skip_ws(c);
    unsigned char close = obj ? '}' : ']';
    if (c->p < c->end && *c->p == close) {
        c->p++;
        c->depth--;
        return collect(c, base, v, obj ? JV_OBJ : JV_ARR, 0);
    }
    for (;;) {
        jv item;
        if (obj) {
            skip_ws(c);
            if (c->p >= c->end || *c->p != '"')
                return fail(c, c->p, "expected a string key");
            if (parse_string(c, &item) || push(c, &item))
                return -1;
            skip_ws(c);
            if (c->p >= c->end || *c->p != ':')
                return fail(c, c->p, "expected ':'");
            c->p++;
        }
        if (parse_value(c, &item) || push(c, &item))
            return -1;
        count++;
        skip_ws(c);
        if (c->p >= c->end)
            return fail(c, c->p, "unexpected end of input");
        if (*c->p == ',') {
            c->p++;
            continue;
        }
        if (*c->p == close) {
            c->p++;
            break;
        }
        return fail(c, c->p, obj ? "expected ',' or '}'" : "expected ',' or ']'");
    }
    c->depth--;
    return collect(c, base, v, obj ? JV_OBJ : JV_ARR, count);
}

static int literal(cur *c, const char *word, jv_type t, jv *v)
{
    size_t n = strlen(word);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n))
        return fail(c, c->p, "invalid literal");
    c->p += n;
    v->type = t;
    v->n = 0;
    v->u.items = NULL;
    return 0;
}

static int parse_value(cur *c, jv *v)
{
    skip_ws(c);
    if (c->p >= c->end)
        return fail(c, c->p, "unexpected end of input");
    switch (*c->p) {
    case '{':
        return parse_container(c, v, 1);
    case '[':
        return parse_container(c, v, 0);
    case '"':
        return parse_string(c, v);
    case 't':
        return literal(c, "true", JV_TRUE, v);
    case 'f':
        return literal(c, "false", JV_FALSE, v);
    case 'n':
        return literal(c, "null", JV_NULL, v);
    default:
        if (*c->p == '-' || (*c->p >= '0' && *c->p <= '9'))
            return parse_number(c, v);
        return fail(c, c->p, "unexpected character");
    }
}

int jscan_parse(jscan *s, pgr_arena *a, const char *buf, size_t len, jv *out)
{
    cur c = {(const unsigned char *)buf,
             (const unsigned char *)buf,
             (const unsigned char *)buf + len,
             s,
             a,
             0};
    s->n = 0;
    s->err_msg = NULL;
    s->err_off = 0;
    if (parse_value(&c, out))
        return -1;
    skip_ws(&c);
    if (c.p != c.end)
        return fail(&c, c.p, "trailing data after the JSON value");
    return 0;
}

void jscan_free(jscan *s)
{
    free(s->stack);
    s->stack = NULL;
    s->n = s->cap = 0;
}

const jv *jv_get(const jv *o, const char *key)
{
    if (!o || o->type != JV_OBJ)
        return NULL;
    /* Last match, as Jansson does: with duplicate keys the later one wins. */
    size_t kl = strlen(key);
    for (uint32_t i = o->n; i-- > 0;) {
        const jv *k = &o->u.items[2 * i];
        if (k->n == kl && !memcmp(k->u.s, key, kl))
            return &o->u.items[2 * i + 1];
    }
    return NULL;
}
