/* bytes.h - the project's little-endian byte codec for binary files (checkpoints, records): a growable
 * write buffer, a bounds-checked read cursor and the FNV-1a 64 checksum. Integers and float32 are stored
 * little-endian whatever the host; nothing here knows about networks or files. Plain data, no globals:
 * thread-safe for distinct buffers. */
#ifndef NRPS_BYTES_H
#define NRPS_BYTES_H

#include <stddef.h>
#include <stdint.h>

/* Write buffer: start from {0} (or with nrps_wbuf_reserve); every put appends, growing p as needed. On an
 * allocation failure `failed` is set and later puts do nothing: check it once at the end. The caller owns p
 * (nrps_wbuf_free). */
typedef struct {
    uint8_t *p;
    size_t len, cap;
    int failed;
} nrps_wbuf;

void nrps_wbuf_reserve(nrps_wbuf *b, size_t cap); /* capacity for at least cap bytes in all */
void nrps_wbuf_raw(nrps_wbuf *b, const void *d, size_t n);
void nrps_wbuf_u32(nrps_wbuf *b, uint32_t v);
void nrps_wbuf_u64(nrps_wbuf *b, uint64_t v);
void nrps_wbuf_f32(nrps_wbuf *b, float f);
void nrps_wbuf_f32s(nrps_wbuf *b, const float *f, size_t n); /* n float32 values */
void nrps_wbuf_free(nrps_wbuf *b);                            /* accepts a zeroed or freed buffer */

/* Read cursor over d[len] (not owned). Reading past the end returns 0 (raw: NULL, f32s: leaves dst as is)
 * and sets `short_read`, which stays set: check it once after a group of reads. */
typedef struct {
    const uint8_t *p;
    size_t len, pos;
    int short_read;
} nrps_rbuf;

nrps_rbuf nrps_rbuf_make(const void *d, size_t len);
const uint8_t *nrps_rbuf_raw(nrps_rbuf *r, size_t n); /* pointer to the next n bytes, then skips them */
uint32_t nrps_rbuf_u32(nrps_rbuf *r);
uint64_t nrps_rbuf_u64(nrps_rbuf *r);
float nrps_rbuf_f32(nrps_rbuf *r);
void nrps_rbuf_f32s(nrps_rbuf *r, float *dst, size_t n);

/* FNV-1a 64 of d[n]. */
uint64_t nrps_fnv1a64(const void *d, size_t n);
/* FNV-1a 64 from another offset basis (nrps_fnv1a64 = basis 1469598103934665603, as the checkpoints have always
 * been hashed; the standard basis is 0xcbf29ce484222325). */
uint64_t nrps_fnv1a64_from(const void *d, size_t n, uint64_t basis);

#endif
