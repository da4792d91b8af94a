#!/usr/bin/env bash
# Publish-to-receive latency at a low rate from a real Faye server:
# cometwatch tail beside Faye's own Node client, on the same messages at the
# same time.
#
#   bash benches/latency_faye.sh [MESSAGES]     (default 300)
#
# Each run starts the Faye 1.4 server of tests/peers on a free 127.0.0.1
# port, then `cometwatch tail --url … '/lat/**'` (its stdout read by
# tests/peers/latency_stamp.mjs, which adds the fractional arrival time of
# each line) and tests/peers/latency_client.mjs (Faye's Node client,
# long-polling like cometwatch), one after the other, the order turned
# about from run to run. Once both are subscribed,
# tests/peers/latency_publish.mjs publishes MESSAGES messages at $RATE per
# second (default 10), each carrying its publish time. Prints, per run, the
# table of tests/peers/latency_report.mjs: p50/p99/max of received_ms - ts
# (integer ms, as a tail line gives it), of the fractional arrival - publish
# time, and of the per-message difference between the two clients.
#
# Environment: RUNS (default 3), RATE (default 10), COMETWATCH (the binary;
# default target/release/cometwatch, built first), FAYE_DELIVERY=immediate
# (the server answers a held long-poll without its 1 ms delivery timer; see
# tests/peers/server.js), TRANSPORT=websocket (Faye's client on its default
# WebSocket transport instead), STRACE=1 (needs strace; the server runs under it,
# which slows it down, and the report adds each client's time from the
# server's write of a message to its arrival), KEEP=1 (keep the collected
# lines; their folder is printed).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-300}
rate=${RATE:-10}
runs=${RUNS:-3}
bin=${COMETWATCH:-target/release/cometwatch}
if [ -z "${COMETWATCH:-}" ]; then
  cargo build --release --quiet --bin cometwatch
fi
(cd tests/peers && [ -d node_modules/faye ] || npm ci --no-audit --no-fund --loglevel=error)

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [ "${KEEP:-}" = 1 ]; then echo "lines kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# Waits (up to $2 s) until file $1 has a line matching $3.
wait_for() {
  local deadline=$(( SECONDS + $2 ))
  until grep -q "$3" "$1" 2>/dev/null; do
    if (( SECONDS >= deadline )); then echo "timed out waiting for '$3' in $1" >&2; cat "$1" >&2 || true; exit 1; fi
    sleep 0.1
  done
}

for run in $(seq "$runs"); do
  dir="$work/run$run"; mkdir -p "$dir"
  trace=()
  if [ "${STRACE:-}" = 1 ]; then
    trace=(strace -f -tt -s 700 -e trace=read,writev -o "$dir/server.strace")
  fi
  coproc SERVER { cd tests/peers && exec "${trace[@]}" node server.js faye; }
  pids+=("$SERVER_PID")
  read -r line <&"${SERVER[0]}"
  port=$(echo "$line" | sed 's/[^0-9]//g')
  url="http://127.0.0.1:$port/bayeux"

  start_ours() {
    "$bin" tail --url "$url" --count "$n" '/lat/**' 2>"$dir/ours.err" \
      | node tests/peers/latency_stamp.mjs >"$dir/ours.jsonl" &
    pids+=("$!")
    wait_for "$dir/ours.err" 20 'subscribed to'
  }
  start_faye() {
    node tests/peers/latency_client.mjs "$url" '/lat/**' "$n" >"$dir/faye.jsonl" &
    pids+=("$!")
    wait_for "$dir/faye.jsonl" 20 'subscribed'
  }
  if (( run % 2 )); then order="tail first"; start_ours; start_faye
  else order="faye client first"; start_faye; start_ours; fi

  node tests/peers/latency_publish.mjs "$url" /lat/x "$n" "$rate" >"$dir/publish.out"
  grep -q published "$dir/publish.out" || { cat "$dir/publish.out" >&2; exit 1; }
  # Both clients exit after $n messages; a lost message leaves them running.
  for _ in $(seq 50); do
    [ "$(grep -c '"seq"' "$dir/ours.jsonl")" -ge "$n" ] && [ "$(grep -c '"seq"' "$dir/faye.jsonl")" -ge "$n" ] && break
    sleep 0.1
  done
  # The server exits when its stdin closes (and strace then has written
  # all of its trace).
  server_in=${SERVER[1]}
  exec {server_in}>&-
  server_pid=$SERVER_PID
  for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
  echo "run $run ($order; $n messages at $rate/s):"
  node tests/peers/latency_report.mjs "$dir/ours.jsonl" "$dir/faye.jsonl" \
    ${trace[@]:+"$dir/server.strace"} | sed 's/^/  /'
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  pids=()
  wait 2>/dev/null || true
done
