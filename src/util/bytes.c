/* bytes.c - little-endian byte codec and FNV-1a checksum (see bytes.h). */
#include "util/bytes.h"

#include <stdlib.h>
#include <string.h>

void nrps_wbuf_reserve(nrps_wbuf *b, size_t cap) {
    if (b->failed || cap <= b->cap) return;
    uint8_t *p = realloc(b->p, cap);
    if (!p) {
        b->failed = 1;
        return;
    }
    b->p = p;
    b->cap = cap;
}

/* Room for n more bytes; returns where they go, or NULL (failed set). */
static uint8_t *wbuf_room(nrps_wbuf *b, size_t n) {
    if (b->failed) return NULL;
    if (n > SIZE_MAX / 2 - b->len) {
        b->failed = 1;
        return NULL;
    }
    if (b->len + n > b->cap) nrps_wbuf_reserve(b, 2 * (b->len + n) > 64 ? 2 * (b->len + n) : 64);
    if (b->failed) return NULL;
    uint8_t *d = b->p + b->len;
    b->len += n;
    return d;
}

static void put_le(uint8_t *d, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; i++) d[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *d, int bytes) {
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--) v = v << 8 | d[i];
    return v;
}

static uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

void nrps_wbuf_raw(nrps_wbuf *b, const void *d, size_t n) {
    uint8_t *dst = wbuf_room(b, n);
    if (dst && n) memcpy(dst, d, n);
}

void nrps_wbuf_u32(nrps_wbuf *b, uint32_t v) {
    uint8_t *d = wbuf_room(b, 4);
    if (d) put_le(d, v, 4);
}

void nrps_wbuf_u64(nrps_wbuf *b, uint64_t v) {
    uint8_t *d = wbuf_room(b, 8);
    if (d) put_le(d, v, 8);
}

void nrps_wbuf_f32(nrps_wbuf *b, float f) { nrps_wbuf_u32(b, f32_bits(f)); }

void nrps_wbuf_f32s(nrps_wbuf *b, const float *f, size_t n) {
    if (n > SIZE_MAX / 8) {
        b->failed = 1;
        return;
    }
    uint8_t *d = wbuf_room(b, 4 * n);
    if (d)
        for (size_t i = 0; i < n; i++) put_le(d + 4 * i, f32_bits(f[i]), 4);
}

void nrps_wbuf_free(nrps_wbuf *b) {
    if (!b) return;
    free(b->p);
    memset(b, 0, sizeof *b);
}

nrps_rbuf nrps_rbuf_make(const void *d, size_t len) { return (nrps_rbuf){.p = d, .len = len}; }

const uint8_t *nrps_rbuf_raw(nrps_rbuf *r, size_t n) {
    if (r->short_read || n > r->len - r->pos) {
        r->short_read = 1;
        return NULL;
    }
    const uint8_t *d = r->p + r->pos;
    r->pos += n;
    return d;
}

uint32_t nrps_rbuf_u32(nrps_rbuf *r) {
    const uint8_t *d = nrps_rbuf_raw(r, 4);
    return d ? (uint32_t)get_le(d, 4) : 0;
}

uint64_t nrps_rbuf_u64(nrps_rbuf *r) {
    const uint8_t *d = nrps_rbuf_raw(r, 8);
    return d ? get_le(d, 8) : 0;
}

float nrps_rbuf_f32(nrps_rbuf *r) { return bits_f32(nrps_rbuf_u32(r)); }

void nrps_rbuf_f32s(nrps_rbuf *r, float *dst, size_t n) {
    const uint8_t *d = n <= SIZE_MAX / 4 ? nrps_rbuf_raw(r, 4 * n) : NULL;
    if (!d) {
        r->short_read = 1;
        return;
    }
    for (size_t i = 0; i < n; i++) dst[i] = bits_f32((uint32_t)get_le(d + 4 * i, 4));
}

uint64_t nrps_fnv1a64(const void *d, size_t n) { return nrps_fnv1a64_from(d, n, 1469598103934665603ULL); }

uint64_t nrps_fnv1a64_from(const void *d, size_t n, uint64_t basis) {
    const uint8_t *p = d;
    uint64_t h = basis;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}
