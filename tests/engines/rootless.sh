#!/bin/bash
# husk run by an unprivileged user, and idmapped mounts.
#
# The test creates a user (useradd) with a subuid/subgid range, copies husk
# where that user can run it, and runs `husk spec --rootless` bundles as that
# user (setpriv) with XDG_RUNTIME_DIR set: state under $XDG_RUNTIME_DIR/husk,
# a user namespace mapping the user's own id, or subuid/subgid ranges through
# newuidmap/newgidmap (uidmap), device bind mounts instead of mknod, no
# cgroup (with a warning) when the hierarchy is not delegated, exec, kill,
# delete.  Then, as root, idmapped mounts (mounts[].uidMappings/gidMappings
# with the idmap and ridmap options).  The user and its subuid/subgid lines
# are removed at the end.
. "$(dirname "$0")/common.sh"

[ "$(id -u)" = 0 ] || skip_all "the test creates an unprivileged user: run it as root"
need_cmds useradd userdel setpriv newuidmap newgidmap busybox jq
if [ "$(cat /proc/sys/kernel/unprivileged_userns_clone 2>/dev/null || echo 1)" = 0 ]; then
  skip_all "unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone=0)"
fi

RLUSER=husk-rl-$$
RL=$T/rl            # the user's own directory: bundles, XDG_RUNTIME_DIR
XDG=$RL/xdg

engine_cleanup() {
  local id
  if [ -d "$XDG/husk" ]; then
    for id in $(ls "$XDG/husk" 2>/dev/null); do rl_husk delete -f "$id" >/dev/null 2>&1; done
  fi
  if id "$RLUSER" >/dev/null 2>&1; then
    pkill_user=$(id -u "$RLUSER")
    for p in /proc/[0-9]*; do
      [ "$(stat -c %u "$p" 2>/dev/null)" = "$pkill_user" ] && kill -9 "${p#/proc/}" 2>/dev/null
    done
    userdel "$RLUSER" >/dev/null 2>&1
  fi
  sed -i "/^$RLUSER:/d" /etc/subuid /etc/subgid 2>/dev/null
  _cleanup
}
trap engine_cleanup EXIT

if ! useradd -M -d /nonexistent -s /bin/sh "$RLUSER" 2>"$T/useradd.err"; then
  skip_all "cannot create a user: $(cat "$T/useradd.err")"
fi
RU=$(id -u "$RLUSER")
RG=$(id -g "$RLUSER")
# A subordinate range for the user (useradd may have made one already).
range() { awk -F: -v u="$RLUSER" '$1 == u {print $2; exit}' "$1"; }
for f in /etc/subuid /etc/subgid; do
  if [ -z "$(range "$f")" ]; then
    start=$(awk -F: 'BEGIN {m = 100000} {e = $2 + $3; if (e > m) m = e} END {print m}' "$f" 2>/dev/null)
    echo "$RLUSER:${start:-100000}:65536" >>"$f"
  fi
done
SUBUID=$(range /etc/subuid)
SUBGID=$(range /etc/subgid)
diag "user $RLUSER: uid $RU gid $RG, subuid $SUBUID, subgid $SUBGID"

mkdir -p "$RL" "$XDG"
cp "$HUSK" "$RL/husk"
chmod 755 "$RL/husk"
chown -R "$RU:$RG" "$RL"
chmod 700 "$XDG"

# as_user CMD...: run CMD as the test user with a clean environment
as_user() {
  (cd "$RL" && setpriv --reuid="$RU" --regid="$RG" --init-groups \
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$RL" XDG_RUNTIME_DIR="$XDG" "$@")
}
rl_husk() { as_user "$RL/husk" "$@"; }

# rl_bundle NAME ARGS...: a `husk spec --rootless` bundle made by the user,
# terminal off, rootfs writable, process.args = ARGS
rl_bundle() {
  local name=$1; shift
  local b=$RL/$name args
  _base_rootfs
  mkdir -p "$b"
  cp -a "$T/.base" "$b/rootfs"
  chown -R "$RU:$RG" "$b"
  as_user "$RL/husk" spec --rootless -b "$b" || return 1
  args=$(jq -cn '$ARGS.positional' --args -- "$@")
  as_user sh -c "jq --argjson a '$args' '.process.terminal = false | .process.args = \$a | .root.readonly = false' \
    '$b/config.json' >'$b/config.json.new' && mv '$b/config.json.new' '$b/config.json'"
}
rl_edit() {
  local b=$RL/$1 f=$2; shift 2
  jq "$@" "$f" "$b/config.json" >"$b/config.json.new" && mv "$b/config.json.new" "$b/config.json" &&
    chown "$RU:$RG" "$b/config.json"
}

# ---- spec --rootless ---------------------------------------------------------------
rl_bundle one sh -c 'id -u; cat /proc/self/uid_map /proc/self/gid_map; exit 3'
cfg=$RL/one/config.json
is "spec --rootless: a user namespace" user "$(jq -r '.linux.namespaces[] | select(.type == "user") | .type' "$cfg")"
is "spec --rootless: the user's own uid, size 1" "0 $RU 1" "$(jq -r '.linux.uidMappings[] | "\(.containerID) \(.hostID) \(.size)"' "$cfg")"
is "spec --rootless: the user's own gid, size 1" "0 $RG 1" "$(jq -r '.linux.gidMappings[] | "\(.containerID) \(.hostID) \(.size)"' "$cfg")"
is "spec --rootless: no network namespace" "" "$(jq -r '.linux.namespaces[] | select(.type == "network") | .type' "$cfg")"
is "spec --rootless: no resources" null "$(jq -c '.linux.resources' "$cfg")"

# ---- run with the user's own id ----------------------------------------------------
out=$(rl_husk run -b "$RL/one" one </dev/null 2>"$T/err")
rc=$?
is "rootless run: exit code" 3 "$rc"
is "rootless run: root in the container, the user's ids outside" \
  "$(printf '0\n%10s%11s%11s\n%10s%11s%11s' 0 "$RU" 1 0 "$RG" 1)" "$out"
like "rootless run: the cgroup is skipped with a warning" 'rootless: running without a cgroup' "$(cat "$T/err")"
check "rootless run: nothing left in \$XDG_RUNTIME_DIR/husk" [ -z "$(ls -A "$XDG/husk" 2>/dev/null)" ]

# ---- create/start/exec/kill/delete, state under $XDG_RUNTIME_DIR/husk ----------------
rl_bundle life sh -c 'echo started >/tmp/started; exec sleep 1000'
rl_husk create -b "$RL/life" life </dev/null >/dev/null 2>&1
is "rootless create: created" created "$(rl_husk state life 2>/dev/null | jq -r .status)"
check "state dir is \$XDG_RUNTIME_DIR/husk/life" [ -d "$XDG/husk/life" ]
is "the state dir belongs to the user" "$RU" "$(stat -c %u "$XDG/husk/life" 2>/dev/null)"
like "list shows the user as owner" "life .*$RLUSER" "$(rl_husk list 2>&1)"
rl_husk start life
wait_for [ -e "$RL/life/rootfs/tmp/started" ]
is "rootless start: running" running "$(rl_husk state life 2>/dev/null | jq -r .status)"
out=$(rl_husk exec life sh -c 'echo "pid $$ uid $(id -u)"; exit 6' 2>&1)
rc=$?
like "rootless exec joins the pid namespace (through the user namespace)" '^pid [0-9]+ uid 0$' "$out"
is "rootless exec: exit code" 6 "$rc"
out=$(rl_husk exec life sh -c 'cat /proc/1/cmdline | tr "\0" " "' 2>&1)
like "rootless exec sees the container's pid 1" '^sleep 1000' "$out"
out=$(rl_husk exec life sh -c 'echo x >/dev/null && echo null-ok; stat -c "%t,%T" /dev/null; grep -c " /dev/null " /proc/self/mountinfo' 2>&1)
is "devices are bind mounts of the host's (/dev/null 1,3, a mount of its own)" "$(printf 'null-ok\n1,3\n1')" "$out"
out=$(rl_husk pause life 2>&1)
rc=$?
check "pause without a cgroup fails" [ "$rc" -ne 0 ]
like "pause without a cgroup: a clear error" 'has no cgroup' "$out"
rl_husk kill life KILL
wait_for [ "$(rl_husk state life 2>/dev/null | jq -r .status)" = stopped ]
is "rootless kill: stopped" stopped "$(rl_husk state life 2>/dev/null | jq -r .status)"
rl_husk delete life
check "rootless delete: the state dir is gone" [ ! -e "$XDG/husk/life" ]

# ---- limits need a cgroup ------------------------------------------------------------
rl_bundle lim true
rl_edit lim '.linux.resources = {pids: {limit: 10}}'
out=$(rl_husk run -b "$RL/lim" lim </dev/null 2>&1)
rc=$?
check "rootless run with a pids limit and no cgroup access fails" [ "$rc" -ne 0 ]
like "its error names the cause" 'linux.resources sets limits but the cgroup cannot be created' "$out"
check "and leaves nothing behind" [ ! -e "$XDG/husk/lim" ]

# ---- subuid/subgid ranges through newuidmap/newgidmap -----------------------------------
rl_bundle sub sh -c 'cat /proc/self/uid_map /proc/self/gid_map; touch /tmp/f && chown 1000:1000 /tmp/f && echo chown-ok'
rl_edit sub '
  .linux.uidMappings = [{containerID: 0, hostID: $u, size: 1}, {containerID: 1, hostID: $su, size: 65536}]
  | .linux.gidMappings = [{containerID: 0, hostID: $g, size: 1}, {containerID: 1, hostID: $sg, size: 65536}]
  | .process.capabilities |= with_entries(.value += ["CAP_CHOWN"])' \
  --argjson u "$RU" --argjson g "$RG" --argjson su "${SUBUID:-0}" --argjson sg "${SUBGID:-0}"
out=$(rl_husk run -b "$RL/sub" sub </dev/null 2>/dev/null)
rc=$?
is "subuid run: exit code" 0 "$rc"
like "subuid run: uid_map has the user's uid and the subuid range" "^ +0 +$RU +1 +1 +$SUBUID +65536 $" \
  "$(printf '%s\n' "$out" | sed -n '1,2p' | tr '\n' ' ')"
like "subuid run: gid_map has the user's gid and the subgid range" "^ +0 +$RG +1 +1 +$SUBGID +65536 $" \
  "$(printf '%s\n' "$out" | sed -n '3,4p' | tr '\n' ' ')"
like "subuid run: chown to a mapped id works" chown-ok "$out"
is "the file belongs to subuid+999 on the host" "$((SUBUID + 999)):$((SUBGID + 999))" \
  "$(stat -c %u:%g "$RL/sub/rootfs/tmp/f" 2>/dev/null)"

rl_bundle bad true
rl_edit bad '.linux.uidMappings = [{containerID: 0, hostID: $u, size: 1}, {containerID: 1, hostID: 1, size: 10}]' \
  --argjson u "$RU"
out=$(rl_husk run -b "$RL/bad" bad </dev/null 2>&1)
rc=$?
check "a range outside /etc/subuid is refused" [ "$rc" -ne 0 ]
like "with newuidmap's reason" 'newuidmap failed: .*not allowed' "$out"
check "and leaves nothing behind" [ ! -e "$XDG/husk/bad" ]

# ---- idmapped mounts (as root) -----------------------------------------------------------
SRC=$T/idsrc
mkdir -p "$SRC/sub"
touch "$SRC/f0" "$SRC/f5"
chown 5:6 "$SRC/f5"
mount -t tmpfs -o mode=755 idmap-sub "$SRC/sub" && touch "$SRC/sub/g0"
idm_bundle() { # NAME OPTION UIDMAP GIDMAP
  make_bundle "$1" sh -c 'stat -c "%n %u:%g" /mnt/f0 /mnt/f5 /mnt/sub/g0'
  edit_config "$1" \
    '.mounts += [{destination: "/mnt", type: "bind", source: $s, options: ["rbind", $o], uidMappings: $um, gidMappings: $gm}]' \
    --arg s "$SRC" --arg o "$2" --argjson um "$3" --argjson gm "$4"
}
if ! grep -q idmap <("$HUSK" features 2>/dev/null | jq -c '.linux.mountExtensions'); then
  skip "idmapped mounts: husk features reports no idmap support"
else
  idm_bundle idm idmap '[{"containerID":0,"hostID":1000,"size":10}]' '[{"containerID":0,"hostID":2000,"size":10}]'
  run_container idm
  is "idmap: exit code" 0 "$rc"
  like "idmap: a file owned by 0:0 shows as 1000:2000" '/mnt/f0 1000:2000' "$out"
  like "idmap: a file owned by 5:6 shows as 1005:2006" '/mnt/f5 1005:2006' "$out"
  like "idmap (not recursive): a submount keeps its ids" '/mnt/sub/g0 0:0' "$out"
  is "idmap: the source is unchanged" "0:0 5:6" "$(stat -c %u:%g "$SRC/f0" "$SRC/f5" | tr '\n' ' ' | sed 's/ $//')"

  idm_bundle ridm ridmap '[{"containerID":0,"hostID":1000,"size":10}]' '[{"containerID":0,"hostID":2000,"size":10}]'
  run_container ridm
  like "ridmap: a file owned by 0:0 shows as 1000:2000" '/mnt/f0 1000:2000' "$out"
  like "ridmap: the submount is mapped too" '/mnt/sub/g0 1000:2000' "$out"

  # the common use: a container with a user namespace sees host-root files as its root
  idm_bundle uns idmap '[{"containerID":0,"hostID":100000,"size":65536}]' '[{"containerID":0,"hostID":100000,"size":65536}]'
  edit_config uns '.linux.namespaces += [{type: "user"}]
    | .linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
    | .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]'
  chown -R 100000:100000 "$T/uns/rootfs"
  run_container uns
  like "idmap in a user namespace: host 0:0 files are the container's root" '/mnt/f0 0:0' "$out"
  like "idmap in a user namespace: host 5:6 is 5:6 inside" '/mnt/f5 5:6' "$out"

  make_bundle idbad true
  edit_config idbad '.mounts += [{destination: "/mnt", type: "bind", source: $s, options: ["rbind", "idmap"]}]' \
    --arg s "$SRC"
  run_container idbad
  check "idmap without mappings is an error" [ "$rc" -ne 0 ]
  like "idmap without mappings: the error says what is missing" 'needs uidMappings and gidMappings' "$out"
fi
umount "$SRC/sub" 2>/dev/null

done_testing
