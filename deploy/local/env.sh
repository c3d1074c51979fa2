#!/usr/bin/env bash
# The connection settings written by services-up.sh (.local/credentials.env), including secrets.
#   source deploy/local/env.sh      exports GRM_POSTGRES__CONNECTIONSTRING, GRM_RABBITMQ__* in this shell
#   deploy/local/env.sh             prints them as `export NAME='value'` lines (for eval or other tools)
_grm_credentials="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/.local/credentials.env"
if [[ ! -f "$_grm_credentials" ]]; then
  echo "env.sh: $_grm_credentials not found; run deploy/local/services-up.sh first" >&2
  if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then unset _grm_credentials; return 1; else exit 1; fi
fi
if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then
  set -a; . "$_grm_credentials"; set +a
  unset _grm_credentials
else
  sed -n "s/^\(GRM_[A-Z_]*=\)/export \1/p" "$_grm_credentials"
fi
