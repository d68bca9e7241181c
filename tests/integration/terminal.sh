#!/bin/bash
# process.terminal and --console-socket (cli-contract §6): the pty master goes
# to a real receiver (tests/console-recv, checking the cmsg like conmon), the
# slave is the process's stdio and /dev/console, consoleSize is applied.
. "$(dirname "$0")/lib.sh"

CONSOLE_RECV=${CONSOLE_RECV:-$(dirname "$HUSK")/tests/console-recv}
if [ ! -x "$CONSOLE_RECV" ]; then
  echo "1..0 # SKIP console-recv not built (set CONSOLE_RECV)"
  exit 0
fi

# recv_start NAME ARGS...: start console-recv on $T/NAME.sock in the
# background (output in $T/NAME.recv, pid in $recv_pid), wait for the socket.
recv_start() {
  local name=$1; shift
  "$CONSOLE_RECV" "$@" "$T/$name.sock" >"$T/$name.recv" 2>"$T/$name.recv.err" &
  recv_pid=$!
  wait_for test -S "$T/$name.sock"
}
# recv_wait: wait for console-recv; sets $recv_rc
recv_wait() { wait "$recv_pid"; recv_rc=$?; }

tty_cfg='.process.terminal = true | .process.consoleSize = {height: 40, width: 100}'

# --- create + start with --console-socket -----------------------------------
make_bundle t1 sh -c 'echo "TTY=$(tty)"; echo "SIZE=$(stty size)"; [ -t 0 ] && echo stdin-tty; [ -t 2 ] && echo stderr-tty;
  stat -c "console %F %t:%T" /dev/console; stat -L -c "tty %F %t:%T" "$(tty)"; read x; echo "got:$x"'
edit_config t1 "$tty_cfg"
recv_start t1 -i -o -w 'hello\n'
h create -b "$T/t1" --console-socket "$T/t1.sock" t1 >"$T/t1.create" 2>&1 </dev/null
rc=$?
is "create with terminal:true and --console-socket succeeds" 0 "$rc"
[ "$rc" = 0 ] || diag "$(cat "$T/t1.create")"
h start t1 >/dev/null 2>&1 </dev/null
is "start succeeds" 0 "$?"
recv_wait
is "console-recv got a well-formed SCM_RIGHTS message (level/type/len) and exits 0" 0 "$recv_rc"
[ "$recv_rc" = 0 ] || diag "$(cat "$T/t1.recv.err")"
recv=$(tr -d '\r' <"$T/t1.recv")
name=$(printf '%s\n' "$recv" | sed -n 's/^name: //p')
like "the payload is the pty name" '^/dev/pts/[0-9]+$' "$name"
like "the received fd is a pty master (TIOCGPTN works)" '^ptn: [0-9]+$' "$(printf '%s\n' "$recv" | grep '^ptn:')"
is "consoleSize is set on the pty (TIOCGWINSZ on the master)" "size: 40 100" "$(printf '%s\n' "$recv" | grep '^size:')"
body=$(printf '%s\n' "$recv" | sed '1,/^---$/d')
is "inside, tty is the pty named in the payload" "$name" "$(printf '%s\n' "$body" | sed -n 's/^TTY=//p')"
like "inside, tty is /dev/pts/N" '^/dev/pts/[0-9]+$' "$(printf '%s\n' "$body" | sed -n 's/^TTY=//p')"
is "inside, stty size prints the consoleSize" "40 100" "$(printf '%s\n' "$body" | sed -n 's/^SIZE=//p')"
like "stdin is a terminal" 'stdin-tty' "$body"
like "stderr is a terminal" 'stderr-tty' "$body"
console=$(printf '%s\n' "$body" | sed -n 's/^console //p')
ttydev=$(printf '%s\n' "$body" | sed -n 's/^tty //p')
like "/dev/console is a character device" '^character special file ' "$console"
is "/dev/console is the same device as the pty slave" "${ttydev#character special file }" "${console#character special file }"
like "input written to the master reaches the process" 'got:hello' "$body"
wait_for test "$(state_field t1 status)" = stopped
h delete t1 >/dev/null 2>&1
check "delete after the terminal container exits" no_leftovers t1

# --- run -d with --console-socket ---------------------------------------------
make_bundle t2 sh -c 'echo detached-$(tty)'
edit_config t2 "$tty_cfg"
recv_start t2 -o
h run -d -b "$T/t2" --console-socket "$T/t2.sock" t2 >"$T/t2.out" 2>&1 </dev/null
is "run -d with terminal and --console-socket succeeds" 0 "$?"
recv_wait
like "the detached container's output comes through the master" '^detached-/dev/pts/[0-9]+' "$(tr -d '\r' <"$T/t2.recv")"
wait_for test "$(state_field t2 status)" = stopped
h delete -f t2 >/dev/null 2>&1

# --- a socket path longer than sun_path -------------------------------------
long=$T/$(printf 'd%.0s' $(seq 1 60))/$(printf 'e%.0s' $(seq 1 60))
mkdir -p "$long"
make_bundle t3 sh -c 'echo long-path-ok'
edit_config t3 "$tty_cfg"
"$CONSOLE_RECV" -o "$long/c.sock" >"$T/t3.recv" 2>"$T/t3.recv.err" &
recv_pid=$!
wait_for test -S "$long/c.sock"
out=$(h run -d -b "$T/t3" --console-socket "$long/c.sock" t3 2>&1 </dev/null)
rc=$?
is "a --console-socket path longer than sun_path (${#long} chars) works" 0 "$rc"
[ "$rc" = 0 ] || { diag "$out"; kill "$recv_pid" 2>/dev/null; }
recv_wait
like "output through the long-path socket" 'long-path-ok' "$(cat "$T/t3.recv")"
h delete -f t3 >/dev/null 2>&1

# --- errors --------------------------------------------------------------------
make_bundle t4 sh -c 'echo no'
edit_config t4 '.process.terminal = true'
out=$(h create -b "$T/t4" t4 2>&1 </dev/null)
rc=$?
isnt_zero() { [ "$1" != 0 ]; }
check "create with terminal:true and no --console-socket fails" isnt_zero "$rc"
like "... with a clear error naming the console socket" 'console.socket' "$out"
check "... and leaves nothing behind" no_leftovers t4

out=$(h run -d -b "$T/t4" t4 2>&1 </dev/null)
rc=$?
check "run -d with terminal:true and no --console-socket fails" isnt_zero "$rc"
check "... and leaves nothing behind" no_leftovers t4

make_bundle t5 sh -c 'echo no'
recv_start t5 -o -t 5
out=$(h create -b "$T/t5" --console-socket "$T/t5.sock" t5 2>&1 </dev/null)
rc=$?
check "--console-socket with terminal:false fails" isnt_zero "$rc"
like "... with an error about the console socket" 'console socket' "$out"
check "... and leaves nothing behind" no_leftovers t5
kill "$recv_pid" 2>/dev/null; wait "$recv_pid" 2>/dev/null

out=$(h create -b "$T/t4" --console-socket "$T/nonexistent.sock" t4 2>&1 </dev/null)
rc=$?
check "a --console-socket nobody listens on fails create" isnt_zero "$rc"
check "... and leaves nothing behind" no_leftovers t4

# --- --pidfd-socket (runc >= 1.2): a pidfd of the init / the exec process -----
make_bundle p1 sleep 100
recv_start p1 -p
h create -b "$T/p1" --pidfd-socket "$T/p1.sock" p1 >"$T/p1.create" 2>&1 </dev/null
is "create --pidfd-socket succeeds" 0 "$?"
recv_wait
is "... the receiver got one well-formed SCM_RIGHTS message" 0 "$recv_rc"
out=$(cat "$T/p1.recv")
like "... it is a pidfd" 'fd: anon_inode:\[pidfd\]' "$out"
like "... named like runc's (\"standard\" for the init)" 'name: standard' "$out"
is "... of the container init (fdinfo Pid = state pid)" "pid: $(h state p1 | jq -r .pid)" "$(grep '^pid:' "$T/p1.recv")"
h start p1 >/dev/null 2>&1 </dev/null

recv_start p1x -p -k 9
h exec -d --pid-file "$T/p1x.pid" --pidfd-socket "$T/p1x.sock" p1 sleep 100 >"$T/p1x.exec" 2>&1 </dev/null
is "exec -d --pidfd-socket succeeds" 0 "$?"
recv_wait
is "... the receiver used the pidfd: SIGKILL through it, then saw the exit" 0 "$recv_rc"
out=$(cat "$T/p1x.recv")
like "... named \"setns\" for an exec" 'name: setns' "$out"
is "... of the exec process (= --pid-file)" "pid: $(cat "$T/p1x.pid")" "$(grep '^pid:' "$T/p1x.recv")"
like "... which the kill through the pidfd ended" '^exited$' "$(tail -1 "$T/p1x.recv")"
is "... and the init is still running" running "$(h state p1 | jq -r .status)"
h delete -f p1 >/dev/null 2>&1

make_bundle p2 sleep 100
out=$(h create -b "$T/p2" --pidfd-socket "$T/nobody.sock" p2 2>&1 </dev/null)
rc=$?
check "a --pidfd-socket nobody listens on fails create" isnt_zero "$rc"
like "... naming the socket" 'cannot connect to the pidfd socket' "$out"
check "... and leaves nothing behind" no_leftovers p2
out=$(h run -d -b "$T/p2" --pidfd-socket "$T/nobody.sock" p2 2>&1 </dev/null)
check "run -d with a dead --pidfd-socket fails too" isnt_zero "$?"
check "... and leaves nothing behind" no_leftovers p2

# --- foreground run, husk keeps the pty (under script(1)) ----------------------
no_double_cr() { ! grep -q $'\r\r' "$1"; }
if command -v script >/dev/null; then
  make_bundle t6 sh -c 'tty; stty size; exit 7'
  edit_config t6 "$tty_cfg"
  script -qec "$HUSK --root $ROOT run -b $T/t6 t6" /dev/null </dev/null >"$T/t6.out" 2>&1
  rc=$?
  out=$(tr -d '\r' <"$T/t6.out")
  like "foreground run with terminal:true without a console socket proxies the pty" '/dev/pts/[0-9]+' "$out"
  is "foreground run exits with the process's status through script(1)" 7 "$rc"
  check "... and deletes the container" no_leftovers t6

  # without consoleSize the pty takes the caller's size before the process
  # starts, and the caller's terminal is fully raw (no \r\r\n doubling)
  make_bundle t7 sh -c 'stty size; exit 3'
  edit_config t7 '.process.terminal = true'
  SHELL=/bin/sh script -qec "stty rows 33 cols 77; exec $HUSK --root $ROOT run -b $T/t7 t7" /dev/null \
    </dev/null >"$T/t7.out" 2>&1
  rc=$?
  like "foreground run -t: the process starts with the caller's window size" '(^|[^0-9])33 77' "$(tr -d '\r' <"$T/t7.out")"
  is "... exit status" 3 "$rc"
  check "... output lines end in one CR LF, as with runc (OPOST off on the caller's tty)" \
    no_double_cr "$T/t7.out"

  # exec -t without a console socket: husk holds the pty for the exec too
  make_bundle t8 sleep 100
  h run -d -b "$T/t8" t8 >/dev/null 2>&1 </dev/null
  SHELL=/bin/sh script -qec "stty rows 21 cols 55; exec $HUSK --root $ROOT exec -t t8 sh -c 'tty; stty size; exit 5'" \
    /dev/null </dev/null >"$T/t8.out" 2>&1
  rc=$?
  out=$(tr -d '\r' <"$T/t8.out")
  like "exec -t: the process has a pty" '/dev/pts/[0-9]+' "$out"
  like "exec -t: it starts with the caller's window size" '(^|[^0-9])21 55' "$out"
  is "exec -t: exit status through script(1)" 5 "$rc"
  h delete -f t8 >/dev/null 2>&1
  check "... and the container is gone" no_leftovers t8
else
  for _ in $(seq 1 10); do skip "script(1) not installed"; done
fi

done_testing
