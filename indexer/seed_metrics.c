/* The "metrics card" site family: a profile card with site metrics and a list
 * of papers (formats "metrics-card" and "metrics-list").
 *
 * Card layout (the owner's name and the category line are optional, and so is
 * each metric):
 *
 *   Zhengxiao Liu            owner (a personal name), or absent
 *   CL                       the profile's category code, or absent
 *   h-index5 / 6papers / 295citations / Novelty53% / AI Score52
 *   6 Papers                 the list header: how many entries follow
 *   CLOct 27, 2022[Code]     entry header: [score]CATEGORY Date [Code]
 *   Title
 *   Author One, Author Two et al. · pku     (affiliation optional)
 *   Abstract                 optional
 *
 * Compact list layout (no header at all): per entry three lines
 *
 *   68.6CLMar 25Code
 *   Title of the paperAuthor One, Author Two et al.    (see seed_split.c)
 *   Abstract                 optional
 *
 * A date without a year is the latest such date not after the capture date.
 * The owner is the header's name when printed, else inferred from the entries
 * (sd_decide_owner). */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "indexer/seed_common.h"

enum { LAYOUT_CARD, LAYOUT_LIST };

typedef struct entry_head {
    double score;      /* NAN when absent */
    const char *cat_s; /* into the line */
    size_t cat_len;
    int y, m, d; /* y = 0: no year printed */
    int has_code;
} entry_head;

/* Parses "[score]CATEGORYMon D[, YYYY][Code]" filling the whole line. */
static int parse_entry_head(const char *s, size_t len, entry_head *h)
{
    size_t i = 0, j, used;
    memset(h, 0, sizeof *h);
    h->score = NAN;
    if (len < 5 || len > 64)
        return -1;
    /* optional score: a decimal glued to the category */
    while (i < len && (isdigit((unsigned char)s[i]) || s[i] == '.'))
        i++;
    if (i > 0) {
        if (i > 12 || sd_parse_decimal(s, i, &h->score) != 0)
            return -1;
    }
    /* category: the run of capitals, minus the one that starts the month */
    j = i;
    while (j < len && isupper((unsigned char)s[j]))
        j++;
    if (j == i)
        return -1;
    {
        size_t cat_end = j - 1;
        size_t rest;
        int m = sd_month_at(s + cat_end, len - cat_end, &used);
        if (!m)
            return -1;
        if (cat_end - i > 8)
            return -1;
        h->cat_s = s + i;
        h->cat_len = cat_end - i;
        rest = sd_parse_month_day_year(s + cat_end, len - cat_end, &h->y, &h->m, &h->d);
        if (!rest)
            return -1;
        j = cat_end + rest;
    }
    if (j == len)
        return 0;
    if (len - j == 4 && memcmp(s + j, "Code", 4) == 0) {
        h->has_code = 1;
        return 0;
    }
    return -1;
}

static int is_entry_head(const sd_line *l)
{
    entry_head h;
    return l->len && parse_entry_head(l->s, l->len, &h) == 0;
}

/* "h-index14", "11papers", "51citations", "Novelty55%", "AI Score54". */
static int parse_metric(pgr_arena *a, const sd_line *l, sd_claims *c)
{
    const char *s = l->s;
    size_t n = l->len;
    long v;
    const char *name = NULL;
    const char *num = NULL;
    size_t numlen = 0;
    int pct = 0;
    if (sd_starts(s, n, "h-index")) {
        name = "h_index";
        num = s + 7;
        numlen = n - 7;
    } else if (sd_starts(s, n, "AI Score")) {
        name = "ai_score";
        num = s + 8;
        numlen = n - 8;
    } else if (sd_starts(s, n, "Novelty") && sd_ends(s, n, "%")) {
        name = "novelty_pct";
        num = s + 7;
        numlen = n - 8;
        pct = 1;
    } else if (sd_ends(s, n, "papers") && n > 6) {
        name = "papers";
        num = s;
        numlen = n - 6;
    } else if (sd_ends(s, n, "citations") && n > 9) {
        name = "citations";
        num = s;
        numlen = n - 9;
    }
    if (!name)
        return 0;
    while (numlen && num[0] == ' ') {
        num++;
        numlen--;
    }
    while (numlen && num[numlen - 1] == ' ')
        numlen--;
    if (sd_parse_count(num, numlen, &v) != 0) {
        double dv;
        if (sd_parse_decimal(num, numlen, &dv) != 0 || dv > 1e12)
            return -1; /* not a number, or an absurd one */
        sd_claim(c, name, pgr_arena_printf(a, "%.*s%s", (int)numlen, num, pct ? "%" : ""), dv);
        return 1;
    }
    sd_claim(c, name, pgr_arena_printf(a, "%.*s%s", (int)numlen, num, pct ? "%" : ""), (double)v);
    return 1;
}

/* "11 Papers" / "1 Paper": the list header with the number of entries. */
static int parse_list_count(const sd_line *l, long *count)
{
    const char *sp = memchr(l->s, ' ', l->len);
    if (!sp)
        return -1;
    if (!(sd_ends(l->s, l->len, " Papers") || sd_ends(l->s, l->len, " Paper")))
        return -1;
    return sd_parse_count(l->s, (size_t)(sp - l->s), count);
}

static int is_category_line(const sd_line *l)
{
    if (l->len < 2 || l->len > 8)
        return 0;
    for (size_t i = 0; i < l->len; i++)
        if (!isupper((unsigned char)l->s[i]))
            return 0;
    return 1;
}

typedef struct raw_entry {
    size_t head;          /* line index of the header */
    size_t title_line;    /* card: the title; list: title+authors */
    size_t author_line;   /* card only */
    size_t abstract_line; /* or SIZE_MAX */
    entry_head h;
} raw_entry;

static int parse_metrics(const ix_input *in, const ix_sink *sink, pgr_err *err, int layout)
{
    pgr_arena arena = {0};
    sd_page pg;
    sd_claims claims = {0};
    const char *owner = NULL, *category = NULL;
    long stated = -1;
    long stated_line = 0;
    size_t i, n_ent = 0;
    raw_entry *re = NULL;
    ix_work *works = NULL;
    sd_entry_view *views = NULL;
    sd_split *splits = NULL;
    int rc = -1;

    if (sd_page_load(&pg, in, &arena, err) != 0)
        goto cleanup;

    /* Header: everything before the first entry header. */
    i = sd_next_nonblank(&pg, 0);
    for (; i < pg.n_lines; i = sd_next_nonblank(&pg, i + 1)) {
        const sd_line *l = &pg.lines[i];
        int r;
        if (is_entry_head(l))
            break;
        if ((r = parse_metric(&arena, l, &claims)) < 0) {
            pgr_errf(err, PGR_EINVAL, "line %ld: unreadable metric \"%.*s\"", l->no,
                     (int)(l->len > 60 ? 60 : l->len), l->s);
            goto cleanup;
        }
        if (r > 0)
            continue;
        if (parse_list_count(l, &stated) == 0) {
            stated_line = l->no;
            continue;
        }
        if (is_category_line(l) && !category) {
            category = pgr_arena_strndup(&arena, l->s, l->len);
            continue;
        }
        /* the owner's name: relaxed, so that an all-caps given name ("AJ
         * Piergiovanni") is read, but of two tokens at least (a one-word line
         * is no name) */
        if (!owner && claims.n == 0 && !category && memchr(l->s, ' ', l->len) &&
            sd_name_quality(l->s, l->len, 1) >= 0) {
            owner = pgr_arena_strndup(&arena, l->s, l->len);
            continue;
        }
        pgr_errf(err, PGR_EINVAL, "line %ld: unexpected text before the first entry: \"%.*s\"",
                 l->no, (int)(l->len > 60 ? 60 : l->len), l->s);
        goto cleanup;
    }

    /* Entries. */
    re = pgr_arena_calloc(&arena, pg.n_lines / 2 + 1, sizeof *re);
    if (!re) {
        sd_oom(err);
        goto cleanup;
    }
    while (i < pg.n_lines) {
        raw_entry *e = &re[n_ent];
        const sd_line *hl = &pg.lines[i];
        size_t t, nx;
        if (parse_entry_head(hl->s, hl->len, &e->h) != 0) {
            pgr_errf(err, PGR_EINVAL,
                     "line %ld: expected an entry header like \"CLOct 9, 2022Code\", got \"%.*s\"",
                     hl->no, (int)(hl->len > 60 ? 60 : hl->len), hl->s);
            goto cleanup;
        }
        if (n_ent >= SD_MAX_ENTRIES) {
            pgr_errf(err, PGR_EINVAL, "line %ld: more than %d entries", hl->no, SD_MAX_ENTRIES);
            goto cleanup;
        }
        e->head = i;
        e->abstract_line = SIZE_MAX;
        t = sd_next_nonblank(&pg, i + 1);
        if (t >= pg.n_lines || is_entry_head(&pg.lines[t])) {
            pgr_errf(err, PGR_EINVAL, "line %ld: entry truncated: header without a title", hl->no);
            goto cleanup;
        }
        e->title_line = t;
        nx = sd_next_nonblank(&pg, t + 1);
        if (layout == LAYOUT_CARD) {
            if (nx >= pg.n_lines || is_entry_head(&pg.lines[nx])) {
                pgr_errf(err, PGR_EINVAL,
                         "line %ld: entry truncated: no author line after the title",
                         pg.lines[t].no);
                goto cleanup;
            }
            e->author_line = nx;
            nx = sd_next_nonblank(&pg, nx + 1);
        }
        if (nx < pg.n_lines && !is_entry_head(&pg.lines[nx])) {
            e->abstract_line = nx;
            nx = sd_next_nonblank(&pg, nx + 1);
        }
        n_ent++;
        i = nx;
    }
    if (n_ent == 0) {
        pgr_errf(err, PGR_EINVAL,
                 "line %ld: no entries (expected lines like \"CLOct 9, 2022Code\")",
                 pg.lines[pg.n_lines - 1].no);
        goto cleanup;
    }
    if (stated >= 0 && (size_t)stated != n_ent) {
        pgr_errf(err, PGR_EINVAL,
                 "line %ld: the page announces %ld papers but %zu entries follow%s", stated_line,
                 stated, n_ent, (size_t)stated > n_ent ? " (truncated page?)" : "");
        goto cleanup;
    }

    works = pgr_arena_calloc(&arena, n_ent, sizeof *works);
    views = pgr_arena_calloc(&arena, n_ent, sizeof *views);
    splits = pgr_arena_calloc(&arena, n_ent, sizeof *splits);
    if (!works || !views || !splits) {
        sd_oom(err);
        goto cleanup;
    }

    /* Authors. The list layout needs the splitter, run twice: the second pass
     * uses the full names read on the page's unambiguous entries as evidence. */
    if (layout == LAYOUT_LIST) {
        sd_nameset known = {0};
        for (int pass = 0; pass < 2; pass++) {
            for (size_t k = 0; k < n_ent; k++) {
                const sd_line *l = &pg.lines[re[k].title_line];
                if (sd_split_title_authors(&arena, l->s, l->len, pass ? &known : NULL,
                                           &splits[k]) != 0) {
                    pgr_errf(err, PGR_EINVAL,
                             "line %ld: cannot split the title from the authors (no author list "
                             "of personal names ends the line)",
                             l->no);
                    goto cleanup;
                }
                if (pass == 0 && (splits[k].n_candidates == 1 || splits[k].margin >= 5)) {
                    for (size_t j = 0; j < splits[k].authors.n; j++) {
                        const char *nm = splits[k].authors.refs[j].raw_name;
                        if (sd_nameset_add(&arena, &known, nm, strlen(nm)) != 0) {
                            sd_oom(err);
                            goto cleanup;
                        }
                    }
                }
            }
        }
    }

    for (size_t k = 0; k < n_ent; k++) {
        raw_entry *e = &re[k];
        ix_work *w = &works[k];
        const sd_line *tl = &pg.lines[e->title_line];
        sd_authors au;
        ix_topic_ref *topic;
        int y = e->h.y;
        w->score = NAN;
        w->cited_by_count = -1;
        w->line = pg.lines[e->head].no;
        w->position = (long)k + 1;
        if (layout == LAYOUT_LIST) {
            au = splits[k].authors;
            w->title = pgr_arena_strndup(&arena, tl->s, splits[k].title_len);
        } else {
            const sd_line *al = &pg.lines[e->author_line];
            if (sd_parse_author_list(&arena, al->s, al->len, 0, &au) < 0 &&
                sd_parse_author_list(&arena, al->s, al->len, 1, &au) < 0) {
                pgr_errf(err, PGR_EINVAL,
                         "line %ld: not an author list (expected \"Name One, Name Two et al.\"): "
                         "\"%.*s\"",
                         al->no, (int)(al->len > 60 ? 60 : al->len), al->s);
                goto cleanup;
            }
            w->title = pgr_arena_strndup(&arena, tl->s, tl->len);
        }
        w->authors = au.refs;
        w->n_authors = au.n;
        w->authors_truncated = au.truncated;
        if (e->abstract_line != SIZE_MAX) {
            const sd_line *ab = &pg.lines[e->abstract_line];
            w->abstract = pgr_arena_strndup(&arena, ab->s, ab->len);
            if (!w->abstract) {
                sd_oom(err);
                goto cleanup;
            }
        }
        if (y == 0 && sd_resolve_year(in->capture_date, e->h.m, e->h.d, &y) != 0) {
            pgr_errf(err, PGR_EINVAL,
                     "line %ld: the date has no year and the capture date \"%s\" is not a valid "
                     "YYYY-MM-DD",
                     w->line, in->capture_date);
            goto cleanup;
        }
        if (!sd_valid_ymd(y, e->h.m, e->h.d)) {
            pgr_errf(err, PGR_EINVAL, "line %ld: invalid date %04d-%02d-%02d", w->line, y, e->h.m,
                     e->h.d);
            goto cleanup;
        }
        w->year = y;
        w->date = pgr_arena_printf(&arena, "%04d-%02d-%02d", y, e->h.m, e->h.d);
        w->has_code = e->h.has_code;
        w->score = e->h.score;
        if (e->h.cat_len) {
            topic = pgr_arena_calloc(&arena, 1, sizeof *topic);
            if (!topic) {
                sd_oom(err);
                goto cleanup;
            }
            topic->scheme = "site";
            topic->code = pgr_arena_strndup(&arena, e->h.cat_s, e->h.cat_len);
            topic->score = NAN;
            w->topics = topic;
            w->n_topics = 1;
            if (!topic->code) {
                sd_oom(err);
                goto cleanup;
            }
        }
        if (!w->title || !w->date) {
            sd_oom(err);
            goto cleanup;
        }
        views[k].authors = au.refs;
        views[k].n = au.n;
        views[k].truncated = au.truncated != NULL;
    }

    {
        sd_result r = {"metrics-card", owner, NULL, category, &claims, works, views, n_ent};
        rc = sd_finish(&arena, in, &r, sink, err);
    }

cleanup:
    pgr_arena_free(&arena);
    return rc;
}

int seed_metricscard_parse(const ix_input *in, const ix_sink *sink, pgr_err *err)
{
    return parse_metrics(in, sink, err, LAYOUT_CARD);
}

int seed_metricslist_parse(const ix_input *in, const ix_sink *sink, pgr_err *err)
{
    return parse_metrics(in, sink, err, LAYOUT_LIST);
}

/* ---- detection ------------------------------------------------------------
 * Both layouts have entry headers "[score]CATEGORYDate[Code]", which no other
 * format produces. The card has metric lines and a blank line after each title;
 * the list has the title line glued to the next header-free lines. */
typedef struct det {
    int heads, metrics, blank_after_title, glued_after_title, lines;
    int prev_head;  /* previous line was an entry header */
    int prev_title; /* previous line followed an entry header */
} det;

static int det_fn(const char *s, size_t n, void *ctx)
{
    det *d = ctx;
    sd_line l = {s, n, 0};
    d->lines++;
    if (d->prev_title) {
        if (n == 0)
            d->blank_after_title++;
        else
            d->glued_after_title++;
    }
    d->prev_title = d->prev_head && n > 0;
    d->prev_head = 0;
    if (n && is_entry_head(&l)) {
        d->heads++;
        d->prev_head = 1;
        d->prev_title = 0;
    } else if (sd_starts(s, n, "h-index") || sd_starts(s, n, "AI Score") ||
               (sd_starts(s, n, "Novelty") && sd_ends(s, n, "%"))) {
        d->metrics++;
    }
    return 0;
}

static void detect_scan(const char *data, size_t len, det *d)
{
    memset(d, 0, sizeof *d);
    sd_detect_lines(data, len, 400, det_fn, d);
}

int seed_metricscard_detect(const char *data, size_t len)
{
    det d;
    int s;
    detect_scan(data, len, &d);
    if (d.heads == 0)
        return 0;
    if (d.blank_after_title < d.glued_after_title)
        return d.metrics ? 20 : 0;
    s = 40 + 10 * (d.heads > 2 ? 2 : d.heads) + 10 * (d.metrics > 2 ? 2 : d.metrics);
    return s > 90 ? 90 : s;
}

int seed_metricslist_detect(const char *data, size_t len)
{
    det d;
    int s;
    detect_scan(data, len, &d);
    if (d.heads == 0 || d.glued_after_title <= d.blank_after_title)
        return 0;
    s = 40 + 15 * (d.heads > 3 ? 3 : d.heads);
    return s > 85 ? 85 : s;
}
