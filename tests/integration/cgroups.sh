#!/bin/bash
# Cgroup placement: an absolute linux.cgroupsPath in every v1 hierarchy and
# in the unified one, the directories exist while the container lives and go
# with delete, a pre-existing parent stays, `..` cannot leave the hierarchy
# root, and a memory limit lands in the cgroup file (smoke test only:
# resource limits are tested elsewhere).
# Only absolute paths under this file's own parent are used: a relative path
# would go under the caller's own cgroup, which belongs to the host.
. "$(dirname "$0")/lib.sh"

# The hierarchies of this host: "name mountpoint" for v1 controllers (from
# the mount table), plus "unified <mountpoint>" for cgroup2.
hier=$(awk '$3 == "cgroup" && $2 ~ "^/sys/fs/cgroup/" {print $2} $3 == "cgroup2" && $2 ~ "^/sys/fs/cgroup" {print $2}' /proc/self/mounts)
if [ -z "$hier" ]; then
  echo "1..0 # SKIP no cgroup hierarchy under /sys/fs/cgroup"
  exit 0
fi
v1=$(awk '$3 == "cgroup" && $2 ~ "^/sys/fs/cgroup/" {print $2}' /proc/self/mounts)
v2=$(awk '$3 == "cgroup2" && $2 ~ "^/sys/fs/cgroup" {print $2}' /proc/self/mounts | head -1)
diag "hierarchies: $(echo $hier)"

# cg_line PID CONTROLLER-NAME: the path of that hierarchy in /proc/PID/cgroup
# ("" for the unified 0:: line)
# (on a cgroup2-only host every controller lives in the unified "0::" line)
cg_unified_only=$([ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] && echo 1)
cg_line() {
  local c=$2
  [ -n "$cg_unified_only" ] && c=""
  awk -F: -v c="$c" '($2 == c) || (c != "" && (index("," $2 ",", "," c ",") > 0)) {print $3; exit}' "/proc/$1/cgroup"
}
# ctrl name of a v1 mount point: the option naming it (cpu, memory, name=systemd)
v1_name() { basename "$1"; }
all_dirs_exist() { local d; for d in $hier; do [ -d "$d$1" ] || { diag "missing: $d$1"; return 1; }; done; }
no_dir_exists() { local d; for d in $hier; do [ ! -e "$d$1" ] || { diag "still there: $d$1"; return 1; }; done; }

# --- placement ---------------------------------------------------------------
make_bundle place sleep 60
edit_config place 'del(.linux.namespaces[] | select(.type == "cgroup"))'
path=$CGPARENT/place
h create -b "$T/place" place >/dev/null 2>&1 </dev/null
is "create exits 0" 0 "$?"
pid=$(state_field place pid)
check "the init exists ($pid)" test -n "$pid" -a -e "/proc/${pid:-0}"
for m in $v1; do
  n=$(v1_name "$m")
  [ "$n" = systemd ] && n=name=systemd
  is "v1 $n: /proc/PID/cgroup shows cgroupsPath" "$path" "$(cg_line "$pid" "$n")"
  check "v1 $n: the init is in $m$path/cgroup.procs" grep -qx "$pid" "$m$path/cgroup.procs"
done
if [ -n "$v2" ]; then
  is "unified (0::): /proc/PID/cgroup shows cgroupsPath" "$path" "$(cg_line "$pid" "")"
  check "unified: the init is in $v2$path/cgroup.procs" grep -qx "$pid" "$v2$path/cgroup.procs"
fi
check "the cgroup directories exist in every hierarchy while created" all_dirs_exist "$path"
h start place >/dev/null 2>&1 </dev/null
is "start exits 0" 0 "$?"
check "the cgroup directories exist while running" all_dirs_exist "$path"
is "the running process is still in cgroupsPath (memory)" "$path" "$(cg_line "$pid" memory)"
ps_pids=$(h ps --format json place 2>/dev/null | jq -c . 2>/dev/null)
is "ps --format json lists the init" "[$pid]" "$ps_pids"
h kill place KILL >/dev/null 2>&1
wait_for test "$(state_field place status)" = stopped
h delete place >/dev/null 2>&1
is "delete exits 0" 0 "$?"
check "after delete the cgroup directories are gone from every hierarchy" no_dir_exists "$path"
check "after delete nothing of the container remains" no_leftovers place

# --- run (foreground) removes its cgroup too ---------------------------------------
make_bundle fg sh -c 'cat /proc/self/cgroup'
edit_config fg 'del(.linux.namespaces[] | select(.type == "cgroup"))'
run_container fg
is "foreground run: the process's unified cgroup is cgroupsPath" "0::$CGPARENT/fg" "$(printf '%s\n' "$out" | grep '^0::')"
if [ -z "$cg_unified_only" ]; then
  like "foreground run: the memory cgroup is cgroupsPath" ":memory:$CGPARENT/fg\$" "$(printf '%s\n' "$out" | grep ':memory:')"
fi
check "foreground run: the cgroup is removed on exit" no_dir_exists "$CGPARENT/fg"

# --- a pre-existing parent is left alone -----------------------------------------------
# (made the way a careful manager does: cpuset.cpus/mems filled in on v1)
mk_parent() {
  local d
  for d in $hier; do
    mkdir -p "$d$1"
    if [ "$2" = fill ] && [ -e "$d/cpuset.cpus" ]; then
      cat "$d/cpuset.cpus" >"$d$CGPARENT/cpuset.cpus"; cat "$d/cpuset.mems" >"$d$CGPARENT/cpuset.mems"
      cat "$d/cpuset.cpus" >"$d$1/cpuset.cpus"; cat "$d/cpuset.mems" >"$d$1/cpuset.mems"
    fi
  done
}
pre=$CGPARENT/pre-existing
mk_parent "$pre" fill
make_bundle child sleep 60
edit_config child '.linux.cgroupsPath = $p' --arg p "$pre/child"
h run -d -b "$T/child" child >/dev/null 2>&1 </dev/null
is "run -d under a pre-existing parent exits 0" 0 "$?"
pid=$(state_field child pid)
is "the container is placed under the pre-existing parent" "$pre/child" "$(cg_line "${pid:-0}" memory)"
h delete -f child >/dev/null 2>&1
check "delete removes the container's own cgroup" no_dir_exists "$pre/child"
check "delete leaves the pre-existing parent in every hierarchy" all_dirs_exist "$pre"

# A pre-existing v1 cpuset parent with empty cpuset.cpus/mems: runc
# (cpusetEnsureParent) fills every empty level from its parent, else no
# task can join the child ("No space left on device").
if [ -e /sys/fs/cgroup/cpuset/cpuset.cpus ]; then
  mkdir -p "/sys/fs/cgroup/cpuset$CGPARENT/empty-cpuset"
  make_bundle cpuset true
  edit_config cpuset '.linux.cgroupsPath = $p' --arg p "$CGPARENT/empty-cpuset/child"
  run_container cpuset
  is "a pre-existing cpuset parent with empty cpuset.cpus is filled in, run exits 0" 0 "$rc"
  [ "$rc" = 0 ] || diag "$out"
  check "... and leaves nothing of the container" no_leftovers cpuset
  rmdir "/sys/fs/cgroup/cpuset$CGPARENT/empty-cpuset" 2>/dev/null
else
  skip "no v1 cpuset hierarchy"; skip "no v1 cpuset hierarchy"
fi

# --- `..` stays under the hierarchy root -------------------------------------------------
dd=${CGPARENT}-dotdot
make_bundle dotdot sleep 60
edit_config dotdot '.linux.cgroupsPath = $p' --arg p "/../../..$dd/../..$dd/c3"
h run -d -b "$T/dotdot" dotdot >"$T/dotdot.out" 2>&1 </dev/null
rc=$?
is "cgroupsPath with .. components: run -d exits 0" 0 "$rc"
[ "$rc" = 0 ] || diag "$(cat "$T/dotdot.out")"
pid=$(state_field dotdot pid)
is "cgroupsPath /../../x is cleaned to /x under the hierarchy root (memory)" "$dd/c3" "$(cg_line "${pid:-0}" memory)"
[ -n "$v2" ] && is "... and in the unified hierarchy" "$dd/c3" "$(cg_line "${pid:-0}" "")"
check "the directory is under each hierarchy root" all_dirs_exist "$dd/c3"
check "nothing was created next to the cgroup mounts (/sys/fs${dd})" test ! -e "/sys/fs$dd" -a ! -e "/sys$dd" -a ! -e "$dd"
h delete -f dotdot >/dev/null 2>&1
check "delete removes it" no_dir_exists "$dd/c3"
for d in $hier; do rmdir "$d$dd" 2>/dev/null; done

# --- resources smoke test ----------------------------------------------------------------
make_bundle mem sleep 60
edit_config mem '.linux.resources.memory = {limit: 67108864} | .linux.resources.pids = {limit: 77}'
h run -d -b "$T/mem" mem >"$T/mem.out" 2>&1 </dev/null
rc=$?
is "memory limit: run -d exits 0" 0 "$rc"
[ "$rc" = 0 ] || diag "$(cat "$T/mem.out")"
if [ -e /sys/fs/cgroup/memory/memory.limit_in_bytes ]; then
  is "memory.limit 64 MiB -> memory.limit_in_bytes (v1)" 67108864 "$(cat "/sys/fs/cgroup/memory$CGPARENT/mem/memory.limit_in_bytes" 2>/dev/null)"
elif [ -n "$v2" ]; then
  is "memory.limit 64 MiB -> memory.max (v2)" 67108864 "$(cat "$v2$CGPARENT/mem/memory.max" 2>/dev/null)"
else
  skip "no memory controller"
fi
if [ -e /sys/fs/cgroup/pids/pids.max ] || [ -e "/sys/fs/cgroup/pids$CGPARENT/mem/pids.max" ]; then
  is "pids.limit 77 -> pids.max (v1)" 77 "$(cat "/sys/fs/cgroup/pids$CGPARENT/mem/pids.max" 2>/dev/null)"
elif [ -n "$v2" ]; then
  is "pids.limit 77 -> pids.max (v2)" 77 "$(cat "$v2$CGPARENT/mem/pids.max" 2>/dev/null)"
else
  skip "no pids controller"
fi
h delete -f mem >/dev/null 2>&1
check "memory limit: delete leaves nothing" no_leftovers mem

done_testing
