#!/bin/bash
# husk demo: install the build dependencies, build husk, make a busybox bundle
# from Debian's busybox-static (no network), run it and show what the
# container sees, then walk through create / start / state / kill / delete.
#
# Usage: bash contrib/demo.sh        (as root, on Debian 12)
# Everything it makes (bundle, state root, cgroups) is removed at the end;
# the build stays in build-demo/.
set -euo pipefail

PACKAGES=(build-essential pkg-config meson ninja-build libyajl-dev libseccomp-dev libcap-dev
  libnl-3-dev libnl-route-3-dev libcurl4-openssl-dev libarchive-dev libssl-dev busybox-static jq procps)

cd "$(dirname "$0")/.."
SRC=$PWD
BUILD=$SRC/build-demo
HUSK=$BUILD/husk

bold() { if [ -t 1 ]; then printf '\n\033[1m%s\033[0m\n' "$*"; else printf '\n%s\n' "$*"; fi; }
# show CMD...: print the command as a user would type it, then run it
show() { printf '$ %s\n' "$*"; "$@"; }

[ "$(id -u)" = 0 ] || { echo "demo.sh: run as root (containers need it)" >&2; exit 1; }

# ---- 1. dependencies and build ----------------------------------------------
bold "== 1. dependencies and build"
missing=()
for p in "${PACKAGES[@]}"; do
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -qq -o DPkg::Lock::Timeout=300 update </dev/null
  apt-get -qq -y -o DPkg::Lock::Timeout=300 install --no-install-recommends "${missing[@]}" </dev/null >/dev/null
else
  echo "all build dependencies are installed"
fi
if [ ! -f "$BUILD/build.ninja" ]; then
  meson setup "$BUILD" "$SRC" -Dunit_tests=false -Dintegration_tests=false >/dev/null
fi
ninja -C "$BUILD" >/dev/null
echo "built $("$HUSK" --version | head -n 1)"

# ---- 2. a busybox bundle, offline -------------------------------------------
T=$(mktemp -d /tmp/husk-demo.XXXXXX)
chmod 755 "$T"
ROOT=$T/state          # a private --root, so the demo touches no other container
CG=/husk-demo-$$       # cgroup parent of the demo's containers
husk() { "$HUSK" --root "$ROOT" "$@"; }

cleanup() {
  local d
  set +e
  for d in "$ROOT"/*; do
    [ -d "$d" ] && "$HUSK" --root "$ROOT" delete -f "${d##*/}" >/dev/null 2>&1
  done
  find /sys/fs/cgroup -maxdepth 3 -type d -name "${CG#/}" -exec rmdir {} + 2>/dev/null
  rm -rf --one-file-system "$T"
}
trap cleanup EXIT

bold "== 2. a bundle from Debian's busybox-static"
BB=/bin/busybox
BUNDLE=$T/bundle
mkdir -p "$BUNDLE/rootfs"/{bin,dev,etc,proc,sys,tmp,root}
cp "$BB" "$BUNDLE/rootfs/bin/busybox"
for a in $("$BB" --list); do [ "$a" = busybox ] || ln -s busybox "$BUNDLE/rootfs/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$BUNDLE/rootfs/etc/passwd"
echo 'root:x:0:' >"$BUNDLE/rootfs/etc/group"
chmod 1777 "$BUNDLE/rootfs/tmp"

# What the container runs: it looks around and reports.
cat >"$BUNDLE/rootfs/bin/look-around" <<'EOF'
#!/bin/sh
echo "hostname:   $(hostname)"
echo "PID 1:      $(tr '\0' ' ' </proc/1/cmdline)"
echo "processes:"; ps -o pid,user,args | sed 's/^/  /'
echo "mounts:"; awk '{ for (i = 7; $i != "-"; i++) ; split($6, o, ","); printf "  %-22s %-8s %s\n", $5, $(i + 1), o[1] }' /proc/self/mountinfo
echo "cgroup:"; sed 's/^/  /' /proc/self/cgroup
echo "network:    $(ls /sys/class/net | tr '\n' ' ')"
echo "id:         $(id)"
grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status | sed 's/^/  /'
EOF
chmod 755 "$BUNDLE/rootfs/bin/look-around"

show husk spec -b "$BUNDLE"
jq --arg cg "$CG/demo-run" '
  .process.terminal = false
  | .process.args = ["/bin/look-around"]
  | .hostname = "husk-demo"
  | .linux.cgroupsPath = $cg' "$BUNDLE/config.json" >"$BUNDLE/config.json.new"
mv "$BUNDLE/config.json.new" "$BUNDLE/config.json"
echo "config.json: $(jq -c '{args: .process.args, terminal: .process.terminal, hostname, readonly: .root.readonly,
  namespaces: [.linux.namespaces[].type], cgroupsPath: .linux.cgroupsPath}' "$BUNDLE/config.json")"

# ---- 3. run it --------------------------------------------------------------
bold "== 3. husk run: what the container sees"
echo "(the host for comparison: hostname $(hostname), $(set -- /proc/[0-9]*; echo $#) processes," \
  "$(wc -l </proc/self/mountinfo) mounts, interfaces $(cd /sys/class/net && echo *))"
rc=0
show husk run -b "$BUNDLE" demo-run || rc=$?
echo "exit status: $rc"

# ---- 4. step by step --------------------------------------------------------
bold "== 4. the lifecycle step by step: create, start, state, kill, delete"
jq --arg cg "$CG/demo-life" '
  .process.args = ["/bin/sh", "-c", "trap \"echo container: got SIGTERM, exiting; exit 0\" TERM; echo container: started as PID $$; while :; do sleep 1; done"]
  | .linux.cgroupsPath = $cg' "$BUNDLE/config.json" >"$BUNDLE/config.json.new"
mv "$BUNDLE/config.json.new" "$BUNDLE/config.json"

show husk create -b "$BUNDLE" --pid-file "$T/demo-life.pid" demo-life
echo "pid file: $(cat "$T/demo-life.pid")   (state dir: $(cd "$ROOT/demo-life" && echo *))"
show husk state demo-life
echo
show husk start demo-life
sleep 0.3
show husk state demo-life
echo
show husk list
pid=$(husk state demo-life | jq .pid)
echo "on the host, the container's PID 1 is $pid: $(tr '\0' ' ' </proc/"$pid"/cmdline)"
echo "its cgroup: $(grep -E '^(0::|[0-9]+:pids:)' /proc/"$pid"/cgroup | tr '\n' ' ')"
show husk kill demo-life TERM
for _ in $(seq 50); do
  [ "$(husk state demo-life | jq -r .status)" = stopped ] && break
  sleep 0.1
done
show husk state demo-life
echo
show husk delete demo-life
printf '$ husk state demo-life\n'
husk state demo-life || echo "(exit status $?)"

# ---- 5. husk-build: an image from a config.txt, offline ----------------------
bold "== 5. husk-build: build an image from a config.txt and run it"
HB=$BUILD/src/build/husk-build
STORE=$T/store
hb() { HUSK=$HUSK "$HB" --store "$STORE" "$@"; }
# showhb ARGS...: print it as `husk-build ARGS` (the store flag left out), then run it
showhb() { printf '$ husk-build %s\n' "$*"; hb "$@"; }
CTX=$T/context
mkdir -p "$CTX/rootfs"
cp -a "$BUNDLE/rootfs/." "$CTX/rootfs/"
rm -f "$CTX/rootfs/bin/look-around"
cat >"$CTX/config.txt" <<'EOF'
# A tiny image: busybox from Debian's busybox-static, one RUN step, a CMD.
FROM scratch
COPY rootfs/ /
ENV GREETING="hello from an image built by husk-build"
WORKDIR /srv
RUN echo "built by $(id -un) in $(pwd), kernel $(uname -r)" > /srv/built.txt
EXPOSE 8080
CMD ["sh", "-c", "echo \"$GREETING\"; cat /srv/built.txt; echo \"cwd: $(pwd), hostname: $(hostname)\""]
EOF
printf '$ cat config.txt\n'; sed 's/^/  /' "$CTX/config.txt"
showhb build -f "$CTX/config.txt" -t demo/hello:1 "$CTX"
bold "-- an unchanged rebuild comes from the cache"
printf '$ husk-build build -f config.txt -t demo/hello:1 .   (again)\n'
n=$(hb build -f "$CTX/config.txt" -t demo/hello:1 "$CTX" 2>&1 | grep -c 'Using cache' || true)
echo "  $n of 6 steps came from the layer cache, nothing ran"
showhb images
showhb bundle demo/hello:1 "$T/hello-bundle"
printf '$ jq -c .process.args,.process.cwd config.json\n'
jq -c '.process.args, .process.cwd' "$T/hello-bundle/config.json"
jq --arg cg "$CG/hello" '.linux.cgroupsPath = $cg' "$T/hello-bundle/config.json" >"$T/hello-bundle/c.json"
mv "$T/hello-bundle/c.json" "$T/hello-bundle/config.json"
show husk run -b "$T/hello-bundle" demo-hello

bold "== done: the bundle, state root and cgroups are removed"
