#!/usr/bin/env bash
# The Action's stop step: end the stub the serve step started (SIGTERM, then wait at most 15 s).
set -euo pipefail
pidfile=${RUNNER_TEMP:?}/vevents-stub/pid
[ -f "$pidfile" ] || { echo "no vevents stub was started by this job"; exit 0; }
pid=$(cat "$pidfile")
kill -TERM "$pid" 2>/dev/null || true
for _ in $(seq 1 150); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; echo "vevents stub stopped"; exit 0; }
    sleep 0.1
done
kill -KILL "$pid" 2>/dev/null || true
rm -f "$pidfile"
echo "vevents stub killed after 15 s"
