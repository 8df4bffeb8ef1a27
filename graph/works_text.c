/* pgr_works_text_each (graph.h): every work's text for corpus-wide
 * computations, read in id-ordered pages so neither backend holds the whole
 * corpus in one result. */
#include <stdlib.h>

#include "graph/graph.h"
#include "graph/store_impl.h"

#define PAGE 2000

int pgr_works_text_each(pgr_store *s,
                        int (*fn)(void *ctx, pgr_id id, const char *title, const char *abstract,
                                  pgr_err *err),
                        void *ctx, pgr_err *err)
{
    pgr_id after = 0;
    for (;;) {
        pgr_stmt *st = pgr_st(s, ST_WORKS_TEXT_PAGE, err);
        if (!st)
            return -1;
        pgr_bind_int(st, 1, after);
        int rc, rows = 0;
        while ((rc = pgr_step(st, err)) == 1) {
            pgr_id id = pgr_col_int(st, 0);
            rows++;
            after = id;
            if (fn(ctx, id, pgr_col_text(st, 1), pgr_col_null(st, 2) ? NULL : pgr_col_text(st, 2),
                   err) != 0) {
                pgr_reset(st);
                return -1;
            }
        }
        pgr_reset(st);
        if (rc < 0)
            return -1;
        if (rows < PAGE)
            return 0;
    }
}
