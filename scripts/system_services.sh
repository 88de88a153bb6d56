#!/usr/bin/env bash
# The Debian packages the production-shaped system deployment needs (PostgreSQL as Airflow's metadata database,
# Redis as Celery's broker). Idempotent: installs only what is missing. The services are NOT started here: the
# test harness starts a throw-away PostgreSQL cluster and Redis server per run on 127.0.0.1 and stops them again
# (tests/system/production/services.py). Needs root (or sudo) for apt-get.
set -euo pipefail
need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
if ((${#need[@]} == 0)); then
  echo "system services: postgresql and redis-server already installed"
  exit 0
fi
sudo=()
if [[ $(id -u) -ne 0 ]]; then sudo=(sudo); fi
echo "system services: installing ${need[*]}"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Debian's packages start their own system-wide services where an init system runs; the harness needs none of them.
for svc in postgresql redis-server; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    "${sudo[@]}" systemctl stop "$svc" || true
  fi
done
echo "system services: installed ${need[*]}"
