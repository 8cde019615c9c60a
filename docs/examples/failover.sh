#!/bin/sh
# failover.sh BACKEND NEW_SERVER
#
# Sends every new connection of BACKEND to NEW_SERVER, in one step (the
# daemon's `failover` command), cutting the sessions of the servers it
# takes out; prints what changed and the backend afterwards. With
# KEEP_SESSIONS=1 the old server's sessions are not cut.
#
# PIVOT_SOCKET names the admin socket(s).
set -eu
backend=$1
new=$2
pivotctl=${PIVOTCTL:-pivotctl}
keep=${KEEP_SESSIONS:+--keep-sessions}

# shellcheck disable=SC2086
$pivotctl failover $keep --to "$new" "$backend"
$pivotctl show stat -b "$backend"
