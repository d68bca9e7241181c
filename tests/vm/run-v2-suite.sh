#!/bin/bash
# tests/vm/run-v2-suite.sh BUILDDIR - the cgroup-v2 half of the integration
# tests: boots ONE cgroup-v2-only VM (tests/vm/run.sh) and runs
# tests/vm/v2-tests.sh in it against the husk already built in BUILDDIR.
# Prints one TAP stream (tests named "v2/<file>: ...", plan last) and exits
# non-zero when a test failed or the VM could not run them (then a failing
# test line and a plan are added, so the TAP stays well-formed).
#
# env: HUSK_VM_TIMEOUT (default 1800 s), HUSK_V2_TESTS, HUSK_V2_RTT,
#      HUSK_V2_RTT_TESTS, HUSK_V2_RTT_INFO (see v2-tests.sh), HUSK_VM_* (run.sh)
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${1:?usage: run-v2-suite.sh BUILDDIR}
build=$(realpath -e "$build") || exit 2
[ -x "$build/husk" ] || { echo "run-v2-suite.sh: $build/husk is not built" >&2; exit 2; }

# The guest sees the host's root, but with fresh /tmp and /run: share the
# build dir, and the source tree too (a clone may live under /tmp).
if [[ "$build/" == "$src/"* ]]; then
  args=(--share "$src" --cwd /)
else
  args=(--share "$build" --share "$src" --cwd /)
fi
envs=()
for v in HUSK_V2_TESTS HUSK_V2_RTT HUSK_V2_RTT_TESTS HUSK_V2_RTT_INFO; do
  [ -n "${!v:-}" ] && envs+=(--env "$v=${!v}")
done
if [ -n "${HUSK_V2_RTT:-}" ]; then
  HUSK_V2_RTT=$(realpath -e "$HUSK_V2_RTT") || exit 2
  args+=(--share "$HUSK_V2_RTT")
fi

out=$(mktemp /tmp/run-v2-suite.XXXXXX)
trap 'rm -f "$out"' EXIT
"$here/run.sh" "${args[@]}" "${envs[@]}" --timeout "${HUSK_VM_TIMEOUT:-1800}" -- \
  bash "$src/tests/vm/v2-tests.sh" "$build" "$src" | tee "$out"
rc=${PIPESTATUS[0]}
if ! grep -q '^1\.\.[0-9]' "$out"; then
  n=$(grep -cE '^(ok|not ok) ' "$out")
  echo "not ok $((n + 1)) - v2: the VM ran the suite to the end (run.sh exit $rc: 124 timeout, 125 VM failure)"
  echo "1..$((n + 1))"
  [ "$rc" != 0 ] || rc=1
fi
exit "$rc"
