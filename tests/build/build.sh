#!/bin/bash
# husk-build build: config.txt instructions, RUN with husk on an overlay,
# COPY from the context, layers with whiteouts, the step cache, build args,
# errors that name the line; the result runs (husk-build run, husk and runc).
. "${HUSK_SRC:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "${HUSK_SRC:-$(dirname "$0")/../..}/tests/build/image-lib.sh"

grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null
grep -qw overlay /proc/filesystems || { echo "1..0 # SKIP no overlayfs"; exit 0; }
export HUSK

make_base bb --config.cmd sh >/dev/null || { echo "Bail out! cannot make the base image"; exit 1; }
mkdir -p "$T/old" && echo old >"$T/old/o1"
store_add bb || { echo "Bail out! cannot import the base image"; exit 1; }

C=$T/ctx
mkdir -p "$C/dir/sub" "$C/outside-link"
echo "hello from the context" >"$C/hello.txt"
echo one >"$C/dir/one"
echo deep >"$C/dir/sub/deep"
chmod 0750 "$C/dir/sub"
ln -s /etc/shadow "$C/escape"
cat >"$C/config.txt" <<'EOF'
# a comment
ARG BASE=bb
FROM $BASE
ARG GREETING=hello
ENV APP=/app \
    MODE=test
LABEL org.example.name="built image" version=1
EXPOSE 8080 53/udp
WORKDIR $APP
COPY hello.txt ./
COPY --chown=app:extra dir /app/dir/
RUN echo "$GREETING $MODE from $(pwd)" > built.txt && rm /bin/vi && \
    mkdir -p /etc/opq && rm -rf /etc/opq && mkdir /etc/opq && echo new > /etc/opq/n && \
    ip -o link | wc -l > /app/links
RUN ["/bin/sh", "-c", "echo exec-form > /app/exec"]
USER app
RUN id -u > /tmp/uid && touch /app/x 2>/dev/null || echo denied > /tmp/denied
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["cat /app/built.txt /app/hello.txt /app/exec /tmp/uid /tmp/denied; ls -ln /app/dir | tail -n +2 | awk '{print $3\":\"$4, $NF}'; ls /bin/vi 2>&1; pwd"]
EOF

# ---- first build ---------------------------------------------------------
out=$(hb build -t built "$C" 2>&1)
rc=$?
is "build succeeds" 0 "$rc"
[ "$rc" = 0 ] || diag "$out"
digest1=$(printf '%s\n' "$out" | grep -E '^sha256:[0-9a-f]{64}$' | tail -1)
like "build prints the manifest digest" "^sha256:[0-9a-f]{64}$" "$digest1"
like "RUN output is shown" "STEP 9/14: RUN echo" "$out"
unlike "a first build uses no cache" "Using cache" "$out"

run_out=$(hb run --rm built 2>&1)
expected="hello test from /app
hello from the context
exec-form
1000
denied
1000:2000 one
1000:2000 sub
ls: /bin/vi: No such file or directory
/app"
is "the built image runs with the expected output" "$expected" "$run_out"

hb bundle built "$T/bundle" 2>"$T/err" || diag "$(cat "$T/err")"
CJ=$T/bundle/config.json
R=$T/bundle/rootfs
is "config: Entrypoint + Cmd" '/bin/sh' "$(jq -r '.process.args[0]' "$CJ")"
is "config: env" '["PATH=/bin","APP=/app","MODE=test"]' "$(jq -c .process.env "$CJ")"
is "config: cwd" "/app" "$(jq -r .process.cwd "$CJ")"
is "config: user" "1000" "$(jq -r .process.user.uid "$CJ")"
is "config: labels" "built image 1" "$(jq -r '.annotations["org.example.name"] + " " + .annotations.version' "$CJ")"
is "config: exposed ports" "53/udp,8080/tcp" \
  "$(jq -r '.annotations["org.opencontainers.image.exposedPorts"] | split(",") | sort | join(",")' "$CJ")"
check "a file deleted by RUN is gone (whiteout)" test ! -e "$R/bin/vi" -a ! -L "$R/bin/vi"
check "the rest of /bin is still there" test -x "$R/bin/busybox" -a -L "$R/bin/sh"
is "a directory recreated by RUN holds only the new content (opaque)" "n" "$(ls "$R/etc/opq")"
is "COPY keeps modes and applies --chown" "750 1000:2000" "$(stat -c '%a %u:%g' "$R/app/dir/sub")"
is "RUN has a network namespace with only lo" "1" "$(tr -d ' ' <"$R/app/links")"
is "ARG is not in the image env" "null" "$(jq -r '.process.env | map(select(startswith("GREETING"))) | .[0]' "$CJ")"

# image history and layers (inspect is the store half's; read the store directly)
mf=$(python3 -c 'import json,sys; i=json.load(open(sys.argv[1]+"/index.json")); print([m["digest"] for m in i["manifests"] if m.get("annotations",{}).get("org.opencontainers.image.ref.name")=="docker.io/library/built:latest"][0])' "$STORE")
is "the tag points at the printed digest" "$digest1" "$mf"
cfgd=$(jq -r .config.digest "$STORE/blobs/sha256/${mf#sha256:}")
nl=$(jq '.layers | length' "$STORE/blobs/sha256/${mf#sha256:}")
is "one layer for the base + COPY, COPY, RUN, RUN, RUN" 6 "$nl"
is "diff_ids match the layers" "$nl" "$(jq '.rootfs.diff_ids | length' "$STORE/blobs/sha256/${cfgd#sha256:}")"
is "the build's history: 7 metadata steps (empty_layer) and 5 layers" "7 5" \
  "$(jq -r '.history[-12:] | "\([.[] | select(.empty_layer == true)] | length) \([.[] | select(.empty_layer != true)] | length)"' "$STORE/blobs/sha256/${cfgd#sha256:}")"
if command -v skopeo >/dev/null; then
  check "skopeo reads the built image from the store" sh -c \
    "skopeo inspect --config 'oci:$STORE:docker.io/library/built:latest' | grep -q org.example.name"
fi
if command -v runc >/dev/null; then
  out=$(cd "$T/bundle" && runc --root "$T/rroot" run hb-build-runc-$$ </dev/null 2>&1 | head -1)
  is "runc runs the built image too" "hello test from /app" "$out"
fi

# ---- cache ------------------------------------------------------------------
out=$(hb build -t built "$C" 2>&1)
is "an unchanged rebuild uses the cache for every step after FROM" 13 "$(printf '%s\n' "$out" | grep -c -- '---> Using cache')"
unlike "an unchanged rebuild runs nothing (no new layer)" "^---> sha256" "$out"
is "an unchanged rebuild gives the same image digest" "$digest1" \
  "$(printf '%s\n' "$out" | grep -E '^sha256:[0-9a-f]{64}$' | tail -1)"

echo "changed" >"$C/dir/one"
out=$(hb build -t built2 "$C" 2>&1)
is "changing a COPY source: the steps before it are cached" 6 "$(printf '%s\n' "$out" | grep -c -- '---> Using cache')"
is "the changed content is in the new image" "changed" "$(hb run --rm --name c2 built2 'cat /app/dir/one' 2>&1)"

out=$(hb build -t built3 --build-arg GREETING=howdy "$C" 2>&1)
is "a build arg reaches RUN" "howdy test from /app" "$(hb run --rm built3 'cat /app/built.txt' 2>&1)"
out=$(hb build -t built4 --no-cache "$C" 2>&1)
unlike "--no-cache runs every step" "Using cache" "$out"

# ---- errors -------------------------------------------------------------------
mkdir -p "$T/bad"
printf 'FROM bb\n\n# comment\nENV A=1\nRUN true \\\n  && true\nRUNN echo\n' >"$T/bad/config.txt"
out=$(cd "$T/bad" && hb build -f config.txt -t bad . 2>&1)
rc=$?
check "a syntax error fails the build" test "$rc" -ne 0
is "the error names the file and line" 'husk-build: config.txt:7: unknown instruction "RUNN"' "$out"

printf 'FROM bb\nRUN echo partial > /p\nRUN exit 7\nCMD x\n' >"$T/bad/config.txt"
out=$(hb build -f "$T/bad/config.txt" -t failing "$T/bad" 2>&1)
like "a failing RUN names its line and exit code" "config.txt:3: RUN exit 7: the command returned a non-zero code: 7" "$out"
check "a failed build tags nothing" sh -c "! grep -q failing '$STORE/index.json'"
check "a failed build leaves no temp dirs or mounts" sh -c \
  "[ -z \"\$(ls -A '$STORE/tmp' 2>/dev/null)\" ] && ! grep -q '$STORE' /proc/self/mountinfo"

printf 'FROM bb\nCOPY ../outside /x\n' >"$T/bad/config.txt"
out=$(hb build -f "$T/bad/config.txt" -t esc "$T/bad" 2>&1)
like "COPY from outside the context is refused" "outside the build context" "$out"
printf 'FROM bb\nCOPY escape /x\n' >"$C/config.esc"
out=$(hb build -f "$C/config.esc" -t esc "$C" 2>&1)
like "COPY of a symlink pointing out resolves inside the context" "escape.*(No such file|does not exist)" "$out"
printf 'FROM nosuchimage-hb\n' >"$T/bad/config.txt"
out=$(hb build -f "$T/bad/config.txt" -t x "$T/bad" 2>&1)
like "FROM an unknown image fails clearly" "config.txt:1: .*nosuchimage-hb" "$out"

# ---- scratch ------------------------------------------------------------------
mkdir -p "$T/scratch"
cp "$(command -v busybox)" "$T/scratch/busybox"
printf 'FROM scratch\nCOPY busybox /bin/busybox\nENTRYPOINT ["/bin/busybox"]\nCMD ["echo", "from scratch"]\n' \
  >"$T/scratch/config.txt"
hb build -t fromscratch "$T/scratch" >/dev/null 2>"$T/err" || diag "$(cat "$T/err")"
is "FROM scratch builds a runnable image" "from scratch" "$(hb run --rm fromscratch 2>&1)"

# ---- VOLUME, STOPSIGNAL, MAINTAINER -------------------------------------------
mkdir -p "$T/meta"
cat >"$T/meta/config.txt" <<'EOF'
FROM bb
MAINTAINER Jane Doe <jane@example.org>
WORKDIR /srv
VOLUME ["/data", "logs"]
VOLUME /cache /data
STOPSIGNAL 2
EOF
out=$(hb build -t meta "$T/meta" 2>&1)
rc=$?
is "VOLUME, STOPSIGNAL and MAINTAINER build" 0 "$rc"
[ "$rc" = 0 ] || diag "$out"
cfg=$(skopeo inspect --config "oci:$STORE:docker.io/library/meta:latest" 2>/dev/null)
is "VOLUME (JSON and plain forms, relative to WORKDIR, no duplicates) fills config.Volumes" \
  '["/cache","/data","/srv/logs"]' "$(printf '%s' "$cfg" | jq -c '.config.Volumes | keys')"
is "STOPSIGNAL 2 is stored by name" SIGINT "$(printf '%s' "$cfg" | jq -r '.config.StopSignal')"
is "MAINTAINER sets the author" "Jane Doe <jane@example.org>" "$(printf '%s' "$cfg" | jq -r '.author')"
hb bundle meta "$T/meta-bundle" >/dev/null 2>&1
is "the bundle carries the stop signal as an annotation" SIGINT \
  "$(jq -r '.annotations["org.opencontainers.image.stopSignal"]' "$T/meta-bundle/config.json" 2>/dev/null)"
printf 'FROM bb\nSTOPSIGNAL SIGNOPE\n' >"$T/meta/config.bad"
out=$(hb build -f "$T/meta/config.bad" -t metabad "$T/meta" 2>&1)
like "an unknown STOPSIGNAL is a parse error with its line" 'config.bad:2: STOPSIGNAL: invalid signal `SIGNOPE`$' "$out"

# ---- ADD: local archives are extracted, URLs downloaded (a server on 127.0.0.1) --
A=$T/addctx
mkdir -p "$A/src/a" "$T/www"
echo x-in-tar >"$A/src/a/x"
echo b-in-tar >"$A/src/b"
tar -C "$A/src" -czf "$A/files.tar.gz" a b
echo plain >"$A/plain.txt"
echo "not really an archive" >"$A/fake.tar.gz"
python3 -c 'import tarfile, io, sys
t = tarfile.open(sys.argv[1], "w")
d = b"evil\n"; i = tarfile.TarInfo("../../../etc/husk-add-evil"); i.size = len(d); t.addfile(i, io.BytesIO(d))
t.close()' "$A/evil.tar"
echo downloaded >"$T/www/dl.txt"
python3 - "$T/www" "$T/www.port" >/dev/null 2>&1 <<'EOF' &
import http.server, functools, sys
h = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])
s = http.server.HTTPServer(("127.0.0.1", 0), h)
open(sys.argv[2], "w").write(str(s.server_address[1]))
s.serve_forever()
EOF
www_pid=$!
wait_for test -s "$T/www.port"
PORT=$(cat "$T/www.port")
cat >"$A/config.txt" <<'EOF'
FROM bb
ARG PORT
ADD files.tar.gz /opt/
ADD plain.txt fake.tar.gz /data/
ADD http://127.0.0.1:${PORT}/dl.txt /web/
ADD http://127.0.0.1:${PORT}/dl.txt /web/renamed.txt
CMD ["sh", "-c", "cat /opt/a/x /opt/b /data/plain.txt /data/fake.tar.gz /web/dl.txt /web/renamed.txt; stat -c %a /web/dl.txt"]
EOF
out=$(hb build --build-arg PORT="$PORT" -t added "$A" 2>&1)
rc=$?
is "ADD builds" 0 "$rc"
[ "$rc" = 0 ] || diag "$out"
run_out=$(hb run --rm added 2>&1 | tr '\n' ' ')
like "ADD of a local tar.gz extracts it into the destination" "^x-in-tar b-in-tar " "$run_out"
like "ADD of other files copies them (a .tar.gz name that is no archive included)" " plain not really an archive " "$run_out"
like "ADD of a URL downloads it (ARG substituted), into a dir or as a named file" " downloaded downloaded " "$run_out"
like "a downloaded file has mode 600, as with docker" " 600 $" "$run_out"
printf 'FROM bb\nADD evil.tar /jail/\n' >"$A/config.evil"
out=$(hb build -f "$A/config.evil" -t addevil "$A" 2>&1)
like "an archive entry with ../ is refused, naming it" "config.evil:2: ADD: .*../../../etc/husk-add-evil. points outside" "$out"
check "... and nothing was written on the host" test ! -e /etc/husk-add-evil
printf 'FROM bb\nADD http://127.0.0.1:%s/missing.txt /m\n' "$PORT" >"$A/config.404"
out=$(hb build -f "$A/config.404" -t add404 "$A" 2>&1)
like "ADD of a URL that answers 404 fails with the line and the HTTP error" "config.404:2: ADD http://127.0.0.1:$PORT/missing.txt: .*404" "$out"
check "... and leaves no temp dirs or mounts" sh -c \
  "[ -z \"\$(ls -A '$STORE/tmp' 2>/dev/null)\" ] && ! grep -q '$STORE' /proc/self/mountinfo"
kill "$www_pid" 2>/dev/null; wait "$www_pid" 2>/dev/null

# ---- multi-stage builds ------------------------------------------------------
mkdir -p "$T/ms"
cat >"$T/ms/config.txt" <<'EOF'
ARG GREETING=hi
FROM bb AS Builder
ARG GREETING
RUN mkdir -p /out && echo "$GREETING from the builder" > /out/msg && echo secret > /out/secret
FROM bb AS second
RUN echo second > /s
FROM bb
COPY --from=builder /out/msg /msg
COPY --from=1 /s /s
COPY --from=bb /bin/busybox /bb-copy
CMD ["sh", "-c", "cat /msg /s; ls /out 2>&1; cmp /bb-copy /bin/busybox && echo same"]
EOF
out=$(hb build -t ms "$T/ms" 2>&1)
rc=$?
first_ms=$out
is "a multi-stage build succeeds" 0 "$rc"
[ "$rc" = 0 ] || diag "$out"
run_out=$(hb run --rm ms 2>&1)
like "COPY --from=NAME takes a file from an earlier stage (stage names are case-insensitive)" "^hi from the builder" "$run_out"
like "COPY --from=INDEX takes one from stage 1" "second" "$run_out"
like "only the last stage is the image: the builder's /out is not in it" "/out.*(No such file|can't)" "$run_out"
like "COPY --from=IMAGE copies out of an image in the store" "same" "$run_out"
base_layers=$(skopeo inspect --raw "oci:$STORE:docker.io/library/bb:latest" 2>/dev/null | jq '.layers | length')
is "the image has the base's layers plus one per COPY, none from the other stages' RUNs" \
  "$((base_layers + 3))" "$(skopeo inspect --raw "oci:$STORE:docker.io/library/ms:latest" 2>/dev/null | jq '.layers | length')"
out=$(hb build -t ms "$T/ms" 2>&1)
is "a rebuild of every stage comes from the cache (all 7 steps after the FROMs)" 7 "$(printf '%s\n' "$out" | grep -c 'Using cache')"
ms_d1=$(printf '%s\n' "$first_ms" | grep -E '^sha256:' | tail -1)
like "the multi-stage build printed its digest" '^sha256:[0-9a-f]{64}$' "$ms_d1"
is "... and the rebuild gives the same image" "$ms_d1" "$(printf '%s\n' "$out" | grep -E '^sha256:' | tail -1)"

printf 'FROM bb AS base\nRUN echo from-base > /b\nFROM base\nRUN cat /b > /c\nCMD ["cat", "/c"]\n' >"$T/ms/config.base"
hb build -f "$T/ms/config.base" -t fromstage "$T/ms" >/dev/null 2>"$T/err" || diag "$(cat "$T/err")"
is "FROM an earlier stage goes on from its state" "from-base" "$(hb run --rm fromstage 2>&1)"

printf 'FROM bb\nCOPY --from=3 /x /x\n' >"$T/ms/config.bad"
out=$(hb build -f "$T/ms/config.bad" -t msbad "$T/ms" 2>&1)
like "COPY --from of a stage that does not exist (yet) fails clearly" "config.bad:2: COPY --from=3: there is no stage 3 before this one" "$out"
printf 'FROM bb AS a\nFROM bb AS a\n' >"$T/ms/config.dup"
out=$(hb build -f "$T/ms/config.dup" -t msbad "$T/ms" 2>&1)
like "duplicate stage names are refused" "config.dup:2: duplicate stage name .a." "$out"
check "failed multi-stage builds leave no temp dirs or mounts" sh -c \
  "[ -z \"\$(ls -A '$STORE/tmp' 2>/dev/null)\" ] && ! grep -q '$STORE' /proc/self/mountinfo"

done_testing
