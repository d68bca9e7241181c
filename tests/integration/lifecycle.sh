#!/bin/bash
# Container lifecycle as a user (or containerd/podman) drives it:
# create/start/state/kill/delete/run/list and their errors (cli-contract §2, §3, §7).
. "$(dirname "$0")/lib.sh"

# Every husk call is bounded: a runtime that blocks must fail a test, not hang the suite.
h() { timeout -k 5 30 "$HUSK" --root "$ROOT" "$@"; }
# hc ARGS...: a command that starts no container; sets $out (stdout), $err (stderr), $rc
hc() { out=$(h "$@" 2>"$T/.stderr" </dev/null); rc=$?; err=$(cat "$T/.stderr"); }
# create_c ID [create options]: bundle $T/ID; the init's stdio go to $T/ID.out and $T/ID.err
create_c() { local id=$1; shift; h create -b "$T/$id" "$@" "$id" </dev/null >"$T/$id.out" 2>"$T/$id.err"; }
is_status() { [ "$(state_field "$1" status)" = "$2" ]; }
cg_exists() { find /sys/fs/cgroup -maxdepth 5 -type d -path "*${CGPARENT}/$1" 2>/dev/null | grep -q .; }
one_line() { [ -n "$1" ] && [ "$(printf '%s\n' "$1" | wc -l)" = 1 ]; }
# a container whose init reports the first signal it gets: make_sig ID
make_sig() { make_bundle "$1" husk-test-init sigwait /tmp/sig; }
sig_ready() { test -e "$T/$1/rootfs/tmp/sig.ready"; }
sig_got() { cat "$T/$1/rootfs/tmp/sig" 2>/dev/null; }
alive() { [ -n "$1" ] && [ "$1" != 0 ] && [ -e "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
rfc3339nano='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{1,9}(Z|[+-][0-9]{2}:[0-9]{2})$'

# ---------------------------------------------------------------- create
make_sig c1
create_c c1 --pid-file "$T/c1.pid"
is "create exits 0" 0 $?
# the pid file must exist when create returns (shims read it right away)
check "pid file exists when create returns" test -s "$T/c1.pid"
pidfile=$(cat "$T/c1.pid" 2>/dev/null)
like "pid file holds only digits, no newline" '^[0-9]+$' "$(od -An -c "$T/c1.pid" | tr -d ' ')"
check "pid file has no trailing newline" test "$(tail -c1 "$T/c1.pid" | od -An -c | tr -d ' ')" != '\n'
st=$(h state c1)
is "state after create: created" created "$(jq -r .status <<<"$st")"
pid=$(jq -r .pid <<<"$st")
check "state pid > 0 after create" test "$pid" -gt 0
is "pid file == state pid" "$pid" "$pidfile"
check "/proc/<pid> of the created init exists" test -d "/proc/$pid"
is "state keys are exactly the runtime-spec ones" \
  '["bundle","created","id","ociVersion","owner","pid","rootfs","status"]' "$(jq -c 'keys' <<<"$st")"
is "state id" c1 "$(jq -r .id <<<"$st")"
is "state ociVersion" 1.3.0 "$(jq -r .ociVersion <<<"$st")"
is "state bundle is the absolute bundle path" "$T/c1" "$(jq -r .bundle <<<"$st")"
is "state rootfs is the absolute rootfs path" "$T/c1/rootfs" "$(jq -r .rootfs <<<"$st")"
like "state created is RFC3339Nano" "$rfc3339nano" "$(jq -r .created <<<"$st")"
check "a created container has a cgroup" cg_exists c1
check "the init has not run process.args yet (no ready file)" test ! -e "$T/c1/rootfs/tmp/sig.ready"

# ---------------------------------------------------------------- start
hc start c1
is "start exits 0" 0 "$rc"
is "state after start: running" running "$(state_field c1 status)"
is "start keeps the init pid" "$pid" "$(state_field c1 pid)"
check "the container process runs after start" wait_for sig_ready c1
hc start c1
is "start twice exits 1" 1 "$rc"
like "start twice: already running" 'cannot start an already running container' "$err"

# ---------------------------------------------------------------- kill (default SIGTERM)
hc kill c1
is "kill (default signal) exits 0" 0 "$rc"
check "the init got a signal" wait_for test -s "$T/c1/rootfs/tmp/sig"
is "kill sends SIGTERM by default" 15 "$(sig_got c1)"
check "state becomes stopped after kill" wait_for is_status c1 stopped
is "stopped container has pid 0" 0 "$(state_field c1 pid)"
hc start c1
is "start on stopped exits 1" 1 "$rc"
like "start on stopped: has stopped" 'cannot start a container that has stopped' "$err"
hc kill c1 KILL
is "kill on stopped exits 1" 1 "$rc"
like "kill on stopped: container not running" 'container not running' "$err"

# ---------------------------------------------------------------- delete
check "cgroup still there before delete" cg_exists c1
hc delete c1
is "delete stopped exits 0" 0 "$rc"
check "delete removes state dir and cgroup" no_leftovers c1
hc state c1
is "state after delete exits 1" 1 "$rc"
like "state after delete: does not exist" 'does not exist' "$err"

# ---------------------------------------------------------------- kill: KILL 9 SIGKILL sigkill
for s in KILL 9 SIGKILL sigkill; do
  id=k$s
  make_sig "$id"
  create_c "$id" && h start "$id" >/dev/null 2>&1 && wait_for sig_ready "$id"
  p=$(state_field "$id" pid)
  hc kill "$id" "$s"
  is "kill $s exits 0" 0 "$rc"
  if wait_for is_status "$id" stopped; then ok "kill $s: stopped"; else not_ok "kill $s: stopped"; diag "status: $(state_field "$id" status)"; fi
  is "kill $s: the init was not able to catch it" "" "$(sig_got "$id")"
  check "kill $s: the init is gone" wait_for eval "! alive $p"
  is "kill $s: pid 0 when stopped" 0 "$(state_field "$id" pid)"
  h delete "$id" >/dev/null 2>&1
  check "kill $s: delete leaves nothing" no_leftovers "$id"
done

# ---------------------------------------------------------------- run exit codes
make_bundle r3 sh -c 'echo out-r3; exit 3'
run_container r3
is "run exits with the container status (3)" 3 "$rc"
like "run: container output reaches the caller" 'out-r3' "$out"
check "run deletes the container afterwards" no_leftovers r3

make_bundle r0 true
run_container r0
is "run of a successful process exits 0" 0 "$rc"

# killed from outside with SIGKILL -> 128+9.  runc answers state/kill while
# `run` waits in the foreground; so must husk.
make_bundle r9 sh -c 'touch /tmp/ready; exec sleep 100'
"$HUSK" --root "$ROOT" run -b "$T/r9" r9 </dev/null >"$T/r9.out" 2>&1 &
bg=$!
wait_for test -e "$T/r9/rootfs/tmp/ready"
st=$(timeout 3 "$HUSK" --root "$ROOT" state r9 2>&1)
is "state of a container whose foreground run is going answers (exit 0)" 0 $?
is "state of a container run in the foreground: running" running "$(jq -r .status <<<"$st" 2>/dev/null)"
timeout 3 "$HUSK" --root "$ROOT" kill r9 KILL >/dev/null 2>&1
is "kill on a container run in the foreground exits 0" 0 $?
# if `husk kill` could not do it, kill the cgroup's processes so run returns
for p in $(cat /sys/fs/cgroup/unified${CGPARENT}/r9/cgroup.procs 2>/dev/null); do kill -KILL "$p"; done
timeout 20 tail --pid=$bg -f /dev/null
wait $bg
is "run of a container killed by SIGKILL exits 137" 137 $?
check "run cleans up a killed container" wait_for no_leftovers r9

# the container kills itself (no pid namespace, so the signal is not ignored by pid 1)
make_bundle rself sh -c 'kill -KILL $$'
edit_config rself '.linux.namespaces |= map(select(.type != "pid"))'
run_container rself
is "run: process killing itself with SIGKILL exits 137" 137 "$rc"
make_bundle rterm sh -c 'kill -TERM $$'
edit_config rterm '.linux.namespaces |= map(select(.type != "pid"))'
run_container rterm
is "run: process killing itself with SIGTERM exits 143" 143 "$rc"

# run forwards signals it gets to the init
make_sig rfwd
"$HUSK" --root "$ROOT" run -b "$T/rfwd" rfwd </dev/null >"$T/rfwd.out" 2>&1 &
bg=$!
wait_for sig_ready rfwd
kill -USR1 $bg
timeout 20 tail --pid=$bg -f /dev/null
wait $bg
is "run forwards SIGUSR1 to the init and exits with its status" 138 $?
is "the init got the forwarded SIGUSR1" 10 "$(sig_got rfwd)"
check "run cleans up after a forwarded signal" no_leftovers rfwd

# ---------------------------------------------------------------- run -d, run --keep
make_bundle rd sleep 100
h run -d -b "$T/rd" rd </dev/null >"$T/rd.out" 2>&1
is "run -d exits 0" 0 $?
is "run -d: running" running "$(state_field rd status)"
rdpid=$(state_field rd pid)
check "run -d: the init is alive" alive "$rdpid"

# delete of a running container
hc delete rd
is "delete running without -f exits 1" 1 "$rc"
is "delete running: runc's message" "cannot delete container rd that is not stopped: running" "$err"
is "delete running without -f leaves it running" running "$(state_field rd status)"
hc delete -f rd
is "delete -f running exits 0" 0 "$rc"
check "delete -f: the init is gone" wait_for eval "! alive $rdpid"
check "delete -f: nothing left" no_leftovers rd

make_bundle rk sh -c 'echo kept; exit 4'
h run --keep -b "$T/rk" rk </dev/null >"$T/rk.out" 2>&1
is "run --keep exits with the status" 4 $?
is "run --keep: container kept, stopped" stopped "$(state_field rk status)"
is "run --keep: pid 0" 0 "$(state_field rk pid)"
check "run --keep: state dir kept" test -d "$ROOT/rk"
hc delete rk
is "delete of the kept container exits 0" 0 "$rc"
check "delete of the kept container leaves nothing" no_leftovers rk

# ---------------------------------------------------------------- delete of a created container
make_bundle dc sleep 100
create_c dc
dcpid=$(state_field dc pid)
check "created container's init alive" alive "$dcpid"
hc delete dc
is "delete of a created container exits 0" 0 "$rc"
check "delete of a created container kills the init" wait_for eval "! alive $dcpid"
check "delete of a created container leaves nothing" no_leftovers dc

# ---------------------------------------------------------------- unknown ids
hc state nosuch
is "state unknown exits 1" 1 "$rc"
like "state unknown: does not exist" 'does not exist' "$err"
check "state unknown: one-line error" one_line "$err"
is "state unknown: nothing on stdout" "" "$out"
hc delete nosuch
is "delete unknown exits 1" 1 "$rc"
like "delete unknown: does not exist" 'does not exist' "$err"
hc delete -f nosuch
is "delete -f unknown exits 0" 0 "$rc"
hc kill nosuch KILL
is "kill unknown exits 1" 1 "$rc"
like "kill unknown: does not exist" 'does not exist' "$err"
hc start nosuch
is "start unknown exits 1" 1 "$rc"
like "start unknown: does not exist" 'does not exist' "$err"

# ---------------------------------------------------------------- annotations in state
make_bundle an sleep 100
edit_config an '.annotations = {"org.example.a": "1", "b": "two"}'
create_c an
st=$(h state an)
is "state with annotations: keys" \
  '["annotations","bundle","created","id","ociVersion","owner","pid","rootfs","status"]' "$(jq -c 'keys' <<<"$st")"
is "state annotations values" '{"b":"two","org.example.a":"1"}' "$(jq -cS .annotations <<<"$st")"
h delete -f an >/dev/null 2>&1

# ---------------------------------------------------------------- config.json edits after create do not matter
make_bundle ed sh -c 'echo original-args'
edit_config ed '.hostname = "orig"'
create_c ed
edit_config ed '.process.args = ["sh", "-c", "echo changed-args"] | .hostname = "changed"'
h start ed >/dev/null 2>&1
check "edited config: container ran" wait_for is_status ed stopped
is "edited config after create: the original args run" original-args "$(cat "$T/ed.out")"
h delete ed >/dev/null 2>&1

# ---------------------------------------------------------------- two containers at once, list
make_sig la
make_sig lb
create_c la && h start la >/dev/null 2>&1
create_c lb
pa=$(state_field la pid)
pb=$(state_field lb pid)
check "two containers: distinct pids" test -n "$pa" -a -n "$pb" -a "$pa" != "$pb"
is "two containers: first running" running "$(state_field la status)"
is "two containers: second created" created "$(state_field lb status)"
hc list
is "list exits 0" 0 "$rc"
like "list table header" '^ID +PID +STATUS +BUNDLE +CREATED +OWNER' "$(head -1 <<<"$out")"
like "list table row for la" "^la +$pa +running +$T/la +[0-9T:.Z-]+ +root\$" "$(grep '^la ' <<<"$out")"
like "list table row for lb" "^lb +$pb +created +$T/lb " "$(grep '^lb ' <<<"$out")"
hc list -q
is "list -q: the ids, one a line" "$(printf 'la\nlb')" "$out"
hc list --format json
is "list --format json exits 0" 0 "$rc"
is "list json: array of 2" 2 "$(jq 'length' <<<"$out")"
is "list json: ids" '["la","lb"]' "$(jq -c '[.[].id] | sort' <<<"$out")"
is "list json: statuses" '["created","running"]' "$(jq -c '[.[].status] | sort' <<<"$out")"
is "list json: pid of la" "$pa" "$(jq -r '.[] | select(.id == "la") | .pid' <<<"$out")"
is "list json: state object keys" '["bundle","created","id","ociVersion","owner","pid","rootfs","status"]' \
  "$(jq -c '.[0] | keys' <<<"$out")"
hc list --format=json
is "list --format=json works too" 2 "$(jq 'length' <<<"$out")"
h kill la KILL >/dev/null 2>&1
wait_for is_status la stopped
hc list --format json
is "list json: stopped container has pid 0" 0 "$(jq -r '.[] | select(.id == "la") | .pid' <<<"$out")"
h delete -f la >/dev/null 2>&1
h delete -f lb >/dev/null 2>&1
hc list --format json
is "list json with no containers: null" null "$out"
hc list -q
is "list -q with no containers: empty" "" "$out"
hc list
is "list with no containers: only the header" 1 "$(grep -c . <<<"$out")"

# ---------------------------------------------------------------- state while create is busy
# createRuntime blocks until we let it go; meanwhile `state` must answer, not wait for create.
make_bundle busy sleep 100
cat >"$T/busy-hook" <<EOF
#!/bin/sh
touch $T/busy.in
i=0; while [ ! -e $T/busy.go ] && [ \$i -lt 200 ]; do sleep 0.05; i=\$((i+1)); done
EOF
chmod 755 "$T/busy-hook"
edit_config busy '.hooks.createRuntime = [{"path": $p}]' --arg p "$T/busy-hook"
h create -b "$T/busy" busy </dev/null >"$T/busy.out" 2>&1 &
cpid=$!
wait_for test -e "$T/busy.in"
srcs=""
for i in 1 2 3; do
  timeout 3 "$HUSK" --root "$ROOT" state busy >"$T/busy.st$i" 2>&1 &
  spids="${spids:-} $!"
done
for p in $spids; do wait "$p"; srcs="$srcs $?"; done
unlike "state during create answers within 3 s (no lock wait)" '124' "$srcs"
diag "state exit codes while create ran:$srcs" "$(cat "$T/busy.st1")"
touch "$T/busy.go"
wait $cpid
is "create finishes after concurrent state calls" 0 $?
is "state after a busy create: created" created "$(state_field busy status)"
h delete -f busy >/dev/null 2>&1
check "busy create: nothing left" no_leftovers busy

done_testing
