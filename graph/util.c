#include "graph/util.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

int pgr_errf(pgr_err *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

void pgr_err_prefix(pgr_err *err, const char *fmt, ...)
{
    if (!err)
        return;
    char prefix[512], old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    pgr_sb sb = {0};
    pgr_sb_printf(&sb, "%s: %s", prefix, old);
    if (pgr_sb_ok(&sb) && sb.data) {
        size_t n = sb.len < sizeof err->msg - 1 ? sb.len : sizeof err->msg - 1;
        memcpy(err->msg, sb.data, n);
        err->msg[n] = '\0';
    }
    pgr_sb_free(&sb);
}

void pgr_err_clear(pgr_err *err)
{
    if (err) {
        err->code = PGR_OK;
        err->msg[0] = '\0';
    }
}

/* ---- arena ---- */
struct pgr_arena_chunk {
    pgr_arena_chunk *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
};

void *pgr_arena_alloc(pgr_arena *a, size_t n)
{
    size_t need = (n + 15) & ~(size_t)15;
    if (need < n)
        return NULL;
    pgr_arena_chunk *c = a->head;
    if (!c || c->size - c->used < need) {
        size_t csize = a->chunk_size ? a->chunk_size : 64 * 1024;
        if (csize < need)
            csize = need;
        size_t bytes;
        if (!pgr_add_ok(sizeof *c, csize, &bytes))
            return NULL;
        c = malloc(bytes);
        if (!c)
            return NULL;
        c->size = csize;
        c->used = 0;
        c->next = a->head;
        a->head = c;
    }
    void *p = c->data + c->used;
    c->used += need;
    a->total += need;
    memset(p, 0, n);
    return p;
}

void *pgr_arena_calloc(pgr_arena *a, size_t count, size_t size)
{
    size_t n;
    if (!pgr_mul_ok(count, size, &n))
        return NULL;
    return pgr_arena_alloc(a, n ? n : 1);
}

char *pgr_arena_strndup(pgr_arena *a, const char *s, size_t n)
{
    if (!s)
        return NULL;
    char *p = pgr_arena_alloc(a, n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *pgr_arena_strdup(pgr_arena *a, const char *s)
{
    return s ? pgr_arena_strndup(a, s, strlen(s)) : NULL;
}

char *pgr_arena_printf(pgr_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *p = pgr_arena_alloc(a, (size_t)n + 1);
    if (!p)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void pgr_arena_reset(pgr_arena *a)
{
    pgr_arena_chunk *c = a->head;
    while (c) {
        pgr_arena_chunk *n = c->next;
        free(c);
        c = n;
    }
    a->head = NULL;
    a->total = 0;
}

void pgr_arena_free(pgr_arena *a) { pgr_arena_reset(a); }

/* ---- string buffer ---- */
static int sb_grow(pgr_sb *sb, size_t extra)
{
    if (sb->oom)
        return -1;
    size_t need;
    if (!pgr_add_ok(sb->len, extra, &need) || !pgr_add_ok(need, 1, &need)) {
        sb->oom = 1;
        return -1;
    }
    if (need <= sb->cap)
        return 0;
    size_t cap = sb->cap ? sb->cap : 64;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    char *p = realloc(sb->data, cap);
    if (!p) {
        sb->oom = 1;
        return -1;
    }
    sb->data = p;
    sb->cap = cap;
    return 0;
}

void pgr_sb_append(pgr_sb *sb, const char *s, size_t n)
{
    if (sb_grow(sb, n) < 0)
        return;
    if (n)
        memcpy(sb->data + sb->len, s, n);
    sb->len += n;
    sb->data[sb->len] = '\0';
}

void pgr_sb_puts(pgr_sb *sb, const char *s) { pgr_sb_append(sb, s, strlen(s)); }
void pgr_sb_putc(pgr_sb *sb, char c) { pgr_sb_append(sb, &c, 1); }

void pgr_sb_vprintf(pgr_sb *sb, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0 || sb_grow(sb, (size_t)n) < 0)
        return;
    vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
    sb->len += (size_t)n;
}

void pgr_sb_printf(pgr_sb *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pgr_sb_vprintf(sb, fmt, ap);
    va_end(ap);
}

char *pgr_sb_steal(pgr_sb *sb)
{
    char *p = sb->data;
    if (!p)
        p = calloc(1, 1);
    sb->data = NULL;
    sb->len = sb->cap = 0;
    sb->oom = 0;
    return p;
}

void pgr_sb_reset(pgr_sb *sb)
{
    sb->len = 0;
    if (sb->data)
        sb->data[0] = '\0';
}

void pgr_sb_free(pgr_sb *sb)
{
    free(sb->data);
    sb->data = NULL;
    sb->len = sb->cap = 0;
    sb->oom = 0;
}

/* ---- files ---- */
int pgr_read_stream(FILE *f, const char *name, char **data, size_t *len, pgr_err *err)
{
    *data = NULL;
    *len = 0;
    pgr_sb sb = {0};
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        pgr_sb_append(&sb, buf, n);
    int rerr = ferror(f);
    fclose(f);
    if (rerr) {
        pgr_sb_free(&sb);
        return pgr_errf(err, PGR_EIO, "%s: read error", name);
    }
    if (!pgr_sb_ok(&sb)) {
        pgr_sb_free(&sb);
        return pgr_errf(err, PGR_ENOMEM, "%s: out of memory reading file", name);
    }
    *len = sb.len;
    *data = pgr_sb_steal(&sb);
    return 0;
}

int pgr_read_file(const char *path, char **data, size_t *len, pgr_err *err)
{
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return pgr_errf(err, PGR_EIO, "%s: %s", path, strerror(errno));
    return pgr_read_stream(f, path, data, len, err);
}

uint64_t pgr_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void pgr_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    out[64] = '\0';
}
