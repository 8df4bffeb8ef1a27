#ifndef PEERGRAPH_API_RECS_H
#define PEERGRAPH_API_RECS_H
/* Recommendations for an author: works to read or people to work with.
 *
 * Candidates come from the graph around the author (recs_graph): works of
 * their co-authors, works in their topics, works their works cite; for
 * people, co-authors of their co-authors and authors active in their topics.
 * Each candidate carries the signals that found it and a graph score that
 * sums them (weights in api_recs.c). Over HTTP the best graph candidates are
 * then re-ranked with the researcher's adapter: a prefill-only score request
 * per candidate text under the adapter and under the base model, batched
 * through the scheduler; the mean log-likelihood gain per token joins the
 * graph score (see recs_fuse). Without an adapter or a model the ranking is
 * the graph's, and the answer says so ("scored_by": "graph").
 *
 * The graph part is a library function so that `peergraph bench recommend`
 * can run it with some of an author's works hidden (treated as unknown) and
 * measure how many of them come back. */
#include <jansson.h>

#include "graph/graph.h"
#include "server/http.h"

enum { RECS_WORKS = 0, RECS_COAUTHORS = 1 };

typedef struct recs_opts {
    int kind; /* RECS_WORKS | RECS_COAUTHORS */
    /* Work short keys ("W12") the author is not to be credited with: they
     * are neither the author's own works nor evidence for other candidates
     * (they may still be recommended). NULL in production; the benchmark's
     * held-out works. Borrowed object used as a set (keys only). */
    const json_t *hidden;
} recs_opts;

typedef struct recs_cand {
    char id[24];     /* short key: W12 or A5 */
    double graph;    /* fused graph signals */
    double gain;     /* adapter: mean log p gain per token over the base model */
    int gain_n;      /* tokens scored (0 = not scored) */
    double score;    /* what the ranking sorts on */
    json_t *signals; /* {"coauthors": [names], "shared_topics": [names], ...} (owned) */
    json_t *info;    /* works: title, publication_year, cited_by_count, abstract;
                      * authors: display_name, works_count (owned) */
} recs_cand;

typedef struct recs_list {
    recs_cand *v;
    size_t n, cap;
    json_t *index;        /* id -> position in v (owned) */
    json_t *exclude_note; /* what was excluded and why (counts), for the answer */
} recs_list;

/* Fills out (zero-initialised) with the candidates for author aid (a short
 * key or any id form pgr_get accepts, already resolved by the caller to its
 * short key) sorted by graph score, best first (ties by id). Never lists the
 * author's own works (those not hidden), the author, or (coauthors) anyone
 * who already shares a non-hidden work with them. */
int recs_graph(pgr_store *st, const char *aid, const recs_opts *o, recs_list *out, pgr_err *err);
void recs_list_free(recs_list *l);

/* Fused score of a candidate: graph score scaled to the list's best (0..1)
 * plus, when scored, 0.5 * the gain's z-score over the scored candidates
 * (clipped to +-2). Sets every v[i].score and sorts the list, best first. */
void recs_fuse(recs_list *l);

extern const srv_route recs_routes[];

/* `peergraph bench recommend` (server/bench_recs.c): recall@10 with held-out
 * works and co-authors, against a TF-IDF text baseline. */
int bench_recommend_main(int argc, char **argv);
#endif
