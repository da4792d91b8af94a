#!/usr/bin/env bash
# Client throughput beside the reference clients, in one run, against one
# fast Bayeux server (tests/peers/fast_server.js answers every connect at
# once with the same pre-built batch of $BATCH (default 2 000) quote-sized
# messages).
#
#   bash benches/compare_peers.sh [MESSAGES]
#
# cometwatch tail writes every message to stdout (to /dev/null here); the
# reference clients (Faye's Node client, the CometD JavaScript client) only
# count. Every rate is timed from the first message to the last. Prints
# msgs/s for each run, the medians of $RUNS runs (default 3) and the ratio
# of the medians.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
ref_n=$(( n / 4 ))

cargo build --release --quiet
(cd tests/peers && [ -d node_modules/faye ] || npm ci --no-audit --no-fund --loglevel=error)

coproc SERVER { cd tests/peers && exec node fast_server.js "${BATCH:-2000}"; }
trap 'kill "$SERVER_PID" 2>/dev/null || true' EXIT
read -r line <&"${SERVER[0]}"
port=$(echo "$line" | sed 's/[^0-9]//g')
url="http://127.0.0.1:$port/cometd"

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# Like the reference clients, the rate is timed from the first message to
# the last (tail prints that summary on stderr); the wall-clock rate with
# process start-up and handshake is shown beside it. The machine's speed
# drifts, so each client runs $RUNS times (default 3), turn about, and the
# ratio is taken of the medians.
runs=${RUNS:-3}
ours_all=""; faye_all=""; cometd_all=""
for run in $(seq "$runs"); do
  start=$(date +%s.%N)
  summary=$(./target/release/cometwatch tail --url "$url" --count "$n" '/bench/**' 2>&1 >/dev/null | grep 'from the first message')
  end=$(date +%s.%N)
  ours=$(echo "$summary" | sed 's/.* s, \([0-9]*\) msgs\/s.*/\1/')
  wall=$(echo "$n / ($end - $start)" | bc)
  echo "run $run: cometwatch tail: $n messages, $ours msgs/s ($wall msgs/s with start-up and handshake)"
  ours_all="$ours_all $ours"
  for kind in faye cometd; do
    result=$(cd tests/peers && node count_client.mjs "$kind" "$url" "$ref_n")
    rate=$(echo "$result" | sed 's/.*"msgs_per_sec":\([0-9]*\).*/\1/')
    echo "run $run: $kind client: $ref_n messages, $rate msgs/s"
    if [ "$kind" = faye ]; then faye_all="$faye_all $rate"; else cometd_all="$cometd_all $rate"; fi
  done
done
ours=$(echo $ours_all | tr ' ' '\n' | median)
faye=$(echo $faye_all | tr ' ' '\n' | median)
cometd=$(echo $cometd_all | tr ' ' '\n' | median)
best=$(( faye > cometd ? faye : cometd ))
echo "medians of $runs runs: cometwatch tail $ours msgs/s, faye client $faye msgs/s, cometd client $cometd msgs/s"
echo "ratio: cometwatch / best reference client = $(echo "scale=1; $ours / $best" | bc)"
