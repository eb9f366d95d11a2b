/* cmd_import_go.c - `neural_rps import-go FILE.model --out FILE.onnx [--kind policy|value]`:
 * converts an original Go project .model (JSON) policy or value network into our ONNX format
 * (Gemm -> Relu -> Gemm -> Softmax/Sigmoid), written atomically; nothing is written on any error. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "onnx/onnx_net.h"

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
    cli_io io;
    cli_io_init(&io);
    cli_io_arg(&io, "FILE.model", in_path);
    if (!cli_io_output(&io, CMD, "out", out_path)) return nrps_io_free(&io), 2;
    if (!cli_io_check(&io, CMD)) return 2;
    nn_net m;
    if (onnx_net_import_go(in_path, kind, &m) != NRPS_OK) return cli_fail(CMD, "%s", nrps_last_error());
    if (onnx_net_save(out_path, &m, NULL) != NRPS_OK) {
        nn_free(&m);
        return cli_fail(CMD, "%s", nrps_last_error());
    }
    const nn_arch *a = &m.arch;
    printf("%s -> %s: %s network %d-%d-%d (%s, %s), %zu parameters\n", in_path, out_path,
           nn_head_kind_name(a->head[0].kind), a->in, a->layer[0].out, a->layer[1].out, nn_act_name(a->layer[0].act),
           nn_act_name(a->layer[1].act), m.n_params);
    nn_free(&m);
    return 0;
}
