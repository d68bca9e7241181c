#!/bin/bash
# Bad input to create: one test per class.  Each must fail with exit 1 and a
# clear one-line error on stderr, and leave nothing behind: no state dir, no
# cgroup, no process, no mount (runtime-spec: "as if never attempted").
. "$(dirname "$0")/lib.sh"

h() { timeout -k 5 30 "$HUSK" --root "$ROOT" "$@"; }
one_line() { [ -n "$1" ] && [ "$(printf '%s\n' "$1" | wc -l)" = 1 ]; }
no_cg() { ! find /sys/fs/cgroup -maxdepth 5 -type d -path "*${CGPARENT}/$1" 2>/dev/null | grep -q .; }
# the runtime and the init carry the bundle path in their argv
no_proc() { ! pgrep -f -- "$1" >/dev/null; }
no_mount() { ! awk -v p="$1" 'index($5, p) == 1 || index($4, p) == 1' /proc/self/mountinfo | grep -q .; }
no_state() { [ -z "$1" ] || [ ! -e "$ROOT/$1" ]; }

# bad_create DESC BUNDLE ID REGEX [extra create options]: create must fail
bad_create() {
  local desc=$1 b=$2 id=$3 re=$4 rc err
  shift 4
  h create -b "$b" "$@" "$id" </dev/null >"$T/.bad.out" 2>"$T/.bad.err"
  rc=$?
  err=$(cat "$T/.bad.err")
  is "$desc: exit 1" 1 "$rc"
  like "$desc: the error says why" "$re" "$err"
  if one_line "$err"; then ok "$desc: one-line error"; else not_ok "$desc: one-line error"; diag "stderr: [$err]"; fi
  check "$desc: no state dir" no_state "$id"
  check "$desc: no cgroup" no_cg "$(basename "$b")"
  check "$desc: no process left" wait_for no_proc "$b"
  check "$desc: no mount under the bundle" no_mount "$b"
}
# bad_config NAME REGEX JQ-FILTER [jq args]: a bundle whose config.json is edited, then created as NAME
bad_config() {
  local name=$1 re=$2
  shift 2
  make_bundle "$name" sleep 4242
  edit_config "$name" "$@"
  bad_create "$name" "$T/$name" "$name" "$re"
}

# ---------------------------------------------------------------- config.json itself
make_bundle json sleep 4242
printf '{ "ociVersion": "1.3.0", nope' >"$T/json/config.json"
bad_create "invalid JSON" "$T/json" json 'config\.json.*(JSON|json|parse)'
make_bundle noconf sleep 4242
rm "$T/noconf/config.json"
bad_create "missing config.json" "$T/noconf" noconf 'config\.json'

# ---------------------------------------------------------------- wrong types: the message names the JSON path
bad_config uidtype 'process\.user\.uid' '.process.user.uid = "x"'
bad_config nstype 'linux\.namespaces\[0\]\.type' '.linux.namespaces[0].type = 5'
bad_config captype 'process\.capabilities\.bounding' '.process.capabilities.bounding = "CAP_KILL"'
bad_config argstype 'process\.args' '.process.args = "sleep 4242"'

# ---------------------------------------------------------------- ids
make_bundle ids sleep 4242
bad_create "id ../x" "$T/ids" '../x' 'invalid container id'
check "id ../x: nothing made next to the state root" test ! -e "$T/x"
bad_create "id a/b" "$T/ids" 'a/b' 'invalid container id'
bad_create "empty id" "$T/ids" '' 'id'
bad_create "id .." "$T/ids" '..' 'invalid container id'

# duplicate id while the first exists: the first one must be untouched
make_bundle dup sleep 4242
h create -b "$T/dup" dup </dev/null >/dev/null 2>&1
first=$(state_field dup pid)
make_bundle dup2 sleep 4242
h create -b "$T/dup2" dup </dev/null >"$T/.dup.out" 2>"$T/.dup.err"
is "duplicate id: exit 1" 1 $?
like "duplicate id: runc's message" 'container with given ID already exists' "$(cat "$T/.dup.err")"
check "duplicate id: one-line error" one_line "$(cat "$T/.dup.err")"
is "duplicate id: the first container is still created" created "$(state_field dup status)"
is "duplicate id: the first container keeps its pid" "$first" "$(state_field dup pid)"
is "duplicate id: the first container keeps its bundle" "$T/dup" "$(state_field dup bundle)"
check "duplicate id: no cgroup for the second bundle" no_cg dup2
check "duplicate id: no process for the second bundle" wait_for no_proc "$T/dup2"
h delete -f dup >/dev/null 2>&1
check "duplicate id: the first deletes cleanly" no_leftovers dup

# ---------------------------------------------------------------- the process (runc fails these at create)
bad_config nobin '/nonexistent' '.process.args = ["/nonexistent"]'
bad_config nopath 'nosuchcmd-4242' '.process.args = ["nosuchcmd-4242"]'
bad_config nocwd '/does/not/exist' '.process.cwd = "/does/not/exist"'
bad_config relcwd 'process\.cwd.*absolute|absolute.*cwd' '.process.cwd = "tmp"'
bad_config noargs 'process\.args' '.process.args = []'
bad_config noproc 'process' 'del(.process)'

# ---------------------------------------------------------------- linux
bad_config nsunknown 'namespace.*foo|foo.*namespace' '.linux.namespaces += [{"type": "foo"}]'
bad_config nsdup 'duplicate.*pid|pid.*duplicate' '.linux.namespaces += [{"type": "pid"}]'
bad_config capunknown 'CAP_FOO' '.process.capabilities.bounding += ["CAP_FOO"]'
bad_config rlimunknown 'RLIMIT_FOO' '.process.rlimits += [{"type": "RLIMIT_FOO", "soft": 1, "hard": 1}]'
# (the values are the host's current ones: a runtime that wrongly applies them changes nothing)
bad_config sysctlhost 'vm\.swappiness' '.linux.sysctl = {"vm.swappiness": $v}' --arg v "$(cat /proc/sys/vm/swappiness)"
bad_config sysctlnet 'net\.ipv4\.ip_forward' \
  '.linux.sysctl = {"net.ipv4.ip_forward": $v} | .linux.namespaces |= map(select(.type != "network"))' \
  --arg v "$(cat /proc/sys/net/ipv4/ip_forward)"

# ---------------------------------------------------------------- rootfs, terminal
bad_config norootfs 'nope' '.root.path = "nope"'
make_bundle rootfile sleep 4242
touch "$T/rootfile/afile"
edit_config rootfile '.root.path = "afile"'
bad_create "rootfs is a file" "$T/rootfile" rootfile 'afile'
bad_config tty 'console.socket|console socket' '.process.terminal = true'
make_bundle badsock sleep 4242
bad_create "--console-socket without terminal" "$T/badsock" badsock 'console socket' --console-socket "$T/no.sock"
make_bundle nosock sleep 4242
edit_config nosock '.process.terminal = true'
bad_create "--console-socket that nobody listens on" "$T/nosock" nosock 'no\.sock|console'

# ---------------------------------------------------------------- run fails the same way
make_bundle runbad sleep 4242
edit_config runbad '.process.args = ["/nonexistent-run"]'
h run -b "$T/runbad" runbad </dev/null >"$T/.run.out" 2>"$T/.run.err"
is "run with a missing binary exits 1" 1 $?
like "run with a missing binary: says which" '/nonexistent-run' "$(cat "$T/.run.err")"
check "run with a missing binary: no state dir" no_state runbad
check "run with a missing binary: no cgroup" no_cg runbad
check "run with a missing binary: no process" wait_for no_proc "$T/runbad"

check "nothing at all left in the state root" test -z "$(ls -A "$ROOT" 2>/dev/null)"
done_testing
