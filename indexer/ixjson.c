/* Guarded JSON helpers (see ixjson.h). */
#include "indexer/ixjson.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "indexer/ids.h"

int ix_json_depth_ok(const char *buf, size_t len, int max_depth, size_t *where)
{
    int depth = 0;
    const char *p = buf, *end = buf + len;
    while (p < end) {
        /* Skip to the next structural byte or quote; strings are skipped whole
         * so brackets inside them do not count. */
        char c = *p;
        if (c == '"') {
            p++;
            while (p < end) {
                const char *q = memchr(p, '"', (size_t)(end - p));
                if (!q) {
                    p = end;
                    break;
                }
                /* Count the backslashes before the quote: odd = escaped. */
                size_t bs = 0;
                while (q - bs > p && q[-1 - (ptrdiff_t)bs] == '\\')
                    bs++;
                p = q + 1;
                if (!(bs & 1))
                    break;
            }
            continue;
        }
        if (c == '[' || c == '{') {
            if (++depth > max_depth) {
                if (where)
                    *where = (size_t)(p - buf);
                return -1;
            }
        } else if (c == ']' || c == '}') {
            depth--;
        }
        p++;
    }
    return 0;
}

int ix_jfail(ix_jctx *c, const char *fmt, ...)
{
    if (c->failed)
        return -1;
    c->failed = 1;
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (c->line > 0)
        return pgr_errf(c->err, PGR_EINVAL, "line %ld: offset %zu: %s", c->line, c->offset, msg);
    return pgr_errf(c->err, PGR_EINVAL, "offset %zu: %s", c->offset, msg);
}

json_t *ix_json_parse(ix_jctx *c, const char *buf, size_t len, size_t flags)
{
    size_t where = 0;
    if (len > IX_JSON_MAX_BYTES) {
        ix_jfail(c, "JSON document of %zu bytes exceeds the %zu-byte limit", len,
                 (size_t)IX_JSON_MAX_BYTES);
        return NULL;
    }
    if (ix_json_depth_ok(buf, len, IX_JSON_MAX_DEPTH, &where)) {
        size_t save = c->offset;
        c->offset += where;
        ix_jfail(c, "JSON nested deeper than %d levels (bomb?)", IX_JSON_MAX_DEPTH);
        c->offset = save;
        return NULL;
    }
    json_error_t je;
    json_t *v = json_loadb(buf, len, flags, &je);
    if (!v) {
        size_t save = c->offset;
        long save_line = c->line;
        c->offset += (size_t)(je.position > 0 ? je.position : 0);
        if (c->line > 0 && je.line > 1)
            c->line += je.line - 1;
        else if (c->line == 0 && je.line > 0)
            c->line = je.line;
        ix_jfail(c, "invalid JSON: %s", je.text);
        c->offset = save;
        c->line = save_line;
    }
    return v;
}

static int blank(const char *s)
{
    for (; *s; s++)
        if (!isspace((unsigned char)*s))
            return 0;
    return 1;
}

const char *ix_jstr(ix_jctx *c, json_t *o, const char *key)
{
    json_t *v = o ? json_object_get(o, key) : NULL;
    if (!v || json_is_null(v))
        return NULL;
    if (!json_is_string(v)) {
        ix_jfail(c, "field \"%s\": expected a string", key);
        return NULL;
    }
    const char *s = json_string_value(v);
    return blank(s) ? NULL : s;
}

long ix_jint(ix_jctx *c, json_t *o, const char *key, long min, long max, long dflt)
{
    json_t *v = o ? json_object_get(o, key) : NULL;
    if (!v || json_is_null(v))
        return dflt;
    long x;
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < min || i > max) {
            ix_jfail(c, "field \"%s\": %lld is out of range [%ld, %ld]", key, (long long)i, min,
                     max);
            return dflt;
        }
        x = (long)i;
    } else if (json_is_real(v)) {
        double d = json_real_value(v);
        if (!isfinite(d) || d != floor(d) || d < (double)min || d > (double)max) {
            ix_jfail(c, "field \"%s\": %g is not an integer in [%ld, %ld]", key, d, min, max);
            return dflt;
        }
        x = (long)d;
    } else {
        ix_jfail(c, "field \"%s\": expected an integer", key);
        return dflt;
    }
    return x;
}

double ix_jreal(ix_jctx *c, json_t *o, const char *key, double min, double max, double dflt)
{
    json_t *v = o ? json_object_get(o, key) : NULL;
    if (!v || json_is_null(v))
        return dflt;
    if (!json_is_number(v)) {
        ix_jfail(c, "field \"%s\": expected a number", key);
        return dflt;
    }
    double d = json_number_value(v);
    if (!isfinite(d) || d < min || d > max) {
        ix_jfail(c, "field \"%s\": %g is out of range [%g, %g]", key, d, min, max);
        return dflt;
    }
    return d;
}

const char *ix_jorcid(ix_jctx *c, pgr_arena *a, const char *s, const char *where)
{
    char buf[IX_ORCID_LEN + 1];
    if (!s)
        return NULL;
    if (ix_orcid_canon(s, buf)) {
        ix_jfail(c, "%s: \"%.80s\" is not an ORCID iD", where, s);
        return NULL;
    }
    return pgr_arena_strdup(a, buf);
}

long ix_jcount(ix_jctx *c, json_t *o, const char *key, long max, const char *what)
{
    json_t *v = o ? json_object_get(o, key) : NULL;
    if (!v || json_is_null(v))
        return -1;
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i >= 0 && i <= max)
            return (long)i;
        ix_jfail(c, "%s%s: %lld is out of range [0, %ld]", what, key, (long long)i, max);
        return -1;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (isfinite(d) && d == floor(d) && d >= 0 && d <= (double)max)
            return (long)d;
        ix_jfail(c, "%s%s: %g is not an integer in [0, %ld]", what, key, d, max);
        return -1;
    }
    ix_jfail(c, "%s%s: expected a number", what, key);
    return -1;
}

double ix_jfigure(ix_jctx *c, json_t *o, const char *key, double max, const char *what)
{
    json_t *v = o ? json_object_get(o, key) : NULL;
    if (!v || json_is_null(v))
        return NAN;
    if (!json_is_number(v)) {
        ix_jfail(c, "%s%s: expected a number", what, key);
        return NAN;
    }
    double d = json_number_value(v);
    if (!isfinite(d) || d < 0 || d > max) {
        ix_jfail(c, "%s%s: %g is out of range [0, %g]", what, key, d, max);
        return NAN;
    }
    return d;
}

json_t *ix_jarr(ix_jctx *c, json_t *o, const char *key)
{
    json_t *v = o ? json_object_get(o, key) : NULL;
    if (!v || json_is_null(v))
        return NULL;
    if (!json_is_array(v)) {
        ix_jfail(c, "field \"%s\": expected an array", key);
        return NULL;
    }
    return v;
}

json_t *ix_jobj(ix_jctx *c, json_t *o, const char *key)
{
    json_t *v = o ? json_object_get(o, key) : NULL;
    if (!v || json_is_null(v))
        return NULL;
    if (!json_is_object(v)) {
        ix_jfail(c, "field \"%s\": expected an object", key);
        return NULL;
    }
    return v;
}

int ix_parse_date(const char *s, char date[11])
{
    date[0] = '\0';
    if (!s)
        return 0;
    for (int i = 0; i < 4; i++)
        if (!isdigit((unsigned char)s[i]))
            return -1;
    int year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    if (year < 1000 || year > 2100)
        return -1;
    if (s[4] == '\0')
        return year;
    if (s[4] != '-' || !isdigit((unsigned char)s[5]) || !isdigit((unsigned char)s[6]) ||
        s[7] != '-' || !isdigit((unsigned char)s[8]) || !isdigit((unsigned char)s[9]) ||
        (s[10] != '\0' && s[10] != 'T' && s[10] != ' '))
        return -1;
    int month = (s[5] - '0') * 10 + (s[6] - '0');
    int day = (s[8] - '0') * 10 + (s[9] - '0');
    if (month < 1 || month > 12 || day < 1 || day > 31)
        return -1;
    memcpy(date, s, 10);
    date[10] = '\0';
    return year;
}
