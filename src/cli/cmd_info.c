/* cmd_info.c - `neural_rps info MODEL.onnx [--json] [--eval POSITIONS [--engine ref|ort]]`:
 * describes an ONNX MLP (inputs/outputs, layer sizes, activations, opset, producer, metadata,
 * parameter count, SHA-256), or evaluates it on positions from a text file (one position per line,
 * `in` whitespace-separated numbers, '#' comments) with our reader + reference forward (ref) or with
 * ONNX Runtime on the raw file (ort), printing one line of outputs (%.9g) per position. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli/cli.h"
#include "game/game.h"
#include "onnx/onnx_mlp.h"

static const char *CMD = "info";

static void usage(FILE *f) {
    fprintf(f,
            "usage: neural_rps info MODEL.onnx [--json]\n"
            "       neural_rps info MODEL.onnx --eval POSITIONS.txt [--engine ref|ort]\n"
            "Describes an ONNX policy/value MLP: input/output names and shapes, layer sizes, activations,\n"
            "opset, producer, metadata, parameter count and SHA-256.\n"
            "  --json             print the description as one JSON object\n"
            "  --eval FILE        evaluate the model on positions (one line of IN numbers each, '#' comments)\n"
            "                     and print one line of outputs per position (%%.9g)\n"
            "  --engine ref|ort   ref: our ONNX reader + plain-C reference forward (default);\n"
            "                     ort: ONNX Runtime (CPU) on the file itself\n");
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
            cli_fail(CMD, "%s: line %d has %d numbers, expected %d", path, line_no, k, in);
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

static int eval_run(const char *model_path, const mlp *m, const char *pos_path, int use_ort) {
    int n = 0, rc = 1;
    float *y = NULL, *x = positions_read(pos_path, m->in, &n);
    if (!x) return 1;
    y = malloc((size_t)n * (size_t)m->out * sizeof(float));
    if (!y) {
        rc = cli_fail(CMD, "out of memory");
        goto cleanup;
    }
    nrps_status st = use_ort ? onnx_ort_eval(model_path, x, n, m->in, y, m->out) : mlp_forward(m, x, n, y, NULL);
    if (st != NRPS_OK) {
        rc = cli_fail(CMD, "%s", nrps_last_error());
        goto cleanup;
    }
    for (int b = 0; b < n; b++)
        for (int k = 0; k < m->out; k++)
            printf("%.9g%c", y[(size_t)b * m->out + k], k + 1 == m->out ? '\n' : ' ');
    rc = 0;
cleanup:
    free(x);
    free(y);
    return rc;
}

static int describe_json(const char *path, const mlp *m, const onnx_mlp_info *inf, const onnx_mlp_extra *ex,
                         const char *sha) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return cli_fail(CMD, "out of memory");
    cJSON_AddStringToObject(o, "file", path);
    cJSON_AddStringToObject(o, "sha256", sha);
    cJSON_AddStringToObject(o, "producer", inf->producer);
    cJSON_AddStringToObject(o, "producer_version", inf->producer_version);
    cJSON_AddNumberToObject(o, "ir_version", (double)ex->ir_version);
    cJSON_AddNumberToObject(o, "opset", (double)inf->opset);
    cJSON_AddStringToObject(o, "graph", ex->ops);
    cJSON *in = cJSON_AddObjectToObject(o, "input");
    cJSON_AddStringToObject(in, "name", inf->input_name);
    cJSON_AddStringToObject(in, "batch", ex->input_batch[0] ? ex->input_batch : "?");
    cJSON_AddNumberToObject(in, "size", m->in);
    cJSON *out = cJSON_AddObjectToObject(o, "output");
    cJSON_AddStringToObject(out, "name", inf->output_name);
    cJSON_AddNumberToObject(out, "size", m->out);
    cJSON_AddNumberToObject(o, "input_size", m->in);
    cJSON_AddNumberToObject(o, "hidden_size", m->hidden);
    cJSON_AddNumberToObject(o, "output_size", m->out);
    cJSON_AddStringToObject(o, "hidden_activation", mlp_act_name(m->hidden_act));
    cJSON_AddStringToObject(o, "output_activation", mlp_act_name(m->out_act));
    cJSON_AddNumberToObject(o, "parameters", (double)mlp_param_count(m->in, m->hidden, m->out));
    cJSON_AddStringToObject(o, "kind", inf->kind[0] ? inf->kind : "unknown");
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
    for (int i = 0; i < ex->n_meta; i++) cJSON_AddStringToObject(md, ex->meta_key[i], ex->meta_value[i]);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!s) return cli_fail(CMD, "out of memory");
    printf("%s\n", s);
    free(s);
    return 0;
}

static void describe_text(const char *path, const mlp *m, const onnx_mlp_info *inf, const onnx_mlp_extra *ex,
                          const char *sha) {
    const char *batch = ex->input_batch[0] ? ex->input_batch : "?";
    printf("file:        %s\n", path);
    printf("sha256:      %s\n", sha);
    printf("producer:    %s %s\n", inf->producer[0] ? inf->producer : "(none)", inf->producer_version);
    printf("format:      ONNX IR %lld, opset %lld\n", ex->ir_version, inf->opset);
    printf("graph:       %s\n", ex->ops);
    printf("input:       '%s' float32 [%s, %d]\n", inf->input_name, batch, m->in);
    printf("output:      '%s' float32 [%s, %d]\n", inf->output_name, batch, m->out);
    printf("layers:      %d -> %d (%s) -> %d (%s)\n", m->in, m->hidden, mlp_act_name(m->hidden_act), m->out,
           mlp_act_name(m->out_act));
    printf("parameters:  %zu\n", mlp_param_count(m->in, m->hidden, m->out));
    printf("kind:        %s\n", inf->kind[0] ? inf->kind : "unknown");
    rps_encoding enc;
    if (!rps_encoding_parse(inf->input_encoding, &enc))
        printf("encoding:    unknown '%s' (arena, play and benchmark refuse this file)\n", inf->input_encoding);
    else if (enc == RPS_ENC_HANDS)
        printf("encoding:    hands (DESIGN.md section 2 plus both hands in the b+8 slots)\n");
    else
        printf("encoding:    board (DESIGN.md section 2%s)\n", inf->input_encoding[0] ? "" : "; no input_encoding metadata");
    printf("metadata:   ");
    if (!ex->n_meta) printf(" (none)");
    for (int i = 0; i < ex->n_meta; i++) printf(" %s=%s", ex->meta_key[i], ex->meta_value[i]);
    printf("\n");
}

int cmd_info(int argc, char **argv) {
    static const struct option opts[] = {{"json", no_argument, 0, 'j'},
                                         {"eval", required_argument, 0, 'e'},
                                         {"engine", required_argument, 0, 'g'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int json = 0, use_ort = 0, c;
    const char *eval_path = NULL;
    optind = 0;
    while ((c = cli_getopt(CMD, argc, argv, opts)) != -1) {
        switch (c) {
        case 'j': json = 1; break;
        case 'e': eval_path = optarg; break;
        case 'g':
            if (strcmp(optarg, "ref") == 0)
                use_ort = 0;
            else if (strcmp(optarg, "ort") == 0)
                use_ort = 1;
            else
                return cli_usage_error(CMD, "--engine expects 'ref' or 'ort', got '%s'", optarg);
            break;
        case 'h': usage(stdout); return 0;
        default: return 2;
        }
    }
    if (optind >= argc) return cli_usage_error(CMD, "missing MODEL.onnx (see 'neural_rps info --help')");
    if (optind + 1 < argc) return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind + 1]);
    if (json && eval_path) return cli_usage_error(CMD, "--json and --eval cannot be combined");
    const char *path = argv[optind];
    mlp m;
    onnx_mlp_info inf;
    onnx_mlp_extra ex;
    if (onnx_mlp_load_ex(path, &m, &inf, &ex) != NRPS_OK) return cli_fail(CMD, "%s", nrps_last_error());
    int rc;
    if (eval_path) {
        rc = eval_run(path, &m, eval_path, use_ort);
    } else {
        char sha[65];
        if (nrps_sha256_file(path, sha) != NRPS_OK) {
            mlp_free(&m);
            return cli_fail(CMD, "%s", nrps_last_error());
        }
        if (json)
            rc = describe_json(path, &m, &inf, &ex, sha);
        else {
            describe_text(path, &m, &inf, &ex, sha);
            rc = 0;
        }
    }
    mlp_free(&m);
    return rc;
}
