#ifndef PEERGRAPH_IDS_H
#define PEERGRAPH_IDS_H
/* Canonical external identifiers, shared by every parser and the graph
 * builder so that the same paper gets the same key whatever the source wrote.
 * All functions are pure and allocation-free. */
#include <stddef.h>

#define IX_ARXIV_ID_MAX 48
#define IX_DOI_MAX 256

/* Canonical arXiv id, version stripped. Accepts "2605.14217", "2605.14217v1",
 * "arXiv:2605.14217v1", "https://arxiv.org/abs/2605.14217v2", ".../pdf/...",
 * old-style "hep-th/9901001v3" and "math.GT/0309136" (the subject class is
 * dropped: the id is "math/0309136"). New-style ids are YYMM.NNNN (2007-2014)
 * or YYMM.NNNNN (2015 on); old-style are archive/YYMMNNN.
 * Writes the id to out (IX_ARXIV_ID_MAX bytes) and the version (0 when absent)
 * to *version (may be NULL). Returns 0, or -1 when s is not an arXiv id. */
int ix_arxiv_canon(const char *s, char out[IX_ARXIV_ID_MAX], int *version);

/* Canonical DOI: prefixes "doi:", "https://doi.org/", "http://dx.doi.org/"
 * removed, %XX escapes decoded when it came as a URL, surrounding space
 * dropped, lowercased (DOIs are case-insensitive). Must look like
 * "10.NNNN/suffix". Returns 0, or -1 when s is not a DOI. */
int ix_doi_canon(const char *s, char out[IX_DOI_MAX]);

#endif
