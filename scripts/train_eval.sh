#!/usr/bin/env bash
# train_eval.sh - the strength figures of models/README.md for a folder holding rps_policy.onnx and
# rps_value.onnx: arenas (1000 paired games each, seed 1) of MCTS-200 with the nets against random and
# against MCTS-200 with uniform priors + random rollouts, the raw policy against random, and the solver
# analysis on 2000 held-out self-play positions.
#   usage: scripts/train_eval.sh DIR [THREADS] [POSITIONS_SOURCE_DIR] [GAMES]
set -eu
DIR=${1:?usage: scripts/train_eval.sh DIR [THREADS] [SOURCE] [GAMES]}
TH=${2:-2}
SRC=${3:-$DIR}
GAMES=${4:-1000}
BIN=${NRPS_BIN:-bin/neural_rps}
"$BIN" arena --p1 "mcts-net:200,nets=$DIR" --p2 random --games "$GAMES" --seed 1 --threads "$TH" | sed -n 2p
"$BIN" arena --p1 "mcts-net:200,nets=$DIR" --p2 mcts:200 --games "$GAMES" --seed 1 --threads "$TH" | sed -n 2p
"$BIN" arena --p1 "net,policy=$DIR/rps_policy.onnx" --p2 random --games "$GAMES" --seed 1 --threads "$TH" | sed -n 2p
"$BIN" train --analyse "$DIR" --source "$SRC" --positions 2000 --seed 2026 --playouts 100
