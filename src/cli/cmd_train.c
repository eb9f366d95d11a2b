/* cmd_train.c - `neural_rps train`: AlphaZero-style self-play training of the policy and value networks
 * (src/train/train.h), with checkpoints after every generation and --resume; and `--analyse DIR`, which
 * measures a trained pair against the exact solver on positions of held-out self-play games. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/backend.h"
#include "cli/cli.h"
#include "search/arena.h"
#include "train/train.h"

static void usage(FILE *f) {
    train_config d = train_config_default();
    fprintf(f,
            "usage: neural_rps train [--out DIR] [--generations N] [--games N] [--playouts N] [--threads T]\n"
            "                        [--seed S] [--resume] [more flags below]\n"
            "       neural_rps train --analyse DIR [--source DIR] [--positions N] [--seed S] [--playouts N] [--json]\n"
            "Self-play training (MCTS with the current nets, Dirichlet noise, temperature for the first plies),\n"
            "policy targets = root visit distributions, value targets = final results, replay window of W\n"
            "generations with identical positions averaged, minibatch AdamW. Checkpoint after every generation.\n"
            "  --out DIR             run folder (default %s): rps_policy.onnx, rps_value.onnx, summary.json,\n"
            "                        generations/gNNNN/, checkpoint/\n"
            "  --generations N       training generations (default %d; with --resume: the new total)\n"
            "  --games N             self-play games per generation (default %ld)\n"
            "  --playouts N          MCTS simulations per self-play move (default %d)\n"
            "  --threads T           self-play and arena threads (default: number of cores)\n"
            "  --seed S              run seed (default %llu); results do not depend on --threads\n"
            "  --resume              continue the run in --out from its last finished generation\n"
            "  --hidden-policy H     policy hidden size (default %d)     --hidden-value H  value hidden size (default %d)\n"
            "  --lr X                AdamW learning rate (default %g)    --lr-final X  linear decay to X at the last\n"
            "                        generation (default %g; 0 = constant)  --weight-decay X  (default %g)\n"
            "  --batch N             minibatch size (default %d)         --epochs N  epochs per generation (default %d)\n"
            "  --window W            replay window in generations (default %d)\n"
            "  --value-loss bce|mse  value loss (default bce)\n"
            "  --encoding hands|board  network input (default hands: DESIGN.md's 81 inputs plus both hands in the\n"
            "                        spare slots; board: DESIGN.md's exactly, as the original project's models)\n"
            "  --c-puct X            PUCT constant (default %g)          --mcts-batch N  leaves per net call (default %d)\n"
            "  --dirichlet-alpha X   root noise alpha (default %g)      --dirichlet-weight X  noise weight (default %g)\n"
            "  --temperature-plies N plies sampled with temperature 1, then greedy (default %d)\n"
            "  --random-opponents X  share of games where one seat plays uniformly random moves (not recorded;\n"
            "                        default %g = pure self-play)\n"
            "  --eval-games N        games per arena after each generation (vs previous, vs random, raw net vs\n"
            "                        random; default %ld, 0 = none)   --eval-playouts N  (default %d)\n"
            "  --quiet               no per-generation lines on stdout\n"
            "  --backend NAME        backend of self-play, evaluation games and --analyse (default %s: the\n"
            "                        plain-C reference, the same numbers on every machine; native-cpu, ort-cpu,\n"
            "                        ort-cuda, native-cuda, ... as in 'neural_rps benchmark --help')\n"
            "Analysis (--analyse DIR): plays held-out self-play games (--seed, default 12345; --playouts, default\n"
            "100; noise and temperature as in training) with the nets in --source (default DIR), and on\n"
            "--positions positions (default 2000) with at least two legal cells compares DIR's policy argmax\n"
            "(margin- and result-optimal cells) and value sign with the exact solver; --json: one JSON object.\n",
            d.out_dir, d.generations, d.games, d.playouts, (unsigned long long)d.seed, d.hidden_policy,
            d.hidden_value, d.lr, d.lr_final, d.weight_decay, d.batch, d.epochs, d.window, d.c_puct, d.mcts_batch,
            d.dirichlet_alpha, d.dirichlet_weight, d.temperature_plies, d.random_share, d.eval_games, d.eval_playouts,
            d.backend);
}

enum {
    O_OUT = 256, O_GEN, O_GAMES, O_PLAYOUTS, O_THREADS, O_SEED, O_RESUME, O_HP, O_HV, O_LR, O_LRF, O_WD, O_BATCH,
    O_EPOCHS, O_WINDOW, O_CPUCT, O_ALPHA, O_WEIGHT, O_TPLIES, O_EGAMES, O_EPLAYOUTS, O_MBATCH, O_VLOSS, O_QUIET,
    O_RANDOM, O_ENCODING, O_ANALYSE, O_SOURCE, O_POSITIONS, O_JSON, O_BACKEND, O_HELP, O_LAST
};

static void pct(FILE *f, const char *label, long k, long n, double random_share) {
    double lo = 0, hi = 0, p = n > 0 ? (double)k / n : 0;
    arena_wilson(p, n, 1.959964, &lo, &hi);
    fprintf(f, "  %-40s %5ld/%-5ld = %5.1f%%  95%% CI [%.1f, %.1f]", label, k, n, 100 * p, 100 * lo, 100 * hi);
    if (random_share >= 0) fprintf(f, "  (random cell: %.1f%%)", 100 * random_share);
    fputc('\n', f);
}

static int run_analyse(const char *cmd, const train_analyse_config *ac) {
    train_analysis r;
    nrps_install_sigint_handler();
    nrps_status rc = train_analyse(ac, &r);
    if (rc != NRPS_OK) return cli_fail(cmd, "%s", nrps_last_error());
    const char *src = ac->source_dir[0] ? ac->source_dir : ac->nets_dir;
    if (ac->json) {
        double n = (double)r.positions;
        printf("{\"nets\": \"%s\", \"source\": \"%s\", \"seed\": %llu, \"playouts\": %d, \"positions\": %ld, "
               "\"games\": %ld, \"policy_margin_optimal\": %.6f, \"policy_result_optimal\": %.6f, "
               "\"decisive_positions\": %ld, \"decisive_policy_result_optimal\": %.6f, "
               "\"random_margin_optimal\": %.6f, \"random_result_optimal\": %.6f, "
               "\"random_decisive_result_optimal\": %.6f, \"value_sign_accuracy\": %.6f, "
               "\"solver_win_share\": %.6f, \"value_mse\": %.6f, \"seconds\": %.3f}\n",
               ac->nets_dir, src, (unsigned long long)ac->seed, ac->playouts, r.positions, r.games,
               r.policy_margin_opt / n, r.policy_result_opt / n, r.decisive,
               r.decisive > 0 ? (double)r.decisive_result_opt / r.decisive : 0.0, r.random_margin_opt,
               r.random_result_opt, r.random_decisive_result_opt, r.value_correct / n, r.value_win_positions / n,
               r.value_mse, r.seconds);
        return 0;
    }
    printf("analyse: %s on %ld positions (>= 2 legal cells) from %ld self-play games of %s (seed %llu, %d playouts), %.1f s\n",
           ac->nets_dir, r.positions, r.games, src, (unsigned long long)ac->seed, ac->playouts, r.seconds);
    pct(stdout, "policy top cell margin-optimal", r.policy_margin_opt, r.positions, r.random_margin_opt);
    pct(stdout, "policy top cell result-optimal", r.policy_result_opt, r.positions, r.random_result_opt);
    pct(stdout, "  in decisive positions", r.decisive_result_opt, r.decisive, r.random_decisive_result_opt);
    pct(stdout, "value sign = solver result", r.value_correct, r.positions, -1);
    printf("  %-40s %.1f%% of positions\n", "solver: side to move wins", 100.0 * r.value_win_positions / (double)r.positions);
    printf("  %-40s %.4f\n", "value MSE vs exact result (1/0.5/0)", r.value_mse);
    return 0;
}

int cmd_train(int argc, char **argv) {
    const char *cmd = argv[0];
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
        {"random-opponents", required_argument, 0, O_RANDOM}, {"value-loss", required_argument, 0, O_VLOSS}, {"quiet", no_argument, 0, O_QUIET},
        {"encoding", required_argument, 0, O_ENCODING},
        {"analyse", required_argument, 0, O_ANALYSE},  {"analyze", required_argument, 0, O_ANALYSE},
        {"source", required_argument, 0, O_SOURCE},    {"positions", required_argument, 0, O_POSITIONS},
        {"json", no_argument, 0, O_JSON},              {"help", no_argument, 0, O_HELP},
        {"backend", required_argument, 0, O_BACKEND},
        {0, 0, 0, 0}};
    train_config cfg = train_config_default();
    long nproc = sysconf(_SC_NPROCESSORS_ONLN);
    cfg.threads = nproc >= 1 ? (nproc > 256 ? 256 : (int)nproc) : 1;
    train_analyse_config ac;
    train_analyse_config_default(&ac);
    int given[O_LAST] = {0};
    int resume = 0, analyse = 0;
    long v;
    double d;
    optind = 0;
    for (int c; (c = cli_getopt(cmd, argc, argv, opts)) != -1;) {
        if (c >= 0 && c < O_LAST) given[c] = 1;
        switch (c) {
        case O_OUT:
            if (!optarg[0] || strlen(optarg) >= 900) return cli_usage_error(cmd, "--out expects a folder path, got '%s'", optarg);
            snprintf(cfg.out_dir, sizeof cfg.out_dir, "%s", optarg);
            break;
        case O_GEN: if (!cli_long(cmd, "generations", optarg, 1, 100000, &v)) return 2; cfg.generations = (int)v; break;
        case O_GAMES: if (!cli_long(cmd, "games", optarg, 1, 10000000, &v)) return 2; cfg.games = v; break;
        case O_PLAYOUTS: if (!cli_long(cmd, "playouts", optarg, 1, 1000000, &v)) return 2; cfg.playouts = ac.playouts = (int)v; break;
        case O_THREADS: if (!cli_long(cmd, "threads", optarg, 1, 1024, &v)) return 2; cfg.threads = (int)v; break;
        case O_SEED: if (!cli_long(cmd, "seed", optarg, 0, 0x7fffffffffffffffL, &v)) return 2; cfg.seed = ac.seed = (uint64_t)v; break;
        case O_RESUME: resume = 1; break;
        case O_HP: if (!cli_long(cmd, "hidden-policy", optarg, 1, 65536, &v)) return 2; cfg.hidden_policy = (int)v; break;
        case O_HV: if (!cli_long(cmd, "hidden-value", optarg, 1, 65536, &v)) return 2; cfg.hidden_value = (int)v; break;
        case O_LR: if (!cli_double(cmd, "lr", optarg, 1e-9, 10, &d)) return 2; cfg.lr = d; break;
        case O_LRF: if (!cli_double(cmd, "lr-final", optarg, 0, 10, &d)) return 2; cfg.lr_final = d; break;
        case O_WD: if (!cli_double(cmd, "weight-decay", optarg, 0, 10, &d)) return 2; cfg.weight_decay = d; break;
        case O_BATCH: if (!cli_long(cmd, "batch", optarg, 1, 65536, &v)) return 2; cfg.batch = (int)v; break;
        case O_EPOCHS: if (!cli_long(cmd, "epochs", optarg, 1, 10000, &v)) return 2; cfg.epochs = (int)v; break;
        case O_WINDOW: if (!cli_long(cmd, "window", optarg, 1, 1000, &v)) return 2; cfg.window = (int)v; break;
        case O_CPUCT: if (!cli_double(cmd, "c-puct", optarg, 1e-6, 1000, &d)) return 2; cfg.c_puct = ac.c_puct = d; break;
        case O_ALPHA: if (!cli_double(cmd, "dirichlet-alpha", optarg, 1e-6, 1000, &d)) return 2; cfg.dirichlet_alpha = ac.dirichlet_alpha = d; break;
        case O_WEIGHT: if (!cli_double(cmd, "dirichlet-weight", optarg, 0, 1, &d)) return 2; cfg.dirichlet_weight = ac.dirichlet_weight = d; break;
        case O_TPLIES: if (!cli_long(cmd, "temperature-plies", optarg, 0, RPS_MAX_PLIES, &v)) return 2; cfg.temperature_plies = ac.temperature_plies = (int)v; break;
        case O_EGAMES: if (!cli_long(cmd, "eval-games", optarg, 0, 10000000, &v)) return 2; cfg.eval_games = v; break;
        case O_EPLAYOUTS: if (!cli_long(cmd, "eval-playouts", optarg, 1, 1000000, &v)) return 2; cfg.eval_playouts = (int)v; break;
        case O_MBATCH: if (!cli_long(cmd, "mcts-batch", optarg, 1, 1024, &v)) return 2; cfg.mcts_batch = ac.mcts_batch = (int)v; break;
        case O_VLOSS:
            if (!strcmp(optarg, "bce")) cfg.value_loss = MLP_LOSS_BCE;
            else if (!strcmp(optarg, "mse")) cfg.value_loss = MLP_LOSS_MSE;
            else return cli_usage_error(cmd, "--value-loss expects bce or mse, got '%s'", optarg);
            break;
        case O_ENCODING:
            if (!optarg[0] || !rps_encoding_parse(optarg, &cfg.encoding))
                return cli_usage_error(cmd, "--encoding expects hands or board, got '%s'", optarg);
            break;
        case O_RANDOM: if (!cli_double(cmd, "random-opponents", optarg, 0, 1, &d)) return 2; cfg.random_share = d; break;
        case O_QUIET: cfg.quiet = 1; break;
        case O_ANALYSE:
            if (!optarg[0] || strlen(optarg) >= 900) return cli_usage_error(cmd, "--analyse expects a folder, got '%s'", optarg);
            analyse = 1;
            snprintf(ac.nets_dir, sizeof ac.nets_dir, "%s", optarg);
            break;
        case O_SOURCE:
            if (!optarg[0] || strlen(optarg) >= 900) return cli_usage_error(cmd, "--source expects a folder, got '%s'", optarg);
            snprintf(ac.source_dir, sizeof ac.source_dir, "%s", optarg);
            break;
        case O_POSITIONS: if (!cli_long(cmd, "positions", optarg, 1, 100000000, &v)) return 2; ac.positions = v; break;
        case O_JSON: ac.json = 1; break;
        case O_BACKEND:
            if (!be_name_known(optarg) || strlen(optarg) >= sizeof cfg.backend) {
                char names[256];
                be_registry_names(names, sizeof names);
                return cli_usage_error(cmd, "--backend expects one of %s, got '%s'", names, optarg);
            }
            snprintf(cfg.backend, sizeof cfg.backend, "%s", optarg);
            snprintf(ac.backend, sizeof ac.backend, "%s", optarg);
            break;
        case O_HELP: usage(stdout); return 0;
        default: return 2;
        }
    }
    if (optind < argc) return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);

    if (analyse) {
        static const int train_only[] = {O_OUT, O_GEN, O_GAMES, O_THREADS, O_RESUME, O_HP, O_HV, O_LR, O_LRF, O_WD,
                                         O_BATCH, O_EPOCHS, O_WINDOW, O_EGAMES, O_EPLAYOUTS, O_VLOSS, O_QUIET, O_RANDOM, O_ENCODING};
        for (size_t i = 0; i < sizeof train_only / sizeof *train_only; i++)
            if (given[train_only[i]]) {
                const char *name = "?";
                for (const struct option *o = opts; o->name; o++)
                    if (o->val == train_only[i]) { name = o->name; break; }
                return cli_usage_error(cmd, "--%s does not apply to --analyse", name);
            }
        return run_analyse(cmd, &ac);
    }
    if (given[O_SOURCE] || given[O_POSITIONS] || given[O_JSON])
        return cli_usage_error(cmd, "--source, --positions and --json only apply to --analyse");

    if (resume) {
        train_config st;
        int fin = 0;
        nrps_status rc = train_checkpoint_peek(cfg.out_dir, &st, &fin);
        if (rc != NRPS_OK) return cli_fail(cmd, "%s", nrps_last_error());
        if (!given[O_GEN]) cfg.generations = st.generations;
        if (!given[O_EGAMES]) cfg.eval_games = st.eval_games;
        if (!given[O_EPLAYOUTS]) cfg.eval_playouts = st.eval_playouts;
        /* flags that shape the training must match the checkpoint */
        struct { int opt; double given, stored; } fixed[] = {
            {O_GAMES, (double)cfg.games, (double)st.games}, {O_PLAYOUTS, cfg.playouts, st.playouts},
            {O_SEED, (double)cfg.seed, (double)st.seed}, {O_HP, cfg.hidden_policy, st.hidden_policy},
            {O_HV, cfg.hidden_value, st.hidden_value}, {O_LR, cfg.lr, st.lr}, {O_LRF, cfg.lr_final, st.lr_final},
            {O_WD, cfg.weight_decay, st.weight_decay}, {O_BATCH, cfg.batch, st.batch},
            {O_EPOCHS, cfg.epochs, st.epochs}, {O_WINDOW, cfg.window, st.window}, {O_CPUCT, cfg.c_puct, st.c_puct},
            {O_ALPHA, cfg.dirichlet_alpha, st.dirichlet_alpha}, {O_WEIGHT, cfg.dirichlet_weight, st.dirichlet_weight},
            {O_TPLIES, cfg.temperature_plies, st.temperature_plies}, {O_MBATCH, cfg.mcts_batch, st.mcts_batch},
            {O_VLOSS, cfg.value_loss, st.value_loss}, {O_RANDOM, cfg.random_share, st.random_share}};
        for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
            if (given[fixed[i].opt] && fixed[i].given != fixed[i].stored) {
                const char *name = "?";
                for (const struct option *o = opts; o->name; o++)
                    if (o->val == fixed[i].opt) { name = o->name; break; }
                return cli_usage_error(cmd, "--%s %g differs from the checkpoint's %g in %s (a resumed run keeps its configuration)",
                                       name, fixed[i].given, fixed[i].stored, cfg.out_dir);
            }
        if (given[O_ENCODING] && cfg.encoding != st.encoding)
            return cli_usage_error(cmd, "--encoding %s differs from the checkpoint's %s in %s (a resumed run keeps its configuration)",
                                   rps_encoding_name(cfg.encoding), rps_encoding_name(st.encoding), cfg.out_dir);
        if (cfg.generations < fin)
            return cli_usage_error(cmd, "--generations %d is below the %d generations already finished in %s",
                                   cfg.generations, fin, cfg.out_dir);
    }
    if (train_config_check(&cfg) != NRPS_OK) return cli_usage_error(cmd, "%s", nrps_last_error());
    cfg.progress = cli_isatty_err();
    nrps_install_sigint_handler();
    int finished = 0;
    double t0 = nrps_now_s();
    nrps_status rc = train_run(&cfg, resume, &finished);
    if (rc == NRPS_ERR_INTERRUPTED) {
        fprintf(stderr, "neural_rps %s: %s\n", cmd, nrps_last_error());
        return 130;
    }
    if (rc != NRPS_OK) return cli_fail(cmd, "%s", nrps_last_error());
    if (!cfg.quiet)
        printf("train: %d generations finished; networks in %s/rps_policy.onnx and %s/rps_value.onnx, summary in "
               "%s/summary.json (%.1f s this session)\n",
               finished, cfg.out_dir, cfg.out_dir, cfg.out_dir, nrps_now_s() - t0);
    return 0;
}
