/* Text helpers shared by the metadata parsers (see mdutil.h). */
#include "indexer/mdutil.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "indexer/ixjson.h"

static int ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

const char *ix_squash_ws(pgr_arena *a, const char *s, size_t n)
{
    if (!s)
        return NULL;
    char *out = pgr_arena_alloc(a, n + 1);
    if (!out)
        return NULL;
    size_t k = 0;
    int pending = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (ws(c)) {
            pending = k > 0;
            continue;
        }
        if (pending)
            out[k++] = ' ';
        pending = 0;
        out[k++] = (char)c;
    }
    out[k] = '\0';
    return k ? out : NULL;
}

const char *ix_trim_ws(pgr_arena *a, const char *s, size_t n)
{
    if (!s)
        return NULL;
    while (n && ws((unsigned char)*s))
        s++, n--;
    while (n && ws((unsigned char)s[n - 1]))
        n--;
    return n ? pgr_arena_strndup(a, s, n) : NULL;
}

static const char *const months[12] = {"jan", "feb", "mar", "apr", "may", "jun",
                                       "jul", "aug", "sep", "oct", "nov", "dec"};

int ix_parse_any_date(const char *s, char date[11])
{
    date[0] = '\0';
    if (!s)
        return -1;
    while (ws((unsigned char)*s))
        s++;
    if (isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1]) &&
        isdigit((unsigned char)s[2]) && isdigit((unsigned char)s[3])) {
        int y = ix_parse_date(s, date);
        return y > 0 && date[0] ? y : -1;
    }
    /* RFC 822: [Dow, ]D Mon YYYY ... */
    const char *p = s;
    if (isalpha((unsigned char)p[0])) {
        while (isalpha((unsigned char)*p))
            p++;
        if (*p == ',')
            p++;
        while (*p == ' ')
            p++;
    }
    int day = 0, nd = 0;
    while (isdigit((unsigned char)*p) && nd < 2)
        day = day * 10 + (*p++ - '0'), nd++;
    if (nd == 0 || *p != ' ' || day < 1 || day > 31)
        return -1;
    p++;
    int month = 0;
    for (int m = 0; m < 12; m++)
        if (!strncasecmp(p, months[m], 3)) {
            month = m + 1;
            break;
        }
    if (!month || p[3] != ' ')
        return -1;
    p += 4;
    int year = 0;
    for (int i = 0; i < 4; i++) {
        if (!isdigit((unsigned char)p[i]))
            return -1;
        year = year * 10 + (p[i] - '0');
    }
    if (isdigit((unsigned char)p[4]) || year < 1000 || year > 2100)
        return -1;
    /* Built by hand: every field is range-checked above. */
    date[0] = (char)('0' + year / 1000), date[1] = (char)('0' + year / 100 % 10);
    date[2] = (char)('0' + year / 10 % 10), date[3] = (char)('0' + year % 10);
    date[4] = '-', date[5] = (char)('0' + month / 10), date[6] = (char)('0' + month % 10);
    date[7] = '-', date[8] = (char)('0' + day / 10), date[9] = (char)('0' + day % 10);
    date[10] = '\0';
    return year;
}

void *ix_vec_push(pgr_arena *a, ix_vec *v, size_t elem)
{
    if (v->n == v->cap) {
        size_t ncap = v->cap ? v->cap * 2 : 8, bytes;
        if (!pgr_mul_ok(ncap, elem, &bytes))
            return NULL;
        void *nb = pgr_arena_alloc(a, bytes);
        if (!nb)
            return NULL;
        if (v->n)
            memcpy(nb, v->items, v->n * elem);
        v->items = nb;
        v->cap = ncap;
        v->elem = elem;
    }
    char *slot = (char *)v->items + v->n * elem;
    memset(slot, 0, elem);
    v->n++;
    return slot;
}

long ix_arxiv_categories(pgr_arena *a, const char *cats, ix_topic_ref **out)
{
    *out = NULL;
    if (!cats)
        return 0;
    size_t n = 0;
    for (const char *p = cats; *p;) {
        while (ws((unsigned char)*p))
            p++;
        if (!*p)
            break;
        n++;
        while (*p && !ws((unsigned char)*p))
            p++;
    }
    if (!n)
        return 0;
    ix_topic_ref *t = pgr_arena_calloc(a, n, sizeof *t);
    if (!t)
        return -1;
    size_t k = 0;
    for (const char *p = cats; *p && k < n;) {
        while (ws((unsigned char)*p))
            p++;
        const char *b = p;
        while (*p && !ws((unsigned char)*p))
            p++;
        if (p == b)
            break;
        t[k].scheme = "arxiv";
        t[k].code = pgr_arena_strndup(a, b, (size_t)(p - b));
        if (!t[k].code)
            return -1;
        t[k].score = NAN;
        k++;
    }
    *out = t;
    return (long)k;
}

int ix_utf8_valid(const char *s, size_t n, size_t *bad)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned char c = u[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        unsigned cp;
        if (c >= 0xc2 && c <= 0xdf)
            len = 2, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
            len = 3, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
            len = 4, cp = c & 0x07;
        else
            goto invalid;
        if (i + len > n)
            goto invalid;
        for (size_t k = 1; k < len; k++) {
            if ((u[i + k] & 0xc0) != 0x80)
                goto invalid;
            cp = (cp << 6) | (u[i + k] & 0x3f);
        }
        if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
            goto invalid;
        i += len;
    }
    return 1;
invalid:
    if (bad)
        *bad = i;
    return 0;
}

char *ix_fix_latin1_mojibake(const char *s, size_t n, size_t *out_n)
{
    const unsigned char *u = (const unsigned char *)s;
    int high = 0;
    /* Every code point must be < U+0100: ASCII, or a C2/C3 lead byte. */
    for (size_t i = 0; i < n; i++) {
        if (u[i] < 0x80)
            continue;
        if ((u[i] != 0xc2 && u[i] != 0xc3) || i + 1 >= n || (u[i + 1] & 0xc0) != 0x80)
            return NULL;
        high = 1;
        i++;
    }
    if (!high)
        return NULL;
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (u[i] < 0x80)
            out[k++] = (char)u[i];
        else {
            out[k++] = (char)(((u[i] & 0x03) << 6) | (u[i + 1] & 0x3f));
            i++;
        }
    }
    out[k] = '\0';
    if (!ix_utf8_valid(out, k, NULL)) {
        free(out);
        return NULL;
    }
    *out_n = k;
    return out;
}

char ix_first_byte(const char *data, size_t len, size_t *at)
{
    size_t i = 0;
    if (len >= 3 && (unsigned char)data[0] == 0xef && (unsigned char)data[1] == 0xbb &&
        (unsigned char)data[2] == 0xbf)
        i = 3;
    while (i < len && ws((unsigned char)data[i]))
        i++;
    if (at)
        *at = i;
    return i < len ? data[i] : 0;
}

const char *ix_find(const char *data, size_t len, size_t window, const char *needle)
{
    return memmem(data, len < window ? len : window, needle, strlen(needle));
}

/* Splits the printed author list ("A. One, B. Two (MIT) and C. Three") at
 * top-level commas and " and ", so each parsed author can keep its raw
 * spelling. Returns the number of pieces (at most max), -1 on OOM. Pieces are
 * whitespace-squashed; a trailing "(affiliation)" is split off into affs. */
long ix_split_authors(pgr_arena *a, const char *s, const char **names, const char **affs,
                      size_t max)
{
    size_t k = 0;
    const char *p = s, *start = s;
    int depth = 0;
    for (;; p++) {
        int cut = 0, skip = 0;
        char c = *p;
        if (c == '(')
            depth++;
        else if (c == ')' && depth > 0)
            depth--;
        if (c == '\0')
            cut = 1;
        else if (depth == 0 && c == ',')
            cut = 1, skip = 1;
        else if (depth == 0 && isspace((unsigned char)c) && !strncmp(p + 1, "and", 3) &&
                 (p[4] == '\0' || isspace((unsigned char)p[4])))
            cut = 1, skip = 4;
        if (!cut)
            continue;
        const char *e = p;
        /* A piece may end in "(affiliation)". */
        const char *aff = NULL;
        size_t aff_n = 0;
        const char *q = e;
        while (q > start && isspace((unsigned char)q[-1]))
            q--;
        if (q > start && q[-1] == ')') {
            const char *open = NULL;
            int d = 0;
            for (const char *r = q - 1;; r--) {
                if (*r == ')')
                    d++;
                else if (*r == '(' && --d == 0) {
                    open = r;
                    break;
                }
                if (r == start)
                    break;
            }
            if (open && open > start) {
                aff = open + 1;
                aff_n = (size_t)(q - 1 - aff);
                e = open;
            }
        }
        const char *name = ix_squash_ws(a, start, (size_t)(e - start));
        if (name) {
            if (k == max)
                return (long)max + 1; /* more pieces than parsed authors: give up */
            names[k] = name;
            affs[k] = aff ? ix_squash_ws(a, aff, aff_n) : NULL;
            k++;
        }
        if (c == '\0')
            break;
        p += skip - 1;
        start = p + 1;
    }
    return (long)k;
}

void ix_notice(pgr_err *err, const char *fmt, ...)
{
    if (!err)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    err->code = PGR_OK;
}

void ix_work_init(ix_work *w, long line, long position)
{
    memset(w, 0, sizeof *w);
    w->score = NAN;
    w->has_code = -1;
    w->cited_by_count = -1;
    w->line = line;
    w->position = position;
}
