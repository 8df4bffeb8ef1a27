#ifndef PEERGRAPH_GRAPH_H
#define PEERGRAPH_GRAPH_H
/* The graph store: one C interface over two backends, chosen by URL.
 *
 *   sqlite:PATH        one file, FTS5 search (the default: sqlite:data/peergraph.db)
 *   postgres://...     libpq; tsvector + GIN search, pg_trgm for names
 *
 * Threads: a pgr_store is ONE database connection and is not thread-safe.
 * Each thread opens its own store (pgr_store_open is cheap enough to do once
 * per worker thread; SQLite runs in WAL mode so readers and one writer coexist).
 *
 * Errors: every function that can fail returns 0 on success and -1 on failure
 * with err filled (err may be NULL). Database errors carry PGR_EDB and the
 * message names the statement and the backend's own message, e.g.
 *   "sqlite: work_upsert: UNIQUE constraint failed: works.doi".
 * Unknown ids give PGR_ENOTFOUND; bad query parameters (unknown filter field,
 * malformed cursor, bad number) give PGR_EINVAL with a message naming the
 * parameter, which the server can pass on as a 400.
 *
 * Ids: every entity has a stable integer id (pgr_id, > 0; 0 means "none").
 * The JSON read API names entities by short keys: "W12" (work 12), "A5"
 * (author), "T3" (topic), "S7" (source = venue), "I9" (institution); the
 * server turns them into URLs under its public base.
 *
 * Ownership: input strings are borrowed for the duration of the call (the
 * store copies what it keeps). json_t results are NEW references the caller
 * must json_decref. Arrays returned through pgr_id ** are malloc'd; the
 * caller frees them with free().
 *
 * Writes: every write function may be called inside an explicit transaction
 * (pgr_begin ... pgr_commit) — the indexer's one-transaction-per-file — or
 * alone, in which case it runs in its own transaction. Full-text rows of the
 * works and authors touched in a transaction are refreshed once, at commit.
 * If a write fails inside a transaction, the caller must pgr_rollback.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "graph/util.h"

typedef struct pgr_store pgr_store;
typedef int64_t pgr_id;

/* ------------------------------------------------------------------------
 * Opening, schema, transactions
 * ---------------------------------------------------------------------- */

/* Opens the database named by url and brings its schema up to date (applies
 * the migrations embedded in the binary; a no-op when current). A database
 * whose schema is newer than this binary knows is refused with PGR_EVERSION
 * ("... schema version 7 is newer than this peergraph (knows up to 3): ...").
 * An unknown URL scheme is PGR_EINVAL. On success *out owns the connection;
 * free it with pgr_store_close. For sqlite:PATH the parent directory must exist. */
int pgr_store_open(const char *url, pgr_store **out, pgr_err *err);

/* Like pgr_store_open but never migrates: refuses (PGR_EVERSION) a database
 * whose version differs from the binary's. For read-only tools. */
int pgr_store_open_nomigrate(const char *url, pgr_store **out, pgr_err *err);

/* Rolls back an open transaction, finalizes statements, closes the connection.
 * NULL is a no-op. */
void pgr_store_close(pgr_store *s);

/* "sqlite" or "postgres" (static string). */
const char *pgr_store_backend(const pgr_store *s);

/* Migrates the database at url: *from = version found (0 = empty database),
 * *to = version after (either may be NULL). Used by `peergraph migrate`. */
int pgr_migrate(const char *url, int *from, int *to, pgr_err *err);

/* Highest migration version the binary carries for a backend ("sqlite"/"postgres"). */
int pgr_schema_latest(const char *backend);

/* Current schema version of an open store. */
int pgr_store_schema_version(pgr_store *s, int *version, pgr_err *err);

/* Transactions. Nesting is refused (PGR_EINVAL). pgr_commit first refreshes
 * the full-text rows of everything written in the transaction. pgr_rollback
 * on a store with no open transaction is a no-op returning 0. */
int pgr_begin(pgr_store *s, pgr_err *err);
int pgr_commit(pgr_store *s, pgr_err *err);
int pgr_rollback(pgr_store *s, pgr_err *err);
int pgr_in_transaction(const pgr_store *s);

/* Names the place in the input that the writes which follow come from
 * ("line 12", "line 1: record 3"), or clears it (NULL); the caller sets it per
 * record. A database error of a write names that place first. On PostgreSQL,
 * where writes are queued and fail at a later round trip (at the next read or
 * at commit), each queued write keeps the place it was queued at, and its
 * error names that place, not the one current when the result came back. */
void pgr_set_place(pgr_store *s, const char *place);

/* A hint for one large write into a graph that is small beside it (the
 * indexer's big files into a fresh graph): inside the open transaction, drops
 * the secondary indexes that nothing written or read during an ingest uses
 * (sort and filter indexes of works and authors, provenance by source, topic
 * links by topic, authorships by institution) and enlarges the page cache.
 * pgr_commit recreates them from their own CREATE INDEX text before it
 * commits, one sort each instead of a b-tree insert per row; a rollback
 * restores them with everything else. Readers in other connections see the
 * old snapshot with its indexes throughout (SQLite WAL). SQLite only: on
 * PostgreSQL dropping an index would lock readers out, so it is a no-op
 * there. *deferred (may be NULL) = number of indexes dropped. */
int pgr_defer_indexes(pgr_store *s, int *deferred, pgr_err *err);
/* The same for a metrics recompute over many authors (the indexes its
 * updates maintain row by row and none of its reads use: authors and works by
 * their counts, author topics by topic). */
int pgr_defer_metric_indexes(pgr_store *s, int *deferred, pgr_err *err);

/* Works and authors currently in the graph (upper bounds: the largest ids),
 * cheap; for deciding whether a load is large beside the graph. */
int pgr_graph_size(pgr_store *s, int64_t *works, int64_t *authors, pgr_err *err);

/* A lock held across a whole ingest run, so two runs never interleave
 * (PostgreSQL: session advisory lock; SQLite: flock on PATH.lock).
 * wait = 0: fail at once with PGR_EBUSY if another run holds it. Released by
 * pgr_run_unlock or pgr_store_close (and by the OS if the process dies). */
int pgr_run_lock(pgr_store *s, int wait, pgr_err *err);
void pgr_run_unlock(pgr_store *s);

/* A number that grows whenever the graph changes (a commit that wrote
 * anything). Servers use it to invalidate caches and ETags. */
int pgr_data_version(pgr_store *s, int64_t *version, pgr_err *err);

/* ------------------------------------------------------------------------
 * Write API (the indexer)
 *
 * Upserts return the entity's id. Fields that are NULL (strings) or "not
 * given" (numbers, as noted) leave the stored value unchanged; given values
 * overwrite. Every fact written with src != 0 records provenance: "source
 * document src asserted this fact". pgr_source_delete_facts(src) removes
 * those records and every fact no other source still asserts.
 * ---------------------------------------------------------------------- */

/* Ingest runs. started/finished are ISO-8601 UTC strings ("2026-11-22T19:00:00Z");
 * NULL means now. summary: free-form JSON text (or NULL). */
int pgr_run_start(pgr_store *s, const char *args, pgr_id *run_id, pgr_err *err);
int pgr_run_finish(pgr_store *s, pgr_id run_id, const char *status, const char *summary_json,
                   pgr_err *err);

/* Source documents, keyed by uri. */
typedef struct pgr_source_doc {
    const char *uri;          /* path or URL as given to ingest; required */
    const char *format;       /* ix_format name: "researchgraph", "arxiv-jsonl", ... */
    const char *sha256;       /* lowercase hex of the file bytes; required */
    const char *capture_date; /* "YYYY-MM-DD" */
    pgr_id run_id;            /* the run that (re)read it; 0 = none */
} pgr_source_doc;

/* Finds a source document by uri: *id = 0 when absent. sha256_out (may be NULL)
 * receives the stored hash, so an unchanged file can be skipped. */
int pgr_source_find(pgr_store *s, const char *uri, pgr_id *id, char sha256_out[65],
                    pgr_err *err);
/* Inserts or updates (by uri) a source document. */
int pgr_source_upsert(pgr_store *s, const pgr_source_doc *d, pgr_id *id, pgr_err *err);
/* Deletes the provenance records of source src, then every fact (work, author,
 * authorship, topic link, citation, variant, institution link, counts) that no
 * other source asserts, and src's claims and ownership records. The source
 * document row itself stays (re-ingest refills it). */
int pgr_source_delete_facts(pgr_store *s, pgr_id src, pgr_err *err);

/* Works. Lookup keys are canonical forms the indexer computed (arXiv id without
 * version, lowercase DOI without URL prefix, "W123" OpenAlex id, S2 paperId,
 * normalised title). */
typedef struct pgr_work_rec {
    const char *arxiv_id, *doi, *openalex_id, *s2_id;
    const char *title;            /* as written */
    const char *norm_title;       /* normalised (NFKC, folded); required for new works */
    int year;                     /* 0 = not given */
    const char *date;             /* "YYYY-MM-DD" or NULL */
    const char *type;             /* "preprint", "article", ... */
    const char *venue;            /* venue display name: becomes a source entity "S.." */
    const char *abstract;
    const char *authors_truncated;/* "+2", "et al.", or NULL (list complete / not given) */
    long cited_by_count;          /* -1 = not given */
    int has_code;                 /* -1 = not given, 0 no, 1 yes */
    double score;                 /* site score; NAN = not given */
    int arxiv_version;            /* 0 = not given */
    const char *language;
    const char *tldr;             /* a one-sentence summary (Semantic Scholar) */
    const char *tldr_model;       /* the model that wrote it ("tldr@v2.0.0") */
} pgr_work_rec;

enum pgr_work_key { PGR_KEY_ARXIV, PGR_KEY_DOI, PGR_KEY_OPENALEX, PGR_KEY_S2 };
/* Finds a work by one external id: *id = 0 when absent. */
int pgr_work_find(pgr_store *s, enum pgr_work_key key, const char *value, pgr_id *id,
                  pgr_err *err);
/* Finds a work by normalised title and year (year 0 = any year, first by id). */
int pgr_work_find_title(pgr_store *s, const char *norm_title, int year, pgr_id *id,
                        pgr_err *err);
/* Upsert: id > 0 updates that work. id == 0 looks the work up by arxiv_id, doi,
 * openalex_id, s2_id, then norm_title+year (first hit wins) and updates it, or
 * inserts a new one. *out_id receives the id; *created (may be NULL) 1 if new.
 * Refuses (PGR_ECONFLICT) setting an external id another work already has. */
int pgr_work_upsert(pgr_store *s, pgr_id src, pgr_id id, const pgr_work_rec *w, pgr_id *out_id,
                    int *created, pgr_err *err);

/* ---- bulk loading (generated graphs: `peergraph bench gen`) ----
 * Writes new rows into an EMPTY graph fast: rows are buffered and written
 * BULK_ROWS to a statement, with ids the caller assigns (1, 2, ... in the
 * order of the calls; works and authors count separately), no identity
 * lookups, no provenance, no per-row full text. Inside pgr_begin/pgr_commit;
 * a work's edges after the work, an edge's author before it. pgr_bulk_finish
 * writes what is buffered and queues the full text of every bulk work and
 * author for the commit; metrics stay the caller's (pgr_metrics_recompute).
 * Not for ingesting real sources: nothing is matched or merged. */
int pgr_bulk_author(pgr_store *s, pgr_id id, const char *display_name, const char *norm_name,
                    pgr_err *err);
int pgr_bulk_author_institution(pgr_store *s, pgr_id author, pgr_id institution, pgr_err *err);
int pgr_bulk_work(pgr_store *s, pgr_id id, const pgr_work_rec *w, pgr_err *err);
int pgr_bulk_authorship(pgr_store *s, pgr_id work, pgr_id author, int position, pgr_err *err);
int pgr_bulk_work_topic(pgr_store *s, pgr_id work, pgr_id topic, double weight, pgr_err *err);
/* cited: the work ref names, or 0 when it is not in the graph */
int pgr_bulk_citation(pgr_store *s, pgr_id citing, const char *ref, pgr_id cited, pgr_err *err);
int pgr_bulk_flush(pgr_store *s, pgr_err *err); /* writes buffered rows now */
int pgr_bulk_finish(pgr_store *s, pgr_err *err);

/* Authors. Creating an author never merges by name: the indexer decides
 * identity (pgr_author_candidates helps) and merges with pgr_author_merge. */
typedef struct pgr_author_rec {
    const char *display_name;  /* required for new authors */
    const char *norm_name;     /* normalised display name; required for new authors */
    const char *orcid, *openalex_id, *s2_id; /* external ids or NULL */
} pgr_author_rec;

/* id > 0 updates that author; id == 0 looks up by orcid, openalex_id, s2_id
 * (first hit) and updates it, else inserts. An update sets an external id
 * only where the author has none (the first id stays; the caller keeps a
 * second id of the same kind findable, e.g. on a row merged into it). */
int pgr_author_upsert(pgr_store *s, pgr_id src, pgr_id id, const pgr_author_rec *a,
                      pgr_id *out_id, int *created, pgr_err *err);
/* The author an external id names ("orcid", "openalex", "s2"), following
 * merges: *id = 0 when no author has it. */
int pgr_author_find_ext(pgr_store *s, const char *kind, const char *value, pgr_id *id,
                        pgr_err *err);
/* Authors (not merged away) whose norm_name or one of whose variants equals
 * norm_name. *ids malloc'd (NULL when *n == 0), ascending. */
int pgr_author_candidates(pgr_store *s, const char *norm_name, pgr_id **ids, size_t *n,
                          pgr_err *err);
/* The author's works, and co-authors, as sorted id arrays (malloc'd). For
 * identity evidence ("shares a work / co-authors with the candidate"). */
int pgr_author_work_ids(pgr_store *s, pgr_id author, pgr_id **ids, size_t *n, pgr_err *err);
int pgr_author_coauthor_ids(pgr_store *s, pgr_id author, pgr_id **ids, size_t *n, pgr_err *err);
/* A name under which the author appears ("Wu, Z.", "Zhengxuan Wu"). */
int pgr_author_add_variant(pgr_store *s, pgr_id src, pgr_id author, const char *name,
                           const char *norm_name, pgr_err *err);

/* Merges author `gone` into `keep`: authorships, variants, claims, ownership,
 * institutions and counts move to keep; gone stays as a row marked merged
 * (reads of it answer keep's data). Recorded with evidence (one line of text)
 * so pgr_author_unmerge can undo it exactly. */
int pgr_author_merge(pgr_store *s, pgr_id keep, pgr_id gone, const char *evidence,
                     pgr_id run_id, pgr_id *merge_id, pgr_err *err);
int pgr_author_unmerge(pgr_store *s, pgr_id merge_id, pgr_err *err);
/* Follows merges: the author that `id` now is (id itself when not merged). */
int pgr_author_resolve(pgr_store *s, pgr_id id, pgr_id *current, pgr_err *err);

/* Authorship: author at 1-based position on work, with the name exactly as
 * printed and the raw affiliation (NULL if none). institution: 0 or an id from
 * pgr_institution_upsert. Keyed by (work, author): re-putting updates. */
int pgr_authorship_put(pgr_store *s, pgr_id src, pgr_id work, pgr_id author, int position,
                       const char *raw_name, const char *affiliation, pgr_id institution,
                       pgr_err *err);

/* Topics, keyed by (scheme, code): "arxiv"/"cs.CL", "openalex"/"T11636",
 * "s2"/"Computer Science", "keyword"/"preft". name NULL keeps the old name. */
int pgr_topic_upsert(pgr_store *s, const char *scheme, const char *code, const char *name,
                     pgr_id *id, pgr_err *err);
/* Many topics of one scheme whose names are their codes (keyword topics):
 * ids[i] receives the id of (scheme, codes[i]); the new ones are created in
 * the order given, as n calls of pgr_topic_upsert(s, scheme, codes[i],
 * codes[i]) would, but 500 to a statement. codes must be distinct. */
int pgr_topic_ids_many(pgr_store *s, const char *scheme, const char *const *codes, size_t n,
                       pgr_id *ids, pgr_err *err);
/* What an OpenAlex topic object says of a topic: its description and the
 * display names of its subfield, field and domain. NULL leaves a value as it is. */
int pgr_topic_describe(pgr_store *s, pgr_id topic, const char *description, const char *subfield,
                       const char *field, const char *domain, pgr_err *err);
/* weight: 0..1, NAN = not given. */
int pgr_work_topic_put(pgr_store *s, pgr_id src, pgr_id work, pgr_id topic, double weight,
                       pgr_err *err);

/* The same for many links at once (a corpus-wide pass writes hundreds of
 * thousands): n rows of works[i], topics[i], weights[i], written many to a
 * statement. Equal to n calls of pgr_work_topic_put. */
int pgr_work_topics_put_many(pgr_store *s, pgr_id src, const pgr_id *works, const pgr_id *topics,
                             const double *weights, size_t n, pgr_err *err);

/* Citations. ref is the cited work's external id as the source gave it
 * ("doi:10.1/x", "arxiv:2605.14217", "openalex:W123", "s2:abc"); cited is the
 * resolved work id or 0 when not (yet) in the graph. */
int pgr_citation_put(pgr_store *s, pgr_id src, pgr_id citing, const char *ref, pgr_id cited,
                     pgr_err *err);
/* Resolves unresolved citation refs against the works now present. */
int pgr_citations_resolve(pgr_store *s, long *n_resolved, pgr_err *err);

/* Institutions, keyed by ror when given, else by normalised name. */
int pgr_institution_upsert(pgr_store *s, const char *name, const char *norm_name,
                           const char *ror, const char *country, pgr_id *id, pgr_err *err);
/* year: 0 = not given (a "last known" link). */
int pgr_author_institution_put(pgr_store *s, pgr_id src, pgr_id author, pgr_id institution,
                               int year, pgr_err *err);

/* Counts by year as a source reported them; -1 = not given. */
int pgr_work_counts_put(pgr_store *s, pgr_id src, pgr_id work, int year, long cited_by_count,
                        pgr_err *err);
int pgr_author_counts_put(pgr_store *s, pgr_id src, pgr_id author, int year, long works_count,
                          long cited_by_count, pgr_err *err);

/* A figure a profile page (or an author record) reports, kept as that
 * source's claim: name ("h_index", "trust", ...), text as shown, value (NAN if
 * not numeric). author: the page's owner if decided, else 0. Keyed by
 * (src, name); capture_date "YYYY-MM-DD". */
int pgr_claim_put(pgr_store *s, pgr_id src, pgr_id author, const char *name, const char *text,
                  double value, const char *capture_date, pgr_err *err);

/* An author's topic as source src reported it (an OpenAlex author object's
 * topics, topic_share, x_concepts): the source's claim, kept apart from the
 * computed author topics (author_topic_claims; API: source_claims[].topics).
 * record: the author record in the source, by its id there ("openalex:A...");
 * list: the source's field ("topics", "topic_share", "x_concepts"); rank: the
 * 1-based place in that list; count (-1) and score (NAN) as given, or not
 * given. Keyed by (src, record, list, topic); deleted with src's facts and
 * re-pointed by author merges. Queued on PostgreSQL. */
typedef struct pgr_topic_claim {
    const char *record;
    pgr_id author; /* 0: none */
    const char *list;
    pgr_id topic;
    int rank;
    long count;
    double score;
    const char *capture_date;
} pgr_topic_claim;
int pgr_author_topic_claim_put(pgr_store *s, pgr_id src, const pgr_topic_claim *c, pgr_err *err);

/* A figure an author record in source src reported (an OpenAlex author
 * object's works_count, summary_stats, counts_by_year, institutions, ids; a
 * Semantic Scholar author's hIndex, paperCount, affiliations, externalIds,
 * homepage): the source's claim, kept apart from the computed figures
 * (author_claims, migration 005; API: source_claims[] entries with a record).
 * record as for topic claims; name the figure ("works_count", "h_index",
 * "2yr_mean_citedness", "affiliations", "ids", ...); year a counts_by_year
 * year or an affiliation's year, 0 when none; rank the 1-based place in a list
 * field, 0 for a single figure; text as given (may be NULL for a number);
 * value NAN when not a number; ref an id of what text names (institution:
 * its ROR or OpenAlex id URL; ids: the id's kind). Keyed by (src, record, name,
 * year, rank); deleted with src's facts, re-pointed by merges (move kind 15).
 * Queued on PostgreSQL. */
typedef struct pgr_author_claim {
    const char *record;
    pgr_id author; /* 0: none */
    const char *name;
    int year;
    int rank;
    const char *text;
    double value;
    const char *ref;
    const char *capture_date;
} pgr_author_claim;
int pgr_author_claim_put(pgr_store *s, pgr_id src, const pgr_author_claim *c, pgr_err *err);

/* Which author a profile page belongs to (one owner per page). method:
 * "header", "inferred", "override". runner_up: name of the next candidate or
 * NULL, with its confidence (NAN if none). */
int pgr_ownership_put(pgr_store *s, pgr_id src, pgr_id author, const char *method,
                      double confidence, const char *runner_up, double runner_up_confidence,
                      const char *evidence, pgr_err *err);

/* Recomputes the computed metrics (works_count, cited_by_count, h-index,
 * i10-index, co-author count, topic shares, counts by year) of these authors,
 * and the works_count/cited_by_count of the topics and sources they touch.
 * authors == NULL: every author. The authors of works that gained or lost
 * incoming citations in this session (pgr_citation_put, a work written with
 * an id a reference names, pgr_citations_resolve) are recomputed too. */
int pgr_metrics_recompute(pgr_store *s, const pgr_id *authors, size_t n, pgr_err *err);
/* Recomputes works_count / cited_by_count of every topic of one scheme (the
 * keyword pass replaces all "keyword" links at once). */
int pgr_topics_recount(pgr_store *s, const char *scheme, pgr_err *err);
/* Recomputes the authors this store touched since the last call (authorships
 * written or deleted, merges, citations to their works): what an ingest run
 * calls once per file, inside the file's transaction. */
int pgr_metrics_recompute_dirty(pgr_store *s, pgr_err *err);

/* Calls fn for every work in id order with its title and abstract (NULL when
 * none); strings are valid during the call only. fn returns 0 to go on, -1
 * (with err set) to stop. For corpus-wide computations such as the indexer's
 * keyword topics. */
int pgr_works_text_each(pgr_store *s,
                        int (*fn)(void *ctx, pgr_id id, const char *title, const char *abstract,
                                  pgr_err *err),
                        void *ctx, pgr_err *err);

/* Adapters (per author). Returns the new adapter's id. */
typedef struct pgr_adapter_rec {
    pgr_id author;
    const char *method;        /* "lora" | "loreft" */
    const char *mode;          /* "prefill" | "all" */
    int rank;
    const char *path;          /* adapter file */
    const char *base_model_sha256;
    const char *metrics_json;  /* training metrics, JSON text or NULL */
} pgr_adapter_rec;
int pgr_adapter_add(pgr_store *s, const pgr_adapter_rec *a, pgr_id *id, pgr_err *err);
/* The author's adapters, newest first: [{id, method, mode, rank, path,
 * base_model_sha256, metrics, created}]. */
int pgr_adapter_list(pgr_store *s, pgr_id author, json_t **out, pgr_err *err);
/* Authors an adapter is kept for (peergraph adapt --changed): the owners of
 * profile pages and every author that has an adapter, ascending; malloc'd. */
int pgr_adapter_candidates(pgr_store *s, pgr_id **ids, size_t *n, pgr_err *err);
/* Registers an adapter file for an author unless the author already has a
 * row with this same path: *id is the existing row (newest, *created = 0) or
 * the new one (*created = 1; created may be NULL). For `peergraph adapt
 * --register`: rewriting the file at the same path keeps the
 * row, and the server notices the new file by its size and mtime. path is
 * stored as given: absolute, or relative to the SQLite database's directory
 * (the server resolves it so). The server serves the author's current row
 * (pgr_adapter_current). */
int pgr_adapter_register(pgr_store *s, const pgr_adapter_rec *a, pgr_id *id, int *created,
                         pgr_err *err);
/* The author's current adapter for a base model: the newest row (highest id)
 * whose base_model_sha256 is model_sha256. Rows are never replaced: a
 * retrain adds a row, which becomes current; older rows stay as provenance
 * (docs/training.md). *row: that row as pgr_adapter_list gives it (new
 * reference), or NULL when there is none; *other (may be NULL): the newest
 * row made for another base model (new reference) or NULL, for messages. */
int pgr_adapter_current(pgr_store *s, pgr_id author, const char *model_sha256, json_t **row,
                        json_t **other, pgr_err *err);

/* The summary cache (schema 003_summaries.sql): a generated summary is kept
 * under all four parts of its key, so a change to the author's data, their
 * adapter or the model misses. Strings are borrowed. */
typedef struct pgr_summary_key {
    pgr_id author;
    const char *data_sha256;  /* sha256 of the prompt and generation settings */
    const char *adapter;      /* adapter identity: "none" or the server's id string */
    const char *model_sha256; /* the model file's sha256 */
} pgr_summary_key;
/* *text: a new malloc'd string (free it). PGR_ENOTFOUND when not cached. */
int pgr_summary_get(pgr_store *s, const pgr_summary_key *k, char **text, int *n_tokens,
                    pgr_err *err);
/* Stores (or replaces) the summary and drops the author's rows for the same
 * adapter and model made from older data. Does not bump data_version. */
int pgr_summary_put(pgr_store *s, const pgr_summary_key *k, const char *text, int n_tokens,
                    pgr_err *err);

/* ------------------------------------------------------------------------
 * Read API (the server). Results are OpenAlex-shaped JSON (see API.md) with
 * short keys as ids. Figures the project computes are under names that say
 * so; figures pages reported are under source_claims.
 * ---------------------------------------------------------------------- */

typedef enum {
    PGR_WORKS = 0,
    PGR_AUTHORS,
    PGR_TOPICS,
    PGR_SOURCES, /* venues */
    PGR_INSTITUTIONS,
    PGR_N_ENTITIES
} pgr_entity;

/* "works", "authors", ... (static) and the short-key letter 'W', 'A', 'T', 'S', 'I'. */
const char *pgr_entity_name(pgr_entity e);
char pgr_entity_letter(pgr_entity e);
/* Parses "works" etc.; -1 when unknown. */
int pgr_entity_parse(const char *name);

/* Resolves an id as the API accepts it to an integer id: the short key "W12",
 * or an external id "doi:10.1/abc", "arxiv:2605.14217", "openalex:W2741809807",
 * "s2:..." (works), "orcid:0000-...", "openalex:A...", "s2:..." (authors),
 * "openalex:T..." / "arxiv:cs.CL" (topics), "ror:..." (institutions).
 * Unknown form: PGR_EINVAL; no such entity: PGR_ENOTFOUND. */
int pgr_resolve_id(pgr_store *s, pgr_entity e, const char *id, pgr_id *out, pgr_err *err);

/* One entity by id (any form pgr_resolve_id accepts). A merged author answers
 * as the author it was merged into. select: NULL = all fields, else only these
 * top-level fields (unknown name: PGR_EINVAL).
 *
 * Work: id, doi, ids{openalex,doi,arxiv,s2}, title, display_name,
 *   publication_year, publication_date, type, authorships[{author_position
 *   ("first"|"middle"|"last"), position, author{id,display_name},
 *   raw_author_name, raw_affiliation_strings, institutions[{id,display_name}]}],
 *   authors_truncated, abstract, abstract_inverted_index, cited_by_count,
 *   counts_by_year[{year,cited_by_count}], topics[{id,display_name,scheme,code,score}],
 *   primary_topic, referenced_works[ids], referenced_works_unresolved[refs],
 *   related_works[], primary_location{source{id,display_name}}, has_code,
 *   score, provenance[{source_id,uri,format,sha256,capture_date}].
 * Author: id, display_name, display_name_alternatives, ids{openalex,orcid,s2},
 *   works_count, cited_by_count, summary_stats{h_index,i10_index} (computed),
 *   computed{works_count,cited_by_count,h_index,i10_index,coauthor_count,
 *   topic_shares[{id,display_name,count,share}]}, counts_by_year
 *   [{year,works_count,cited_by_count}], topics[{id,display_name,count}],
 *   last_known_institutions[], source_claims[{source_id,uri,format,capture_date,
 *   claims{name:{text,value}}, topics[{id,display_name,scheme,code,record,list,
 *   rank,count,score}] (only where the source reported topics)}], owner_of[{source_id,uri,method,confidence,
 *   runner_up,runner_up_confidence,evidence}], merged_from[ids].
 * Topic: id, display_name, scheme, code, works_count, cited_by_count.
 * Source: id, display_name, works_count, cited_by_count.
 * Institution: id, display_name, ror, country_code, works_count. */
int pgr_get(pgr_store *s, pgr_entity e, const char *id, const char *const *select,
            size_t n_select, json_t **out, pgr_err *err);

/* Lists. Filter field names are OpenAlex's:
 *   works:   publication_year, type, has_code, authorships.author.id, topics.id,
 *            cited_by_count, ids.openalex, doi, ids.arxiv, primary_location.source.id
 *   authors: display_name.search, works_count, cited_by_count, topics.id
 *   topics, sources, institutions: works_count, display_name.search
 * Entity-id values accept every form pgr_resolve_id does ("A5", "openalex:A..",
 * a full URL ending in the short key is the server's to strip). */
typedef enum {
    PGR_OP_EQ,    /* field = any of values (OR-list) */
    PGR_OP_NE,    /* field != every value */
    PGR_OP_LT,    /* field < values[0] (numbers, dates) */
    PGR_OP_GT,    /* field > values[0] */
    PGR_OP_RANGE  /* values[0] <= field <= values[1]; either may be "" (open) */
} pgr_op;

typedef struct pgr_filter {
    const char *field;
    pgr_op op;
    const char *const *values;
    size_t n_values; /* >= 1; RANGE: exactly 2 */
} pgr_filter;

typedef struct pgr_sort {
    const char *field; /* cited_by_count, publication_date, publication_year,
                        * works_count, display_name, relevance_score (with search), id */
    int desc;
} pgr_sort;

typedef struct pgr_query {
    pgr_entity entity;
    const pgr_filter *filters;
    size_t n_filters;            /* ANDed */
    const char *search;          /* full-text query or NULL; syntax below */
    const pgr_sort *sorts;
    size_t n_sorts;              /* 0: relevance_score desc when searching, else id */
    int per_page;                /* 1..200 (0 = 25) */
    int page;                    /* 1.. (0 = 1); ignored when cursor is set */
    const char *cursor;          /* NULL: page mode; "*": first page; else a next_cursor */
    const char *const *select;   /* top-level fields, or NULL for all */
    size_t n_select;
    const char *group_by;        /* field to group by, or NULL */
    const char *hl_open, *hl_close; /* snippet markers (e.g. "<b>", "</b>"); NULL: no snippets */
} pgr_query;

/* Runs a list query. *out = {"meta": {"count", "page" (null in cursor mode),
 * "per_page", "next_cursor" (null at the end or in page mode), "groups_count"},
 * "results": [entities as pgr_get returns them, plus "relevance_score" when
 * searching and "snippet": {"title", "abstract"} when hl_open is set],
 * "group_by": [{"key", "key_display_name", "count"}] (only with group_by)}.
 * Cursors are opaque keyset cursors (stable under inserts); a cursor from a
 * different query is refused with PGR_EINVAL.
 *
 * Search syntax (works: title, abstract, author names; authors: names and
 * variants; topics/sources/institutions: names): words are ANDed; "a phrase";
 * OR between terms; NOT or a leading '-' negates a term; a trailing '*' is a
 * prefix; parentheses group. Matching folds case and diacritics. */
int pgr_list(pgr_store *s, const pgr_query *q, json_t **out, pgr_err *err);
/* The bounds of one list request (docs/api.md): meta.count is exact up to
 * count_cap matches and estimated beyond ("count_exact": false); default
 * 10000, values < 1 restore it. topk < 0: a works search ranked by relevance
 * ranks every match instead of taking the top-k path (the same results,
 * slower: tests compare the two); topk >= 0 restores it. */
void pgr_list_limits(pgr_store *s, long count_cap, long topk);

/* SQLite: (re)builds the top-k search index of works (graph/search_topk.c):
 * impact-ordered lists of the common terms, after merging FTS5's segments.
 * A works search ranked by relevance then finds its best results without
 * scoring every match; works written later are handled exactly until the
 * next build. One pass over the works' full text (about a minute per
 * million works). PostgreSQL: nothing to do. */
int pgr_search_index_build(pgr_store *s, pgr_err *err);
/* Tests: entries per list and the most works a term without a list may be
 * in, for the next build (0: the defaults, 16384 and 64); how many lists
 * the top-k path answered on this connection, and how many works it scored
 * from the lists' hit counts instead of their text. */
void pgr_search_index_params(pgr_store *s, int list_len, int rare);
long pgr_search_topk_answered(const pgr_store *s);
long pgr_search_topk_listed(const pgr_store *s);

/* Bringing the top-k search index up to date after writes (the end of an
 * ingest run). Works written since the build are listed in search_dirty;
 * past 1024 of them a search ranks every match again, so a nightly writer
 * must not leave them there.
 *   AUTO     build when there is no index (and the graph has works), rebuild
 *            when the works changed since the build (refreshed or not) are
 *            PGR_SEARCH_REBUILD_SHARE of the graph, or the mean text length
 *            grew by more than 1% (every bound is scaled by it: searches
 *            read many more texts), else refresh; nothing when nothing
 *            changed
 *   REFRESH  refresh the changed works' entries (build when there is none)
 *   REBUILD  build from scratch
 *   SKIP     nothing (the changed works stay in search_dirty)
 * The refresh is exact: a changed work's entries are rewritten from its
 * text with the build's mean length, entries that fall under a list's floor
 * stay out of it, a list cut back to its length raises its floor, and its
 * new words are recorded as words without a list (their works come from
 * FTS5). Every list holding a changed work is rewritten (entries carry
 * hit counts that a search scores works by: none may outlive its text).
 * One transaction (the caller's, if one is open).
 * PostgreSQL: nothing to do (action PGR_SEARCH_NA). */
enum { PGR_SEARCH_AUTO = 0, PGR_SEARCH_REFRESH, PGR_SEARCH_REBUILD, PGR_SEARCH_SKIP };
enum {
    PGR_SEARCH_NA = 0,   /* PostgreSQL */
    PGR_SEARCH_CURRENT,  /* nothing had changed */
    PGR_SEARCH_SKIPPED,  /* SKIP */
    PGR_SEARCH_EMPTY,    /* no works: no index to build */
    PGR_SEARCH_REFRESHED,
    PGR_SEARCH_BUILT,    /* there was none */
    PGR_SEARCH_REBUILT,
};
typedef struct pgr_search_update {
    int action;      /* PGR_SEARCH_NA .. */
    long changed;    /* works in search_dirty before */
    long refreshed;  /* works refreshed since the last build, before */
    double drift;    /* mean text length now / at the build (0: not known) */
    long works;      /* works in the graph (FTS5 rows) */
    double seconds;
} pgr_search_update;
#define PGR_SEARCH_REBUILD_SHARE 0.25
int pgr_search_index_update(pgr_store *s, int mode, pgr_search_update *out, pgr_err *err);
/* "refreshed", "built", ...: for summaries */
const char *pgr_search_action_name(int action);

/* Up to 10 entries whose name starts with (or has a word starting with) q:
 * [{"id", "display_name", "hint", "works_count", "cited_by_count"}], best
 * first (most cited, then name). hint: works' first author, authors' last
 * known institution, topics' scheme. */
int pgr_autocomplete(pgr_store *s, pgr_entity e, const char *q, json_t **out, pgr_err *err);

/* Co-authors of an author: [{"id", "display_name", "count" (shared works)}],
 * most shared first, then name; at most limit (0 = all). */
int pgr_author_coauthors(pgr_store *s, const char *author, int limit, json_t **out,
                         pgr_err *err);

/* Facet counts of a works query (its filters and search; sorts, paging and
 * group_by ignored) over its `top` newest matches (highest ids, the order
 * the indexes hold them; 1..100000), never all of a large result: *out =
 * {"considered": matches counted (< top: every match was), "top",
 * "publication_year", "has_code", "topics.id": [{"key", "key_display_name",
 * "count"}] most frequent first (ties by key, unknown first), at most 200}.
 * The keys are group_by's. */
int pgr_list_facets(pgr_store *s, const pgr_query *q, long top, json_t **out, pgr_err *err);

/* One page of an author's works, as pgr_list filtered by
 * authorships.author.id with the same sorts (cited_by_count, publication_date,
 * publication_year, display_name; id ascending breaks ties) and selection,
 * built from the author's authorships (the profile page). *out = {"meta":
 * {"count" (exact), "count_exact", "page", "per_page"}, "results": [...]}. */
int pgr_author_works(pgr_store *s, const char *author, const pgr_sort *sorts, size_t n_sorts,
                     int page, int per_page, const char *const *select, size_t n_select,
                     json_t **out, pgr_err *err);

/* The same page of an author's works as pgr_author_works, as plain structs
 * for a page to render (no OpenAlex-shaped JSON to build, read and free):
 * only what a works list shows. Strings live in the caller's arena; NULL
 * where the field is unknown. authors in printed order (name: the author's
 * display name, else the name as printed), topics most relevant first. */
typedef struct pgr_brief_author {
    pgr_id id;
    const char *name;
} pgr_brief_author;
typedef struct pgr_brief_topic {
    pgr_id id;
    const char *name, *code;
} pgr_brief_topic;
typedef struct pgr_work_brief {
    pgr_id id;
    const char *title, *date, *type, *abstract, *authors_truncated; /* title: NULL unknown */
    const char *venue;   /* NULL when the work has no venue */
    int64_t year;        /* 0 when unknown */
    int64_t cited_by_count;
    int has_code;        /* 1 yes, 0 no or unknown */
    pgr_brief_author *authors;
    size_t n_authors;
    pgr_brief_topic *topics;
    size_t n_topics;
} pgr_work_brief;
/* *works: *n_works entries (the page, in order) in arena; *count: all of the
 * author's works; counts_by_year (optional): the author's, as pgr_get's field
 * (its works per year counted in the pass that orders the page). Errors as
 * pgr_author_works. */
int pgr_author_works_brief(pgr_store *s, const char *author, const pgr_sort *sorts,
                           size_t n_sorts, int page, int per_page, pgr_arena *arena,
                           pgr_work_brief **works, size_t *n_works, int64_t *count,
                           json_t **counts_by_year, pgr_err *err);

/* The author's neighbourhood for the graph view, bounded so that a request
 * costs the same for any author (docs/api.md). depth 1: the author, their
 * PGR_GRAPH_MAX_WORKS most cited works, the PGR_GRAPH_MAX_COAUTHORS authors
 * sharing the most of those works, the PGR_GRAPH_MAX_TOPICS most frequent
 * topics of those works, up to PGR_GRAPH_MAX_INSTITUTIONS institutions of the
 * author, and the citations among the works. depth 2: plus, for the
 * PGR_GRAPH_EXPAND co-authors sharing the most works, each one's
 * PGR_GRAPH_EXPAND_WORKS newest works and the authors on them (the graph's
 * authors and that co-author's PGR_GRAPH_EXPAND_COAUTHORS most frequent
 * co-authors there). Under the caps, the whole neighbourhood. max_nodes then
 * caps the size (0 = PGR_GRAPH_MAX_NODES; the author and the most reached
 * nodes are kept). *out = {"nodes": [{"id", "type" ("author"|"work"|"topic"|
 * "institution"), "label", "weight"}], "edges": [{"source", "target", "type"
 * ("authorship"|"coauthor"|"topic"|"affiliation"|"citation"), "weight"}],
 * "truncated": true when a cap or max_nodes left something out}. */
#define PGR_GRAPH_MAX_WORKS 50
#define PGR_GRAPH_MAX_COAUTHORS 50
#define PGR_GRAPH_MAX_TOPICS 20
#define PGR_GRAPH_MAX_INSTITUTIONS 10
#define PGR_GRAPH_EXPAND 10
#define PGR_GRAPH_EXPAND_WORKS 10
#define PGR_GRAPH_EXPAND_COAUTHORS 10
#define PGR_GRAPH_MAX_NODES 2000
int pgr_author_graph(pgr_store *s, const char *author, int depth, int max_nodes, json_t **out,
                     pgr_err *err);

/* Counts by year: for an author, [{"year", "works_count", "cited_by_count"}]
 * computed from their works (plus source-reported citation counts per year
 * where given); for a work, what sources reported. Ascending years. */
int pgr_counts_by_year(pgr_store *s, pgr_entity e, const char *id, json_t **out, pgr_err *err);

/* Text of an author's works for adapter training and summaries:
 * [{"id", "title", "abstract", "publication_year", "cited_by_count"}],
 * most cited first, at most limit (0 = all). */
int pgr_author_works_text(pgr_store *s, const char *author, int limit, json_t **out,
                          pgr_err *err);

/* Counts of entities (for /healthz and /metrics): {"works", "authors", "topics",
 * "sources", "institutions", "citations", "source_documents", "schema_version"}. */
int pgr_stats(pgr_store *s, json_t **out, pgr_err *err);

#endif
