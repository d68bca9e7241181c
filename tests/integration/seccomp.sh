#!/bin/bash
# linux.seccomp: errno actions (default and custom errnoRet), argument
# conditions, kill actions, a deny-by-default allow-list, the filter with and
# without noNewPrivileges, and SCMP_ACT_NOTIFY with a listenerPath receiver.
. "$(dirname "$0")/lib.sh"

CONSOLE_RECV=${CONSOLE_RECV:-$(dirname "$HUSK")/tests/console-recv}
isnt_zero() { [ "$1" != 0 ]; }
jq_ok() { jq -e "$1" >/dev/null 2>&1 <<<"$2"; }
line() { printf '%s\n' "$out" | grep "^$1" | head -1; }

if ! "$HUSK" features 2>/dev/null | jq -e '.linux.seccomp.enabled == true' >/dev/null; then
  echo "1..0 # SKIP husk is built without seccomp"
  exit 0
fi

deny_mkdir='{defaultAction: "SCMP_ACT_ALLOW", syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1}]}'

# --- errno --------------------------------------------------------------------------
make_bundle errno sh -c 'mkdir /newdir; echo "mkdir=$?"; grep -E "^Seccomp(_filters)?:" /proc/self/status; echo alive'
edit_config errno ".linux.seccomp = $deny_mkdir"
run_container errno
is "ALLOW + mkdir ERRNO: run exits 0" 0 "$rc"
[ "$rc" = 0 ] || diag "$out"
like "mkdir fails with Operation not permitted (errnoRet 1)" "can't create directory '/newdir': Operation not permitted" "$out"
is "mkdir exits non-zero" "mkdir=1" "$(line mkdir=)"
check "nothing was created in the rootfs" test ! -e "$T/errno/rootfs/newdir"
is "the process runs in seccomp filter mode" "Seccomp:	2" "$(line 'Seccomp:')"
like "one filter is installed" '^Seccomp_filters:[[:space:]]+1$' "$(line 'Seccomp_filters:')"
like "other syscalls are allowed" 'alive' "$out"

make_bundle errno38 sh -c 'mkdir /newdir'
edit_config errno38 '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 38}]}'
run_container errno38
like "errnoRet 38 gives Function not implemented" 'Function not implemented' "$out"

make_bundle errnodef sh -c 'mkdir /newdir'
edit_config errnodef '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO"}]}'
run_container errnodef
like "SCMP_ACT_ERRNO without errnoRet gives EPERM (runc)" 'Operation not permitted' "$out"

make_bundle unknown sh -c 'mkdir /newdir'
edit_config unknown '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", syscalls: [{names: ["no_such_syscall_xyz", "mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1}]}'
run_container unknown
like "an unknown syscall name is skipped, the rest of the rule applies" 'Operation not permitted' "$out"

# --- argument conditions ---------------------------------------------------------------
# personality(PER_LINUX32 = 8) denied, personality(PER_LINUX = 0) allowed;
# kill(pid, 0) denied, kill(pid, SIGCONT) allowed.
make_bundle args sh -c 'linux32 true 2>&1; echo "linux32=$?"; linux64 true; echo "linux64=$?";
  kill -0 $$ 2>&1; echo "kill0=$?"; kill -CONT $$; echo "killcont=$?"'
edit_config args '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", syscalls: [
  {names: ["personality"], action: "SCMP_ACT_ERRNO", errnoRet: 1, args: [{index: 0, value: 8, op: "SCMP_CMP_EQ"}]},
  {names: ["kill"], action: "SCMP_ACT_ERRNO", errnoRet: 1, args: [{index: 1, value: 0, op: "SCMP_CMP_EQ"}]}]}'
run_container args
is "args: run exits 0" 0 "$rc"
[ "$rc" = 0 ] || diag "$out"
check "personality arg0 EQ 8: linux32 fails" isnt_zero "$(line linux32= | cut -d= -f2)"
is "personality arg0 EQ 8: linux64 (arg 0) still works" "linux64=0" "$(line linux64=)"
check "kill arg1 EQ 0: kill -0 fails" isnt_zero "$(line kill0= | cut -d= -f2)"
is "kill arg1 EQ 0: kill -CONT still works" "killcont=0" "$(line killcont=)"

make_bundle masked sh -c 'linux32 true 2>/dev/null; echo "linux32=$?"; linux64 true; echo "linux64=$?"'
edit_config masked '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", syscalls: [
  {names: ["personality"], action: "SCMP_ACT_ERRNO", errnoRet: 1, args: [{index: 0, value: 8, valueTwo: 8, op: "SCMP_CMP_MASKED_EQ"}]}]}'
run_container masked
check "SCMP_CMP_MASKED_EQ (arg0 & 8 == 8): linux32 fails" isnt_zero "$(line linux32= | cut -d= -f2)"
is "SCMP_CMP_MASKED_EQ: linux64 still works" "linux64=0" "$(line linux64=)"

# --- kill actions -------------------------------------------------------------------------
make_bundle kill mkdir /newdir
edit_config kill '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_KILL"}]}'
run_container kill
is "SCMP_ACT_KILL: run exits 128+SIGSYS = 159" 159 "$rc"
check "SCMP_ACT_KILL: nothing was created" test ! -e "$T/kill/rootfs/newdir"
check "SCMP_ACT_KILL: the container is deleted after the foreground run" no_leftovers kill

make_bundle killproc sh -c 'mkdir /newdir; echo "status=$?"'
edit_config killproc '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_KILL_PROCESS"}]}'
run_container killproc
is "SCMP_ACT_KILL_PROCESS: the child is killed by SIGSYS (sh sees 159)" "status=159" "$(line status=)"

# --- deny by default, with an allow-list -------------------------------------------------
allow='["execve", "arch_prctl", "brk", "exit_group", "exit", "getrandom", "getuid", "geteuid", "getgid", "getegid",
  "mprotect", "prctl", "prlimit64", "readlink", "rseq", "set_robust_list", "set_tid_address", "write", "writev",
  "read", "close", "fstat", "newfstatat", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "mmap", "munmap",
  "ioctl", "getpid", "uname"]'
make_bundle allowlist echo allowed-echo-works
edit_config allowlist ".linux.seccomp = {defaultAction: \"SCMP_ACT_ERRNO\", defaultErrnoRet: 1, syscalls: [{names: $allow, action: \"SCMP_ACT_ALLOW\"}]}"
run_container allowlist
is "defaultAction ERRNO + allow-list: echo runs and exits 0" 0 "$rc"
is "defaultAction ERRNO + allow-list: echo's output" allowed-echo-works "$out"

make_bundle allowdeny mkdir /newdir
edit_config allowdeny ".linux.seccomp = {defaultAction: \"SCMP_ACT_ERRNO\", defaultErrnoRet: 38, syscalls: [{names: $allow, action: \"SCMP_ACT_ALLOW\"}]}"
run_container allowdeny
check "defaultAction ERRNO + allow-list: mkdir (not listed) fails" isnt_zero "$rc"
like "defaultErrnoRet 38: Function not implemented" 'Function not implemented' "$out"

# --- noNewPrivileges true and false ---------------------------------------------------------
for nnp in true false; do
  make_bundle nnp-$nnp sh -c 'mkdir /newdir 2>&1; grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status'
  edit_config nnp-$nnp ".linux.seccomp = $deny_mkdir | .process.noNewPrivileges = $nnp"
  run_container nnp-$nnp
  is "noNewPrivileges $nnp: run exits 0" 0 "$rc"
  [ "$rc" = 0 ] || diag "$out"
  like "noNewPrivileges $nnp: the filter is installed (mkdir denied)" 'Operation not permitted' "$out"
  is "noNewPrivileges $nnp: Seccomp: 2" "Seccomp:	2" "$(line 'Seccomp:')"
  is "noNewPrivileges $nnp: NoNewPrivs" "NoNewPrivs:	$([ $nnp = true ] && echo 1 || echo 0)" "$(line 'NoNewPrivs:')"
done

# without NNP the filter must survive a capability drop to a non-root user
make_bundle nnp-user sh -c 'mkdir /tmp/newdir 2>&1; id -u'
edit_config nnp-user ".linux.seccomp = $deny_mkdir | .process.noNewPrivileges = false | .process.user = {uid: 1000, gid: 1000}"
run_container nnp-user
like "noNewPrivileges false + uid 1000: the filter applies" 'Operation not permitted' "$out"

# --- flags and architectures --------------------------------------------------------------
make_bundle flags sh -c 'mkdir /newdir 2>&1; true'
edit_config flags '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
  flags: ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
  syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1}]}'
if [ "$(uname -m)" = x86_64 ]; then
  run_container flags
  is "architectures + flags: run exits 0" 0 "$rc"
  [ "$rc" = 0 ] || diag "$out"
  like "architectures + flags: the rule applies" 'Operation not permitted' "$out"
else
  skip "x86_64 only"; skip "x86_64 only"
fi

# --- invalid profiles fail create and leave nothing -------------------------------------------
make_bundle badaction true
edit_config badaction '.linux.seccomp = {defaultAction: "SCMP_ACT_BOGUS"}'
run_container badaction
check "an unknown defaultAction fails" isnt_zero "$rc"
check "... and leaves nothing behind" no_leftovers badaction

make_bundle notifynolistener true
edit_config notifynolistener '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", syscalls: [{names: ["mkdir"], action: "SCMP_ACT_NOTIFY"}]}'
run_container notifynolistener
check "SCMP_ACT_NOTIFY without listenerPath fails" isnt_zero "$rc"
like "... saying listenerPath is needed" 'listenerPath' "$out"
check "... and leaves nothing behind" no_leftovers notifynolistener

# --- SCMP_ACT_NOTIFY with a listener ------------------------------------------------------------
if [ -x "$CONSOLE_RECV" ]; then
  make_bundle notify sh -c 'mkdir /newdir 2>&1; echo "mkdir=$?"; echo after'
  edit_config notify '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", listenerPath: $l, listenerMetadata: "meta-data-x",
    syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_NOTIFY"}]}' --arg l "$T/seccomp.sock"
  "$CONSOLE_RECV" -s -n 1 -e 18 "$T/seccomp.sock" >"$T/seccomp.recv" 2>"$T/seccomp.recv.err" &
  recv_pid=$!
  wait_for test -S "$T/seccomp.sock"
  h create -b "$T/notify" notify >"$T/notify.out" 2>&1 </dev/null
  rc=$?
  is "listenerPath: create exits 0" 0 "$rc"
  [ "$rc" = 0 ] || diag "$(cat "$T/notify.out")"
  pid=$(state_field notify pid)
  wait_for grep -q '^fd:' "$T/seccomp.recv"
  recv=$(cat "$T/seccomp.recv")
  is "listenerPath: the receiver got the seccomp notify fd" "fd: anon_inode:seccomp notify" "$(printf '%s\n' "$recv" | sed -n 1p)"
  json=$(printf '%s\n' "$recv" | sed -n 2p)
  check "listenerPath: the payload is JSON" jq_ok . "$json"
  is "listenerPath: fds is [\"seccompFd\"]" '["seccompFd"]' "$(jq -c .fds <<<"$json" 2>/dev/null)"
  is "listenerPath: pid is the container init's" "$pid" "$(jq -r .pid <<<"$json" 2>/dev/null)"
  is "listenerPath: metadata is listenerMetadata" "meta-data-x" "$(jq -r .metadata <<<"$json" 2>/dev/null)"
  is "listenerPath: state.id" notify "$(jq -r .state.id <<<"$json" 2>/dev/null)"
  is "listenerPath: state.pid" "$pid" "$(jq -r .state.pid <<<"$json" 2>/dev/null)"
  is "listenerPath: state.bundle" "$T/notify" "$(jq -r .state.bundle <<<"$json" 2>/dev/null)"
  like "listenerPath: state.status" '^(creating|created)$' "$(jq -r .state.status <<<"$json" 2>/dev/null)"
  check "listenerPath: ociVersion is set" jq_ok '.ociVersion | type == "string"' "$json"
  h start notify >/dev/null 2>&1 </dev/null
  is "listenerPath: start exits 0" 0 "$?"
  wait "$recv_pid"
  is "listenerPath: the receiver handled one notification" 0 "$?"
  like "listenerPath: the notification was for mkdir/mkdirat" '^notif: (83|258)$' "$(grep '^notif:' "$T/seccomp.recv")"
  wait_for test "$(state_field notify status)" = stopped
  out=$(cat "$T/notify.out")
  like "listenerPath: the container's mkdir got the listener's answer (EXDEV)" 'Invalid cross-device link' "$out"
  like "listenerPath: the process continues afterwards" '^after$' "$(line after)"
  h delete notify >/dev/null 2>&1
  check "listenerPath: delete leaves nothing" no_leftovers notify

  make_bundle notifynobody true
  edit_config notifynobody '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", listenerPath: $l,
    syscalls: [{names: ["mkdir"], action: "SCMP_ACT_NOTIFY"}]}' --arg l "$T/nobody.sock"
  run_container notifynobody
  check "a listenerPath nobody listens on fails create" isnt_zero "$rc"
  check "... and leaves nothing behind" no_leftovers notifynobody
else
  for i in $(seq 1 20); do skip "console-recv not built (set CONSOLE_RECV)"; done
fi

done_testing
