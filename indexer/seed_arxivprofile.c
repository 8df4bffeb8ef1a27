/* The arXiv-backed profile family (format "arxiv-profile"):
 *
 *   Z                                   avatar initial (optional)
 *   Zhengxuan Wu                        owner
 *   Total Citations / 174 / h-index / 4 / Papers / 2     label line, value line
 *   Publications
 *   #1 2605.14217v1 May 14, 2026        rank, arXiv id + version, date
 *   Title
 *   Abstract                            optional
 *   Andrew Lanpouthakoun Aryaman Arora Zhengxuan Wu +2   authors, space-separated
 *   0 Citations
 *
 * The author line has no separators between names: it is segmented into
 * names of 2-4 tokens by a minimum-cost split (author_segment below). */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "indexer/seed_common.h"

/* arXiv id with version: "2605.14217v1", "0704.0001v2", "hep-th/9901001v3".
 * Returns 0 and the id (version stripped) length and version. */
static int parse_arxiv(const char *s, size_t len, size_t *id_len, int *version)
{
    size_t i = 0;
    long v;
    if (len >= 9 && isdigit((unsigned char)s[0])) {
        while (i < len && isdigit((unsigned char)s[i]))
            i++;
        if (i != 4 || s[4] != '.')
            return -1;
        {
            int mm = (s[2] - '0') * 10 + (s[3] - '0');
            if (mm < 1 || mm > 12)
                return -1;
        }
        i = 5;
        while (i < len && isdigit((unsigned char)s[i]))
            i++;
        if (i - 5 < 4 || i - 5 > 5)
            return -1;
    } else {
        /* old style: archive(.SUBJ)/YYMMNNN */
        while (i < len && (islower((unsigned char)s[i]) || s[i] == '-'))
            i++;
        if (i < 2)
            return -1;
        if (i < len && s[i] == '.') {
            i++;
            while (i < len && isupper((unsigned char)s[i]))
                i++;
        }
        if (i >= len || s[i] != '/')
            return -1;
        i++;
        for (size_t k = 0; k < 7; k++, i++)
            if (i >= len || !isdigit((unsigned char)s[i]))
                return -1;
    }
    *id_len = i;
    *version = 0;
    if (i == len)
        return 0;
    if (s[i] != 'v' || sd_parse_count(s + i + 1, len - i - 1, &v) != 0 || v < 1 || v > 1000)
        return -1;
    *version = (int)v;
    return 0;
}

typedef struct entry_head {
    long rank;
    const char *id;
    size_t id_len;
    int version;
    int y, m, d;
} entry_head;

/* "#1 2605.14217v1 May 14, 2026" */
static int parse_entry_head(const char *s, size_t len, entry_head *h)
{
    const char *sp, *sp2;
    size_t used;
    memset(h, 0, sizeof *h);
    if (len < 4 || len > 120 || s[0] != '#')
        return -1;
    sp = memchr(s, ' ', len);
    if (!sp || sd_parse_count(s + 1, (size_t)(sp - s - 1), &h->rank) != 0 || h->rank < 1)
        return -1;
    sp++;
    sp2 = memchr(sp, ' ', (size_t)(s + len - sp));
    if (!sp2)
        return -1;
    if (parse_arxiv(sp, (size_t)(sp2 - sp), &h->id_len, &h->version) != 0)
        return -1;
    h->id = sp;
    sp2++;
    used = sd_parse_month_day_year(sp2, (size_t)(s + len - sp2), &h->y, &h->m, &h->d);
    if (!used || sp2 + used != s + len)
        return -1;
    return 0;
}

static int is_entry_head(const sd_line *l)
{
    entry_head h;
    return parse_entry_head(l->s, l->len, &h) == 0;
}

/* "0 Citations", "1 Citation" */
static int parse_citations(const sd_line *l, long *v)
{
    size_t n;
    if (sd_ends(l->s, l->len, " Citations"))
        n = l->len - 10;
    else if (sd_ends(l->s, l->len, " Citation"))
        n = l->len - 9;
    else
        return -1;
    return sd_parse_count(l->s, n, v);
}

/* Segments "A B C D E F +2" into names by dynamic programming over tokens
 * (returns 0, or -1 when no segmentation fits):
 * a name spans 2-4 tokens and must pass sd_name_quality. Its cost counts its
 * plain words (capitalised or all-caps words; initials, particles and
 * suffixes are not plain): 0 for two (most names), 0.5 for one ("M. H. Fan"),
 * 1 for three, 2.5 for four, 1.5 for two after leading initials (initials
 * stand for given names: "G. Keigwin" + "Guoheng McDonald", rarely "J.
 * Robert Oppenheimer"), plus 0.1 per initial, particle or suffix, so that
 * "Emma M. H. Fan" stays one name rather than leaving "Emma" to the name
 * before it; plus 2 when it passes only the relaxed check (an all-caps given
 * name: "AJ Piergiovanni" beats "AJ" + "Piergiovanni"); minus 3 when the
 * segment is a name known from the page (the owner's printed name outweighs
 * any shape). One-token names are
 * allowed only when nothing else fits (cost 4). Equal costs keep the first
 * segmentation found, which ends with the shortest name: "A B C D E" is
 * "A B C" + "D E". A name may not start between two tokens the page prints
 * together on every line that has either, on two lines or more (+0.5, see
 * seg_glue): "Juan Carlos Niebles" printed on several entries is one name
 * next to "Ann Wu". Names of three or four plain words are otherwise
 * undecidable between two neighbours ("Ann Wu Juan Carlos Niebles"; "Anna
 * Renée Hu García" alone): the arXiv metadata of the same id, when ingested,
 * carries the exact list. */
#define SEG_MAX_TOKENS 512

/* Length of the author line without its trailing " +N" (cut marker). */
static size_t names_len(const char *s, size_t len)
{
    size_t j = len;
    while (j > 0 && isdigit((unsigned char)s[j - 1]))
        j--;
    if (j < len && j >= 2 && s[j - 1] == '+' && s[j - 2] == ' ' && len - j <= 6)
        return j - 2;
    return len;
}

/* Splits s[0..len) at blanks into at most SEG_MAX_TOKENS tokens; returns
 * their count, or -1 when there are more. */
static long split_tokens(const char *s, size_t len, size_t *ts, size_t *te)
{
    size_t nt = 0, i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && s[j] != ' ')
            j++;
        if (j > i) {
            if (nt == SEG_MAX_TOKENS)
                return -1;
            ts[nt] = i;
            te[nt] = j;
            nt++;
        }
        i = j + 1;
    }
    return (long)nt;
}

/* Evidence from the page's other author lines: two tokens that are always
 * printed together, one right after the other, on two lines or more ("Juan
 * Carlos" wherever "Juan" or "Carlos" is printed) are inside one name. Built
 * over all the author lines before any is segmented. */
typedef struct seg_glue {
    sd_nameset keys; /* "tok" and "tok\x1ftok" */
    long *count;     /* occurrences, by key index */
    size_t cap;
} seg_glue;

/* The key of token t ("tok"), or of tokens t and t+1 ("tok\x1ftok"), in buf;
 * 0 when it does not fit (no name token is that long: no evidence). */
static int glue_key(char *buf, size_t cap, const char *s, const size_t *ts, const size_t *te,
                    size_t t, int pair)
{
    int n = pair ? snprintf(buf, cap, "%.*s\x1f%.*s", (int)(te[t] - ts[t]), s + ts[t],
                            (int)(te[t + 1] - ts[t + 1]), s + ts[t + 1])
                 : snprintf(buf, cap, "%.*s", (int)(te[t] - ts[t]), s + ts[t]);
    return n > 0 && (size_t)n < cap;
}

static int glue_count(pgr_arena *a, seg_glue *g, const char *key)
{
    size_t x;
    long f = sd_nameset_find_key(&g->keys, key);
    if (f >= 0) {
        g->count[f]++;
        return 0;
    }
    {
        char *k = pgr_arena_strdup(a, key);
        if (!k || sd_nameset_add_key(a, &g->keys, k, &x) != 0)
            return -1;
    }
    if (x >= g->cap) {
        size_t nc = g->cap ? 2 * g->cap : 256;
        long *nv = pgr_arena_calloc(a, nc, sizeof *nv);
        if (!nv)
            return -1;
        if (g->cap)
            memcpy(nv, g->count, g->cap * sizeof *nv);
        g->count = nv;
        g->cap = nc;
    }
    g->count[x] = 1;
    return 0;
}

static int glue_add_line(pgr_arena *a, seg_glue *g, const char *s, size_t len)
{
    size_t ts[SEG_MAX_TOKENS], te[SEG_MAX_TOKENS];
    char key[160];
    long nt = split_tokens(s, names_len(s, len), ts, te);
    for (long t = 0; t < nt; t++) {
        if (glue_key(key, sizeof key, s, ts, te, (size_t)t, 0) && glue_count(a, g, key) != 0)
            return -1;
        if (t + 1 < nt && glue_key(key, sizeof key, s, ts, te, (size_t)t, 1) &&
            glue_count(a, g, key) != 0)
            return -1;
    }
    return 0;
}

/* 1 when tokens t and t+1 of the line are always printed together. */
static int glued(const seg_glue *g, const char *s, const size_t *ts, const size_t *te, size_t t)
{
    long c[3];
    char key[160];
    for (int k = 0; k < 3; k++) {
        long x = -1;
        if (k == 2 ? glue_key(key, sizeof key, s, ts, te, t, 1)
                   : glue_key(key, sizeof key, s, ts, te, t + (size_t)k, 0))
            x = sd_nameset_find_key(&g->keys, key);
        if (x < 0)
            return 0;
        c[k] = g->count[x];
    }
    return c[2] >= 2 && c[2] == c[0] && c[2] == c[1];
}

static int author_segment(pgr_arena *a, const char *s, size_t len, const sd_nameset *known,
                          const seg_glue *glue, sd_authors *out)
{
    size_t ts[SEG_MAX_TOKENS], te[SEG_MAX_TOKENS], nt, nl0 = names_len(s, len);
    double cost[SEG_MAX_TOKENS + 1];
    int back[SEG_MAX_TOKENS + 1];
    unsigned char stuck[SEG_MAX_TOKENS]; /* stuck[t]: tokens t-1 and t always together */
    size_t nn = 0;
    long r;
    memset(out, 0, sizeof *out);
    if (nl0 < len) { /* trailing "+N" */
        out->truncated = pgr_arena_strndup(a, s + nl0 + 1, len - nl0 - 1);
        if (!out->truncated)
            return -1;
        len = nl0;
    }
    if ((r = split_tokens(s, len, ts, te)) <= 0)
        return -1;
    nt = (size_t)r;
    for (size_t t = 0; t < nt; t++)
        stuck[t] = t > 0 && glue && glued(glue, s, ts, te, t - 1);
    cost[0] = 0;
    for (size_t k = 1; k <= nt; k++) {
        cost[k] = INFINITY;
        back[k] = -1;
        for (size_t L = 1; L <= 4 && L <= k; L++) {
            size_t st = k - L;
            const char *ns = s + ts[st];
            size_t nl = te[k - 1] - ts[st];
            double q, c;
            int relaxed;
            if (isinf(cost[st]))
                continue;
            /* segments must be single-space separated to be one raw name */
            {
                int single = 1;
                for (size_t t = st; t + 1 < k; t++)
                    if (ts[t + 1] != te[t] + 1)
                        single = 0;
                if (!single)
                    continue;
            }
            q = sd_name_quality(ns, nl, L == 1);
            relaxed = L == 1;
            if (q < 0 && L > 1) {
                q = sd_name_quality(ns, nl, 1);
                relaxed = 1;
            }
            if (q < 0)
                continue;
            if (L == 1) {
                c = 4;
            } else {
                int plain = 0, extras = 0, lead = sd_token_class(s + ts[st], te[st] - ts[st]);
                for (size_t t = st; t < k; t++) {
                    int cls = sd_token_class(s + ts[t], te[t] - ts[t]);
                    if (cls == SD_TK_WORD || cls == SD_TK_CAPS)
                        plain++;
                    else
                        extras++;
                }
                c = plain <= 1 ? 0.5 : plain == 2 ? 0 : plain == 3 ? 1 : 2.5;
                /* initials stand for given names: after them comes the family
                 * name, rarely two more words ("J. Robert Oppenheimer") */
                if (plain == 2 && (lead == SD_TK_INITIAL || lead == SD_TK_INITIAL_NODOT))
                    c = 1.5;
                c += 0.1 * extras + (relaxed ? 2 : 0);
            }
            if (known && sd_nameset_has(a, known, ns, nl))
                c -= 3; /* the owner's printed name outweighs any shape prior */
            /* a name starting between two tokens the page always prints
             * together; 0.5 breaks ties of the shape costs but never turns
             * two-word names into a three-word one (cost 1 more) */
            if (stuck[st])
                c += 0.5;
            c += 0.5 * (1.0 - q);
            if (cost[st] + c < cost[k]) {
                cost[k] = cost[st] + c;
                back[k] = (int)L;
            }
        }
    }
    if (isinf(cost[nt]))
        return -1;
    for (size_t k = nt; k > 0; k -= (size_t)back[k])
        nn++;
    out->refs = pgr_arena_calloc(a, nn, sizeof *out->refs);
    if (!out->refs)
        return -1;
    out->n = nn;
    for (size_t k = nt, idx = nn; k > 0; k -= (size_t)back[k]) {
        size_t st = k - (size_t)back[k];
        char *raw = pgr_arena_strndup(a, s + ts[st], te[k - 1] - ts[st]);
        if (!raw)
            return -1;
        idx--;
        out->refs[idx].raw_name = raw;
        out->refs[idx].display_name = raw;
    }
    return 0;
}

int seed_arxivprofile_parse(const ix_input *in, const ix_sink *sink, pgr_err *err)
{
    pgr_arena arena = {0};
    sd_page pg;
    sd_claims claims = {0};
    sd_nameset known = {0};
    seg_glue glue = {0};
    size_t *author_line = NULL; /* per entry: its author line */
    const char *owner = NULL;
    size_t i, n_ent = 0;
    ix_work *works = NULL;
    sd_entry_view *views = NULL;
    int rc = -1;
    long expect_rank = 1;

    if (sd_page_load(&pg, in, &arena, err) != 0)
        goto cleanup;
    i = sd_next_nonblank(&pg, 0);
    /* the avatar initial: one capital letter, accented ones included
     * ("É" for Élodie, "Ł" for Łukasz) */
    if (i < pg.n_lines) {
        size_t cl;
        int32_t cp = sd_cp_at(pg.lines[i].s, pg.lines[i].len, 0, &cl);
        if (cl == pg.lines[i].len && sd_cp_class(cp) == SD_CH_UPPER)
            i = sd_next_nonblank(&pg, i + 1);
    }
    if (i >= pg.n_lines || sd_name_quality(pg.lines[i].s, pg.lines[i].len, 1) < 0) {
        pgr_errf(err, PGR_EINVAL, "line %ld: expected the researcher's name",
                 i < pg.n_lines ? pg.lines[i].no : pg.lines[pg.n_lines - 1].no);
        goto cleanup;
    }
    owner = pgr_arena_strndup(&arena, pg.lines[i].s, pg.lines[i].len);
    if (!owner || sd_nameset_add(&arena, &known, owner, strlen(owner)) != 0) {
        sd_oom(err);
        goto cleanup;
    }
    /* label / value pairs up to "Publications" */
    for (i = sd_next_nonblank(&pg, i + 1); i < pg.n_lines; i = sd_next_nonblank(&pg, i + 1)) {
        const sd_line *l = &pg.lines[i];
        static const struct {
            const char *label, *name;
        } labels[] = {{"Total Citations", "citations"},
                      {"Citations", "citations"},
                      {"h-index", "h_index"},
                      {"i10-index", "i10_index"},
                      {"Papers", "papers"}};
        size_t v;
        int matched = 0;
        if (sd_line_is(l, "Publications")) {
            i = sd_next_nonblank(&pg, i + 1);
            break;
        }
        for (size_t k = 0; k < sizeof labels / sizeof labels[0]; k++) {
            long num;
            if (!sd_line_is(l, labels[k].label))
                continue;
            v = sd_next_nonblank(&pg, i + 1);
            if (v >= pg.n_lines || sd_parse_count(pg.lines[v].s, pg.lines[v].len, &num) != 0) {
                pgr_errf(err, PGR_EINVAL, "line %ld: \"%s\" without a number after it", l->no,
                         labels[k].label);
                goto cleanup;
            }
            sd_claim(&claims, labels[k].name,
                     pgr_arena_strndup(&arena, pg.lines[v].s, pg.lines[v].len), (double)num);
            i = v;
            matched = 1;
            break;
        }
        if (!matched && is_entry_head(l))
            break; /* a page without the "Publications" heading */
    }
    if (i >= pg.n_lines) {
        pgr_errf(err, PGR_EINVAL, "line %ld: no publications (truncated page?)",
                 pg.lines[pg.n_lines - 1].no);
        goto cleanup;
    }
    works = pgr_arena_calloc(&arena, pg.n_lines / 3 + 1, sizeof *works);
    views = pgr_arena_calloc(&arena, pg.n_lines / 3 + 1, sizeof *views);
    author_line = pgr_arena_calloc(&arena, pg.n_lines / 3 + 1, sizeof *author_line);
    if (!works || !views || !author_line) {
        sd_oom(err);
        goto cleanup;
    }
    while (i < pg.n_lines) {
        const sd_line *hl = &pg.lines[i];
        entry_head h;
        size_t body[4], nb = 0, k = sd_next_nonblank(&pg, i + 1);
        ix_work *w = &works[n_ent];
        int y;
        long cites = -1;
        if (parse_entry_head(hl->s, hl->len, &h) != 0) {
            pgr_errf(err, PGR_EINVAL,
                     "line %ld: expected an entry header like \"#1 2605.14217v1 May 14, 2026\", "
                     "got \"%.*s\"",
                     hl->no, (int)(hl->len > 60 ? 60 : hl->len), hl->s);
            goto cleanup;
        }
        if (n_ent == 0)
            expect_rank = h.rank; /* a later page of the list starts past #1 */
        if (h.rank != expect_rank) {
            pgr_errf(err, PGR_EINVAL,
                     "line %ld: entry #%ld where #%ld was expected (missing entries?)", hl->no,
                     h.rank, expect_rank);
            goto cleanup;
        }
        expect_rank++;
        while (k < pg.n_lines && !is_entry_head(&pg.lines[k])) {
            if (nb == 4) {
                pgr_errf(err, PGR_EINVAL, "line %ld: unexpected text in entry #%ld", pg.lines[k].no,
                         h.rank);
                goto cleanup;
            }
            body[nb++] = k;
            k = sd_next_nonblank(&pg, k + 1);
        }
        /* body: title, [abstract], authors, [citations] */
        if (nb && parse_citations(&pg.lines[body[nb - 1]], &cites) == 0)
            nb--;
        if (nb < 2) {
            pgr_errf(err, PGR_EINVAL,
                     "line %ld: entry #%ld truncated: needs a title and an author line", hl->no,
                     h.rank);
            goto cleanup;
        }
        if (nb > 3) {
            pgr_errf(err, PGR_EINVAL, "line %ld: unexpected text in entry #%ld",
                     pg.lines[body[3]].no, h.rank);
            goto cleanup;
        }
        /* the author line is segmented once every line is known (seg_glue) */
        author_line[n_ent] = body[nb - 1];
        if (glue_add_line(&arena, &glue, pg.lines[body[nb - 1]].s,
                          pg.lines[body[nb - 1]].len) != 0) {
            sd_oom(err);
            goto cleanup;
        }
        y = h.y;
        if (y == 0 && sd_resolve_year(in->capture_date, h.m, h.d, &y) != 0) {
            pgr_errf(err, PGR_EINVAL,
                     "line %ld: the date has no year and the capture date is not valid", hl->no);
            goto cleanup;
        }
        if (!sd_valid_ymd(y, h.m, h.d)) {
            pgr_errf(err, PGR_EINVAL, "line %ld: invalid date", hl->no);
            goto cleanup;
        }
        w->title = pgr_arena_strndup(&arena, pg.lines[body[0]].s, pg.lines[body[0]].len);
        if (nb == 3)
            w->abstract = pgr_arena_strndup(&arena, pg.lines[body[1]].s, pg.lines[body[1]].len);
        w->year = y;
        w->date = pgr_arena_printf(&arena, "%04d-%02d-%02d", y, h.m, h.d);
        w->venue = "arXiv";
        w->arxiv_id = pgr_arena_strndup(&arena, h.id, h.id_len);
        w->arxiv_version = h.version;
        w->has_code = -1;
        w->score = NAN;
        w->cited_by_count = cites;
        w->position = h.rank;
        w->line = hl->no;
        if (!w->title || (nb == 3 && !w->abstract) || !w->date || !w->arxiv_id) {
            sd_oom(err);
            goto cleanup;
        }
        n_ent++;
        i = k;
    }
    if (n_ent == 0) {
        pgr_errf(err, PGR_EINVAL, "line %ld: no publications (truncated page?)",
                 pg.lines[pg.n_lines - 1].no);
        goto cleanup;
    }
    for (size_t e = 0; e < n_ent; e++) {
        const sd_line *al = &pg.lines[author_line[e]];
        sd_authors au;
        if (author_segment(&arena, al->s, al->len, &known, &glue, &au) < 0) {
            pgr_errf(err, PGR_EINVAL,
                     "line %ld: not an author line (names separated by spaces, optional \"+N\")",
                     al->no);
            goto cleanup;
        }
        works[e].authors = au.refs;
        works[e].n_authors = au.n;
        works[e].authors_truncated = au.truncated;
        views[e].authors = au.refs;
        views[e].n = au.n;
        views[e].truncated = au.truncated != NULL;
    }
    {
        sd_result r = {"arxiv-profile", owner, NULL, NULL, &claims, works, views, n_ent};
        rc = sd_finish(&arena, in, &r, sink, err);
    }

cleanup:
    pgr_arena_free(&arena);
    return rc;
}

static int det_fn(const char *s, size_t n, void *ctx)
{
    int *score = ctx;
    sd_line l = {s, n, 0};
    if (n == 15 && !memcmp(s, "Total Citations", 15))
        *score += 25;
    else if (n == 7 && !memcmp(s, "h-index", 7))
        *score += 15;
    else if (n == 12 && !memcmp(s, "Publications", 12))
        *score += 15;
    else if (n && s[0] == '#' && is_entry_head(&l))
        *score += 25;
    return 0;
}

int seed_arxivprofile_detect(const char *data, size_t len)
{
    int score = 0;
    sd_detect_lines(data, len, 200, det_fn, &score);
    return score > 95 ? 95 : score < 40 ? 0 : score;
}
