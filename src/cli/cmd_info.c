/* cmd_info.c - `neural_rps info MODEL.onnx [--json] [--eval POSITIONS [--backend NAME | --engine ref|ort]]`:
 * describes an ONNX network of the family (input/outputs, layers, heads, activations, opset, producer,
 * metadata, parameter count, SHA-256), or evaluates it on positions from a text file (one position per line,
 * `in` whitespace-separated numbers, '#' comments) on any backend (be_create), printing one line per position:
 * every output of every head in order (%.9g). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli/cli.h"
#include "game/game.h"
#include "backend/backend.h"
#include "nn/net.h"

static const char *CMD = "info";

static void usage(FILE *f) {
    fprintf(f,
            "usage: neural_rps info MODEL.onnx [--json]\n"
            "       neural_rps info MODEL.onnx --eval POSITIONS.txt [--backend NAME | --engine ref|ort]\n"
            "Describes an ONNX network (dense layers, one or two heads): input/output names and shapes, layers,\n"
            "heads, activations, opset, producer, metadata, parameter count and SHA-256.\n"
            "  --json             print the description as one JSON object\n"
            "  --eval FILE        evaluate the model on positions (one line of IN numbers each, '#' comments)\n"
            "                     and print one line per position: every head's outputs in order (%%.9g)\n"
            "  --backend NAME     the backend that evaluates (default native-ref); one of:\n");
    for (int i = 0; i < be_registry_count(); i++)
        fprintf(f, "    %-16s %s\n", be_registry_name(i), be_registry_description(i));
    fprintf(f, "  --engine ref|ort   short for --backend native-ref / --backend ort-cpu\n");
}

/* Reads positions: lines of exactly `in` numbers. Returns malloc'd floats and *n rows, or NULL. */
static float *positions_read(const char *path, int in, int *n_out) {
    char *data = NULL;
    size_t len = 0;
    *n_out = 0;
    if (nrps_read_file(path, (size_t)1 << 30, &data, &len) != NRPS_OK) {
        cli_fail(CMD, "%s", nrps_last_error());
        return NULL;
    }
    size_t cap = 64, n = 0;
    float *x = malloc(cap * (size_t)in * sizeof(float));
    int line_no = 0, ok = x != NULL;
    char *save = NULL;
    for (char *line = strtok_r(data, "\n", &save); ok && line; line = strtok_r(NULL, "\n", &save)) {
        line_no++;
        char *hash = strchr(line, '#');
        if (hash) *hash = 0;
        char *p = line;
        while (*p == ' ' || *p == '\t' || *p == '\r') p++;
        if (!*p) continue;
        if (n == cap) {
            cap *= 2;
            float *nx = realloc(x, cap * (size_t)in * sizeof(float));
            if (!nx) {
                ok = 0;
                break;
            }
            x = nx;
        }
        int k = 0;
        char *save2 = NULL;
        for (char *tok = strtok_r(p, " \t\r,", &save2); tok; tok = strtok_r(NULL, " \t\r,", &save2)) {
            double v;
            if (!nrps_parse_double(tok, -1e30, 1e30, &v)) {
                cli_fail(CMD, "%s: line %d: '%s' is not a number", path, line_no, tok);
                ok = 0;
                break;
            }
            if (k < in) x[n * (size_t)in + (size_t)k] = (float)v;
            k++;
        }
        if (ok && k != in) {
            cli_fail(CMD, "%s: line %d has %d number%s, expected %d", path, line_no, k, k == 1 ? "" : "s", in);
            ok = 0;
        }
        n++;
    }
    free(data);
    if (!ok) {
        free(x);
        return NULL;
    }
    if (n == 0) {
        cli_fail(CMD, "%s: no positions found", path);
        free(x);
        return NULL;
    }
    *n_out = (int)n;
    return x;
}

static int eval_run(const be_model *model, const char *backend, const char *pos_path) {
    const nn_net *m = be_model_net(model);
    int n = 0, rc = 1, width = 0;
    float *y = NULL, *x = positions_read(pos_path, m->arch.in, &n);
    be_backend *b = NULL;
    if (!x) return 1;
    be_options o = be_options_default();
    o.max_batch = n;
    if (be_create(backend, model, &o, &b) != NRPS_OK) {
        rc = cli_fail(CMD, "%s", nrps_last_error());
        goto cleanup;
    }
    const be_info *bi = be_get_info(b);
    for (int k = 0; k < bi->n_outputs; k++) width += bi->output[k].width;
    float *outs[BE_MAX_IO];
    if (!(y = malloc((size_t)n * (size_t)width * sizeof(float)))) {
        rc = cli_fail(CMD, "out of memory");
        goto cleanup;
    }
    for (int k = 0, off = 0; k < bi->n_outputs; off += bi->output[k].width * n, k++) outs[k] = y + off;
    if (be_run(b, x, n, outs) != NRPS_OK) {
        rc = cli_fail(CMD, "%s", nrps_last_error());
        goto cleanup;
    }
    for (int r = 0; r < n; r++)
        for (int k = 0; k < bi->n_outputs; k++)
            for (int j = 0; j < bi->output[k].width; j++)
                printf("%.9g%c", outs[k][(size_t)r * bi->output[k].width + j],
                       k + 1 == bi->n_outputs && j + 1 == bi->output[k].width ? '\n' : ' ');
    rc = 0;
cleanup:
    be_destroy(b);
    free(x);
    free(y);
    return rc;
}

/* "relu", or "leaky_relu(0.01)". */
static const char *act_text(const nn_layer_spec *l, char *buf, size_t n) {
    if (l->act != NN_ACT_LEAKY_RELU) return nn_act_name(l->act);
    snprintf(buf, n, "leaky_relu(%g)", (double)l->alpha);
    return buf;
}

static cJSON *layers_json(const nn_arch *a) {
    cJSON *arr = cJSON_CreateArray();
    for (int l = 0; arr && l < a->n_layers; l++) {
        cJSON *o = cJSON_CreateObject();
        char buf[48];
        cJSON_AddNumberToObject(o, "in", nn_layer_in(a, l));
        cJSON_AddNumberToObject(o, "out", a->layer[l].out);
        cJSON_AddStringToObject(o, "activation", act_text(&a->layer[l], buf, sizeof buf));
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

static cJSON *heads_json(const nn_arch *a) {
    cJSON *arr = cJSON_CreateArray();
    for (int h = 0; arr && h < a->n_heads; h++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "output", a->head[h].name);
        cJSON_AddStringToObject(o, "kind", nn_head_kind_name(a->head[h].kind));
        cJSON_AddNumberToObject(o, "size", nn_head_width(a, h));
        cJSON_AddNumberToObject(o, "first_layer", a->head[h].first);
        cJSON_AddNumberToObject(o, "layers", a->head[h].count);
        cJSON_AddStringToObject(o, "final_activation", nn_act_name(nn_head_act(a, h)));
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

/* The kind a one-head net reports ("policy", "value", "unknown"), or "policy+value". */
static const char *kind_text(const nn_arch *a) {
    if (a->n_heads == 2) return "policy+value";
    return a->head[0].kind == NN_HEAD_OTHER ? "unknown" : nn_head_kind_name(a->head[0].kind);
}

static int describe_json(const char *path, const nn_net *m, const onnx_net_info *inf, const char *sha) {
    const nn_arch *a = &m->arch;
    cJSON *o = cJSON_CreateObject();
    if (!o) return cli_fail(CMD, "out of memory");
    cJSON_AddStringToObject(o, "file", path);
    cJSON_AddStringToObject(o, "sha256", sha);
    cJSON_AddStringToObject(o, "producer", inf->producer);
    cJSON_AddStringToObject(o, "producer_version", inf->producer_version);
    cJSON_AddNumberToObject(o, "ir_version", (double)inf->ir_version);
    cJSON_AddNumberToObject(o, "opset", (double)inf->opset);
    cJSON_AddStringToObject(o, "graph", inf->ops);
    cJSON *in = cJSON_AddObjectToObject(o, "input");
    cJSON_AddStringToObject(in, "name", inf->input_name);
    cJSON_AddStringToObject(in, "batch", inf->input_batch[0] ? inf->input_batch : "?");
    cJSON_AddNumberToObject(in, "size", a->in);
    cJSON *out = cJSON_AddObjectToObject(o, "output"); /* the first head */
    cJSON_AddStringToObject(out, "name", a->head[0].name);
    cJSON_AddNumberToObject(out, "size", nn_head_width(a, 0));
    cJSON_AddNumberToObject(o, "input_size", a->in);
    if (a->n_layers == 2 && a->n_heads == 1) cJSON_AddNumberToObject(o, "hidden_size", a->layer[0].out);
    cJSON_AddNumberToObject(o, "output_size", nn_head_width(a, 0));
    char buf[48], arch[256];
    cJSON_AddStringToObject(o, "hidden_activation", a->n_layers > 1 ? act_text(&a->layer[0], buf, sizeof buf) : "none");
    cJSON_AddStringToObject(o, "output_activation", nn_act_name(nn_head_act(a, 0)));
    nn_arch_describe(a, arch, sizeof arch);
    cJSON_AddStringToObject(o, "architecture", arch);
    cJSON_AddItemToObject(o, "layers", layers_json(a));
    cJSON_AddNumberToObject(o, "trunk_layers", a->trunk);
    cJSON_AddItemToObject(o, "heads", heads_json(a));
    cJSON_AddNumberToObject(o, "parameters", (double)m->n_params);
    cJSON_AddStringToObject(o, "kind", kind_text(a));
    cJSON_AddStringToObject(o, "input_encoding", inf->input_encoding[0] ? inf->input_encoding : "board");
    if (inf->training_games >= 0)
        cJSON_AddNumberToObject(o, "training_games", (double)inf->training_games);
    else
        cJSON_AddNullToObject(o, "training_games");
    if (inf->seed >= 0)
        cJSON_AddNumberToObject(o, "seed", (double)inf->seed);
    else
        cJSON_AddNullToObject(o, "seed");
    cJSON *md = cJSON_AddObjectToObject(o, "metadata");
    for (int i = 0; i < inf->n_meta; i++) cJSON_AddStringToObject(md, inf->meta_key[i], inf->meta_value[i]);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!s) return cli_fail(CMD, "out of memory");
    printf("%s\n", s);
    free(s);
    return 0;
}

/* Writes s to stdout with every control character escaped, so that a file's strings (metadata, producer, names)
 * cannot move the cursor, recolour or retitle the terminal, or split a line: \n \r \t, \xNN for the other C0
 * controls and DEL, \\ for a backslash (so the escapes stay unambiguous), \xNN for each byte of an invalid UTF-8
 * sequence and \u00NN for the C1 controls U+0080..U+009F (which some terminals obey like ESC [). */
static void put(const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p;
        if (c == '\\') fputs("\\\\", stdout), p++;
        else if (c == '\n') fputs("\\n", stdout), p++;
        else if (c == '\r') fputs("\\r", stdout), p++;
        else if (c == '\t') fputs("\\t", stdout), p++;
        else if (c < 0x20 || c == 0x7f) printf("\\x%02x", c), p++;
        else if (c < 0x80) putchar((int)c), p++;
        else {
            /* a well-formed UTF-8 sequence (no overlongs, surrogates or code points above U+10FFFF) */
            int n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
            int good = n > 0;
            for (int k = 1; good && k < n; k++) good = (p[k] & 0xc0) == 0x80;
            if (good && n == 3 && ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f))) good = 0;
            if (good && n == 4 && ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f))) good = 0;
            if (!good) printf("\\x%02x", c), p++;
            else if (n == 2 && c == 0xc2 && p[1] <= 0x9f) printf("\\u%04x", (unsigned)p[1]), p += 2; /* C1 */
            else fwrite(p, 1, (size_t)n, stdout), p += n;
        }
    }
}

static void print_layers(const nn_arch *a, int first, int count) {
    for (int l = first; l < first + count; l++) {
        char buf[48];
        printf("%s%d (%s)", l == first ? "" : " -> ", a->layer[l].out, act_text(&a->layer[l], buf, sizeof buf));
    }
}

/* The text description; every string that comes from the file (or its name) goes through put(). */
static void describe_text(const char *path, const nn_net *m, const onnx_net_info *inf, const char *sha) {
    const nn_arch *a = &m->arch;
    const char *batch = inf->input_batch[0] ? inf->input_batch : "?";
    printf("file:        "), put(path), printf("\n");
    printf("sha256:      %s\n", sha);
    printf("producer:    "), put(inf->producer[0] ? inf->producer : "(none)"), printf(" "), put(inf->producer_version);
    printf("\n");
    printf("format:      ONNX IR %lld, opset %lld\n", inf->ir_version, inf->opset);
    printf("graph:       "), put(inf->ops), printf("\n");
    printf("input:       '"), put(inf->input_name), printf("' float32 ["), put(batch), printf(", %d]\n", a->in);
    for (int h = 0; h < a->n_heads; h++) {
        printf("output:      '"), put(a->head[h].name), printf("' float32 ["), put(batch);
        printf(", %d]\n", nn_head_width(a, h));
    }
    if (a->trunk > 0) {
        printf("trunk:       %d -> ", a->in);
        print_layers(a, 0, a->trunk);
        printf("\n");
    }
    for (int h = 0; h < a->n_heads; h++) {
        if (a->n_heads == 1) printf("layers:      %d -> ", a->in);
        else {
            size_t nl = strlen(a->head[h].name); /* "head %-7s %s: " with the name escaped */
            printf("head "), put(a->head[h].name);
            printf("%*s %s: ", nl < 7 ? (int)(7 - nl) : 0, "", nn_head_kind_name(a->head[h].kind));
        }
        print_layers(a, a->head[h].first, a->head[h].count);
        printf("\n");
    }
    printf("parameters:  %zu\n", m->n_params);
    printf("kind:        %s\n", kind_text(a));
    rps_encoding enc;
    if (!rps_encoding_parse(inf->input_encoding, &enc))
        printf("encoding:    unknown '"), put(inf->input_encoding), printf("' (arena, play and benchmark refuse this file)\n");
    else if (enc == RPS_ENC_HANDS)
        printf("encoding:    hands (DESIGN.md section 2 plus both hands in the b+8 slots)\n");
    else
        printf("encoding:    board (DESIGN.md section 2%s)\n", inf->input_encoding[0] ? "" : "; no input_encoding metadata");
    printf("metadata:   ");
    if (!inf->n_meta) printf(" (none)");
    for (int i = 0; i < inf->n_meta; i++) printf(" "), put(inf->meta_key[i]), printf("="), put(inf->meta_value[i]);
    printf("\n");
}

int cmd_info(int argc, char **argv) {
    static const struct option opts[] = {{"json", no_argument, 0, 'j'},
                                         {"eval", required_argument, 0, 'e'},
                                         {"engine", required_argument, 0, 'g'},
                                         {"backend", required_argument, 0, 'b'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int json = 0, c;
    const char *eval_path = NULL, *backend = "native-ref";
    optind = 0;
    while ((c = cli_getopt(CMD, argc, argv, opts)) != -1) {
        switch (c) {
        case 'j': json = 1; break;
        case 'e': eval_path = optarg; break;
        case 'g':
            if (strcmp(optarg, "ref") == 0)
                backend = "native-ref";
            else if (strcmp(optarg, "ort") == 0)
                backend = "ort-cpu";
            else
                return cli_usage_error(CMD, "--engine expects 'ref' or 'ort', got '%s'", optarg);
            break;
        case 'b':
            if (!be_name_known(optarg)) {
                char names[256];
                be_registry_names(names, sizeof names);
                return cli_usage_error(CMD, "--backend expects one of %s, got '%s'", names, optarg);
            }
            backend = optarg;
            break;
        case 'h': usage(stdout); return 0;
        default: return 2;
        }
    }
    if (optind >= argc) return cli_usage_error(CMD, "missing MODEL.onnx (see 'neural_rps info --help')");
    if (optind + 1 < argc) return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind + 1]);
    if (json && eval_path) return cli_usage_error(CMD, "--json and --eval cannot be combined");
    const char *path = argv[optind];
    be_model *model = NULL;
    if (be_model_load(path, &model) != NRPS_OK) return cli_fail(CMD, "%s", nrps_last_error());
    const nn_net *m = be_model_net(model);
    int rc;
    if (!m) rc = cli_fail(CMD, "%s", be_model_refusal(model));
    else if (eval_path) rc = eval_run(model, backend, eval_path);
    else if (json) rc = describe_json(path, m, be_model_info(model), be_model_sha256(model));
    else {
        describe_text(path, m, be_model_info(model), be_model_sha256(model));
        rc = 0;
    }
    be_model_free(model);
    return rc;
}
