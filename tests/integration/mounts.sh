#!/bin/bash
# mounts[], root.readonly, maskedPaths, readonlyPaths, devices, /dev links,
# rootfsPropagation, symlinks in the rootfs, --no-pivot, and no leaks.
. "$(dirname "$0")/lib.sh"

isnt_zero() { [ "$1" != 0 ]; }
# mi_line MOUNTINFO MOUNTPOINT: the (last) mountinfo line for that mount point
mi_line() { printf '%s\n' "$1" | awk -v m="$2" '$5 == m' | tail -1; }
mi_fstype() { printf '%s\n' "$1" | sed 's/.* - //' | cut -d' ' -f1; }
mi_opts() { printf '%s\n' "$1" | cut -d' ' -f6; }
mi_super() { printf '%s\n' "$1" | sed 's/.* - //' | cut -d' ' -f3; }
mi_tags() { printf '%s\n' "$1" | sed 's/ - .*//' | cut -d' ' -f7-; }
host_mounts_of() { grep -c -F "$1" /proc/self/mountinfo; }

# --- the default mounts of `husk spec` ------------------------------------------
make_bundle def cat /proc/self/mountinfo
run_container def
is "run printing mountinfo exits 0" 0 "$rc"
l=$(mi_line "$out" /proc)
is "/proc is a proc mount" proc "$(mi_fstype "$l")"
l=$(mi_line "$out" /dev)
is "/dev is a tmpfs" tmpfs "$(mi_fstype "$l")"
like "/dev is nosuid" '(^|,)nosuid(,|$)' "$(mi_opts "$l")"
like "/dev has mode=755" 'mode=755' "$(mi_super "$l")"
l=$(mi_line "$out" /dev/pts)
is "/dev/pts is a devpts" devpts "$(mi_fstype "$l")"
like "/dev/pts has ptmxmode=666 (newinstance)" 'ptmxmode=0?666' "$(mi_super "$l")"
like "/dev/pts is noexec" '(^|,)noexec(,|$)' "$(mi_opts "$l")"
l=$(mi_line "$out" /dev/shm)
is "/dev/shm is a tmpfs" tmpfs "$(mi_fstype "$l")"
like "/dev/shm is nodev,noexec" 'nodev.*noexec' "$(mi_opts "$l")"
l=$(mi_line "$out" /dev/mqueue)
is "/dev/mqueue is an mqueue mount" mqueue "$(mi_fstype "$l")"
l=$(mi_line "$out" /sys)
is "/sys is a sysfs" sysfs "$(mi_fstype "$l")"
like "/sys is read-only" '^ro(,|$)' "$(mi_opts "$l")"
l=$(mi_line "$out" /sys/fs/cgroup)
check "/sys/fs/cgroup is mounted" test -n "$l"
like "/sys/fs/cgroup is read-only" '^ro(,|$)' "$(mi_opts "$l")"
if [ -d /sys/fs/cgroup/memory ]; then
  l=$(mi_line "$out" /sys/fs/cgroup/memory)
  is "/sys/fs/cgroup/memory is a cgroup (v1) mount" cgroup "$(mi_fstype "$l")"
  like "/sys/fs/cgroup/memory is read-only" '^ro(,|$)' "$(mi_opts "$l")"
else
  skip "no v1 memory hierarchy"; skip "no v1 memory hierarchy"
fi
is "no leftover mounts on the host after run" 0 "$(host_mounts_of "$T/def/")"

# --- bind mounts: rw, ro, relative source, file ----------------------------------
mkdir -p "$T/hostdir" && echo from-host >"$T/hostdir/file"
echo a-file >"$T/hostfile"
make_bundle bind sh -c 'cat /rw/file; echo new >/rw/new && echo rw-write-ok; echo x >/ro/x 2>&1; cat /ro/file; cat /f; cat /rel/file'
mkdir -p "$T/bind/reldir" && echo relative >"$T/bind/reldir/file"
edit_config bind '.mounts += [
  {destination: "/rw", type: "bind", source: $h, options: ["rbind", "rw"]},
  {destination: "/ro", type: "bind", source: $h, options: ["bind", "ro"]},
  {destination: "/f", type: "bind", source: $f, options: ["bind", "ro"]},
  {destination: "/rel", type: "bind", source: "reldir", options: ["bind"]}]' --arg h "$T/hostdir" --arg f "$T/hostfile"
run_container bind
is "bind mounts: run exits 0" 0 "$rc"
[ "$rc" = 0 ] || diag "$out"
like "rw bind mount: host content visible" '^from-host' "$out"
like "rw bind mount: writable from inside" 'rw-write-ok' "$out"
is "rw bind mount: the write reached the host dir" new "$(cat "$T/hostdir/new" 2>/dev/null)"
like "ro bind mount: write fails with Read-only file system" 'Read-only file system' "$out"
check "ro bind mount: nothing written on the host" test ! -e "$T/hostdir/x"
like "bind mount of a single file" 'a-file' "$out"
like "bind mount with a source relative to the bundle" 'relative' "$out"
check "the host's source dir stays writable after a ro bind" touch "$T/hostdir/after"
is "no leftover mounts on the host" 0 "$(host_mounts_of "$T/bind/")"

# --- rbind vs bind, rro ------------------------------------------------------------
mkdir -p "$T/tree/sub"
echo top >"$T/tree/top"
mount -t tmpfs -o size=1m husk-it-sub "$T/tree/sub" && echo in-sub >"$T/tree/sub/file"
make_bundle rbind sh -c 'echo "bind=$(cat /b/sub/file 2>/dev/null)"; echo "rbind=$(cat /rb/sub/file 2>/dev/null)";
  touch /ro/sub/w 2>/dev/null && echo ro-sub-writable; touch /rro/sub/w 2>/dev/null || echo rro-sub-readonly; touch /rro/w 2>/dev/null || echo rro-top-readonly'
edit_config rbind '.mounts += [
  {destination: "/b", type: "bind", source: $s, options: ["bind"]},
  {destination: "/rb", type: "bind", source: $s, options: ["rbind"]},
  {destination: "/ro", type: "bind", source: $s, options: ["rbind", "ro"]},
  {destination: "/rro", type: "bind", source: $s, options: ["rbind", "rro"]}]' --arg s "$T/tree"
run_container rbind
is "rbind: run exits 0" 0 "$rc"
[ "$rc" = 0 ] || diag "$out"
is "bind (not recursive) does not carry the submount" "bind=" "$(printf '%s\n' "$out" | grep '^bind=')"
is "rbind carries the submount" "rbind=in-sub" "$(printf '%s\n' "$out" | grep '^rbind=')"
like "rro makes the submount read-only too" 'rro-sub-readonly' "$out"
like "rro makes the top read-only" 'rro-top-readonly' "$out"
rm -f "$T/tree/sub/w"
umount "$T/tree/sub"

# --- tmpfs with options -----------------------------------------------------------
make_bundle tmpfs sh -c 'stat -c %a /t; grep " /t " /proc/self/mountinfo; touch /t/f && echo tmpfs-writable; touch /tro/f 2>&1; true'
edit_config tmpfs '.mounts += [
  {destination: "/t", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "size=1m", "mode=1770"]},
  {destination: "/tro", type: "tmpfs", source: "tmpfs", options: ["ro", "size=64k"]}]'
run_container tmpfs
is "tmpfs: run exits 0" 0 "$rc"
is "tmpfs mode=1770 applied" 1770 "$(printf '%s\n' "$out" | sed -n 1p)"
like "tmpfs size=1m applied" 'size=1024k' "$(printf '%s\n' "$out" | sed -n 2p)"
like "tmpfs nosuid,nodev applied" 'nosuid,nodev' "$(printf '%s\n' "$out" | sed -n 2p)"
like "tmpfs is writable" 'tmpfs-writable' "$out"
like "a ro tmpfs is read-only" 'Read-only file system' "$out"

# --- propagation on a mount ----------------------------------------------------------
mkdir -p "$T/prop"
mount --bind "$T/prop" "$T/prop" && mount --make-shared "$T/prop"
make_bundle prop sh -c 'grep -E " /(slave|priv|shar) " /proc/self/mountinfo; i=0; while [ ! -e /slave/late/marker ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done; cat /slave/late/marker 2>/dev/null; ls /priv/late 2>/dev/null | wc -l'
mkdir -p "$T/prop/late"
edit_config prop '.mounts += [
  {destination: "/slave", type: "bind", source: $s, options: ["rbind", "rslave"]},
  {destination: "/priv", type: "bind", source: $s, options: ["rbind", "rprivate"]},
  {destination: "/shar", type: "bind", source: $s, options: ["rbind", "rshared"]}]' --arg s "$T/prop"
h run -d -b "$T/prop" prop >"$T/prop.out" 2>&1 </dev/null
rc=$?
is "propagation: run -d exits 0" 0 "$rc"
sleep 0.3
mount -t tmpfs husk-it-late "$T/prop/late" && echo late-mount >"$T/prop/late/marker"
wait_for test "$(state_field prop status)" = stopped
out=$(cat "$T/prop.out")
like "rslave mount has a master: tag" 'master:[0-9]+' "$(printf '%s\n' "$out" | grep ' /slave ')"
unlike "rprivate mount has no shared/master tag" '(shared|master):' "$(printf '%s\n' "$out" | grep ' /priv ')"
like "rshared mount has a shared: tag" 'shared:[0-9]+' "$(printf '%s\n' "$out" | grep ' /shar ')"
like "a host mount made later propagates into the rslave mount" 'late-mount' "$out"
is "... but not into the rprivate mount" 0 "$(printf '%s\n' "$out" | tail -1)"
h delete -f prop >/dev/null 2>&1
umount "$T/prop/late" 2>/dev/null; umount "$T/prop" 2>/dev/null

# --- root.readonly -------------------------------------------------------------------
make_bundle rofs sh -c 'touch /newfile 2>&1; touch /tmp/x 2>&1; touch /dev/shm/ok && echo shm-writable'
edit_config rofs '.root.readonly = true'
run_container rofs
is "root.readonly: run exits 0" 0 "$rc"
like "root.readonly: writing to / fails with Read-only file system" "/newfile.*Read-only file system" "$out"
like "root.readonly: /tmp of the rootfs is read-only too" "/tmp/x.*Read-only file system" "$out"
like "root.readonly: /dev/shm (a mount) stays writable" 'shm-writable' "$out"
check "root.readonly: nothing was written into the rootfs" test ! -e "$T/rofs/rootfs/newfile"

make_bundle rwfs sh -c 'touch /newfile && echo root-writable'
run_container rwfs
like "root.readonly false: / is writable" 'root-writable' "$out"

# --- maskedPaths / readonlyPaths -------------------------------------------------------
make_bundle mask sh -c 'echo "file=[$(cat /secret.txt)]"; echo "dir=[$(ls -A /secretdir)]"; echo "kcore=$(wc -c </proc/kcore)";
  echo x >/secretdir/y 2>/dev/null && echo masked-dir-writable;
  echo 1 >/rodir/f 2>&1; echo 1 >/proc/sys/kernel/domainname 2>&1; echo "ro-read=$(cat /rodir/keep)";
  echo "missing-ok"'
echo top-secret >"$T/mask/rootfs/secret.txt" 2>/dev/null || true
mkdir -p "$T/mask/rootfs/secretdir" "$T/mask/rootfs/rodir"
echo top-secret >"$T/mask/rootfs/secret.txt"
echo hidden >"$T/mask/rootfs/secretdir/file"
echo keep >"$T/mask/rootfs/rodir/keep"
edit_config mask '.linux.maskedPaths += ["/secret.txt", "/secretdir", "/does/not/exist"]
  | .linux.readonlyPaths += ["/rodir", "/also/missing"]'
run_container mask
is "maskedPaths/readonlyPaths: run exits 0 (missing paths are ignored)" 0 "$rc"
[ "$rc" = 0 ] || diag "$out"
is "a masked file reads empty" "file=[]" "$(printf '%s\n' "$out" | grep '^file=')"
is "a masked directory is empty" "dir=[]" "$(printf '%s\n' "$out" | grep '^dir=')"
if [ -e /proc/kcore ]; then
  is "the default masked /proc/kcore reads empty" "kcore=0" "$(printf '%s\n' "$out" | grep '^kcore=')"
else
  skip "no /proc/kcore on this kernel"
fi
unlike "a masked directory is not writable" 'masked-dir-writable' "$out"
like "a readonlyPaths dir: write fails with Read-only file system" '/rodir/f.*Read-only file system' "$out"
like "the default readonly /proc/sys: write fails" 'domainname.*Read-only file system' "$out"
is "a readonlyPaths dir is still readable" "ro-read=keep" "$(printf '%s\n' "$out" | grep '^ro-read=')"
is "the masked file is intact in the rootfs" top-secret "$(cat "$T/mask/rootfs/secret.txt")"

# --- devices ---------------------------------------------------------------------------
make_bundle dev sh -c 'for d in null zero full random urandom tty; do stat -c "$d %F %t:%T %a %u:%g" /dev/$d; done;
  stat -c "mydev %F %t:%T %a %u:%g" /dev/mydev; stat -c "blk %F %t:%T %a" /dev/sub/blk; stat -c "fifo %F %a" /dev/fifo;
  echo data >/dev/mydev && echo mydev-writes; head -c 4 /dev/zero | wc -c;
  for l in fd stdin stdout stderr ptmx; do echo "link $l $(readlink /dev/$l)"; done'
edit_config dev '.linux.devices = [
  {path: "/dev/mydev", type: "c", major: 1, minor: 3, fileMode: 416, uid: 1000, gid: 1001},
  {path: "/dev/sub/blk", type: "b", major: 7, minor: 200, fileMode: 384},
  {path: "/dev/fifo", type: "p", fileMode: 420}]
  | .linux.resources.devices = [{allow: true, access: "rwm"}]
  | .process.capabilities |= with_entries(.value += ["CAP_DAC_OVERRIDE"])'
run_container dev
is "devices: run exits 0" 0 "$rc"
[ "$rc" = 0 ] || diag "$out"
for d in "null 1:3" "zero 1:5" "full 1:7" "random 1:8" "urandom 1:9" "tty 5:0"; do
  set -- $d
  is "default device /dev/$1 is a char device $2, mode 666, root-owned" "$1 character special file $2 666 0:0" \
    "$(printf '%s\n' "$out" | grep "^$1 ")"
done
is "spec device with fileMode 0640 and uid/gid 1000/1001" "mydev character special file 1:3 640 1000:1001" \
  "$(printf '%s\n' "$out" | grep '^mydev ')"
is "spec block device in a new subdirectory" "blk block special file 7:c8 600" "$(printf '%s\n' "$out" | grep '^blk ')"
is "spec fifo device" "fifo fifo 644" "$(printf '%s\n' "$out" | grep '^fifo ')"
like "the spec device works (null)" 'mydev-writes' "$out"
is "/dev/fd -> /proc/self/fd" "link fd /proc/self/fd" "$(printf '%s\n' "$out" | grep '^link fd ')"
is "/dev/stdin -> /proc/self/fd/0" "link stdin /proc/self/fd/0" "$(printf '%s\n' "$out" | grep '^link stdin ')"
is "/dev/stdout -> /proc/self/fd/1" "link stdout /proc/self/fd/1" "$(printf '%s\n' "$out" | grep '^link stdout ')"
is "/dev/stderr -> /proc/self/fd/2" "link stderr /proc/self/fd/2" "$(printf '%s\n' "$out" | grep '^link stderr ')"
is "/dev/ptmx -> pts/ptmx" "link ptmx pts/ptmx" "$(printf '%s\n' "$out" | grep '^link ptmx ')"

# --- rootfsPropagation -------------------------------------------------------------------
for p in shared slave private; do
  make_bundle rp-$p sh -c 'awk "\$5 == \"/\"" /proc/self/mountinfo'
  edit_config rp-$p '.linux.rootfsPropagation = $p' --arg p "$p"
  run_container rp-$p
  is "rootfsPropagation $p: run exits 0" 0 "$rc"
  [ "$rc" = 0 ] || diag "$out"
  tags=$(mi_tags "$out")
  case $p in
    shared) like "rootfsPropagation shared: / has a shared: tag" 'shared:[0-9]+' "$tags" ;;
    private) unlike "rootfsPropagation private: / has no shared/master tag" '(shared|master):' "$tags" ;;
    slave) unlike "rootfsPropagation slave: / is not shared" 'shared:' "$tags" ;;
  esac
done
make_bundle rp-bad true
edit_config rp-bad '.linux.rootfsPropagation = "bogus"'
run_container rp-bad
check "an unknown rootfsPropagation fails" isnt_zero "$rc"

# --- symlinks in the rootfs must not lead outside it ----------------------------------------
probe=husk-it-escape-$$-$RANDOM
make_bundle sym sh -c 'cat /etc/'$probe'/file; ls /tmp/'$probe'-rel 2>/dev/null | head -1'
ln -s /etc "$T/sym/rootfs/mnt"
ln -s ../../../../../../../../tmp "$T/sym/rootfs/reltmp"
edit_config sym '.mounts += [
  {destination: ("/mnt/" + $p), type: "bind", source: $h, options: ["bind"]},
  {destination: ("/reltmp/" + $p + "-rel"), type: "tmpfs", source: "tmpfs", options: ["size=64k"]},
  {destination: ("/../../../tmp/" + $p + "-dotdot"), type: "tmpfs", source: "tmpfs", options: ["size=64k"]}]' --arg h "$T/hostdir" --arg p "$probe"
run_container sym
check "absolute symlink rootfs/mnt -> /etc: nothing created in the host's /etc" test ! -e "/etc/$probe"
check "relative symlink climbing out: nothing created in the host's /tmp" test ! -e "/tmp/$probe-rel"
check "a destination with .. components: nothing created in the host's /tmp" test ! -e "/tmp/$probe-dotdot"
is "the symlinked destination resolves inside the rootfs (run exits 0)" 0 "$rc"
[ "$rc" = 0 ] || diag "$out"
like "... the bind mount landed on the rootfs's own /etc/<dir>" 'from-host' "$out"
check "... which is rootfs/etc/<dir>" test -d "$T/sym/rootfs/etc/$probe"
is "no leftover mounts on the host" 0 "$(host_mounts_of "$probe")"
rm -rf "/etc/$probe" "/tmp/$probe-rel" "/tmp/$probe-dotdot" 2>/dev/null

# a mount inside /proc is refused
make_bundle procmnt true
edit_config procmnt '.mounts += [{destination: "/proc/self/root/x", type: "bind", source: $h, options: ["bind"]}]' --arg h "$T/hostdir"
run_container procmnt
check "a bind mount onto a path inside /proc is refused" isnt_zero "$rc"
check "... and leaves nothing behind" no_leftovers procmnt

# --- --no-pivot ----------------------------------------------------------------------------
make_bundle nopivot sh -c 'cat /proc/1/cmdline >/dev/null && echo nopivot-ok; ls /; grep -c . /proc/self/mountinfo'
out=$(h run --no-pivot -b "$T/nopivot" nopivot 2>&1 </dev/null)
rc=$?
is "--no-pivot: run exits 0" 0 "$rc"
[ "$rc" = 0 ] || diag "$out"
like "--no-pivot: the process runs in the rootfs" 'nopivot-ok' "$out"
unlike "--no-pivot: the host's root is not visible as /" "^(vmlinuz|boot|lost\\+found)$" "$out"
is "--no-pivot: no leftover mounts on the host" 0 "$(host_mounts_of "$T/nopivot/")"

# --- nothing leaks into the host mount table ---------------------------------------------------
before=$(wc -l </proc/self/mountinfo)
make_bundle leak sleep 30
edit_config leak '.mounts += [{destination: "/data", type: "bind", source: $h, options: ["rbind"]}]' --arg h "$T/hostdir"
h create -b "$T/leak" leak >/dev/null 2>&1 </dev/null
is "leak check: create exits 0" 0 "$?"
is "while created, the host sees none of the container's mounts" 0 "$(host_mounts_of "$T/leak/")"
h start leak >/dev/null 2>&1 </dev/null
h delete -f leak >/dev/null 2>&1
is "after delete, the host mount table has no trace of the container" 0 "$(host_mounts_of "$T/leak/")"
is "after delete, the host has as many mounts as before" "$before" "$(wc -l </proc/self/mountinfo)"
check "after delete, nothing of the container remains" no_leftovers leak

# Without a mount namespace the mounts go into the caller's table (as in
# runc); delete must take them out again.
make_bundle nomntns sh -c 'cat /data/file; touch /t/x && echo tmpfs-ok; true'
edit_config nomntns 'del(.linux.namespaces[] | select(.type == "mount")) | .linux.maskedPaths = [] | .linux.readonlyPaths = []
  | .mounts = [{destination: "/proc", type: "proc", source: "proc"},
               {destination: "/t", type: "tmpfs", source: "tmpfs", options: ["size=64k"]},
               {destination: "/data", type: "bind", source: $h, options: ["rbind", "ro"]}]' --arg h "$T/hostdir"
h create -b "$T/nomntns" nomntns >"$T/nomntns.out" 2>&1 </dev/null
rc=$?
is "no mount namespace: create exits 0" 0 "$rc"
[ "$rc" = 0 ] || diag "$(cat "$T/nomntns.out")"
h start nomntns >/dev/null 2>&1 </dev/null
wait_for test "$(state_field nomntns status)" = stopped
like "no mount namespace: the bind mount is visible inside" 'from-host' "$(cat "$T/nomntns.out")"
like "no mount namespace: the tmpfs is writable" 'tmpfs-ok' "$(cat "$T/nomntns.out")"
h delete nomntns >/dev/null 2>&1
is "no mount namespace: delete unmounts everything it mounted" 0 "$(host_mounts_of "$T/nomntns/")"
check "no mount namespace: the host dir is untouched" test ! -e "$T/hostdir/x"

done_testing
