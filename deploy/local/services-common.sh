# Shared by services-up.sh, services-down.sh and env.sh (sourced, not run).
# Local RabbitMQ and Postgres for development and CI: loopback only, data under .local/ (gitignored),
# own ports so they never clash with system services:
#   Postgres  127.0.0.1:55432  (GRM_LOCAL_PG_PORT)     database grm, role grm (no superuser)
#   AMQP      127.0.0.1:56720  (GRM_LOCAL_AMQP_PORT)   vhost grm, user grm (no guest)
#   AMQPS     127.0.0.1:56721  (GRM_LOCAL_AMQPS_PORT)  the same broker over TLS (certificate from the local CA)
#   Postgres accepts TLS on its one port too (ssl = on); clients choose with `SSL Mode=`.
#   Erlang distribution 56725, epmd 56369 (both loopback; only rabbitmqctl uses them)
GRM_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
GRM_LOCAL="$GRM_ROOT/.local"
GRM_CREDENTIALS="$GRM_LOCAL/credentials.env"

PG_PORT="${GRM_LOCAL_PG_PORT:-55432}"
AMQP_PORT="${GRM_LOCAL_AMQP_PORT:-56720}"
AMQPS_PORT="${GRM_LOCAL_AMQPS_PORT:-$((AMQP_PORT + 1))}"
RMQ_DIST_PORT="${GRM_LOCAL_RABBITMQ_DIST_PORT:-$((AMQP_PORT + 5))}"
RMQ_EPMD_PORT="${GRM_LOCAL_EPMD_PORT:-56369}"

PG_DIR="$GRM_LOCAL/postgres"
PG_DATA="$PG_DIR/data"
PG_LOG="$PG_DIR/postgres.log"
# Unix socket (admin access as OS user postgres, peer auth); sockets paths are limited to 107 bytes.
PG_RUN="$PG_DIR/run"
if ((${#PG_RUN} > 90)); then PG_RUN="/tmp/grm-pg-$(printf '%s' "$GRM_ROOT" | sha256sum | cut -c1-12)"; fi
# `|| true`: before Postgres is installed the glob matches nothing, and under `set -o pipefail` a failing
# ls would end the sourcing script (services-up.sh) before it installs the packages.
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)"

RMQ_DIR="$GRM_LOCAL/rabbitmq"
# A local CA and one server certificate (127.0.0.1, localhost) for both services; clients trust ca.pem.
TLS_DIR="$GRM_LOCAL/tls"
RMQ_BIN=/usr/lib/rabbitmq/bin

# Environment for rabbitmq-server and its CLI tools (rabbitmqctl, rabbitmq-diagnostics): our node,
# our config, our data and logs, our cookie (in HOME), loopback only.
rmq_env() {
  export HOME="$RMQ_DIR/home"
  export RABBITMQ_NODENAME="grm@localhost"
  export RABBITMQ_CONF_ENV_FILE="$RMQ_DIR/rabbitmq-env.conf"
  export RABBITMQ_CONFIG_FILE="$RMQ_DIR/rabbitmq.conf"
  export RABBITMQ_ADVANCED_CONFIG_FILE="$RMQ_DIR/advanced.config"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$RMQ_DIR/enabled_plugins"
  export RABBITMQ_MNESIA_BASE="$RMQ_DIR/mnesia"
  export RABBITMQ_LOG_BASE="$RMQ_DIR/log"
  export RABBITMQ_PID_FILE="$RMQ_DIR/rabbit.pid"
  export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
  export RABBITMQ_NODE_PORT="$AMQP_PORT"
  export RABBITMQ_DIST_PORT="$RMQ_DIST_PORT"
  export RABBITMQ_CTL_DIST_PORT_MIN="$((RMQ_DIST_PORT + 1))"
  export RABBITMQ_CTL_DIST_PORT_MAX="$((RMQ_DIST_PORT + 10))"
  export ERL_EPMD_PORT="$RMQ_EPMD_PORT"
  export ERL_EPMD_ADDRESS=127.0.0.1
}

as_postgres() { runuser -u postgres -- "$@"; }

pg_running() {
  [[ -f "$PG_DATA/PG_VERSION" ]] && as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1
}

rmq_pid() {
  local pid
  pid="$(cat "$RMQ_DIR/rabbit.pid" 2>/dev/null)" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# Reads one KEY='value' line of credentials.env without sourcing the whole file.
credential() {
  [[ -f "$GRM_CREDENTIALS" ]] || return 0
  sed -n "s/^$1='\(.*\)'\$/\1/p" "$GRM_CREDENTIALS" | tail -n1
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

log_tail() { echo "---- last lines of $1"; tail -n "${2:-30}" "$1" 2>/dev/null || echo "(no log)"; echo "----"; }
