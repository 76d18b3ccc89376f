# shellcheck shell=bash
# Sourced by scripts/test and bench scripts: makes a PostgreSQL server available and exports
# TEST_DATABASE_URL. When something already listens on 127.0.0.1:5432 it is used as is
# (user postgres, trust auth); otherwise a throwaway cluster is started in a temp dir on a free
# port and stopped when the calling script exits. Installs Debian's postgresql when absent (root).

pg_bin_dir() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  return 1
}

ensure_postgres() {
  if [ -n "${TEST_DATABASE_URL:-}" ]; then
    echo "postgres: using TEST_DATABASE_URL"
    return 0
  fi
  if (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
    export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres"
    echo "postgres: using the server on 127.0.0.1:5432"
    return 0
  fi
  local bin
  if ! bin=$(pg_bin_dir); then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      echo "postgres: installing Debian's postgresql package"
      apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
      bin=$(pg_bin_dir) || { echo "postgres: no initdb after install" >&2; return 1; }
    else
      echo "postgres: no server on 127.0.0.1:5432 and no PostgreSQL binaries; set TEST_DATABASE_URL" >&2
      return 1
    fi
  fi
  PG_TMP=$(mktemp -d /tmp/jh-pg.XXXXXX)
  local port=$((54000 + RANDOM % 900))
  local run=()
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown postgres "$PG_TMP"
    run=(runuser -u postgres --)
  fi
  "${run[@]}" "$bin/initdb" -D "$PG_TMP/data" -U postgres -A trust >/dev/null
  "${run[@]}" "$bin/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/log" -w \
    -o "-p $port -k $PG_TMP -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" start >/dev/null
  PG_STOP=("${run[@]}" "$bin/pg_ctl" -D "$PG_TMP/data" -m fast stop)
  trap 'stop_postgres' EXIT
  export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
  echo "postgres: started a throwaway cluster on 127.0.0.1:$port"
}

stop_postgres() {
  if [ -n "${PG_TMP:-}" ]; then
    "${PG_STOP[@]}" >/dev/null 2>&1 || true
    rm -rf "$PG_TMP"
    echo "postgres: stopped the throwaway cluster"
  fi
}
