#!/bin/bash
# systemd-e2e.sh - our shipped unit files and the real daemon under a REAL systemd (issue 5).
#
# Boots a throw-away systemd-nspawn container: a tiny rootfs (FHS skeleton + a copy of the host's
# /etc) with the host's /usr bind-mounted read-only, so systemd, node, redis-server, g++ and Node's
# headers are the host's. The checkout is bind-mounted read-only at /src/resque-worker, and the
# README's first command, run there, installs it: the code copied to /opt/resque-worker with
# `npm ci --omit=dev` (from the host's npm cache: the container has no network), user `resque`, the
# units, a starter config, the unit enabled and started. The checks then drive the units with
# systemctl while reading Redis (redis-server runs inside, --private-network) and the journal.
# Prints PASS/FAIL per check and `N passed, N failed`; exit code 0 only when all pass. The container
# is powered off and its cgroups and rootfs removed at the end, also on failure or SIGINT/SIGTERM.
#
#   sudo scripts/systemd-e2e.sh            (root; node_modules built: npm ci; dist/ is built if stale)
#
# Needs: systemd, systemd-container (systemd-nspawn), util-linux (nsenter), redis-server (+ redis-cli),
# Node 20, node_modules with the sd-notify addon built (libsystemd-dev, g++, make, python3).
# npm ci run on the host first fills the npm cache that the install in the container reads.
# Knobs: E2E_NPM_CACHE (default: npm config get cache); E2E_KEEP=1 leaves the container running (prints how to enter it); E2E_MACHINE names it;
# E2E_LIFETIME bounds the container's life in seconds (default 420); E2E_ONLY="check_crash ..."
# runs only those check groups (after check_start); E2E_VERBOSE=1 prints each group's duration.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MACHINE=${E2E_MACHINE:-rw-e2e-$$}
LIFETIME=${E2E_LIFETIME:-420}
CHECKOUT=/src/resque-worker             # the checkout, read-only inside the container
APP=/opt/resque-worker                  # where the README's install command puts the code
NPM_CACHE=${E2E_NPM_CACHE:-}
UNIT=resque-worker
CONF=/etc/resque-worker/config.json
JOBS=$CHECKOUT/test/systemd/fixtures/jobs
NS=resque                               # Redis namespace of the test configs
Q=e2e                                   # queue of the main unit
COUNT=2                                 # workers at start
CUR=$COUNT                              # workers configured now (the reload check raises it to 3)
SHUTDOWN_TIMEOUT=3                      # supervisor.shutdownTimeout in the test config (s)
PASSES=0 FAILS=0 LEADER= NSPAWN_PID= WORK=

now() { date +%s.%N; }
dt() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1f", b-a}'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN{exit !(a<b)}'; }
say() { printf '%s\n' "$*"; }
pass() { PASSES=$((PASSES + 1)); printf 'PASS  %-44s %s\n' "$1" "${2:-}"; }
fail() {
  FAILS=$((FAILS + 1)); printf 'FAIL  %-44s %s\n' "$1" "${2:-}"
  # enough context to debug a CI failure from its log alone
  [ -n "$LEADER" ] && T=10 ct journalctl -q --no-pager -n 25 -o cat -u "${3:-$UNIT}" 2>/dev/null | sed 's/^/      | /'
}
# check NAME DETAIL COMMAND...: PASS when COMMAND succeeds
check() { local name=$1 detail=$2; shift 2; if "$@"; then pass "$name" "$detail"; else fail "$name" "$detail"; fi; }
die() { printf 'FAIL  %-44s %s\n' "setup" "$*"; FAILS=$((FAILS + 1)); summary; exit 1; }
summary() { say "$PASSES passed, $FAILS failed"; }
# wait_for SECONDS COMMAND...: poll until COMMAND succeeds; 1 on timeout
wait_for() {
  local end; end=$(awk -v t="$1" -v n="$(now)" 'BEGIN{printf "%.3f", n+t}'); shift
  until "$@"; do lt "$(now)" "$end" || return 1; sleep 0.1; done
}

# ---------------------------------------------------------------- the container
# run a command inside the container (all its namespaces), with a clean environment
ct() {
  timeout "${T:-30}" nsenter -t "$LEADER" -m -u -i -n -p -C \
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 SYSTEMD_PAGER= SYSTEMD_COLORS=0 "$@"
}
sc() { ct systemctl "$@"; }
prop() { ct systemctl show -p "$1" --value "${2:-$UNIT}"; }
rcli() { ct redis-cli --raw "$@"; }
enqueue() { ct node "$APP/bin/resque-worker.mjs" enqueue --redis redis://127.0.0.1:6379 "$@" >/dev/null; }
cursor() { ct journalctl -q --no-pager -n 0 --show-cursor | sed -n 's/^-- cursor: //p'; }
jlog() { ct journalctl -q --no-pager -o cat -u "${2:-$UNIT}" --after-cursor="$1"; }
in_list() { rcli lrange "$1" 0 -1 | grep -qx -- "$2"; }
count_in() { rcli lrange "$1" 0 -1 | grep -cx -- "$2"; }
is_state() { [ "$(sc is-active "${2:-$UNIT}")" = "$1" ]; }
# worker ids registered in Redis (host:pid:queues) whose process is a child of the unit's main pid
live_ids() {
  local main id; main=$(prop MainPID "${1:-$UNIT}")
  for id in $(rcli smembers "$NS:workers"); do
    [ "$(ct ps -o ppid= -p "$(cut -d: -f2 <<<"$id")" 2>/dev/null | tr -d ' ')" = "$main" ] && echo "$id"
  done
  return 0
}
live_workers() { live_ids "$@" | wc -l; }
still_registered() { local id n=0; for id in "$@"; do [ "$(rcli sismember "$NS:workers" "$id")" = 1 ] && n=$((n + 1)); done; echo "$n"; }
workers_are() { [ "$(live_workers "${2:-$UNIT}")" = "$1" ]; }
write_file() { ct sh -c 'cat >"$1"' sh "$1"; }   # write_file PATH <content
# a test config: write_config PATH QUEUES COUNT [PIDFILE]
write_config() {
  write_file "$1" <<EOF
{
  "redis": { "url": "redis://127.0.0.1:6379", "namespace": "$NS" },
  "jobs": ["$JOBS"],
  "queues": "$2",
  "worker": { "concurrency": 1, "interval": 0.5, "heartbeatInterval": 2 },
  "supervisor": { "count": $3, "shutdownTimeout": $SHUTDOWN_TIMEOUT, "pidfile": "${4:-/run/resque-worker/supervisor.pid}" },
  "log": { "level": "info" }
}
EOF
}
dropin() {   # dropin UNIT LINE...: a runtime drop-in for one check, then daemon-reload
  local u=$1; shift
  ct sh -c 'd=/run/systemd/system/$1.service.d; shift; mkdir -p "$d"; printf "[Service]\n" >"$d/e2e.conf";
            printf "%s\n" "$@" >>"$d/e2e.conf"; systemctl daemon-reload' sh "$u" "$@"
}
nodropin() { ct sh -c 'rm -rf /run/systemd/system/$1.service.d; systemctl daemon-reload' sh "$1"; }

cgroup_dirs() {   # a private cgroup per container: nspawn creates payload/ and supervisor/ below its own
  if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then echo "/sys/fs/cgroup/$MACHINE"; else
    [ -d /sys/fs/cgroup/unified ] && echo "/sys/fs/cgroup/unified/$MACHINE"
    [ -d /sys/fs/cgroup/systemd ] && echo "/sys/fs/cgroup/systemd/$MACHINE"
  fi
}

build_rootfs() {   # FHS skeleton + a copy of the host's /etc; /usr comes from the host at boot
  local r=$WORK/rootfs
  mkdir -p "$r"/{usr,etc,var,run,tmp,proc,sys,dev,root,home,srv,opt,mnt,src/resque-worker,var/cache/e2e-npm}
  chmod 1777 "$r/tmp"; chmod 700 "$r/root"
  for l in bin sbin lib lib64; do ln -s "usr/$l" "$r/$l"; done
  cp -a /etc/. "$r/etc/"
  rm -rf "$r"/etc/systemd/system/*.wants       # do not start the host's enabled services
  # a fresh install: nothing of ours from the host
  rm -rf "$r/etc/resque-worker" "$r"/etc/systemd/system/resque-worker*
  for f in passwd group shadow gshadow; do [ -e "$r/etc/$f" ] && sed -i '/^resque:/d' "$r/etc/$f"; done
  # nspawn checks os-release before it applies --bind-ro=/usr (the host's is a symlink into /usr)
  rm -f "$r/etc/os-release"; cp /usr/lib/os-release "$r/etc/os-release"
  systemd-id128 new >"$r/etc/machine-id"
  echo "$MACHINE" >"$r/etc/hostname"
  printf 'd /var/lib/redis 0750 redis redis -\nd /var/log/redis 2750 redis adm -\n' >"$r/etc/tmpfiles.d/e2e-redis.conf"
}

boot() {
  local t0 d i st; t0=$(now)
  # --register=no --keep-unit: no machined or system bus on a host whose PID 1 is not systemd.
  # --private-network: only lo, so the container's redis on 6379 never meets the host's.
  # The container gets the unified cgroup hierarchy (cgroup v2, as a current host has), where systemd
  # learns reliably that a unit's cgroup is empty; on a legacy hierarchy inside a container it may
  # wait TimeoutStopSec for that after a SIGKILL.
  (
    export SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1
    for d in $(cgroup_dirs); do mkdir -p "$d" && echo "$BASHPID" >"$d/cgroup.procs"; done
    exec timeout --kill-after=10 "$LIFETIME" systemd-nspawn -D "$WORK/rootfs" --register=no --keep-unit \
      -M "$MACHINE" --console=read-only --private-network --bind-ro=/usr --bind-ro="$ROOT:$CHECKOUT" \
      --overlay="${NPM_CACHE//:/\\:}::/var/cache/e2e-npm" -b
  ) >"$WORK/console.log" 2>&1 </dev/null &
  NSPAWN_PID=$!
  # the container's PID 1 as seen from here: the first descendant in another pid namespace
  local ns p c cns; ns=$(readlink /proc/self/ns/pid)
  for i in $(seq 1 200); do
    p=$NSPAWN_PID
    while c=$(ps -o pid= --ppid "$p" | tr -d ' ' | head -1); [ -n "$c" ]; do
      cns=$(readlink "/proc/$c/ns/pid" 2>/dev/null)
      if [ -n "$cns" ] && [ "$cns" != "$ns" ]; then LEADER=$c; break 2; fi
      p=$c
    done
    kill -0 "$NSPAWN_PID" 2>/dev/null || break
    sleep 0.05
  done
  [ -n "$LEADER" ] || { sed 's/^/      | /' "$WORK/console.log"; die "the container did not start"; }
  # is-system-running --wait answers `offline` when asked before PID 1 has set up /run/systemd
  T=5 wait_for 10 ct test -S /run/systemd/private || die "no systemd in the container"
  st=$(T=60 ct systemctl is-system-running --wait)
  check "boot: systemd is running" "$st after $(dt "$t0" "$(now)")s" test "$st" = running
}

down() {
  local t0; t0=$(now)
  if [ -n "$NSPAWN_PID" ] && kill -0 "$NSPAWN_PID" 2>/dev/null; then
    # a clean poweroff stops the units (bounded by their TimeoutStopSec); then nspawn exits
    [ -n "$LEADER" ] && T=10 ct systemctl poweroff --no-block >/dev/null 2>&1
    timeout 30 tail --pid="$NSPAWN_PID" -f /dev/null || kill -TERM "$NSPAWN_PID" 2>/dev/null
    timeout 10 tail --pid="$NSPAWN_PID" -f /dev/null || kill -KILL "$NSPAWN_PID" 2>/dev/null
  fi
  # never leave the container's PID 1 behind (killing it ends its whole pid namespace)
  if [ -n "$LEADER" ] && kill -0 "$LEADER" 2>/dev/null; then
    kill -KILL "$LEADER" 2>/dev/null; timeout 10 tail --pid="$LEADER" -f /dev/null
  fi
  local d; for d in $(cgroup_dirs); do [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null; done
  rm -rf "/run/systemd/nspawn/propagate/$MACHINE" 2>/dev/null
  [ -n "$WORK" ] && rm -rf "$WORK"
  say "container $MACHINE powered off and removed in $(dt "$t0" "$(now)")s"
}

on_exit() {
  local rc=$?
  if [ -n "${E2E_KEEP:-}" ] && [ -n "$LEADER" ]; then
    say "E2E_KEEP: container $MACHINE left running; enter: nsenter -t $LEADER -m -u -i -n -p -C bash; stop: kill $NSPAWN_PID"
  else down; fi
  exit "$rc"
}

preflight() {
  [ "$(id -u)" = 0 ] || die "must run as root (systemd-nspawn)"
  local c; for c in systemd-nspawn nsenter redis-server redis-cli node npm systemd-id128; do
    command -v "$c" >/dev/null || die "$c not found (apt-get install systemd-container util-linux redis-server)"
  done
  NPM_CACHE=${NPM_CACHE:-$(npm config get cache 2>/dev/null)}
  [ -d "$NPM_CACHE/_cacache" ] || die "no npm cache at '$NPM_CACHE' (E2E_NPM_CACHE): run npm ci first; the install in the container reads it"
  [ -e "$ROOT/node_modules/sd-notify/build/Release/notify.node" ] ||
    die "the sd-notify addon is not built: run npm ci with libsystemd-dev, g++, make, python3 installed"
  # the checkout is mounted read-only: the service runs its dist/ only if that is up to date now
  if ! node "$ROOT/bin/dist-state.mjs" "$ROOT" >/dev/null; then
    (cd "$ROOT" && node scripts/build.mjs >/dev/null) || die "npm run build failed"
    chown -R --reference="$ROOT" "$ROOT/dist"
  fi
}

# ---------------------------------------------------------------- the checks
# The README's first command as a new user runs it: in the checkout, as root (sudo keeps HOME=/root
# on Debian). npm_config_offline: the container has no network, and the host's cache has every
# package. It is an overlay whose writes go to a temporary directory (npm cannot read a read-only
# cache), so the host user's cache is never changed, nor left with files of root's.
readme_install() {
  T=150 ct env HOME=/root npm_config_cache=/var/cache/e2e-npm npm_config_offline=true \
    npm_config_logs_dir=/tmp/npm-logs npm_config_update_notifier=false \
    sh -c 'cd "$1" && scripts/install.sh --enable --start' sh "$CHECKOUT" 2>&1
}

check_install() {
  local out rc out2 rc2 user state status n done
  # the local Redis the README's set-up runs against
  sc start redis-server >/dev/null 2>&1 || fail "redis-server runs in the container" "$(sc is-active redis-server)" redis-server
  out=$(readme_install); rc=$?; user=$(ct getent passwd resque | cut -d: -f1,7)
  check "README: install.sh --enable --start" "rc=$rc user=$user" \
    sh -c '[ "$1" = 0 ] && printf "%s\n" "$2" | grep -q "creating system user" && [ -n "$3" ]' sh "$rc" "$out" "$user"
  [ "$rc" = 0 ] || printf '%s\n' "$out" | sed 's/^/      | /'
  check "README: code in /opt, compiled, production modules" \
    "$(printf '%s\n' "$out" | grep -m1 -o 'npm ci[^(]*in [^ ]*')" \
    ct sh -c 'cd "$1" && node bin/dist-state.mjs . >/dev/null && node -e "require(\"sd-notify\")" &&
              [ ! -e node_modules/typescript ] && [ ! -e test ] && [ "$(stat -c %U .)" = root ]' sh "$APP"
  # the starter config lists no job modules: the pool is up, reaches the local Redis, runs no
  # workers, and says why
  wait_for 20 status_has "$UNIT" "no job modules.*redis up" || true
  state="$(sc is-enabled "$UNIT")/$(sc is-active "$UNIT")"; status=$(prop StatusText); n=$(rcli scard "$NS:workers")
  check "README: enabled and active, no workers yet" "$state, status '$status', $n workers registered" \
    sh -c '[ "$1" = enabled/active ] && [ "$3" = 0 ] && case "$2" in *"no job modules"*"redis up"*) ;; *) exit 1 ;; esac' sh "$state" "$status" "$n"
  # the README's next step: list the job modules, reload; the starter's two workers start and work
  ct sed -i "s|\"jobs\": \[\]|\"jobs\": [\"$JOBS\"]|" "$CONF"
  sc reload "$UNIT"; push readme Mark '["readme-1"]'
  wait_for 20 all_done readme-1
  done=$(all_done readme-1 && echo yes || echo no); n=$(live_workers)
  check "README: jobs listed + reload: workers start, work" "$n workers, status '$(prop StatusText)', job done=$done" \
    test "$n" = 2 -a "$done" = yes
  out2=$(readme_install); rc2=$?
  check "install.sh: second run changes nothing" "rc=$rc2 $(printf '%s\n' "$out2" | grep -cE 'creating|installing|writing|npm') changes" \
    sh -c '[ "$1" = 0 ] && ! printf "%s\n" "$2" | grep -qE "creating|installing|writing|npm|warning"' sh "$rc2" "$out2"
  [ "$rc2" = 0 ] || printf '%s\n' "$out2" | sed 's/^/      | /'
  sc stop "$UNIT"
  check "install.sh: shipped units installed as-is" "" \
    ct sh -c 'cmp "$1/systemd/resque-worker.service" /etc/systemd/system/resque-worker.service &&
              cmp "$1/systemd/resque-worker@.service" /etc/systemd/system/resque-worker@.service' sh "$CHECKOUT"
  out=$(ct stat -c '%a %U:%G' "$CONF" /etc/resque-worker | tr '\n' ' ')
  check "install.sh: config readable by resque only" "$out" test "$out" = "640 root:resque 750 root:resque "
  # warnings do not change verify's exit code: require empty output
  out=$(ct systemd-analyze verify /etc/systemd/system/resque-worker.service /etc/systemd/system/resque-worker@pool-a.service 2>&1); rc=$?
  check "systemd-analyze verify prints nothing" "rc=$rc ${out:-(no output)}" test "$rc" = 0 -a -z "$out"
}

check_security() {
  local out line
  out=$(ct systemd-analyze security --no-pager resque-worker.service 2>&1)
  line=$(printf '%s\n' "$out" | grep -o 'Overall exposure level.*' | sed 's/[^[:print:]]//g')
  check "systemd-analyze security: OK or better" "$line" \
    sh -c 'printf "%s\n" "$1" | grep -qE ": [0-9.]+ (PERFECT|SAFE|OK)"' sh "$line"
}


# push QUEUE CLASS ARGS-JSON...: enqueue through redis-cli as any Resque client would (the workers
# poll every 0.5 s); `resque-worker enqueue` is used too, but costs a node start per job.
push() {
  local q=$1 cls=$2 a payloads=(); shift 2
  for a in "$@"; do payloads+=("{\"class\":\"$cls\",\"args\":$a,\"id\":\"$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')\"}"); done
  rcli sadd "$NS:queues" "$q" >/dev/null && rcli rpush "$NS:queue:$q" "${payloads[@]}" >/dev/null
}
all_done() { local t; for t in "$@"; do [ "$(count_in e2e:done "$t")" = 1 ] || return 1; done; }
queued() { rcli lrange "$NS:queue:$1" 0 -1 | grep -q "\"$2\""; }
failures() { rcli llen "$NS:failed"; }
main_pid_is_not() { local p; p=$(prop MainPID "${2:-$UNIT}"); [ "$p" != 0 ] && [ "$p" != "$1" ]; }
lines_after() { jlog "$1" "${3:-$UNIT}" | grep -cE "$2"; }
status_has() { prop StatusText "$1" | grep -q -- "$2"; }
restarts_above() { [ "$(prop NRestarts "${2:-$UNIT}")" -gt "$1" ]; }
has_lines() { [ "$(lines_after "$1" "$2")" -ge "$3" ]; }   # has_lines CURSOR REGEX N

check_start() {
  local t0 st seen= n main users status
  sc start redis-server >/dev/null 2>&1 && rcli flushall >/dev/null ||
    { fail "redis-server runs in the container" "$(sc is-active redis-server)" redis-server; return; }
  write_config "$CONF" "$Q" "$COUNT"
  t0=$(now); sc start --no-block "$UNIT"
  # the start job stays in `activating` until READY=1, which must come once every worker registered
  while st=$(sc is-active "$UNIT"); [ "$st" = activating ]; do seen=activating; lt "$(dt "$t0" "$(now)")" 40 || break; sleep 0.05; done
  n=$(rcli scard "$NS:workers")
  check "start: activating until READY=1, all registered" \
    "${seen:-never activating} -> $st after $(dt "$t0" "$(now)")s, $n of $COUNT workers registered at READY" \
    test "$seen" = activating -a "$st" = active -a "$n" = "$COUNT"
  main=$(prop MainPID)
  # every process of the unit (supervisor, workers, tsx's esbuild helpers) runs as resque
  users=$(ct ps -e -o user=,unit=,comm= | awk '$2 == "resque-worker.service" {print $1 "(" $3 ")"}' | sort | uniq -c | tr -s ' ' | tr '\n' ';')
  check "runs as its own unprivileged user" "User=$(prop User); processes:$users" \
    sh -c '[ "$1" = resque ] && [ -n "$2" ] && ! printf "%s" "$2" | tr ";" "\n" | grep -v "^ *[0-9]* resque(" | grep -q .' sh "$(prop User)" "$users"
  enqueue "$Q" Mark start-1; push "$Q" Mark '["start-2"]'
  wait_for 15 all_done start-1 start-2
  check "jobs enqueued inside are processed" "e2e:done: $(rcli lrange e2e:done 0 -1 | tr '\n' ' ')" all_done start-1 start-2
  status=$(sc status --no-pager "$UNIT" | grep -m1 'Status:' | sed 's/^ *//')
  check "systemctl status shows our STATUS=" "$status" grep -qE '^Status: ".*[0-9]+/[0-9]+.*"' <<<"$status"
}

# The workers run the compiled dist/, not src/ through tsx (bin/resque-worker.mjs falls back to that
# when dist/ is missing or older than src/): every live worker's worker.jobs line says from=dist,
# and tsx=true, as the job module is TypeScript.
check_dist() {
  local lines pid line n=0 dist=0 tsx=0 version
  lines=$(ct journalctl -q --no-pager -o cat -u "$UNIT" | grep '"event":"worker.jobs"')
  for pid in $(live_ids | cut -d: -f2); do
    n=$((n + 1)); line=$(grep -m1 "\"pid\":$pid," <<<"$lines")
    grep -q '"from":"dist"' <<<"$line" && dist=$((dist + 1))
    grep -q '"tsx":true' <<<"$line" && tsx=$((tsx + 1))
  done
  version=$(ct node "$APP/bin/resque-worker.mjs" --version 2>&1)
  check "workers run the compiled dist/" "$dist of $n live workers from dist/, $tsx with tsx for the .ts jobs; --version: $version" \
    sh -c '[ "$1" -gt 0 ] && [ "$1" = "$2" ] && [ "$1" = "$3" ] &&
           case "$4" in "resque-worker "*" (compiled dist/)") ;; *) exit 1;; esac' sh "$dist" "$n" "$tsx" "$version"
}

check_reload() {
  local pid0 c tags=() i rc
  pid0=$(prop MainPID)
  push "$Q" Slow '["reload-slow", 2500]'
  wait_for 10 in_list e2e:started reload-slow
  for i in 1 2 3 4 5 6; do tags+=("reload-$i"); done
  push "$Q" Mark $(printf '["%s"] ' "${tags[@]}")
  write_config "$CONF" "$Q" 3; CUR=3
  c=$(cursor); sc reload "$UNIT"; rc=$?
  wait_for 30 workers_are 3
  wait_for 15 all_done reload-slow "${tags[@]}"
  check "reload: worker count 2 -> 3, no job lost" \
    "rc=$rc pid $pid0->$(prop MainPID), live workers=$(live_workers), done=$(rcli llen e2e:done), slow job started $(count_in e2e:started reload-slow)x, failed=$(failures)" \
    sh -c '[ "$1" = 0 ] && [ "$2" = "$3" ] && [ "$4" = 3 ] && [ "$5" = 1 ] && [ "$6" = 0 ]' sh \
    "$rc" "$pid0" "$(prop MainPID)" "$(live_workers)" "$(count_in e2e:started reload-slow)" "$(failures)"
  all_done reload-slow "${tags[@]}" || fail "reload: every job ran exactly once" "$(rcli lrange e2e:done 0 -1 | tr '\n' ' ')"
}

check_bad_reload() {
  local pid0 ids0 c rc ids1
  pid0=$(prop MainPID); ids0=$(rcli smembers "$NS:workers" | sort | tr '\n' ' ')
  write_file "$CONF" <<<'{ "supervisor": { "count": "lots" '
  c=$(cursor); sc reload "$UNIT"; rc=$?
  # the daemon logs why it kept the old config (a warn or error line about the reload)
  wait_for 10 has_lines "$c" '"level":"(warn|error)".*[Rr]eload|[Rr]eload.*"level":"(warn|error)"' 1
  local why; why=$(jlog "$c" | grep -m1 -E '"level":"(warn|error)"' | cut -c1-160)
  push "$Q" Mark '["bad-reload-1"]'
  wait_for 10 all_done bad-reload-1
  ids1=$(rcli smembers "$NS:workers" | sort | tr '\n' ' ')
  check "reload with a broken config keeps the old one" "rc=$rc $(sc is-active "$UNIT"), pid $pid0->$(prop MainPID), workers unchanged=$([ "$ids0" = "$ids1" ] && echo yes || echo no); log: $why" \
    sh -c '[ "$1" = active ] && [ "$2" = "$3" ] && [ "$4" = "$5" ] && [ -n "$6" ]' sh \
    "$(sc is-active "$UNIT")" "$pid0" "$(prop MainPID)" "$ids0" "$ids1" "$why"
  all_done bad-reload-1 || fail "a job runs after the broken reload" ""
  write_config "$CONF" "$Q" "$CUR"     # back to the running config (no reload needed)
}

# check_pause WHOM: systemctl kill -s USR2 pauses (a new job stays queued), -s CONT resumes
check_pause() {
  local whom=$1 c n tag=paused-$1 waited st
  n=$(live_workers); c=$(cursor)
  sc kill -s SIGUSR2 --kill-whom="$whom" "$UNIT"
  # every worker says so (core Worker logs worker.pause once, however often it is told)
  wait_for 10 has_lines "$c" '"event":"worker.pause"' "$n"
  push "$Q" Mark "[\"$tag\"]"
  # nothing may pick it up: give the workers three poll intervals to (wrongly) take it
  sleep 1.5
  queued "$Q" "$tag"; st=$?
  check "kill -s USR2 --kill-whom=$whom pauses" "$(lines_after "$c" '"event":"worker.pause"') of $n workers paused, job still queued=$([ $st = 0 ] && echo yes || echo no), StatusText='$(prop StatusText)'" \
    sh -c '[ "$1" = 0 ] && ! printf "%s\n" "$2" | grep -qx "$3"' sh "$st" "$(rcli lrange e2e:done 0 -1)" "$tag"
  c=$(cursor); waited=$(now)
  sc kill -s SIGCONT --kill-whom="$whom" "$UNIT"
  check "kill -s CONT --kill-whom=$whom resumes" "" wait_for 10 all_done "$tag"
  [ "$(sc is-active "$UNIT")" = active ] || fail "still active after USR2/CONT to $whom" "$(sc is-active "$UNIT")"
}

check_journal() {
  local out
  out=$(ct journalctl -q --no-pager -u "$UNIT" -o cat | ct node -e '
    const lines = require("fs").readFileSync(0, "utf8").split("\n").filter((l) => l.startsWith("{"));
    let bad = 0, jobs = 0; const ev = new Set();
    for (const l of lines) {
      let m; try { m = JSON.parse(l) } catch { bad++; continue }
      if (!m.event || !m.level || !m.time || !m.pid) bad++; else ev.add(m.event);
      if (/^job\./.test(m.event) && m.jobId && m.queue && m.class && m.workerId) jobs++;
    }
    console.log(`${lines.length} JSON lines (${bad} bad), ${jobs} job lines with jobId/queue/class/workerId, ${ev.size} events`);
    process.exit(lines.length >= 10 && bad === 0 && jobs >= 5 ? 0 : 1)')
  check "journalctl -u resque-worker -o cat: JSON lines" "$out" test $? = 0
  # everything our processes write (not systemd's own lines) is JSON: no stray warnings or traces
  out=$(ct journalctl -q --no-pager -u "$UNIT" -t "$UNIT" -o cat | grep -v '^{' | head -3)
  check "journal: only JSON from our processes" "${out:-no other lines}" test -z "$out"
}

check_crash() {
  local pid0 r0 ids
  pid0=$(prop MainPID); r0=$(prop NRestarts); ids=$(live_ids)
  push "$Q" Slow '["crash-slow", 1500]'
  wait_for 10 in_list e2e:started crash-slow
  ct kill -KILL "$pid0"
  wait_for 30 restarts_above "$r0"
  wait_for 30 main_pid_is_not "$pid0"
  wait_for 30 is_state active
  wait_for 20 workers_are "$CUR"
  push "$Q" Mark '["after-crash"]'
  wait_for 10 all_done after-crash crash-slow
  # shellcheck disable=SC2086
  check "kill -9 of the supervisor: Restart=on-failure" \
    "pid $pid0->$(prop MainPID), NRestarts $r0->$(prop NRestarts), $(live_workers) new workers registered, old ones left in Redis: $(still_registered $ids), job after restart done=$(all_done after-crash && echo yes || echo no)" \
    sh -c '[ "$1" -gt "$2" ] && [ "$3" = active ] && [ "$4" = "$6" ] && [ "$5" = yes ] && [ "$7" = 0 ]' sh \
    "$(prop NRestarts)" "$r0" "$(sc is-active "$UNIT")" "$(live_workers)" "$(all_done after-crash && echo yes || echo no)" "$CUR" "$(still_registered $ids)"
  check "a job running at the crash is not lost" \
    "started $(count_in e2e:started crash-slow)x, done $(count_in e2e:done crash-slow)x, failed=$(failures)" \
    sh -c '[ "$1" -ge 1 ] && [ "$2" = 0 ]' sh "$(count_in e2e:done crash-slow)" "$(failures)"
}

check_watchdog() {
  local pid0 r0 c t0 st
  dropin "$UNIT" "WatchdogSec=3"
  sc restart "$UNIT"
  pid0=$(prop MainPID); r0=$(prop NRestarts); c=$(cursor)
  # alive and pinging: more than a watchdog period passes without a restart
  sleep 4
  check "watchdog pings keep it running (WatchdogSec=3)" "pid $pid0->$(prop MainPID), NRestarts $r0->$(prop NRestarts)" \
    test "$(prop MainPID)" = "$pid0" -a "$(prop NRestarts)" = "$r0" -a "$(sc is-active "$UNIT")" = active
  # a hung supervisor (stopped, it pings no more) while a worker runs a job: systemd must notice,
  # the job must finish (WatchdogSignal=SIGTERM reaches the workers too), and the pool come back
  push "$Q" Slow '["watchdog-slow", 1500]'
  wait_for 10 in_list e2e:started watchdog-slow
  t0=$(now); ct kill -STOP "$pid0"
  wait_for 40 main_pid_is_not "$pid0"; wait_for 30 is_state active
  st=$(jlog "$c" | grep -m1 -o 'Watchdog timeout[^!]*')
  check "a hung supervisor is restarted by the watchdog" \
    "'$st', pid $pid0->$(prop MainPID), NRestarts $r0->$(prop NRestarts), active again after $(dt "$t0" "$(now)")s" \
    sh -c '[ -n "$1" ] && [ "$2" -gt "$3" ] && [ "$4" = active ]' sh "$st" "$(prop NRestarts)" "$r0" "$(sc is-active "$UNIT")"
  check "the job running during the hang finished" "started $(count_in e2e:started watchdog-slow)x, done $(count_in e2e:done watchdog-slow)x" \
    all_done watchdog-slow
  nodropin "$UNIT"
  wait_for 20 workers_are "$CUR"
}

check_stop_running() {
  local t0 rc took ids
  ids=$(live_ids)
  push "$Q" Slow '["stop-1", 1500]'
  wait_for 10 in_list e2e:started stop-1
  t0=$(now); sc stop "$UNIT"; rc=$?; took=$(dt "$t0" "$(now)")
  # shellcheck disable=SC2086
  check "stop with a job running: finished, success" \
    "rc=$rc took ${took}s, Result=$(prop Result), exit status $(prop ExecMainStatus), job done=$(all_done stop-1 && echo yes || echo no), queued=$(rcli llen "$NS:queue:$Q"), its workers still registered=$(still_registered $ids)" \
    sh -c '[ "$1" = 0 ] && awk -v t="$2" "BEGIN{exit !(t < 15)}" && [ "$3" = success ] && [ "$4" = 0 ] && [ "$5" = 0 ] && [ "$6" = 0 ]' sh \
    "$rc" "$took" "$(prop Result)" "$(prop ExecMainStatus)" "$(rcli llen "$NS:queue:$Q")" "$(still_registered $ids)"
  all_done stop-1 || fail "the running job finished before the stop" "$(rcli lrange e2e:done 0 -1 | tr '\n' ' ')"
}

check_stop_long() {
  local t0 rc took
  sc start "$UNIT"
  push "$Q" Slow '["stop-long", 60000]'
  wait_for 10 in_list e2e:started stop-long
  t0=$(now); sc stop "$UNIT"; rc=$?; took=$(dt "$t0" "$(now)")
  check "stop with a job longer than shutdownTimeout" \
    "rc=$rc took ${took}s (shutdownTimeout ${SHUTDOWN_TIMEOUT}s, TimeoutStopSec $(prop TimeoutStopUSec)), Result=$(prop Result), job back in its queue=$(queued "$Q" stop-long && echo yes || echo no), failed=$(failures)" \
    sh -c '[ "$1" = 0 ] && awk -v t="$2" -v s="$3" "BEGIN{exit !(t >= s - 0.5 && t < s + 6)}" && [ "$4" = success ] && [ "$5" = yes ] && [ "$6" = 0 ]' sh \
    "$rc" "$took" "$SHUTDOWN_TIMEOUT" "$(prop Result)" "$(queued "$Q" stop-long && echo yes || echo no)" "$(failures)"
  rcli del "$NS:queue:$Q" >/dev/null
}

check_start_without_redis() {
  local t0 st1 st2 n
  sc stop "$UNIT" redis-server
  t0=$(now); sc start --no-block "$UNIT"
  # no READY=1 while the workers cannot register
  sleep 3; st1=$(sc is-active "$UNIT")
  sc start redis-server
  wait_for 40 is_state active; st2=$(sc is-active "$UNIT"); n=$(live_workers)
  check "start while Redis is down waits for it" \
    "with Redis down after 3s: $st1; Redis started: $st2 after $(dt "$t0" "$(now)")s, $n of $CUR workers" \
    test "$st1" = activating -a "$st2" = active -a "$n" = "$CUR"
  sc stop "$UNIT"
}

check_templates() {
  local a=resque-worker@pool-a b=resque-worker@pool-b out rc pa pb
  write_config /run/pool-a.json qa 1 /run/resque-worker-pool-a/supervisor.pid
  write_config /run/pool-b.json qb 2 /run/resque-worker-pool-b/supervisor.pid
  out=$(T=120 ct "$CHECKOUT/scripts/install.sh" --no-apt --instance pool-a --config /run/pool-a.json --start 2>&1) &&
    out=$(T=120 ct "$CHECKOUT/scripts/install.sh" --no-apt --instance pool-b --config /run/pool-b.json --start 2>&1)
  rc=$?
  [ "$rc" = 0 ] || printf '%s\n' "$out" | sed 's/^/      | /'
  pa=$(prop MainPID "$a"); pb=$(prop MainPID "$b")
  push qa Mark '["pool-a-1"]'; push qb Mark '["pool-b-1"]' '["pool-b-2"]'
  wait_for 15 all_done pool-a-1 pool-b-1 pool-b-2
  check "template @pool-a and @pool-b side by side" \
    "install rc=$rc, $(sc is-active "$a")/$(sc is-active "$b"), pids $pa/$pb, pidfiles $(ct cat /run/resque-worker-pool-a/supervisor.pid)/$(ct cat /run/resque-worker-pool-b/supervisor.pid), workers $(live_workers "$a")/$(live_workers "$b"), jobs done=$(all_done pool-a-1 pool-b-1 pool-b-2 && echo yes || echo no)" \
    sh -c '[ "$1" = 0 ] && [ "$2" = active ] && [ "$3" = active ] && [ "$4" != "$5" ] && [ "$4" = "$6" ] && [ "$5" = "$7" ] && [ "$8" = 1 ] && [ "$9" = 2 ] && [ "${10}" = yes ]' sh \
    "$rc" "$(sc is-active "$a")" "$(sc is-active "$b")" "$pa" "$pb" \
    "$(ct cat /run/resque-worker-pool-a/supervisor.pid)" "$(ct cat /run/resque-worker-pool-b/supervisor.pid)" \
    "$(live_workers "$a")" "$(live_workers "$b")" "$(all_done pool-a-1 pool-b-1 pool-b-2 && echo yes || echo no)"
  # the operator's commands find the supervisor through the pidfile named in the config
  local cli="$APP/bin/resque-worker.mjs" sa sb
  ct node "$cli" pause --config /etc/resque-worker/pool-a.json >/dev/null
  wait_for 10 status_has "$a" paused
  sa=$(prop StatusText "$a"); sb=$(prop StatusText "$b")
  ct node "$cli" resume --config /etc/resque-worker/pool-a.json >/dev/null
  wait_for 10 eval '! status_has "$a" paused'
  check "resque-worker pause|resume --config pool-a.json" "pool-a: '$sa', pool-b: '$sb', after resume: '$(prop StatusText "$a")'" \
    sh -c 'case "$1" in *paused*) ;; *) exit 1;; esac; case "$2$3" in *paused*) exit 1;; esac' sh "$sa" "$sb" "$(prop StatusText "$a")"
  sc stop "$a" "$b"
  check "template instances stop cleanly" "$(prop Result "$a")/$(prop Result "$b")" \
    test "$(prop Result "$a")" = success -a "$(prop Result "$b")" = success
}

# ---------------------------------------------------------------- main
# run CHECK [ARGS]: one group of checks; E2E_ONLY="check_start check_crash" runs a subset (debugging)
run() {
  local t0; t0=$(now)
  if [ -n "${E2E_ONLY:-}" ] && [ "$1" != check_start ] && ! grep -qw -- "$1" <<<"$E2E_ONLY"; then return 0; fi
  "$@"
  [ -z "${E2E_VERBOSE:-}" ] || say "      ($* took $(dt "$t0" "$(now)")s)"
}

main() {
  local t0; t0=$(now)
  preflight
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/rw-systemd-e2e.XXXXXX")
  trap on_exit EXIT
  trap 'say "interrupted: $PASSES passed, $FAILS failed so far"; exit 130' INT
  trap 'say "interrupted: $PASSES passed, $FAILS failed so far"; exit 143' TERM
  build_rootfs
  boot
  check_install
  check_security
  run check_start
  if is_state active; then
    run check_dist
    run check_reload
    run check_bad_reload
    run check_pause main
    run check_pause all
    run check_crash
    run check_watchdog
    run check_journal
    run check_stop_running
    run check_stop_long
    run check_start_without_redis
  else
    fail "the remaining checks need a running $UNIT" "$(sc is-active "$UNIT")"
  fi
  run check_templates
  say "checks took $(dt "$t0" "$(now)")s"
  summary
  [ "$FAILS" = 0 ]
}

main "$@"
