# husk engine tests: what containerd.sh, podman.sh and rootless.sh share on top
# of tests/integration/lib.sh (TAP helpers, $T, cleanup of $T and its mounts).
HUSK_SRC=${HUSK_SRC:?HUSK_SRC must point at the source tree}
# shellcheck source=../integration/lib.sh
. "$HUSK_SRC/tests/integration/lib.sh"

# skip_all REASON: a TAP plan of 0 with the reason (the test counts as skipped)
skip_all() {
  echo "1..0 # SKIP $*"
  exit 0
}

# need_cmds CMD...: skip the whole file unless every command exists
need_cmds() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || skip_all "$c is not installed (Debian: $(pkg_of "$c"))"
  done
}
pkg_of() {
  case $1 in
    containerd | ctr) echo containerd ;;
    podman) echo podman ;;
    conmon) echo conmon ;;
    umoci) echo umoci ;;
    newuidmap | newgidmap) echo uidmap ;;
    script | setpriv) echo util-linux ;;
    useradd | userdel) echo passwd ;;
    busybox) echo busybox-static ;;
    *) echo "$1" ;;
  esac
}

# A one-layer busybox OCI image from the host's static busybox, as an
# oci-archive (a tar of an OCI image layout).  The index names it "latest".
# build_busybox_image OUT.tar
build_busybox_image() {
  local out=$1 dir=$T/.image rootfs=$T/.image/rootfs
  _base_rootfs # busybox, husk-test-init (the sd_notify client), passwd
  mkdir -p "$dir"
  cp -a "$T/.base" "$rootfs"
  echo 'nobody:x:65534:' >>"$rootfs/etc/group"
  (
    set -e
    cd "$dir"
    umoci init --layout layout
    umoci new --image layout:latest
    umoci insert --image layout:latest rootfs /
    umoci config --image layout:latest --config.cmd /bin/sh \
      --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --config.workingdir /
    cd layout
    tar cf "$out" .
  ) >"$T/.image.log" 2>&1 || { sed 's/^/# /' "$T/.image.log"; return 1; }
  rm -rf "$dir"
}

# pids_matching STRING: pids whose command line contains STRING (a path
# unique to this test file), for killing exactly what the test started
pids_matching() {
  local p
  for p in /proc/[0-9]*; do
    [ "${p#/proc/}" = "$$" ] && continue
    tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -qF -- "$1" && echo "${p#/proc/}"
  done
}

# cgroup_dirs PATTERN: cgroup directories (every hierarchy) whose path ends in PATTERN
cgroup_dirs() { find /sys/fs/cgroup -maxdepth 6 -type d -path "*$1" 2>/dev/null; }

# in_pty CMD: run a shell command line on a fresh pty (util-linux script),
# output without carriage returns and NULs; the exit status is CMD's.
# Engines may lose what a tty process printed right before it exits (seen
# with runc too: conmon/ctr read the pty master after the hangup), so the
# commands run in a pty sleep a moment before they exit.
# script runs CMD with $SHELL -c, or /bin/sh when SHELL is unset (as under CI);
# pin /bin/sh so a local run takes the same path. CMD must keep the engine in
# the terminal's foreground process group (exec it, or timeout --foreground):
# a client that makes its tty raw from a background group is stopped by
# SIGTTOU and hangs.
in_pty() {
  local o rc
  o=$(SHELL=/bin/sh timeout -k 10 150 script -qec "$1" /dev/null </dev/null)
  rc=$?
  printf '%s' "$o" | tr -d '\r\000'
  return $rc
}
