#!/bin/bash
# husk-build benchmark: `husk-build pull` + `husk-build bundle` against
# `skopeo copy` + `umoci unpack` on the same image from a local registry
# (Debian's docker-registry on 127.0.0.1, started here).  Prints each run's
# wall time, the medians and the ratio husk-build / (skopeo + umoci).
#
# Usage: bash contrib/bench-pull.sh            (as root; offline)
# Environment:
#   HUSK_BUILD   the husk-build binary (default: build-test/src/build/husk-build,
#                then the first husk-build found in build*/ or PATH)
#   BENCH_RUNS   runs of each side (default 5)
#   BENCH_MB     size of the test image's payload in MB (default 48, spread over
#                4 layers, half random and half compressible data, plus busybox)
# Needs: docker-registry skopeo umoci busybox-static (apt), a built husk-build.
set -euo pipefail

cd "$(dirname "$0")/.."
HB=${HUSK_BUILD:-}
if [ -z "$HB" ]; then
  for c in build-test/src/build/husk-build build/src/build/husk-build $(ls -d build*/src/build/husk-build 2>/dev/null) \
    "$(command -v husk-build || true)"; do
    [ -n "$c" ] && [ -x "$c" ] && HB=$c && break
  done
fi
[ -n "$HB" ] && [ -x "$HB" ] || { echo "bench-pull: set HUSK_BUILD to a built husk-build" >&2; exit 1; }
for t in docker-registry skopeo umoci busybox; do
  command -v "$t" >/dev/null || { echo "bench-pull: $t is required (apt install docker-registry skopeo umoci busybox-static)" >&2; exit 1; }
done
RUNS=${BENCH_RUNS:-5}
MB=${BENCH_MB:-48}

W=$(mktemp -d /tmp/husk-bench.XXXXXX)
REGPID=
cleanup() {
  [ -n "$REGPID" ] && kill "$REGPID" 2>/dev/null && wait "$REGPID" 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT

# ---- a registry -------------------------------------------------------------
for _ in $(seq 1 50); do
  PORT=$((20000 + RANDOM % 12000))
  (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null || break
done
mkdir -p "$W/reg"
cat >"$W/reg.yml" <<YML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $W/reg
http:
  addr: 127.0.0.1:$PORT
YML
docker-registry serve "$W/reg.yml" </dev/null >"$W/reg.log" 2>&1 &
REGPID=$!
for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.05; done
REG=127.0.0.1:$PORT

# ---- the test image: busybox + 4 layers -------------------------------------
echo "building a test image (${MB} MB payload in 4 layers)..." >&2
L=$W/layout
umoci init --layout "$L"
umoci new --image "$L:bench"
per=$((MB * 1024 / 4))  # KB per layer
for i in 1 2 3 4; do
  rm -rf "$W/b"
  umoci unpack --image "$L:bench" "$W/b" >/dev/null
  mkdir -p "$W/b/rootfs/bin" "$W/b/rootfs/data$i"
  [ "$i" = 1 ] && cp "$(command -v busybox)" "$W/b/rootfs/bin/busybox" && ln -s busybox "$W/b/rootfs/bin/sh"
  head -c $((per / 2))K /dev/urandom >"$W/b/rootfs/data$i/random"
  for f in $(seq 1 64); do head -c $((per * 1024 / 2 / 64)) < <(yes "layer $i file $f: some compressible text") >"$W/b/rootfs/data$i/text$f"; done
  umoci repack --image "$L:bench" "$W/b" >/dev/null
done
umoci config --image "$L:bench" --config.cmd /bin/sh
rm -rf "$W/b"
skopeo copy -q --dest-tls-verify=false "oci:$L:bench" "docker://$REG/bench/img:1"
SIZE=$(skopeo inspect --raw --tls-verify=false "docker://$REG/bench/img:1" | jq '[.layers[].size] | add')
echo "image: $REG/bench/img:1, $((SIZE / 1024 / 1024)) MB compressed" >&2

have_bundle=true
"$HB" help 2>/dev/null | grep -q '^  bundle' || have_bundle=false
if $have_bundle; then
  "$HB" --store "$W/probe" pull -q "$REG/bench/img:1" >/dev/null 2>&1 &&
    "$HB" --store "$W/probe" bundle "$REG/bench/img:1" "$W/probe-bundle" >/dev/null 2>&1 || have_bundle=false
  rm -rf "$W/probe" "$W/probe-bundle"
fi

now() { date +%s.%N; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN {print b - a}'; }
t_hb=() t_sk=() t_pull=() t_copy=()
for r in $(seq 1 "$RUNS"); do
  rm -rf "$W/st" "$W/bundle-hb" "$W/oci" "$W/bundle-sk"
  sync
  a=$(now)
  "$HB" --store "$W/st" pull -q "$REG/bench/img:1" >/dev/null
  a2=$(now)
  $have_bundle && "$HB" --store "$W/st" bundle "$REG/bench/img:1" "$W/bundle-hb" >/dev/null
  b=$(now)
  skopeo copy -q --src-tls-verify=false "docker://$REG/bench/img:1" "oci:$W/oci:img" >/dev/null
  b2=$(now)
  $have_bundle && umoci unpack --image "$W/oci:img" "$W/bundle-sk" >/dev/null 2>&1
  c=$(now)
  t_hb+=("$(sub "$a" "$b")")
  t_sk+=("$(sub "$b" "$c")")
  t_pull+=("$(sub "$a" "$a2")")
  t_copy+=("$(sub "$b" "$b2")")
  printf 'run %d: husk-build %.3f s (pull %.3f)   skopeo%s %.3f s (copy %.3f)\n' "$r" "${t_hb[-1]}" "${t_pull[-1]}" \
    "$($have_bundle && echo +umoci)" "${t_sk[-1]}" "${t_copy[-1]}"
done
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
mh=$(median "${t_hb[@]}") ms=$(median "${t_sk[@]}") mp=$(median "${t_pull[@]}") mc=$(median "${t_copy[@]}")
printf 'pull alone: husk-build pull %.3f s vs skopeo copy %.3f s, ratio %s\n' "$mp" "$mc" "$(ratio "$mp" "$mc")"
if $have_bundle; then
  printf 'husk-build pull+bundle vs skopeo copy+umoci unpack: median %.3f s vs %.3f s, ratio %s (target <= 0.5)\n' \
    "$mh" "$ms" "$(ratio "$mh" "$ms")"
else
  echo "no husk-build bundle in this build: only pull vs skopeo copy was measured (ratio above)"
fi
