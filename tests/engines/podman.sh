#!/bin/bash
# husk as podman's OCI runtime (Debian's podman 4.3, through conmon).
#
# podman --runtime $HUSK with a private --root/--runroot/--tmpdir, the
# cgroupfs manager, file events, the vfs storage driver, --network none, and
# a containers.conf made from contrib/podman/containers.conf (husk in
# runtime_supports_json and [engine.runtimes]) plus lower default ulimits:
# this host lacks CAP_SYS_RESOURCE, so podman's defaults (nofile 1048576,
# nproc 4194304) cannot be set.  The image is a busybox OCI archive built here
# with umoci.  Cases: run (--rm, -i, -it through a pty, --read-only,
# -u -w -e --hostname, exit codes, errors), run -d + exec, top, pause/unpause,
# update --memory, stop (SIGTERM, then SIGKILL after -t), restart, rm.
. "$(dirname "$0")/common.sh"

[ "$(id -u)" = 0 ] || skip_all "these podman tests run rootful podman"
need_cmds podman conmon umoci busybox script jq

PM_DIR=$T/podman
IMG=localhost/husk-busybox:latest
mkdir -p "$PM_DIR"
{
  printf '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n\n'
  sed "s|\"/usr/local/bin/husk\"|\"$HUSK\"|" "$HUSK_SRC/contrib/podman/containers.conf"
} >"$PM_DIR/containers.conf"
export CONTAINERS_CONF=$PM_DIR/containers.conf
unset XDG_RUNTIME_DIR

pm_base() {
  timeout 120 podman --root "$PM_DIR/root" --runroot "$PM_DIR/runroot" --tmpdir "$PM_DIR/tmp" \
    --cgroup-manager cgroupfs --events-backend file --storage-driver vfs "$@"
}
pm() { pm_base --runtime "$HUSK" "$@"; }
# the command line of a podman call, quoted for script -c
pm_line() {
  printf 'exec '
  printf '%q ' env CONTAINERS_CONF="$CONTAINERS_CONF" timeout --foreground 120 podman --root "$PM_DIR/root" \
    --runroot "$PM_DIR/runroot" --tmpdir "$PM_DIR/tmp" --cgroup-manager cgroupfs --events-backend file \
    --storage-driver vfs --runtime "$HUSK" "$@"
}
status_of() { pm inspect -f '{{.State.Status}}' "$1" 2>/dev/null; }
id_of() { pm inspect -f '{{.Id}}' "$1" 2>/dev/null; }

engine_cleanup() {
  local p
  pm rm -a -f -t 0 >/dev/null 2>&1
  pm rmi -a -f >/dev/null 2>&1
  # conmon and podman processes of our private root
  for p in $(pids_matching "$PM_DIR/"); do kill -9 "$p" 2>/dev/null; done
  # podman's cgroupfs parent (and conmon's cgroup in it), when nothing else uses them
  for p in $(find /sys/fs/cgroup -maxdepth 3 -type d -path '*/libpod_parent/conmon' 2>/dev/null); do
    rmdir "$p" 2>/dev/null
  done
  for p in $(find /sys/fs/cgroup -maxdepth 2 -type d -name libpod_parent 2>/dev/null); do
    rmdir "$p" 2>/dev/null
  done
  _cleanup
}
trap engine_cleanup EXIT

# ---- image ---------------------------------------------------------------------------
build_busybox_image "$T/busybox.tar" || { echo "Bail out! cannot build the busybox OCI image"; exit 1; }
out=$(pm load -i "$T/busybox.tar" 2>&1)
loaded=$(printf '%s\n' "$out" | sed -n 's/^Loaded image: //p' | head -n 1)
if [ -n "$loaded" ] && pm tag "$loaded" "$IMG" >/dev/null 2>&1; then
  ok "podman load of a locally built busybox OCI archive ($(podman --version))"
else
  diag "$out"
  echo "Bail out! podman load failed"
  exit 1
fi

# ---- run -------------------------------------------------------------------------------
out=$(pm run --rm --network none "$IMG" sh -c 'echo hello from husk; echo to-stderr >&2; exit 3' 2>&1)
rc=$?
is "run --rm: exit code" 3 "$rc"
like "run --rm: stdout" 'hello from husk' "$out"
like "run --rm: stderr" 'to-stderr' "$out"
is "run --rm: the container is gone" "" "$(pm ps -a -q)"

out=$(printf 'line one\nline two\n' | pm run --rm -i --network none "$IMG" sh -c 'cat; echo eof' 2>&1)
is "run -i: stdin reaches the container and closes" "$(printf 'line one\nline two\neof')" "$out"

out=$(in_pty "$(pm_line run --rm -it --network none "$IMG" sh -c 'tty; sleep 0.3; exit 7')")
rc=$?
like "run -it: a terminal" '/dev/pts/[0-9]+' "$out"
is "run -it: exit code through the pty" 7 "$rc"

out=$(pm run --rm --read-only --network none "$IMG" sh -c 'touch /x 2>&1; touch /tmp/y && echo tmp-writable' 2>&1)
like "run --read-only: / is read-only" 'Read-only file system' "$out"
like "run --read-only: /tmp is a writable tmpfs" 'tmp-writable' "$out"

out=$(pm run --rm -u 65534:65534 -w /tmp -e FOO=bar --hostname husk-host --network none "$IMG" \
  sh -c 'echo "$(id -u):$(id -g) $(pwd) $FOO $(hostname)"' 2>&1)
is "run -u -w -e --hostname" "65534:65534 /tmp bar husk-host" "$out"

out=$(pm run --rm --network none "$IMG" sh -c 'echo "$(ulimit -n) $(ulimit -u)"' 2>&1)
is "default_ulimits from containers.conf reach the container" "1024 1024" "$out"

out=$(pm run --rm --network none "$IMG" /nonexistent 2>&1)
rc=$?
is "run of a missing binary: 127, like crun/runc" 127 "$rc"
like "its message is husk's (JSON log through conmon)" 'cannot exec `/nonexistent`' "$out"

out=$(pm_base --runtime husk run --rm --network none "$IMG" echo by-name 2>&1)
is "--runtime husk (the name from [engine.runtimes])" by-name "$out"

# ---- a detached container ------------------------------------------------------------------
D=det-$$
pm run -d --name "$D" --network none "$IMG" sh -c 'trap "echo got-term; exit 0" TERM; while :; do sleep 0.1; done' >/dev/null 2>&1
wait_for [ "$(status_of "$D")" = running ]
is "run -d: running" running "$(status_of "$D")"
ID=$(id_of "$D")
conmon=$(pm inspect -f '{{.State.ConmonPid}}' "$D")
args=$(tr '\0' ' ' <"/proc/$conmon/cmdline" 2>/dev/null)
like "conmon runs husk with --log-format=json (runtime_supports_json)" '--runtime-arg --log-format=json --runtime-arg --log' "$args"
is "husk state (default root) says running" running "$("$HUSK" state "$ID" 2>/dev/null | jq -r .status)"

out=$(pm exec "$D" sh -c 'echo in-exec; exit 4' 2>&1)
rc=$?
is "exec: output" in-exec "$out"
is "exec: exit code" 4 "$rc"
out=$(pm exec -u 65534 -w /tmp -e A=b "$D" sh -c 'echo "$(id -u) $(pwd) $A"' 2>&1)
is "exec -u -w -e" "65534 /tmp b" "$out"
out=$(echo piped | pm exec -i "$D" cat 2>&1)
is "exec -i: stdin" piped "$out"
out=$(in_pty "$(pm_line exec -it "$D" sh -c 'tty; sleep 0.3; exit 9')")
rc=$?
like "exec -it: a terminal" '/dev/pts/[0-9]+' "$out"
is "exec -it: exit code" 9 "$rc"
out=$(pm exec "$D" /nonexistent 2>&1)
rc=$?
is "exec of a missing binary: 127" 127 "$rc"

pm exec -d "$D" sleep 1000 >/dev/null 2>&1
out=$(pm top "$D" 2>&1)
like "top: the init" 'trap "echo got-term' "$out"
like "top: the exec'd process" 'sleep 1000' "$out"

pm pause "$D" >/dev/null
is "pause: paused" paused "$(status_of "$D")"
is "pause: husk says paused" paused "$("$HUSK" state "$ID" 2>/dev/null | jq -r .status)"
out=$(pm exec "$D" true 2>&1)
check "pause: exec is refused" [ $? -ne 0 ]
pm unpause "$D" >/dev/null
is "unpause: running" running "$(status_of "$D")"
is "exec after unpause" ok "$(pm exec "$D" echo ok 2>&1)"

if pm update --help >/dev/null 2>&1; then
  out=$(pm update --memory 64m "$D" 2>&1)
  check "update --memory 64m" [ $? -eq 0 ]
  mem=$(cgroup_dirs "/libpod-$ID" | grep '/memory/' | head -n 1)
  if [ -n "$mem" ]; then
    is "update --memory: memory.limit_in_bytes" 67108864 "$(cat "$mem/memory.limit_in_bytes")"
  else
    mem=$(cgroup_dirs "/libpod-$ID" | head -n 1)
    is "update --memory: memory.max" 67108864 "$(cat "$mem/memory.max" 2>/dev/null)"
  fi
else
  skip "update --memory: this podman has no update command"
  skip "update --memory: the cgroup limit"
fi

SECONDS=0
pm stop -t 10 "$D" >/dev/null 2>&1
took=$SECONDS
is "stop: the TERM trap ran" exited "$(status_of "$D")"
is "stop: exit code 0 (from the trap)" 0 "$(pm inspect -f '{{.State.ExitCode}}' "$D")"
check "stop: SIGTERM was enough (${took}s < 10s)" [ "$took" -lt 10 ]
like "stop: the trap's output is in the log" got-term "$(pm logs "$D" 2>&1)"
# conmon's exit command (podman container cleanup) deletes it from husk
wait_for sh -c "! '$HUSK' state '$ID' >/dev/null 2>&1"
like "stop: podman's cleanup deleted it from husk" 'does not exist' "$("$HUSK" state "$ID" 2>&1)"

K=kill-$$
pm run -d --name "$K" --network none "$IMG" sleep 1000 >/dev/null 2>&1
wait_for [ "$(status_of "$K")" = running ]
SECONDS=0
pm stop -t 2 "$K" >/dev/null 2>&1
took=$SECONDS
is "stop -t 2 of a process that ignores SIGTERM: exited" exited "$(status_of "$K")"
is "stop -t 2: SIGKILL (137)" 137 "$(pm inspect -f '{{.State.ExitCode}}' "$K")"
check "stop -t 2: waited the timeout (${took}s >= 2s)" [ "$took" -ge 2 ]

old_pid=$(pm inspect -f '{{.State.Pid}}' "$K")
pm restart -t 1 "$K" >/dev/null 2>&1
wait_for [ "$(status_of "$K")" = running ]
is "restart of a stopped container: running" running "$(status_of "$K")"
pm restart -t 1 "$D" >/dev/null 2>&1
wait_for [ "$(status_of "$D")" = running ]
is "restart: running again" running "$(status_of "$D")"
new_pid=$(pm inspect -f '{{.State.Pid}}' "$K")
check "restart: a new init process" [ "$new_pid" != "$old_pid" ] && [ "$new_pid" -gt 0 ]

KID=$(id_of "$K")
cgs="$(cgroup_dirs "/libpod-$ID") $(cgroup_dirs "/libpod-$KID")"
pm rm -f -t 0 "$D" "$K" >/dev/null 2>&1
is "rm -f: no containers left" "" "$(pm ps -a -q)"
left=""
for d in $cgs; do [ -d "$d" ] && left="$left $d"; done
is "rm -f: the containers' cgroups are gone" "" "$left"
check "rm -f: husk's state is gone" [ ! -e "/run/husk/$ID" ] && [ ! -e "/run/husk/$KID" ]

# ---- --sdnotify=container: READY from the container reaches podman's NOTIFY_SOCKET ----
# podman 4.3 does this itself (its own socket bind-mounted through the spec;
# the runtime gets no NOTIFY_SOCKET), so this checks that husk keeps out of
# its way: the spec's /run/notify mount and env reach the process intact.
if [ -n "${HUSK_TEST_INIT:-}" ] && command -v python3 >/dev/null; then
  dgram_recv "$T/sd.sock" "$T/sd.msgs" 'READY=1' 60
  sd_pid=$dgram_pid
  N=sdn-$$
  NOTIFY_SOCKET=$T/sd.sock pm run -d --name "$N" --sdnotify=container --network none "$IMG" \
    sh -c 'sleep 0.5; husk-test-init notify READY=1; sleep 100' >"$T/sd.run" 2>&1
  rc=$?
  is "run -d --sdnotify=container with husk: exit 0" 0 "$rc"
  [ "$rc" = 0 ] || diag "$(cat "$T/sd.run")"
  wait "$sd_pid" 2>/dev/null
  like "the container's READY=1 reaches podman's NOTIFY_SOCKET (podman's own socket in the spec)" 'msg: .*READY=1' "$(cat "$T/sd.msgs")"
  is "... and the container runs" running "$(status_of "$N")"
  pm rm -f -t 0 "$N" >/dev/null 2>&1
else
  skip "husk-test-init or python3 missing"; skip "husk-test-init or python3 missing"; skip "husk-test-init or python3 missing"
fi

done_testing
