#!/bin/bash
# husk-build run / ps / rm / logs: foreground and detached containers driven
# through husk, exit codes, env, names, --rm, the networking options.
. "${HUSK_SRC:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "${HUSK_SRC:-$(dirname "$0")/../..}/tests/build/image-lib.sh"
export HUSK

make_base bb --config.entrypoint /bin/sh --config.entrypoint -c --config.cmd 'echo default cmd' \
  --config.env GREETING=hi >/dev/null || { echo "Bail out! cannot make the base image"; exit 1; }
store_add bb || { echo "Bail out! cannot import the base image"; exit 1; }
trap 'hb rm -f fg bg bg2 env1 >/dev/null 2>&1; _cleanup' EXIT

is "run prints the image's default command output" "default cmd" "$(hb run --rm bb 2>&1)"
check "--rm removes the container" test -z "$(ls -A "$STORE/containers" 2>/dev/null)"
out=$(hb run --name env1 -e FOO=bar -e GREETING=hello bb 'echo $FOO $GREETING $(hostname)' 2>&1)
is "CMD override, -e env (replacing the image's), hostname = name" "bar hello env1" "$out"
hb run --name fg bb 'exit 3' >/dev/null 2>&1
is "the container's exit code is run's" 3 "$?"

hb run --name env1 bb true 2>"$T/err"
like "a name in use is refused" "already in use" "$(cat "$T/err")"

out=$(hb run -d --name bg bb 'echo to-stdout; echo to-stderr >&2; exec sleep 300' 2>&1)
is "run -d prints the name" "bg" "$out"
wait_for sh -c "grep -q to-stderr '$STORE/containers/bg/container.log'"
ps_out=$(hb ps)
like "ps lists the detached container as running with a pid" "^bg +bb +running +[0-9]+ " "$ps_out"
like "ps lists the foreground one as exited with its code" "^fg +bb +exited \(3\)" "$ps_out"
json=$(hb ps --format json)
is "ps --format json: name, image, status" "bg bb running" \
  "$(printf '%s' "$json" | jq -r '.[] | select(.name == "bg") | "\(.name) \(.image) \(.status)"')"
pid=$(printf '%s' "$json" | jq -r '.[] | select(.name == "bg") | .pid')
check "ps --format json: the pid is the container's process" test -d "/proc/$pid"
is "ps --format json: ip and ports are present" "true true" \
  "$(printf '%s' "$json" | jq -r '.[] | select(.name == "bg") | "\(has("ip")) \(has("ports"))"')"
is "logs has the detached container's stdout and stderr" "to-stdout
to-stderr" "$(hb logs bg 2>&1)"
hb logs fg 2>"$T/err"
like "logs of a foreground container says why there are none" "foreground" "$(cat "$T/err")"

hb rm bg 2>"$T/err"
like "rm of a running container needs -f" "is running" "$(cat "$T/err")"
hb rm -f bg >/dev/null 2>"$T/err"
is "rm -f removes a running container" "0" "$?"
check "its process is gone" wait_for sh -c "! kill -0 $pid 2>/dev/null || grep -q '^State:.*Z' /proc/$pid/status 2>/dev/null"
check "its directory is gone" test ! -e "$STORE/containers/bg"
check "its husk state is gone" test ! -e "$STORE/husk/bg"
hb rm fg env1 >/dev/null
check "rm of stopped containers" test -z "$(ls -A "$STORE/containers")"
hb rm nosuch 2>"$T/err"
like "rm of an unknown container" "does not exist" "$(cat "$T/err")"

hb run --rm -p 8080:80 bb true 2>"$T/err"
rc=$?
like "-p says networking is not supported yet" "networking is not supported yet" "$(cat "$T/err")"
is "... and fails like podman (125)" 125 "$rc"
hb run --rm --network bridge bb true 2>"$T/err"
like "--network other than none/host is refused" "networking is not supported yet" "$(cat "$T/err")"
is "--network none: only lo" "1" "$(hb run --rm --network none bb 'ip -o link | wc -l' 2>&1 | tr -d ' ')"
hostlinks=$(ip -o link | wc -l)
is "--network host: the host's links" "$hostlinks" "$(hb run --rm --network host bb 'ip -o link | wc -l' 2>&1 | tr -d ' ')"

hb run -d --rm --name bg2 bb 'exit 0' >/dev/null 2>&1
check "run -d --rm: ps removes the container once it stopped" \
  wait_for sh -c "'$HUSK_BUILD' --store '$STORE' ps >/dev/null; test ! -e '$STORE/containers/bg2'"

done_testing
