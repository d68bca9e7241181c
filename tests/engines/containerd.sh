#!/bin/bash
# husk as the runtime binary of containerd's io.containerd.runc.v2 shim.
#
# Starts a private containerd (Debian's package) with its own config, root,
# state and socket under $T, imports a busybox OCI image built here with umoci,
# and drives it with `ctr run --runc-binary $HUSK`: output and exit codes,
# stdin, env/cwd, read-only rootfs, tty, a detached task with exec (plain and
# tty), ps, metrics, pause/resume, kill (+ --all), delete with its cgroup and
# husk state gone, errors carried through log.json; and checks that
# contrib/containerd/config.toml (runtimes.husk with BinaryName) parses.
# The shim runs `husk --root /run/containerd/runc/<ns> --log <bundle>/log.json
# --log-format json ...`; everything is removed at the end.
. "$(dirname "$0")/common.sh"

[ "$(id -u)" = 0 ] || skip_all "containerd needs root"
need_cmds containerd ctr containerd-shim-runc-v2 umoci busybox script jq

CTD=$T/containerd
SOCK=$CTD/containerd.sock
NS=husktest-$$
IMG=husk.test/busybox:latest
RUNC_ROOT=/run/containerd/runc/$NS   # the shim's default root for our namespace
CTD_PID=
mkdir -p "$CTD" "$T/fifo"

c() { ctr -a "$SOCK" -n "$NS" "$@"; }
hrun() { timeout 60 ctr -a "$SOCK" -n "$NS" run --runc-binary "$HUSK" --fifo-dir "$T/fifo" "$@"; }
hexec() { timeout 60 ctr -a "$SOCK" -n "$NS" task exec --fifo-dir "$T/fifo" "$@"; }
# the command line of a ctr call, quoted for script -c
ctr_line() { printf 'exec '; printf '%q ' timeout --foreground 60 ctr -a "$SOCK" -n "$NS" "$@"; }
task_status() { c task ls 2>/dev/null | awk -v id="$1" '$1 == id {print $3}'; }
task_pid() { c task ls 2>/dev/null | awk -v id="$1" '$1 == id {print $2}'; }
bundle_of() { echo "$CTD/state/io.containerd.runtime.v2.task/$NS/$1"; }

engine_cleanup() {
  local id p
  if [ -n "$CTD_PID" ] && [ -S "$SOCK" ]; then
    for id in $(c task ls -q 2>/dev/null); do
      c task kill -a -s KILL "$id" >/dev/null 2>&1
    done
    sleep 0.3
    for id in $(c task ls -q 2>/dev/null); do c task delete -f "$id" >/dev/null 2>&1; done
    for id in $(c container ls -q 2>/dev/null); do c container delete "$id" >/dev/null 2>&1; done
    for id in $(c images ls -q 2>/dev/null); do c images rm "$id" >/dev/null 2>&1; done
  fi
  # shims of our namespace still running (a shim outlives containerd)
  for p in $(pids_matching "-namespace $NS "); do kill -9 "$p" 2>/dev/null; done
  if [ -n "$CTD_PID" ]; then
    kill "$CTD_PID" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$CTD_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$CTD_PID" 2>/dev/null
  fi
  # anything husk still has in the shim's root for our namespace
  if [ -d "$RUNC_ROOT" ]; then
    for id in $(ls "$RUNC_ROOT"); do "$HUSK" --root "$RUNC_ROOT" delete -f "$id" >/dev/null 2>&1; done
    rm -rf "$RUNC_ROOT"
  fi
  rmdir /run/containerd/runc /run/containerd/fifo /run/containerd/s /run/containerd 2>/dev/null
  for p in $(cgroup_dirs "/$NS" | sort -r); do
    find "$p" -depth -type d -exec rmdir {} \; 2>/dev/null
  done
  _cleanup
}
trap engine_cleanup EXIT

# ---- a private containerd ------------------------------------------------------
cat >"$CTD/config.toml" <<EOF
version = 2
root = "$CTD/root"
state = "$CTD/state"
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.internal.v1.opt",
  "io.containerd.internal.v1.tracing",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
]
[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$SOCK.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
EOF
containerd --config "$CTD/config.toml" >"$CTD/containerd.log" 2>&1 &
CTD_PID=$!
if ! wait_for c version >/dev/null 2>&1 && ! { sleep 5; c version >/dev/null 2>&1; }; then
  echo "Bail out! the private containerd did not start"
  sed 's/^/# /' "$CTD/containerd.log" | tail -n 20
  exit 1
fi
ok "a private containerd $(containerd --version | awk '{print $3}') serves $SOCK"

# overlayfs where the kernel allows it, else the native snapshotter
if c plugins ls 2>/dev/null | awk '$2 == "overlayfs" {print $NF}' | grep -qx ok; then
  export CONTAINERD_SNAPSHOTTER=overlayfs
else
  export CONTAINERD_SNAPSHOTTER=native
fi
diag "snapshotter: $CONTAINERD_SNAPSHOTTER"

build_busybox_image "$T/busybox.tar" || { echo "Bail out! cannot build the busybox OCI image"; exit 1; }
out=$(c images import --base-name husk.test/busybox "$T/busybox.tar" 2>&1)
if c images ls -q | grep -qx "$IMG"; then
  ok "ctr images import of a locally built busybox OCI archive"
else
  diag "$out"
  echo "Bail out! no image $IMG"
  exit 1
fi

# ---- run ------------------------------------------------------------------------
out=$(hrun --rm "$IMG" run-$$ sh -c 'echo hello from husk; echo to-stderr >&2; exit 3' 2>&1)
rc=$?
is "run: exit code of the container" 3 "$rc"
like "run: stdout and stderr reach ctr" 'hello from husk' "$out"
like "run: stderr" 'to-stderr' "$out"
is "run --rm: the container is removed" "" "$(c container ls -q | grep -x "run-$$")"
is "run --rm: husk's state is gone" "" "$(ls "$RUNC_ROOT" 2>/dev/null | grep -x "run-$$")"

out=$(echo "hi there" | hrun --rm "$IMG" stdin-$$ sh -c 'read l; echo "got:$l"' 2>&1)
is "run: stdin reaches the container" "got:hi there" "$out"

out=$(hrun --rm --env FOO=bar --cwd /tmp "$IMG" env-$$ sh -c 'echo "$FOO $(pwd)"' 2>&1)
is "run --env --cwd" "bar /tmp" "$out"

out=$(hrun --rm --read-only "$IMG" ro-$$ sh -c 'touch /x 2>&1; grep " / " /proc/mounts | cut -d" " -f4' 2>&1)
[ -n "$out" ] || diag "ctr run --read-only: no output (exit $?)"
like "run --read-only: writes fail" 'Read-only file system' "$out"
like "run --read-only: / is mounted ro" '(^|[[:space:]])ro,' "$out"

out=$(in_pty "$(ctr_line run --runc-binary "$HUSK" --fifo-dir "$T/fifo" --rm -t "$IMG" tty-$$ sh -c 'tty; sleep 0.3; exit 4')")
rc=$?
like "run -t: the process has a terminal" '/dev/pts/[0-9]+' "$out"
is "run -t: exit code through the tty" 4 "$rc"

out=$(hrun --rm "$IMG" bad-$$ /nonexistent 2>&1)
rc=$?
check "run of a missing binary fails" [ "$rc" -ne 0 ]
like "its error is husk's, read from log.json by the shim" 'cannot exec `/nonexistent`' "$out"
is "a failed create leaves no husk state" "" "$(ls "$RUNC_ROOT" 2>/dev/null | grep -x "bad-$$")"
c container delete "bad-$$" >/dev/null 2>&1

# ---- a detached task ----------------------------------------------------------------
D=det-$$
hrun -d "$IMG" "$D" sh -c 'trap "exit 0" TERM; while :; do sleep 0.1; done' >/dev/null 2>&1
wait_for [ "$(task_status "$D")" = RUNNING ]
is "run -d: the task is RUNNING" RUNNING "$(task_status "$D")"
is "husk state under the shim's --root $RUNC_ROOT" running "$("$HUSK" --root "$RUNC_ROOT" state "$D" 2>/dev/null | jq -r .status)"
is "the shim's init pid is husk's" "$(task_pid "$D")" "$("$HUSK" --root "$RUNC_ROOT" state "$D" 2>/dev/null | jq -r .pid)"

out=$(hexec --exec-id x1 "$D" sh -c 'echo in-exec; exit 5' 2>&1)
rc=$?
is "task exec: output" in-exec "$out"
is "task exec: exit code" 5 "$rc"

out=$(echo piped | hexec --exec-id x2 "$D" sh -c 'read l; echo "exec got:$l"' 2>&1)
is "task exec: stdin" "exec got:piped" "$out"

out=$(hexec --exec-id x3 --cwd /tmp --user 65534 "$D" sh -c 'echo "$(id -u) $(pwd)"' 2>&1)
is "task exec --cwd --user" "65534 /tmp" "$out"

out=$(in_pty "$(ctr_line task exec --fifo-dir "$T/fifo" -t --exec-id x4 "$D" sh -c 'tty; sleep 0.3; exit 6')")
rc=$?
like "task exec -t: a terminal" '/dev/pts/[0-9]+' "$out"
is "task exec -t: exit code" 6 "$rc"

out=$(hexec --exec-id bad "$D" /nonexistent 2>&1)
check "task exec of a missing binary fails" [ $? -ne 0 ]
like "its error is husk's" 'cannot exec `/nonexistent`' "$out"
log=$(bundle_of "$D")/log.json
if [ -s "$log" ]; then
  is "log.json (husk --log ... --log-format json) holds JSON lines" true \
    "$(jq -s 'all(.[]; has("level") and has("msg") and has("time"))' "$log" 2>&1)"
  like "log.json's last error is the exec failure" 'cannot exec' "$(jq -r -s 'map(select(.level == "error")) | last | .msg' "$log")"
else
  not_ok "log.json (husk --log ... --log-format json) holds JSON lines"; diag "no $log"
  not_ok "log.json's last error is the exec failure"
fi

hexec -d --exec-id bg "$D" sleep 1000 >/dev/null 2>&1
wait_for sh -c "[ \$(ctr -a '$SOCK' -n '$NS' task ps '$D' | tail -n +2 | wc -l) -ge 2 ]"
out=$(c task ps "$D" 2>&1)
like "task ps lists the init" "^$(task_pid "$D")[[:space:]]" "$out"
like "task ps lists the exec'd process" 'ExecID:bg' "$out"

out=$(c task metrics "$D" 2>&1)
like "task metrics: pids.current" 'pids\.current[[:space:]]+[1-9]' "$out"
like "task metrics: memory usage" 'memory\.usage' "$out"
out=$("$HUSK" --root "$RUNC_ROOT" events --stats "$D" 2>&1)
is "husk events --stats on the shim's container" stats "$(printf '%s' "$out" | jq -r .type 2>/dev/null)"
check "events --stats: pids.current >= 2" [ "$(printf '%s' "$out" | jq -r .data.pids.current 2>/dev/null)" -ge 2 ]

c task pause "$D"
is "task pause: PAUSED" PAUSED "$(task_status "$D")"
is "task pause: husk says paused" paused "$("$HUSK" --root "$RUNC_ROOT" state "$D" | jq -r .status)"
fz=$(cgroup_dirs "/$NS/$D" | grep /freezer/ | head -n 1)
if [ -n "$fz" ]; then
  is "task pause: the freezer cgroup is FROZEN" FROZEN "$(cat "$fz/freezer.state")"
else
  fz=$(cgroup_dirs "/$NS/$D" | grep -v /freezer/ | head -n 1)
  is "task pause: cgroup.freeze is 1" 1 "$(cat "$fz/cgroup.freeze" 2>/dev/null)"
fi
c task resume "$D"
is "task resume: RUNNING" RUNNING "$(task_status "$D")"
out=$(hexec --exec-id x5 "$D" echo after-resume 2>&1)
is "task exec after resume" after-resume "$out"

cgs=$(cgroup_dirs "/$NS/$D")
check "the container has cgroups under /sys/fs/cgroup/*/$NS/$D" [ -n "$cgs" ]
c task kill "$D"
wait_for [ "$(task_status "$D")" = STOPPED ]
is "task kill (SIGTERM): STOPPED" STOPPED "$(task_status "$D")"
check "task delete" c task delete "$D"
is "task delete: no task left" "" "$(c task ls -q | grep -x "$D")"
left=""
for d in $cgs; do [ -d "$d" ] && left="$left $d"; done
is "task delete: the container's cgroups are gone" "" "$left"
check "task delete: husk's state dir is gone" [ ! -e "$RUNC_ROOT/$D" ]
c container delete "$D"
is "container delete" "" "$(c container ls -q | grep -x "$D")"

# ---- kill --all --------------------------------------------------------------------
K=all-$$
# sleep as pid 1 has no handler, so SIGTERM from outside is ignored by it
hrun -d "$IMG" "$K" sleep 1000 >/dev/null 2>&1
wait_for [ "$(task_status "$K")" = RUNNING ]
hexec -d --exec-id s1 "$K" sleep 1001 >/dev/null 2>&1
hexec -d --exec-id s2 "$K" sleep 1002 >/dev/null 2>&1
nprocs() { c task ps "$K" 2>/dev/null | tail -n +2 | wc -l; }
wait_for [ "$(nprocs)" -eq 3 ]
is "kill --all: three processes before" 3 "$(nprocs)"
c task kill -s TERM "$K"
sleep 0.3
is "kill TERM (init only): nothing dies" 3 "$(nprocs)"
c task kill --all -s TERM "$K"
wait_for [ "$(nprocs)" -eq 1 ]
is "kill --all TERM: the exec'd processes die, the init ignores it" 1 "$(nprocs)"
is "kill --all TERM: the task is still RUNNING" RUNNING "$(task_status "$K")"
c task kill --all -s KILL "$K"
wait_for [ "$(task_status "$K")" = STOPPED ]
is "kill --all KILL: STOPPED" STOPPED "$(task_status "$K")"
c task delete "$K" >/dev/null 2>&1
c container delete "$K" >/dev/null 2>&1
is "kill --all: nothing left" "" "$(cgroup_dirs "/$NS/$K")$(ls "$RUNC_ROOT" 2>/dev/null | grep -x "$K")"

# ---- force delete of a running task ------------------------------------------------
F=force-$$
hrun -d "$IMG" "$F" sleep 1000 >/dev/null 2>&1
wait_for [ "$(task_status "$F")" = RUNNING ]
c task delete -f "$F" >/dev/null 2>&1
is "task delete -f of a running task" "" "$(c task ls -q | grep -x "$F")"
is "task delete -f: cgroups and state gone" "" "$(cgroup_dirs "/$NS/$F")$(ls "$RUNC_ROOT" 2>/dev/null | grep -x "$F")"
c container delete "$F" >/dev/null 2>&1

# ---- the runtimes.husk config snippet -------------------------------------------------
snippet=$HUSK_SRC/contrib/containerd/config.toml
sed "s|/usr/local/bin/husk|$HUSK|" "$snippet" >"$CTD/husk-runtime.toml"
cat >"$CTD/cri.toml" <<EOF
version = 2
root = "$CTD/cri-root"
state = "$CTD/cri-state"
imports = ["$CTD/husk-runtime.toml"]
EOF
dump=$(containerd --config "$CTD/cri.toml" config dump 2>&1)
like "contrib/containerd/config.toml: runtimes.husk uses the runc v2 shim" \
  '\[plugins\."io\.containerd\.grpc\.v1\.cri"\.containerd\.runtimes\.husk\]' "$dump"
is "contrib/containerd/config.toml: runtime_type" '"io.containerd.runc.v2"' \
  "$(printf '%s\n' "$dump" | sed -n '/runtimes\.husk\]/,/^$/p' | awk -F' = ' '$1 ~ /runtime_type/ {print $2}')"
is "contrib/containerd/config.toml: BinaryName" "\"$HUSK\"" \
  "$(printf '%s\n' "$dump" | awk -F' = ' '/runtimes\.husk\.options\]/ {f = 1} f && $1 ~ /BinaryName/ {print $2; exit}')"
# The CRI plugin is the only reader of runtimes.<name>; driving it needs a CRI
# client (crictl), which Debian 12 does not package.  ctr passes the same
# runc options (BinaryName) with --runc-binary, which every case above uses.
skip "a pod through runtimes.husk: no CRI client (crictl/cri-tools) in Debian 12; ctr --runc-binary sets the same BinaryName option"

done_testing
