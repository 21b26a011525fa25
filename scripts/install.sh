#!/bin/bash
# install.sh - install resque-worker as a systemd service (idempotent: safe to run again, e.g.
# after an upgrade; it never overwrites a config file that exists).
#
#   scripts/install.sh [options]
#
#   --app-dir DIR     run the code at DIR as it is (a checkout or an unpacked release) instead of
#                     copying this checkout to /opt/resque-worker
#   --prefix DIR      where to copy the code (default /opt/resque-worker)
#   --config FILE     config to install when none exists yet (default: a minimal starter)
#   --instance NAME   install for the template unit resque-worker@NAME, config /etc/resque-worker/NAME.json
#   --enable          systemctl enable the unit
#   --start           systemctl (re)start the unit (restart if it already runs)
#   --no-apt          do not apt-get install missing system packages; fail instead
#   --no-systemctl    do not call systemctl at all (image builds, chroots)
#
# Steps: system packages (redis-server, libsystemd-dev, g++, make, python3 when missing; Node 20
# must be there already) -> a `resque` system user -> the code + `npm ci --omit=dev` when
# node_modules is missing or older than package-lock.json -> the compiled daemon (dist/): copied
# from this checkout when it is up to date there, else built in place when missing or older than
# src/ (`npm ci` with the dev dependencies, `npm run build`, `npm prune --omit=dev`) -> the unit
# files in /etc/systemd/system (ExecStart pointed at the code) -> /etc/resque-worker/<config> if
# absent -> daemon-reload -> optional enable/start. Needs root.
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PREFIX=/opt/resque-worker
APP_DIR=
CONFIG_SRC=
INSTANCE=
ENABLE=
START=
APT=1
SYSTEMCTL=1
FORCE_BUILD=
USER_NAME=resque
ETC=/etc/resque-worker
UNIT_DIR=/etc/systemd/system

say() { printf 'install: %s\n' "$*"; }
die() { printf 'install: error: %s\n' "$*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

while [ $# -gt 0 ]; do
  case $1 in
    --app-dir) APP_DIR=${2:?--app-dir needs a directory}; shift 2 ;;
    --prefix) PREFIX=${2:?--prefix needs a directory}; shift 2 ;;
    --config) CONFIG_SRC=${2:?--config needs a file}; shift 2 ;;
    --instance) INSTANCE=${2:?--instance needs a name}; shift 2 ;;
    --enable) ENABLE=1; shift ;;
    --start) START=1; shift ;;
    --no-apt) APT=; shift ;;
    --no-systemctl) SYSTEMCTL=; shift ;;
    -h | --help) usage 0 ;;
    *) printf 'install: unknown option %s\n\n' "$1" >&2; usage 2 ;;
  esac
done

[ "$(id -u)" = 0 ] || die "must run as root (it creates a user and writes /etc)"
if [ -n "$INSTANCE" ]; then
  [[ $INSTANCE =~ ^[A-Za-z0-9_.-]+$ ]] || die "--instance: use letters, digits, '.', '_' or '-', got '$INSTANCE'"
  UNIT="resque-worker@$INSTANCE.service"; CONFIG="$ETC/$INSTANCE.json"
else
  UNIT=resque-worker.service; CONFIG="$ETC/config.json"
fi
[ -z "$CONFIG_SRC" ] || [ -r "$CONFIG_SRC" ] || die "--config $CONFIG_SRC: not readable"

# ---- 1. Node.js (first: nothing is installed for a host that cannot run the daemon), then the
# system packages: checked by file, not dpkg, so a container sharing the host's /usr works
NODE=$(command -v node) || die "node not found: install Node.js 20 or later first"
node_major=$("$NODE" -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || die "Node.js 20 or later needed, found $("$NODE" --version)"
need_pkgs=()
command -v redis-server >/dev/null || need_pkgs+=(redis-server)
command -v redis-cli >/dev/null || need_pkgs+=(redis-tools)
# only to build the sd-notify addon (npm ci); at run time libsystemd0 is enough
[ -e /usr/include/systemd/sd-daemon.h ] || need_pkgs+=(libsystemd-dev)
command -v g++ >/dev/null || need_pkgs+=(g++)
command -v make >/dev/null || need_pkgs+=(make)
command -v python3 >/dev/null || need_pkgs+=(python3)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  [ -n "$APT" ] || die "missing packages: ${need_pkgs[*]} (rerun without --no-apt, or install them)"
  command -v apt-get >/dev/null || die "missing packages: ${need_pkgs[*]} and no apt-get: install them yourself"
  say "apt-get install ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "${need_pkgs[@]}" ||
    { apt-get update && apt-get install -y --no-install-recommends "${need_pkgs[@]}"; }
fi
# Ubuntu 22.04 ships Redis 6.0; the daemon refuses anything before 6.2 (src/redis/connection.ts).
redis_version=$(redis-server --version | sed -n 's/.* v=\([0-9.]*\).*/\1/p')
if [ -n "$redis_version" ] && ! printf '%s\n' 6.2 "$redis_version" | sort -V -C; then
  say "warning: the local redis-server is $redis_version; resque-worker needs 6.2 or later: install a"
  say "         newer one (packages.redis.io) or point redis.url at one"
fi

# ---- 2. the service user: no login, no home
if ! getent passwd "$USER_NAME" >/dev/null; then
  say "creating system user $USER_NAME"
  useradd --system --user-group --home-dir /nonexistent --no-create-home \
    --shell /usr/sbin/nologin --comment "Resque worker" "$USER_NAME"
fi

# ---- 3. the code
if [ -n "$APP_DIR" ]; then
  APP_DIR=$(cd "$APP_DIR" && pwd) || die "--app-dir $APP_DIR: not a directory"
else
  APP_DIR=$PREFIX
  if [ "$SRC" != "$APP_DIR" ]; then
    mkdir -p "$APP_DIR"
    # only what runs (and builds dist/): no tests, no git history, no node_modules (npm ci builds
    # those for this host); what is already identical is left alone. dist/ comes along when it is up
    # to date with src/ here (npm run build, npm test); cp -a keeps the times it is compared by.
    src_dist=
    if "$NODE" "$SRC/bin/dist-state.mjs" "$SRC" >/dev/null 2>&1; then src_dist=dist; fi
    copied=
    for d in bin src config docs examples $src_dist; do
      if [ -d "$SRC/$d" ] && ! diff -rq "$SRC/$d" "$APP_DIR/$d" >/dev/null 2>&1; then
        rm -rf "${APP_DIR:?}/$d"; cp -a "$SRC/$d" "$APP_DIR/$d"; copied+=" $d"
      fi
    done
    for f in package.json package-lock.json README.md LICENSE tsconfig.json tsconfig.build.json scripts/build.mjs; do
      if [ -e "$SRC/$f" ] && ! cmp -s "$SRC/$f" "$APP_DIR/$f"; then
        mkdir -p "$(dirname "$APP_DIR/$f")"; cp -a "$SRC/$f" "$APP_DIR/$f"; copied+=" $f"
      fi
    done
    # new src/ without its dist/: build, whatever the file times say
    if [[ " $copied " == *" src "* ]] && [ -z "$src_dist" ]; then FORCE_BUILD=1; fi
    if [ -n "$copied" ]; then
      say "installing the code in $APP_DIR:$copied"
      chown -R root:root "$APP_DIR"; chmod -R u=rwX,go=rX "$APP_DIR"
    fi
  fi
fi
[ -f "$APP_DIR/bin/resque-worker.mjs" ] || die "$APP_DIR/bin/resque-worker.mjs not found: not a resque-worker tree"
for p in "$APP_DIR" "$NODE"; do
  case $p in
    /home/* | /root/* | /run/user/*) say "warning: $p is hidden from the service by ProtectHome=yes: add ProtectHome=read-only with systemctl edit $UNIT" ;;
  esac
done
# node_modules is stale when package-lock.json changed since the last npm ci, or Node's ABI did (the
# sd-notify addon is built for one): our stamp holds both; without it (npm ci run by hand), compare
# with npm's own node_modules/.package-lock.json. An unpacked npm package has no lock file: then
# package.json stands for it, and npm install for npm ci.
lock=$APP_DIR/package-lock.json stamp=$APP_DIR/node_modules/.resque-worker-lock.sha256
npm_install=(npm ci)
if [ ! -e "$lock" ]; then lock=$APP_DIR/package.json npm_install=(npm install --no-package-lock); fi
lock_sum="$(sha256sum "$lock" | cut -d' ' -f1) node-abi-$("$NODE" -p process.versions.modules)"
stale=
if [ ! -d "$APP_DIR/node_modules" ]; then stale="node_modules is missing"
elif [ -e "$stamp" ]; then [ "$(cat "$stamp")" = "$lock_sum" ] || stale="${lock##*/} or Node's ABI changed"
elif [ "$lock" -nt "$APP_DIR/node_modules/.package-lock.json" ]; then stale="${lock##*/} is newer than node_modules"
fi
# dist/ (the daemon compiled by `npm run build`) needs a build when bin/dist-state.mjs says it is
# missing or older than src/; without one the service runs src/ through tsx (~20 MB more per worker)
unbuilt=$("$NODE" "$APP_DIR/bin/dist-state.mjs" "$APP_DIR") && unbuilt=
[ -z "$FORCE_BUILD" ] || unbuilt="src/ was updated"
can_npm=
if [ -w "$APP_DIR" ] && command -v npm >/dev/null; then can_npm=1; fi
# node-gyp (the sd-notify addon) uses the installed headers instead of downloading them
if [ -e /usr/include/node/node.h ]; then export npm_config_nodedir=${npm_config_nodedir:-/usr}; fi
if [ -n "$unbuilt" ] && [ -n "$can_npm" ]; then
  if [ -z "$stale" ] && [ -e "$APP_DIR/node_modules/typescript/bin/tsc" ]; then
    say "npm run build in $APP_DIR ($unbuilt)"
    (cd "$APP_DIR" && "$NODE" scripts/build.mjs)
  else
    # typescript is a dev dependency: in for the build, out again after it
    say "${npm_install[*]}, npm run build, npm prune --omit=dev in $APP_DIR ($unbuilt${stale:+; $stale})"
    (cd "$APP_DIR" && "${npm_install[@]}" --no-audit --no-fund && "$NODE" scripts/build.mjs && npm prune --omit=dev --no-audit --no-fund)
    echo "$lock_sum" >"$stamp"
  fi
  # readable by the service user; and a checkout given with --app-dir stays its owner's to rebuild
  # (npm run as root leaves node_modules root's)
  chown -R --reference="$APP_DIR" "$APP_DIR/dist" "$APP_DIR/node_modules"; chmod -R u=rwX,go=rX "$APP_DIR/dist"
  unbuilt=
elif [ -n "$stale" ] && [ -n "$can_npm" ]; then
  say "${npm_install[*]} --omit=dev in $APP_DIR ($stale)"
  (cd "$APP_DIR" && "${npm_install[@]}" --omit=dev --no-audit --no-fund)
  echo "$lock_sum" >"$stamp"
  chown -R --reference="$APP_DIR" "$APP_DIR/node_modules"
elif [ -n "$stale" ]; then
  [ -d "$APP_DIR/node_modules" ] || die "$stale and npm ci cannot run ($APP_DIR read-only or no npm): run npm ci --omit=dev there"
  say "warning: $stale, but npm ci cannot run here ($APP_DIR read-only or no npm); using it as it is"
fi
if [ -n "$unbuilt" ]; then
  say "warning: $unbuilt, and it cannot be built here ($APP_DIR read-only or no npm): the service runs"
  say "         src/ through tsx; run npm ci && npm run build in $APP_DIR for the compiled daemon"
fi
# Type=notify needs the addon: the unit's NotifyAccess=main (and no capabilities) leaves the
# fallback, systemd-notify --pid, unheard, so the unit would never become ready.
sd_notify_loads() { (cd "$APP_DIR" && "$NODE" -e 'require("sd-notify")' >/dev/null 2>&1); }
if ! sd_notify_loads && [ -n "$can_npm" ]; then
  say "npm rebuild sd-notify in $APP_DIR (its addon does not load)"
  (cd "$APP_DIR" && npm rebuild sd-notify --no-audit --no-fund) || true
  chown -R --reference="$APP_DIR" "$APP_DIR/node_modules"
fi
sd_notify_loads || die "the sd-notify addon does not load in $APP_DIR (built for another Node, or without
  libsystemd-dev and a compiler?); the unit cannot tell systemd it is ready without it: run npm rebuild
  sd-notify there after installing them"

# ---- 4. units, with ExecStart and the paths pointing at the code
install_unit() { # install_unit NAME: rewrite /opt/resque-worker to APP_DIR, replace only if changed
  local tmp; tmp=$(mktemp)
  sed -e "s|/opt/resque-worker|$APP_DIR|g" -e "s|^ExecStart=/usr/bin/node |ExecStart=$NODE |" \
    "$SRC/systemd/$1" >"$tmp"
  if cmp -s "$tmp" "$UNIT_DIR/$1"; then rm -f "$tmp"; else
    say "installing $UNIT_DIR/$1"; install -m 0644 "$tmp" "$UNIT_DIR/$1"; rm -f "$tmp"; fi
}
install_unit resque-worker.service
install_unit resque-worker@.service

# ---- 5. config: readable by the service user only (it may hold a Redis password); never overwritten
install -d -m 0750 -o root -g "$USER_NAME" "$ETC"
if [ -e "$CONFIG" ]; then
  say "keeping existing $CONFIG"
else
  say "writing $CONFIG"
  if [ -n "$CONFIG_SRC" ]; then
    install -m 0640 -o root -g "$USER_NAME" "$CONFIG_SRC" "$CONFIG"
  else
    pidfile=/run/resque-worker/supervisor.pid
    [ -z "$INSTANCE" ] || pidfile=/run/resque-worker-$INSTANCE/supervisor.pid
    tmp=$(mktemp)
    cat >"$tmp" <<EOF
{
  "redis": { "url": "redis://127.0.0.1:6379", "namespace": "resque" },
  "jobs": [],
  "queues": "*",
  "worker": { "concurrency": 1, "interval": 5 },
  "supervisor": { "count": 2, "groups": [], "shutdownTimeout": 25, "pidfile": "$pidfile" },
  "log": { "level": "info" }
}
EOF
    install -m 0640 -o root -g "$USER_NAME" "$tmp" "$CONFIG"; rm -f "$tmp"
    say "edit $CONFIG: list your job modules in \"jobs\", then reload; until then the pool runs no workers (docs/systemd.md)"
  fi
fi
if ! (cd / && "$NODE" "$APP_DIR/bin/resque-worker.mjs" config check --config "$CONFIG" >/dev/null); then
  say "warning: $CONFIG does not validate (see above); the service will not start until it does"
fi

# ---- 6. systemd
if [ -n "$SYSTEMCTL" ]; then
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    [ -z "$ENABLE" ] || systemctl enable "$UNIT"
    if [ -n "$START" ]; then say "starting $UNIT"; systemctl restart "$UNIT"; fi
  else
    say "systemd is not running here: skipped daemon-reload/enable/start"
  fi
fi
say "done: $UNIT runs $APP_DIR as $USER_NAME with $CONFIG"
