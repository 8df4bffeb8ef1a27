/* The neighbourhood of an author for the research-graph view: nodes (authors,
 * works, topics, institutions) and edges, depth 1 or 2, capped in size by
 * keeping the best-connected nodes. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/store_impl.h"

#define OOM(err) pgr_errf(err, PGR_ENOMEM, "out of memory")

typedef struct gbuild {
    json_t *nodes;  /* key -> {id, type, label, weight} */
    json_t *edges;  /* "a|b|type" -> {source, target, type, weight} */
    json_t *order;  /* node keys in insertion order (deterministic output) */
    json_t *eorder; /* edge keys in insertion order */
} gbuild;

static void node(gbuild *g, pgr_entity e, pgr_id id, const char *type, const char *label)
{
    char k[32];
    pgr_short_key(e, id, k);
    json_t *n = json_object_get(g->nodes, k);
    if (n) {
        json_object_set_new(n, "weight",
                            json_integer(json_integer_value(json_object_get(n, "weight")) + 1));
        return;
    }
    json_object_set_new(g->nodes, k,
                        json_pack("{sssssssi}", "id", k, "type", type, "label", label ? label : "",
                                  "weight", 1));
    json_array_append_new(g->order, json_string(k));
}

static void edge(gbuild *g, pgr_entity ea, pgr_id a, pgr_entity eb, pgr_id b, const char *type)
{
    char ka[32], kb[32], key[80];
    pgr_short_key(ea, a, ka);
    pgr_short_key(eb, b, kb);
    if (!strcmp(type, "coauthor") && a > b) { /* undirected: one edge per pair */
        char t[32];
        strcpy(t, ka);
        strcpy(ka, kb);
        strcpy(kb, t);
    }
    snprintf(key, sizeof key, "%s|%s|%s", ka, kb, type);
    json_t *e = json_object_get(g->edges, key);
    if (e) {
        json_object_set_new(e, "weight",
                            json_integer(json_integer_value(json_object_get(e, "weight")) + 1));
        return;
    }
    json_object_set_new(g->edges, key,
                        json_pack("{sssssssi}", "source", ka, "target", kb, "type", type,
                                  "weight", 1));
    json_array_append_new(g->eorder, json_string(key));
}

/* Adds an author's works, co-authors (with authorship and co-author edges),
 * topics and citations among the works seen. */
static int expand(pgr_store *s, gbuild *g, pgr_id a, int with_topics, pgr_idset *coauthors,
                  pgr_err *err)
{
    pgr_stmt *st = pgr_st(s, ST_GRAPH_WORKS, err);
    int rc;
    if (!st)
        return -1;
    pgr_bind_int(st, 1, a);
    while ((rc = pgr_step(st, err)) == 1)
        node(g, PGR_WORKS, pgr_col_int(st, 0), "work", pgr_col_text(st, 1));
    pgr_reset(st);
    if (rc < 0 || !(st = pgr_st(s, ST_GRAPH_AUTHORSHIPS, err)))
        return -1;
    pgr_bind_int(st, 1, a);
    while ((rc = pgr_step(st, err)) == 1) {
        pgr_id w = pgr_col_int(st, 0), b = pgr_col_int(st, 1);
        node(g, PGR_AUTHORS, b, "author", pgr_col_text(st, 2));
        edge(g, PGR_AUTHORS, b, PGR_WORKS, w, "authorship");
        if (b != a) {
            edge(g, PGR_AUTHORS, a, PGR_AUTHORS, b, "coauthor");
            if (coauthors && pgr_idset_add(coauthors, b) != 0) {
                pgr_reset(st);
                return OOM(err);
            }
        }
    }
    pgr_reset(st);
    if (rc < 0)
        return -1;
    if (with_topics) {
        if (!(st = pgr_st(s, ST_GRAPH_TOPICS, err)))
            return -1;
        pgr_bind_int(st, 1, a);
        while ((rc = pgr_step(st, err)) == 1) {
            node(g, PGR_TOPICS, pgr_col_int(st, 1), "topic", pgr_col_text(st, 2));
            edge(g, PGR_WORKS, pgr_col_int(st, 0), PGR_TOPICS, pgr_col_int(st, 1), "topic");
        }
        pgr_reset(st);
        if (rc < 0)
            return -1;
    }
    if (!(st = pgr_st(s, ST_GRAPH_CITATIONS, err)))
        return -1;
    pgr_bind_int(st, 1, a);
    while ((rc = pgr_step(st, err)) == 1)
        edge(g, PGR_WORKS, pgr_col_int(st, 0), PGR_WORKS, pgr_col_int(st, 1), "citation");
    pgr_reset(st);
    return rc < 0 ? -1 : 0;
}

typedef struct ranked {
    const char *key;
    long degree;
    size_t order;
} ranked;

static int by_degree(const void *x, const void *y)
{
    const ranked *a = x, *b = y;
    if (a->degree != b->degree)
        return a->degree > b->degree ? -1 : 1;
    return a->order < b->order ? -1 : a->order > b->order;
}

int pgr_author_graph(pgr_store *s, const char *author, int depth, int max_nodes, json_t **out,
                     pgr_err *err)
{
    *out = NULL;
    if (depth != 1 && depth != 2)
        return pgr_errf(err, PGR_EINVAL, "depth: %d is not 1 or 2", depth);
    if (max_nodes <= 0)
        max_nodes = 2000;
    pgr_id a;
    if (pgr_resolve_id(s, PGR_AUTHORS, author, &a, err) != 0 ||
        pgr_author_resolve(s, a, &a, err) != 0)
        return -1;
    gbuild g = {json_object(), json_object(), json_array(), json_array()};
    pgr_idset co = {0};
    ranked *rk = NULL;
    int rc = -1;
    if (!g.nodes || !g.edges || !g.order || !g.eorder) {
        OOM(err);
        goto cleanup;
    }
    if (expand(s, &g, a, 1, &co, err) != 0)
        goto cleanup;
    {
        char k[32];
        pgr_short_key(PGR_AUTHORS, a, k);
        if (!json_object_get(g.nodes, k)) { /* an author without works */
            json_t *ent = pgr_entity_json(s, PGR_AUTHORS, a, (const char *[]){"display_name"}, 1, err);
            if (!ent)
                goto cleanup;
            node(&g, PGR_AUTHORS, a, "author", json_string_value(json_object_get(ent, "display_name")));
            json_decref(ent);
        }
    }
    pgr_stmt *st = pgr_st(s, ST_GET_AUTHOR_INSTS, err);
    if (!st)
        goto cleanup;
    pgr_bind_int(st, 1, a);
    int r;
    while ((r = pgr_step(st, err)) == 1) {
        node(&g, PGR_INSTITUTIONS, pgr_col_int(st, 0), "institution", pgr_col_text(st, 1));
        edge(&g, PGR_AUTHORS, a, PGR_INSTITUTIONS, pgr_col_int(st, 0), "affiliation");
    }
    pgr_reset(st);
    if (r < 0)
        goto cleanup;
    if (depth == 2) {
        pgr_idset_sort(&co);
        for (size_t i = 0; i < co.n; i++) {
            if (json_object_size(g.nodes) > (size_t)max_nodes * 4)
                break; /* enough to choose from; the cap below trims */
            if (expand(s, &g, co.v[i], 0, NULL, err) != 0)
                goto cleanup;
        }
    }
    /* cap: keep the center and the best-connected nodes */
    size_t nn = json_array_size(g.order);
    int truncated = nn > (size_t)max_nodes;
    if (truncated) {
        rk = calloc(nn, sizeof *rk);
        if (!rk) {
            OOM(err);
            goto cleanup;
        }
        char ck[32];
        pgr_short_key(PGR_AUTHORS, a, ck);
        for (size_t i = 0; i < nn; i++) {
            const char *k = json_string_value(json_array_get(g.order, i));
            rk[i].key = k;
            rk[i].order = i;
            rk[i].degree = !strcmp(k, ck) ? LONG_MAX
                                          : (long)json_integer_value(json_object_get(
                                                json_object_get(g.nodes, k), "weight"));
        }
        qsort(rk, nn, sizeof *rk, by_degree);
        json_t *keep = json_object();
        for (size_t i = 0; i < (size_t)max_nodes; i++)
            json_object_set_new(keep, rk[i].key, json_true());
        json_t *order = json_array();
        size_t i;
        json_t *v;
        json_array_foreach(g.order, i, v)
        {
            if (json_object_get(keep, json_string_value(v)))
                json_array_append(order, v);
            else
                json_object_del(g.nodes, json_string_value(v));
        }
        json_decref(g.order);
        g.order = order;
        json_decref(keep);
    }
    json_t *nodes = json_array(), *edges = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(g.order, i, v)
    json_array_append(nodes, json_object_get(g.nodes, json_string_value(v)));
    json_array_foreach(g.eorder, i, v)
    {
        json_t *e = json_object_get(g.edges, json_string_value(v));
        if (json_object_get(g.nodes, json_string_value(json_object_get(e, "source"))) &&
            json_object_get(g.nodes, json_string_value(json_object_get(e, "target"))))
            json_array_append(edges, e);
    }
    *out = json_pack("{sososb}", "nodes", nodes, "edges", edges, "truncated", truncated);
    rc = *out ? 0 : OOM(err);
cleanup:
    free(rk);
    pgr_idset_free(&co);
    json_decref(g.nodes);
    json_decref(g.edges);
    json_decref(g.order);
    json_decref(g.eorder);
    return rc;
}
