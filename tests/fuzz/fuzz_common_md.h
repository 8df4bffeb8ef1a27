/* Shared body of the metadata-parser fuzz targets: run detection and one
 * format's parser over the input with a sink that touches every string (so
 * ASan sees any dangling or unterminated one). Not a target itself (only
 * fuzz_*.c files are). */
#ifndef PEERGRAPH_FUZZ_COMMON_MD_H
#define PEERGRAPH_FUZZ_COMMON_MD_H
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "indexer/metadata.h"
#include "indexer/record.h"

static size_t fz_touch(const char *s)
{
    return s ? strlen(s) : 0;
}

static int fz_work(void *ctx, const ix_work *w, pgr_err *err)
{
    (void)err;
    size_t *sum = ctx;
    *sum += fz_touch(w->title) + fz_touch(w->abstract) + fz_touch(w->arxiv_id) + fz_touch(w->doi) +
            fz_touch(w->date) + fz_touch(w->venue) + fz_touch(w->s2_id) + fz_touch(w->openalex_id) +
            fz_touch(w->comments) + fz_touch(w->journal_ref);
    for (size_t i = 0; i < w->n_authors; i++)
        *sum += fz_touch(w->authors[i].raw_name) + fz_touch(w->authors[i].display_name) +
                fz_touch(w->authors[i].affiliation) + fz_touch(w->authors[i].s2_id) +
                fz_touch(w->authors[i].openalex_id) + fz_touch(w->authors[i].orcid);
    for (size_t i = 0; i < w->n_topics; i++)
        *sum += fz_touch(w->topics[i].code) + fz_touch(w->topics[i].name);
    for (size_t i = 0; i < w->n_references; i++)
        *sum += fz_touch(w->references[i]);
    for (size_t i = 0; i < w->n_counts_by_year; i++)
        *sum += (size_t)w->counts_by_year[i].year;
    return 0;
}

static int fz_author(void *ctx, const ix_author *a, pgr_err *err)
{
    (void)err;
    size_t *sum = ctx;
    *sum += fz_touch(a->display_name) + fz_touch(a->affiliation) + fz_touch(a->orcid);
    for (size_t i = 0; i < a->n_alternatives; i++)
        *sum += fz_touch(a->alternatives[i]);
    for (size_t i = 0; i < a->n_topics; i++)
        *sum += fz_touch(a->topics[i].code);
    return 0;
}

static int fz_run(const char *format, const uint8_t *data, size_t size)
{
    /* Parsers get a NUL-terminated copy, as ix_input promises. */
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    (void)ix_format_detect(buf, size);
    const ix_format *f = ix_format_by_name(format);
    size_t sum = 0;
    ix_sink sink = {&sum, fz_work, fz_author, NULL, NULL};
    ix_input in = {.path = "fuzz", .data = buf, .len = size, .capture_date = "2026-11-22"};
    pgr_err err;
    pgr_err_clear(&err);
    if (f) {
        (void)f->detect(buf, size);
        (void)f->parse(&in, &sink, &err);
    }
    free(buf);
    return 0;
}
#endif
