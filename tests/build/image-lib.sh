# husk-build image tests (unpack, bundle, build, run): shared helpers.
# Sourced after tests/integration/lib.sh (TAP helpers, $T, cleanup).
# Images are made offline: a busybox-static rootfs packed with umoci into an
# OCI layout, hand-made layers (python3 tarfile) added with
# `umoci raw add-layer`, then imported into a fresh store with
# `husk-build load` (or skopeo when load is not available).
HUSK_BUILD=${HUSK_BUILD:?HUSK_BUILD must point at the built husk-build binary}
STORE=$T/store
LAYOUT=$T/layout

for _tool in umoci skopeo python3 jq busybox; do
  command -v $_tool >/dev/null || { echo "1..0 # SKIP $_tool is not installed"; exit 0; }
done
[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root"; exit 0; }

hb() { "$HUSK_BUILD" --store "$STORE" "$@"; }

# The busybox rootfs of the base image.
_bb_rootfs() {
  local r=$T/.bbroot bb
  [ -d "$r" ] && return 0
  bb=$(command -v busybox)
  mkdir -p "$r/bin" "$r/etc" "$r/tmp" "$r/root" "$r/home/app" "$r/proc" "$r/sys" "$r/dev"
  cp "$bb" "$r/bin/busybox"
  for a in $("$bb" --list); do [ "$a" = busybox ] || ln -s busybox "$r/bin/$a"; done
  printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'app:x:1000:1000:app:/home/app:/bin/sh' \
    'nobody:x:65534:65534:nobody:/:/bin/sh' >"$r/etc/passwd"
  printf '%s\n' 'root:x:0:' 'app:x:1000:' 'extra:x:2000:app' 'nogroup:x:65534:' >"$r/etc/group"
  chmod 1777 "$r/tmp"
  chown 1000:1000 "$r/home/app"
}

# store_add TAG: import $LAYOUT:TAG into the store as docker.io/library/TAG:latest
store_add() {
  local tag=$1
  mkdir -p "$T/export"
  rm -rf "$T/export/$tag"
  skopeo copy -q "oci:$LAYOUT:$tag" "oci:$T/export/$tag:$tag" >/dev/null 2>&1 || return 1
  if ! hb load "$T/export/$tag" >/dev/null 2>&1; then
    mkdir -p "$STORE"
    skopeo copy -q "oci:$T/export/$tag:$tag" "oci:$STORE:docker.io/library/$tag:latest" >/dev/null || return 1
  fi
  hb inspect "$tag" >/dev/null 2>&1 || skopeo inspect "oci:$STORE:docker.io/library/$tag:latest" >/dev/null
}

# make_base TAG [umoci config options...]: busybox image with one layer
make_base() {
  local tag=$1; shift
  _bb_rootfs
  [ -d "$LAYOUT" ] || umoci init --layout "$LAYOUT" || return 1
  umoci new --image "$LAYOUT:$tag" || return 1
  tar -C "$T/.bbroot" --numeric-owner -cf "$T/bb.tar" . || return 1
  umoci raw add-layer --image "$LAYOUT:$tag" "$T/bb.tar" || return 1
  umoci config --image "$LAYOUT:$tag" --config.env PATH=/bin "$@" || return 1
}

# add_layer TAG PYTHON-CODE: append a hand-made layer; the code gets a tarfile `t`
# and helpers reg(name, data, mode, uid, gid), d(name, mode, uid, gid), wh(name).
add_layer() {
  local tag=$1 code=$2 f=$T/layer-$RANDOM.tar
  python3 - "$f" <<EOF || return 1
import io, sys, tarfile, time
t = tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT)
def info(name, typ, mode, uid=0, gid=0):
    i = tarfile.TarInfo(name); i.type = typ; i.mode = mode; i.uid = uid; i.gid = gid
    i.mtime = 1500000000; return i
def reg(name, data=b"", mode=0o644, uid=0, gid=0, pax=None):
    i = info(name, tarfile.REGTYPE, mode, uid, gid); i.size = len(data)
    if pax: i.pax_headers = pax
    t.addfile(i, io.BytesIO(data))
def d(name, mode=0o755, uid=0, gid=0):
    t.addfile(info(name, tarfile.DIRTYPE, mode, uid, gid))
def wh(name):
    reg(name)
def sym(name, target):
    i = info(name, tarfile.SYMTYPE, 0o777); i.linkname = target; t.addfile(i)
def hard(name, target):
    i = info(name, tarfile.LNKTYPE, 0o644); i.linkname = target; t.addfile(i)
def dev(name, typ, major, minor, mode=0o666):
    i = info(name, typ, mode); i.devmajor = major; i.devminor = minor; t.addfile(i)
$code
t.close()
EOF
  umoci raw add-layer --image "$LAYOUT:$tag" "$f"
}

# raw_layer FILE PYTHON-CODE: a bare tar (no image), same helpers
raw_layer() {
  local f=$1 code=$2
  python3 - "$f" <<EOF
import io, sys, tarfile
t = tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT)
def info(name, typ, mode=0o644):
    i = tarfile.TarInfo(name); i.type = typ; i.mode = mode; i.mtime = 1500000000; return i
def reg(name, data=b"x\n", mode=0o644):
    i = info(name, tarfile.REGTYPE, mode); i.size = len(data); t.addfile(i, io.BytesIO(data))
def d(name, mode=0o755):
    t.addfile(info(name, tarfile.DIRTYPE, mode))
def sym(name, target):
    i = info(name, tarfile.SYMTYPE, 0o777); i.linkname = target; t.addfile(i)
def hard(name, target):
    i = info(name, tarfile.LNKTYPE); i.linkname = target; t.addfile(i)
$code
t.close()
EOF
}

# store_image NAME LAYER-FILE...: write an image straight into the store (an
# OCI layout) with the given layer blobs as they are (gzip detected from the
# magic, so a truncated .gz stays truncated); config: Cmd ["sh"].
store_image() {
  local name=$1; shift
  [ -f "$STORE/index.json" ] || hb images >/dev/null 2>&1 || return 1
  python3 - "$STORE" "docker.io/library/$name:latest" "$@" <<'EOF2'
import gzip, hashlib, json, os, sys
store, ref, files = sys.argv[1], sys.argv[2], sys.argv[3:]
def put(data):
    d = hashlib.sha256(data).hexdigest()
    with open(os.path.join(store, "blobs", "sha256", d), "wb") as f:
        f.write(data)
    return "sha256:" + d
layers, diff_ids = [], []
for fn in files:
    data = open(fn, "rb").read()
    gz = data[:2] == b"\x1f\x8b"
    try:
        raw = gzip.decompress(data) if gz else data
    except Exception:
        raw = data
    diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
    mt = "application/vnd.oci.image.layer.v1.tar" + ("+gzip" if gz else "")
    layers.append({"mediaType": mt, "digest": put(data), "size": len(data)})
cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["sh"], "Env": ["PATH=/bin"]},
                  "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                  "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": put(cfg), "size": len(cfg)},
                  "layers": layers}).encode()
md = put(man)
ip = os.path.join(store, "index.json")
idx = json.load(open(ip))
idx["manifests"] = [m for m in idx.get("manifests", []) if m.get("annotations", {}).get("org.opencontainers.image.ref.name") != ref]
idx["manifests"].append({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": len(man),
                         "annotations": {"org.opencontainers.image.ref.name": ref}})
json.dump(idx, open(ip, "w"))
EOF2
}
