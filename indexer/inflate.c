/* gzip decompression with an output cap (see inflate.h). */
#include "indexer/inflate.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

int ix_is_gzip(const char *data, size_t len)
{
    return len >= 3 && (unsigned char)data[0] == 0x1f && (unsigned char)data[1] == 0x8b &&
           (unsigned char)data[2] == 0x08;
}

int ix_gunzip(const char *data, size_t len, size_t cap, char **out, size_t *out_len, pgr_err *err)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    char *buf = NULL;
    size_t cap_buf = 0, used = 0;
    int rc = -1, zinit = 0;
    *out = NULL;
    *out_len = 0;
    if (!ix_is_gzip(data, len)) {
        pgr_errf(err, PGR_EINVAL, "offset 0: not gzip data");
        goto cleanup;
    }
    /* 16 + MAX_WBITS: expect a gzip header and trailer (CRC and size checked). */
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
        pgr_errf(err, PGR_ENOMEM, "gzip: cannot initialise zlib");
        goto cleanup;
    }
    zinit = 1;
    size_t in_off = 0;
    for (;;) {
        if (used + 1 >= cap_buf) {
            size_t want = cap_buf ? cap_buf * 2 : (len < SIZE_MAX / 4 ? len * 4 : len) + 4096;
            if (want > cap + 1)
                want = cap + 1;
            if (want <= used + 1) {
                pgr_errf(err, PGR_EINVAL,
                         "offset %zu: gzip data inflates past the %zu-byte limit (bomb?)", in_off,
                         cap);
                goto cleanup;
            }
            char *nb = realloc(buf, want);
            if (!nb) {
                pgr_errf(err, PGR_ENOMEM, "gzip: out of memory at %zu bytes", want);
                goto cleanup;
            }
            buf = nb;
            cap_buf = want;
        }
        size_t in_left = len - in_off;
        zs.next_in = (Bytef *)(data + in_off);
        zs.avail_in = in_left > UINT_MAX ? UINT_MAX : (uInt)in_left;
        size_t out_room = cap_buf - 1 - used;
        zs.next_out = (Bytef *)(buf + used);
        zs.avail_out = out_room > UINT_MAX ? UINT_MAX : (uInt)out_room;
        uInt avail_in0 = zs.avail_in, avail_out0 = zs.avail_out;
        int z = inflate(&zs, Z_NO_FLUSH);
        in_off += avail_in0 - zs.avail_in;
        used += avail_out0 - zs.avail_out;
        if (z == Z_STREAM_END) {
            /* Another member may follow (skip trailing zero padding). */
            while (in_off < len && data[in_off] == 0)
                in_off++;
            if (in_off >= len)
                break;
            if (!ix_is_gzip(data + in_off, len - in_off)) {
                pgr_errf(err, PGR_EINVAL, "offset %zu: garbage after gzip member", in_off);
                goto cleanup;
            }
            inflateReset(&zs);
            continue;
        }
        if (z == Z_BUF_ERROR || z == Z_OK) {
            if (in_off >= len && zs.avail_out != 0) {
                pgr_errf(err, PGR_EINVAL, "offset %zu: gzip data truncated", in_off);
                goto cleanup;
            }
            continue;
        }
        pgr_errf(err, PGR_EINVAL, "offset %zu: corrupt gzip data: %s", in_off,
                 zs.msg ? zs.msg : "inflate failed");
        goto cleanup;
    }
    buf[used] = '\0';
    *out = buf;
    *out_len = used;
    buf = NULL;
    rc = 0;
cleanup:
    if (zinit)
        inflateEnd(&zs);
    free(buf);
    return rc;
}
