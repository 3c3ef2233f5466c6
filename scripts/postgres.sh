#!/usr/bin/env bash
# A throwaway PostgreSQL server for the hub's tests (CI and developers; `make test-hub-pg` uses it).
#
#   scripts/postgres.sh start DIR   make a cluster in DIR (new or empty), start it on a free loopback port,
#                                   print its URL (postgresql+asyncpg://postgres@127.0.0.1:PORT/postgres)
#   scripts/postgres.sh url DIR     print the URL of the cluster running in DIR
#   scripts/postgres.sh stop DIR    stop it and remove DIR (only a DIR this script made, or an empty one)
#   scripts/postgres.sh bindir      print the folder of PostgreSQL's server programs; exit 1 if not installed
#
# The server trusts every connection (no password) but listens on 127.0.0.1 and in DIR only, and runs
# without fsync: for tests, never for data. As root (CI), it runs as user postgres: PostgreSQL refuses root.
# Installing PostgreSQL is up to the caller (Debian/Ubuntu: apt-get install postgresql; .ci/run does it).
set -euo pipefail

MARK=.candor-postgres # in DIR: made by this script, so `stop` may remove it

die() {
  echo "postgres.sh: $*" >&2
  exit 1
}

bindir() {
  local found dir
  if found=$(command -v initdb 2>/dev/null); then
    dirname "$(readlink -f "$found")"
    return
  fi
  # Debian and Ubuntu keep the server programs off PATH; RHEL-likes in /usr/pgsql-N. Newest version first.
  for dir in $(printf '%s\n' /usr/lib/postgresql/*/bin /usr/pgsql-*/bin | sort -V -r); do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
      echo "$dir"
      return
    fi
  done
  return 1
}

# Run a server program as the user who owns the cluster: postgres when we are root, else ourselves.
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
  local dir=$1 bin port
  bin=$(bindir) || die "PostgreSQL is not installed (initdb not found; Debian/Ubuntu: apt-get install postgresql)"
  if [ -f "$dir/url" ] && as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    cat "$dir/url" # already running here
    return
  fi
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [ -n "$(ls -A "$dir")" ] && [ ! -f "$dir/$MARK" ]; then
    die "$dir is not empty and was not made by this script: give a new or empty folder"
  fi
  if [ -d "$dir/data" ]; then # a stopped cluster left here: throwaway, start afresh
    rm -rf "${dir:?}/data" "$dir/url" "$dir/log"
  fi
  touch "$dir/$MARK"
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || die "running as root needs the user postgres (the PostgreSQL package makes it)"
    chown postgres: "$dir"
    as_owner test -w "$dir" || die "user postgres cannot write to $dir: give a folder it can reach (under /tmp)"
  fi
  as_owner "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 ||
    {
      cat "$dir/initdb.log" >&2
      die "initdb failed"
    }
  # A free port can be taken between asking and binding: try a few.
  for _ in 1 2 3 4 5; do
    port=$(free_port)
    if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 -o "-p $port -k '$dir' \
      -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      start >/dev/null; then
      echo "postgresql+asyncpg://postgres@127.0.0.1:$port/postgres" >"$dir/url"
      cat "$dir/url"
      return
    fi
  done
  tail -n 20 "$dir/log" >&2 || true
  die "the server did not start (log: $dir/log)"
}

url() {
  local dir=$1
  [ -f "$dir/url" ] || die "no cluster in $dir (start one: scripts/postgres.sh start $dir)"
  cat "$dir/url"
}

stop() {
  local dir=$1 bin
  [ -d "$dir" ] || return 0
  if [ -z "$(ls -A "$dir")" ]; then
    rmdir "$dir"
    return
  fi
  [ -f "$dir/$MARK" ] || die "$dir was not made by this script: not removing it"
  if [ -f "$dir/data/postmaster.pid" ]; then
    bin=$(bindir) || die "PostgreSQL is not installed: cannot stop the server in $dir"
    if as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
      as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null
    fi
  fi
  rm -rf "${dir:?}"
}

command=${1:-}
case "$command" in
start | url | stop)
  [ $# -eq 2 ] || die "usage: $0 $command DIR"
  "$command" "$2"
  ;;
bindir)
  bindir || die "PostgreSQL is not installed (initdb not found)"
  ;;
*)
  echo "usage: $0 start DIR | url DIR | stop DIR | bindir" >&2
  exit 2
  ;;
esac
