#!/usr/bin/env bash
# Stops the local Postgres and RabbitMQ started by services-up.sh (their data in $GRM_SERVICE_DIR is kept).
# Usage: services-down.sh [postgres] [rabbitmq]   (default: both)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/services-common.sh"
mkdir -p "$GRM_LOCAL"
exec 9>"$GRM_LOCAL/.services.lock"
flock -w 600 9 || { echo "services-down: another services-up/down holds $GRM_LOCAL/.services.lock" >&2; exit 1; }
services=("$@"); ((${#services[@]})) || services=(postgres rabbitmq)
want() { [[ " ${services[*]} " == *" $1 "* ]]; }
status=0

if want postgres; then
  if pg_running; then
    echo "services-down: stopping Postgres"
    as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null || { log_tail "$PG_LOG"; status=1; }
  else
    echo "services-down: Postgres not running"
  fi
fi

if want rabbitmq; then
  rmq_env
  if pid="$(rmq_pid)"; then
    echo "services-down: stopping RabbitMQ (pid $pid)"
    # shutdown waits until the node's OS process has exited.
    if ! "$RMQ_BIN/rabbitmqctl" -q shutdown --timeout 60 >/dev/null 2>&1; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
      kill -0 "$pid" 2>/dev/null && { echo "services-down: RabbitMQ (pid $pid) did not stop" >&2; status=1; }
    fi
  else
    echo "services-down: RabbitMQ not running"
  fi
  # The Erlang port mapper our node started on its own port.
  epmd="$(command -v epmd || ls /usr/lib/erlang/erts-*/bin/epmd 2>/dev/null | head -n1 || true)"
  [[ -n "$epmd" ]] && "$epmd" -port "$RMQ_EPMD_PORT" -kill >/dev/null 2>&1 || true
fi
exit $status
