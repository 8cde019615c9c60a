#!/bin/sh
# maintenance.sh BACKEND/SERVER COMMAND [ARGS...]
#
# Takes SERVER out of BACKEND without cutting anyone: drain (running
# sessions go on, new ones go elsewhere), wait until its last session has
# ended, maintenance, then COMMAND (the upgrade, the restart...), then back
# in service. Stops at the first failure, leaving the server out.
#
# PIVOT_SOCKET names the admin socket(s) (or pass -s through PIVOTCTL);
# DRAIN_TIMEOUT bounds the wait (default 10m); KILL_AFTER, when set, cuts
# the sessions still open after that long.
set -eu
server=$1
shift
pivotctl=${PIVOTCTL:-pivotctl}
kill_after=${KILL_AFTER:+--kill-after $KILL_AFTER}

# shellcheck disable=SC2086
$pivotctl drain --wait --timeout "${DRAIN_TIMEOUT:-10m}" $kill_after --then maint "$server"
"$@"
$pivotctl ready "$server"
echo "$server: back in service"
