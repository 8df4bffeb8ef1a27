#ifndef PEERGRAPH_METADATA_H
#define PEERGRAPH_METADATA_H
/* The paper-metadata formats (arXiv, OpenAlex, Semantic Scholar, ORCID): their
 * detect/parse pairs, registered in indexer/formats.c.
 *
 * Detection scores (content only). All of these need the first significant
 * byte to be '{', '[' or '<', so they never compete with the plain-text
 * profile-page formats:
 *   arxiv-snapshot  90  JSON line with "authors_parsed" / "versions"+"update_date"
 *   arxiv-oai       95  XML with an <OAI-PMH> root
 *   arxiv-atom      90  XML <feed> from the arXiv API, or its {url,status_code,body} wrapper
 *   openalex        85  JSON naming https://openalex.org/ ids
 *   s2              80  JSON with "paperId"/"authorId"; 30 for a bare {"error": ...}
 *   orcid           93  XML in an http://www.orcid.org/ns/ namespace; 90 JSON with
 *                       "orcid-identifier"/"activities-summary"/work summaries or an
 *                       ORCID error body
 *   dblp            92  XML with a <dblp> root or <!DOCTYPE dblp in the first 4 KiB
 *   bibtex          88  text starting with "@type{" / "@type("; 80 when comment lines
 *                       ("%" first) precede an entry at the start of a line
 *
 * Parse results beyond record.h: a parse that returns 0 may leave a notice in
 * err->msg with err->code == PGR_OK (e.g. "topic T11636: not a work/author:
 * skipped"); an empty but valid answer (OAI noRecordsMatch, an empty Atom feed)
 * returns 0 with no records. API error answers (OAI <error>, Atom "Error"
 * entry, HTTP status != 200 in a wrapper, S2 {"error": ...}) return -1 with
 * err->code PGR_ENOTFOUND (unknown id) or PGR_EINVAL, naming the error. */
#include "indexer/record.h"

int ix_arxiv_snapshot_detect(const char *data, size_t len);
int ix_arxiv_snapshot_parse(const ix_input *in, const ix_sink *sink, pgr_err *err);

int ix_arxiv_oai_detect(const char *data, size_t len);
int ix_arxiv_oai_parse(const ix_input *in, const ix_sink *sink, pgr_err *err);

int ix_arxiv_atom_detect(const char *data, size_t len);
int ix_arxiv_atom_parse(const ix_input *in, const ix_sink *sink, pgr_err *err);

int ix_openalex_detect(const char *data, size_t len);
int ix_openalex_parse(const ix_input *in, const ix_sink *sink, pgr_err *err);

int ix_s2_detect(const char *data, size_t len);
int ix_s2_parse(const ix_input *in, const ix_sink *sink, pgr_err *err);

int ix_orcid_detect(const char *data, size_t len);
int ix_orcid_parse(const ix_input *in, const ix_sink *sink, pgr_err *err);

int ix_dblp_detect(const char *data, size_t len);
int ix_dblp_parse(const ix_input *in, const ix_sink *sink, pgr_err *err);

int ix_bibtex_detect(const char *data, size_t len);
int ix_bibtex_parse(const ix_input *in, const ix_sink *sink, pgr_err *err);

/* Longest line the arXiv snapshot parser accepts (the largest real records,
 * with thousands of collaboration authors, are a few hundred KiB). */
#define IX_SNAPSHOT_MAX_LINE ((size_t)16 << 20)
/* Most authors accepted on one record (real maximum is about 5,000). */
#define IX_MAX_AUTHORS 20000

#endif
