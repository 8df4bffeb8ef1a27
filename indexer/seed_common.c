/* Shared machinery of the profile-page parsers: see seed_common.h. */
#include "indexer/seed_common.h"
#include "indexer/normalize.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

int sd_oom(pgr_err *err)
{
    return pgr_errf(err, PGR_ENOMEM, "out of memory");
}

/* ---- page loading and validation ------------------------------------- */

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static void trim(const char **s, size_t *len)
{
    while (*len && is_blank(**s)) {
        (*s)++;
        (*len)--;
    }
    while (*len && is_blank((*s)[*len - 1]))
        (*len)--;
}

int sd_page_load(sd_page *pg, const ix_input *in, pgr_arena *arena, pgr_err *err)
{
    const unsigned char *d = (const unsigned char *)in->data;
    size_t len = in->len, i, n_lines = 1, start;
    long line = 1;

    memset(pg, 0, sizeof *pg);
    pg->in = in;
    pg->arena = arena;
    if (!d || len == 0)
        return pgr_errf(err, PGR_EINVAL, "line 1: empty input");
    if (len > SD_MAX_INPUT)
        return pgr_errf(err, PGR_EINVAL,
                        "line 1: %zu bytes is too large for a profile page (max %u)", len,
                        SD_MAX_INPUT);
    if (len >= 2 && ((d[0] == 0xFF && d[1] == 0xFE) || (d[0] == 0xFE && d[1] == 0xFF)))
        return pgr_errf(err, PGR_EINVAL, "line 1: UTF-16 text; expected UTF-8");
    i = (len >= 3 && d[0] == 0xEF && d[1] == 0xBB && d[2] == 0xBF) ? 3 : 0;

    /* One pass: encoding, control bytes, line lengths, line count. */
    for (size_t ls = i; i < len;) {
        unsigned char c = d[i];
        if (c == '\n') {
            if (i - ls > SD_MAX_LINE)
                return pgr_errf(err, PGR_EINVAL,
                                "line %ld: line of %zu bytes exceeds the %u-byte limit", line,
                                i - ls, SD_MAX_LINE);
            line++;
            n_lines++;
            ls = ++i;
            continue;
        }
        if (c == 0)
            return pgr_errf(err, PGR_EINVAL,
                            "line %ld: NUL byte at offset %zu: binary data, not a text page", line,
                            i);
        if (c < 0x20 && c != '\t' && c != '\r')
            return pgr_errf(
                err, PGR_EINVAL,
                "line %ld: control byte 0x%02x at offset %zu: binary data, not a text page", line,
                c, i);
        if (c < 0x80) {
            i++;
        } else {
            utf8proc_int32_t cp;
            utf8proc_ssize_t n = utf8proc_iterate(d + i, (utf8proc_ssize_t)(len - i), &cp);
            if (n <= 0)
                return pgr_errf(
                    err, PGR_EINVAL,
                    "line %ld: invalid UTF-8 (byte 0x%02x at offset %zu); the page must be UTF-8",
                    line, c, i);
            if (cp >= 0x80 && cp <= 0x9F)
                return pgr_errf(err, PGR_EINVAL,
                                "line %ld: C1 control U+%04X at offset %zu: wrongly decoded text",
                                line, (unsigned)cp, i);
            i += (size_t)n;
        }
        if (i - ls > SD_MAX_LINE)
            return pgr_errf(err, PGR_EINVAL, "line %ld: line exceeds the %u-byte limit", line,
                            SD_MAX_LINE);
    }

    pg->lines = pgr_arena_calloc(arena, n_lines, sizeof *pg->lines);
    if (!pg->lines)
        return sd_oom(err);
    start = (len >= 3 && d[0] == 0xEF && d[1] == 0xBB && d[2] == 0xBF) ? 3 : 0;
    line = 1;
    for (i = start; i <= len; i++) {
        if (i == len || d[i] == '\n') {
            const char *s = in->data + start;
            size_t n = i - start;
            trim(&s, &n);
            pg->lines[pg->n_lines].s = s;
            pg->lines[pg->n_lines].len = n;
            pg->lines[pg->n_lines].no = line++;
            pg->n_lines++;
            start = i + 1;
        }
    }
    /* Drop trailing blank lines so "end of page" is the last content. */
    while (pg->n_lines && pg->lines[pg->n_lines - 1].len == 0)
        pg->n_lines--;
    if (pg->n_lines == 0)
        return pgr_errf(err, PGR_EINVAL, "line 1: page has no text (only blank lines)");
    return 0;
}

size_t sd_next_nonblank(const sd_page *pg, size_t i)
{
    while (i < pg->n_lines && pg->lines[i].len == 0)
        i++;
    return i;
}

int sd_starts(const char *s, size_t len, const char *lit)
{
    size_t n = strlen(lit);
    return len >= n && memcmp(s, lit, n) == 0;
}

int sd_ends(const char *s, size_t len, const char *lit)
{
    size_t n = strlen(lit);
    return len >= n && memcmp(s + len - n, lit, n) == 0;
}

int sd_line_is(const sd_line *l, const char *lit)
{
    return l->len == strlen(lit) && memcmp(l->s, lit, l->len) == 0;
}

/* ---- detection helpers ------------------------------------------------- */

int sd_detect_lines(const char *data, size_t len, size_t max_lines,
                    int (*fn)(const char *s, size_t n, void *ctx), void *ctx)
{
    size_t i = 0, nl = 0;
    if (!data)
        return 0;
    if (len >= 3 && (unsigned char)data[0] == 0xEF && (unsigned char)data[1] == 0xBB &&
        (unsigned char)data[2] == 0xBF)
        i = 3;
    while (i < len && nl < max_lines) {
        const char *e = memchr(data + i, '\n', len - i);
        size_t n = e ? (size_t)(e - (data + i)) : len - i;
        const char *s = data + i;
        int r;
        trim(&s, &n);
        if ((r = fn(s, n, ctx)) != 0)
            return r;
        nl++;
        i = e ? (size_t)(e - data) + 1 : len;
    }
    return 0;
}

struct has_line_ctx {
    const char *lit;
    int count;
};

static int has_line_fn(const char *s, size_t n, void *ctx)
{
    struct has_line_ctx *c = ctx;
    if (n == strlen(c->lit) && memcmp(s, c->lit, n) == 0)
        c->count++;
    return 0;
}

int sd_detect_has_line(const char *data, size_t len, size_t max_lines, const char *lit)
{
    struct has_line_ctx c = {lit, 0};
    sd_detect_lines(data, len, max_lines, has_line_fn, &c);
    return c.count;
}

/* ---- numbers ------------------------------------------------------------ */

int sd_parse_count(const char *s, size_t len, long *out)
{
    long v = 0;
    size_t digits = 0;
    if (len == 0 || !isdigit((unsigned char)s[0]))
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == ',' && digits > 0 && i + 3 < len && isdigit((unsigned char)s[i + 1]))
            continue; /* thousands separator "1,234" */
        if (!isdigit((unsigned char)s[i]))
            return -1;
        if (++digits > 12)
            return -1; /* absurd for any figure on a profile page */
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int sd_parse_decimal(const char *s, size_t len, double *out)
{
    char buf[32];
    size_t dots = 0;
    /* at most 20 characters: no figure on a page needs more, and the value
     * must stay far inside the range of every integer type it may meet */
    if (len == 0 || len > 20 || len >= sizeof buf || !isdigit((unsigned char)s[0]) ||
        !isdigit((unsigned char)s[len - 1]))
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '.')
            dots++;
        else if (!isdigit((unsigned char)s[i]))
            return -1;
    }
    if (dots > 1)
        return -1;
    memcpy(buf, s, len);
    buf[len] = 0;
    *out = strtod(buf, NULL);
    return 0;
}

/* ---- dates ---------------------------------------------------------------- */

static const char *const month_full[12] = {"January",   "February", "March",    "April",
                                           "May",       "June",     "July",     "August",
                                           "September", "October",  "November", "December"};

int sd_month_at(const char *s, size_t len, size_t *used)
{
    for (int m = 0; m < 12; m++) {
        const char *f = month_full[m];
        size_t fl = strlen(f);
        if (len >= fl && memcmp(s, f, fl) == 0) {
            *used = fl;
            return m + 1;
        }
    }
    if (len >= 4 && memcmp(s, "Sept", 4) == 0) {
        *used = 4;
        return 9;
    }
    for (int m = 0; m < 12; m++) {
        if (len >= 3 && memcmp(s, month_full[m], 3) == 0) {
            /* "Mar." is also printed by some sites */
            *used = (len >= 4 && s[3] == '.') ? 4 : 3;
            return m + 1;
        }
    }
    return 0;
}

int sd_valid_ymd(int y, int m, int d)
{
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1000 || y > 9999 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return 0;
    if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 0;
    return 1;
}

size_t sd_parse_month_day_year(const char *s, size_t len, int *y, int *m, int *d)
{
    size_t i, mu;
    int mo = sd_month_at(s, len, &mu), day = 0, year = 0, nd = 0;
    if (!mo)
        return 0;
    i = mu;
    if (i >= len || s[i] != ' ')
        return 0;
    i++;
    while (i < len && isdigit((unsigned char)s[i]) && nd < 3) {
        day = day * 10 + (s[i++] - '0');
        nd++;
    }
    if (nd == 0 || nd > 2 || day < 1 || day > 31)
        return 0;
    if (i + 6 <= len && s[i] == ',' && s[i + 1] == ' ' && isdigit((unsigned char)s[i + 2]) &&
        isdigit((unsigned char)s[i + 3]) && isdigit((unsigned char)s[i + 4]) &&
        isdigit((unsigned char)s[i + 5]) && (i + 6 == len || !isdigit((unsigned char)s[i + 6]))) {
        year = (s[i + 2] - '0') * 1000 + (s[i + 3] - '0') * 100 + (s[i + 4] - '0') * 10 +
               (s[i + 5] - '0');
        i += 6;
    }
    *y = year;
    *m = mo;
    *d = day;
    return i;
}

int sd_capture_ok(const char *c)
{
    if (!c || strlen(c) != 10 || c[4] != '-' || c[7] != '-')
        return 0;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !isdigit((unsigned char)c[i]))
            return 0;
    return sd_valid_ymd(atoi(c), atoi(c + 5), atoi(c + 8));
}

int sd_resolve_year(const char *capture, int m, int d, int *y)
{
    int cy, cm, cd;
    if (!sd_capture_ok(capture) || m < 1 || m > 12 || d < 1 || d > 31)
        return -1;
    cy = atoi(capture);
    cm = atoi(capture + 5);
    cd = atoi(capture + 8);
    if (m > cm || (m == cm && d > cd))
        cy--;
    /* Feb 29 needs a leap year: step back to the latest one (at most 8 years). */
    for (int tries = 0; tries < 9; tries++, cy--) {
        if (sd_valid_ymd(cy, m, d)) {
            *y = cy;
            return 0;
        }
    }
    return -1;
}

/* ---- names -------------------------------------------------------------- */

int sd_cp_class(utf8proc_int32_t cp)
{
    if (cp < 0x80) {
        if (cp >= 'A' && cp <= 'Z')
            return SD_CH_UPPER;
        if (cp >= 'a' && cp <= 'z')
            return SD_CH_LOWER;
        return SD_CH_OTHER;
    }
    switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LT:
        return SD_CH_UPPER;
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_LM:
        return SD_CH_LOWER;
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
        return SD_CH_MARK;
    default:
        return SD_CH_OTHER;
    }
}

int32_t sd_cp_at(const char *s, size_t len, size_t i, size_t *n)
{
    utf8proc_int32_t cp = -1;
    utf8proc_ssize_t r =
        utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(len - i), &cp);
    *n = r > 0 ? (size_t)r : 1;
    return r > 0 ? cp : -1;
}

static int in_list(const char *s, size_t len, const char *const *list)
{
    for (; *list; list++)
        if (strlen(*list) == len && memcmp(s, *list, len) == 0)
            return 1;
    return 0;
}

/* Lowercase name particles: Dutch, German, Romance ("de los Santos", "degli
 * Esposti"), Arabic, and the Spanish/Portuguese conjunctions. */
static const char *const particles[] = {
    "van", "von", "vom", "zum", "zur", "der", "den", "de",  "del", "della", "dei", "degli",
    "di",  "da",  "dos", "das", "do",  "du",  "le",  "la",  "los", "las",   "bin", "ibn",
    "al",  "el",  "ter", "ten", "zu",  "y",   "e",   NULL};
static const char *const suffixes[] = {"Jr.", "Jr", "Sr.", "Sr", "II", "III", "IV", NULL};
/* Prefixes after which a name part may carry a second capital: McDonald,
 * MacKenzie, LeCun, DiCaprio, DeWitt, VanDyke, FitzGerald, O'Brien. */
static const char *const cap_prefixes[] = {"Mc", "Mac", "Le",  "La",  "De",   "Di",
                                           "Da", "Du",  "Van", "Von", "Fitz", NULL};

int sd_token_class(const char *s, size_t len)
{
    if (len > 64)
        return SD_TK_BAD; /* no name token is that long; bounds the work */
    size_t i = 0, n, part_start = 0, letters = 0, uppers = 0;
    int cls, prev = SD_CH_OTHER, inner_caps_in_part = 0;
    if (len == 0)
        return SD_TK_BAD;
    if (in_list(s, len, particles))
        return SD_TK_PARTICLE;
    if (in_list(s, len, suffixes))
        return SD_TK_SUFFIX;
    /* Initials: "J." "J.-P." "J.P." */
    {
        size_t j = 0;
        int ok = 1, k = 0;
        while (j < len && ok) {
            utf8proc_int32_t cp = sd_cp_at(s, len, j, &n);
            if (sd_cp_class(cp) != SD_CH_UPPER || j + n >= len || s[j + n] != '.') {
                ok = 0;
                break;
            }
            j += n + 1;
            k++;
            if (j < len && s[j] == '-')
                j++;
        }
        if (ok && k > 0 && j == len)
            return SD_TK_INITIAL;
    }
    while (i < len) {
        utf8proc_int32_t cp = sd_cp_at(s, len, i, &n);
        cls = sd_cp_class(cp);
        if (cls == SD_CH_UPPER) {
            uppers++;
            letters++;
            if (i == part_start) {
                /* a part starts with a capital: fine */
            } else if (prev == SD_CH_LOWER || prev == SD_CH_MARK) {
                /* second capital inside a part: only after a known prefix */
                if (inner_caps_in_part || !in_list(s + part_start, i - part_start, cap_prefixes))
                    return SD_TK_BAD;
                inner_caps_in_part = 1;
            } else if (prev == SD_CH_UPPER) {
                /* "WU", "MT": all-caps; decided at the end */
            }
        } else if (cls == SD_CH_LOWER) {
            letters++;
            if (i == 0)
                return SD_TK_BAD; /* lowercase start: not a capitalised word */
        } else if (cls == SD_CH_MARK) {
            if (i == part_start)
                return SD_TK_BAD;
        } else if (cp == '-' || cp == '\'' || cp == 0x2019) {
            /* joins parts: "Run-Ze", "O'Brien"; must sit between letters */
            if (i == part_start || i + n >= len)
                return SD_TK_BAD;
            part_start = i + n;
            inner_caps_in_part = 0;
            cls = SD_CH_OTHER;
        } else {
            return SD_TK_BAD; /* digits, punctuation, symbols */
        }
        prev = cls;
        i += n;
    }
    if (letters == 0)
        return SD_TK_BAD;
    {
        utf8proc_int32_t first = sd_cp_at(s, len, 0, &n);
        if (sd_cp_class(first) != SD_CH_UPPER)
            return SD_TK_BAD;
    }
    if (letters == 1)
        return SD_TK_INITIAL_NODOT;
    if (uppers == letters)
        return SD_TK_CAPS;
    /* Mixed case beyond the allowed prefixes: "LLMs", "APIsGuoheng". A run
     * of two capitals followed by lowercase is an acronym glued to a word. */
    for (size_t j = 0, m; j < len; j += m) {
        utf8proc_int32_t a = sd_cp_at(s, len, j, &m), b;
        size_t m2;
        if (j + m >= len)
            break;
        b = sd_cp_at(s, len, j + m, &m2);
        if (sd_cp_class(a) == SD_CH_UPPER && sd_cp_class(b) == SD_CH_UPPER)
            return SD_TK_BAD;
    }
    return SD_TK_WORD;
}

double sd_name_quality(const char *s, size_t len, int relaxed)
{
    size_t i = 0, nt = 0;
    int types[8];
    double q = 1.0;
    if (len == 0 || len > 200)
        return -1;
    while (i < len) {
        size_t j = i;
        while (j < len && s[j] != ' ')
            j++;
        if (j == i)
            return -1; /* double space */
        if (nt == 8)
            return -1;
        types[nt++] = sd_token_class(s + i, j - i);
        i = j < len ? j + 1 : j;
        if (j < len && i == len)
            return -1; /* trailing space */
    }
    if (nt < (relaxed ? 1u : 2u) || nt > (relaxed ? 5u : 4u))
        return -1;
    for (size_t t = 0; t < nt; t++) {
        int ty = types[t], first = t == 0, last = t == nt - 1;
        switch (ty) {
        case SD_TK_BAD:
            return -1;
        case SD_TK_WORD:
            break;
        case SD_TK_INITIAL:
            if (last)
                return -1;
            q -= 0.1;
            break;
        case SD_TK_INITIAL_NODOT:
            if (first || last) {
                if (!relaxed)
                    return -1;
                q -= 0.5;
            } else
                q -= 0.15;
            break;
        case SD_TK_PARTICLE:
            if (last)
                return -1;
            if (first) {
                if (!relaxed)
                    return -1;
                q -= 0.5;
            }
            break;
        case SD_TK_SUFFIX:
            if (!last || nt < 3)
                return -1;
            break;
        case SD_TK_CAPS:
            if (!relaxed)
                return -1;
            q -= 0.5;
            break;
        default:
            return -1;
        }
    }
    if (nt == 1)
        q -= 0.6;
    else if (nt == 3)
        q -= 0.1;
    else if (nt >= 4)
        q -= 0.3;
    return q < 0 ? 0 : q;
}

char *sd_name_key(pgr_arena *a, const char *s, size_t len)
{
    /* The builder's own person key (indexer/normalize.h), so that the owner
     * decided here is the person the graph will merge on. */
    pgr_sb sb = {0};
    pgr_err e;
    char *raw = pgr_arena_strndup(a, s, len), *out = NULL;
    if (!raw)
        return NULL;
    if (ix_name_keys(raw, &sb, NULL, &e) == 0 && pgr_sb_ok(&sb))
        out = pgr_arena_strdup(a, sb.data ? sb.data : "");
    else
        out = raw; /* not reachable for validated UTF-8: compare raw bytes */
    pgr_sb_free(&sb);
    return out;
}

static uint64_t key_hash(const char *k)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *k; k++)
        h = (h ^ (unsigned char)*k) * 1099511628211ull;
    return h;
}

long sd_nameset_find_key(const sd_nameset *set, const char *key)
{
    if (!set || set->n == 0)
        return -1;
    for (size_t i = key_hash(key) & (set->n_slots - 1);; i = (i + 1) & (set->n_slots - 1)) {
        size_t v = set->slots[i];
        if (v == 0)
            return -1;
        if (!strcmp(set->keys[v - 1], key))
            return (long)(v - 1);
    }
}

int sd_nameset_add_key(pgr_arena *a, sd_nameset *set, const char *key, size_t *index)
{
    long f = sd_nameset_find_key(set, key);
    if (f >= 0) {
        if (index)
            *index = (size_t)f;
        return 0;
    }
    if (set->n == set->cap) {
        /* grow: keys x2, table rebuilt at 4x the key capacity (load <= 1/2) */
        size_t nc = set->cap ? set->cap * 2 : 32, ns, *slots;
        char **nk;
        if (!pgr_mul_ok(nc, 4, &ns))
            return -1;
        nk = pgr_arena_calloc(a, nc, sizeof *nk);
        slots = pgr_arena_calloc(a, ns, sizeof *slots);
        if (!nk || !slots)
            return -1;
        if (set->n)
            memcpy(nk, set->keys, set->n * sizeof *nk);
        for (size_t k = 0; k < set->n; k++) {
            size_t i = key_hash(nk[k]) & (ns - 1);
            while (slots[i])
                i = (i + 1) & (ns - 1);
            slots[i] = k + 1;
        }
        set->keys = nk;
        set->cap = nc;
        set->slots = slots;
        set->n_slots = ns;
    }
    {
        size_t i = key_hash(key) & (set->n_slots - 1);
        while (set->slots[i])
            i = (i + 1) & (set->n_slots - 1);
        set->keys[set->n] = (char *)key;
        set->slots[i] = set->n + 1;
        if (index)
            *index = set->n;
        set->n++;
    }
    return 0;
}

int sd_nameset_add(pgr_arena *a, sd_nameset *set, const char *s, size_t len)
{
    char *k = sd_name_key(a, s, len);
    return k ? sd_nameset_add_key(a, set, k, NULL) : -1;
}

int sd_nameset_has(pgr_arena *a, const sd_nameset *set, const char *s, size_t len)
{
    char *k;
    if (!set || set->n == 0)
        return 0;
    k = sd_name_key(a, s, len);
    return k && sd_nameset_find_key(set, k) >= 0;
}

/* ---- author lists ---------------------------------------------------------- */

/* Finds the last " · " (U+00B7) in s; returns its offset or len. */
static size_t find_middot(const char *s, size_t len)
{
    for (size_t i = len; i >= 2; i--) {
        if ((unsigned char)s[i - 2] == 0xC2 && (unsigned char)s[i - 1] == 0xB7)
            return i - 2;
    }
    return len;
}

double sd_parse_author_list(pgr_arena *a, const char *s, size_t len, int relaxed, sd_authors *out)
{
    const char *parts[SD_MAX_AUTHORS];
    size_t plen[SD_MAX_AUTHORS], np = 0, dot;
    double qsum = 0;

    memset(out, 0, sizeof *out);
    trim(&s, &len);
    if (len == 0)
        return -1;
    dot = find_middot(s, len);
    if (dot < len) {
        const char *af = s + dot + 2;
        size_t al = len - dot - 2;
        trim(&af, &al);
        if (al == 0)
            return -1;
        out->affiliation = pgr_arena_strndup(a, af, al);
        if (!out->affiliation)
            return -1;
        len = dot;
        trim(&s, &len);
    }
    /* The cut marker: "et al." (or "et al"), "+N", or an ellipsis. */
    if (sd_ends(s, len, " et al.") || sd_ends(s, len, " et al")) {
        len -= sd_ends(s, len, " et al.") ? 7 : 6;
        out->truncated = "et al.";
    } else if (sd_ends(s, len, "\xE2\x80\xA6") || sd_ends(s, len, "...")) {
        len -= 3; /* "..." and U+2026 are both three bytes */
        out->truncated = "\xE2\x80\xA6";
    } else {
        size_t j = len;
        while (j > 0 && isdigit((unsigned char)s[j - 1]))
            j--;
        if (j < len && len - j <= 6 && j >= 2 && s[j - 1] == '+' && s[j - 2] == ' ') {
            out->truncated = pgr_arena_strndup(a, s + j - 1, len - j + 1);
            if (!out->truncated)
                return -1;
            len = j - 2;
        }
    }
    trim(&s, &len);
    if (len && s[len - 1] == ',')
        len--;
    if (len == 0)
        return -1;
    /* Split on commas; the last part may be "X and Y" / "X & Y". */
    for (size_t i = 0, st = 0; i <= len; i++) {
        if (i == len || s[i] == ',') {
            const char *p = s + st;
            size_t pl = i - st;
            trim(&p, &pl);
            if (sd_starts(p, pl, "and ")) {
                p += 4;
                pl -= 4;
            }
            if (np + 2 > SD_MAX_AUTHORS)
                return -1;
            if (i == len) {
                const char *seps[] = {" and ", " & "};
                for (int k = 0; k < 2; k++) {
                    const char *m = memmem(p, pl, seps[k], strlen(seps[k]));
                    if (m) {
                        parts[np] = p;
                        plen[np++] = (size_t)(m - p);
                        pl -= (size_t)(m - p) + strlen(seps[k]);
                        p = m + strlen(seps[k]);
                        break;
                    }
                }
            }
            parts[np] = p;
            plen[np++] = pl;
            st = i + 1;
        }
    }
    out->refs = pgr_arena_calloc(a, np, sizeof *out->refs);
    if (!out->refs)
        return -1;
    for (size_t k = 0; k < np; k++) {
        double q = sd_name_quality(parts[k], plen[k], relaxed);
        char *raw;
        if (q < 0)
            return -1;
        qsum += q;
        raw = pgr_arena_strndup(a, parts[k], plen[k]);
        if (!raw)
            return -1;
        out->refs[k].raw_name = raw;
        out->refs[k].display_name = raw;
    }
    out->n = np;
    if (out->affiliation)
        out->refs[0].affiliation = out->affiliation;
    return qsum / (double)np;
}

/* ---- claims ----------------------------------------------------------------- */

void sd_claim(sd_claims *c, const char *name, const char *text, double value)
{
    if (c->n >= sizeof c->items / sizeof c->items[0])
        return;
    c->items[c->n].name = name;
    c->items[c->n].text = text;
    c->items[c->n].value = value;
    c->n++;
}

/* ---- owner decision -------------------------------------------------------- */

typedef struct cand {
    const char *key;
    const char *name;  /* raw, as first printed */
    size_t vis;        /* entries where the name is printed */
    size_t vis_trunc;  /* of those, entries whose list is truncated */
    size_t cons;       /* entries where it is printed or could be hidden */
    size_t first;      /* first position seen, for stable ties */
    size_t last_entry; /* entry index + 1 of the last count (one per entry) */
} cand;

/* Rank: consistent with more entries first, then printed on more entries,
 * then seen earlier on the page. */
static int cand_better(const cand *x, const cand *y)
{
    if (x->cons != y->cons)
        return x->cons > y->cons;
    if (x->vis != y->vis)
        return x->vis > y->vis;
    return x->first < y->first;
}

int sd_decide_owner(pgr_arena *a, const ix_input *in, const char *header_owner,
                    const sd_entry_view *e, size_t n, ix_profile *p, pgr_err *err)
{
    cand *c = NULL;
    sd_nameset names = {0};
    size_t nc = 0, total = 0, best = 0, second = 0, ties = 0, n_trunc = 0, n_with_authors = 0;
    int have_best = 0, have_second = 0;
    const char *inferred = NULL;
    double conf = 0, conf2 = 0;
    char *evidence = NULL;

    for (size_t i = 0; i < n; i++) {
        if (!pgr_add_ok(total, e[i].n, &total))
            return sd_oom(err);
        n_trunc += e[i].truncated ? 1 : 0;
        n_with_authors += e[i].n ? 1 : 0;
    }
    if (total) {
        c = pgr_arena_calloc(a, total, sizeof *c);
        if (!c)
            return sd_oom(err);
    }
    /* One pass: each distinct name key is a candidate (hash lookup), counted
     * once per entry. */
    for (size_t i = 0, pos = 0; i < n; i++) {
        for (size_t j = 0; j < e[i].n; j++, pos++) {
            const char *raw = e[i].authors[j].raw_name;
            char *k = sd_name_key(a, raw, strlen(raw));
            size_t x;
            if (!k || sd_nameset_add_key(a, &names, k, &x) != 0)
                return sd_oom(err);
            if (x == nc) {
                c[nc].key = k;
                c[nc].name = raw;
                c[nc].first = pos;
                nc++;
            }
            if (c[x].last_entry == i + 1)
                continue; /* the same name twice on one entry counts once */
            c[x].last_entry = i + 1;
            c[x].vis++;
            if (e[i].truncated)
                c[x].vis_trunc++;
        }
    }
    /* cons = printed + hidden-possible (truncated entries without the name). */
    for (size_t x = 0; x < nc; x++)
        c[x].cons = c[x].vis + (n_trunc - c[x].vis_trunc);
    for (size_t x = 0; x < nc; x++) {
        if (!have_best || cand_better(&c[x], &c[best])) {
            if (have_best) {
                second = best;
                have_second = 1;
            }
            best = x;
            have_best = 1;
        } else if (!have_second || cand_better(&c[x], &c[second])) {
            second = x;
            have_second = 1;
        }
    }
    if (have_best) {
        const cand *w = &c[best];
        double coverage = n ? (double)w->vis / (double)n : 0;
        double consistency = n ? (double)w->cons / (double)n : 0;
        inferred = w->name;
        /* Confidence: how much of the page the owner visibly covers, scaled by
         * how far it leads the runner-up (a tie halves it) and by the share of
         * entries it is consistent with. Ties among k leaders cap it at 1/k. */
        conf = consistency * coverage;
        if (have_second && c[second].vis > 0) {
            /* the runner-up may be printed more often yet rank lower by
             * consistency: its lead counts at most as a tie */
            double r = (double)c[second].vis / (double)w->vis;
            conf *= 1.0 - 0.5 * (r > 1 ? 1 : r);
        }
        for (size_t x = 0; x < nc; x++)
            if (c[x].vis == w->vis && c[x].cons == w->cons)
                ties++;
        if (ties > 1 && conf > 1.0 / (double)ties)
            conf = 1.0 / (double)ties;
        if (conf < 0)
            conf = 0;
        if (conf > 1)
            conf = 1;
        if (have_second) {
            const cand *r = &c[second];
            conf2 =
                (n ? (double)r->cons / (double)n : 0) * (n ? (double)r->vis / (double)n : 0) * 0.5;
            if (r->vis == w->vis && r->cons == w->cons)
                conf2 = conf;
        }
    }

    memset(p, 0, sizeof *p);
    if (in->owner_override && in->owner_override[0]) {
        p->owner_name = in->owner_override;
        p->method = IX_OWNER_OVERRIDE;
        p->confidence = 1.0;
        p->runner_up = header_owner ? header_owner : inferred;
        p->runner_up_confidence = header_owner ? 1.0 : conf;
        evidence = pgr_arena_printf(a, "owner given by --owner; %s %s",
                                    header_owner ? "page header names"
                                    : inferred   ? "inference would pick"
                                                 : "no name on the page",
                                    header_owner ? header_owner
                                    : inferred   ? inferred
                                                 : "");
    } else if (header_owner) {
        char *hk = sd_name_key(a, header_owner, strlen(header_owner));
        size_t vis = 0, cons = 0;
        if (!hk)
            return sd_oom(err);
        long x = sd_nameset_find_key(&names, hk);
        if (x >= 0) {
            vis = c[x].vis;
            cons = c[x].cons;
        }
        if (vis == 0)
            cons = n_trunc;
        p->owner_name = header_owner;
        p->method = IX_OWNER_HEADER;
        /* The header is the site's own statement; it loses confidence only
         * when complete author lists of its entries leave the name out. */
        p->confidence = n_with_authors ? (double)cons / (double)n : 1.0;
        if (n_with_authors)
            evidence = pgr_arena_printf(
                a,
                "named in the page header; printed on %zu of %zu entries, "
                "possibly hidden by a truncated list on %zu, absent from %zu complete lists",
                vis, n, cons - vis, n - cons);
        else
            evidence =
                pgr_arena_printf(a, "named in the page header; the %zu entries list no authors", n);
    } else if (inferred) {
        const cand *w = &c[best];
        p->owner_name = inferred;
        p->method = IX_OWNER_INFERRED;
        p->confidence = conf;
        if (have_second) {
            p->runner_up = c[second].name;
            p->runner_up_confidence = conf2;
        }
        evidence = pgr_arena_printf(
            a,
            "inferred: %s printed on %zu of %zu entries, possibly hidden by a truncated list on "
            "%zu, absent from %zu complete lists; runner-up %s printed on %zu",
            w->name, w->vis, n, w->cons - w->vis, n - w->cons,
            have_second ? c[second].name : "(none)", have_second ? c[second].vis : 0);
    } else {
        p->owner_name = NULL;
        p->method = IX_OWNER_INFERRED;
        p->confidence = 0;
        evidence = pgr_arena_printf(
            a, "no owner: the page names none and its %zu entries list no authors", n);
    }
    if (!evidence)
        return sd_oom(err);
    p->evidence = evidence;
    return 0;
}

int sd_finish(pgr_arena *a, const ix_input *in, const sd_result *r, const ix_sink *sink,
              pgr_err *err)
{
    ix_profile p;
    if (sd_decide_owner(a, in, r->header_owner, r->views, r->n, &p, err) != 0)
        return -1;
    p.site = r->site;
    p.affiliation = r->affiliation;
    p.category = r->category;
    p.claims = r->claims->items;
    p.n_claims = r->claims->n;
    if (sink->profile && sink->profile(sink->ctx, &p, err) != 0) {
        if (err && !err->msg[0])
            pgr_errf(err, PGR_EINTERNAL, "line 1: the sink refused the profile");
        return -1;
    }
    for (size_t i = 0; i < r->n; i++) {
        if (sink->work && sink->work(sink->ctx, &r->works[i], err) != 0) {
            if (err) {
                if (!err->msg[0])
                    pgr_errf(err, PGR_EINTERNAL, "the sink refused the entry");
                /* a store error names the entry's line itself, or, for a
                 * queued PostgreSQL write, the earlier entry that made it */
                if (strncmp(err->msg, "line ", 5))
                    pgr_err_prefix(err, "line %ld", r->works[i].line);
            }
            return -1;
        }
    }
    return 0;
}
