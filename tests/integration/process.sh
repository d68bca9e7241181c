#!/bin/bash
# process: capabilities, user, umask, cwd, env, rlimits, noNewPrivileges,
# oomScoreAdj, scheduler, ioPriority, personality, fds (--preserve-fds,
# LISTEN_FDS, nothing else leaks) and linux.sysctl.
. "$(dirname "$0")/lib.sh"

isnt_zero() { [ "$1" != 0 ]; }
line() { printf '%s\n' "$out" | grep "^$1" | head -1; }
status_field() { awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status" 2>/dev/null; }

# --- capabilities ---------------------------------------------------------------------
# CAP_CHOWN=0 CAP_DAC_OVERRIDE=1 CAP_KILL=5 CAP_NET_BIND_SERVICE=10 CAP_SYS_ADMIN=21
caps_script='for c in CapInh CapPrm CapEff CapBnd CapAmb; do grep "^$c:" /proc/self/status; done'
make_bundle caproot sh -c "$caps_script"
edit_config caproot '.process.capabilities = {
  bounding: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
  effective: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
  permitted: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"]}'
run_container caproot
is "caps (root): run exits 0" 0 "$rc"
is "caps (root): CapEff" "CapEff:	0000000000000421" "$(line CapEff)"
is "caps (root): CapPrm" "CapPrm:	0000000000000421" "$(line CapPrm)"
is "caps (root): CapBnd" "CapBnd:	0000000000000421" "$(line CapBnd)"
is "caps (root): CapInh" "CapInh:	0000000000000000" "$(line CapInh)"
is "caps (root): CapAmb" "CapAmb:	0000000000000000" "$(line CapAmb)"

# A non-root user keeps only what ambient gives it across execve.
make_bundle capuser sh -c "$caps_script; sleep 0"
edit_config capuser '.process.user = {uid: 1000, gid: 1000} | .process.capabilities = {
  bounding: ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SYS_ADMIN"],
  effective: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
  permitted: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
  inheritable: ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
  ambient: ["CAP_NET_BIND_SERVICE"]}'
h create -b "$T/capuser" capuser >"$T/capuser.out" 2>&1 </dev/null
is "caps (uid 1000): create exits 0" 0 "$?"
pid=$(state_field capuser pid)
is "caps (uid 1000): the created init has CapEff = effective" 0000000000000421 "$(status_field "$pid" CapEff)"
is "caps (uid 1000): the created init has CapPrm = permitted" 0000000000000421 "$(status_field "$pid" CapPrm)"
is "caps (uid 1000): the created init has CapInh = inheritable" 0000000000000420 "$(status_field "$pid" CapInh)"
is "caps (uid 1000): the created init has CapBnd = bounding" 0000000000200423 "$(status_field "$pid" CapBnd)"
is "caps (uid 1000): the created init has CapAmb = ambient" 0000000000000400 "$(status_field "$pid" CapAmb)"
h start capuser >/dev/null 2>&1 </dev/null
wait_for test "$(state_field capuser status)" = stopped
out=$(cat "$T/capuser.out")
is "caps (uid 1000): after exec CapEff = ambient" "CapEff:	0000000000000400" "$(line CapEff)"
is "caps (uid 1000): after exec CapPrm = ambient" "CapPrm:	0000000000000400" "$(line CapPrm)"
is "caps (uid 1000): after exec CapInh = inheritable" "CapInh:	0000000000000420" "$(line CapInh)"
is "caps (uid 1000): after exec CapBnd = bounding" "CapBnd:	0000000000200423" "$(line CapBnd)"
is "caps (uid 1000): after exec CapAmb = ambient" "CapAmb:	0000000000000400" "$(line CapAmb)"
h delete -f capuser >/dev/null 2>&1

make_bundle capnone sh -c "$caps_script"
edit_config capnone '.process.capabilities = {bounding: [], effective: [], permitted: []}'
run_container capnone
is "caps: empty sets give CapEff 0" "CapEff:	0000000000000000" "$(line CapEff)"
is "caps: empty bounding gives CapBnd 0" "CapBnd:	0000000000000000" "$(line CapBnd)"

make_bundle capeff sh -c 'chown 1:1 /tmp 2>&1; echo rc=$?'
edit_config capeff '.process.capabilities = {bounding: ["CAP_KILL"], effective: ["CAP_KILL"], permitted: ["CAP_KILL"]}'
run_container capeff
like "without CAP_CHOWN, root cannot chown" 'Operation not permitted' "$out"

# --- user -------------------------------------------------------------------------
make_bundle user sh -c 'id -u; id -g; grep ^Groups: /proc/self/status; touch /tmp/owned; stat -c %u:%g /tmp/owned'
edit_config user '.process.user = {uid: 1000, gid: 1001, additionalGids: [10, 20]}'
run_container user
is "user: run exits 0" 0 "$rc"
[ "$rc" = 0 ] || diag "$out"
is "user: uid" 1000 "$(printf '%s\n' "$out" | sed -n 1p)"
is "user: gid" 1001 "$(printf '%s\n' "$out" | sed -n 2p)"
is "user: additionalGids" "Groups:	10 20" "$(printf '%s\n' "$out" | sed -n 3p | sed 's/ *$//')"
is "user: files are created with uid:gid" "1000:1001" "$(printf '%s\n' "$out" | sed -n 4p)"

make_bundle nogroups sh -c 'grep ^Groups: /proc/self/status'
run_container nogroups
is "user: no additionalGids = no supplementary groups" "Groups:" "$(printf '%s\n' "$out" | sed 's/[[:space:]]*$//')"

# --- umask, cwd, env ----------------------------------------------------------------------
make_bundle umask sh -c 'umask; touch /tmp/f; stat -c %a /tmp/f'
edit_config umask '.process.user.umask = 63'
run_container umask
is "umask 0077 from config" 0077 "$(printf '%s\n' "$out" | sed -n 1p)"
is "umask applies to new files" 600 "$(printf '%s\n' "$out" | sed -n 2p)"
make_bundle umaskdef sh -c 'umask'
run_container umaskdef
is "default umask is 0022" 0022 "$out"

make_bundle cwd sh -c 'pwd'
edit_config cwd '.process.cwd = "/var/tmp"'
run_container cwd
is "cwd from config" /var/tmp "$out"
make_bundle cwdbad true
edit_config cwdbad '.process.cwd = "/bin/busybox"'
run_container cwdbad
check "a cwd that is not a directory fails" isnt_zero "$rc"
check "... and leaves nothing behind" no_leftovers cwdbad

make_bundle env sh -c 'echo "FOO=$FOO"; echo "SPACE=$SPACE"; echo "PATH=$PATH"; echo "HOME=$HOME"; env | grep -c "^HUSK_SECRET" '
edit_config env '.process.env = ["PATH=/bin:/sbin", "FOO=bar", "SPACE=a b  c"]'
out=$(HUSK_SECRET=leak h run -b "$T/env" env 2>&1 </dev/null)
is "env: FOO" "FOO=bar" "$(line FOO=)"
is "env: a value with spaces" "SPACE=a b  c" "$(line SPACE=)"
is "env: PATH" "PATH=/bin:/sbin" "$(line PATH=)"
is "env: the runtime's environment does not leak in" 0 "$(printf '%s\n' "$out" | tail -1)"
is "env: HOME is set from /etc/passwd when the config has none (runc)" "HOME=/root" "$(line HOME=)"

# --- rlimits -----------------------------------------------------------------------------
make_bundle rlim sh -c 'ulimit -n; ulimit -Sn; ulimit -Hn; grep -E "^Max (open files|core file size|processes)" /proc/self/limits'
edit_config rlim '.process.rlimits = [
  {type: "RLIMIT_NOFILE", soft: 512, hard: 2048},
  {type: "RLIMIT_CORE", soft: 0, hard: 1048576},
  {type: "RLIMIT_NPROC", soft: 100, hard: 200}]'
run_container rlim
is "rlimits: run exits 0" 0 "$rc"
is "rlimits: ulimit -n is the soft limit" 512 "$(printf '%s\n' "$out" | sed -n 1p)"
is "rlimits: ulimit -Sn" 512 "$(printf '%s\n' "$out" | sed -n 2p)"
is "rlimits: ulimit -Hn" 2048 "$(printf '%s\n' "$out" | sed -n 3p)"
like "rlimits: RLIMIT_NOFILE in /proc/self/limits" '^Max open files +512 +2048 ' "$(line 'Max open files')"
like "rlimits: RLIMIT_CORE in /proc/self/limits" '^Max core file size +0 +1048576 ' "$(line 'Max core file size')"
like "rlimits: RLIMIT_NPROC in /proc/self/limits" '^Max processes +100 +200 ' "$(line 'Max processes')"
make_bundle rlimbad true
edit_config rlimbad '.process.rlimits = [{type: "RLIMIT_NOFILE", soft: 4096, hard: 1024}]'
run_container rlimbad
check "rlimits: soft > hard fails" isnt_zero "$rc"
check "... and leaves nothing behind" no_leftovers rlimbad

# --- noNewPrivileges, oomScoreAdj ---------------------------------------------------------
make_bundle nnp sh -c 'grep ^NoNewPrivs: /proc/self/status'
edit_config nnp '.process.noNewPrivileges = true'
run_container nnp
is "noNewPrivileges true: NoNewPrivs 1" "NoNewPrivs:	1" "$out"
make_bundle nnp0 sh -c 'grep ^NoNewPrivs: /proc/self/status'
edit_config nnp0 '.process.noNewPrivileges = false'
run_container nnp0
is "noNewPrivileges false: NoNewPrivs 0" "NoNewPrivs:	0" "$out"

make_bundle oom sh -c 'cat /proc/self/oom_score_adj'
edit_config oom '.process.oomScoreAdj = 500'
run_container oom
is "oomScoreAdj 500" 500 "$out"
# Lowering it needs CAP_SYS_RESOURCE, which some sandboxes take away from root.
if [ $(( 0x$(awk '/^CapEff:/ {print $2}' /proc/self/status) >> 24 & 1 )) = 1 ]; then
  make_bundle oomneg sh -c 'cat /proc/self/oom_score_adj'
  edit_config oomneg '.process.oomScoreAdj = -300'
  run_container oomneg
  is "oomScoreAdj -300" -300 "$out"
else
  skip "oomScoreAdj -300: the test runs without CAP_SYS_RESOURCE"
fi

# --- scheduler, ioPriority, personality ---------------------------------------------------
# /proc/self/stat: field 19 = nice, field 41 = policy (3 = SCHED_BATCH)
make_bundle sched sh -c 'cat /proc/self/stat | sed "s/.*) //" | cut -d" " -f17,39'
edit_config sched '.process.scheduler = {policy: "SCHED_BATCH", nice: 7}'
run_container sched
is "scheduler: run exits 0" 0 "$rc"
[ "$rc" = 0 ] || diag "$out"
is "scheduler SCHED_BATCH nice 7: /proc/self/stat nice and policy" "7 3" "$out"

make_bundle ioprio sh -c 'ionice -p $$'
edit_config ioprio '.process.ioPriority = {class: "IOPRIO_CLASS_BE", priority: 6}'
run_container ioprio
is "ioPriority BE 6" "best-effort: prio 6" "$out"
make_bundle ioidle sh -c 'ionice -p $$'
edit_config ioidle '.process.ioPriority = {class: "IOPRIO_CLASS_IDLE", priority: 0}'
run_container ioidle
like "ioPriority IDLE" '^idle' "$out"

make_bundle pers sh -c 'uname -m; grep -c . /proc/self/personality 2>/dev/null; true'
edit_config pers '.linux.personality = {domain: "LINUX32"}'
run_container pers
if [ "$(uname -m)" = x86_64 ]; then
  like "personality LINUX32: uname -m shows a 32-bit machine" '^i[3-6]86$' "$(printf '%s\n' "$out" | sed -n 1p)"
else
  like "personality LINUX32: uname -m shows a 32-bit machine" '^(i[3-6]86|armv[0-9]+l|ppc|s390)$' "$(printf '%s\n' "$out" | sed -n 1p)"
fi
make_bundle pers64 uname -m
run_container pers64
is "no personality: uname -m is the host's" "$(uname -m)" "$out"

# --- fds ---------------------------------------------------------------------------------
echo preserved-content >"$T/fd3file"
echo other >"$T/fd4file"
make_bundle fds sh -c 'ls /proc/self/fd | sort -n | tr "\n" " "; echo; cat /proc/self/fd/3 2>&1'
exec 7<"$T/fd4file" 8>"$T/fd8file"
out=$(h run --preserve-fds 1 -b "$T/fds" fds 2>&1 </dev/null 3<"$T/fd3file" 4<"$T/fd4file")
rc=$?
is "--preserve-fds 1: run exits 0" 0 "$rc"
[ "$rc" = 0 ] || diag "$out"
is "--preserve-fds 1: fd 3 readable inside" preserved-content "$(printf '%s\n' "$out" | sed -n 2p)"
is "--preserve-fds 1: only 0-3 (+ ls's own dir fd 4) are open" "0 1 2 3 4 " "$(printf '%s\n' "$out" | sed -n 1p)"

make_bundle nofds sh -c 'ls /proc/self/fd | sort -n | tr "\n" " "'
out=$(h run -b "$T/nofds" nofds 2>&1 </dev/null 3<"$T/fd3file" 4<"$T/fd4file")
is "without --preserve-fds no fd above 2 reaches the container (only ls's own fd 3)" "0 1 2 3 " "$out"
exec 7<&- 8>&-

make_bundle badfd true
out=$(h run --preserve-fds 5 -b "$T/badfd" badfd 2>&1 </dev/null 3</dev/null)
rc=$?
check "--preserve-fds naming a closed fd fails" isnt_zero "$rc"
check "... and leaves nothing behind" no_leftovers badfd

make_bundle listen sh -c 'echo "LISTEN_FDS=$LISTEN_FDS LISTEN_PID=$LISTEN_PID"; cat /proc/self/fd/3; cat /proc/self/fd/4; ls /proc/self/fd | sort -n | tr "\n" " "'
out=$(bash -c 'export LISTEN_FDS=1 LISTEN_PID=$$; exec "$@"' _ "$HUSK" --root "$ROOT" run --preserve-fds 1 -b "$T/listen" listen \
  2>&1 </dev/null 3<"$T/fd3file" 4<"$T/fd4file")
rc=$?
is "LISTEN_FDS: run exits 0" 0 "$rc"
[ "$rc" = 0 ] || diag "$out"
is "LISTEN_FDS: the container gets LISTEN_FDS=1 LISTEN_PID=1" "LISTEN_FDS=1 LISTEN_PID=1" "$(line LISTEN_FDS=)"
is "LISTEN_FDS: the socket-activation fd 3 is passed" preserved-content "$(printf '%s\n' "$out" | sed -n 2p)"
is "LISTEN_FDS + --preserve-fds 1: fd 4 is passed too" other "$(printf '%s\n' "$out" | sed -n 3p)"
is "LISTEN_FDS + --preserve-fds 1: nothing more" "0 1 2 3 4 5 " "$(printf '%s\n' "$out" | sed -n 4p)"

make_bundle listen2 sh -c 'echo "LISTEN_FDS=$LISTEN_FDS"; ls /proc/self/fd | sort -n | tr "\n" " "'
out=$(LISTEN_FDS=1 LISTEN_PID=1 h run -b "$T/listen2" listen2 2>&1 </dev/null 3<"$T/fd3file")
is "LISTEN_PID naming another process: LISTEN_FDS is not honoured" "0 1 2 3 " "$(printf '%s\n' "$out" | sed -n 2p)"

# --- sysctl ------------------------------------------------------------------------------
host_fwd=$(cat /proc/sys/net/ipv4/ip_forward)
host_rmid=$(cat /proc/sys/kernel/shm_rmid_forced)
make_bundle sysctl sh -c 'cat /proc/sys/net/ipv4/ip_forward; cat /proc/sys/kernel/shm_rmid_forced'
edit_config sysctl '.linux.sysctl = {"net.ipv4.ip_forward": $f, "kernel.shm_rmid_forced": $r}' \
  --arg f "$((1 - host_fwd))" --arg r "$((1 - host_rmid))"
run_container sysctl
is "sysctl: run exits 0" 0 "$rc"
[ "$rc" = 0 ] || diag "$out"
is "sysctl net.ipv4.ip_forward inside the new netns" "$((1 - host_fwd))" "$(printf '%s\n' "$out" | sed -n 1p)"
is "sysctl kernel.shm_rmid_forced inside the new ipc ns" "$((1 - host_rmid))" "$(printf '%s\n' "$out" | sed -n 2p)"
is "sysctl: the host's ip_forward is unchanged" "$host_fwd" "$(cat /proc/sys/net/ipv4/ip_forward)"
is "sysctl: the host's shm_rmid_forced is unchanged" "$host_rmid" "$(cat /proc/sys/kernel/shm_rmid_forced)"

make_bundle sysctlbad true
edit_config sysctlbad '.linux.sysctl = {"net.ipv4.no_such_key": "1"}'
run_container sysctlbad
check "an unknown sysctl fails" isnt_zero "$rc"
check "... and leaves nothing behind" no_leftovers sysctlbad

# runc's validator: a namespaced sysctl needs its own namespace, and a
# sysctl no namespace covers is refused (the host's value would change).
# The values written are the host's current ones, so nothing changes even
# if husk got this wrong.
make_bundle sysctlhost true
edit_config sysctlhost 'del(.linux.namespaces[] | select(.type == "network")) | .linux.sysctl = {"net.ipv4.ip_forward": $f}' \
  --arg f "$host_fwd"
run_container sysctlhost
check "a net.* sysctl without a network namespace is refused" isnt_zero "$rc"
like "... with an error naming it" 'net.ipv4.ip_forward' "$out"
make_bundle sysctlipc true
edit_config sysctlipc 'del(.linux.namespaces[] | select(.type == "ipc")) | .linux.sysctl = {"kernel.shm_rmid_forced": $r}' \
  --arg r "$host_rmid"
run_container sysctlipc
check "an ipc sysctl without an ipc namespace is refused" isnt_zero "$rc"
make_bundle sysctlvm true
edit_config sysctlvm '.linux.sysctl = {"vm.swappiness": $v}' --arg v "$(cat /proc/sys/vm/swappiness)"
run_container sysctlvm
check "a sysctl that no namespace covers (vm.swappiness) is refused" isnt_zero "$rc"
check "... and leaves nothing behind" no_leftovers sysctlvm

# --- exec errors -------------------------------------------------------------------------
make_bundle noexe /no/such/binary
run_container noexe
check "a missing executable fails run" isnt_zero "$rc"
like "... naming it" '/no/such/binary' "$out"
check "... and leaves nothing behind" no_leftovers noexe

done_testing
