#!/bin/bash
# tests/vm/run.sh - run one command in a throw-away cgroup-v2-only QEMU VM.
#
#   tests/vm/run.sh [options] [--share DIR]... -- COMMAND [ARGS...]
#
# The guest runs Debian's stock kernel (the package behind linux-image-amd64,
# fetched once with `apt-get download` and cached under $HUSK_VM_CACHE, keyed
# by kernel version) with cgroup_no_v1=all, so cgroup2 is the only hierarchy
# and its cpu, cpuset, io, memory, pids, hugetlb, rdma and misc controllers
# are enabled at the root.  The host's / is the guest's root: read-only over
# virtio-9p with a tmpfs overlay on top, so host binaries (the husk build,
# bash, jq, busybox) run unchanged and nothing the guest writes reaches the
# host, except in the --share directories (read-write, same path).  No
# network is needed in the guest.
#
# COMMAND's stdout and stderr come back separately over virtio-serial; the
# script exits with COMMAND's status, 124 on timeout, 125 when the VM itself
# failed (the tail of the guest console is printed then).
#
# Needs: qemu-system-x86, busybox-static, dpkg-deb, apt-get (first run only),
# flock, timeout, xz (or busybox unxz).  Based on the reference in the shared
# docs (cgroup-v2-vm.md); kept in the tree so CI does not depend on it.
set -euo pipefail

prog=tests/vm/run.sh
if [ "$(id -u)" = 0 ]; then CACHE=${HUSK_VM_CACHE:-/var/cache/husk-v2vm}
else CACHE=${HUSK_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/husk-v2vm}; fi
MEM=${HUSK_VM_MEM:-2048}           # MiB
CPUS=${HUSK_VM_CPUS:-$(nproc)}
TIMEOUT=${HUSK_VM_TIMEOUT:-1800}   # seconds for the whole VM
ACCEL=${HUSK_VM_ACCEL:-auto}       # auto | kvm | tcg
KPKG=${HUSK_VM_KERNEL_PKG:-}       # pin e.g. linux-image-6.1.0-56-amd64
KDEB=${HUSK_VM_KERNEL_DEB:-}       # or use this .deb
BOOT_TIMEOUT=${HUSK_VM_BOOT_TIMEOUT:-120}
SHARES=(); CWD=""; VERBOSE=0; KEEP=0; ENVS=(); APPEND=""

usage() {
  cat <<USAGE
usage: $prog [options] -- COMMAND [ARGS...]
  --share DIR    mount host DIR read-write at the same path (repeatable;
                 the first one is the default working directory)
  --cwd DIR      working directory of COMMAND in the guest
  --env K=V      environment for COMMAND (repeatable; otherwise only PATH,
                 HOME, TERM, LANG and HUSK_VM=1)
  --mem MIB      guest memory (default $MEM)
  --cpus N       guest vCPUs (default $CPUS)
  --timeout S    kill the VM after S seconds (exit 124; default $TIMEOUT)
  --accel A      auto|kvm|tcg (auto: KVM only with /dev/kvm and vmx/svm)
  --append ARGS  extra kernel command line
  -v, --verbose  guest console and timings on stderr
  --keep         keep the per-run directory (initramfs, console log)
env: HUSK_VM_CACHE (default /var/cache/husk-v2vm), HUSK_VM_KERNEL_PKG,
     HUSK_VM_KERNEL_DEB, HUSK_VM_REFRESH=1 (re-resolve linux-image-amd64),
     HUSK_VM_BOOT_TIMEOUT (default 120 s)
USAGE
}
die() { echo "$prog: $*" >&2; exit 125; }
say() { if [ "$VERBOSE" = 1 ]; then echo "$prog: $*" >&2; fi; }

while [ $# -gt 0 ]; do
  case $1 in
    --share) SHARES+=("$2"); shift 2 ;;
    --cwd) CWD=$2; shift 2 ;;
    --env) ENVS+=("$2"); shift 2 ;;
    --mem) MEM=$2; shift 2 ;;
    --cpus) CPUS=$2; shift 2 ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    --accel) ACCEL=$2; shift 2 ;;
    --append) APPEND="$APPEND $2"; shift 2 ;;
    -v|--verbose) VERBOSE=1; shift ;;
    --keep) KEEP=1; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; break ;;
    *) usage >&2; exit 125 ;;
  esac
done
[ $# -gt 0 ] || { usage >&2; exit 125; }

command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found (apt-get install qemu-system-x86)"
BUSYBOX=$(command -v busybox || true)
[ -x /bin/busybox ] && BUSYBOX=/bin/busybox
[ -n "$BUSYBOX" ] || die "busybox not found (apt-get install busybox-static)"
file "$BUSYBOX" 2>/dev/null | grep -q dynamically && die "$BUSYBOX is dynamic; the initramfs needs busybox-static"
for i in "${!SHARES[@]}"; do
  d=$(realpath -e "${SHARES[$i]}") || die "--share ${SHARES[$i]}: no such directory"
  [ -d "$d" ] && [ "$d" != / ] || die "--share $d: must be a directory other than /"
  SHARES[$i]=$d
done
[ -n "$CWD" ] || CWD=${SHARES[0]:-$PWD}
t_start=$(date +%s.%N)

# ---- the kernel: Debian's package, unpacked once per version ----------------
# QEMU boots an uncompressed ELF vmlinux through its PVH entry point; that
# skips the guest's own xz decompression, seconds under TCG.
unpack_vmlinux() {   # VMLINUZ OUT
  local off dec=(xz -dc)
  off=$(grep -abo $'\xfd7zXZ\x00' "$1" | head -n1 | cut -d: -f1)
  [ -n "$off" ] || return 0
  command -v xz >/dev/null || dec=("$BUSYBOX" unxz -c)
  # the bzImage tail after the xz stream makes xz complain: judge by the ELF magic
  tail -c +$((off + 1)) "$1" | "${dec[@]}" >"$2.tmp" 2>/dev/null || true
  if [ "$(head -c 4 "$2.tmp" | od -An -c | tr -d ' ')" = '177ELF' ]; then mv "$2.tmp" "$2"; else rm -f "$2.tmp"; fi
}
kernel_pkg() {   # the versioned package linux-image-amd64 depends on
  apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}'
}
kver_ready() { [ -n "$1" ] && [ -f "$CACHE/$1/lib/modules/$1/modules.dep" ]; }
fetch_kernel() {   # PKG-or-DEB -> unpacked into $CACHE/<kver>; prints kver
  local src=$1 tmp kver apt=(apt-get)
  tmp=$(mktemp -d "$CACHE/dl.XXXXXX")
  if [ -f "$src" ]; then cp "$src" "$tmp/"
  else
    echo "$prog: apt-get download $src (once; cached in $CACHE)" >&2
    [ "$(id -u)" = 0 ] && apt+=(-o APT::Sandbox::User=root)
    (cd "$tmp" && "${apt[@]}" download -qq "$src" >&2) \
      || { [ "$(id -u)" = 0 ] && apt-get update -qq >&2 && (cd "$tmp" && "${apt[@]}" download -qq "$src" >&2); } \
      || { rm -rf "$tmp"; die "apt-get download $src failed"; }
  fi
  dpkg-deb -x "$tmp"/*.deb "$tmp/x" || { rm -rf "$tmp"; die "dpkg-deb -x failed"; }
  kver=$(ls "$tmp/x/lib/modules" | head -n1)
  [ -n "$kver" ] && [ -f "$tmp/x/boot/vmlinuz-$kver" ] || { rm -rf "$tmp"; die "$src is not a kernel package"; }
  if ! kver_ready "$kver"; then
    # Debian runs depmod in postinst; busybox depmod does it without kmod
    "$BUSYBOX" depmod -b "$tmp/x" "$kver"
    unpack_vmlinux "$tmp/x/boot/vmlinuz-$kver" "$tmp/x/boot/vmlinux-$kver"
    rm -rf "${CACHE:?}/$kver"
    mv "$tmp/x" "$CACHE/$kver"
  fi
  rm -rf "$tmp"
  echo "$kver"
}

mkdir -p "$CACHE" || die "cannot create $CACHE (set HUSK_VM_CACHE)"
exec 9>"$CACHE/.lock"
flock 9
if [ -n "$KDEB" ]; then
  KVER=$(fetch_kernel "$(realpath "$KDEB")")
elif [ -n "$KPKG" ]; then
  KVER=${KPKG#linux-image-}; KVER=${KVER%-unsigned}
  kver_ready "$KVER" || KVER=$(fetch_kernel "$KPKG")
else
  KVER=$(readlink "$CACHE/current" 2>/dev/null || true)
  if ! kver_ready "$KVER" || [ "${HUSK_VM_REFRESH:-0}" = 1 ]; then
    pkg=$(kernel_pkg)
    if [ -z "$pkg" ] && [ "$(id -u)" = 0 ]; then apt-get update -qq >&2 || true; pkg=$(kernel_pkg); fi
    [ -n "$pkg" ] || die "cannot resolve linux-image-amd64 (apt-get update?)"
    KVER=${pkg#linux-image-}
    kver_ready "$KVER" || KVER=$(fetch_kernel "$pkg")
    ln -sfn "$KVER" "$CACHE/current.new" && mv -T "$CACHE/current.new" "$CACHE/current"
  fi
fi
kver_ready "$KVER" || die "no usable kernel in $CACHE/$KVER"
KDIR=$(realpath "$CACHE/$KVER")
if [ ! -f "$KDIR/boot/vmlinux-$KVER" ] && [ -w "$KDIR/boot" ]; then
  unpack_vmlinux "$KDIR/boot/vmlinuz-$KVER" "$KDIR/boot/vmlinux-$KVER"
fi
flock -u 9
KERNEL=$KDIR/boot/vmlinuz-$KVER
[ -f "$KDIR/boot/vmlinux-$KVER" ] && [ "${HUSK_VM_NO_PVH:-0}" = 0 ] && KERNEL=$KDIR/boot/vmlinux-$KVER
MODDIR=$KDIR/lib/modules/$KVER

# ---- the initramfs: static busybox + the modules needed to reach / ----------
RUN=$(mktemp -d "${TMPDIR:-/tmp}/husk-vm.XXXXXX")
QPID=""; READERS=()
cleanup() {
  if [ -n "$QPID" ]; then kill "$QPID" 2>/dev/null || true; fi
  for p in "${READERS[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ "$KEEP" = 1 ]; then echo "$prog: kept $RUN" >&2; else rm -rf "$RUN"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

IR=$RUN/initramfs
mkdir -p "$IR"/{bin,proc,sys,dev,lower,rw,newroot,vm} "$IR/lib/modules/$KVER"
cp "$BUSYBOX" "$IR/bin/busybox"
cp "$BUSYBOX" "$IR/vm/busybox"
declare -A MODS=()
add_module() {   # NAME: copy the module and what it depends on (built-ins need nothing)
  local name=${1//-/_} line path dep
  line=$(awk -v n="$name" '{ p = $1; sub(":$", "", p); b = p; sub(".*/", "", b); sub("\\.ko.*$", "", b);
                             gsub("-", "_", b); if (b == n) { print; exit } }' "$MODDIR/modules.dep")
  [ -n "$line" ] || return 0
  path=${line%%:*}
  [ -z "${MODS[$path]:-}" ] || return 0
  MODS[$path]=1
  for dep in ${line#*:}; do dep=${dep##*/}; add_module "${dep%%.ko*}"; done
}
BOOTMODS="virtio_pci virtio_console 9pnet_virtio 9p overlay"
for m in $BOOTMODS; do add_module "$m"; done
for p in "${!MODS[@]}"; do
  mkdir -p "$IR/lib/modules/$KVER/${p%/*}"
  cp "$MODDIR/$p" "$IR/lib/modules/$KVER/$p"
done
"$BUSYBOX" depmod -b "$IR" "$KVER"

{ # what stage 2 runs: the command, its cwd and environment, bash-sourceable
  VM_ARGS=("$@"); declare -p VM_ARGS
  printf 'VM_CWD=%q\n' "$CWD"
  printf 'export PATH=%q HOME=/root TERM=%q LANG=C.UTF-8 HUSK_VM=1\n' \
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/.vm/bin" "${TERM:-dumb}"
  for e in "${ENVS[@]}"; do printf 'export %q\n' "$e"; done
} >"$IR/vm/cmd.sh"
{
  printf 'KVER=%q\nKDIR=%q\nBOOTMODS=%q\n' "$KVER" "$KDIR" "$BOOTMODS"
  printf 'SHARES=%q\n' "${SHARES[*]}"
} >"$IR/vm/conf"

# stage 1, in the initramfs: host / (9p, read-only) + tmpfs overlay = new root
cat >"$IR/init" <<'STAGE1'
#!/bin/busybox sh
export PATH=/bin
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
. /vm/conf
echo "HUSK-VM: stage1 $(cut -d' ' -f1 /proc/uptime)" >/dev/console
fail() { echo "HUSK-VM-FATAL: $*" >/dev/console; echo "HUSK-VM-RESULT: 125" >/dev/console; poweroff -f; }
modprobe -a $BOOTMODS || echo "HUSK-VM: modprobe failed" >/dev/console
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=262144 hostroot /lower || fail "mount host root"
mount -t tmpfs -o mode=0755 tmpfs /rw || fail "tmpfs"
mkdir -p /rw/upper /rw/work
mount -t overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work overlay /newroot || fail "overlay"
# fresh /run and /tmp, before the shares (which may live below /tmp)
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /newroot/run
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /newroot/tmp
i=0
for s in $SHARES; do
  mkdir -p "/newroot$s"
  mount -t 9p -o trans=virtio,version=9p2000.L,cache=mmap,msize=262144 "share$i" "/newroot$s" || fail "mount $s"
  i=$((i + 1))
done
rm -rf /newroot/.vm; cp -a /vm /newroot/.vm
mkdir -p /newroot/.vm/bin
for a in modprobe insmod rmmod lsmod depmod modinfo; do ln -sf ../busybox "/newroot/.vm/bin/$a"; done
for d in dev proc sys; do mkdir -p "/newroot/$d"; mount --move "/$d" "/newroot/$d"; done
# a real switch_root (not chroot): the runtime's pivot_root needs it
exec switch_root /newroot /.vm/stage2
STAGE1

# stage 2, PID 1 in the new root: mounts, cgroup2 with every controller, run
cat >"$IR/vm/stage2" <<'STAGE2'
#!/.vm/busybox sh
BB=/.vm/busybox
export PATH=/.vm/bin
. /.vm/conf
con() { echo "HUSK-VM: $*" >/dev/console; }
finish() { echo "$1" >"$RES" 2>/dev/null; echo "HUSK-VM-RESULT: $1" >/dev/console; $BB sync; $BB poweroff -f; }
$BB mkdir -p /dev/pts /dev/shm /dev/mqueue /dev/net
$BB mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
$BB mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
$BB mount -t mqueue mqueue /dev/mqueue 2>/dev/null
# nodes whose modules load on first open (kmod-static-nodes' job on Debian)
[ -e /dev/net/tun ] || $BB mknod -m 666 /dev/net/tun c 10 200
[ -e /dev/fuse ] || $BB mknod -m 666 /dev/fuse c 10 229
[ -e /dev/loop-control ] || $BB mknod -m 660 /dev/loop-control c 10 237
for i in 0 1 2 3; do [ -e /dev/loop$i ] || $BB mknod -m 660 /dev/loop$i b 7 $i; done
$BB ln -sfn /proc/self/fd /dev/fd
$BB ln -sfn fd/0 /dev/stdin; $BB ln -sfn fd/1 /dev/stdout; $BB ln -sfn fd/2 /dev/stderr
$BB mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup || con "cannot mount cgroup2"
for c in $($BB cat /sys/fs/cgroup/cgroup.controllers); do
  echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control || con "cannot enable $c"
done
$BB mount -t bpf bpf /sys/fs/bpf 2>/dev/null
$BB mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
$BB mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
# the guest kernel's whole module tree (from the cache, through the ro root)
$BB mkdir -p "/lib/modules/$KVER" && $BB mount --bind "$KDIR/lib/modules/$KVER" "/lib/modules/$KVER"
printf '#!/.vm/busybox sh\nexec /.vm/busybox modprobe "$@"\n' >/.vm/modprobe
$BB chmod 755 /.vm/modprobe
echo /.vm/modprobe >/proc/sys/kernel/modprobe
$BB hostname husk-v2vm
$BB ip link set lo up
$BB rm -f /etc/mtab 2>/dev/null; $BB ln -s ../proc/self/mounts /etc/mtab
port() {
  for p in /sys/class/virtio-ports/*; do
    [ "$($BB cat "$p/name" 2>/dev/null)" = "$1" ] && { echo "/dev/${p##*/}"; return; }
  done
  echo /dev/console
}
OUT=$(port husk.stdout); ERR=$(port husk.stderr); RES=$(port husk.result)
con "controllers: $($BB cat /sys/fs/cgroup/cgroup.subtree_control)"
con "command start $($BB cut -d' ' -f1 /proc/uptime)"
$BB env -i /bin/bash -c '. /.vm/cmd.sh; cd -- "$VM_CWD" 2>/dev/null || { echo "run.sh: $VM_CWD does not exist in the guest (its /tmp and /run are empty: use --share)" >&2; exit 125; }; exec "${VM_ARGS[@]}"' \
  </dev/null >"$OUT" 2>"$ERR" &
wait $!
rc=$?
con "command exit $rc $($BB cut -d' ' -f1 /proc/uptime)"
finish "$rc"
STAGE2
chmod 755 "$IR/init" "$IR/vm/stage2"
(cd "$IR" && find . | "$BUSYBOX" cpio -o -H newc 2>/dev/null | gzip -1) >"$RUN/initrd.gz"

# ---- QEMU --------------------------------------------------------------------
AUTO=0
if [ "$ACCEL" = auto ]; then
  AUTO=1; ACCEL=tcg
  # a writable /dev/kvm is not enough (nested PVM hosts expose one that cannot
  # boot a stock kernel): require the hardware virtualisation flags as well
  if [ -w /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo; then ACCEL=kvm; fi
fi
SECMODEL=passthrough; [ "$(id -u)" = 0 ] || SECMODEL=none
SHARE_ARGS=()
for i in "${!SHARES[@]}"; do
  SHARE_ARGS+=(-virtfs "local,path=${SHARES[$i]},mount_tag=share$i,security_model=$SECMODEL,multidevs=remap")
done

boot() {   # kvm|tcg -> sets qrc, booted
  local accel n=0 con p
  case $1 in
    kvm) accel=(-accel kvm -cpu host) ;;
    tcg) accel=(-accel tcg,thread=multi,tb-size=256 -cpu max) ;;
    *) die "bad --accel $1" ;;
  esac
  rm -f "$RUN/out" "$RUN/err" "$RUN/con"
  mkfifo "$RUN/out" "$RUN/err"
  cat "$RUN/out" & READERS+=($!)
  cat "$RUN/err" >&2 & READERS+=($!)
  : >"$RUN/result"; : >"$RUN/console.log"
  con=(-chardev file,id=con,path="$RUN/console.log")
  if [ "$VERBOSE" = 1 ]; then
    mkfifo "$RUN/con"; tee "$RUN/console.log" <"$RUN/con" >&2 & READERS+=($!)
    con=(-chardev file,id=con,path="$RUN/con")
  fi
  say "kernel $KVER, $1, $CPUS vCPU, $MEM MiB, shares: ${SHARES[*]:-none}, cwd $CWD"
  qrc=0; booted=0
  timeout -k 5 "$TIMEOUT" qemu-system-x86_64 "${accel[@]}" -machine pc -m "$MEM" -smp "$CPUS" \
    -nodefaults -no-user-config -display none -no-reboot \
    -kernel "$KERNEL" -initrd "$RUN/initrd.gz" \
    -append "console=ttyS0 quiet loglevel=4 panic=-1 8250.nr_uarts=1 mitigations=off cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1$APPEND" \
    "${con[@]}" -serial chardev:con \
    -virtfs "local,path=/,mount_tag=hostroot,security_model=$SECMODEL,readonly=on,multidevs=remap" \
    "${SHARE_ARGS[@]}" \
    -device virtio-serial-pci,id=vs \
    -chardev file,id=out,path="$RUN/out" -device virtserialport,bus=vs.0,chardev=out,name=husk.stdout \
    -chardev file,id=err,path="$RUN/err" -device virtserialport,bus=vs.0,chardev=err,name=husk.stderr \
    -chardev file,id=res,path="$RUN/result" -device virtserialport,bus=vs.0,chardev=res,name=husk.result \
    </dev/null &
  QPID=$!
  # a guest that never reaches the initramfs (an unusable KVM) is given up on
  while kill -0 "$QPID" 2>/dev/null; do
    if grep -q 'HUSK-VM: stage1' "$RUN/console.log" 2>/dev/null; then booted=1; break; fi
    n=$((n + 1))
    if [ "$n" -ge $((BOOT_TIMEOUT * 5)) ]; then
      echo "$prog: the guest did not boot within ${BOOT_TIMEOUT}s ($1)" >&2
      kill "$QPID" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  wait "$QPID" || qrc=$?
  QPID=""
  grep -q 'HUSK-VM: stage1' "$RUN/console.log" 2>/dev/null && booted=1
  for p in "${READERS[@]}"; do wait "$p" 2>/dev/null || true; done
  READERS=()
}

t_qemu=$(date +%s.%N)
boot "$ACCEL"
if [ "$booted" = 0 ] && [ "$AUTO" = 1 ] && [ "$ACCEL" = kvm ]; then
  echo "$prog: KVM boot failed (qemu exit $qrc), retrying with TCG" >&2
  ACCEL=tcg; t_qemu=$(date +%s.%N); boot tcg
fi
t_end=$(date +%s.%N)

rc=$(tr -dc '0-9' <"$RUN/result" | head -c 4)
st=$(sed -n 's/.*HUSK-VM: command start \([0-9.]*\).*/\1/p' "$RUN/console.log" | head -n1)
en=$(sed -n 's/.*HUSK-VM: command exit [0-9]* \([0-9.]*\).*/\1/p' "$RUN/console.log" | head -n1)
# one timing line, always (CI logs want it): prepare, boot to command, command, total
awk -v a="$t_start" -v b="$t_qemu" -v c="$t_end" -v st="$st" -v en="$en" -v acc="$ACCEL" 'BEGIN {
  printf "run.sh: %s: prepare %.1fs, guest boot to command %ss, command %.1fs, total %.1fs\n",
         acc, b - a, (st != "" ? st : "?"), (en != "" && st != "") ? en - st : -1, c - a }' >&2
if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
  echo "$prog: timeout after ${TIMEOUT}s" >&2; tail -n 30 "$RUN/console.log" >&2 || true; exit 124
fi
if [ -z "$rc" ]; then
  echo "$prog: the VM ended without a result (qemu exit $qrc); console tail:" >&2
  tail -n 40 "$RUN/console.log" >&2 || true
  exit 125
fi
exit "$rc"
