/* Per-author reads of the profile page and the graph view: co-authors with
 * shared-work counts, and one page of an author's works. Both are written so
 * their cost follows the author's own rows (works, authorships of those
 * works), never the size of the graph, and so that an author with 500 works
 * costs a few statements:
 *   - co-authors: the co-author ids of every shared work come back as one
 *     list and are counted here (sort + run lengths); names are read only for
 *     the ones that can make the cut (counting in SQL with GROUP BY and
 *     joining every co-author's name before the LIMIT cost 4-5 ms for 500
 *     works, this about 1);
 *   - works: the page's ids from a join that starts at the author's
 *     authorships (a filter of the form "works.id IN (...)" made SQLite probe
 *     each work twice: once to count, once to sort), the count from the
 *     covering authorships index, the entities in one statement per part for
 *     the page. */
#include <stdlib.h>
#include <string.h>

#include "graph/store_impl.h"

#define OOM(err) pgr_errf(err, PGR_ENOMEM, "out of memory")

/* Sorts ids ascending: LSD radix on the bytes of the key (sign bit flipped,
 * so negative ids order first), skipping bytes every id shares. A profile
 * ranks ~2,500 co-author ids per view; qsort's comparator calls were 1.5 M
 * instructions of it, this is a few passes over the array. tmp: n entries. */
static void radix_sort_ids(pgr_id *ids, pgr_id *tmp, size_t n)
{
    pgr_id *src = ids, *dst = tmp;
    for (int shift = 0; shift < 64; shift += 8) {
        size_t count[257] = {0};
        for (size_t i = 0; i < n; i++)
            count[(((uint64_t)src[i] ^ (1ULL << 63)) >> shift & 0xff) + 1]++;
        if (count[(((uint64_t)src[0] ^ (1ULL << 63)) >> shift & 0xff) + 1] == n)
            continue; /* one value of this byte: the pass would keep the order */
        for (int b = 0; b < 256; b++)
            count[b + 1] += count[b];
        for (size_t i = 0; i < n; i++)
            dst[count[((uint64_t)src[i] ^ (1ULL << 63)) >> shift & 0xff]++] = src[i];
        pgr_id *t = src;
        src = dst;
        dst = t;
    }
    if (src != ids)
        memcpy(ids, src, n * sizeof *ids);
}

int pgr_rank_ids(pgr_id *ids, size_t n, pgr_coauthor **out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    if (!n)
        return 0;
    size_t bytes;
    if (!pgr_mul_ok(n, sizeof(pgr_coauthor), &bytes))
        return -1;
    /* run lengths: at most n distinct ids; c doubles as the sort's scratch */
    pgr_coauthor *c = malloc(bytes), *r = malloc(bytes);
    size_t *start = calloc(n + 2, sizeof *start);
    if (!c || !r || !start) {
        free(c);
        free(r);
        free(start);
        return -1;
    }
    radix_sort_ids(ids, (pgr_id *)(void *)r, n); /* r holds n pairs: room for n ids */
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m && c[m - 1].id == ids[i])
            c[m - 1].n++;
        else
            c[m++] = (pgr_coauthor){ids[i], 1};
    }
    /* most frequent first, ties by id: a stable counting sort by count
     * (counts are 1..n) over pairs already in id order */
    for (size_t i = 0; i < m; i++)
        start[n - (size_t)c[i].n + 1]++;
    for (size_t k = 0; k <= n; k++)
        start[k + 1] += start[k];
    for (size_t i = 0; i < m; i++)
        r[start[n - (size_t)c[i].n]++] = c[i];
    free(c);
    free(start);
    *out = r;
    *n_out = m;
    return 0;
}

int pgr_coauthor_counts(pgr_store *s, pgr_id a, pgr_coauthor **out, size_t *n_out,
                        pgr_err *err)
{
    *out = NULL;
    *n_out = 0;
    pgr_stmt *st = pgr_st(s, ST_COAUTHOR_IDS, err);
    if (!st)
        return -1;
    pgr_bind_int(st, 1, a);
    pgr_id *ids = NULL;
    size_t n = 0, cap = 0;
    int r;
    while ((r = pgr_step(st, err)) == 1) {
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 256, bytes;
            pgr_id *g = pgr_mul_ok(nc, sizeof *g, &bytes) ? realloc(ids, bytes) : NULL;
            if (!g) {
                pgr_reset(st);
                free(ids);
                return OOM(err);
            }
            ids = g;
            cap = nc;
        }
        ids[n++] = pgr_col_int(st, 0);
    }
    pgr_reset(st);
    if (r < 0) {
        free(ids);
        return -1;
    }
    if (!n) {
        free(ids);
        return 0;
    }
    int rc = pgr_rank_ids(ids, n, out, n_out);
    free(ids);
    return rc == 0 ? 0 : OOM(err);
}

typedef struct named {
    pgr_id id;
    long n;
    const char *norm, *name; /* borrowed from names (a JSON object) */
} named;

static int cmp_named(const void *x, const void *y)
{
    const named *a = x, *b = y;
    if (a->n != b->n)
        return a->n > b->n ? -1 : 1;
    int c = strcmp(a->norm, b->norm);
    if (c)
        return c;
    return a->id < b->id ? -1 : a->id > b->id;
}

int pgr_author_coauthors(pgr_store *s, const char *author, int limit, json_t **out, pgr_err *err)
{
    pgr_id a;
    *out = NULL;
    if (pgr_resolve_id(s, PGR_AUTHORS, author, &a, err) != 0 ||
        pgr_author_resolve(s, a, &a, err) != 0)
        return -1;
    pgr_coauthor *c = NULL;
    size_t m = 0;
    if (pgr_coauthor_counts(s, a, &c, &m, err) != 0)
        return -1;
    /* the cut: everyone counted above the limit-th count, plus its ties
     * (ordered by name below) */
    size_t take = m;
    if (limit > 0 && (size_t)limit < m) {
        take = (size_t)limit;
        while (take < m && c[take].n == c[limit - 1].n)
            take++;
    }
    int rc = -1;
    pgr_sb list = {0};
    named *nm = NULL;
    json_t *names = json_object(), *arr = json_array();
    pgr_id *ids = take ? malloc(take * sizeof *ids) : NULL;
    if (!names || !arr || (take && !ids)) {
        OOM(err);
        goto cleanup;
    }
    for (size_t i = 0; i < take; i++)
        ids[i] = c[i].id;
    if (take) {
        char sql[256];
        snprintf(sql, sizeof sql, "SELECT id, display_name, norm_name FROM authors WHERE id IN %s",
                 pgr_ids_sql(s));
        pgr_stmt *st = pgr_st_dyn(s, "coauthor_names", sql, err);
        if (!st)
            goto cleanup;
        pgr_ids_param(s, ids, take, &list);
        if (!pgr_sb_ok(&list)) {
            OOM(err);
            goto cleanup;
        }
        pgr_bind_text(st, 1, list.data);
        int r;
        while ((r = pgr_step(st, err)) == 1) {
            char k[32];
            pgr_short_key(PGR_AUTHORS, pgr_col_int(st, 0), k);
            const char *dn = pgr_col_text(st, 1), *nn = pgr_col_text(st, 2);
            json_object_set_new(names, k, json_pack("[s,s]", dn ? dn : "", nn ? nn : ""));
        }
        pgr_reset(st);
        if (r < 0)
            goto cleanup;
    }
    nm = take ? calloc(take, sizeof *nm) : NULL;
    if (take && !nm) {
        OOM(err);
        goto cleanup;
    }
    size_t k = 0;
    for (size_t i = 0; i < take; i++) {
        char key[32];
        pgr_short_key(PGR_AUTHORS, c[i].id, key);
        json_t *v = json_object_get(names, key);
        if (!v) /* an authorship row without its author (cannot happen with the FKs) */
            continue;
        nm[k++] = (named){c[i].id, c[i].n, json_string_value(json_array_get(v, 1)),
                          json_string_value(json_array_get(v, 0))};
    }
    qsort(nm, k, sizeof *nm, cmp_named);
    for (size_t i = 0; i < k && (limit <= 0 || i < (size_t)limit); i++)
        json_array_append_new(arr, json_pack("{s:o, s:s, s:I}", "id",
                                             pgr_key_json(PGR_AUTHORS, nm[i].id), "display_name",
                                             nm[i].name, "count", (json_int_t)nm[i].n));
    *out = arr;
    arr = NULL;
    rc = 0;
cleanup:
    free(c);
    free(ids);
    free(nm);
    pgr_sb_free(&list);
    json_decref(names);
    json_decref(arr);
    return rc;
}

/* Sort keys of an author's works page: the same expressions as pgr_list's
 * (store_query.c), so a page here equals the list filtered by the author. */
static const struct {
    const char *field, *expr;
} work_sorts[] = {
    {"cited_by_count", "e.cited_by_count"}, {"publication_date", "e.sort_date"},
    {"publication_year", "COALESCE(e.year, 0)"}, {"display_name", "e.norm_title"},
    {"title", "e.norm_title"},
};

/* The page's work ids (at most per_page, in the page's order) and the
 * author's count of works; the checks common to both readers of a page.
 * years (optional, room for years_cap): the author's works per publication
 * year, counted in the same pass: the statement then returns every work in
 * the page's order with its year, and the page is the window of it (one read
 * of each work instead of one for the order and one for the counts). *a:
 * the author, resolved. */
static int author_page_ids(pgr_store *s, const char *author, const pgr_sort *sorts,
                           size_t n_sorts, int page, int per_page, pgr_id ids[200], int *n_ids,
                           int64_t *count, pgr_year_count *years, size_t *n_years,
                           size_t years_cap, pgr_id *a_out, pgr_err *err)
{
    *n_ids = 0;
    *count = 0;
    if (n_years)
        *n_years = 0;
    if (per_page < 1 || per_page > 200)
        return pgr_errf(err, PGR_EINVAL, "per_page: %d is not in 1..200", per_page);
    if (page < 1 || (int64_t)page * per_page > 1000000)
        return pgr_errf(err, PGR_EINVAL, "page: %d is out of range", page);
    if (n_sorts > 4)
        return pgr_errf(err, PGR_EINVAL, "sort: at most 4 keys");
    pgr_id a;
    if (pgr_resolve_id(s, PGR_AUTHORS, author, &a, err) != 0 ||
        pgr_author_resolve(s, a, &a, err) != 0)
        return -1;
    pgr_sb sql = {0};
    pgr_sb_puts(&sql, years ? "SELECT e.id, e.year FROM authorships x JOIN works e ON e.id = "
                              "x.work_id WHERE x.author_id = $1 ORDER BY "
                            : "SELECT e.id FROM authorships x JOIN works e ON e.id = x.work_id "
                              "WHERE x.author_id = $1 ORDER BY ");
    for (size_t i = 0; i < n_sorts; i++) {
        const char *expr = NULL;
        for (size_t k = 0; k < sizeof work_sorts / sizeof work_sorts[0] && !expr; k++)
            if (!strcmp(work_sorts[k].field, sorts[i].field))
                expr = work_sorts[k].expr;
        if (!expr) {
            pgr_sb_free(&sql);
            return pgr_errf(err, PGR_EINVAL, "sort: '%s' is not a sort key of an author's works",
                            sorts[i].field);
        }
        pgr_sb_printf(&sql, "%s %s, ", expr, sorts[i].desc ? "DESC" : "ASC");
    }
    pgr_sb_puts(&sql, years ? "e.id ASC" : "e.id ASC LIMIT $2 OFFSET $3");
    int rc = -1, r, n = 0;
    int64_t off = (int64_t)(page - 1) * per_page;
    pgr_stmt *sts[2] = {NULL, NULL};
    if (!pgr_sb_ok(&sql)) {
        OOM(err);
        goto cleanup;
    }
    if (!(sts[0] = pgr_st(s, ST_AUTHOR_WORKS_COUNT, err)) ||
        !(sts[1] = pgr_st_dyn(s, "author_works_page", sql.data, err)))
        goto cleanup;
    pgr_bind_int(sts[0], 1, a);
    pgr_bind_int(sts[1], 1, a);
    if (!years) {
        pgr_bind_int(sts[1], 2, per_page);
        pgr_bind_int(sts[1], 3, off);
    }
    if (pgr_batch(s, sts, 2, err) != 0)
        goto cleanup;
    if ((r = pgr_step(sts[0], err)) < 0)
        goto cleanup;
    *count = r ? pgr_col_int(sts[0], 0) : 0;
    if (!years) {
        while (n < per_page && (r = pgr_step(sts[1], err)) == 1)
            ids[n++] = pgr_col_int(sts[1], 0);
    } else {
        for (int64_t row = 0; (r = pgr_step(sts[1], err)) == 1; row++) {
            if (row >= off && n < per_page)
                ids[n++] = pgr_col_int(sts[1], 0);
            if (pgr_col_null(sts[1], 1))
                continue;
            int64_t y = pgr_col_int(sts[1], 1);
            size_t i = 0;
            while (i < *n_years && years[i].year != y)
                i++;
            if (i == *n_years && i < years_cap)
                years[(*n_years)++] = (pgr_year_count){y, 0, 0};
            if (i < *n_years)
                years[i].works++;
        }
    }
    if (r < 0)
        goto cleanup;
    if (a_out)
        *a_out = a;
    *n_ids = n;
    rc = 0;
cleanup:
    for (int k = 0; k < 2; k++)
        if (sts[k])
            pgr_reset(sts[k]);
    pgr_sb_free(&sql);
    return rc;
}

int pgr_author_works(pgr_store *s, const char *author, const pgr_sort *sorts, size_t n_sorts,
                     int page, int per_page, const char *const *select, size_t n_select,
                     json_t **out, pgr_err *err)
{
    *out = NULL;
    if (select && pgr_select_check(PGR_WORKS, select, n_select, err) != 0)
        return -1;
    pgr_id ids[200];
    int n = 0;
    int64_t count = 0;
    if (author_page_ids(s, author, sorts, n_sorts, page, per_page, ids, &n, &count, NULL, NULL, 0,
                        NULL, err) != 0)
        return -1;
    int rc = -1;
    json_t **objs = calloc(n ? (size_t)n : 1, sizeof *objs);
    json_t *results = json_array();
    if (!objs || !results) {
        OOM(err);
        goto cleanup;
    }
    if (pgr_entities_json(s, PGR_WORKS, ids, (size_t)n, select, n_select, objs, err) != 0)
        goto cleanup;
    for (int i = 0; i < n; i++)
        if (objs[i]) /* deleted between the statements: skipped, as pgr_list does */
            json_array_append_new(results, objs[i]);
    *out = json_pack("{s:{s:I, s:b, s:i, s:i}, s:O}", "meta", "count", (json_int_t)count,
                     "count_exact", 1, "page", page, "per_page", per_page, "results", results);
    rc = *out ? 0 : OOM(err);
cleanup:
    free(objs);
    json_decref(results);
    return rc;
}

/* The brief page's three reads, over the page's ids: the works (with the
 * venue's name), their authors in printed order, their topics most relevant
 * first. The same joins and orders as pgr_entities_json's parts
 * (store_read.c) without the columns a list does not show. */
enum { BR_WORK, BR_AUTHORS, BR_TOPICS, BR_N };
static const char *const brief_sql[BR_N] = {
    "SELECT w.id, w.title, w.year, w.date, w.type, w.venue_id, v.display_name, w.abstract, "
    "w.authors_truncated, w.cited_by_count, w.has_code FROM works w LEFT JOIN venues v ON "
    "v.id = w.venue_id WHERE w.id IN %s",
    "SELECT s.work_id, s.author_id, a.display_name, s.raw_name FROM authorships s JOIN authors a "
    "ON a.id = s.author_id WHERE s.work_id IN %s ORDER BY s.work_id, s.position, s.author_id",
    "SELECT wt.work_id, t.id, t.display_name, t.code FROM work_topics wt JOIN topics t ON t.id = "
    "wt.topic_id WHERE wt.work_id IN %s ORDER BY wt.work_id, wt.weight DESC NULLS LAST, t.id",
};
static const char *const brief_names[BR_N] = {"brief_works", "brief_authors", "brief_topics"};

/* The page entry of work id (ids are few: a linear scan is the cheapest). */
static pgr_work_brief *brief_of(pgr_work_brief *w, size_t n, pgr_id id)
{
    for (size_t i = 0; i < n; i++)
        if (w[i].id == id)
            return &w[i];
    return NULL;
}

/* NULL stays NULL (unknown), else a copy in the arena; *oom set on failure. */
static const char *brief_str(pgr_arena *arena, const char *v, int *oom)
{
    if (!v)
        return NULL;
    char *c = pgr_arena_strdup(arena, v);
    if (!c)
        *oom = 1;
    return c;
}

int pgr_author_works_brief(pgr_store *s, const char *author, const pgr_sort *sorts,
                           size_t n_sorts, int page, int per_page, pgr_arena *arena,
                           pgr_work_brief **works, size_t *n_works, int64_t *count,
                           json_t **counts_by_year, pgr_err *err)
{
    *works = NULL;
    *n_works = 0;
    if (counts_by_year)
        *counts_by_year = NULL;
    pgr_id ids[200], a = 0;
    int n = 0;
    pgr_year_count years[512];
    size_t ny = 0;
    if (author_page_ids(s, author, sorts, n_sorts, page, per_page, ids, &n, count,
                        counts_by_year ? years : NULL, &ny, sizeof years / sizeof years[0], &a,
                        err) != 0)
        return -1;
    if (counts_by_year && pgr_author_years_with(s, a, years, ny, counts_by_year, err) != 0)
        return -1;
    if (!n)
        return 0;
    int rc = -1, r, oom = 0, np = 0;
    pgr_sb list = {0};
    pgr_stmt *sts[BR_N];
    /* per work: authors and topics counted in a first pass would need a
     * second read; rows are appended to growable arrays instead */
    size_t *cap_a = calloc((size_t)n, sizeof *cap_a), *cap_t = calloc((size_t)n, sizeof *cap_t);
    unsigned char *seen = calloc((size_t)n, 1);
    pgr_work_brief *w = pgr_arena_calloc(arena, (size_t)n, sizeof *w);
    if (!w || !cap_a || !cap_t || !seen) {
        OOM(err);
        goto cleanup;
    }
    for (int i = 0; i < n; i++)
        w[i].id = ids[i];
    pgr_ids_param(s, ids, (size_t)n, &list);
    if (!pgr_sb_ok(&list)) {
        OOM(err);
        goto cleanup;
    }
    for (; np < BR_N; np++) {
        char sql[512];
        snprintf(sql, sizeof sql, brief_sql[np], pgr_ids_sql(s));
        if (!(sts[np] = pgr_st_dyn(s, brief_names[np], sql, err)))
            goto reset;
        pgr_bind_text(sts[np], 1, list.data);
    }
    if (pgr_batch(s, sts, BR_N, err) != 0)
        goto reset;
    int found = 0;
    while ((r = pgr_step(sts[BR_WORK], err)) == 1) {
        pgr_work_brief *b = brief_of(w, (size_t)n, pgr_col_int(sts[BR_WORK], 0));
        if (!b || seen[b - w])
            continue;
        seen[b - w] = 1;
        pgr_stmt *st = sts[BR_WORK];
        b->title = brief_str(arena, pgr_col_text(st, 1), &oom);
        b->year = pgr_col_null(st, 2) ? 0 : pgr_col_int(st, 2);
        b->date = brief_str(arena, pgr_col_text(st, 3), &oom);
        b->type = brief_str(arena, pgr_col_text(st, 4), &oom);
        b->venue = pgr_col_null(st, 5) ? NULL : brief_str(arena, pgr_col_text(st, 6), &oom);
        b->abstract = brief_str(arena, pgr_col_text(st, 7), &oom);
        b->authors_truncated = brief_str(arena, pgr_col_text(st, 8), &oom);
        b->cited_by_count = pgr_col_int(st, 9);
        b->has_code = !pgr_col_null(st, 10) && pgr_col_int(st, 10) != 0;
        found++;
    }
    if (r < 0)
        goto reset;
    for (int k = BR_AUTHORS; k <= BR_TOPICS; k++) {
        pgr_stmt *st = sts[k];
        while ((r = pgr_step(st, err)) == 1) {
            pgr_work_brief *b = brief_of(w, (size_t)n, pgr_col_int(st, 0));
            if (!b)
                continue;
            size_t *cap = k == BR_AUTHORS ? &cap_a[b - w] : &cap_t[b - w];
            size_t have = k == BR_AUTHORS ? b->n_authors : b->n_topics;
            size_t elem = k == BR_AUTHORS ? sizeof *b->authors : sizeof *b->topics;
            void **arr = k == BR_AUTHORS ? (void **)&b->authors : (void **)&b->topics;
            if (have == *cap) { /* grow in the arena: the old block is simply left */
                size_t nc = *cap ? *cap * 2 : 8;
                void *g = pgr_arena_calloc(arena, nc, elem);
                if (!g) {
                    oom = 1;
                    break;
                }
                if (have)
                    memcpy(g, *arr, have * elem);
                *arr = g;
                *cap = nc;
            }
            if (k == BR_AUTHORS) {
                const char *name = pgr_col_text(st, 2) ? pgr_col_text(st, 2) : pgr_col_text(st, 3);
                b->authors[b->n_authors++] =
                    (pgr_brief_author){pgr_col_int(st, 1), brief_str(arena, name, &oom)};
            } else {
                b->topics[b->n_topics++] =
                    (pgr_brief_topic){pgr_col_int(st, 1), brief_str(arena, pgr_col_text(st, 2), &oom),
                                      brief_str(arena, pgr_col_text(st, 3), &oom)};
            }
        }
        if (r < 0)
            goto reset;
    }
    if (oom) {
        OOM(err);
        goto reset;
    }
    /* works deleted between the statements are skipped, as pgr_list does */
    if (found < n) {
        int m = 0;
        for (int i = 0; i < n; i++)
            if (seen[i])
                w[m++] = w[i];
        n = m;
    }
    *works = w;
    *n_works = (size_t)n;
    rc = 0;
reset:
    for (int k = 0; k < np; k++)
        pgr_reset(sts[k]);
cleanup:
    if (rc != 0 && counts_by_year) {
        json_decref(*counts_by_year);
        *counts_by_year = NULL;
    }
    free(cap_a);
    free(cap_t);
    free(seen);
    pgr_sb_free(&list);
    return rc;
}
