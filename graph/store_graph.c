/* The neighbourhood of an author for the research-graph view: nodes (authors,
 * works, topics, institutions) and edges, depth 1 or 2.
 *
 * Set-based and bounded: a handful of statements for the whole graph (never
 * one per co-author or per work), each over a capped set of ids, so a
 * request costs the same for an author with 20 works or 2,000. The caps
 * (PGR_GRAPH_* in graph.h, docs/api.md) choose what a graph view can show:
 * the most cited works, the co-authors who share the most of them, the most
 * frequent topics; "truncated" says when a cap or max_nodes left something
 * out. Under the caps the graph is the whole neighbourhood, node for node and
 * edge for edge (tests/unit/test_store.c checks it against the generator).
 *
 * Weights count how often a node or edge was reached, as an expansion walks
 * the rows: a work +1 per expanded author it belongs to, an author +1 per
 * authorship row on an expanded author's works, a topic +1 per work, an
 * authorship / topic / citation edge +1 per expansion that reaches it, a
 * co-author edge +1 per shared work. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/store_impl.h"

#define OOM(err) pgr_errf(err, PGR_ENOMEM, "out of memory")

/* ---- node and edge tables: open addressing over 64-bit keys ---- */

/* An entity reference as one key: the entity in the top byte. */
static uint64_t ref(pgr_entity e, pgr_id id)
{
    return ((uint64_t)e << 56) | ((uint64_t)id & 0x00ffffffffffffffULL);
}
static pgr_entity ref_entity(uint64_t r) { return (pgr_entity)(r >> 56); }
static pgr_id ref_id(uint64_t r) { return (pgr_id)(r & 0x00ffffffffffffffULL); }

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}

typedef struct gnode {
    uint64_t ref;
    long weight;
    const char *type, *label; /* static / arena */
} gnode;

enum { E_AUTHORSHIP, E_COAUTHOR, E_TOPIC, E_CITATION, E_AFFILIATION };
static const char *const edge_types[] = {"authorship", "coauthor", "topic", "citation",
                                         "affiliation"};

typedef struct gedge {
    uint64_t a, b;
    int type; /* E_* */
    long weight;
} gedge;

typedef struct gbuild {
    gnode *nodes;
    size_t n_nodes, cap_nodes;
    gedge *edges;
    size_t n_edges, cap_edges;
    size_t *nslot, *eslot; /* index + 1; 0 = empty */
    size_t nslot_cap, eslot_cap;
    pgr_arena arena;
    int oom;
} gbuild;

static size_t edge_hash(uint64_t a, uint64_t b, int type)
{
    return (size_t)mix(a * 31 + mix(b) + (uint64_t)type);
}

/* Rebuilds a slot table at twice the size (load stays under one half). */
static int rehash(gbuild *g, int edges)
{
    size_t cap = edges ? g->eslot_cap : g->nslot_cap;
    size_t ncap = cap ? cap * 2 : 1024;
    size_t *t = calloc(ncap, sizeof *t);
    if (!t)
        return -1;
    size_t n = edges ? g->n_edges : g->n_nodes;
    for (size_t i = 0; i < n; i++) {
        size_t h = edges ? edge_hash(g->edges[i].a, g->edges[i].b, g->edges[i].type)
                         : (size_t)mix(g->nodes[i].ref);
        size_t j = h & (ncap - 1);
        while (t[j])
            j = (j + 1) & (ncap - 1);
        t[j] = i + 1;
    }
    if (edges) {
        free(g->eslot);
        g->eslot = t;
        g->eslot_cap = ncap;
    } else {
        free(g->nslot);
        g->nslot = t;
        g->nslot_cap = ncap;
    }
    return 0;
}

/* The node's index, or -1. */
static long node_find(const gbuild *g, uint64_t r)
{
    if (!g->nslot_cap)
        return -1;
    size_t j = (size_t)mix(r) & (g->nslot_cap - 1);
    for (; g->nslot[j]; j = (j + 1) & (g->nslot_cap - 1))
        if (g->nodes[g->nslot[j] - 1].ref == r)
            return (long)(g->nslot[j] - 1);
    return -1;
}

/* Adds the node (label copied) or counts one more reach of it. */
static void node(gbuild *g, uint64_t r, const char *type, const char *label)
{
    long i = node_find(g, r);
    if (i >= 0) {
        g->nodes[i].weight++;
        return;
    }
    if (g->oom)
        return;
    if ((g->n_nodes + 1) * 2 > g->nslot_cap && rehash(g, 0) != 0)
        goto oom;
    if (g->n_nodes == g->cap_nodes) {
        size_t nc = g->cap_nodes ? g->cap_nodes * 2 : 256;
        gnode *n = realloc(g->nodes, nc * sizeof *n);
        if (!n)
            goto oom;
        g->nodes = n;
        g->cap_nodes = nc;
    }
    const char *l = pgr_arena_strdup(&g->arena, label ? label : "");
    if (!l)
        goto oom;
    g->nodes[g->n_nodes] = (gnode){r, 1, type, l};
    size_t j = (size_t)mix(r) & (g->nslot_cap - 1);
    while (g->nslot[j])
        j = (j + 1) & (g->nslot_cap - 1);
    g->nslot[j] = ++g->n_nodes;
    return;
oom:
    g->oom = 1;
}

/* Adds the edge or counts one more reach of it; co-author edges are
 * undirected (one per pair, the lower id as the source). */
static void edge(gbuild *g, uint64_t a, uint64_t b, int type)
{
    if (type == E_COAUTHOR && ref_id(a) > ref_id(b)) {
        uint64_t t = a;
        a = b;
        b = t;
    }
    if (g->eslot_cap) {
        size_t j = edge_hash(a, b, type) & (g->eslot_cap - 1);
        for (; g->eslot[j]; j = (j + 1) & (g->eslot_cap - 1)) {
            gedge *e = &g->edges[g->eslot[j] - 1];
            if (e->a == a && e->b == b && e->type == type) {
                e->weight++;
                return;
            }
        }
    }
    if (g->oom)
        return;
    if ((g->n_edges + 1) * 2 > g->eslot_cap && rehash(g, 1) != 0)
        goto oom;
    if (g->n_edges == g->cap_edges) {
        size_t nc = g->cap_edges ? g->cap_edges * 2 : 512;
        gedge *n = realloc(g->edges, nc * sizeof *n);
        if (!n)
            goto oom;
        g->edges = n;
        g->cap_edges = nc;
    }
    g->edges[g->n_edges] = (gedge){a, b, type, 1};
    size_t j = edge_hash(a, b, type) & (g->eslot_cap - 1);
    while (g->eslot[j])
        j = (j + 1) & (g->eslot_cap - 1);
    g->eslot[j] = ++g->n_edges;
    return;
oom:
    g->oom = 1;
}

static void gbuild_free(gbuild *g)
{
    free(g->nodes);
    free(g->edges);
    free(g->nslot);
    free(g->eslot);
    pgr_arena_free(&g->arena);
}

/* ---- the rows, read once for the whole graph ---- */

typedef struct work_row {
    pgr_id owner; /* the expanded author it was read for */
    pgr_id id;
    const char *title;
} work_row;

typedef struct pair_row {
    pgr_id a, b; /* authorships: work, author; topics: work, topic; citations: citing, cited */
} pair_row;

typedef struct rows {
    void *v;
    size_t n, cap, size;
} rows;

static void *rows_add(rows *r)
{
    if (r->n == r->cap) {
        size_t nc = r->cap ? r->cap * 2 : 256, bytes;
        void *g = pgr_mul_ok(nc, r->size, &bytes) ? realloc(r->v, bytes) : NULL;
        if (!g)
            return NULL;
        r->v = g;
        r->cap = nc;
    }
    return (char *)r->v + r->size * r->n++;
}

static int cmp_id(const void *x, const void *y)
{
    pgr_id a = *(const pgr_id *)x, b = *(const pgr_id *)y;
    return a < b ? -1 : a > b;
}

static int has_id(const pgr_id *sorted, size_t n, pgr_id id)
{
    return n && bsearch(&id, sorted, n, sizeof id, cmp_id) != NULL;
}

/* Runs sql ($1 = the id list, $2 = optional integer) and appends each row's
 * first two integer columns to out. */
static int read_pairs(pgr_store *s, const char *name, const char *sql, const pgr_id *ids,
                      size_t n, rows *out, pgr_err *err)
{
    if (!n)
        return 0;
    char q[768];
    if ((size_t)snprintf(q, sizeof q, sql, pgr_ids_sql(s)) >= sizeof q)
        return pgr_errf(err, PGR_EINTERNAL, "%s: statement too long", name);
    pgr_stmt *st = pgr_st_dyn(s, name, q, err);
    if (!st)
        return -1;
    pgr_sb list = {0};
    pgr_ids_param(s, ids, n, &list);
    if (!pgr_sb_ok(&list)) {
        pgr_sb_free(&list);
        return OOM(err);
    }
    pgr_bind_text(st, 1, list.data);
    int r;
    while ((r = pgr_step(st, err)) == 1) {
        pair_row *p = rows_add(out);
        if (!p) {
            pgr_reset(st);
            pgr_sb_free(&list);
            return OOM(err);
        }
        p->a = pgr_col_int(st, 0);
        p->b = pgr_col_int(st, 1);
    }
    pgr_reset(st);
    pgr_sb_free(&list);
    return r < 0 ? -1 : 0;
}

/* Sorts ids and drops repeats; returns the new count. */
static size_t sort_unique(pgr_id *ids, size_t n)
{
    qsort(ids, n, sizeof *ids, cmp_id);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (!u || ids[u - 1] != ids[i])
            ids[u++] = ids[i];
    return u;
}

/* Reads "SELECT id, label FROM table WHERE id IN (ids)" into into: short key
 * -> label (strings, "" for NULL). */
static int read_labels(pgr_store *s, const char *name, const char *select_from, pgr_entity e,
                       const pgr_id *ids, size_t n, json_t *into, pgr_err *err)
{
    if (!n)
        return 0;
    char q[256];
    snprintf(q, sizeof q, "%s WHERE id IN %s", select_from, pgr_ids_sql(s));
    pgr_stmt *st = pgr_st_dyn(s, name, q, err);
    if (!st)
        return -1;
    pgr_sb list = {0};
    pgr_ids_param(s, ids, n, &list);
    if (!pgr_sb_ok(&list)) {
        pgr_sb_free(&list);
        return OOM(err);
    }
    pgr_bind_text(st, 1, list.data);
    int r;
    while ((r = pgr_step(st, err)) == 1) {
        char k[32];
        pgr_short_key(e, pgr_col_int(st, 0), k);
        json_object_set_new(into, k, json_string(pgr_col_text(st, 1) ? pgr_col_text(st, 1) : ""));
    }
    pgr_reset(st);
    pgr_sb_free(&list);
    return r < 0 ? -1 : 0;
}

/* The top `keep` ids of a ranking, sorted by id (for has_id); *cut when the
 * ranking had more. */
static pgr_id *top_ids(const pgr_coauthor *c, size_t m, size_t keep, size_t *n_out, int *cut)
{
    size_t n = m < keep ? m : keep;
    if (m > keep)
        *cut = 1;
    pgr_id *v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return NULL;
    for (size_t i = 0; i < n; i++)
        v[i] = c[i].id;
    qsort(v, n, sizeof *v, cmp_id);
    *n_out = n;
    return v;
}

typedef struct ranked {
    size_t i;
    long weight;
} ranked;

static int by_weight(const void *x, const void *y)
{
    const ranked *a = x, *b = y;
    if (a->weight != b->weight)
        return a->weight > b->weight ? -1 : 1;
    return a->i < b->i ? -1 : a->i > b->i;
}

/* Merges two runs of authorship rows, each in (work, position) order over
 * disjoint works, into one in that order (stable: positions stay in order). */
static int merge_by_work(rows *r, size_t n0)
{
    pair_row *v = r->v, *m = malloc((r->n ? r->n : 1) * sizeof *m);
    if (!m)
        return -1;
    size_t i = 0, j = n0, k = 0;
    while (i < n0 || j < r->n)
        m[k++] = (j == r->n || (i < n0 && v[i].a <= v[j].a)) ? v[i++] : v[j++];
    memcpy(v, m, r->n * sizeof *m);
    free(m);
    return 0;
}

static int by_owner_id(const void *x, const void *y)
{
    const work_row *a = x, *b = y;
    if (a->owner != b->owner)
        return a->owner < b->owner ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

/* One expansion: the author's works (the rows of w_rows owned by e, by id),
 * the authorships on them whose author is kept, co-author edges to e, and
 * the citations among works of the graph. keep(e) = e itself, the authors in
 * keep_a (sorted) or keep_b (sorted). */
static void expand(gbuild *g, pgr_id center, pgr_id e, const work_row *w, size_t nw,
                   const rows *auths, const pgr_id *keep_a, size_t n_keep_a,
                   const pgr_id *keep_b, size_t n_keep_b, const rows *cites, json_t *names)
{
    /* the works of this expansion, sorted for has_id */
    pgr_id *mine = malloc((nw ? nw : 1) * sizeof *mine);
    if (!mine) {
        g->oom = 1;
        return;
    }
    for (size_t i = 0; i < nw; i++) {
        node(g, ref(PGR_WORKS, w[i].id), "work", w[i].title);
        mine[i] = w[i].id;
    }
    qsort(mine, nw, sizeof *mine, cmp_id);
    const pair_row *ar = auths->v;
    for (size_t i = 0; i < auths->n; i++) {
        pgr_id wk = ar[i].a, b = ar[i].b;
        if (!has_id(mine, nw, wk))
            continue;
        if (b != e && b != center && !has_id(keep_a, n_keep_a, b) &&
            !has_id(keep_b, n_keep_b, b))
            continue;
        char k[32];
        pgr_short_key(PGR_AUTHORS, b, k);
        node(g, ref(PGR_AUTHORS, b), "author", json_string_value(json_object_get(names, k)));
        edge(g, ref(PGR_AUTHORS, b), ref(PGR_WORKS, wk), E_AUTHORSHIP);
        if (b != e)
            edge(g, ref(PGR_AUTHORS, e), ref(PGR_AUTHORS, b), E_COAUTHOR);
    }
    const pair_row *cr = cites->v;
    for (size_t i = 0; i < cites->n; i++)
        if (has_id(mine, nw, cr[i].a))
            edge(g, ref(PGR_WORKS, cr[i].a), ref(PGR_WORKS, cr[i].b), E_CITATION);
    free(mine);
}

/* An expanded co-author's own most frequent co-authors on the works read
 * for it (w[0..nw)), sorted by id: at most PGR_GRAPH_EXPAND_COAUTHORS. */
static pgr_id *expansion_keep(pgr_id e, const work_row *w, size_t nw, const rows *auths,
                              size_t *n_out, int *cut)
{
    pgr_id *mine = malloc((nw ? nw : 1) * sizeof *mine);
    pgr_id *co = malloc((auths->n ? auths->n : 1) * sizeof *co);
    pgr_coauthor *rank = NULL;
    pgr_id *keep = NULL;
    size_t n = 0, m;
    if (!mine || !co)
        goto done;
    for (size_t i = 0; i < nw; i++)
        mine[i] = w[i].id;
    qsort(mine, nw, sizeof *mine, cmp_id);
    const pair_row *ar = auths->v;
    for (size_t i = 0; i < auths->n; i++)
        if (ar[i].b != e && has_id(mine, nw, ar[i].a))
            co[n++] = ar[i].b;
    if (pgr_rank_ids(co, n, &rank, &m) == 0)
        keep = top_ids(rank, m, PGR_GRAPH_EXPAND_COAUTHORS, n_out, cut);
done:
    free(mine);
    free(co);
    free(rank);
    return keep;
}

int pgr_author_graph(pgr_store *s, const char *author, int depth, int max_nodes, json_t **out,
                     pgr_err *err)
{
    *out = NULL;
    if (depth != 1 && depth != 2)
        return pgr_errf(err, PGR_EINVAL, "depth: %d is not 1 or 2", depth);
    if (max_nodes <= 0)
        max_nodes = PGR_GRAPH_MAX_NODES;
    pgr_id a;
    if (pgr_resolve_id(s, PGR_AUTHORS, author, &a, err) != 0 ||
        pgr_author_resolve(s, a, &a, err) != 0)
        return -1;
    gbuild g = {0};
    rows works = {.size = sizeof(work_row)}, auths = {.size = sizeof(pair_row)},
         topics = {.size = sizeof(pair_row)}, cites = {.size = sizeof(pair_row)};
    pgr_id *w0 = NULL, *keep0 = NULL, *expanded = NULL, *all_works = NULL, *name_ids = NULL,
           *tmp = NULL, *keep_t = NULL;
    pgr_coauthor *rank0 = NULL, *rank_t = NULL;
    ranked *rk = NULL;
    pgr_id *keep_es[PGR_GRAPH_EXPAND] = {NULL};
    size_t n_keep_es[PGR_GRAPH_EXPAND] = {0}, exp_start[PGR_GRAPH_EXPAND + 1] = {0};
    json_t *names = json_object(), *tnames = json_object(), *wtitles = json_object();
    pgr_sb list = {0};
    size_t n_w0 = 0, n_keep0 = 0, n_exp = 0, n_all = 0, n_keep_t = 0;
    int truncated = 0, rc = -1, r;
    pgr_stmt *st;
    if (!names || !tnames || !wtitles) {
        OOM(err);
        goto cleanup;
    }

    /* 1. the author's works, most cited first; depth 2 adds each expanded
     * co-author's (read after the co-authors are ranked, below) */
    if (!(st = pgr_st(s, ST_GRAPH_WORKS, err)))
        goto cleanup;
    pgr_bind_int(st, 1, a);
    pgr_bind_int(st, 2, PGR_GRAPH_MAX_WORKS + 1);
    while ((r = pgr_step(st, err)) == 1) {
        if (works.n == PGR_GRAPH_MAX_WORKS) {
            truncated = 1;
            continue;
        }
        work_row *w = rows_add(&works);
        const char *t = w ? pgr_arena_strdup(&g.arena, pgr_col_text(st, 1) ? pgr_col_text(st, 1) : "")
                          : NULL;
        if (!t) {
            pgr_reset(st);
            OOM(err);
            goto cleanup;
        }
        *w = (work_row){a, pgr_col_int(st, 0), t};
    }
    pgr_reset(st);
    if (r < 0)
        goto cleanup;
    n_w0 = works.n;
    if (!(w0 = malloc((n_w0 ? n_w0 : 1) * sizeof *w0))) {
        OOM(err);
        goto cleanup;
    }
    for (size_t i = 0; i < n_w0; i++)
        w0[i] = ((work_row *)works.v)[i].id;
    qsort(w0, n_w0, sizeof *w0, cmp_id);

    /* 2. their authorships; co-authors ranked by the works they share */
    if (read_pairs(s, "graph_authorships",
                   "SELECT work_id, author_id FROM authorships WHERE work_id IN %s "
                   "ORDER BY work_id, position, author_id",
                   w0, n_w0, &auths, err) != 0)
        goto cleanup;
    {
        size_t n = 0;
        if (!(tmp = malloc((auths.n ? auths.n : 1) * sizeof *tmp))) {
            OOM(err);
            goto cleanup;
        }
        for (size_t i = 0; i < auths.n; i++)
            if (((pair_row *)auths.v)[i].b != a)
                tmp[n++] = ((pair_row *)auths.v)[i].b;
        size_t m;
        if (pgr_rank_ids(tmp, n, &rank0, &m) != 0 ||
            !(keep0 = top_ids(rank0, m, PGR_GRAPH_MAX_COAUTHORS, &n_keep0, &truncated))) {
            OOM(err);
            goto cleanup;
        }
        /* depth 2 expands the co-authors who share the most */
        if (depth == 2) {
            int cut = 0;
            if (!(expanded = top_ids(rank0, m, PGR_GRAPH_EXPAND, &n_exp, &cut))) {
                OOM(err);
                goto cleanup;
            }
            truncated |= cut;
        }
        free(tmp);
        tmp = NULL;
    }

    /* 3. depth 2: each expanded co-author's newest works (highest ids: the
     * authorships index hands them out without reading the co-author's other
     * works; "most cited" would read all of them, 20 ms for ten prolific
     * co-authors on the 100k graph), then their titles in one statement */
    size_t exp_first = works.n;
    if (n_exp) {
        if (!(st = pgr_st(s, ST_GRAPH_RECENT_WORKS, err)))
            goto cleanup;
        for (size_t x = 0; x < n_exp; x++) {
            size_t got = 0;
            pgr_bind_int(st, 1, expanded[x]);
            pgr_bind_int(st, 2, PGR_GRAPH_EXPAND_WORKS + 1);
            while ((r = pgr_step(st, err)) == 1) {
                if (++got > PGR_GRAPH_EXPAND_WORKS) {
                    truncated = 1;
                    continue;
                }
                work_row *w = rows_add(&works);
                if (!w) {
                    pgr_reset(st);
                    OOM(err);
                    goto cleanup;
                }
                *w = (work_row){expanded[x], pgr_col_int(st, 0), NULL};
            }
            pgr_reset(st);
            if (r < 0)
                goto cleanup;
        }
        if (!(tmp = malloc((works.n - exp_first + 1) * sizeof *tmp))) {
            OOM(err);
            goto cleanup;
        }
        size_t n = 0;
        for (size_t i = exp_first; i < works.n; i++)
            tmp[n++] = ((work_row *)works.v)[i].id;
        size_t u = sort_unique(tmp, n); /* two co-authors may share a work */
        if (read_labels(s, "graph_work_titles", "SELECT id, title FROM works", PGR_WORKS, tmp, u,
                        wtitles, err) != 0)
            goto cleanup;
        for (size_t i = exp_first; i < works.n; i++) {
            work_row *w = (work_row *)works.v + i;
            char k[32];
            pgr_short_key(PGR_WORKS, w->id, k);
            w->title = json_string_value(json_object_get(wtitles, k));
        }
        /* authorships of the works not read yet */
        n = 0;
        for (size_t i = 0; i < u; i++)
            if (!has_id(w0, n_w0, tmp[i]))
                tmp[n++] = tmp[i];
        u = n;
        size_t n0 = auths.n;
        if (read_pairs(s, "graph_authorships",
                       "SELECT work_id, author_id FROM authorships WHERE work_id IN %s "
                       "ORDER BY work_id, position, author_id",
                       tmp, u, &auths, err) != 0)
            goto cleanup;
        if (merge_by_work(&auths, n0) != 0) {
            OOM(err);
            goto cleanup;
        }
        free(tmp);
        tmp = NULL;
        qsort((work_row *)works.v + exp_first, works.n - exp_first, sizeof(work_row),
              by_owner_id);
    }
    /* every work of the graph, sorted: citations and names are read for them */
    if (!(all_works = malloc((works.n ? works.n : 1) * sizeof *all_works))) {
        OOM(err);
        goto cleanup;
    }
    for (size_t i = 0; i < works.n; i++)
        all_works[n_all++] = ((work_row *)works.v)[i].id;
    n_all = sort_unique(all_works, n_all);

    /* 4. topics of the author's works (depth 1's), the most frequent kept */
    if (read_pairs(s, "graph_topics",
                   "SELECT work_id, topic_id FROM work_topics WHERE work_id IN %s "
                   "ORDER BY work_id, topic_id",
                   w0, n_w0, &topics, err) != 0)
        goto cleanup;
    {
        size_t m;
        if (!(tmp = malloc((topics.n ? topics.n : 1) * sizeof *tmp))) {
            OOM(err);
            goto cleanup;
        }
        for (size_t i = 0; i < topics.n; i++)
            tmp[i] = ((pair_row *)topics.v)[i].b;
        if (pgr_rank_ids(tmp, topics.n, &rank_t, &m) != 0 ||
            !(keep_t = top_ids(rank_t, m, PGR_GRAPH_MAX_TOPICS, &n_keep_t, &truncated))) {
            OOM(err);
            goto cleanup;
        }
        free(tmp);
        tmp = NULL;
        if (read_labels(s, "graph_topic_names", "SELECT id, display_name FROM topics",
                        PGR_TOPICS, keep_t, n_keep_t, tnames, err) != 0)
            goto cleanup;
    }

    /* 5. citations among the graph's works */
    if (read_pairs(s, "graph_citations",
                   "SELECT citing_id, cited_id FROM citations WHERE citing_id IN %s AND "
                   "cited_id IS NOT NULL ORDER BY id",
                   all_works, n_all, &cites, err) != 0)
        goto cleanup;

    /* 6. depth 2: which authors each expansion keeps (works rows of the
     * expansions are grouped by co-author, in id order) */
    size_t n_groups = 0;
    for (size_t x = exp_first, y; x < works.n && n_groups < PGR_GRAPH_EXPAND; x = y) {
        const work_row *wr = works.v;
        for (y = x; y < works.n && wr[y].owner == wr[x].owner; y++)
            ;
        exp_start[n_groups] = x;
        if (!(keep_es[n_groups] = expansion_keep(wr[x].owner, wr + x, y - x, &auths,
                                                 &n_keep_es[n_groups], &truncated))) {
            OOM(err);
            goto cleanup;
        }
        exp_start[++n_groups] = y;
    }

    /* 7. names of the authors that can become nodes: the author, the kept
     * co-authors and each expansion's kept co-authors */
    {
        size_t n = 0, total = 1 + n_keep0;
        for (size_t x = 0; x < n_groups; x++)
            total += n_keep_es[x];
        if (!(name_ids = malloc(total * sizeof *name_ids))) {
            OOM(err);
            goto cleanup;
        }
        name_ids[n++] = a;
        for (size_t i = 0; i < n_keep0; i++)
            name_ids[n++] = keep0[i];
        for (size_t x = 0; x < n_groups; x++)
            for (size_t i = 0; i < n_keep_es[x]; i++)
                name_ids[n++] = keep_es[x][i];
        if (read_labels(s, "graph_author_names", "SELECT id, display_name FROM authors",
                        PGR_AUTHORS, name_ids, sort_unique(name_ids, n), names, err) != 0)
            goto cleanup;
    }

    /* 8. the walk: the author's expansion (works by id, as the rows come) */
    qsort(works.v, exp_first, sizeof(work_row), by_owner_id);
    expand(&g, a, a, works.v, exp_first, &auths, keep0, n_keep0, NULL, 0, &cites, names);
    {
        const pair_row *tr = topics.v;
        for (size_t i = 0; i < topics.n; i++) {
            if (!has_id(keep_t, n_keep_t, tr[i].b))
                continue;
            char k[32];
            pgr_short_key(PGR_TOPICS, tr[i].b, k);
            node(&g, ref(PGR_TOPICS, tr[i].b), "topic",
                 json_string_value(json_object_get(tnames, k)));
            edge(&g, ref(PGR_WORKS, tr[i].a), ref(PGR_TOPICS, tr[i].b), E_TOPIC);
        }
    }
    if (node_find(&g, ref(PGR_AUTHORS, a)) < 0) { /* an author without works */
        char k[32];
        pgr_short_key(PGR_AUTHORS, a, k);
        node(&g, ref(PGR_AUTHORS, a), "author", json_string_value(json_object_get(names, k)));
    }
    if (!(st = pgr_st(s, ST_GET_AUTHOR_INSTS, err)))
        goto cleanup;
    pgr_bind_int(st, 1, a);
    {
        int n_inst = 0;
        while ((r = pgr_step(st, err)) == 1) {
            uint64_t ir = ref(PGR_INSTITUTIONS, pgr_col_int(st, 0));
            if (node_find(&g, ir) < 0 && n_inst == PGR_GRAPH_MAX_INSTITUTIONS) {
                truncated = 1;
                continue;
            }
            if (node_find(&g, ir) < 0)
                n_inst++;
            node(&g, ir, "institution", pgr_col_text(st, 1));
            edge(&g, ref(PGR_AUTHORS, a), ir, E_AFFILIATION);
        }
    }
    pgr_reset(st);
    if (r < 0)
        goto cleanup;
    /* depth 2: each expanded co-author in id order, keeping on its works the
     * author, the kept co-authors and its own kept co-authors */
    for (size_t x = 0; x < n_groups; x++) {
        const work_row *wr = works.v;
        expand(&g, a, wr[exp_start[x]].owner, wr + exp_start[x], exp_start[x + 1] - exp_start[x],
               &auths, keep0, n_keep0, keep_es[x], n_keep_es[x], &cites, names);
    }
    if (g.oom) {
        OOM(err);
        goto cleanup;
    }

    /* 9. max_nodes: keep the author and the most reached nodes */
    char *keep = calloc(g.n_nodes ? g.n_nodes : 1, 1);
    if (!keep) {
        OOM(err);
        goto cleanup;
    }
    if (g.n_nodes > (size_t)max_nodes) {
        truncated = 1;
        if (!(rk = malloc(g.n_nodes * sizeof *rk))) {
            free(keep);
            OOM(err);
            goto cleanup;
        }
        for (size_t i = 0; i < g.n_nodes; i++)
            rk[i] = (ranked){i, g.nodes[i].ref == ref(PGR_AUTHORS, a) ? LONG_MAX
                                                                       : g.nodes[i].weight};
        qsort(rk, g.n_nodes, sizeof *rk, by_weight);
        for (size_t i = 0; i < (size_t)max_nodes; i++)
            keep[rk[i].i] = 1;
    } else {
        memset(keep, 1, g.n_nodes);
    }
    json_t *jn = json_array(), *je = json_array();
    for (size_t i = 0; i < g.n_nodes; i++) {
        if (!keep[i])
            continue;
        char k[32];
        pgr_short_key(ref_entity(g.nodes[i].ref), ref_id(g.nodes[i].ref), k);
        json_t *o = json_object();
        json_object_set_new_nocheck(o, "id", json_string(k));
        json_object_set_new_nocheck(o, "type", json_string(g.nodes[i].type));
        json_object_set_new_nocheck(o, "label", json_string(g.nodes[i].label));
        json_object_set_new_nocheck(o, "weight", json_integer(g.nodes[i].weight));
        json_array_append_new(jn, o);
    }
    for (size_t i = 0; i < g.n_edges; i++) {
        long x = node_find(&g, g.edges[i].a), y = node_find(&g, g.edges[i].b);
        if (x < 0 || y < 0 || !keep[x] || !keep[y])
            continue;
        char ka[32], kb[32];
        pgr_short_key(ref_entity(g.edges[i].a), ref_id(g.edges[i].a), ka);
        pgr_short_key(ref_entity(g.edges[i].b), ref_id(g.edges[i].b), kb);
        json_t *o = json_object();
        json_object_set_new_nocheck(o, "source", json_string(ka));
        json_object_set_new_nocheck(o, "target", json_string(kb));
        json_object_set_new_nocheck(o, "type", json_string(edge_types[g.edges[i].type]));
        json_object_set_new_nocheck(o, "weight", json_integer(g.edges[i].weight));
        json_array_append_new(je, o);
    }
    free(keep);
    *out = json_pack("{s:o, s:o, s:b}", "nodes", jn, "edges", je, "truncated", truncated);
    rc = *out ? 0 : OOM(err);
cleanup:
    gbuild_free(&g);
    free(works.v);
    free(auths.v);
    free(topics.v);
    free(cites.v);
    free(w0);
    free(keep0);
    free(expanded);
    free(all_works);
    free(name_ids);
    for (size_t x = 0; x < PGR_GRAPH_EXPAND; x++)
        free(keep_es[x]);
    free(keep_t);
    free(tmp);
    free(rank0);
    free(rank_t);
    free(rk);
    pgr_sb_free(&list);
    json_decref(names);
    json_decref(tnames);
    json_decref(wtitles);
    return rc;
}
