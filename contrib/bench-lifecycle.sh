#!/bin/bash
# Benchmark: container lifecycle latency of husk next to runc and crun (when
# installed), on the same busybox bundle running /bin/true.  Prints
# hyperfine's table and the ratios to husk.  Not a test: numbers depend on
# the machine; compare the ratios of one run, never absolute times.
#
# Usage: bash contrib/bench-lifecycle.sh [BUILD_DIR]   (as root; needs hyperfine,
#        busybox-static, jq; BUILD_DIR defaults to build-test)
# Env: RUNS (default 100), RUNTIMES (default "husk runc crun")
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build-test}
HUSK=$(realpath "$BUILD/husk")
RUNS=${RUNS:-100}
[ "$(id -u)" = 0 ] || { echo "bench-lifecycle.sh: run as root" >&2; exit 1; }
for t in hyperfine jq busybox; do command -v "$t" >/dev/null || { echo "bench-lifecycle.sh: needs $t" >&2; exit 1; }; done

T=$(mktemp -d /tmp/husk-bench.XXXXXX)
CG=/husk-bench-$$
cleanup() {
  for d in $(find /sys/fs/cgroup -maxdepth 3 -type d -name "${CG#/}" 2>/dev/null); do
    find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  rm -rf --one-file-system "$T"
}
trap cleanup EXIT

mkdir -p "$T/bundle/rootfs"/{bin,dev,proc,sys,tmp,etc}
cp "$(command -v busybox)" "$T/bundle/rootfs/bin/busybox"
ln -s busybox "$T/bundle/rootfs/bin/true"
(cd "$T/bundle" && "$HUSK" spec)
jq --arg cg "$CG/c" '.process.terminal = false | .process.args = ["/bin/true"] | .linux.cgroupsPath = $cg' \
  "$T/bundle/config.json" >"$T/c.json" && mv "$T/c.json" "$T/bundle/config.json"

cmds=() names=()
for rt in ${RUNTIMES:-husk runc crun}; do
  bin=$([ "$rt" = husk ] && echo "$HUSK" || command -v "$rt" || true)
  [ -n "$bin" ] || { echo "skipping $rt: not installed"; continue; }
  # crun refuses hybrid cgroup hosts and specs newer than it knows: try it once first
  if ! "$bin" --root "$T/state-$rt" run -b "$T/bundle" probe-$rt >/dev/null 2>&1; then
    echo "skipping $rt: it cannot run this bundle here"
    continue
  fi
  names+=("$rt")
  cmds+=("$bin --root $T/state-$rt run -b $T/bundle c-$rt")
done
hyperfine -N --warmup 5 --runs "$RUNS" --export-json "$T/hf.json" "${cmds[@]}"
echo
jq -r --argjson n "$(printf '%s\n' "${names[@]}" | jq -R . | jq -s .)" '
  .results as $r | ($r[0].median) as $base |
  range(0; $r | length) | "\($n[.]): median \($r[.].median * 1000 | . * 100 | round / 100) ms, ratio to \($n[0]) \(($r[.].median / $base) * 100 | round / 100)"' "$T/hf.json"
