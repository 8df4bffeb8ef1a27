#ifndef PEERGRAPH_FUZZ_SEED_COMMON_H
#define PEERGRAPH_FUZZ_SEED_COMMON_H
/* Shared body of the profile-page fuzz targets: runs detection and the named
 * parser on the input (NUL-terminated copy, as ix_input promises), with and
 * without a capture date and an owner override, and checks what is emitted:
 * a failure must say "line N: ...", a success must emit sane records. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "indexer/record.h"

static int fz_work(void *ctx, const ix_work *w, pgr_err *err)
{
    (void)ctx;
    (void)err;
    if (!w->title || !w->title[0] || (w->n_authors && !w->authors) || w->line < 1)
        abort();
    if (w->date && (strlen(w->date) != 10 || w->date[4] != '-'))
        abort();
    for (size_t i = 0; i < w->n_authors; i++)
        if (!w->authors[i].raw_name || !w->authors[i].raw_name[0])
            abort();
    return 0;
}

static int fz_profile(void *ctx, const ix_profile *p, pgr_err *err)
{
    (void)ctx;
    (void)err;
    if (!p->site || !p->evidence || p->confidence < 0 || p->confidence > 1)
        abort();
    return 0;
}

static int fz_seed_run(const char *format, const uint8_t *data, size_t size)
{
    const ix_format *f = ix_format_by_name(format);
    char *buf = malloc(size + 1);
    ix_sink sink = {NULL, fz_work, NULL, fz_profile, NULL};
    if (!f || !buf)
        abort();
    memcpy(buf, data, size);
    buf[size] = 0;
    (void)ix_format_detect(buf, size);
    for (int variant = 0; variant < 2; variant++) {
        ix_input in = {0};
        pgr_err err = {0};
        in.path = "fuzz";
        in.data = buf;
        in.len = size;
        if (variant == 0)
            memcpy(in.capture_date, "2026-11-22", 11);
        else
            in.owner_override = "Fuzz Owner";
        if (f->parse(&in, &sink, &err) != 0 && strncmp(err.msg, "line ", 5) != 0)
            abort();
    }
    free(buf);
    return 0;
}
#endif
