#!/bin/bash
# husk integration tests: linux.resources ENFORCEMENT (not only file contents),
# pause/resume, update, events, kill --all / delete -f and cgroup removal.
# Runs on both layouts: v1/hybrid hosts (through the v1 controllers) and
# cgroup2-only hosts (the v2 VM, tests/vm/v2-tests.sh).  The enforcement
# assertions are the same on both; only the file names read back differ.
. "$(dirname "$0")/lib.sh"

if [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ]; then CGV=2; else CGV=1; fi
HYBRID=0
[ "$CGV" = 1 ] && [ "$(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ] && HYBRID=1
diag "cgroup layout: v$CGV (hybrid=$HYBRID)"

# have_ctrl CTRL: the controller can be used for a container
have_ctrl() {
  if [ "$CGV" = 2 ]; then grep -qw "$1" /sys/fs/cgroup/cgroup.controllers
  else [ -d "/sys/fs/cgroup/$1" ]; fi
}
# cgf ID V1CTRL FILE: path of a cgroup file of container ID on this layout
cgf() {
  if [ "$CGV" = 2 ]; then echo "/sys/fs/cgroup$CGPARENT/$1/$3"
  else echo "/sys/fs/cgroup/$2$CGPARENT/$1/$3"; fi
}
# pick V1VALUE V2VALUE
pick() { if [ "$CGV" = 2 ]; then echo "$2"; else echo "$1"; fi; }
# wait_secs N COMMAND...: poll for up to N seconds (the TCG VM is slow)
wait_secs() {
  local end=$((SECONDS + $1)); shift
  while [ "$SECONDS" -le "$end" ]; do "$@" && return 0; sleep 0.1; done
  return 1
}
# gone PID: the process has exited (absent or a zombie nobody reaped yet)
gone() { [ ! -e "/proc/$1" ] || awk '{ exit !($3 == "Z") }' "/proc/$1/stat" 2>/dev/null; }
all_gone() { local p; for p in "$@"; do gone "$p" || return 1; done; }
start_detached() { h run -d -b "$T/$1" "$1" </dev/null >"$T/$1.log" 2>&1; }
stats_of() { h events --stats "$1" 2>&1; }
# a file written by the container (rootfs is a plain directory)
file_in() { cat "$T/$1/rootfs/$2" 2>/dev/null; }

for c in memory pids cpu; do
  have_ctrl "$c" || { echo "1..0 # SKIP the $c cgroup controller is not available"; exit 0; }
done
M32=33554432
M64=67108864

# --- limits land in the right files (v1 or v2) ------------------------------
make_bundle files sh -c 'sleep 1000'
edit_config files '.linux.resources = {"memory":{"limit":67108864,"reservation":16777216,"swap":100663296},
  "pids":{"limit":42},"cpu":{"shares":1024,"quota":50000,"period":100000}}'
if start_detached files; then
  ok "run -d with memory, pids and cpu limits"
  is "memory limit in $(pick memory.limit_in_bytes memory.max)" "$M64" \
    "$(cat "$(cgf files memory "$(pick memory.limit_in_bytes memory.max)")")"
  is "memory reservation in $(pick memory.soft_limit_in_bytes memory.low)" 16777216 \
    "$(cat "$(cgf files memory "$(pick memory.soft_limit_in_bytes memory.low)")")"
  is "pids limit in pids.max" 42 "$(cat "$(cgf files pids pids.max)")"
  # swap is memory+swap in the spec: v1 takes it as is, v2 gets swap - limit (runc's conversion)
  swapf=$(cgf files memory "$(pick memory.memsw.limit_in_bytes memory.swap.max)")
  if [ -e "$swapf" ]; then
    is "memory+swap 96M in ${swapf##*/}" "$(pick 100663296 33554432)" "$(cat "$swapf")"
  else
    skip "no swap accounting (${swapf##*/})"
  fi
  if [ "$CGV" = 2 ]; then
    is "cpu quota/period in cpu.max" "50000 100000" "$(cat "$(cgf files cpu cpu.max)")"
    # runc/crun conversion: 1 + ((1024 - 2) * 9999) / 262142 = 39
    is "cpu shares 1024 -> cpu.weight 39" 39 "$(cat "$(cgf files cpu cpu.weight)")"
  else
    is "cpu quota in cpu.cfs_quota_us" 50000 "$(cat "$(cgf files cpu cpu.cfs_quota_us)")"
    is "cpu period in cpu.cfs_period_us" 100000 "$(cat "$(cgf files cpu cpu.cfs_period_us)")"
    is "cpu shares in cpu.shares" 1024 "$(cat "$(cgf files cpu cpu.shares)")"
  fi
  pid=$(state_field files pid)
  like "the init is in the container's cgroup" "(^|[[:space:]])$pid($|[[:space:]])" \
    "$(cat "$(cgf files pids cgroup.procs)")"
  if [ "$HYBRID" = 1 ]; then
    like "hybrid host: the init is also in the unified tree" "(^|[[:space:]])$pid($|[[:space:]])" \
      "$(cat "/sys/fs/cgroup/unified$CGPARENT/files/cgroup.procs" 2>&1)"
  fi
  check "the cgroup dir exists while the container runs" test -d "$(cgf files memory "")"
  h delete -f files
  check "delete -f removes the cgroup (every hierarchy)" no_leftovers files
  if [ "$CGV" = 1 ]; then
    left=$(ls -d /sys/fs/cgroup/*"$CGPARENT/files" 2>/dev/null)
    is "no v1 controller keeps a directory" "" "$left"
  fi
else
  not_ok "run -d with memory, pids and cpu limits"; diag "$(cat "$T/files.log")"
fi

# --- memory: a hog under memory.limit is OOM-killed --------------------------
# busybox dd allocates and fills a bs-sized anonymous buffer: a precise hog
make_bundle oom sh -c 'exec dd if=/dev/zero of=/dev/null bs=100M count=1'
edit_config oom '.linux.resources.memory = {"limit":33554432,"swap":33554432}'
run_container oom
is "a 100M hog under a 32M limit is OOM-killed: run exits 137" 137 "$rc"
[ "$rc" = 137 ] || diag "$out"

# --- pids: a fork loop stops at pids.limit ----------------------------------
make_bundle pids sh -c 'for i in $(seq 20); do sleep 3 & done; echo started-all'
edit_config pids '.linux.resources.pids.limit = 10'
run_container pids
like "a fork loop fails at pids.limit=10" "can't fork|Resource temporarily unavailable" "$out"
unlike "... and does not start all 20 children" "started-all" "$out"
edit_config pids '.linux.resources.pids.limit = 64'
run_container pids
like "the same loop succeeds with pids.limit=64" "started-all" "$out"

# --- cpu: a busy loop under a quota is throttled -----------------------------
make_bundle cpu sh -c 'while :; do :; done'
edit_config cpu '.linux.resources.cpu = {"quota":10000,"period":100000}'
if start_detached cpu; then
  u1=$(stats_of cpu | jq -r '.data.cpu.usage.total')
  s1=$(date +%s%N)
  sleep 2
  st=$(stats_of cpu)
  s2=$(date +%s%N)
  u2=$(printf '%s' "$st" | jq -r '.data.cpu.usage.total')
  tp=$(printf '%s' "$st" | jq -r '.data.cpu.throttling.throttledPeriods // 0')
  check "events --stats shows throttling (throttledPeriods=$tp)" test "${tp:-0}" -gt 0
  # 10% quota: at most ~10% of one cpu; allow up to 40% for accounting slack
  used=$(((u2 - u1) * 100 / (s2 - s1)))
  check "the busy loop gets about 10% of a cpu (measured ${used}%)" test "$used" -le 40
  if [ "$CGV" = 2 ]; then
    like "cpu.stat nr_throttled grows" "nr_throttled [1-9]" "$(cat "$(cgf cpu cpu cpu.stat)")"
  else
    like "cpu.stat nr_throttled grows" "nr_throttled [1-9]" "$(cat "$(cgf cpu cpu cpu.stat)")"
  fi
  h update --cpu-quota 50000 --cpu-period 100000 cpu
  is "update --cpu-quota changes the live quota" "$(pick 50000 "50000 100000")" \
    "$(cat "$(cgf cpu cpu "$(pick cpu.cfs_quota_us cpu.max)")")"
  h delete -f cpu
else
  not_ok "run -d of the cpu busy loop"; diag "$(cat "$T/cpu.log")"
fi

# --- pause: no progress while paused, progress after resume ------------------
make_bundle pause sh -c 'i=0; while :; do i=$((i + 1)); echo $i >/tmp/count.new; mv /tmp/count.new /tmp/count; sleep 0.1; done'
if start_detached pause && wait_secs 20 test -s "$T/pause/rootfs/tmp/count"; then
  h pause pause
  is "pause: status is paused" paused "$(state_field pause status)"
  c1=$(file_in pause tmp/count)
  sleep 1.5
  c2=$(file_in pause tmp/count)
  is "pause: the counter does not advance while paused" "$c1" "$c2"
  h resume pause
  is "resume: status is running" running "$(state_field pause status)"
  wait_secs 20 sh -c "[ \"\$(cat '$T/pause/rootfs/tmp/count')\" -gt ${c2:-0} ] 2>/dev/null"
  c3=$(file_in pause tmp/count)
  check "resume: the counter advances again ($c2 -> $c3)" test "${c3:-0}" -gt "${c2:-0}"
  h delete -f pause
else
  not_ok "the counter container starts"; diag "$(cat "$T/pause.log")"
fi

# --- update: live limits, read back and enforced -----------------------------
make_bundle upd sh -c 'sleep 1000'
edit_config upd '.linux.resources = {"memory":{"limit":67108864},"pids":{"limit":100}}'
MEMF=$(pick memory.limit_in_bytes memory.max)
if start_detached upd; then
  h exec upd dd if=/dev/zero of=/dev/null bs=40M count=1 >/dev/null 2>&1
  is "a 40M hog fits under the initial 64M limit" 0 "$?"
  h update --memory 32m upd
  is "update --memory 32m: read back from $MEMF" "$M32" "$(cat "$(cgf upd memory "$MEMF")")"
  h exec upd dd if=/dev/zero of=/dev/null bs=40M count=1 >/dev/null 2>&1
  is "... and the same 40M hog is now OOM-killed (137)" 137 "$?"
  echo '{"pids":{"limit":5}}' | h update -r - upd
  is "update -r -: pids.max read back" 5 "$(cat "$(cgf upd pids pids.max)")"
  out=$(h exec upd sh -c 'for i in 1 2 3 4 5 6 7 8; do sleep 2 & done; echo started-all' 2>&1)
  like "... and a fork loop now fails" "can't fork|Resource temporarily unavailable" "$out"
  st=$(stats_of upd)
  check "events --stats prints one stats event" \
    test "$(printf '%s' "$st" | jq -r '[.type, .id] | join(" ")' 2>/dev/null)" = "stats upd"
  check "events --stats: memory usage > 0" \
    test "$(printf '%s' "$st" | jq -r '.data.memory.usage.usage // 0')" -gt 0
  is "events --stats: memory limit reflects the update" "$M32" \
    "$(printf '%s' "$st" | jq -r '.data.memory.usage.limit')"
  check "events --stats: pids.current >= 1" test "$(printf '%s' "$st" | jq -r '.data.pids.current // 0')" -ge 1
  is "events --stats: pids.limit reflects the update" 5 "$(printf '%s' "$st" | jq -r '.data.pids.limit')"
  # v2: checkBeforeUpdate refuses it (else the kernel would OOM-kill); v1: the kernel refuses it
  out=$(echo '{"memory":{"limit":4096,"checkBeforeUpdate":true}}' | h update -r - upd 2>&1)
  like "a memory limit below the current usage is refused" "below.*usage" "$out"
  is "... and the container keeps running" running "$(state_field upd status)"
  out=$(h update --memory 1x upd 2>&1)
  like "update rejects a bad size" "invalid size" "$out"
  out=$(h update --l3-cache-schema 'L3:0=f' upd 2>&1)
  like "update refuses Intel RDT clearly" "Intel RDT" "$out"
  h delete -f upd
  check "the cgroup is gone after delete" no_leftovers upd
  out=$(h update --memory 64m upd 2>&1)
  like "update on a deleted container: does not exist" "does not exist" "$out"
else
  not_ok "run -d of the update container"; diag "$(cat "$T/upd.log")"
fi

# --- events: a stream with stats and an oom event; ends when the container stops
# (the process waits 6 s, so even a slow emulated VM sees a few 1 s intervals)
make_bundle ev sh -c 'sleep 6; exec dd if=/dev/zero of=/dev/null bs=100M count=1'
edit_config ev '.linux.resources.memory = {"limit":33554432,"swap":33554432}'
if start_detached ev; then
  timeout 120 "$HUSK" --root "$ROOT" events --interval 1s ev >"$T/ev.out" 2>"$T/ev.err"
  erc=$?
  is "events --interval 1s ends by itself (status 0) when the container stops" 0 "$erc"
  check "every line is a JSON event" sh -c 'jq -e "has(\"type\") and .id == \"ev\"" "$1" >/dev/null' _ "$T/ev.out"
  check "the stream has stats events" grep -q '"type":"stats"' "$T/ev.out"
  oomline=$(grep '"type":"oom"' "$T/ev.out")
  is "the stream reports the OOM kill" '{"type":"oom","id":"ev"}' "$oomline"
  [ "$erc" = 0 ] && [ -n "$oomline" ] || diag "$(cat "$T/ev.out" "$T/ev.err" | cut -c1-200)"
  out=$(h events --stats ev 2>&1)
  like "events on a stopped container: container not running" "container not running" "$out"
  out=$(h events --interval 0s ev 2>&1)
  like "events --interval must be > 0" "greater than 0" "$out"
  h delete -f ev
else
  not_ok "run -d of the events container"; diag "$(cat "$T/ev.log")"
fi

# --- kill --all and delete -f reach every process of the cgroup --------------
# Without a pid namespace nothing else would kill the background processes.
for id in kall kdel; do
  make_bundle $id sh -c 'sleep 1000 & sleep 1000 & exec sleep 1000'
  edit_config $id '.linux.namespaces |= map(select(.type != "pid"))'
done
count_pids() { [ "$(h ps --format json "$1" | jq length)" -ge "$2" ]; }
if start_detached kall && wait_secs 20 count_pids kall 3; then
  pids=$(h ps --format json kall | jq -r '.[]')
  h kill --all kall TERM
  check "kill --all TERM reaches all $(echo $pids | wc -w) processes" wait_secs 20 all_gone $pids
  h delete -f kall
else
  not_ok "the kill --all container starts three processes"; diag "$(cat "$T/kall.log")"
fi
if start_detached kdel && wait_secs 20 count_pids kdel 3; then
  pids=$(h ps --format json kdel | jq -r '.[]')
  h delete -f kdel
  check "delete -f reaches all $(echo $pids | wc -w) processes" wait_secs 20 all_gone $pids
  check "delete -f leaves no cgroup" no_leftovers kdel
else
  not_ok "the delete -f container starts three processes"; diag "$(cat "$T/kdel.log")"
fi

# --- devices: the device cgroup (v1 devices.*, v2 a BPF program) -------------
# /dev/kmsg (c 1:11) opened write-only needs no capability, and it is not one
# of the runtime's default-allowed devices (runc appends those after the
# spec's rules, so a deny of /dev/zero would not stick, in runc either).
make_bundle dev sh -c 'mknod /dev/km c 1 11 && echo husk-device-test >/dev/km && echo WROTE'
edit_config dev '.process.capabilities |= with_entries(.value += ["CAP_MKNOD"])'
run_container dev
like "default deny: a device outside the allowed list cannot be opened" "Operation not permitted" "$out"
unlike "... so nothing is written" "WROTE" "$out"
edit_config dev '.linux.resources.devices += [{"allow":true,"type":"c","major":1,"minor":11,"access":"w"}]'
run_container dev
like "an allow rule for c 1:11 w lets it be opened" "WROTE" "$out"
edit_config dev '.linux.resources.devices += [{"allow":false,"type":"c","major":1,"minor":11,"access":"w"}]'
run_container dev
unlike "a later deny rule wins again" "WROTE" "$out"

done_testing
