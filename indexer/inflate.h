#ifndef PEERGRAPH_INFLATE_H
#define PEERGRAPH_INFLATE_H
/* gzip input (OpenAlex snapshot parts are *.gz): the ingest pipeline calls
 * ix_gunzip on every file before format detection, so detection and parsers
 * only ever see plain bytes.
 *
 * A decompression bomb is stopped by cap: inflating stops with an error as
 * soon as the output would exceed cap bytes. Concatenated gzip members (what
 * `cat a.gz b.gz` and parallel gzip writers produce) are all inflated. */
#include <stddef.h>

#include "graph/util.h"

/* Default cap for one decompressed file (OpenAlex parts are < 1 GiB inflated). */
#define IX_GUNZIP_DEFAULT_CAP ((size_t)4 << 30)

/* 1 when data starts with the gzip magic bytes 1f 8b 08. */
int ix_is_gzip(const char *data, size_t len);

/* Inflates a gzip buffer into a new malloc'd, NUL-terminated buffer (*out,
 * *out_len excludes the NUL; caller frees). Returns 0, or -1 with err naming
 * the compressed offset where it failed (truncated, corrupt, over cap). */
int ix_gunzip(const char *data, size_t len, size_t cap, char **out, size_t *out_len, pgr_err *err);

#endif
