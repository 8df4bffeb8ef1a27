#ifndef PEERGRAPH_TEST_GRAPHGEN_H
#define PEERGRAPH_TEST_GRAPHGEN_H
/* Test support for the graph store: fresh databases on both backends, and a
 * deterministic generated graph whose facts the tests keep in memory, so
 * query answers can be checked against a brute-force count instead of
 * echoing what the store returned. */
#include <stddef.h>

#include "graph/graph.h"

enum { GG_SQLITE = 0, GG_PG = 1 };

/* A URL for a new, empty database named after `name` (and the pid):
 * sqlite:$PEERGRAPH_TEST_TMP/NAME-PID.db, or a database created in the server
 * PEERGRAPH_TEST_PG. Returns a malloc'd URL, or NULL when that backend is not
 * available (PostgreSQL unset) with why in *why. */
char *gg_fresh_db(int backend, const char *name, const char **why);
/* Drops the PostgreSQL databases gg_fresh_db created (call at exit). */
void gg_cleanup(void);
/* Runs one SQL statement directly on the database at url (not through the
 * store): for tests that tamper with a database. 0 ok. */
int gg_exec_raw(const char *url, const char *sql);

#define GG_MAX_AUTH 6
#define GG_MAX_TOPICS 3
typedef struct gg_work {
    int year;          /* 0 unknown */
    const char *type;
    int has_code;      /* -1, 0, 1 */
    long cites;
    int n_auth;
    int auth[GG_MAX_AUTH]; /* author indexes */
    int n_topics;
    int topics[GG_MAX_TOPICS];
    int venue;         /* -1 none */
    char title[160];
    char abstract[400];
    char arxiv[24];
    char doi[40];
    int truncated;
    pgr_id id;         /* store id once loaded */
} gg_work;

typedef struct gg_graph {
    int n_works, n_authors, n_topics, n_venues, n_insts;
    gg_work *works;
    char (*author_names)[48];
    pgr_id *author_ids;
    pgr_id *topic_ids;
    pgr_id src;        /* the one source document */
} gg_graph;

/* Generates n_works works over n_authors authors (deterministic for a seed). */
void gg_generate(gg_graph *g, int n_works, int n_authors, unsigned seed);
/* Loads it through the store's write API in one transaction, with citations,
 * claims, ownership, an institution and metrics. 0 ok, else err. */
int gg_load(pgr_store *s, gg_graph *g, pgr_err *err);
void gg_free(gg_graph *g);
/* cited_by_count the store should report for work index w: the larger of the
 * source's figure and the citations inside the generated graph. */
long gg_expected_cites(const gg_graph *g, int w);

#endif
