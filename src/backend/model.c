/* model.c - be_model: an ONNX model's bytes read once, their SHA-256 and, for the network family, the network
 * (backend.h). Every backend is created from these same bytes. */
#include <stdlib.h>
#include <string.h>

#include "backend/backend_impl.h"

/* ONNX files are protobufs, which cannot exceed 2 GiB (bigger models keep their weights in external data) */
enum { BE_MODEL_MAX_BYTES = 0x7fffffff };

struct be_model {
    char path[512];
    int from_file; /* path names the file the bytes came from (else it is a label) */
    char sha256[65];
    uint8_t *bytes;
    size_t len;
    int has_net;
    nn_net net;
    onnx_net_info info;
    char refusal[512];
};

void be_model_free(be_model *m) {
    if (!m) return;
    free(m->bytes);
    nn_free(&m->net);
    free(m);
}

/* Takes ownership of bytes; reads the network when the graph is in the family. */
static nrps_status model_finish(be_model *m, uint8_t *bytes, size_t len) {
    m->bytes = bytes;
    m->len = len;
    nrps_status st = nrps_sha256_buffer(bytes, len, m->sha256);
    if (st != NRPS_OK) return st;
    st = onnx_net_load_buffer(m->path, bytes, len, &m->net, &m->info);
    if (st == NRPS_OK) {
        m->has_net = 1;
        return NRPS_OK;
    }
    if (st != NRPS_ERR_UNSUPPORTED) return st; /* not ONNX at all, or unreadable */
    snprintf(m->refusal, sizeof m->refusal, "%s", nrps_last_error());
    memset(&m->info, 0, sizeof m->info);
    return NRPS_OK;
}

nrps_status be_model_load(const char *path, be_model **out) {
    *out = NULL;
    be_model *m = calloc(1, sizeof *m);
    if (!m) {
        nrps_set_error("%s: out of memory", path);
        return NRPS_ERR_NOMEM;
    }
    snprintf(m->path, sizeof m->path, "%s", path);
    m->from_file = 1;
    char *data = NULL;
    size_t len = 0;
    nrps_status st = nrps_read_file(path, BE_MODEL_MAX_BYTES, &data, &len);
    if (st == NRPS_OK) st = model_finish(m, (uint8_t *)data, len);
    else free(data);
    if (st != NRPS_OK) {
        be_model_free(m);
        return st;
    }
    *out = m;
    return NRPS_OK;
}

/* A new model named label that takes ownership of bytes (freed on error too). */
static nrps_status model_take(uint8_t *bytes, size_t len, const char *label, be_model **out) {
    *out = NULL;
    be_model *m = calloc(1, sizeof *m);
    if (!m) {
        free(bytes);
        nrps_set_error("%s: out of memory", label);
        return NRPS_ERR_NOMEM;
    }
    snprintf(m->path, sizeof m->path, "%s", label && *label ? label : "model in memory");
    nrps_status st = model_finish(m, bytes, len);
    if (st != NRPS_OK) {
        be_model_free(m);
        return st;
    }
    *out = m;
    return NRPS_OK;
}

nrps_status be_model_from_bytes(const void *data, size_t len, const char *label, be_model **out) {
    *out = NULL;
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) {
        nrps_set_error("%s: out of memory", label);
        return NRPS_ERR_NOMEM;
    }
    memcpy(copy, data, len);
    return model_take(copy, len, label, out);
}

nrps_status be_model_from_net(const nn_net *n, const onnx_net_info *info, const char *label, be_model **out) {
    *out = NULL;
    uint8_t *bytes = NULL;
    size_t len = 0;
    nrps_status st = onnx_net_save_buffer(n, info, &bytes, &len);
    if (st != NRPS_OK) {
        free(bytes);
        return st;
    }
    if ((st = model_take(bytes, len, label, out)) == NRPS_OK && !(*out)->has_net) {
        nrps_set_error("%s: the network's own ONNX does not read back: %s", (*out)->path, (*out)->refusal);
        be_model_free(*out);
        *out = NULL;
        st = NRPS_ERR_FORMAT;
    }
    return st;
}

const char *be_model_path(const be_model *m) { return m->path; }

void be_model_dir(const be_model *m, char *buf, size_t len) {
    if (!len) return;
    buf[0] = 0;
    if (!m->from_file) return;
    const char *slash = strrchr(m->path, '/');
    if (!slash) snprintf(buf, len, ".");
    else snprintf(buf, len, "%.*s", slash == m->path ? 1 : (int)(slash - m->path), m->path);
}
const char *be_model_sha256(const be_model *m) { return m->sha256; }
const void *be_model_bytes(const be_model *m, size_t *len) {
    *len = m->len;
    return m->bytes;
}
const nn_net *be_model_net(const be_model *m) { return m->has_net ? &m->net : NULL; }
const char *be_model_refusal(const be_model *m) { return m->refusal; }
const onnx_net_info *be_model_info(const be_model *m) { return &m->info; }
