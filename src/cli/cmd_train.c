/* cmd_train.c - `neural_rps train`: AlphaZero-style self-play training of the policy and value networks, or of
 * one two-headed network (src/train/train.h), with checkpoints after every generation and --resume; and
 * `--analyse DIR`, which measures trained networks against the exact solver on positions of held-out self-play
 * games. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/textwrap.h"
#include "backend/backend.h"
#include "cli/cli.h"
#include "search/arena.h"
#include "train/train.h"
#include "util/mpi_dist.h"

static void usage(FILE *f) {
    train_config d = train_config_default();
    char lp[64], lv[64], hp[64], hv[64];
    train_widths_text(&d.layers, lp, sizeof lp);
    train_widths_text(&d.value_layers, lv, sizeof lv);
    train_widths_text(&d.policy_head, hp, sizeof hp);
    train_widths_text(&d.value_head, hv, sizeof hv);
    fprintf(
        f,
        "usage: neural_rps train [--out DIR] [--generations N] [--games N] [--playouts N] [--threads T]\n"
        "                        [--seed S] [--resume] [--mpi] [more flags below]\n"
        "       neural_rps train --analyse DIR [--source DIR] [--positions N] [--seed S] [--playouts N]\n"
        "                        [--json]\n"
        "Self-play training (MCTS with the current nets, Dirichlet noise, temperature for the first plies),\n"
        "policy targets = root visit distributions, value targets = final results, replay window of W\n"
        "generations with identical positions averaged, minibatch AdamW. Checkpoint after every generation.\n"
        "  --out DIR             run folder (default %s): rps_policy.onnx + rps_value.onnx (or\n"
        "                        rps_net.onnx), summary.json, generations/gNNNN/, checkpoint/; one run at a\n"
        "                        time (DIR/.lock: a second run on DIR fails at once)\n"
        "  --generations N       training generations (default %d; with --resume: the new total)\n"
        "  --games N             self-play games per generation (default %ld)\n"
        "  --playouts N          MCTS simulations per self-play move (default %d)\n"
        "  --threads T           self-play and arena threads (default: number of cores)\n"
        "  --seed S              run seed (default %llu); results do not depend on --threads\n"
        "  --resume              continue the run in --out from its last finished generation (its checkpoint\n"
        "                        files must all name the same run and generation)\n"
        "  --mpi                 one run over the processes of an MPI job (mpirun -np N neural_rps train\n"
        "                        --mpi ...): each plays its share of the self-play and evaluation games (by\n"
        "                        game index: the same networks for any N and --threads), rank 0 trains\n"
        "                        and writes everything (docs/distributed.md)\n"
        "Networks (every hidden layer ReLU; LIST = comma-separated widths such as 256,128, or none):\n"
        "  --heads separate|two  separate: a policy net (rps_policy.onnx) and a value net (rps_value.onnx);\n"
        "                        two: one network, shared trunk + two heads (rps_net.onnx); default %s\n"
        "  --layers LIST         hidden widths of the policy net, or the trunk with --heads two (default %s)\n"
        "  --value-layers LIST   hidden widths of the value net, --heads separate (default %s)\n"
        "  --hidden-policy H     = --layers H      --hidden-value H  = --value-layers H\n"
        "  --policy-head LIST    --heads two: policy head's hidden widths before its 9 outputs (default %s)\n"
        "  --value-head LIST     --heads two: value head's hidden widths before its 1 output (default %s)\n"
        "  --policy-weight X     --heads two: loss = X * policy cross-entropy + Y * value loss (default %g)\n"
        "  --value-weight Y      (default %g)\n"
        "Training:\n"
        "  --lr X                AdamW learning rate (default %g)\n"
        "  --lr-final X          linear decay to X at the last generation (default %g; 0 = constant)\n"
        "  --weight-decay X      AdamW weight decay (default %g)\n"
        "  --batch N             minibatch size (default %d)\n"
        "  --epochs N            epochs per generation (default %d)\n"
        "  --window W            replay window in generations (default %d)\n"
        "  --value-loss bce|mse  value loss (default bce)\n"
        "  --encoding hands|board  network input (default hands: DESIGN.md's 81 inputs plus both hands in the\n"
        "                        spare slots; board: DESIGN.md's exactly, as the original project's models)\n"
        "  --c-puct X            PUCT constant (default %g)\n"
        "  --mcts-batch N        leaves per net call (default %d)\n"
        "  --dirichlet-alpha X   root noise alpha (default %g)\n"
        "  --dirichlet-weight X  root noise weight (default %g)\n"
        "  --temperature-plies N plies sampled with temperature 1, then greedy (default %d)\n"
        "  --random-opponents X  share of games where one seat plays uniformly random moves (not recorded;\n"
        "                        default %g = pure self-play)\n"
        "  --eval-games N        games per arena after each generation (vs previous, vs random, raw net vs\n"
        "                        random; default %ld, 0 = none)   --eval-playouts N  (default %d)\n"
        "  --quiet               no per-generation lines on stdout\n"
        "  --backend NAME        backend of self-play, evaluation games and --analyse (default %s:\n"
        "                        the plain-C reference, the same numbers on every machine; native-cpu,\n"
        "                        ort-cpu, ort-cuda, native-cuda, ... as in 'neural_rps benchmark --help')\n"
        "The flags that shape the networks or the training cannot change on --resume (one-line refusal).\n"
        "Analysis (--analyse DIR): plays held-out self-play games (--seed, default 12345; --playouts, default\n"
        "100; noise and temperature as in training) with the nets in --source (default DIR), and on\n"
        "--positions positions (default 2000) with at least two legal cells compares DIR's policy argmax\n"
        "(margin- and result-optimal cells) and value sign with the exact solver; --json: one JSON object.\n"
        "Ctrl-C: the report of the positions analysed so far, exit status 130.\n"
        "DIR holds rps_policy.onnx + rps_value.onnx, or rps_net.onnx.\n",
        d.out_dir, d.generations, d.games, d.playouts, (unsigned long long)d.seed, train_heads_name(d.heads), lp, lv,
        hp, hv, d.policy_weight, d.value_weight, d.lr, d.lr_final, d.weight_decay, d.batch, d.epochs, d.window,
        d.c_puct, d.mcts_batch, d.dirichlet_alpha, d.dirichlet_weight, d.temperature_plies, d.random_share,
        d.eval_games, d.eval_playouts, d.backend);
}

enum {
    O_OUT = 256, O_GEN, O_GAMES, O_PLAYOUTS, O_THREADS, O_SEED, O_RESUME, O_HP, O_HV, O_LR, O_LRF, O_WD, O_BATCH,
    O_EPOCHS, O_WINDOW, O_CPUCT, O_ALPHA, O_WEIGHT, O_TPLIES, O_EGAMES, O_EPLAYOUTS, O_MBATCH, O_VLOSS, O_QUIET,
    O_RANDOM, O_ENCODING, O_ANALYSE, O_SOURCE, O_POSITIONS, O_JSON, O_BACKEND, O_HELP, O_LAYERS, O_VLAYERS, O_HEADS,
    O_PHEAD, O_VHEAD, O_PW, O_VW, O_MPI, O_LAST
};

static void pct(FILE *f, const char *label, long k, long n, double random_share) {
    double lo = 0, hi = 0, p = n > 0 ? (double)k / n : 0;
    arena_wilson(p, n, 1.959964, &lo, &hi);
    fprintf(f, "  %-40s %5ld/%-5ld = %5.1f%%  95%% CI [%.1f, %.1f]", label, k, n, 100 * p, 100 * lo, 100 * hi);
    if (random_share >= 0) fprintf(f, "  (random cell: %.1f%%)", 100 * random_share);
    fputc('\n', f);
}

/* The analysis report on stdout (text, or one JSON object with ac->json). */
static void analyse_print(const train_analyse_config *ac, const train_analysis *r) {
    const char *src = ac->source_dir[0] ? ac->source_dir : ac->nets_dir;
    if (ac->json) {
        double n = (double)r->positions;
        printf("{\"nets\": \"%s\", \"source\": \"%s\", \"seed\": %llu, \"playouts\": %d, \"positions\": %ld, "
               "\"games\": %ld, \"policy_margin_optimal\": %.6f, \"policy_result_optimal\": %.6f, "
               "\"decisive_positions\": %ld, \"decisive_policy_result_optimal\": %.6f, "
               "\"random_margin_optimal\": %.6f, \"random_result_optimal\": %.6f, "
               "\"random_decisive_result_optimal\": %.6f, \"value_sign_accuracy\": %.6f, "
               "\"solver_win_share\": %.6f, \"value_mse\": %.6f, \"seconds\": %.3f",
               ac->nets_dir, src, (unsigned long long)ac->seed, ac->playouts, r->positions, r->games,
               r->policy_margin_opt / n, r->policy_result_opt / n, r->decisive,
               r->decisive > 0 ? (double)r->decisive_result_opt / r->decisive : 0.0, r->random_margin_opt,
               r->random_result_opt, r->random_decisive_result_opt, r->value_correct / n, r->value_win_positions / n,
               r->value_mse, r->seconds);
        if (r->interrupted) printf(", \"interrupted\": true, \"positions_requested\": %ld", ac->positions);
        printf("}\n");
        fflush(stdout);
        return;
    }
    printf("analyse: %s on %ld position%s (>= 2 legal cells) from %ld self-play game%s of %s (seed %llu, %d playout%s), "
           "%.1f s%s\n",
           ac->nets_dir, r->positions, r->positions == 1 ? "" : "s", r->games, r->games == 1 ? "" : "s", src,
           (unsigned long long)ac->seed, ac->playouts, ac->playouts == 1 ? "" : "s", r->seconds,
           r->interrupted ? " (interrupted: the figures cover these positions only)" : "");
    pct(stdout, "policy top cell margin-optimal", r->policy_margin_opt, r->positions, r->random_margin_opt);
    pct(stdout, "policy top cell result-optimal", r->policy_result_opt, r->positions, r->random_result_opt);
    pct(stdout, "  in decisive positions", r->decisive_result_opt, r->decisive, r->random_decisive_result_opt);
    pct(stdout, "value sign = solver result", r->value_correct, r->positions, -1);
    printf("  %-40s %.1f%% of positions\n", "solver: side to move wins",
           100.0 * r->value_win_positions / (double)r->positions);
    printf("  %-40s %.4f\n", "value MSE vs exact result (1/0.5/0)", r->value_mse);
    fflush(stdout);
}

/* --analyse: the report, exit 0; after SIGINT (or another stop signal) what was analysed so far (when anything
 * was), one line on stderr, exit 128+signal like the other commands. */
static int run_analyse(const char *cmd, const train_analyse_config *ac) {
    train_analysis r;
    nrps_install_signal_handlers();
    nrps_status rc = train_analyse(ac, &r);
    if (rc == NRPS_ERR_INTERRUPTED) {
        if (r.positions > 0) analyse_print(ac, &r);
        fprintf(stderr, "neural_rps %s: analyse interrupted (%s) after %ld of %ld positions%s\n", cmd,
                nrps_signal_name(nrps_interrupted ? nrps_interrupted : 2), r.positions, ac->positions,
                r.positions > 0 ? ": the report covers those" : ": nothing to report");
        return nrps_signal_exit_status(130);
    }
    if (rc != NRPS_OK) return cli_fail(cmd, "%s", nrps_last_error());
    analyse_print(ac, &r);
    return 0;
}

static const struct option opts[] = {
    {"out", required_argument, 0, O_OUT},          {"generations", required_argument, 0, O_GEN},
    {"games", required_argument, 0, O_GAMES},      {"playouts", required_argument, 0, O_PLAYOUTS},
    {"threads", required_argument, 0, O_THREADS},  {"seed", required_argument, 0, O_SEED},
    {"resume", no_argument, 0, O_RESUME},          {"hidden-policy", required_argument, 0, O_HP},
    {"hidden-value", required_argument, 0, O_HV},  {"lr", required_argument, 0, O_LR},
    {"lr-final", required_argument, 0, O_LRF},     {"weight-decay", required_argument, 0, O_WD},
    {"batch", required_argument, 0, O_BATCH},      {"epochs", required_argument, 0, O_EPOCHS},
    {"window", required_argument, 0, O_WINDOW},    {"c-puct", required_argument, 0, O_CPUCT},
    {"dirichlet-alpha", required_argument, 0, O_ALPHA}, {"dirichlet-weight", required_argument, 0, O_WEIGHT},
    {"temperature-plies", required_argument, 0, O_TPLIES}, {"eval-games", required_argument, 0, O_EGAMES},
    {"eval-playouts", required_argument, 0, O_EPLAYOUTS}, {"mcts-batch", required_argument, 0, O_MBATCH},
    {"random-opponents", required_argument, 0, O_RANDOM}, {"value-loss", required_argument, 0, O_VLOSS},
    {"quiet", no_argument, 0, O_QUIET},            {"encoding", required_argument, 0, O_ENCODING},
    {"analyse", required_argument, 0, O_ANALYSE},  {"analyze", required_argument, 0, O_ANALYSE},
    {"source", required_argument, 0, O_SOURCE},    {"positions", required_argument, 0, O_POSITIONS},
    {"json", no_argument, 0, O_JSON},              {"help", no_argument, 0, O_HELP},
    {"backend", required_argument, 0, O_BACKEND},  {"layers", required_argument, 0, O_LAYERS},
    {"value-layers", required_argument, 0, O_VLAYERS}, {"heads", required_argument, 0, O_HEADS},
    {"policy-head", required_argument, 0, O_PHEAD}, {"value-head", required_argument, 0, O_VHEAD},
    {"policy-weight", required_argument, 0, O_PW}, {"value-weight", required_argument, 0, O_VW},
    {"mpi", no_argument, 0, O_MPI},                {0, 0, 0, 0}};

static const char *opt_name(int val) {
    for (const struct option *o = opts; o->name; o++)
        if (o->val == val) return o->name;
    return "?";
}

/* Everything parse_flags fills. */
typedef struct {
    train_config cfg;
    train_analyse_config ac;
    int given[O_LAST];
    int resume, analyse, help;
} train_flags;

/* A width list flag into *w; 0 after printing the one-line error. */
static int widths_flag(const char *cmd, int opt, const char *val, train_widths *w) {
    if (train_widths_parse(opt_name(opt), val, w) == NRPS_OK) return 1;
    cli_usage_error(cmd, "%s", nrps_last_error());
    return 0;
}

/* The architecture flags of one option c; returns 1 (handled), 0 (not one of them) or -1 (error printed). */
static int arch_flag(const char *cmd, int c, train_config *cfg) {
    long v;
    double d;
    switch (c) {
    case O_LAYERS: return widths_flag(cmd, c, optarg, &cfg->layers) ? 1 : -1;
    case O_VLAYERS: return widths_flag(cmd, c, optarg, &cfg->value_layers) ? 1 : -1;
    case O_PHEAD: return widths_flag(cmd, c, optarg, &cfg->policy_head) ? 1 : -1;
    case O_VHEAD: return widths_flag(cmd, c, optarg, &cfg->value_head) ? 1 : -1;
    case O_HP:
        if (!cli_long(cmd, "hidden-policy", optarg, 1, TRAIN_WIDTH_MAX, &v)) return -1;
        cfg->layers = (train_widths){1, {(int)v}};
        return 1;
    case O_HV:
        if (!cli_long(cmd, "hidden-value", optarg, 1, TRAIN_WIDTH_MAX, &v)) return -1;
        cfg->value_layers = (train_widths){1, {(int)v}};
        return 1;
    case O_PW: if (!cli_double(cmd, "policy-weight", optarg, 0, 1000, &d)) return -1; cfg->policy_weight = d; return 1;
    case O_VW: if (!cli_double(cmd, "value-weight", optarg, 0, 1000, &d)) return -1; cfg->value_weight = d; return 1;
    case O_HEADS:
        if (train_heads_parse(optarg, &cfg->heads)) return 1;
        cli_usage_error(cmd, "--heads expects separate or two, got '%s'", optarg);
        return -1;
    default: return 0;
    }
}

/* One option c (not an architecture flag) into f; 0 after printing the error. */
static int other_flag(const char *cmd, int c, train_flags *f) {
    train_config *cfg = &f->cfg;
    train_analyse_config *ac = &f->ac;
    long v;
    double d;
    switch (c) {
    case O_OUT:
        if (!optarg[0] || strlen(optarg) >= 900)
            return !cli_usage_error(cmd, "--out expects a folder path, got '%s'", optarg);
        snprintf(cfg->out_dir, sizeof cfg->out_dir, "%s", optarg);
        return 1;
    case O_GEN: if (!cli_long(cmd, "generations", optarg, 1, 100000, &v)) return 0; cfg->generations = (int)v; return 1;
    case O_GAMES: if (!cli_long(cmd, "games", optarg, 1, 10000000, &v)) return 0; cfg->games = v; return 1;
    case O_PLAYOUTS:
        if (!cli_long(cmd, "playouts", optarg, 1, 1000000, &v)) return 0;
        cfg->playouts = ac->playouts = (int)v;
        return 1;
    case O_THREADS: if (!cli_long(cmd, "threads", optarg, 1, 1024, &v)) return 0; cfg->threads = (int)v; return 1;
    case O_SEED:
        if (!cli_long(cmd, "seed", optarg, 0, 0x7fffffffffffffffL, &v)) return 0;
        cfg->seed = ac->seed = (uint64_t)v;
        return 1;
    case O_RESUME: f->resume = 1; return 1;
    case O_LR: if (!cli_double(cmd, "lr", optarg, 1e-9, 10, &d)) return 0; cfg->lr = d; return 1;
    case O_LRF: if (!cli_double(cmd, "lr-final", optarg, 0, 10, &d)) return 0; cfg->lr_final = d; return 1;
    case O_WD: if (!cli_double(cmd, "weight-decay", optarg, 0, 10, &d)) return 0; cfg->weight_decay = d; return 1;
    case O_BATCH: if (!cli_long(cmd, "batch", optarg, 1, 65536, &v)) return 0; cfg->batch = (int)v; return 1;
    case O_EPOCHS: if (!cli_long(cmd, "epochs", optarg, 1, 10000, &v)) return 0; cfg->epochs = (int)v; return 1;
    case O_WINDOW: if (!cli_long(cmd, "window", optarg, 1, 1000, &v)) return 0; cfg->window = (int)v; return 1;
    case O_CPUCT:
        if (!cli_double(cmd, "c-puct", optarg, 1e-6, 1000, &d)) return 0;
        cfg->c_puct = ac->c_puct = d;
        return 1;
    case O_ALPHA:
        if (!cli_double(cmd, "dirichlet-alpha", optarg, 1e-6, 1000, &d)) return 0;
        cfg->dirichlet_alpha = ac->dirichlet_alpha = d;
        return 1;
    case O_WEIGHT:
        if (!cli_double(cmd, "dirichlet-weight", optarg, 0, 1, &d)) return 0;
        cfg->dirichlet_weight = ac->dirichlet_weight = d;
        return 1;
    case O_TPLIES:
        if (!cli_long(cmd, "temperature-plies", optarg, 0, RPS_MAX_PLIES, &v)) return 0;
        cfg->temperature_plies = ac->temperature_plies = (int)v;
        return 1;
    case O_EGAMES: if (!cli_long(cmd, "eval-games", optarg, 0, 10000000, &v)) return 0; cfg->eval_games = v; return 1;
    case O_EPLAYOUTS:
        if (!cli_long(cmd, "eval-playouts", optarg, 1, 1000000, &v)) return 0;
        cfg->eval_playouts = (int)v;
        return 1;
    case O_MBATCH:
        if (!cli_long(cmd, "mcts-batch", optarg, 1, 1024, &v)) return 0;
        cfg->mcts_batch = ac->mcts_batch = (int)v;
        return 1;
    case O_VLOSS:
        if (!strcmp(optarg, "bce")) cfg->value_loss = NN_LOSS_BCE;
        else if (!strcmp(optarg, "mse")) cfg->value_loss = NN_LOSS_MSE;
        else return !cli_usage_error(cmd, "--value-loss expects bce or mse, got '%s'", optarg);
        return 1;
    case O_ENCODING:
        if (!optarg[0] || !rps_encoding_parse(optarg, &cfg->encoding))
            return !cli_usage_error(cmd, "--encoding expects hands or board, got '%s'", optarg);
        return 1;
    case O_RANDOM:
        if (!cli_double(cmd, "random-opponents", optarg, 0, 1, &d)) return 0;
        cfg->random_share = d;
        return 1;
    case O_QUIET: cfg->quiet = 1; return 1;
    case O_MPI: cfg->mpi = 1; return 1;
    case O_ANALYSE:
        if (!optarg[0] || strlen(optarg) >= 900)
            return !cli_usage_error(cmd, "--analyse expects a folder, got '%s'", optarg);
        f->analyse = 1;
        snprintf(ac->nets_dir, sizeof ac->nets_dir, "%s", optarg);
        return 1;
    case O_SOURCE:
        if (!optarg[0] || strlen(optarg) >= 900)
            return !cli_usage_error(cmd, "--source expects a folder, got '%s'", optarg);
        snprintf(ac->source_dir, sizeof ac->source_dir, "%s", optarg);
        return 1;
    case O_POSITIONS: if (!cli_long(cmd, "positions", optarg, 1, 100000000, &v)) return 0; ac->positions = v; return 1;
    case O_JSON: ac->json = 1; return 1;
    case O_BACKEND:
        if (!be_name_known(optarg) || strlen(optarg) >= sizeof cfg->backend) {
            char names[256];
            be_registry_names(names, sizeof names);
            return !cli_usage_error(cmd, "--backend expects one of %s, got '%s'", names, optarg);
        }
        snprintf(cfg->backend, sizeof cfg->backend, "%s", optarg);
        snprintf(ac->backend, sizeof ac->backend, "%s", optarg);
        return 1;
    case O_HELP: f->help = 1; return 1;
    default: return 0;
    }
}

/* argv into f; 0 after printing the error. */
static int parse_flags(const char *cmd, int argc, char **argv, train_flags *f) {
    memset(f, 0, sizeof *f);
    f->cfg = train_config_default();
    int nproc = nrps_cpus_usable();
    f->cfg.threads = nproc > 256 ? 256 : nproc;
    train_analyse_config_default(&f->ac);
    optind = 0;
    for (int c; (c = cli_getopt(cmd, argc, argv, opts)) != -1;) {
        if (c >= 0 && c < O_LAST) f->given[c] = 1;
        int a = arch_flag(cmd, c, &f->cfg);
        if (a < 0 || (a == 0 && !other_flag(cmd, c, f))) return 0;
        if (f->help) return 1;
    }
    if (optind < argc) return !cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (f->given[O_HP] && f->given[O_LAYERS])
        return !cli_usage_error(cmd, "--hidden-policy H is --layers H: give one of them");
    if (f->given[O_HV] && f->given[O_VLAYERS])
        return !cli_usage_error(cmd, "--hidden-value H is --value-layers H: give one of them");
    return 1;
}

/* The first of opts[] that was given, or -1. */
static int first_given(const train_flags *f, const int *list, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (f->given[list[i]]) return list[i];
    return -1;
}

/* Flags that only apply to the other layout of heads are refused. */
static int heads_flags_check(const char *cmd, const train_flags *f, train_heads heads) {
    static const int separate_only[] = {O_VLAYERS, O_HV}, two_only[] = {O_PHEAD, O_VHEAD, O_PW, O_VW};
    int o = heads == TRAIN_HEADS_TWO ? first_given(f, separate_only, 2) : first_given(f, two_only, 4);
    if (o < 0) return 1;
    return !cli_usage_error(cmd, "--%s only applies to --heads %s", opt_name(o),
                            heads == TRAIN_HEADS_TWO ? "separate (a two-headed network has --value-head)" : "two");
}

/* The architecture flags given on --resume must describe the checkpoint's networks. */
static int resume_arch_check(const char *cmd, const train_flags *f, const train_config *st) {
    const train_config *cfg = &f->cfg;
    const struct { int opt; const train_widths *given, *stored; } w[] = {
        {O_LAYERS, &cfg->layers, &st->layers},         {O_HP, &cfg->layers, &st->layers},
        {O_VLAYERS, &cfg->value_layers, &st->value_layers}, {O_HV, &cfg->value_layers, &st->value_layers},
        {O_PHEAD, &cfg->policy_head, &st->policy_head}, {O_VHEAD, &cfg->value_head, &st->value_head}};
    if (f->given[O_HEADS] && cfg->heads != st->heads)
        return !cli_usage_error(cmd, "--heads %s differs from the checkpoint's %s in %s (a resumed run keeps its "
                                "networks)", train_heads_name(cfg->heads), train_heads_name(st->heads), cfg->out_dir);
    for (size_t i = 0; i < sizeof w / sizeof *w; i++) {
        if (!f->given[w[i].opt] || train_widths_equal(w[i].given, w[i].stored)) continue;
        char g[256], s[256];
        train_widths_text(w[i].given, g, sizeof g);
        train_widths_text(w[i].stored, s, sizeof s);
        return !cli_usage_error(cmd,
                                "--%s %s differs from the checkpoint's %s in %s (a resumed run keeps its networks)",
                                opt_name(w[i].opt), g, s, cfg->out_dir);
    }
    return 1;
}

/* --resume: the checkpoint's configuration fills what was not given; flags that shape the training must match
 * it. Returns 0, or the exit status after printing the error (1: no readable checkpoint, 2: a flag). */
static int resume_check(const char *cmd, train_flags *f) {
    train_config st, *cfg = &f->cfg;
    int fin = 0;
    nrps_status rc = train_lock_check(cfg->out_dir); /* another run at work there: say so, not what it is writing */
    if (rc == NRPS_OK) rc = train_checkpoint_peek(cfg->out_dir, &st, &fin);
    if (rc != NRPS_OK) return cli_fail(cmd, "%s", nrps_last_error());
    if (!heads_flags_check(cmd, f, st.heads) || !resume_arch_check(cmd, f, &st)) return 2;
    if (!f->given[O_GEN]) cfg->generations = st.generations;
    if (!f->given[O_EGAMES]) cfg->eval_games = st.eval_games;
    if (!f->given[O_EPLAYOUTS]) cfg->eval_playouts = st.eval_playouts;
    cfg->heads = st.heads; /* for the last line; train_run takes the whole architecture from the checkpoint */
    const struct { int opt; double given, stored; } fixed[] = {
        {O_GAMES, (double)cfg->games, (double)st.games}, {O_PLAYOUTS, cfg->playouts, st.playouts},
        {O_SEED, (double)cfg->seed, (double)st.seed}, {O_LR, cfg->lr, st.lr}, {O_LRF, cfg->lr_final, st.lr_final},
        {O_WD, cfg->weight_decay, st.weight_decay}, {O_BATCH, cfg->batch, st.batch},
        {O_EPOCHS, cfg->epochs, st.epochs}, {O_WINDOW, cfg->window, st.window}, {O_CPUCT, cfg->c_puct, st.c_puct},
        {O_ALPHA, cfg->dirichlet_alpha, st.dirichlet_alpha}, {O_WEIGHT, cfg->dirichlet_weight, st.dirichlet_weight},
        {O_TPLIES, cfg->temperature_plies, st.temperature_plies}, {O_MBATCH, cfg->mcts_batch, st.mcts_batch},
        {O_VLOSS, cfg->value_loss, st.value_loss}, {O_RANDOM, cfg->random_share, st.random_share},
        {O_PW, cfg->policy_weight, st.policy_weight}, {O_VW, cfg->value_weight, st.value_weight}};
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        if (f->given[fixed[i].opt] && fixed[i].given != fixed[i].stored)
            return cli_usage_error(
                cmd, "--%s %g differs from the checkpoint's %g in %s (a resumed run keeps its configuration)",
                opt_name(fixed[i].opt), fixed[i].given, fixed[i].stored, cfg->out_dir);
    if (f->given[O_ENCODING] && cfg->encoding != st.encoding)
        return cli_usage_error(
            cmd, "--encoding %s differs from the checkpoint's %s in %s (a resumed run keeps its configuration)",
            rps_encoding_name(cfg->encoding), rps_encoding_name(st.encoding), cfg->out_dir);
    if (cfg->generations < fin)
        return cli_usage_error(cmd, "--generations %d is below the %d generations already finished in %s",
                               cfg->generations, fin, cfg->out_dir);
    return 0;
}

/* --analyse takes none of the training flags. */
static int analyse_flags_check(const char *cmd, const train_flags *f) {
    static const int train_only[] = {O_OUT, O_GEN, O_GAMES, O_THREADS, O_RESUME, O_HP, O_HV, O_LR, O_LRF, O_WD,
                                     O_BATCH, O_EPOCHS, O_WINDOW, O_EGAMES, O_EPLAYOUTS, O_VLOSS, O_QUIET, O_RANDOM,
                                     O_ENCODING, O_LAYERS, O_VLAYERS, O_HEADS, O_PHEAD, O_VHEAD, O_PW, O_VW,
                                     O_MPI};
    int o = first_given(f, train_only, sizeof train_only / sizeof *train_only);
    return o < 0 || !cli_usage_error(cmd, "--%s does not apply to --analyse", opt_name(o));
}

static int run_train(const char *cmd, train_config *cfg, int resume) {
    cfg->progress = cli_isatty_err();
    nrps_install_signal_handlers();
    int finished = 0;
    double t0 = nrps_now_s();
    nrps_status rc = train_run(cfg, resume, &finished);
    if (rc == NRPS_ERR_INTERRUPTED) {
        if (nrps_dist_rank() == 0) fprintf(stderr, "neural_rps %s: %s\n", cmd, nrps_last_error());
        return nrps_signal_exit_status(130);
    }
    if (rc != NRPS_OK) return cli_fail(cmd, "%s", nrps_last_error());
    if (cfg->quiet || nrps_dist_rank() != 0) return 0;
    char nets[2200];
    if (cfg->heads == TRAIN_HEADS_TWO)
        snprintf(nets, sizeof nets, "network in %s/rps_net.onnx", cfg->out_dir);
    else
        snprintf(nets, sizeof nets, "networks in %s/rps_policy.onnx and %s/rps_value.onnx", cfg->out_dir, cfg->out_dir);
    nrps_wrapf(stdout, 0, 7, "train: %d generation%s finished; %s, summary in %s/summary.json (%.1f s this session)",
               finished, finished == 1 ? "" : "s", nets, cfg->out_dir, nrps_now_s() - t0);
    return 0;
}

/* The command once any MPI job is joined: under --mpi every rank runs it, and the checks' outcomes are agreed
 * (cli_mpi_agree) so that every rank goes on or stops together; only rank 0 reads the run folder. */
static int train_main(const char *cmd, int argc, char **argv) {
    train_flags f;
    int rc = cli_mpi_agree(cmd, parse_flags(cmd, argc, argv, &f) ? 0 : 2);
    if (rc != 0) return rc;
    if (f.help) {
        if (nrps_dist_rank() == 0) usage(stdout);
        return 0;
    }
    if (f.analyse) return analyse_flags_check(cmd, &f) ? run_analyse(cmd, &f.ac) : 2;
    if (f.given[O_SOURCE] || f.given[O_POSITIONS] || f.given[O_JSON])
        return cli_usage_error(cmd, "--source, --positions and --json only apply to --analyse");
    if (f.resume) rc = nrps_dist_rank() == 0 ? resume_check(cmd, &f) : 0;
    else rc = heads_flags_check(cmd, &f, f.cfg.heads) ? 0 : 2;
    if (rc == 0 && train_config_check(&f.cfg) != NRPS_OK) rc = cli_usage_error(cmd, "%s", nrps_last_error());
    if ((rc = cli_mpi_agree(cmd, rc)) != 0) return rc;
    return run_train(cmd, &f.cfg, f.resume);
}

int cmd_train(int argc, char **argv) {
    const char *cmd = argv[0];
    int rc = cli_flag_given(argc, argv, opts, O_MPI) ? cli_mpi_start(cmd) : 0;
    return rc != 0 ? rc : cli_mpi_end(train_main(cmd, argc, argv));
}
