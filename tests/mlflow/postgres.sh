#!/usr/bin/env bash
# Opt-in, outside CI: the sync test and the http:// logging tests against
# `mlflow server` over PostgreSQL
# (Debian's postgresql), the deployment a team shares. Starts a throwaway
# cluster on 127.0.0.1:${PGPORT:-5499}, adds psycopg (binary) to the venv
# of the tests' mlflow server, and runs tests/sync.rs's and
# tests/remote_logging.rs's mlflow tests with
# that database as the server's backend store. Run as root (it installs
# postgresql with apt when missing, and runs the cluster as `postgres`):
#
#   tests/mlflow/postgres.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
port=${PGPORT:-5499}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$bin" ]; then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
fi
dir=$(mktemp -d /tmp/runlog-pg.XXXXXX)
chown postgres "$dir"
as_pg() { runuser -u postgres -- "$@"; }
as_pg "$bin/initdb" -D "$dir/data" -A trust -U postgres >/dev/null
as_pg "$bin/pg_ctl" -D "$dir/data" -o "-p $port -k $dir -c listen_addresses=127.0.0.1" -l "$dir/log" -w start >/dev/null
trap 'as_pg "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null; rm -rf "$dir"' EXIT
as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres mlflow

# The test's venv (made by the test on first use), with PostgreSQL's driver.
cargo test --release --test sync --no-run >/dev/null 2>&1
venv=target/tmp/mlflow-server-auth-3.17.2
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv.building"
  "$venv.building/bin/python" -m pip install --quiet --disable-pip-version-check mlflow==3.17.2
  mv "$venv.building" "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "psycopg[binary]"

RUNLOG_MLFLOW_BACKEND_URI="postgresql://postgres@127.0.0.1:$port/mlflow" \
  cargo test --release --test sync mlflow_server -- --nocapture
echo "== sync against mlflow server over PostgreSQL: passed"
# Logging through an http:// tracking URI (one server at a time: they
# share the database).
RUNLOG_MLFLOW_BACKEND_URI="postgresql://postgres@127.0.0.1:$port/mlflow" \
  cargo test --release --test remote_logging mlflow_server -- --nocapture --test-threads=1
echo "== logging through http:// to mlflow server over PostgreSQL: passed"
