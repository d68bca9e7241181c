#!/bin/bash
# husk: install the build and test dependencies, build, run every test suite
# (criterion unit tests and the root integration tests), and end with the line
#
#   N passed, N failed[, N skipped]
#
# counted over the individual TAP results of all tests (a meson test that
# failed without a `not ok` line, e.g. a crash or a timeout, counts as one
# failure).  Exits non-zero when anything failed.
#
# Usage: bash contrib/test.sh        (as root, on Debian 12; needs no stdin)
# Environment:
#   BUILD_DIR             build directory (default: build-test, wiped first)
#   HUSK_TEST_DEADLINE    seconds the whole run may take before the test run is
#                         stopped (default 4800, under CI's 90 minutes)
#   HUSK_TEST_TIMEOUT_MULTIPLIER  scales the per-test timeouts of tests/meson.build
#                         (unit 120 s, integration 600 s; default 1)
#   MESON_TEST_ARGS       extra arguments for `meson test` (e.g. "--suite unit")
set -uo pipefail

# CI may start us with a bare environment: no SHELL, a PATH without the sbin
# directories, stdin closed. Give every test the same predictable ground.
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin${PATH:+:$PATH}"
export HOME=${HOME:-/root}
# husk forwards sd_notify when NOTIFY_SOCKET is set (start then waits for
# READY=); the tests set it themselves where they mean it.
unset NOTIFY_SOCKET
exec </dev/null

# Everything the build and the tests need, in one place.
PACKAGES=(
  build-essential gcc pkg-config meson ninja-build          # toolchain (libc6-dev: static libc for the test init)
  libyajl-dev libseccomp-dev libcap-dev libnl-3-dev libnl-route-3-dev   # libhusk
  libcriterion-dev                                          # unit tests
  busybox-static jq iproute2 procps util-linux              # integration tests: rootfs, JSON, ip, ps, mount/unshare
  libcurl4-openssl-dev libarchive-dev libssl-dev            # husk-build
  docker-registry skopeo umoci apache2-utils socat curl     # husk-build tests: a real registry, image tools
  runc zstd libarchive-tools python3                        # husk-build tests: runc runs bundles too, zstd layers
  containerd podman conmon uidmap passwd                    # engine tests: ctr/shim, podman/conmon, rootless
  qemu-system-x86 xz-utils                                  # the cgroup-v2 VM (tests/vm/)
)

cd "$(dirname "$0")/.." || exit 1
SRC=$PWD
BUILD=${BUILD_DIR:-build-test}
DEADLINE=${HUSK_TEST_DEADLINE:-4800}
MULT=${HUSK_TEST_TIMEOUT_MULTIPLIER:-1}

step() { printf '\n==> %s\n' "$*"; }

# The closing line for a run that did not get as far as the tests.
abort() {
  echo "test.sh: $*" >&2
  echo "0 passed, 1 failed"
  exit 1
}

# ---- dependencies -----------------------------------------------------------
missing_packages() {
  local p
  for p in "${PACKAGES[@]}"; do
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ] || echo "$p"
  done
}

install_deps() {
  local missing sudo=() log
  mapfile -t missing < <(missing_packages)
  if [ ${#missing[@]} -eq 0 ]; then
    echo "all ${#PACKAGES[@]} packages are installed"
    return 0
  fi
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || abort "missing packages (${missing[*]}) and not root"
    sudo=(sudo -n)
  fi
  echo "installing: ${missing[*]}"
  log=$(mktemp /tmp/husk-apt.XXXXXX)
  export DEBIAN_FRONTEND=noninteractive
  if ! "${sudo[@]}" apt-get -q -o DPkg::Lock::Timeout=300 update </dev/null >"$log" 2>&1 \
    || ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=300 \
      install --no-install-recommends "${missing[@]}" </dev/null >>"$log" 2>&1; then
    tail -n 30 "$log" >&2
    rm -f "$log"
    abort "apt-get failed"
  fi
  rm -f "$log"
  mapfile -t missing < <(missing_packages)
  [ ${#missing[@]} -eq 0 ] || abort "still missing after apt-get: ${missing[*]}"
}

# ---- counting ---------------------------------------------------------------
# One line per meson test: name, result, passed, failed, skipped (TAP lines at
# column 0: `ok`, `not ok`; `# SKIP` and `# TODO` directives count as skipped).
per_test_counts() {
  jq -r '
    select(type == "object" and has("result")) |
    [ (.stdout // "") | split("\n")[] | select(test("^(not )?ok([ \t]|$)")) ] as $tap |
    ($tap | map(select(test("#[ \t]*(skip|todo)"; "i"))) | length) as $skip |
    ($tap | map(select(startswith("not ok") and (test("#[ \t]*todo"; "i") | not))) | length) as $fail |
    (($tap | length) - $skip - $fail) as $pass |
    if ($tap | length) == 0 then
      # not TAP, or a plan of 0 tests, or died before printing any result
      if .result == "OK" or .result == "EXPECTEDFAIL" then [.name, .result, 1, 0, 0]
      elif .result == "SKIP" then [.name, .result, 0, 0, 1]
      else [.name, .result, 0, 1, 0] end
    elif ($fail == 0 and (.result | IN("OK", "SKIP", "EXPECTEDFAIL") | not)) then
      [.name, .result, $pass, 1, $skip]   # e.g. TIMEOUT or a crash after the last ok
    else [.name, .result, $pass, $fail, $skip] end
    | @tsv' "$1"
}

# The `not ok` lines (and the diagnostics right after them) of failed tests.
failure_details() {
  jq -r '
    select(type == "object" and has("result") and (.result | IN("OK", "SKIP", "EXPECTEDFAIL") | not)) |
    "--- \(.name): \(.result)",
    ( (.stdout // "") | split("\n") as $l |
      [ range(0; $l | length) as $i |
        select(($l[$i] | startswith("not ok")) or ($l[$i] | test("^Bail out!"))) |
        $l[$i], ($l[$i + 1:] | .[:((map(startswith("#") | not) | indices(true)[0]) // length)][]) ] |
      map("    " + .) |
      if length == 0 then "    (no failed assertion printed; see the error log above)" else .[] end )' "$1"
}

# ---- main -------------------------------------------------------------------
step "dependencies"
install_deps

step "build ($BUILD)"
rm -rf --one-file-system "$BUILD"
meson setup "$BUILD" "$SRC" </dev/null || abort "meson setup failed"
ninja -C "$BUILD" </dev/null || abort "build failed"

step "tests (kernel $(uname -r), $(stat -fc %T /sys/fs/cgroup 2>/dev/null) on /sys/fs/cgroup, uid $(id -u))"
left=$((DEADLINE - SECONDS))
[ "$left" -gt 60 ] || left=60
rc=0
# shellcheck disable=SC2086  # MESON_TEST_ARGS is a word list on purpose
timeout --kill-after=30 "$left" \
  meson test -C "$BUILD" --print-errorlogs --timeout-multiplier "$MULT" ${MESON_TEST_ARGS:-} </dev/null || rc=$?
timed_out=false
[ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] && timed_out=true

log=$BUILD/meson-logs/testlog.json
[ -s "$log" ] || abort "meson test left no $log (exit $rc)"

step "summary (TAP results)"
counts=$(per_test_counts "$log") || abort "cannot read $log"
printf '%s\n' "$counts" | awk -F'\t' '{ sub(/^[^ ]+ \/ /, "", $1); printf "  %-28s %-8s %4d passed %3d failed %3d skipped\n", $1, $2, $3, $4, $5 }'
details=$(failure_details "$log")
[ -n "$details" ] && { echo; printf '%s\n' "$details"; }

read -r passed failed skipped < <(printf '%s\n' "$counts" |
  awk -F'\t' '{ p += $3; f += $4; s += $5 } END { printf "%d %d %d\n", p, f, s }')
if $timed_out; then
  echo "the test run was stopped after ${left}s (HUSK_TEST_DEADLINE); tests not run count as nothing"
  failed=$((failed + 1))
elif [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
  echo "meson test exited $rc"
  failed=1
fi
echo "took ${SECONDS}s"
if [ "$skipped" -gt 0 ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
