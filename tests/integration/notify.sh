#!/bin/bash
# NOTIFY_SOCKET (cli-contract §6, runc's notify_socket.go): with NOTIFY_SOCKET
# in husk's environment, create mounts <state>/notify read-only on
# /run/notify and points the process's NOTIFY_SOCKET there; start (and run)
# wait for READY= from the container and pass it to the host socket with
# MAINPID and an sd_notify barrier. The host end is a datagram receiver
# written here in python3, as systemd would read it (fds it is sent are
# dropped, which answers the barrier).
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null || { echo "1..0 # SKIP python3 is needed for the datagram receiver"; exit 0; }
[ -n "$HUSK_TEST_INIT" ] || { echo "1..0 # SKIP husk-test-init not built (set HUSK_TEST_INIT)"; exit 0; }

# host_recv NAME: the host's NOTIFY_SOCKET at $T/NAME.sock, read until the
# barrier (or 20 s) into $T/NAME.msgs; pid in $recv_pid.
host_recv() {
  dgram_recv "$T/$1.sock" "$T/$1.msgs" '^BARRIER=1' 20
  recv_pid=$dgram_pid
}

# --- create + start --------------------------------------------------------
make_bundle n1 sh -c 'echo "$NOTIFY_SOCKET" >/tmp/env; grep " /run/notify " /proc/mounts >/tmp/mnt;
  sleep 0.3; husk-test-init notify "STATUS=almost\nREADY=1"; sleep 100'
host_recv n1
NOTIFY_SOCKET=$T/n1.sock h create -b "$T/n1" n1 >"$T/n1.create" 2>&1 </dev/null
is "create with NOTIFY_SOCKET set succeeds" 0 "$?"
check "... the state dir has notify/" test -d "$ROOT/n1/notify"
NOTIFY_SOCKET=$T/n1.sock h start n1 >"$T/n1.start" 2>&1 </dev/null
is "start succeeds" 0 "$?"
out=$(cat "$T/n1.msgs")
pid=$(state_field n1 pid)
like "start returned after READY=1 reached the host socket" 'msg: READY=1\|MAINPID=' "$out"
like "... with MAINPID = the container's init" "MAINPID=$pid\\|" "$out"
like "... then an sd_notify barrier" 'msg: BARRIER=1' "$out"
check "... only the READY line is passed on (not STATUS=)" eval '! grep -q STATUS= "$T/n1.msgs"'
is "inside, NOTIFY_SOCKET points at the mounted socket" /run/notify/notify.sock "$(cat "$T/n1/rootfs/tmp/env")"
like "inside, /run/notify is a read-only mount" '(^|[ ,])ro([ ,]|$)' "$(cat "$T/n1/rootfs/tmp/mnt")"
wait "$recv_pid" 2>/dev/null
h delete -f n1 >/dev/null 2>&1
check "delete removes it all" no_leftovers n1

# --- the container exits without READY: start returns, nothing is sent ----
make_bundle n2 sh -c 'sleep 0.2; exit 0'
host_recv n2
NOTIFY_SOCKET=$T/n2.sock h create -b "$T/n2" n2 >/dev/null 2>&1 </dev/null
NOTIFY_SOCKET=$T/n2.sock timeout 20 "$HUSK" --root "$ROOT" start n2 >"$T/n2.start" 2>&1 </dev/null
is "start of a container that exits before READY returns 0" 0 "$?"
kill "$recv_pid" 2>/dev/null; wait "$recv_pid" 2>/dev/null
check "... and notifies nothing" eval '! grep -q "^msg:" "$T/n2.msgs"'
h delete -f n2 >/dev/null 2>&1

# --- run -d: MAINPID is the container; foreground run: husk itself ---------
make_bundle n3 sh -c 'husk-test-init notify READY=1; sleep 100'
host_recv n3
NOTIFY_SOCKET=$T/n3.sock h run -d -b "$T/n3" n3 >/dev/null 2>&1 </dev/null
is "run -d with NOTIFY_SOCKET succeeds" 0 "$?"
wait "$recv_pid" 2>/dev/null
like "run -d: MAINPID is the container's init" "MAINPID=$(state_field n3 pid)\\|" "$(cat "$T/n3.msgs")"
h delete -f n3 >/dev/null 2>&1

make_bundle n4 sh -c 'husk-test-init notify READY=1; exit 5'
host_recv n4
NOTIFY_SOCKET=$T/n4.sock "$HUSK" --root "$ROOT" run -b "$T/n4" n4 >/dev/null 2>&1 </dev/null &
run_pid=$!
wait "$run_pid"
rc=$?
wait "$recv_pid" 2>/dev/null
is "foreground run: the exit status is the container's" 5 "$rc"
like "foreground run: MAINPID is husk's own pid (what systemd should watch)" "MAINPID=$run_pid\\|" "$(cat "$T/n4.msgs")"
check "... and the container is gone" no_leftovers n4

# --- created without NOTIFY_SOCKET: start has nothing to forward -----------
make_bundle n5 sleep 100
h create -b "$T/n5" n5 >/dev/null 2>&1 </dev/null
NOTIFY_SOCKET=$T/nobody.sock h start n5 >"$T/n5.start" 2>&1 </dev/null
is "start with NOTIFY_SOCKET of a container created without it: no forwarding, no error" 0 "$?"
check "... no notify dir was made" test ! -e "$ROOT/n5/notify"
h delete -f n5 >/dev/null 2>&1

# --- the host socket is gone by the time READY comes ------------------------
make_bundle n6 sh -c 'husk-test-init notify READY=1; sleep 100'
NOTIFY_SOCKET=$T/gone.sock h create -b "$T/n6" n6 >/dev/null 2>&1 </dev/null
out=$(NOTIFY_SOCKET=$T/gone.sock h start n6 2>&1 </dev/null)
rc=$?
check "start fails when NOTIFY_SOCKET cannot be reached" [ "$rc" -ne 0 ]
like "... naming it" 'cannot connect to NOTIFY_SOCKET' "$out"
is "... the container itself runs on (as with runc)" running "$(state_field n6 status)"
h delete -f n6 >/dev/null 2>&1
check "... and delete cleans up" no_leftovers n6

done_testing
