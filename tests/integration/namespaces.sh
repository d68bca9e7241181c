#!/bin/bash
# linux.namespaces: new namespaces of each type, user namespace id maps,
# time namespace offsets, joining a namespace by path, and sharing the
# host's namespace when a type is absent.
. "$(dirname "$0")/lib.sh"

NETNS=husk-it-$$-$RANDOM
holder_pid=
_ns_cleanup() {
  [ -n "$holder_pid" ] && kill "$holder_pid" 2>/dev/null && wait "$holder_pid" 2>/dev/null
  ip netns del "$NETNS" 2>/dev/null
  _cleanup
}
trap _ns_cleanup EXIT

isnt() {
  if [ "$2" != "$3" ]; then ok "$1"; else not_ok "$1"; diag "both: [$2]"; fi
}
ns_of() { readlink "/proc/$1/ns/$2"; }

# --- every namespace of the default spec is new --------------------------------
make_bundle all sh -c 'for n in pid net ipc uts mnt cgroup user time; do echo "$n $(readlink /proc/self/ns/$n)"; done'
run_container all
is "run with the default namespaces exits 0" 0 "$rc"
[ "$rc" = 0 ] || diag "$out"
for n in pid net ipc uts mnt cgroup; do
  isnt "new $n namespace: /proc/self/ns/$n differs from the host's" "$(ns_of self $n)" "$(printf '%s\n' "$out" | sed -n "s/^$n //p")"
done
is "no user namespace in the spec: the host's user namespace" "$(ns_of self user)" "$(printf '%s\n' "$out" | sed -n 's/^user //p')"
is "no time namespace in the spec: the host's time namespace" "$(ns_of self time)" "$(printf '%s\n' "$out" | sed -n 's/^time //p')"

# --- pid ---------------------------------------------------------------------
make_bundle pid sh -c 'echo "self=$$"; echo "cmd=$(tr "\0" " " </proc/1/cmdline)"; echo "procs=$(ls -d /proc/[0-9]* | wc -l)"; ps -o pid,comm'
run_container pid
is "pid ns: the process is pid 1" "self=1" "$(printf '%s\n' "$out" | grep '^self=')"
like "pid ns: /proc/1/cmdline is the container's process" '^cmd=sh -c echo' "$(printf '%s\n' "$out" | grep '^cmd=')"
procs=$(printf '%s\n' "$out" | sed -n 's/^procs=//p')
check "pid ns: /proc lists only the container's few processes ($procs)" test "${procs:-99}" -le 4
unlike "pid ns: ps does not show host processes" 'husk|systemd|bash' "$(printf '%s\n' "$out" | sed '1,/^procs=/d')"

# --- uts -----------------------------------------------------------------------
make_bundle uts sh -c 'hostname; cat /proc/sys/kernel/domainname; uname -n'
edit_config uts '.hostname = "box-one" | .domainname = "example.test"'
host_hn=$(hostname)
run_container uts
is "uts ns: hostname from config" "box-one" "$(printf '%s\n' "$out" | sed -n 1p)"
is "uts ns: domainname from config" "example.test" "$(printf '%s\n' "$out" | sed -n 2p)"
is "uts ns: uname -n" "box-one" "$(printf '%s\n' "$out" | sed -n 3p)"
is "uts ns: the host's hostname is unchanged" "$host_hn" "$(hostname)"

# --- ipc -----------------------------------------------------------------------
make_bundle ipc sh -c 'readlink /proc/self/ns/ipc; ls /dev/mqueue | wc -l'
run_container ipc
isnt "ipc ns: different /proc/self/ns/ipc inode than the host" "$(ns_of self ipc)" "$(printf '%s\n' "$out" | sed -n 1p)"

# --- network -------------------------------------------------------------------
make_bundle net sh -c 'echo "ifs=$(ls /sys/class/net | tr "\n" " ")"; echo "state=$(cat /sys/class/net/lo/operstate)";
  ip link show lo | head -1; ip addr show lo | grep -q "inet 127.0.0.1" && echo lo-addr;
  ping -c1 -W2 127.0.0.1 >/dev/null 2>&1 && echo ping-ok'
edit_config net '.process.capabilities |= with_entries(.value += ["CAP_NET_RAW"])'
run_container net
is "net ns: only lo exists" "ifs=lo " "$(printf '%s\n' "$out" | grep '^ifs=')"
like "net ns: lo is UP" '<[^>]*LOOPBACK[^>]*,UP[,>]' "$(printf '%s\n' "$out" | grep 'lo:')"
isnt "net ns: lo operstate is not down" "state=down" "$(printf '%s\n' "$out" | grep '^state=')"
like "net ns: lo has 127.0.0.1" '^lo-addr$' "$(printf '%s\n' "$out" | grep lo-addr)"
like "net ns: ping 127.0.0.1 works inside" '^ping-ok$' "$(printf '%s\n' "$out" | grep ping-ok)"

# --- no network namespace: the host's --------------------------------------
make_bundle hostnet sh -c 'readlink /proc/self/ns/net; ls /sys/class/net | sort | tr "\n" " "'
edit_config hostnet 'del(.linux.namespaces[] | select(.type == "network"))'
run_container hostnet
is "without a network namespace the container shares the host's" "$(ns_of self net)" "$(printf '%s\n' "$out" | sed -n 1p)"
is "... and sees the host's interfaces" "$(ls /sys/class/net | sort | tr '\n' ' ')" "$(printf '%s\n' "$out" | sed -n 2p)"

make_bundle hostname-nouts true
edit_config hostname-nouts 'del(.linux.namespaces[] | select(.type == "uts")) | .hostname = "must-not-apply"'
run_container hostname-nouts
check "hostname without a uts namespace is refused (runc)" test "$rc" != 0
is "... and the host's hostname is unchanged" "$host_hn" "$(hostname)"

make_bundle hostuts sh -c 'hostname; readlink /proc/self/ns/uts'
edit_config hostuts 'del(.linux.namespaces[] | select(.type == "uts")) | del(.hostname)'
run_container hostuts
is "without a uts namespace the container has the host's hostname" "$host_hn" "$(printf '%s\n' "$out" | sed -n 1p)"
is "... and the host's uts namespace" "$(ns_of self uts)" "$(printf '%s\n' "$out" | sed -n 2p)"

# --- mount ---------------------------------------------------------------------
make_bundle mnt sh -c 'readlink /proc/self/ns/mnt; grep -c . /proc/self/mountinfo'
run_container mnt
isnt "mount ns: different mnt namespace" "$(ns_of self mnt)" "$(printf '%s\n' "$out" | sed -n 1p)"
unlike "mount ns: the host's mountinfo does not show the container's rootfs" "$T/mnt/rootfs" "$(cat /proc/self/mountinfo)"

# --- cgroup --------------------------------------------------------------------
make_bundle cgns sh -c 'readlink /proc/self/ns/cgroup; grep "^0::" /proc/self/cgroup; grep ":memory:" /proc/self/cgroup'
run_container cgns
isnt "cgroup ns: different cgroup namespace" "$(ns_of self cgroup)" "$(printf '%s\n' "$out" | sed -n 1p)"
is "cgroup ns: the unified line shows the namespace root" "0::/" "$(printf '%s\n' "$out" | sed -n 2p)"
like "cgroup ns: a v1 line shows the namespace root" ':memory:/$' "$(printf '%s\n' "$out" | sed -n 3p)"

# The cgroup namespace root must be the container's own cgroup in every
# hierarchy, so the container's fresh v1 cgroup mount shows its own limits.
if [ -e /sys/fs/cgroup/memory/memory.limit_in_bytes ]; then
  make_bundle cgnsmem sh -c 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes; cat /sys/fs/cgroup/memory/cgroup.procs | tr "\n" " "'
  edit_config cgnsmem '.linux.resources.memory = {limit: 67108864}'
  run_container cgnsmem
  is "cgroup ns (v1): /sys/fs/cgroup/memory inside is the container's cgroup (its limit)" 67108864 "$(printf '%s\n' "$out" | sed -n 1p)"
  like "cgroup ns (v1): the container's process is in /sys/fs/cgroup/memory/cgroup.procs inside" '(^| )1 ' "$(printf '%s\n' "$out" | sed -n 2p)"
else
  skip "no v1 memory hierarchy"; skip "no v1 memory hierarchy"
fi

make_bundle nocgns sh -c 'grep "^0::" /proc/self/cgroup'
edit_config nocgns 'del(.linux.namespaces[] | select(.type == "cgroup"))'
run_container nocgns
is "without a cgroup ns the unified line is the host path of cgroupsPath" "0::$CGPARENT/nocgns" "$out"

# --- user ----------------------------------------------------------------------
if [ -e /proc/self/ns/user ] && [ "$(cat /proc/sys/user/max_user_namespaces 2>/dev/null || echo 1)" != 0 ]; then
  make_bundle user sh -c 'id -u; id -g; cat /proc/self/uid_map; cat /proc/self/gid_map; stat -c %u /etc/passwd; touch /tmp/x && echo wrote; sleep 30'
  edit_config user '.linux.namespaces += [{type: "user"}]
    | .linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
    | .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]'
  h create -b "$T/user" user >"$T/user.out" 2>&1 </dev/null
  rc=$?
  is "user ns: create with uidMappings/gidMappings succeeds" 0 "$rc"
  [ "$rc" = 0 ] || diag "$(cat "$T/user.out")"
  pid=$(state_field user pid)
  is "user ns: host view of the created init: Uid is 100000" "100000" "$(awk '/^Uid:/ {print $2}' /proc/$pid/status 2>/dev/null)"
  is "user ns: host view of the created init: Gid is 100000" "100000" "$(awk '/^Gid:/ {print $2}' /proc/$pid/status 2>/dev/null)"
  like "user ns: /proc/PID/uid_map on the host" '^ *0 +100000 +65536$' "$(cat /proc/$pid/uid_map 2>/dev/null)"
  isnt "user ns: a new user namespace" "$(ns_of self user)" "$(ns_of "$pid" user 2>/dev/null)"
  h start user >/dev/null 2>&1 </dev/null
  wait_for grep -q '^wrote' "$T/user.out"
  out=$(cat "$T/user.out")
  is "user ns: inside, id -u is 0" 0 "$(printf '%s\n' "$out" | sed -n 1p)"
  is "user ns: inside, id -g is 0" 0 "$(printf '%s\n' "$out" | sed -n 2p)"
  like "user ns: inside, uid_map" '^ *0 +100000 +65536$' "$(printf '%s\n' "$out" | sed -n 3p)"
  is "user ns: host root's files are unmapped (overflow uid) inside" 65534 "$(printf '%s\n' "$out" | sed -n 5p)"
  is "user ns: the running process is uid 100000 on the host" "100000" "$(awk '/^Uid:/ {print $2}' /proc/$pid/status 2>/dev/null)"
  h delete -f user >/dev/null 2>&1
  check "user ns: delete leaves nothing" no_leftovers user
else
  for i in $(seq 1 11); do skip "user namespaces are not available"; done
fi

# --- time ----------------------------------------------------------------------
if [ -e /proc/self/ns/time ]; then
  make_bundle time sh -c 'cat /proc/uptime; cat /proc/self/timens_offsets; readlink /proc/self/ns/time'
  edit_config time '.linux.namespaces += [{type: "time"}]
    | .linux.timeOffsets = {boottime: {secs: 1000000, nanosecs: 0}, monotonic: {secs: 500000, nanosecs: 0}}'
  host_up=$(cut -d. -f1 /proc/uptime)
  run_container time
  is "time ns: run exits 0" 0 "$rc"
  [ "$rc" = 0 ] || diag "$out"
  up=$(printf '%s\n' "$out" | sed -n 1p | cut -d. -f1)
  check "time ns: /proc/uptime inside is shifted by +1000000 s (host $host_up, inside ${up:-?})" \
    test "${up:-0}" -ge $((host_up + 1000000)) -a "${up:-0}" -lt $((host_up + 1000100))
  like "time ns: monotonic offset" '^monotonic +500000 +0$' "$(printf '%s\n' "$out" | grep '^monotonic')"
  like "time ns: boottime offset" '^boottime +1000000 +0$' "$(printf '%s\n' "$out" | grep '^boottime')"
  isnt "time ns: a new time namespace" "$(ns_of self time)" "$(printf '%s\n' "$out" | tail -1)"
  is "time ns: the host's uptime is not shifted" "ok" "$( [ "$(cut -d. -f1 /proc/uptime)" -lt $((host_up + 100)) ] && echo ok)"
else
  for i in $(seq 1 6); do skip "no time namespaces on this kernel"; done
fi

# --- joining namespaces by path --------------------------------------------------
if ip netns add "$NETNS" 2>/dev/null; then
  make_bundle join sh -c 'readlink /proc/self/ns/net; ls /sys/class/net | tr "\n" " "'
  edit_config join '(.linux.namespaces[] | select(.type == "network")) |= {type: "network", path: $p}' --arg p "/run/netns/$NETNS"
  want=$(ip netns exec "$NETNS" readlink /proc/self/ns/net)
  run_container join
  is "join netns by path: run exits 0" 0 "$rc"
  [ "$rc" = 0 ] || diag "$out"
  is "join netns by path: the container is in that network namespace" "$want" "$(printf '%s\n' "$out" | sed -n 1p)"
  isnt "join netns by path: not the host's" "$(ns_of self net)" "$(printf '%s\n' "$out" | sed -n 1p)"
  check "join netns by path: the joined namespace survives delete" test -e "/run/netns/$NETNS"
  is "join netns by path: it is still the same namespace" "$want" "$(ip netns exec "$NETNS" readlink /proc/self/ns/net 2>/dev/null)"
  ip netns del "$NETNS"
else
  for i in $(seq 1 5); do skip "ip netns add failed"; done
fi

# join the uts + ipc namespaces of a holder process
unshare --uts --ipc sh -c 'hostname holder-uts; exec sleep 60' &
holder_pid=$!
wait_for test "$(readlink /proc/$holder_pid/ns/uts 2>/dev/null)" != "$(ns_of self uts)"
wait_for test "$(cat /proc/$holder_pid/comm 2>/dev/null)" = sleep
make_bundle join2 sh -c 'hostname; readlink /proc/self/ns/uts; readlink /proc/self/ns/ipc; readlink /proc/self/ns/pid'
edit_config join2 '(.linux.namespaces[] | select(.type == "uts")) |= {type: "uts", path: $u}
  | (.linux.namespaces[] | select(.type == "ipc")) |= {type: "ipc", path: $i} | del(.hostname)' \
  --arg u "/proc/$holder_pid/ns/uts" --arg i "/proc/$holder_pid/ns/ipc"
run_container join2
is "join uts by /proc/PID/ns path: hostname of the holder" "holder-uts" "$(printf '%s\n' "$out" | sed -n 1p)"
is "join uts by path: same uts namespace" "$(ns_of "$holder_pid" uts)" "$(printf '%s\n' "$out" | sed -n 2p)"
is "join ipc by path: same ipc namespace" "$(ns_of "$holder_pid" ipc)" "$(printf '%s\n' "$out" | sed -n 3p)"
isnt "joining some namespaces by path still creates the others (pid)" "$(ns_of self pid)" "$(printf '%s\n' "$out" | sed -n 4p)"
check "the holder survives the container's delete" kill -0 "$holder_pid"
kill "$holder_pid"; wait "$holder_pid" 2>/dev/null; holder_pid=

make_bundle badpath true
edit_config badpath '(.linux.namespaces[] | select(.type == "network")) |= {type: "network", path: "/nonexistent/netns"}'
run_container badpath
check "joining a namespace path that does not exist fails" test "$rc" != 0
like "... with an error naming the path" '/nonexistent/netns' "$out"
check "... and leaves nothing behind" no_leftovers badpath

done_testing
