#!/usr/bin/env bash
# Starts local Postgres and RabbitMQ for development and tests (no systemd, no Docker; run as root).
# Installs what is missing (Debian postgresql, rabbitmq-server, python3-pika), keeps all data under
# .local/ (gitignored), listens on 127.0.0.1 only, waits until both answer, creates a dedicated
# Postgres role + database `grm` and a RabbitMQ user + vhost `grm` (no guest), and prints the
# settings as environment lines that .NET configuration binds (prefix GRM_, `__` = section):
#   GRM_POSTGRES__CONNECTIONSTRING  Npgsql connection string (section Postgres, key ConnectionString)
#   GRM_RABBITMQ__HOST / __PORT / __VIRTUALHOST / __USERNAME / __PASSWORD   (section RabbitMq)
# and, for clients that want TLS (both services also take TLS, with a certificate from a local CA made here):
#   GRM_LOCAL_TLS_CA      the CA certificate (PEM) to trust: RabbitMq:TlsCaFile, Npgsql `Root Certificate=`
#   GRM_LOCAL_AMQPS_PORT  RabbitMQ's TLS port (RabbitMq:UseTls true, RabbitMq:Port this)
# Passwords are generated once into .local/credentials.env (mode 600) and never printed here;
# `source deploy/local/env.sh` exports them. Idempotent: a second run reuses running services.
# Usage: services-up.sh [postgres] [rabbitmq]   (default: both). Ports: see services-common.sh.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/services-common.sh"
started=$SECONDS
START_TIMEOUT="${GRM_LOCAL_START_TIMEOUT:-120}"
services=("$@"); ((${#services[@]})) || services=(postgres rabbitmq)
want() { [[ " ${services[*]} " == *" $1 "* ]]; }
fail() { echo "services-up: $*" >&2; exit 1; }

[[ "$(id -u)" == 0 ]] || fail "run as root (it starts Postgres as user postgres and RabbitMQ as user rabbitmq)"
# One services-up/down at a time (parallel test runs); the servers started below must not inherit fd 9.
mkdir -p "$GRM_LOCAL"
exec 9>"$GRM_LOCAL/.services.lock"
flock -w 600 9 || fail "another services-up/down holds $GRM_LOCAL/.services.lock"

# ---- packages
need=()
for pkg in postgresql rabbitmq-server python3-pika openssl; do dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg"); done
if ((${#need[@]})); then
  echo "services-up: installing Debian packages: ${need[*]}"
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  # policy-rc.d keeps the packages from starting their system-wide services.
  had_policy=0; [[ -e /usr/sbin/policy-rc.d ]] && had_policy=1
  ((had_policy)) || { printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends \
    "${need[@]}" >/dev/null
  ((had_policy)) || rm -f /usr/sbin/policy-rc.d
  PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)"
fi

# ---- where the servers keep their data: outside the checkout (see services-common.sh)
mkdir -p "$GRM_SERVICE_DIR"; chmod 755 "$(dirname "$GRM_SERVICE_DIR")" "$GRM_SERVICE_DIR"
printf '%s\n' "$GRM_ROOT" >"$GRM_SERVICE_DIR/checkout"
# Earlier versions kept it in .local/: stop what runs from there and move it over once.
for old in postgres rabbitmq; do
  [[ -d "$GRM_LOCAL/$old" && ! -e "$GRM_SERVICE_DIR/$old" ]] || continue
  if [[ $old == postgres && -f "$GRM_LOCAL/postgres/data/postmaster.pid" ]]; then
    as_postgres "$PG_BIN/pg_ctl" -D "$GRM_LOCAL/postgres/data" -m fast -w -t 60 stop >/dev/null 2>&1 9>&- || true
  elif [[ $old == rabbitmq ]] && pid="$(cat "$GRM_LOCAL/rabbitmq/rabbit.pid" 2>/dev/null)" && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"; for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  fi
  echo "services-up: moving $GRM_LOCAL/$old to $GRM_SERVICE_DIR/$old (service data now lives outside the checkout)"
  mv "$GRM_LOCAL/$old" "$GRM_SERVICE_DIR/$old"
done
# The ports in use, kept for the next run of these scripts in this checkout.
printf ': "${GRM_LOCAL_PG_PORT:=%s}"\n: "${GRM_LOCAL_AMQP_PORT:=%s}"\n' "$PG_PORT" "$AMQP_PORT" >"$GRM_PORTS"

# A port another process holds would make the server fail after a long wait: say at once who holds it.
ensure_port_free() { # PORT WHAT VARIABLE
  port_open "$1" || return 0
  fail "127.0.0.1:$1 ($2) is taken by $(port_owner "$1"). If that is another checkout's services, stop them (deploy/local/services-down.sh there), or give this checkout other ports once: $3=<port> deploy/local/services-up.sh (kept in $GRM_PORTS)."
}

# ---- credentials (generated once, reused after)
mkdir -p "$GRM_LOCAL"; chmod 755 "$GRM_LOCAL"
gen_secret() { head -c 64 /dev/urandom | base64 -w0 | tr -dc 'A-Za-z0-9' | cut -c1-32; }
PG_PASSWORD="$(credential GRM_POSTGRES__CONNECTIONSTRING | sed -n 's/.*Password=\([A-Za-z0-9]*\).*/\1/p')"
RMQ_PASSWORD="$(credential GRM_RABBITMQ__PASSWORD)"
PG_TEST_PASSWORD="$(credential GRM_LOCAL_TEST_POSTGRES | sed -n 's/.*Password=\([A-Za-z0-9]*\).*/\1/p')"
[[ -n "$PG_PASSWORD" ]] || PG_PASSWORD="$(gen_secret)"
[[ -n "$PG_TEST_PASSWORD" ]] || PG_TEST_PASSWORD="$(gen_secret)"
[[ -n "$RMQ_PASSWORD" ]] || RMQ_PASSWORD="$(gen_secret)"
PG_CONNECTION="Host=127.0.0.1;Port=$PG_PORT;Database=grm;Username=grm;Password=$PG_PASSWORD"
PG_TEST_CONNECTION="Host=127.0.0.1;Port=$PG_PORT;Database=grm_test;Username=grm_test;Password=$PG_TEST_PASSWORD"
(
  umask 077
  tmp="$GRM_CREDENTIALS.tmp.$$"
  cat >"$tmp" <<CRED
# Written by deploy/local/services-up.sh; secrets, keep private (mode 600). Load: source deploy/local/env.sh
GRM_POSTGRES__CONNECTIONSTRING='$PG_CONNECTION'
GRM_RABBITMQ__HOST='127.0.0.1'
GRM_RABBITMQ__PORT='$AMQP_PORT'
GRM_RABBITMQ__VIRTUALHOST='grm'
GRM_RABBITMQ__USERNAME='grm'
GRM_RABBITMQ__PASSWORD='$RMQ_PASSWORD'
GRM_LOCAL_TLS_CA='$TLS_DIR/ca.pem'
GRM_LOCAL_AMQPS_PORT='$AMQPS_PORT'
# The tests' own role: it may create (and drop) the databases each test fixture uses; the worker's role may not.
GRM_LOCAL_TEST_POSTGRES='$PG_TEST_CONNECTION'
CRED
  mv -f "$tmp" "$GRM_CREDENTIALS"
)

# ---- TLS: a local CA and a server certificate for 127.0.0.1 / localhost (made once, reused after)
make_tls() {
  if [[ -s "$TLS_DIR/ca.pem" && -s "$TLS_DIR/server.pem" && -s "$TLS_DIR/server.key" ]]; then return; fi
  echo "services-up: creating a local CA and server certificate in $TLS_DIR"
  rm -rf "$TLS_DIR"; mkdir -p "$TLS_DIR"; chmod 755 "$TLS_DIR"
  (
    umask 077; cd "$TLS_DIR"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=grm local CA" \
      -keyout ca.key -out ca.pem >/dev/null 2>&1
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server.key -out server.csr >/dev/null 2>&1
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 825 -extfile server.ext \
      -out server.pem >/dev/null 2>&1
    rm -f server.csr server.ext ca.srl
  ) || fail "openssl could not create the local TLS certificates in $TLS_DIR"
  chmod 644 "$TLS_DIR/ca.pem" "$TLS_DIR/server.pem"
}
# Each server reads its own copy of the key (Postgres insists on owner-only permissions).
install_tls() { # DIR OWNER
  mkdir -p "$1"
  cp "$TLS_DIR/ca.pem" "$TLS_DIR/server.pem" "$TLS_DIR/server.key" "$1/"
  chown -R "$2:$2" "$1"; chmod 700 "$1"; chmod 600 "$1/server.key"
}
make_tls

# ---- Postgres
start_postgres() {
  [[ -n "$PG_BIN" && -x "$PG_BIN/pg_ctl" ]] || fail "Postgres binaries not found under /usr/lib/postgresql"
  mkdir -p "$PG_DIR" "$PG_RUN"
  chown postgres:postgres "$PG_DIR" "$PG_RUN"; chmod 700 "$PG_DIR"; chmod 755 "$PG_RUN"
  if [[ ! -f "$PG_DATA/PG_VERSION" ]]; then
    echo "services-up: initialising Postgres data directory $PG_DATA"
    rm -rf "$PG_DATA"
    as_postgres "$PG_BIN/initdb" -D "$PG_DATA" -U postgres -E UTF8 --locale=C.UTF-8 \
      --auth-local=peer --auth-host=scram-sha-256 --no-instructions >"$PG_DIR/initdb.log" 2>&1 \
      || { log_tail "$PG_DIR/initdb.log"; fail "initdb failed"; }
    echo "include_if_exists = 'grm.conf'" >>"$PG_DATA/postgresql.conf"
    # Superuser only through the Unix socket as OS user postgres; everyone else by password over loopback.
    printf 'local all postgres peer\nhost all all 127.0.0.1/32 scram-sha-256\n' >"$PG_DATA/pg_hba.conf"
  fi
  cat >"$PG_DATA/grm.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_RUN'
password_encryption = 'scram-sha-256'
max_connections = 200
ssl = on
ssl_cert_file = '$PG_DIR/tls/server.pem'
ssl_key_file = '$PG_DIR/tls/server.key'
CONF
  install_tls "$PG_DIR/tls" postgres
  chown postgres:postgres "$PG_DATA/grm.conf" "$PG_DATA/pg_hba.conf"
  if pg_running; then
    echo "services-up: Postgres already running (pid $(head -n1 "$PG_DATA/postmaster.pid"))"
    # Picks up settings added since it started (ssl can change on reload).
    as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" reload >/dev/null 9>&- || fail "Postgres did not reload its configuration"
  else
    ensure_port_free "$PG_PORT" "Postgres" GRM_LOCAL_PG_PORT
    echo "services-up: starting Postgres on 127.0.0.1:$PG_PORT"
    touch "$PG_LOG"; chown postgres:postgres "$PG_LOG"
    as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t "$START_TIMEOUT" start >/dev/null 9>&- \
      || { log_tail "$PG_LOG"; fail "Postgres did not start within ${START_TIMEOUT}s (log: $PG_LOG)"; }
  fi
  local deadline=$((SECONDS + START_TIMEOUT))
  until "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -t 2; do
    ((SECONDS < deadline)) || { log_tail "$PG_LOG"; fail "Postgres does not answer on 127.0.0.1:$PG_PORT"; }
    sleep 0.5
  done
  # The worker's role grm: login, owns database grm (and its public schema), nothing else. The tests' role grm_test:
  # login and CREATEDB for the databases its fixtures make, with a landing database of its own. No other role
  # may connect to either database, nor to database postgres (CONNECT revoked from PUBLIC).
  as_postgres "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_RUN" -p "$PG_PORT" -d postgres >/dev/null <<SQL \
    || fail "could not create the Postgres roles/databases (log: $PG_LOG)"
\set pw '$PG_PASSWORD'
\set test_pw '$PG_TEST_PASSWORD'
SELECT 'CREATE ROLE grm LOGIN' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'grm') \gexec
ALTER ROLE grm LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'pw';
SELECT 'CREATE DATABASE grm OWNER grm' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'grm') \gexec
REVOKE ALL ON DATABASE grm FROM PUBLIC;
SELECT 'CREATE ROLE grm_test LOGIN' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'grm_test') \gexec
ALTER ROLE grm_test LOGIN NOSUPERUSER CREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'test_pw';
SELECT 'CREATE DATABASE grm_test OWNER grm_test' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'grm_test') \gexec
REVOKE ALL ON DATABASE grm_test FROM PUBLIC;
REVOKE CONNECT ON DATABASE postgres FROM PUBLIC;
SQL
}

# ---- RabbitMQ
rmq_login_ok() {
  GRM_RABBITMQ__PASSWORD="$RMQ_PASSWORD" /usr/bin/python3 - "$AMQP_PORT" <<'PY' 2>/dev/null
import os, sys, pika
params = pika.ConnectionParameters(host="127.0.0.1", port=int(sys.argv[1]), virtual_host="grm",
    credentials=pika.PlainCredentials("grm", os.environ["GRM_RABBITMQ__PASSWORD"]),
    connection_attempts=1, socket_timeout=5, blocked_connection_timeout=5)
pika.BlockingConnection(params).close()
PY
}

start_rabbitmq() {
  [[ -x "$RMQ_BIN/rabbitmq-server" ]] || fail "rabbitmq-server not found in $RMQ_BIN"
  rmq_env
  mkdir -p "$RMQ_DIR/home" "$RMQ_DIR/mnesia" "$RMQ_DIR/log"
  if [[ ! -s "$RMQ_DIR/home/.erlang.cookie" ]]; then
    (umask 077; gen_secret >"$RMQ_DIR/home/.erlang.cookie")
  fi
  chmod 400 "$RMQ_DIR/home/.erlang.cookie"
  : >"$RMQ_DIR/rabbitmq-env.conf"
  echo '[].' >"$RMQ_DIR/enabled_plugins"
  echo '[{kernel, [{inet_dist_use_interface, {127,0,0,1}}]}].' >"$RMQ_DIR/advanced.config"
  # default_* create the user and vhost on first boot instead of guest.
  (umask 077; cat >"$RMQ_DIR/rabbitmq.conf" <<CONF
listeners.tcp.default = 127.0.0.1:$AMQP_PORT
listeners.ssl.default = 127.0.0.1:$AMQPS_PORT
ssl_options.cacertfile = $RMQ_DIR/tls/ca.pem
ssl_options.certfile = $RMQ_DIR/tls/server.pem
ssl_options.keyfile = $RMQ_DIR/tls/server.key
ssl_options.verify = verify_none
ssl_options.fail_if_no_peer_cert = false
default_vhost = grm
default_user = grm
default_pass = $RMQ_PASSWORD
default_user_tags.management = true
default_permissions.configure = .*
default_permissions.read = .*
default_permissions.write = .*
log.console = false
log.file.level = info
CONF
  )
  install_tls "$RMQ_DIR/tls" rabbitmq
  chown -R rabbitmq:rabbitmq "$RMQ_DIR"; chmod 700 "$RMQ_DIR"

  if pid="$(rmq_pid)" && rmq_login_ok; then
    if port_open "$AMQPS_PORT"; then
      echo "services-up: RabbitMQ already running (pid $pid)"
      return
    fi
    # Started before this configuration had a TLS listener: restart it with the current one.
    echo "services-up: restarting RabbitMQ (pid $pid) to add its TLS listener on 127.0.0.1:$AMQPS_PORT"
    "$RMQ_BIN/rabbitmqctl" -q stop >/dev/null 2>&1 || true
    local wait_until=$((SECONDS + START_TIMEOUT))
    while rmq_pid >/dev/null; do ((SECONDS < wait_until)) || fail "RabbitMQ (pid $pid) did not stop"; sleep 0.5; done
  fi
  if ! rmq_pid >/dev/null; then
    ensure_port_free "$AMQP_PORT" "RabbitMQ AMQP" GRM_LOCAL_AMQP_PORT
    ensure_port_free "$AMQPS_PORT" "RabbitMQ AMQPS, GRM_LOCAL_AMQP_PORT + 1" GRM_LOCAL_AMQP_PORT
    ensure_port_free "$RMQ_DIST_PORT" "RabbitMQ's Erlang distribution, GRM_LOCAL_AMQP_PORT + 5" GRM_LOCAL_AMQP_PORT
    echo "services-up: starting RabbitMQ on 127.0.0.1:$AMQP_PORT"
    local log="$RMQ_DIR/log/startup.log" launcher
    setsid runuser -u rabbitmq -- env HOME="$HOME" "$RMQ_BIN/rabbitmq-server" >>"$log" 2>&1 </dev/null 9>&- &
    launcher=$!
    local deadline=$((SECONDS + START_TIMEOUT))
    until "$RMQ_BIN/rabbitmq-diagnostics" -q ping >/dev/null 2>&1; do
      kill -0 "$launcher" 2>/dev/null || { log_tail "$log"; log_tail "$RMQ_DIR/log/$RMQ_NODE.log"; fail "RabbitMQ exited during start-up"; }
      ((SECONDS < deadline)) || { log_tail "$log"; log_tail "$RMQ_DIR/log/$RMQ_NODE.log"; fail "RabbitMQ did not answer within ${START_TIMEOUT}s"; }
      sleep 1
    done
  fi
  "$RMQ_BIN/rabbitmqctl" -q await_startup --timeout "$START_TIMEOUT" >/dev/null \
    || { log_tail "$RMQ_DIR/log/$RMQ_NODE.log"; fail "RabbitMQ did not finish booting"; }
  if ! rmq_login_ok; then
    # Data directory from an earlier configuration: (re)create user, vhost and permissions; drop guest.
    echo "services-up: provisioning RabbitMQ user and vhost grm"
    local ctl="$RMQ_BIN/rabbitmqctl"
    "$ctl" -q list_vhosts --no-table-headers | grep -qx grm || "$ctl" -q add_vhost grm
    if "$ctl" -q list_users --no-table-headers | cut -f1 | grep -qx grm; then
      "$ctl" -q change_password grm "$RMQ_PASSWORD" >/dev/null
    else
      "$ctl" -q add_user grm "$RMQ_PASSWORD" >/dev/null
    fi
    "$ctl" -q set_permissions -p grm grm '.*' '.*' '.*'
    "$ctl" -q list_users --no-table-headers | cut -f1 | grep -qx guest && "$ctl" -q delete_user guest
    rmq_login_ok || fail "cannot log in to RabbitMQ as grm on 127.0.0.1:$AMQP_PORT vhost grm"
  fi
  port_open "$AMQPS_PORT" || { log_tail "$RMQ_DIR/log/$RMQ_NODE.log"; fail "RabbitMQ's TLS listener does not answer on 127.0.0.1:$AMQPS_PORT"; }
}

want postgres && start_postgres
want rabbitmq && start_rabbitmq

echo "services-up: ready in $((SECONDS - started))s. Settings (secrets in $GRM_CREDENTIALS; \`source deploy/local/env.sh\` exports them):"
grep '^GRM_' "$GRM_CREDENTIALS" | sed -e "s/'//g" -e 's/Password=[^;]*/Password=***/' -e 's/\(PASSWORD=\).*/\1***/'
