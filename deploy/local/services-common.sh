# Shared by services-up.sh, services-down.sh and env.sh (sourced, not run).
# Local RabbitMQ and Postgres for development and CI: loopback only, own ports so they never clash with system
# services. Credentials and the local CA live in the checkout's .local/ (gitignored, read by root only); the servers'
# data lives in /var/lib/grm-local/<hash of the checkout's path>/ (GRM_LOCAL_SERVICE_DIR), because they run as users
# postgres and rabbitmq, which cannot enter a checkout under a mode-700 home folder such as /root.
# Ports (a second checkout on the same machine sets other ones once; they are kept in .local/ports.env):
#   Postgres  127.0.0.1:55432  (GRM_LOCAL_PG_PORT)     database grm, role grm (no superuser)
#   AMQP      127.0.0.1:56720  (GRM_LOCAL_AMQP_PORT)   vhost grm, user grm (no guest)
#   AMQPS     127.0.0.1:56721  (GRM_LOCAL_AMQPS_PORT)  the same broker over TLS (certificate from the local CA)
#   Postgres accepts TLS on its one port too (ssl = on); clients choose with `SSL Mode=`.
#   Erlang distribution 56725, epmd 56369 (both loopback; only rabbitmqctl uses them)
GRM_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
GRM_LOCAL="$GRM_ROOT/.local"
GRM_CREDENTIALS="$GRM_LOCAL/credentials.env"
GRM_PORTS="$GRM_LOCAL/ports.env"
# Ports chosen for this checkout earlier (the environment still wins).
[[ -f "$GRM_PORTS" ]] && . "$GRM_PORTS"
GRM_CHECKOUT_ID="$(printf '%s' "$GRM_ROOT" | sha256sum | cut -c1-12)"
GRM_SERVICE_DIR="${GRM_LOCAL_SERVICE_DIR:-/var/lib/grm-local/$GRM_CHECKOUT_ID}"

PG_PORT="${GRM_LOCAL_PG_PORT:-55432}"
AMQP_PORT="${GRM_LOCAL_AMQP_PORT:-56720}"
AMQPS_PORT="${GRM_LOCAL_AMQPS_PORT:-$((AMQP_PORT + 1))}"
RMQ_DIST_PORT="${GRM_LOCAL_RABBITMQ_DIST_PORT:-$((AMQP_PORT + 5))}"
RMQ_EPMD_PORT="${GRM_LOCAL_EPMD_PORT:-56369}"

PG_DIR="$GRM_SERVICE_DIR/postgres"
PG_DATA="$PG_DIR/data"
PG_LOG="$PG_DIR/postgres.log"
# Unix socket (admin access as OS user postgres, peer auth); sockets paths are limited to 107 bytes.
PG_RUN="$PG_DIR/run"
if ((${#PG_RUN} > 90)); then PG_RUN="/tmp/grm-pg-$(printf '%s' "$GRM_ROOT" | sha256sum | cut -c1-12)"; fi
# `|| true`: before Postgres is installed the glob matches nothing, and under `set -o pipefail` a failing
# ls would end the sourcing script (services-up.sh) before it installs the packages.
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)"

RMQ_DIR="$GRM_SERVICE_DIR/rabbitmq"
# One node name per checkout: two checkouts' brokers share the Erlang port mapper.
RMQ_NODE="grm-$GRM_CHECKOUT_ID@localhost"
# A local CA and one server certificate (127.0.0.1, localhost) for both services; clients trust ca.pem.
TLS_DIR="$GRM_LOCAL/tls"
RMQ_BIN=/usr/lib/rabbitmq/bin

# Environment for rabbitmq-server and its CLI tools (rabbitmqctl, rabbitmq-diagnostics): our node,
# our config, our data and logs, our cookie (in HOME), loopback only.
rmq_env() {
  export HOME="$RMQ_DIR/home"
  export RABBITMQ_NODENAME="$RMQ_NODE"
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

# Who listens on 127.0.0.1:PORT: "pid N (command line), working directory D" (a Postgres's is its data directory).
port_owner() {
  local pid
  pid="$(ss -ltnpH "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n1 | cut -d= -f2)"
  [[ -n "$pid" ]] || { echo "an unknown process"; return; }
  local cmd cwd other
  cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-160)"
  cwd="$(readlink "/proc/$pid/cwd" 2>/dev/null || echo '?')"
  # services of another GrmWorker checkout: name it (its service folder records the checkout's path)
  other="$(grep -o '/var/lib/grm-local/[0-9a-f]*' <<<"$cmd $cwd" | head -n1 || true)"
  [[ -n "$other" && -f "$other/checkout" ]] && other="; the services of the GrmWorker checkout $(cat "$other/checkout")" || other=""
  echo "pid $pid ($cmd), working directory $cwd$other"
}

log_tail() { echo "---- last lines of $1"; tail -n "${2:-30}" "$1" 2>/dev/null || echo "(no log)"; echo "----"; }
