#!/bin/bash
# husk-build bundle: layer extraction (whiteouts, opaque dirs, hardlinks,
# symlinks, devices, owners, modes, xattrs, compression), config.json from
# the image config, running the bundle with husk and runc, and extraction
# safety (.., absolute names, symlink escapes, truncated gzip).
. "${HUSK_SRC:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "${HUSK_SRC:-$(dirname "$0")/../..}/tests/build/image-lib.sh"

# ---- images -----------------------------------------------------------------
make_base bb --config.entrypoint /bin/echo --config.cmd hello --config.workingdir /home/app/work \
  --config.user app --config.label org.example.team=husk --config.label version=1.0 \
  --config.exposedports 80/tcp --config.exposedports 53/udp --config.env GREETING=hi >/dev/null ||
  { echo "Bail out! cannot make the base image"; exit 1; }
store_add bb || { echo "Bail out! cannot import the base image"; exit 1; }

make_base ml --config.cmd sh >/dev/null
add_layer ml '
d("data"); reg("data/gone.txt", b"gone\n"); reg("data/keep.txt", b"keep\n")
d("opq"); reg("opq/old.txt", b"old\n"); d("opq/sub"); reg("opq/sub/deep.txt", b"deep\n")
reg("replaced", b"file\n"); d("gone-dir"); reg("gone-dir/f", b"f\n")
' >/dev/null
add_layer ml '
wh("data/.wh.gone.txt"); wh(".wh.gone-dir")
d("opq"); wh("opq/.wh..wh..opq"); reg("opq/new.txt", b"new\n")
hard("data/link", "data/keep.txt")
sym("data/sym", "/data/keep.txt")
dev("data/null", tarfile.CHRTYPE, 1, 3)
dev("data/fifo", tarfile.FIFOTYPE, 0, 0, 0o600)
reg("data/owned", b"o\n", 0o640, 1000, 2000)
d("data/private", 0o700, 33, 33)
reg("data/suid", b"s\n", 0o4755)
reg("data/xattr", b"x\n", pax={"SCHILY.xattr.user.foo": "bar"})
d("replaced"); reg("replaced/inner", b"i\n")
' >/dev/null
store_add ml || { echo "Bail out! cannot import the multi-layer image"; exit 1; }

# ---- bundle contents ----------------------------------------------------------
hb bundle ml "$T/ml" 2>"$T/err"
check "bundle of a multi-layer image succeeds" test -f "$T/ml/config.json"
R=$T/ml/rootfs
check "busybox from the first layer is there" test -x "$R/bin/busybox"
check "a whiteout deletes a file of a lower layer" test ! -e "$R/data/gone.txt"
check "a whiteout deletes a directory of a lower layer" test ! -e "$R/gone-dir"
is "files the whiteout did not name stay" "keep" "$(cat "$R/data/keep.txt")"
is "an opaque dir keeps only its own layer's entries" "new.txt" "$(ls -A "$R/opq")"
is "a hardlink shares the inode" "$(stat -c %i "$R/data/keep.txt")" "$(stat -c %i "$R/data/link")"
is "a symlink keeps its target" "/data/keep.txt" "$(readlink "$R/data/sym")"
is "a char device is made" "character special file 1:3" "$(stat -c '%F %t:%T' "$R/data/null")"
is "a fifo is made" "fifo 600" "$(stat -c '%F %a' "$R/data/fifo")"
is "owner and mode of a file" "1000:2000 640" "$(stat -c '%u:%g %a' "$R/data/owned")"
is "owner and mode of a directory" "33:33 700" "$(stat -c '%u:%g %a' "$R/data/private")"
is "setuid bit survives chown" "4755" "$(stat -c '%a' "$R/data/suid")"
is "mtime from the tar" "1500000000" "$(stat -c '%Y' "$R/data/keep.txt")"
is "xattr from a PAX header" "bar" "$(python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "user.foo").decode())' "$R/data/xattr" 2>&1)"
is "a file replaced by a directory" "i" "$(cat "$R/replaced/inner")"

hb bundle ml "$T/ml" 2>"$T/err"
like "bundle into an existing bundle is refused" "exists" "$(cat "$T/err")"

# ---- config.json ------------------------------------------------------------
hb bundle bb "$T/bb" 2>"$T/err" || diag "$(cat "$T/err")"
C=$T/bb/config.json
is "args = Entrypoint + Cmd" '["/bin/echo","hello"]' "$(jq -c .process.args "$C")"
is "env from the image" '["PATH=/bin","GREETING=hi"]' "$(jq -c .process.env "$C")"
is "cwd = WorkingDir" "/home/app/work" "$(jq -r .process.cwd "$C")"
check "WorkingDir is created in the rootfs" test -d "$T/bb/rootfs/home/app/work"
is "user name resolved from /etc/passwd, groups from /etc/group" '{"uid":1000,"gid":1000,"additionalGids":[2000]}' \
  "$(jq -c .process.user "$C")"
is "terminal off" "false" "$(jq -r .process.terminal "$C")"
is "labels as annotations" "husk 1.0" "$(jq -r '.annotations["org.example.team"] + " " + .annotations.version' "$C")"
is "exposed ports annotation" "53/udp,80/tcp" \
  "$(jq -r '.annotations["org.opencontainers.image.exposedPorts"] | split(",") | sort | join(",")' "$C")"
is "default spec kept (namespaces)" "cgroup ipc mount network pid uts" \
  "$(jq -r '[.linux.namespaces[].type] | sort | join(" ")' "$C")"

# USER forms
usercase() {
  local n=$1 u=$2
  make_base "$n" --config.cmd id --config.user "$u" >/dev/null && store_add "$n" && hb bundle "$n" "$T/$n" 2>"$T/err"
}
usercase u1 "1234" && is "numeric user without passwd entry: gid 0" '{"uid":1234,"gid":0}' "$(jq -c .process.user "$T/u1/config.json")"
usercase u2 "app:extra" && is "user:group names" '{"uid":1000,"gid":2000}' "$(jq -c .process.user "$T/u2/config.json")"
usercase u3 "5:7" && is "uid:gid numbers" '{"uid":5,"gid":7}' "$(jq -c .process.user "$T/u3/config.json")"
usercase u4 "ghost"
like "unknown user name is an error" "unable to find user ghost" "$(cat "$T/err")"
check "a failed bundle leaves no rootfs" test ! -e "$T/u4/rootfs"

# ---- run it -------------------------------------------------------------------
out=$(cd "$T/bb" && "$HUSK" --root "$T/hroot" run hb-unpack-$$ </dev/null 2>&1)
is "husk runs the bundle" "hello" "$out"
if command -v runc >/dev/null; then
  out=$(cd "$T/bb" && runc --root "$T/rroot" run hb-unpack-runc-$$ </dev/null 2>&1)
  is "runc runs the bundle" "hello" "$out"
else
  skip "runc is not installed"
fi
make_base who --config.entrypoint /bin/sh --config.cmd -c \
  --config.cmd 'id -u; id -G; pwd; echo $GREETING' --config.user app --config.workingdir /tmp \
  --config.env GREETING=hey >/dev/null && store_add who && hb bundle who "$T/who" 2>"$T/err"
out=$(cd "$T/who" && "$HUSK" --root "$T/hroot" run hb-who-$$ </dev/null 2>&1 | tr '\n' ' ')
is "user, groups, cwd and env inside the container" "1000 1000 2000 /tmp hey " "$out"

# ---- compression ------------------------------------------------------------
raw_layer "$T/plain.tar" 'd("z"); reg("z/file", b"zstd\n")'
zstd -q -f "$T/plain.tar" -o "$T/plain.tar.zst" 2>/dev/null
if [ -f "$T/plain.tar.zst" ]; then
  store_image zs "$T/plain.tar"
  # Re-point the layer to the zstd blob with the zstd media type.
  python3 - "$STORE" "$T/plain.tar.zst" <<'EOF'
import hashlib, json, os, sys
store, zf = sys.argv[1:]
data = open(zf, "rb").read(); d = hashlib.sha256(data).hexdigest()
open(os.path.join(store, "blobs/sha256", d), "wb").write(data)
idx = json.load(open(os.path.join(store, "index.json")))
for m in idx["manifests"]:
    if m["annotations"]["org.opencontainers.image.ref.name"] == "docker.io/library/zs:latest":
        mp = os.path.join(store, "blobs/sha256", m["digest"][7:])
        man = json.load(open(mp))
        man["layers"][0].update(mediaType="application/vnd.oci.image.layer.v1.tar+zstd", digest="sha256:" + d, size=len(data))
        nb = json.dumps(man).encode(); nd = hashlib.sha256(nb).hexdigest()
        open(os.path.join(store, "blobs/sha256", nd), "wb").write(nb)
        m.update(digest="sha256:" + nd, size=len(nb))
json.dump(idx, open(os.path.join(store, "index.json"), "w"))
EOF
  hb bundle zs "$T/zs" 2>"$T/err"
  is "a tar+zstd layer unpacks" "zstd" "$(cat "$T/zs/rootfs/z/file" 2>&1)"
else
  skip "zstd is not installed"
fi

# ---- safety -----------------------------------------------------------------
HOSTF=/tmp/hb-escape-$$
rm -f "$HOSTF" "$HOSTF".*
trap 'rm -f "$HOSTF" "$HOSTF".*; _cleanup' EXIT
echo original >"$HOSTF.victim"

raw_layer "$T/dotdot.tar" "reg('../../../..$HOSTF.dotdot', b'escaped\n')"
store_image dotdot "$T/dotdot.tar"
hb bundle dotdot "$T/dotdot" 2>"$T/err"
like "an entry climbing out with .. is refused" "points outside the rootfs" "$(cat "$T/err")"
check "nothing written outside by .." test ! -e "$HOSTF.dotdot"
check "a refused layer leaves no rootfs or temp dir" test -z "$(ls -A "$T/dotdot" 2>/dev/null)"

raw_layer "$T/abs.tar" "reg('$HOSTF.abs', b'inside\n')"
store_image abs "$T/abs.tar"
hb bundle abs "$T/abs" 2>"$T/err"
check "an absolute name is kept inside the rootfs" test -f "$T/abs/rootfs$HOSTF.abs"
check "nothing written at the absolute host path" test ! -e "$HOSTF.abs"

raw_layer "$T/sym.tar" "sym('escape', '/'); reg('escape$HOSTF.sym', b'through\n'); sym('up', '../../../../../../..'); reg('up$HOSTF.up', b'up\n')"
store_image symesc "$T/sym.tar"
hb bundle symesc "$T/symesc" 2>"$T/err"
check "a file through an absolute symlink lands inside" test -f "$T/symesc/rootfs$HOSTF.sym"
check "a file through a ../ symlink lands inside" test -f "$T/symesc/rootfs$HOSTF.up"
check "nothing written through the symlinks on the host" test ! -e "$HOSTF.sym" -a ! -e "$HOSTF.up"

raw_layer "$T/over.tar" "sym('victim', '$HOSTF.victim'); reg('victim', b'overwritten\n')"
store_image over "$T/over.tar"
hb bundle over "$T/over" 2>"$T/err"
is "a file replacing a symlink does not write through it" "original" "$(cat "$HOSTF.victim")"
is "the file replaced the symlink in the rootfs" "overwritten" "$(cat "$T/over/rootfs/victim" 2>&1)"

raw_layer "$T/hl.tar" "hard('pw', '../../../../../../..$HOSTF.victim')"
store_image hl "$T/hl.tar"
hb bundle hl "$T/hl" 2>"$T/err"
like "a hardlink to a file outside is refused" "points outside the rootfs" "$(cat "$T/err")"
raw_layer "$T/hl2.tar" "sym('s', '/'); hard('pw', 's$HOSTF.victim')"
store_image hl2 "$T/hl2.tar"
hb bundle hl2 "$T/hl2" 2>"$T/err"
like "a hardlink through a symlink resolves inside (target missing)" "cannot (open|link)" "$(cat "$T/err")"
is "the host file is untouched" "original 1" "$(cat "$HOSTF.victim") $(stat -c %h "$HOSTF.victim")"

raw_layer "$T/big.tar" "import os; reg('big', os.urandom(300000))"
gzip -c "$T/big.tar" | head -c 2000 >"$T/trunc.tar.gz"
store_image trunc "$T/trunc.tar.gz"
hb bundle trunc "$T/trunc" 2>"$T/err"
rc=$?
check "a truncated gzip layer fails" test "$rc" -ne 0
like "the error names the layer and the cause" "layer .sha256:[0-9a-f]+.*(runcated|amaged|EOF)" "$(cat "$T/err")"
check "a truncated layer leaves nothing behind" test -z "$(ls -A "$T/trunc" 2>/dev/null)"

# A blob changed in the store after it was verified: the digest is checked again.
raw_layer "$T/ok.tar" "reg('f', b'fine\\n')"
store_image tamper "$T/ok.tar"
blob=$(python3 -c 'import json,sys; i=json.load(open(sys.argv[1]+"/index.json")); m=[x for x in i["manifests"] if x["annotations"]["org.opencontainers.image.ref.name"].endswith("/tamper:latest")][0]; print(json.load(open(sys.argv[1]+"/blobs/sha256/"+m["digest"][7:]))["layers"][0]["digest"][7:])' "$STORE")
sed -i 's/fine/FINE/' "$STORE/blobs/sha256/$blob"
hb bundle tamper "$T/tamper" 2>"$T/err"
like "a tampered layer blob is refused" "digest mismatch" "$(cat "$T/err")"
check "a tampered layer leaves nothing behind" test -z "$(ls -A "$T/tamper" 2>/dev/null)"

done_testing
