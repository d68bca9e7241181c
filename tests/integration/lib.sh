# husk integration tests: shared helpers (sourced by every tests/integration/*.sh).
# Each test file runs as root on the real kernel, with its own --root, ids,
# bundles and cgroup parent, prints TAP, and removes everything it made.
set -u

HUSK=${HUSK:?HUSK must point at the built husk binary}
unset NOTIFY_SOCKET # only notify.sh sets it, per command
HUSK_TEST_INIT=${HUSK_TEST_INIT:-}
T=$(mktemp -d /tmp/husk-it.XXXXXX)
chmod 755 "$T"
ROOT=$T/state
CGPARENT=/husk-it-$$-$RANDOM
_n=0
_failed=0

h() { "$HUSK" --root "$ROOT" "$@"; }

_cleanup() {
  local id d
  if [ -d "$ROOT" ]; then
    for id in $(ls "$ROOT" 2>/dev/null); do "$HUSK" --root "$ROOT" delete -f "$id" >/dev/null 2>&1; done
  fi
  # cgroups made under this file's own parent, deepest first
  for d in $(find /sys/fs/cgroup -maxdepth 6 -type d -path "*${CGPARENT}*" 2>/dev/null | sort -r); do
    rmdir "$d" 2>/dev/null
  done
  # mounts left under the temp dir (tests without a mount namespace)
  for d in $(awk -v p="$T/" 'index($5, p) == 1 {print $5}' /proc/self/mountinfo | sort -r); do
    umount -l "$d" 2>/dev/null
  done
  rm -rf --one-file-system "$T"
}
trap _cleanup EXIT

ok() { _n=$((_n + 1)); echo "ok $_n - $*"; }
not_ok() { _n=$((_n + 1)); _failed=$((_failed + 1)); echo "not ok $_n - $*"; }
skip() { _n=$((_n + 1)); echo "ok $_n - # SKIP $*"; }
diag() { printf '# %s\n' "$@" | sed 's/^# $/#/'; }

# check NAME COMMAND...: passes when COMMAND succeeds
check() {
  local name=$1; shift
  if "$@"; then ok "$name"; else not_ok "$name"; fi
}
# is NAME EXPECTED ACTUAL
is() {
  if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1"; diag "expected: [$2]" "actual:   [$3]"; fi
}
# like NAME REGEX ACTUAL
like() {
  if printf '%s' "$3" | grep -Eq -- "$2"; then ok "$1"; else not_ok "$1"; diag "expected to match: $2" "actual: [$3]"; fi
}
unlike() {
  if printf '%s' "$3" | grep -Eq -- "$2"; then not_ok "$1"; diag "must not match: $2" "actual: [$3]"; else ok "$1"; fi
}

done_testing() { echo "1..$_n"; [ "$_failed" = 0 ]; exit $?; }

# dgram_recv SOCK OUT STOP_RE SECS: in the background, bind an AF_UNIX datagram
# socket at SOCK and write one "msg: <text, newlines as |>" line per datagram
# to OUT, until one matches the regex STOP_RE or SECS pass ("timeout"); fds
# sent along are dropped, as a reader without SCM_RIGHTS drops them. Returns
# once bound; the receiver's pid is in $dgram_pid.
dgram_recv() {
  python3 - "$1" "$3" "$4" >"$2" 2>"$2.err" <<'EOF' &
import re, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(float(sys.argv[3]))
print("bound", flush=True)
try:
    while True:
        d = s.recv(4096).decode()
        print("msg: " + d.replace("\n", "|"), flush=True)
        if re.search(sys.argv[2], d):
            break
except socket.timeout:
    print("timeout", flush=True)
EOF
  dgram_pid=$!
  wait_for grep -q bound "$2"
}

# A busybox rootfs, built once per test file and copied per bundle.
_base_rootfs() {
  if [ ! -d "$T/.base" ]; then
    local bb
    bb=$(command -v busybox) || { echo "Bail out! busybox (static) is required"; exit 1; }
    mkdir -p "$T/.base/bin" "$T/.base/proc" "$T/.base/sys" "$T/.base/dev" "$T/.base/etc" "$T/.base/tmp" \
      "$T/.base/root" "$T/.base/var/tmp"
    cp "$bb" "$T/.base/bin/busybox"
    for a in $("$bb" --list); do [ "$a" = busybox ] || ln -s busybox "$T/.base/bin/$a"; done
    [ -n "$HUSK_TEST_INIT" ] && [ -x "$HUSK_TEST_INIT" ] && cp "$HUSK_TEST_INIT" "$T/.base/bin/husk-test-init"
    echo 'root:x:0:0:root:/root:/bin/sh' >"$T/.base/etc/passwd"
    echo 'nobody:x:65534:65534:nobody:/:/bin/sh' >>"$T/.base/etc/passwd"
    echo 'root:x:0:' >"$T/.base/etc/group"
    chmod 1777 "$T/.base/tmp"
  fi
}

# make_bundle NAME [ARGS...]: $T/NAME with rootfs + config.json from `husk spec`,
# terminal off, cgroupsPath under this file's parent, process.args = ARGS.
make_bundle() {
  local name=$1; shift
  local b=$T/$name
  _base_rootfs
  mkdir -p "$b"
  cp -a "$T/.base" "$b/rootfs"
  (cd "$b" && "$HUSK" spec) || return 1
  local args
  args=$(jq -cn '$ARGS.positional' --args -- "${@:-true}")
  jq --argjson a "$args" --arg cg "$CGPARENT/$name" \
    '.process.terminal = false | .process.args = $a | .root.readonly = false | .linux.cgroupsPath = $cg' \
    "$b/config.json" >"$b/config.json.new" && mv "$b/config.json.new" "$b/config.json"
}

# edit_config NAME JQ-FILTER [jq args...]
edit_config() {
  local b=$T/$1 f=$2; shift 2
  jq "$@" "$f" "$b/config.json" >"$b/config.json.new" && mv "$b/config.json.new" "$b/config.json"
}

# run_container NAME: foreground run; sets $out (stdout+stderr) and $rc
run_container() {
  out=$(h run -b "$T/$1" "${2:-$1}" </dev/null 2>&1)
  rc=$?
}

# state_field ID FIELD
state_field() { h state "$1" 2>/dev/null | jq -r ".$2"; }

# wait_for COND-COMMAND... : up to ~5 s
wait_for() {
  local i
  for i in $(seq 1 100); do "$@" && return 0; sleep 0.05; done
  return 1
}

# no_leftovers ID: nothing of the container remains (state dir, cgroup)
no_leftovers() {
  local id=$1
  [ ! -e "$ROOT/$id" ] || return 1
  ! find /sys/fs/cgroup -maxdepth 5 -type d -path "*${CGPARENT}/${id}" 2>/dev/null | grep -q .
}
