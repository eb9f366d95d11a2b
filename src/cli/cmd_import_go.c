/* cmd_import_go.c - `neural_rps import-go FILE.model --out FILE.onnx [--kind policy|value]`:
 * converts an original Go project .model (JSON) policy or value network into our ONNX format
 * (Gemm -> Relu -> Gemm -> Softmax/Sigmoid), written atomically; nothing is written on any error. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "onnx/onnx_mlp.h"

static const char *CMD = "import-go";

static void usage(FILE *f) {
    fprintf(f, "usage: neural_rps import-go FILE.model --out FILE.onnx [--kind policy|value]\n"
               "Converts an original Go project .model file (single-line JSON) to ONNX.\n"
               "  --out FILE.onnx      where to write the model (atomically; required)\n"
               "  --kind policy|value  override the detection (policy: 'biasesOutput', value: 'biasOutput')\n");
}

int cmd_import_go(int argc, char **argv) {
    static const struct option opts[] = {{"out", required_argument, 0, 'o'},
                                         {"kind", required_argument, 0, 'k'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *out_path = NULL, *kind = NULL;
    int c;
    optind = 0;
    while ((c = cli_getopt(CMD, argc, argv, opts)) != -1) {
        switch (c) {
        case 'o': out_path = optarg; break;
        case 'k':
            if (strcmp(optarg, "policy") != 0 && strcmp(optarg, "value") != 0)
                return cli_usage_error(CMD, "--kind expects 'policy' or 'value', got '%s'", optarg);
            kind = optarg;
            break;
        case 'h': usage(stdout); return 0;
        default: return 2;
        }
    }
    if (optind >= argc) return cli_usage_error(CMD, "missing FILE.model (see 'neural_rps import-go --help')");
    if (optind + 1 < argc) return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind + 1]);
    if (!out_path || !out_path[0]) return cli_usage_error(CMD, "--out FILE.onnx is required");
    const char *in_path = argv[optind];
    mlp m;
    char kind_found[16] = "";
    if (onnx_import_go_model_ex(in_path, kind, &m, kind_found) != NRPS_OK) return cli_fail(CMD, "%s", nrps_last_error());
    onnx_mlp_info info;
    onnx_mlp_info_default(&info, &m);
    snprintf(info.kind, sizeof info.kind, "%s", kind_found);
    if (onnx_mlp_save(out_path, &m, &info) != NRPS_OK) {
        mlp_free(&m);
        return cli_fail(CMD, "%s", nrps_last_error());
    }
    printf("%s -> %s: %s network %d-%d-%d (%s, %s), %zu parameters\n", in_path, out_path, kind_found, m.in, m.hidden,
           m.out, mlp_act_name(m.hidden_act), mlp_act_name(m.out_act), mlp_param_count(m.in, m.hidden, m.out));
    mlp_free(&m);
    return 0;
}
