#!/bin/bash
# The command line as callers use it (cli-contract §1, §2): version, option
# spellings, logging, spec, features, kill signals, ps, pause/resume.
. "$(dirname "$0")/lib.sh"

h() { timeout -k 5 30 "$HUSK" --root "$ROOT" "$@"; }
# hc ARGS...: a command that starts no container; sets $out, $err, $rc
hc() { out=$(h "$@" 2>"$T/.stderr" </dev/null); rc=$?; err=$(cat "$T/.stderr"); }
# hx ARGS...: like hc without --root
hx() { out=$(timeout -k 5 30 "$HUSK" "$@" 2>"$T/.stderr" </dev/null); rc=$?; err=$(cat "$T/.stderr"); }
create_c() { local id=$1; shift; h create -b "$T/$id" "$@" "$id" </dev/null >"$T/$id.out" 2>"$T/$id.err"; }
is_status() { [ "$(state_field "$1" status)" = "$2" ]; }
valid_json() { jq -e . "$@" >/dev/null 2>&1; }
jq_ok() { jq -e "$@" >/dev/null 2>&1; }
one_line() { [ -n "$1" ] && [ "$(printf '%s\n' "$1" | wc -l)" = 1 ]; }
make_sig() { make_bundle "$1" husk-test-init sigwait /tmp/sig; }
sig_ready() { test -e "$T/$1/rootfs/tmp/sig.ready"; }
sig_got() { cat "$T/$1/rootfs/tmp/sig" 2>/dev/null; }
alive() { [ -n "$1" ] && [ "$1" != 0 ] && [ -e "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
# start_sig ID: a running container whose init waits for a signal
start_sig() { make_sig "$1" && create_c "$1" && h start "$1" >/dev/null 2>&1 && wait_for sig_ready "$1"; }

# ---------------------------------------------------------------- --version
for v in --version -version -v; do
  hx $v
  is "$v exits 0" 0 "$rc"
  like "$v: first line 'husk version X'" '^husk version [0-9]+\.[0-9]+' "$(sed -n 1p <<<"$out")"
  like "$v: commit line" '^commit: ' "$(sed -n 2p <<<"$out")"
  is "$v: spec line" "spec: 1.3.0" "$(grep '^spec: ' <<<"$out")"
  like "$v: libseccomp line" '^libseccomp: [0-9]+\.[0-9]+\.[0-9]+$' "$(grep '^libseccomp: ' <<<"$out")"
done

# ---------------------------------------------------------------- unknown command / option
hx --root "$ROOT" frobnicate
check "unknown command exits non-zero" test "$rc" -ne 0
like "unknown command: says so on stderr" 'frobnicate' "$err"
hx --no-such-global-flag list
check "unknown global option exits non-zero" test "$rc" -ne 0
hc state
is "state without an id exits 1" 1 "$rc"
like "state without an id: asks for it" 'id' "$err"
hc state a b
is "state with two ids exits 1" 1 "$rc"

# ---------------------------------------------------------------- option spellings
make_sig o1
timeout 30 "$HUSK" -root "$ROOT" create -bundle "$T/o1" -pid-file "$T/o1.pid" o1 </dev/null >/dev/null 2>&1
is "single-dash long options (-root, -bundle, -pid-file) work for create" 0 $?
check "-pid-file was honoured" test -s "$T/o1.pid"
hx -root "$ROOT" state o1
is "-root DIR (single dash) finds the container" created "$(jq -r .status <<<"$out")"
hx --root="$ROOT" state o1
is "--root=DIR finds the container" created "$(jq -r .status <<<"$out")"
hx --root "$ROOT" state o1
is "--root DIR finds the container" created "$(jq -r .status <<<"$out")"
hc list --format=json
is "list --format=json" o1 "$(jq -r '.[0].id' <<<"$out")"
hc list -format json
is "list -format json (single dash)" o1 "$(jq -r '.[0].id' <<<"$out")"
hc list -f json
is "list -f json" o1 "$(jq -r '.[0].id' <<<"$out")"
hc delete -force o1
is "delete -force (single dash) exits 0" 0 "$rc"
check "delete -force removed it" no_leftovers o1
make_sig o2
timeout 30 "$HUSK" --root="$ROOT" create --bundle="$T/o2" --pid-file="$T/o2.pid" o2 </dev/null >/dev/null 2>&1
is "--opt=value spellings work for create" 0 $?
is "--pid-file=PATH was honoured" "$(state_field o2 pid)" "$(cat "$T/o2.pid" 2>/dev/null)"
h delete -f o2 >/dev/null 2>&1
# relative --pid-file is relative to the caller's cwd
make_sig o3
(cd "$T" && timeout 30 "$HUSK" --root "$ROOT" create -b o3 --pid-file rel.pid o3 </dev/null >/dev/null 2>&1)
is "relative -b and --pid-file: create exits 0" 0 $?
is "relative --pid-file lands in the cwd" "$(state_field o3 pid)" "$(cat "$T/rel.pid" 2>/dev/null)"
is "relative -b: state bundle is absolute" "$T/o3" "$(state_field o3 bundle)"
h delete -f o3 >/dev/null 2>&1

# ---------------------------------------------------------------- --log / --log-format json
log=$T/log.json
hc --log "$log" --log-format json state nosuch
is "logged error: exits 1" 1 "$rc"
like "logged error: still on stderr" 'does not exist' "$err"
check "log file created" test -s "$log"
check "every log line is a JSON object" jq_ok -s 'all(type == "object")' "$log"
is "log lines have level, msg, time" true "$(jq -s -c 'all(has("level") and has("msg") and has("time"))' "$log")"
last=$(jq -s -c '[.[] | select(.level == "error")] | last' "$log")
like "last error line names the problem" 'does not exist' "$(jq -r .msg <<<"$last")"
like "log time is RFC3339" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$' \
  "$(jq -r .time <<<"$last")"
n1=$(wc -l <"$log")
hc --log="$log" --log-format=json start nosuch2
check "log file is appended to" test "$(wc -l <"$log")" -gt "$n1"
like "last error line is the latest error" 'nosuch2' "$(jq -s -r '[.[] | select(.level == "error")] | last | .msg' "$log")"
# a create failure: the last error line must say what was wrong
make_bundle lbad true
edit_config lbad '.process.args = ["/no/such/binary-x"]'
h --log "$log" --log-format json create -b "$T/lbad" lbad </dev/null >/dev/null 2>&1
like "create failure: last error line names the missing binary" 'binary-x' \
  "$(jq -s -r '[.[] | select(.level == "error")] | last | .msg' "$log")"
hc --log-format json state nosuch3
like "--log-format json without --log: JSON error on stderr" 'does not exist' "$(jq -r .msg <<<"$(tail -1 <<<"$err")" 2>/dev/null)"
hc --log-format yaml state nosuch
check "invalid --log-format is refused" test "$rc" -ne 0

# ---------------------------------------------------------------- spec
sd=$T/specdir
mkdir -p "$sd"
(cd "$sd" && timeout 30 "$HUSK" spec >"$T/spec.out" 2>&1)
is "spec exits 0" 0 $?
check "spec writes a valid config.json in the cwd" valid_json "$sd/config.json"
is "spec: ociVersion" 1.3.0 "$(jq -r .ociVersion "$sd/config.json")"
is "spec: runc-like default process" '{"args":["sh"],"terminal":true,"cwd":"/"}' \
  "$(jq -c '.process | {args, terminal, cwd}' "$sd/config.json")"
is "spec: root.path rootfs" rootfs "$(jq -r .root.path "$sd/config.json")"
sum=$(md5sum <"$sd/config.json")
(cd "$sd" && timeout 30 "$HUSK" spec >"$T/spec.out" 2>&1)
is "spec refuses when config.json exists (exit 1)" 1 $?
like "spec refusal says the file exists" 'exists' "$(cat "$T/spec.out")"
is "spec refusal leaves the file alone" "$sum" "$(md5sum <"$sd/config.json")"
mkdir -p "$T/specb"
hx spec -b "$T/specb"
is "spec -b DIR exits 0" 0 "$rc"
check "spec -b DIR writes DIR/config.json" valid_json "$T/specb/config.json"
mkdir -p "$T/specr"
hx spec --rootless --bundle "$T/specr"
is "spec --rootless exits 0" 0 "$rc"
is "spec --rootless: has a user namespace" 1 "$(jq '[.linux.namespaces[] | select(.type == "user")] | length' "$T/specr/config.json")"
is "spec --rootless: no network namespace (runc)" 0 "$(jq '[.linux.namespaces[] | select(.type == "network")] | length' "$T/specr/config.json")"
is "spec --rootless: uidMappings map container root to the caller" "0:$(id -u):1" \
  "$(jq -r '.linux.uidMappings[0] | "\(.containerID):\(.hostID):\(.size)"' "$T/specr/config.json")"
is "spec --rootless: gidMappings map container root to the caller" "0:$(id -g):1" \
  "$(jq -r '.linux.gidMappings[0] | "\(.containerID):\(.hostID):\(.size)"' "$T/specr/config.json")"
is "spec without --rootless: no user namespace" 0 "$(jq '[.linux.namespaces[] | select(.type == "user")] | length' "$sd/config.json")"

# ---------------------------------------------------------------- features
hx features
is "features exits 0" 0 "$rc"
check "features is valid JSON" valid_json <<<"$out"
f=$out
is "features ociVersionMin" 1.0.0 "$(jq -r .ociVersionMin <<<"$f")"
is "features ociVersionMax" 1.3.0 "$(jq -r .ociVersionMax <<<"$f")"
is "features hooks" '["createContainer","createRuntime","poststart","poststop","prestart","startContainer"]' \
  "$(jq -c '.hooks | sort' <<<"$f")"
is "features linux.namespaces" '["cgroup","ipc","mount","network","pid","time","user","uts"]' \
  "$(jq -c '.linux.namespaces | sort' <<<"$f")"
is "features capabilities include the common ones" true \
  "$(jq '.linux.capabilities | (index("CAP_SYS_ADMIN") != null) and (index("CAP_NET_ADMIN") != null) and (index("CAP_CHOWN") != null) and (index("CAP_KILL") != null)' <<<"$f")"
is "features seccomp enabled" true "$(jq '.linux.seccomp.enabled' <<<"$f")"
is "features seccomp.actions include the spec ones" true \
  "$(jq '.linux.seccomp.actions as $a | ["SCMP_ACT_ALLOW","SCMP_ACT_ERRNO","SCMP_ACT_KILL","SCMP_ACT_KILL_PROCESS","SCMP_ACT_TRAP","SCMP_ACT_TRACE","SCMP_ACT_LOG","SCMP_ACT_NOTIFY"] | all(. as $x | $a | index($x) != null)' <<<"$f")"
is "features seccomp.operators" '["SCMP_CMP_EQ","SCMP_CMP_GE","SCMP_CMP_GT","SCMP_CMP_LE","SCMP_CMP_LT","SCMP_CMP_MASKED_EQ","SCMP_CMP_NE"]' \
  "$(jq -c '.linux.seccomp.operators | sort' <<<"$f")"
is "features mountOptions include bind and rro" true "$(jq '.mountOptions | (index("bind") != null) and (index("rro") != null)' <<<"$f")"
like "features uses runc's 4-space indent" '^    "ociVersionMin"' "$(sed -n 2p <<<"$f")"

# ---------------------------------------------------------------- kill: signal spellings reach the init
for s in USR1 SIGUSR1 usr1 sigusr1 SigUsr1 10; do
  id=s$s
  start_sig "$id"
  hc kill "$id" "$s"
  is "kill $s exits 0" 0 "$rc"
  wait_for test -s "$T/$id/rootfs/tmp/sig"
  is "kill $s delivers SIGUSR1" 10 "$(sig_got "$id")"
  h delete -f "$id" >/dev/null 2>&1
done
start_sig shup
hc kill shup HUP
is "kill HUP delivers 1" 1 "$(wait_for test -s "$T/shup/rootfs/tmp/sig"; sig_got shup)"
h delete -f shup >/dev/null 2>&1
start_sig srt
hc kill srt RTMIN+2
is "kill RTMIN+2 delivers SIGRTMIN+2" $(($(kill -l RTMIN) + 2)) "$(wait_for test -s "$T/srt/rootfs/tmp/sig"; sig_got srt)"
h delete -f srt >/dev/null 2>&1

start_sig sbad
for s in NOSUCH SIGFOO 99 -5 1x ''; do
  hc kill sbad "$s"
  is "kill with invalid signal '$s' exits 1" 1 "$rc"
  check "kill '$s': one-line error" one_line "$err"
done
sleep 0.2
is "invalid signals reach nothing" "" "$(sig_got sbad)"
is "invalid signals: still running" running "$(state_field sbad status)"

# kill --all: every process of the cgroup, not only the init
make_bundle kall sh -c 'sleep 1000 & sleep 1001 & exec husk-test-init sigwait /tmp/sig'
create_c kall && h start kall >/dev/null 2>&1 && wait_for sig_ready kall
hc ps --format json kall
pids=$(jq -r '.[]' <<<"$out" 2>/dev/null | tr '\n' ' ')
is "kall: three processes" 3 "$(jq length <<<"$out" 2>/dev/null)"
hc kill --all kall TERM
is "kill --all exits 0" 0 "$rc"
check "kill --all: init got SIGTERM" wait_for test -s "$T/kall/rootfs/tmp/sig"
is "kill --all: init got 15" 15 "$(sig_got kall)"
allgone() { local p; for p in $pids; do alive "$p" && return 1; done; return 0; }
check "kill --all: every process of the container got it" wait_for allgone
h delete -f kall >/dev/null 2>&1
start_sig kall2
hc kill -a kall2 9
is "kill -a ID 9 exits 0" 0 "$rc"
check "kill -a 9: stopped" wait_for is_status kall2 stopped
h delete -f kall2 >/dev/null 2>&1
start_sig kall3
hc kill -all kall3 KILL
is "kill -all (single dash) exits 0" 0 "$rc"
check "kill -all KILL: stopped" wait_for is_status kall3 stopped
h delete -f kall3 >/dev/null 2>&1

# ---------------------------------------------------------------- ps
make_bundle ps1 sh -c 'sleep 1000 & exec husk-test-init sigwait /tmp/sig'
create_c ps1 && h start ps1 >/dev/null 2>&1 && wait_for sig_ready ps1
ipid=$(state_field ps1 pid)
hc ps --format json ps1
is "ps --format json exits 0" 0 "$rc"
is "ps json is an array of numbers" true "$(jq 'type == "array" and all(type == "number")' <<<"$out")"
is "ps json contains the init's pid" true "$(jq --argjson p "$ipid" 'index($p) != null' <<<"$out")"
is "ps json: the init and its child" 2 "$(jq length <<<"$out")"
spid=$(jq -r --argjson p "$ipid" 'map(select(. != $p))[0]' <<<"$out")
is "ps json: the other pid is the sleep" sleep "$(cat /proc/$spid/comm 2>/dev/null)"
hc ps -f json ps1
is "ps -f json" 2 "$(jq length <<<"$out")"
hc ps ps1
is "ps (table) exits 0" 0 "$rc"
like "ps table header has PID" 'PID' "$(head -1 <<<"$out")"
is "ps table: one line per container process" 2 "$(tail -n +2 <<<"$out" | grep -c .)"
like "ps table: the init's line" "^[^ ]+ +$ipid " "$(tail -n +2 <<<"$out")"
hc ps ps1 -o pid,comm
like "ps with ps options: the sleep line" "^ *$spid +sleep$" "$(grep sleep <<<"$out")"

# ---------------------------------------------------------------- pause / resume
make_bundle pz sh -c 'i=0; while :; do i=$((i+1)); echo $i >/tmp/count; sleep 0.05; done'
create_c pz && h start pz >/dev/null 2>&1
wait_for test -s "$T/pz/rootfs/tmp/count"
hc pause pz
is "pause exits 0" 0 "$rc"
is "pause: state paused" paused "$(state_field pz status)"
hc list --format json
is "pause: list shows paused" paused "$(jq -r '.[] | select(.id == "pz") | .status' <<<"$out")"
c1=$(cat "$T/pz/rootfs/tmp/count"); sleep 0.5; c2=$(cat "$T/pz/rootfs/tmp/count")
is "pause: the container makes no progress" "$c1" "$c2"
hc pause pz
is "pause of a paused container exits 1" 1 "$rc"
hc resume pz
is "resume exits 0" 0 "$rc"
is "resume: state running" running "$(state_field pz status)"
sleep 0.5; c3=$(cat "$T/pz/rootfs/tmp/count")
check "resume: the container makes progress again" test "$c3" -gt "$c2"
hc resume pz
is "resume of a running container exits 1" 1 "$rc"
hc pause pz
hc delete pz
is "delete of a paused container without -f exits 1" 1 "$rc"
like "delete paused: not stopped" 'cannot delete container pz that is not stopped: paused' "$err"
hc kill pz KILL
is "kill KILL on a paused container exits 0" 0 "$rc"
check "kill KILL on a paused container: it stops" wait_for is_status pz stopped
hc delete pz
is "delete after that exits 0" 0 "$rc"
check "paused+killed container: nothing left" no_leftovers pz
make_sig pz2
create_c pz2 && h start pz2 >/dev/null 2>&1
h pause pz2 >/dev/null 2>&1
hc delete -f pz2
is "delete -f of a paused container exits 0" 0 "$rc"
check "delete -f paused: nothing left" no_leftovers pz2
hc pause nosuch
like "pause unknown: does not exist" 'does not exist' "$err"
make_bundle pz3 true
create_c pz3 && h start pz3 >/dev/null 2>&1
wait_for is_status pz3 stopped
hc pause pz3
is "pause of a stopped container exits 1" 1 "$rc"
h delete -f pz3 >/dev/null 2>&1

h delete -f sbad >/dev/null 2>&1
h delete -f ps1 >/dev/null 2>&1
done_testing
