#ifndef PEERGRAPH_BUILDER_H
#define PEERGRAPH_BUILDER_H
/* The graph builder: turns the records a parser emits (indexer/record.h) into
 * the graph (graph/graph.h), one source file per transaction.
 *
 * Identity rules (docs/operations.md repeats them for operators):
 *  - works: the store finds an existing work by arXiv id, DOI, OpenAlex id,
 *    S2 id, then normalised title + year (ix_title_key); else a new work;
 *  - authors: an external id (ORCID, OpenAlex, S2) decides; otherwise a
 *    name is the same person as an existing author with the same normalised
 *    name (ix_name_keys "full") only on evidence: that author already has an
 *    authorship on this very work, or shares a co-author with this work's
 *    other authors. Without evidence a new author is created. When several
 *    existing authors carry evidence, they are merged into the lowest id and
 *    the merge is recorded with its evidence (undo: peergraph ingest --unmerge);
 *  - a profile page's owner is linked to the author the page's entries name
 *    (all such authors are merged: the page is the evidence), or to an
 *    author with the same name who already has one of the page's works, or
 *    a new author. Entries where the owner is not printed (a truncated list,
 *    or a page that prints no author lists) get an authorship for the owner
 *    with raw_name NULL: "inferred from the page's owner, not printed".
 *
 * A changed file replaces its source's facts (pgr_source_delete_facts); an
 * unchanged file (same sha256 for the same uri) is skipped without parsing. */
#include <stddef.h>

#include "graph/graph.h"
#include "indexer/record.h"

typedef struct ix_stats {
    long files;           /* files offered */
    long files_ingested;  /* new or changed, committed */
    long files_unchanged; /* same sha256 as stored: skipped */
    long files_rejected;  /* rolled back */
    long records;         /* works + author records parsed in committed files */
    long works_added, works_updated;
    long authors_added;
    long merges;
} ix_stats;

typedef struct ix_builder ix_builder;

/* A builder writes into s (borrowed; must outlive the builder) for run run_id
 * (0 = none). */
int ix_builder_new(pgr_store *s, pgr_id run_id, ix_builder **out, pgr_err *err);
void ix_builder_free(ix_builder *b);

/* Load mode of a file (--bulk): AUTO defers the graph's secondary indexes
 * (pgr_defer_indexes) for a file of at least IX_BULK_MIN_BYTES that could
 * hold as many works as the graph has (a fresh or small graph); ALWAYS for
 * every file, NEVER for none. The graph written is the same either way. */
enum { IX_BULK_AUTO = 0, IX_BULK_ALWAYS = 1, IX_BULK_NEVER = 2 };
#define IX_BULK_MIN_BYTES (4u << 20)
#define IX_BULK_BYTES_PER_WORK 2048 /* a generous record size: the estimate of a file's works */

typedef struct ix_file_opts {
    const char *format;         /* --format NAME, or NULL to detect from content */
    const char *capture_date;   /* "YYYY-MM-DD" (required) */
    const char *owner_override; /* --owner NAME, or NULL */
    int bulk;                   /* IX_BULK_*; 0 = auto */
} ix_file_opts;

/* Ingests one file. uri names it in the graph; data/len are the bytes as read
 * (gzip is inflated here; the sha256 is of these bytes). *unchanged (may be
 * NULL) is set when the file was skipped as unchanged. On -1 the file is
 * rolled back and err says why and where ("line 12: ..."). */
int ix_builder_ingest(ix_builder *b, const char *uri, const char *data, size_t len,
                      const ix_file_opts *o, int *unchanged, pgr_err *err);

/* Lower level, for callers that produce records themselves (tests, generators):
 * begin a source (opens the transaction, replaces the old facts of uri), feed
 * records through *sink, then end it (ok = 1 commits, 0 rolls back). */
int ix_builder_source_begin(ix_builder *b, const char *uri, const char *format,
                            const char *sha256, const char *capture_date, ix_sink *sink,
                            pgr_err *err);
int ix_builder_source_end(ix_builder *b, int ok, pgr_err *err);

/* End of run: the keyword topics (their own transaction), then resolves
 * citations and recomputes the metrics of the authors the run touched (all
 * authors when a changed file may have taken facts away), so the topic
 * shares include this run's keyword links. */
int ix_builder_finish(ix_builder *b, pgr_err *err);

const ix_stats *ix_builder_stats(const ix_builder *b);

/* Keyword topics (docs/keywords.md) are recomputed over the whole corpus at
 * the end of a run that ingested something; off skips that (default on). */
void ix_builder_set_keywords(ix_builder *b, int on);

#endif
