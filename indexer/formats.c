/* The registry of input formats. Each parser file provides its ix_format
 * entry functions; detection picks the highest score. */
#include <string.h>

#include "indexer/metadata.h"
#include "indexer/record.h"

const ix_format ix_formats[] = {
    /* Paper metadata (indexer/metadata.h): JSON/XML only, never plain text. */
    {"arxiv-snapshot", "arXiv bulk metadata snapshot (JSON lines)", ix_arxiv_snapshot_detect,
     ix_arxiv_snapshot_parse},
    {NULL, NULL, NULL, NULL},
};

const ix_format *ix_format_by_name(const char *name)
{
    for (const ix_format *f = ix_formats; f->name; f++)
        if (!strcmp(f->name, name))
            return f;
    return NULL;
}

const ix_format *ix_format_detect(const char *data, size_t len)
{
    const ix_format *best = NULL;
    int best_score = 0;
    for (const ix_format *f = ix_formats; f->name; f++) {
        int s = f->detect(data, len);
        if (s > best_score) {
            best_score = s;
            best = f;
        }
    }
    return best;
}
