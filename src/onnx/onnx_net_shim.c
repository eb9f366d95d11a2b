/* onnx_net_shim.c - TEMPORARY: onnx_net.h on top of the 2-layer reader/writer (onnx_mlp.c), so the callers can
 * move to nn_net before the graph-following implementation (onnx_net.c) lands; removed with onnx_mlp.c. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn/mlp.h"
#include "onnx/onnx_mlp.h"
#include "onnx/onnx_net.h"

static nn_head_kind kind_of(const char *k) {
    return !strcmp(k, "policy") ? NN_HEAD_POLICY : !strcmp(k, "value") ? NN_HEAD_VALUE : NN_HEAD_OTHER;
}

static nrps_status from_mlp(const mlp *m, const char *kind, nn_net *out) {
    int hidden[1] = {m->hidden};
    nn_arch a = nn_arch_mlp(m->in, hidden, 1, (nn_act)m->hidden_act, 0, m->out, (nn_act)m->out_act, kind_of(kind));
    nrps_status st = nn_init(out, &a);
    if (st == NRPS_OK) memcpy(out->params, m->params, out->n_params * sizeof(float));
    return st;
}

static nrps_status to_mlp(const nn_net *n, mlp *m) {
    const nn_arch *a = &n->arch;
    if (a->n_layers != 2 || a->n_heads != 1 || a->layer[0].act == NN_ACT_LEAKY_RELU) {
        nrps_set_error("onnx writer: only 2-layer one-head networks (for now)");
        return NRPS_ERR_UNSUPPORTED;
    }
    nrps_status st = mlp_init(m, a->in, a->layer[0].out, a->layer[1].out, (mlp_act)a->layer[0].act,
                              (mlp_act)a->layer[1].act);
    if (st == NRPS_OK) memcpy(m->params, n->params, n->n_params * sizeof(float));
    return st;
}

void onnx_net_info_default(onnx_net_info *info) {
    memset(info, 0, sizeof *info);
    snprintf(info->input_name, sizeof info->input_name, "input");
    info->opset = 17;
    info->training_games = info->seed = -1;
}

static void info_from(onnx_net_info *info, const onnx_mlp_info *mi, const onnx_mlp_extra *ex) {
    memset(info, 0, sizeof *info);
    snprintf(info->input_name, sizeof info->input_name, "%s", mi->input_name);
    info->opset = mi->opset;
    snprintf(info->producer, sizeof info->producer, "%s", mi->producer);
    snprintf(info->producer_version, sizeof info->producer_version, "%s", mi->producer_version);
    info->training_games = mi->training_games;
    info->seed = mi->seed;
    snprintf(info->input_encoding, sizeof info->input_encoding, "%s", mi->input_encoding);
    info->ir_version = ex->ir_version;
    snprintf(info->graph_name, sizeof info->graph_name, "%s", ex->graph_name);
    snprintf(info->ops, sizeof info->ops, "%s", ex->ops);
    snprintf(info->input_batch, sizeof info->input_batch, "%s", ex->input_batch);
    info->n_meta = ex->n_meta;
    memcpy(info->meta_key, ex->meta_key, sizeof info->meta_key);
    memcpy(info->meta_value, ex->meta_value, sizeof info->meta_value);
}

nrps_status onnx_net_load_buffer(const char *path, const void *data, size_t len, nn_net *out, onnx_net_info *info) {
    mlp m;
    onnx_mlp_info mi;
    onnx_mlp_extra ex;
    memset(out, 0, sizeof *out);
    nrps_status st = onnx_mlp_load_buffer(path, data, len, &m, &mi, &ex);
    if (st != NRPS_OK) return st;
    int game = m.in == 81 && ((m.out == 9 && !strcmp(mi.kind, "policy")) || (m.out == 1 && !strcmp(mi.kind, "value")));
    st = from_mlp(&m, game ? mi.kind : "other", out);
    if (st == NRPS_OK && info) info_from(info, &mi, &ex);
    mlp_free(&m);
    return st;
}

nrps_status onnx_net_load(const char *path, nn_net *out, onnx_net_info *info) {
    char *data = NULL;
    size_t len = 0;
    memset(out, 0, sizeof *out);
    nrps_status st = nrps_read_file(path, (size_t)256 << 20, &data, &len);
    if (st == NRPS_OK) st = onnx_net_load_buffer(path, data, len, out, info);
    free(data);
    return st;
}

static void info_to(const nn_net *n, const onnx_net_info *info, onnx_mlp_info *mi, const mlp *m) {
    onnx_mlp_info_default(mi, m);
    if (info) {
        snprintf(mi->input_name, sizeof mi->input_name, "%s", info->input_name[0] ? info->input_name : "input");
        mi->training_games = info->training_games;
        mi->seed = info->seed;
        snprintf(mi->input_encoding, sizeof mi->input_encoding, "%s", info->input_encoding);
    }
    snprintf(mi->output_name, sizeof mi->output_name, "%s", n->arch.head[0].name);
    snprintf(mi->kind, sizeof mi->kind, "%s", nn_head_kind_name(n->arch.head[0].kind));
}

nrps_status onnx_net_save(const char *path, const nn_net *n, const onnx_net_info *info) {
    mlp m;
    onnx_mlp_info mi;
    nrps_status st = to_mlp(n, &m);
    if (st != NRPS_OK) return st;
    info_to(n, info, &mi, &m);
    st = onnx_mlp_save(path, &m, &mi);
    mlp_free(&m);
    return st;
}

/* Writes n (or, when NULL, the identity graph) into a temp file and reads the bytes back. */
static nrps_status via_temp(const nn_net *n, const onnx_net_info *info, int identity_width, uint8_t **data,
                            size_t *len) {
    const char *td = getenv("TMPDIR");
    char tpath[600];
    snprintf(tpath, sizeof tpath, "%s/nrps_shim_XXXXXX", td && *td ? td : "/tmp");
    int fd = mkstemp(tpath);
    if (fd < 0) {
        nrps_set_error("%s: cannot create a temp file", tpath);
        return NRPS_ERR_IO;
    }
    close(fd);
    nrps_status st = n ? onnx_net_save(tpath, n, info) : onnx_identity_save(tpath, identity_width);
    char *d = NULL;
    if (st == NRPS_OK) st = nrps_read_file(tpath, (size_t)1 << 30, &d, len);
    unlink(tpath);
    *data = (uint8_t *)d;
    return st;
}

nrps_status onnx_net_save_buffer(const nn_net *n, const onnx_net_info *info, uint8_t **data, size_t *len) {
    return via_temp(n, info, 0, data, len);
}

nrps_status onnx_identity_buffer(int n, uint8_t **data, size_t *len) { return via_temp(NULL, NULL, n, data, len); }

nrps_status onnx_net_import_go(const char *path, const char *kind, nn_net *out) {
    mlp m;
    char k[16];
    memset(out, 0, sizeof *out);
    nrps_status st = onnx_import_go_model_ex(path, kind, &m, k);
    if (st == NRPS_OK) st = from_mlp(&m, k, out);
    mlp_free(&m);
    return st;
}

nrps_status onnx_net_import_go_buffer(const char *path, const char *data, size_t len, const char *kind,
                                      nn_net *out) {
    mlp m;
    char k[16];
    memset(out, 0, sizeof *out);
    nrps_status st = onnx_import_go_model_buffer(path, data, len, kind, &m, k);
    if (st == NRPS_OK) st = from_mlp(&m, k, out);
    mlp_free(&m);
    return st;
}
