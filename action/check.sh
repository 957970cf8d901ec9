#!/usr/bin/env bash
# The Action's check step: `vevents check` with the JUnit XML, JSON and HTML reports in one folder (the
# next step uploads it whatever the verdict). Tokens come in through the environment only.
#   in:  VEVENTS_ACTION_BASE_URL, VEVENTS_ACTION_TOKEN or VEVENTS_ACTION_TOKEN_COMMAND, the read-only and
#        other-user token commands, VEVENTS_ACTION_CHECK_ARGS, VEVENTS_ACTION_REPORTS
#   out: exit-code in $GITHUB_OUTPUT; the step fails unless the verdict is 0 (conformant)
set -uo pipefail
reports=${VEVENTS_ACTION_REPORTS:-reports/vevents}
mkdir -p "$reports"
args=(--junit-xml "$reports/junit.xml" --report-json "$reports/report.json" --html "$reports/report.html")
[ -n "${VEVENTS_ACTION_BASE_URL:-}" ] && args+=(--base-url "$VEVENTS_ACTION_BASE_URL")
if [ -n "${VEVENTS_ACTION_TOKEN:-}" ]; then
    echo "::add-mask::$VEVENTS_ACTION_TOKEN"
    args+=(--token "$VEVENTS_ACTION_TOKEN")
fi
[ -n "${VEVENTS_ACTION_TOKEN_COMMAND:-}" ] && args+=(--token-command "$VEVENTS_ACTION_TOKEN_COMMAND")
[ -n "${VEVENTS_ACTION_READ_ONLY_TOKEN_COMMAND:-}" ] &&
    args+=(--read-only-token-command "$VEVENTS_ACTION_READ_ONLY_TOKEN_COMMAND")
[ -n "${VEVENTS_ACTION_OTHER_USER_TOKEN_COMMAND:-}" ] &&
    args+=(--other-user-token-command "$VEVENTS_ACTION_OTHER_USER_TOKEN_COMMAND")
# shellcheck disable=SC2206 # the extra options are split on spaces, as documented
args+=(${VEVENTS_ACTION_CHECK_ARGS:-})
vevents check "${args[@]}"
code=$?
echo "exit-code=$code" >>"${GITHUB_OUTPUT:?}"
exit $code
