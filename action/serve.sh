#!/usr/bin/env bash
# The Action's serve step: start `vevents serve` in the background, wait until `vevents health`
# says it answers (bounded), then hand the job its base URL and a token.
#   in:  VEVENTS_ACTION_PORT (0: a free port), VEVENTS_ACTION_SERVE_ARGS, VEVENTS_ACTION_WAIT (seconds)
#   out: base-url in $GITHUB_OUTPUT; VEVENTS_BASE_URL, VEVENTS_TOKEN in $GITHUB_ENV (the token masked
#        in the job's log with ::add-mask::); the server's pid and log in $RUNNER_TEMP
set -euo pipefail
state=${RUNNER_TEMP:?}/vevents-stub
mkdir -p "$state"
port=${VEVENTS_ACTION_PORT:-8080}
wait=${VEVENTS_ACTION_WAIT:-60}
# shellcheck disable=SC2086 # the extra options are split on spaces, as documented
nohup vevents serve --memory --port "$port" --log-level warning ${VEVENTS_ACTION_SERVE_ARGS:-} \
    >"$state/stdout.log" 2>"$state/stderr.log" &
echo $! >"$state/pid"
root=""
deadline=$((SECONDS + wait))
until [ -n "$root" ]; do
    root=$(sed -n 's/^vevents stub listening on \(https\{0,1\}:\/\/[^ ]*\) .*/\1/p' "$state/stdout.log" | head -n 1)
    if [ -z "$root" ]; then
        if ! kill -0 "$(cat "$state/pid")" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
            echo "::error::vevents serve did not start: $(tail -n 3 "$state/stderr.log" | tr '\n' ' ')"
            exit 1
        fi
        sleep 0.2
    fi
done
cacert=()
ca=$(sed -n 's/^  export SSL_CERT_FILE=\([^ ]*\) .*/\1/p' "$state/stdout.log" | head -n 1)
[ -n "$ca" ] && cacert=(--cacert "$ca")
until vevents health "$root" --timeout 2 "${cacert[@]}"; do
    if [ $SECONDS -ge $deadline ]; then
        echo "::error::the stub at $root did not become healthy within ${wait} s"
        exit 1
    fi
    sleep 0.5
done
token=$(vevents token)
echo "::add-mask::$token"
echo "base-url=$root/v1.0" >>"${GITHUB_OUTPUT:?}"
{
    echo "VEVENTS_BASE_URL=$root/v1.0"
    echo "VEVENTS_TOKEN=$token"
} >>"${GITHUB_ENV:?}"
echo "vevents stub healthy at $root (pid $(cat "$state/pid"))"
