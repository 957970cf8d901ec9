#!/usr/bin/env bash
# The Action's install step: vevents with the suite (check extra) from the action's own checkout.
set -euo pipefail
pip=${VEVENTS_ACTION_PIP:-python -m pip}
$pip install --quiet "${GITHUB_ACTION_PATH:?}[check]"
