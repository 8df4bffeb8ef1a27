#ifndef PEERGRAPH_IDS_H
#define PEERGRAPH_IDS_H
/* Canonical external identifiers shared by every parser and the graph builder,
 * so that "arXiv:2605.14217v2", "https://arxiv.org/abs/2605.14217" and
 * "2605.14217" are one key, and "https://doi.org/10.1145/ABC" and
 * "doi:10.1145/abc" are another.
 *
 * arXiv ids: new style "YYMM.NNNN" / "YYMM.NNNNN", old style "archive/YYMMNNN"
 * (the old subject class, as in "math.GT/0309136", is dropped: arXiv's canonical
 * id is "math/0309136"). Accepted decorations: "arXiv:" / "oai:arXiv.org:"
 * prefixes, http(s)://(export.)arxiv.org/abs|pdf/ URLs, a trailing ".pdf", and a
 * version suffix "vN", which is stripped and returned apart.
 *
 * DOIs: "10.NNNN/suffix" with the resolver prefixes (https://doi.org/,
 * http://dx.doi.org/, doi:) removed, surrounding space trimmed, ASCII lowercased
 * (DOIs are case-insensitive by definition). */
#include <stddef.h>

#include "graph/util.h"

/* Longest canonical form we produce; longer inputs are rejected (no real
 * arXiv id comes close; DOIs are capped at a generous size). */
#define IX_ARXIV_ID_MAX 64
#define IX_DOI_MAX 512

/* Writes the canonical arXiv id of s[0..len) into out (NUL-terminated).
 * *version (may be NULL) gets the version number, 0 when none was given.
 * Returns 0, or -1 when s is not an arXiv id (out is then ""). */
int ix_arxiv_canon(const char *s, size_t len, char out[IX_ARXIV_ID_MAX], int *version);

/* Writes the canonical DOI of s[0..len) into out. Returns 0, or -1 when s is
 * not a DOI. Only the first whitespace-separated token is considered (the
 * arXiv snapshot sometimes lists two DOIs in one field). */
int ix_doi_canon(const char *s, size_t len, char out[IX_DOI_MAX]);

/* An ORCID iD: "0000-0001-6187-6610", bare or as an orcid.org URL (http or
 * https, with or without "www."), with its ISO 7064 MOD 11-2 check digit
 * verified (an ORCID decides author identity: a mistyped one must not merge
 * two people). Writes the bare 19-character form into out. Returns 0, or -1
 * when s is not an ORCID iD. */
#define IX_ORCID_LEN 19
int ix_orcid_canon(const char *s, char out[IX_ORCID_LEN + 1]);

/* Arena conveniences for parsers: NULL when s is NULL or not an id. */
const char *ix_arxiv_canon_a(pgr_arena *a, const char *s, int *version);
const char *ix_doi_canon_a(pgr_arena *a, const char *s);

#endif
