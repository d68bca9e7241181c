#!/bin/bash
# OCI hooks (runtime-spec config.md "POSIX-platform Hooks", cli-contract §7):
# each kind runs at its lifecycle step, in order, in the right namespaces,
# with the state JSON on stdin, its args and env; timeouts and failures.
. "$(dirname "$0")/lib.sh"

h() { timeout -k 5 30 "$HUSK" --root "$ROOT" "$@"; }
hc() { out=$(h "$@" 2>"$T/.stderr" </dev/null); rc=$?; err=$(cat "$T/.stderr"); }
create_c() { local id=$1; shift; h create -b "$T/$id" "$@" "$id" </dev/null >"$T/$id.out" 2>"$T/$id.err"; }
is_status() { [ "$(state_field "$1" status)" = "$2" ]; }
no_proc() { ! pgrep -f -- "$1" >/dev/null; }
hostns() { readlink "/proc/self/ns/$1"; }

# hook.sh DIR KIND [ARGS...]: records what the hook sees under DIR/KIND.*
cat >"$T/hook.sh" <<'EOF'
#!/bin/sh
d=$1; k=$2
cat >"$d/$k.json"
echo "$k" >>"$d/order"
printf '%s\n' "$@" >"$d/$k.args"
env >"$d/$k.env"
readlink /proc/self/ns/uts >"$d/$k.uts"
readlink /proc/self/ns/mnt >"$d/$k.mnt"
cat /proc/sys/kernel/hostname >"$d/$k.hostname"
pid=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "$d/$k.json")
cat "/proc/$pid/comm" >"$d/$k.comm" 2>/dev/null
[ -e "${d%.hooks}/rootfs/tmp/startContainer.json" ] && echo yes >"$d/$k.sc_seen"
[ -e "$d/$k.noisy" ] && { echo "stdout-of-hook-$k"; echo "stderr-of-hook-$k" >&2; }
[ -e "$d/$k.fail" ] && { echo "hook $k failing on purpose" >&2; exit 7; }
exit 0
EOF
chmod 755 "$T/hook.sh"

# hook JSON for the host script: hk DIR KIND [extra args...]
hk() {
  local d=$1 k=$2
  shift 2
  jq -cn --arg p "$T/hook.sh" --arg d "$d" --arg k "$k" '{path: $p, args: ([$p, $d, $k] + $ARGS.positional), env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOOK_KIND=\($k)"]}' --args -- "$@"
}
# the startContainer hook lives in the container (its path resolves there)
sc_hook() {
  cat >"$T/$1/rootfs/bin/sc-hook" <<'EOF'
#!/bin/sh
cat >/tmp/startContainer.json
hostname >/tmp/startContainer.hostname
readlink /proc/self/ns/mnt >/tmp/startContainer.mnt
printf '%s\n' "$@" >/tmp/startContainer.args
echo "$SC_ENV" >/tmp/startContainer.env
[ -e /tmp/startContainer.fail ] && { echo "startContainer failing on purpose" >&2; exit 9; }
exit 0
EOF
  chmod 755 "$T/$1/rootfs/bin/sc-hook"
}
# all_hooks NAME: a bundle with one host hook of each kind (two createRuntime), recording to $T/NAME.hooks
all_hooks() {
  local n=$1 d=$T/$1.hooks
  mkdir -p "$d"
  edit_config "$n" '.hostname = "hook-ct" | .hooks = {
      prestart: [$pre], createRuntime: [$cr1, $cr2], createContainer: [$cc],
      startContainer: [{path: "/bin/sc-hook", args: ["sc-hook", "in", "container"], env: ["SC_ENV=sc-env-ok"]}],
      poststart: [$ps], poststop: [$pst]}' \
    --argjson pre "$(hk "$d" prestart 'a b' c)" --argjson cr1 "$(hk "$d" createRuntime)" \
    --argjson cr2 "$(hk "$d" createRuntime2)" --argjson cc "$(hk "$d" createContainer)" \
    --argjson ps "$(hk "$d" poststart)" --argjson pst "$(hk "$d" poststop)"
  sc_hook "$n"
}
jf() { jq -r ".$2" "$1" 2>/dev/null; }

# ================================================================ every kind, create/start/delete
make_bundle hk1 husk-test-init sigwait /tmp/sig
all_hooks hk1
D=$T/hk1.hooks
HUSK_TEST_LEAK=leaked h create -b "$T/hk1" hk1 </dev/null >"$T/hk1.out" 2>"$T/hk1.err"
is "create with hooks exits 0" 0 $?
pid=$(state_field hk1 pid)
is "after create: prestart, createRuntime (x2), createContainer ran, in order" \
  "prestart createRuntime createRuntime2 createContainer" "$(tr '\n' ' ' <"$D/order" | sed 's/ $//')"
check "after create: startContainer has not run" test ! -e "$T/hk1/rootfs/tmp/startContainer.json"
check "after create: poststart has not run" test ! -e "$D/poststart.json"
for k in prestart createRuntime createContainer; do
  is "$k: stdin state id" hk1 "$(jf "$D/$k.json" id)"
  # "created", as crun sends and runtime-tools' hooks_stdin requires (runc sends "creating")
  is "$k: stdin state status created" created "$(jf "$D/$k.json" status)"
  is "$k: stdin state pid is the init's" "$pid" "$(jf "$D/$k.json" pid)"
  is "$k: stdin state bundle" "$T/hk1" "$(jf "$D/$k.json" bundle)"
  is "$k: stdin ociVersion" 1.3.0 "$(jf "$D/$k.json" ociVersion)"
done
is "prestart: args passed" "$(printf '%s\n' "$D" prestart 'a b' c)" "$(cat "$D/prestart.args")"
is "prestart: env is the hook's env" "HOOK_KIND=prestart" "$(grep '^HOOK_KIND=' "$D/prestart.env")"
is "prestart: the runtime's env does not leak into hooks" "" "$(grep '^HUSK_TEST_LEAK=' "$D/prestart.env")"
is "prestart: runtime mount namespace" "$(hostns mnt)" "$(cat "$D/prestart.mnt")"
is "createRuntime: runtime mount namespace" "$(hostns mnt)" "$(cat "$D/createRuntime.mnt")"
is "createRuntime: runtime uts namespace" "$(hostns uts)" "$(cat "$D/createRuntime.uts")"
is "createContainer: container mount namespace" "$(readlink /proc/$pid/ns/mnt)" "$(cat "$D/createContainer.mnt")"
is "createContainer: container uts namespace" "$(readlink /proc/$pid/ns/uts)" "$(cat "$D/createContainer.uts")"
is "createContainer: sees the container hostname" hook-ct "$(cat "$D/createContainer.hostname")"
check "createContainer: a host path ran (before pivot_root)" test -s "$D/createContainer.json"

hc start hk1
is "start with hooks exits 0" 0 "$rc"
check "poststart ran before start returned" test -s "$D/poststart.json"
is "after start: the whole order so far" \
  "prestart createRuntime createRuntime2 createContainer poststart" "$(tr '\n' ' ' <"$D/order" | sed 's/ $//')"
S=$T/hk1/rootfs/tmp
check "startContainer ran (its path resolved in the container)" test -s "$S/startContainer.json"
is "startContainer ran before poststart" yes "$(cat "$D/poststart.sc_seen" 2>/dev/null)"
check "startContainer had not run at createContainer time" test ! -e "$D/createContainer.sc_seen"
is "startContainer: stdin state status created" created "$(jf "$S/startContainer.json" status)"
is "startContainer: stdin state id" hk1 "$(jf "$S/startContainer.json" id)"
is "startContainer: stdin state pid is the init's (host pid)" "$pid" "$(jf "$S/startContainer.json" pid)"
is "startContainer: stdin state bundle" "$T/hk1" "$(jf "$S/startContainer.json" bundle)"
is "startContainer: hostname is the container's" hook-ct "$(cat "$S/startContainer.hostname")"
is "startContainer: container mount namespace" "$(readlink /proc/$pid/ns/mnt)" "$(cat "$S/startContainer.mnt")"
is "startContainer: args" "$(printf 'in\ncontainer')" "$(cat "$S/startContainer.args")"
is "startContainer: env" sc-env-ok "$(cat "$S/startContainer.env")"
is "poststart: stdin state status running" running "$(jf "$D/poststart.json" status)"
is "poststart: stdin state pid" "$pid" "$(jf "$D/poststart.json" pid)"
is "poststart: stdin state id" hk1 "$(jf "$D/poststart.json" id)"
is "poststart: stdin state bundle" "$T/hk1" "$(jf "$D/poststart.json" bundle)"
is "poststart: runs after the user process was exec'd" husk-test-init "$(cat "$D/poststart.comm")"
is "poststart: runtime mount namespace" "$(hostns mnt)" "$(cat "$D/poststart.mnt")"
check "poststop has not run while running" test ! -e "$D/poststop.json"

h kill hk1 KILL >/dev/null 2>&1
wait_for is_status hk1 stopped
check "poststop has not run before delete" test ! -e "$D/poststop.json"
hc delete hk1
is "delete with hooks exits 0" 0 "$rc"
check "poststop ran before delete returned" test -s "$D/poststop.json"
is "poststop: stdin state status stopped" stopped "$(jf "$D/poststop.json" status)"
is "poststop: stdin state id" hk1 "$(jf "$D/poststop.json" id)"
is "poststop: stdin state bundle" "$T/hk1" "$(jf "$D/poststop.json" bundle)"
is "poststop: pid 0 (stopped)" 0 "$(jf "$D/poststop.json" pid)"
is "poststop: runtime mount namespace" "$(hostns mnt)" "$(cat "$D/poststop.mnt")"
check "poststop: the container is already deleted" no_leftovers hk1
is "every hook ran once, in lifecycle order" \
  "prestart createRuntime createRuntime2 createContainer poststart poststop" "$(tr '\n' ' ' <"$D/order" | sed 's/ $//')"

# ================================================================ run: the same hooks, poststop at the end
make_bundle hkr sh -c 'echo ran'
all_hooks hkr
hc run -b "$T/hkr" hkr
is "run with hooks exits 0" 0 "$rc"
is "run: every hook ran in order" \
  "prestart createRuntime createRuntime2 createContainer poststart poststop" "$(tr '\n' ' ' <"$T/hkr.hooks/order" | sed 's/ $//')"
check "run: startContainer ran" test -s "$T/hkr/rootfs/tmp/startContainer.json"
check "run: nothing left" no_leftovers hkr

# ================================================================ hook output does not reach the caller
# (runc captures a hook's stdout/stderr; with containerd, create's stdout is the container's log)
make_bundle hkout true
mkdir -p "$T/hkout.hooks"
touch "$T/hkout.hooks/createRuntime.noisy" "$T/hkout.hooks/poststart.noisy"
edit_config hkout '.hooks = {createRuntime: [$cr], poststart: [$ps]}' \
  --argjson cr "$(hk "$T/hkout.hooks" createRuntime)" --argjson ps "$(hk "$T/hkout.hooks" poststart)"
h create -b "$T/hkout" hkout </dev/null >"$T/hkout.out" 2>"$T/hkout.err"
is "noisy hook: create exits 0" 0 $?
unlike "a createRuntime hook's stdout does not reach create's stdout" 'stdout-of-hook' "$(cat "$T/hkout.out")"
unlike "a createRuntime hook's stderr does not reach create's stderr" 'stderr-of-hook' "$(cat "$T/hkout.err")"
hc start hkout
unlike "a poststart hook's output does not reach start's stdout" 'of-hook' "$out"
h delete -f hkout >/dev/null 2>&1

# ================================================================ a hook without env gets an empty environment
make_bundle hkenv true
mkdir -p "$T/hkenv.hooks"
edit_config hkenv '.hooks.createRuntime = [{path: $p, args: [$p, $d, "noenv"]}]' --arg p "$T/hook.sh" --arg d "$T/hkenv.hooks"
HUSK_TEST_LEAK=leaked h create -b "$T/hkenv" hkenv </dev/null >/dev/null 2>&1
is "hook without env: create exits 0" 0 $?
is "hook without env: the runtime's env does not leak" "" "$(grep '^HUSK_TEST_LEAK=' "$T/hkenv.hooks/noenv.env")"
h delete -f hkenv >/dev/null 2>&1

# ================================================================ timeout
make_bundle hkto sleep 4242
edit_config hkto '.hooks.createRuntime = [{path: "/bin/sleep", args: ["sleep", "4343"], timeout: 1}]'
start=$(date +%s)
h create -b "$T/hkto" hkto </dev/null >/dev/null 2>"$T/hkto.err"
is "hook timeout: create fails (exit 1)" 1 $?
check "hook timeout: it took about the timeout, not the sleep" test $(($(date +%s) - start)) -lt 10
like "hook timeout: the error says it timed out" 'createRuntime.*(timed out|timeout)' "$(cat "$T/hkto.err")"
check "hook timeout: the hook was killed" wait_for no_proc 'sleep 4343'
check "hook timeout: nothing left" no_leftovers hkto
check "hook timeout: no container process left" wait_for no_proc "$T/hkto"

# ================================================================ failing hooks
# prestart fails: create fails, later hooks do not run, nothing left
make_bundle hkpre sleep 4242
mkdir -p "$T/hkpre.hooks"
touch "$T/hkpre.hooks/prestart.fail"
edit_config hkpre '.hooks = {prestart: [$pre], createRuntime: [$cr]}' \
  --argjson pre "$(hk "$T/hkpre.hooks" prestart)" --argjson cr "$(hk "$T/hkpre.hooks" createRuntime)"
h create -b "$T/hkpre" hkpre </dev/null >/dev/null 2>"$T/hkpre.err"
is "failing prestart: create exits 1" 1 $?
like "failing prestart: the error names the hook" 'prestart' "$(cat "$T/hkpre.err")"
# runc runs hooks with stdout/stderr captured and puts them in the error:
# "error running prestart hook #0: exit status 7, stdout: , stderr: ..."
is "failing prestart: one line on stderr (the hook's output is inside husk's error)" 1 "$(grep -c . "$T/hkpre.err")"
like "failing prestart: husk's error carries the hook's stderr" 'prestart.*failing on purpose' "$(grep prestart "$T/hkpre.err" | grep -v '^hook prestart failing')"
check "failing prestart: later hooks did not run" test ! -e "$T/hkpre.hooks/createRuntime.json"
check "failing prestart: nothing left (state, cgroup)" no_leftovers hkpre
check "failing prestart: no process left" wait_for no_proc "$T/hkpre"

# createContainer fails: same
make_bundle hkcc sleep 4242
mkdir -p "$T/hkcc.hooks"
touch "$T/hkcc.hooks/createContainer.fail"
edit_config hkcc '.hooks = {createContainer: [$cc], poststop: [$pst]}' \
  --argjson cc "$(hk "$T/hkcc.hooks" createContainer)" --argjson pst "$(hk "$T/hkcc.hooks" poststop)"
h create -b "$T/hkcc" hkcc </dev/null >/dev/null 2>"$T/hkcc.err"
is "failing createContainer: create exits 1" 1 $?
like "failing createContainer: the error names the hook" 'createContainer' "$(cat "$T/hkcc.err")"
check "failing createContainer: nothing left" no_leftovers hkcc
check "failing createContainer: no process left" wait_for no_proc "$T/hkcc"

# a hook that cannot be executed
make_bundle hknx sleep 4242
edit_config hknx '.hooks.createRuntime = [{path: "/no/such/hook-4242"}]'
h create -b "$T/hknx" hknx </dev/null >/dev/null 2>"$T/hknx.err"
is "missing hook binary: create exits 1" 1 $?
like "missing hook binary: the error names it" 'hook-4242' "$(cat "$T/hknx.err")"
check "missing hook binary: nothing left" no_leftovers hknx

# startContainer fails: start fails, the user process never runs
make_bundle hksc sh -c 'echo user-process-ran >/tmp/ran'
edit_config hksc '.hooks.startContainer = [{path: "/bin/sc-hook"}]'
sc_hook hksc
touch "$T/hksc/rootfs/tmp/startContainer.fail"
create_c hksc
hc start hksc
is "failing startContainer: start exits 1" 1 "$rc"
like "failing startContainer: the error names the hook" 'startContainer' "$err"
check "failing startContainer: the user process never ran" test ! -e "$T/hksc/rootfs/tmp/ran"
check "failing startContainer: the container is stopped" wait_for is_status hksc stopped
h delete -f hksc >/dev/null 2>&1

# poststart fails: start fails (runtime-spec 1.3) and the container does not keep running
make_bundle hkps sleep 4242
mkdir -p "$T/hkps.hooks"
touch "$T/hkps.hooks/poststart.fail"
edit_config hkps '.hooks.poststart = [$ps]' --argjson ps "$(hk "$T/hkps.hooks" poststart)"
create_c hkps
hc start hkps
is "failing poststart: start exits 1" 1 "$rc"
like "failing poststart: the error names the hook" 'poststart' "$err"
check "failing poststart: the container is stopped" wait_for is_status hkps stopped
h delete -f hkps >/dev/null 2>&1
check "failing poststart: delete -f leaves nothing" no_leftovers hkps

# poststop fails: only a warning, delete succeeds, later poststop hooks still run
make_bundle hkpst true
mkdir -p "$T/hkpst.hooks"
touch "$T/hkpst.hooks/poststop.fail"
edit_config hkpst '.hooks.poststop = [$a, $b]' \
  --argjson a "$(hk "$T/hkpst.hooks" poststop)" --argjson b "$(hk "$T/hkpst.hooks" poststop2)"
create_c hkpst && h start hkpst >/dev/null 2>&1
wait_for is_status hkpst stopped
hc delete hkpst
is "failing poststop: delete exits 0" 0 "$rc"
like "failing poststop: a warning is printed" 'poststop' "$err"
check "failing poststop: the container is deleted" no_leftovers hkpst
check "failing poststop: it did run" test -s "$T/hkpst.hooks/poststop.json"
check "failing poststop: the next poststop hook still runs" test -s "$T/hkpst.hooks/poststop2.json"

done_testing
