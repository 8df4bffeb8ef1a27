#ifndef PEERGRAPH_UTIL_H
#define PEERGRAPH_UTIL_H
/* Small shared pieces used by every module: errors, an arena, a growable
 * string buffer, checked size arithmetic. No module-specific logic here. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- errors --------------------------------------------------------------
 * Functions that can fail return 0 on success and -1 on failure, filling a
 * caller-owned pgr_err with a message that names the input and the place
 * ("004_x.txt: line 12: ..."). code is one of PGR_E*. */
enum {
    PGR_OK = 0,
    PGR_EINVAL = 1,   /* bad input (file, request, argument) */
    PGR_ENOTFOUND = 2,
    PGR_EDB = 3,      /* database error */
    PGR_EIO = 4,      /* file system / network */
    PGR_ENOMEM = 5,
    PGR_EBUSY = 6,    /* locked, queue full */
    PGR_ECONFLICT = 7,
    PGR_EVERSION = 8, /* database or file newer than this binary understands */
    PGR_EINTERNAL = 9,
    PGR_EUNSUPPORTED = 10
};

typedef struct pgr_err {
    int code;
    char msg[1024];
} pgr_err;

/* Sets err (if non-NULL) and returns -1, so `return pgr_errf(err, ...)` works. */
int pgr_errf(pgr_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prepends "prefix: " to an existing message (for adding file/place context). */
void pgr_err_prefix(pgr_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pgr_err_clear(pgr_err *err);

/* ---- checked size arithmetic (hostile counts) ---------------------------- */
static inline int pgr_mul_ok(size_t a, size_t b, size_t *out)
{
    return !__builtin_mul_overflow(a, b, out);
}
/* FNV-1a over n bytes: the hash of the in-memory open-addressing tables. */
static inline uint64_t pgr_fnv1a(const void *p, size_t n)
{
    const unsigned char *b = (const unsigned char *)p;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

static inline int pgr_add_ok(size_t a, size_t b, size_t *out)
{
    return !__builtin_add_overflow(a, b, out);
}

/* ---- arena ---------------------------------------------------------------
 * Bump allocator in chunks; everything is freed at once by pgr_arena_free.
 * Allocation failure returns NULL (never aborts). */
typedef struct pgr_arena_chunk pgr_arena_chunk;
typedef struct pgr_arena {
    pgr_arena_chunk *head;
    size_t chunk_size; /* 0 = default 64 KiB */
    size_t total;      /* bytes handed out */
} pgr_arena;

void *pgr_arena_alloc(pgr_arena *a, size_t n);                /* 16-byte aligned, zeroed */
void *pgr_arena_calloc(pgr_arena *a, size_t count, size_t size); /* overflow-checked */
char *pgr_arena_strdup(pgr_arena *a, const char *s);
char *pgr_arena_strndup(pgr_arena *a, const char *s, size_t n);
char *pgr_arena_printf(pgr_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pgr_arena_reset(pgr_arena *a); /* frees all chunks; arena reusable */
void pgr_arena_free(pgr_arena *a);

/* ---- growable string buffer ---------------------------------------------
 * Always NUL-terminated when data != NULL. On allocation failure the buffer
 * sets oom and further appends are no-ops; check pgr_sb_ok() once at the end. */
typedef struct pgr_sb {
    char *data;
    size_t len, cap;
    int oom;
} pgr_sb;

void pgr_sb_append(pgr_sb *sb, const char *s, size_t n);
void pgr_sb_puts(pgr_sb *sb, const char *s);
void pgr_sb_putc(pgr_sb *sb, char c);
void pgr_sb_printf(pgr_sb *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pgr_sb_vprintf(pgr_sb *sb, const char *fmt, va_list ap);
static inline int pgr_sb_ok(const pgr_sb *sb) { return !sb->oom; }
char *pgr_sb_steal(pgr_sb *sb); /* returns a malloc'd string ("" if empty); sb is reset */
void pgr_sb_reset(pgr_sb *sb);  /* len = 0, keeps memory */
void pgr_sb_free(pgr_sb *sb);

/* ---- files ---------------------------------------------------------------- */
/* Reads f to its end into a malloc'd buffer (NUL-terminated, *len excludes it)
 * and closes f, also on error; name is what messages call it. */
int pgr_read_stream(FILE *f, const char *name, char **data, size_t *len, pgr_err *err);
/* Reads a whole file into a malloc'd buffer (NUL-terminated, *len excludes it). */
int pgr_read_file(const char *path, char **data, size_t *len, pgr_err *err);

/* Monotonic clock in microseconds. */
uint64_t pgr_now_us(void);

/* Lowercase hex SHA-256 of a buffer (65 bytes incl. NUL). */
void pgr_sha256_hex(const void *data, size_t len, char out[65]);

#endif
