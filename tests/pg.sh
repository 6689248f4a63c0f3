#!/usr/bin/env bash
# Prints the URL of a PostgreSQL server the integration tests may create databases on
# (postgres://USER@HOST:PORT, trust authentication): $TANYA_TEST_PG when it answers, else the
# machine's own on 127.0.0.1:5432 when it answers as root, else a private server started here
# from Debian's binaries (installed when missing) in a temporary folder, on a free port, as the
# `postgres` user (PostgreSQL refuses to run as root). The private server is left running for
# the rest of the test run; its folder is under /tmp.
set -euo pipefail

answers() { psql "$1/postgres" -Atqc 'SELECT 1' >/dev/null 2>&1; }

# The server's own programs are needed in any case: tests/it/pg_outage.rs starts a server of its
# own to stop and start it.
if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ! command -v psql >/dev/null 2>&1; then
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
fi

if [ -n "${TANYA_TEST_PG:-}" ] && answers "$TANYA_TEST_PG"; then
  echo "$TANYA_TEST_PG"; exit 0
fi
if command -v psql >/dev/null 2>&1 && answers "postgres://root@127.0.0.1:5432"; then
  echo "postgres://root@127.0.0.1:5432"; exit 0
fi
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
dir=$(mktemp -d /tmp/tanya-pg.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
run() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; fi
run "$bin/initdb" -D "$dir/data" -A trust -U postgres >/dev/null
run "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
  -o "-h 127.0.0.1 -p $port -k $dir -c fsync=on" start >/dev/null
me=$(id -un)
psql "postgres://postgres@127.0.0.1:$port/postgres" -qc "CREATE ROLE \"$me\" SUPERUSER LOGIN" >/dev/null
echo "postgres://$me@127.0.0.1:$port"
