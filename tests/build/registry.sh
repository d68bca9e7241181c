#!/bin/bash
# husk-build against a real registry: pull (OCI, Docker v2s2, multi-layer,
# index by platform, by digest), the store (skopeo/umoci read it, shared
# layers once, GC), images/inspect/tag/rmi, load/save with skopeo, push, Basic
# auth (htpasswd, --creds, auth files), and bad input: each a clear one-line
# error and no partial state in the store.
. "$(dirname "$0")/registry-lib.sh"
hb_require

export HUSK_BUILD_RETRIES=1
start_registry plain || exit 1
REG=$REG_ADDR
start_registry auth htpasswd || exit 1
AREG=$REG_ADDR
make_test_images >"$T/make.log" 2>&1 || { echo "Bail out! cannot build test images: $(tail -5 "$T/make.log")"; exit 1; }
push_test_image base "$REG/test/base:1" &&
  push_test_image base "$REG/test/base:v2s2" --format v2s2 &&
  push_test_image layers "$REG/test/layers:1" &&
  push_test_image multi "$REG/test/multi:1" --all &&
  push_test_image unique "$REG/test/unique:1" &&
  push_test_image base "$AREG/private/base:1" --dest-creds user:pass ||
  { echo "Bail out! skopeo could not push the test images"; exit 1; }

q() { "$@" >/dev/null 2>&1; }
one_line() { [ -n "$1" ] && [ "$(printf '%s\n' "$1" | wc -l)" = 1 ]; }
blobs() { ls "$ST/blobs/sha256" 2>/dev/null | sort; }
tmp_empty() { [ -z "$(ls -A "$ST/tmp" 2>/dev/null)" ]; }

# ---- pull ------------------------------------------------------------------
out=$(HB pull "$REG/test/base:1" 2>"$T/err"); rc=$?
is "pull OCI image: exit 0" 0 "$rc"
want=$(registry_digest "$REG/test/base:1")
is "pull prints the manifest digest the registry serves" "$want" "$out"
check "manifest blob stored under its digest" test -f "$ST/blobs/sha256/${want#sha256:}"
cfg=$(jq -r .config.digest "$ST/blobs/sha256/${want#sha256:}")
layer=$(jq -r '.layers[0].digest' "$ST/blobs/sha256/${want#sha256:}")
check "config and layer blobs stored" test -f "$ST/blobs/sha256/${cfg#sha256:}" -a -f "$ST/blobs/sha256/${layer#sha256:}"
is "stored layer hashes to its digest" "${layer#sha256:}" "$(sha256sum "$ST/blobs/sha256/${layer#sha256:}" | cut -d' ' -f1)"
is "index.json names the image" "$REG/test/base:1" \
  "$(jq -r --arg d "$want" '.manifests[] | select(.digest == $d) | .annotations["org.opencontainers.image.ref.name"]' "$ST/index.json")"
like "progress on a pipe: plain lines" "^Copying blob [0-9a-f]{12}" "$(grep 'Copying blob' "$T/err" | head -1)"
unlike "progress on a pipe: no escape sequences" $'\033' "$(cat "$T/err")"
is "skopeo reads the store (oci: transport)" "$want" \
  "$(skopeo inspect "oci:$ST:$REG/test/base:1" 2>&1 | jq -r .Digest)"
like "umoci lists the store" "$REG/test/base:1" "$(umoci ls --layout "$ST" 2>&1)"
check "no temporary files left" tmp_empty

before=$(blobs | wc -l)
out=$(HB pull -q "$REG/test/base:v2s2" 2>"$T/err"); rc=$?
is "pull Docker v2s2 image: exit 0" 0 "$rc"
is "v2s2 digest matches the registry" "$(registry_digest "$REG/test/base:v2s2")" "$out"
is "v2s2 manifest kept as Docker media type" "application/vnd.docker.distribution.manifest.v2+json" \
  "$(HB inspect "$REG/test/base:v2s2" | jq -r .ManifestMediaType)"
is "shared layer and config stored once (only the manifest is new)" $((before + 1)) "$(blobs | wc -l)"

out=$(HB pull -q "$REG/test/layers:1" 2>&1); rc=$?
is "pull multi-layer image: exit 0" 0 "$rc"
is "multi-layer: three layers" 3 "$(HB inspect "$REG/test/layers:1" | jq '.Manifest.layers | length')"
is "multi-layer: diff_ids match layers" 3 "$(HB inspect "$REG/test/layers:1" | jq '.Config.rootfs.diff_ids | length')"
wh=$(tar tzf "$ST/blobs/sha256/$(HB inspect "$REG/test/layers:1" | jq -r '.Manifest.layers[2].digest | ltrimstr("sha256:")')" 2>/dev/null)
like "multi-layer: the third layer carries the whiteout" '(^|/)etc/\.wh\.hello$' "$wh"

idx=$(skopeo inspect --raw --tls-verify=false "docker://$REG/test/multi:1")
amd=$(printf '%s' "$idx" | jq -r '.manifests[] | select(.platform.architecture == "amd64") | .digest')
arm=$(printf '%s' "$idx" | jq -r '.manifests[] | select(.platform.architecture == "arm64") | .digest')
out=$(HB pull -q --platform linux/amd64 "$REG/test/multi:1" 2>&1); rc=$?
is "pull index for linux/amd64: exit 0" 0 "$rc"
is "index resolved to the amd64 manifest" "$amd" "$out"
out=$(HB pull -q --platform linux/arm64 "$REG/test/multi:1" 2>&1)
is "index resolved to the arm64 manifest with --platform linux/arm64" "$arm" "$out"
is "arm64 image config says arm64" arm64 "$(HB inspect "$REG/test/multi:1" | jq -r .Config.architecture)"
out=$(HB pull -q --platform linux/s390x "$REG/test/multi:1" 2>&1); rc=$?
is "index without the platform: exit 1" 1 "$rc"
like "index without the platform: error lists what there is" "no image for platform .linux/s390x. \(have: linux/amd64, linux/arm64/v8\)" "$out"

out=$(HB pull -q "$REG/test/base@$want" 2>&1); rc=$?
is "pull by digest: exit 0" 0 "$rc"
is "pull by digest: same manifest" "$want" "$out"
is "pull by digest: resolvable by name@digest" "$want" "$(HB inspect "$REG/test/base@$want" | jq -r .Digest)"
HB rmi "$REG/test/base@$want" >/dev/null 2>&1

# ---- images / inspect / tag / rmi --------------------------------------------
check "tag SRC busybox" q HB tag "$REG/test/base:1" busybox
is "short name normalised in the store" "$want" \
  "$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "docker.io/library/busybox:latest") | .digest' "$ST/index.json")"
is "inspect busybox (short name)" "$want" "$(HB inspect busybox | jq -r .Digest)"
is "inspect docker.io/library/busybox:latest" "$want" "$(HB inspect docker.io/library/busybox:latest | jq -r .Digest)"
is "inspect by image ID prefix" "$want" "$(HB inspect "${cfg:7:12}" | jq -r .Digest)"
is "inspect: config Cmd" '["/bin/sh"]' "$(HB inspect busybox | jq -c .Config.config.Cmd)"
is "inspect: config Env" 'FOO=bar' "$(HB inspect busybox | jq -r '.Config.config.Env[] | select(startswith("FOO="))')"
is "inspect: names" "$(printf '%s\n' "$REG/test/base:1" docker.io/library/busybox:latest | sort)" \
  "$(HB inspect busybox | jq -r '.Names[]' | sort)"
table=$(HB images)
like "images: table header" '^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE' "$(echo "$table" | head -1)"
like "images: a row per name" "docker.io/library/busybox +latest +${cfg:7:12}" "$table"
js=$(HB images --format json)
is "images --format json: valid JSON array" array "$(printf '%s' "$js" | jq -r type)"
like "images --format json: names and ids" "$REG/test/base:1" "$(printf '%s' "$js" | jq -r --arg d "$want" '.[] | select(.Digest == $d) | .Names[]')"
out=$(HB inspect nosuch:image 2>&1); rc=$?
is "inspect unknown image: exit 1" 1 "$rc"
like "inspect unknown image: does not exist" "image .nosuch:image. does not exist" "$out"

l1=$(HB inspect "$REG/test/layers:1" | jq -r '.Manifest.layers[1].digest | ltrimstr("sha256:")')
out=$(HB rmi "$REG/test/layers:1" 2>&1); rc=$?
is "rmi: exit 0" 0 "$rc"
like "rmi: says what it removed" "Untagged: $REG/test/layers:1" "$out"
check "rmi: unreferenced layers garbage-collected" test ! -e "$ST/blobs/sha256/$l1"
check "rmi: shared layer kept" test -f "$ST/blobs/sha256/${layer#sha256:}"
out=$(HB rmi busybox 2>&1)
check "rmi of one of two names keeps the image" q HB inspect "$REG/test/base:1"
unlike "rmi of one name: no Deleted line" Deleted "$out"
HB rmi "$REG/test/base:1" "$REG/test/base:v2s2" "$REG/test/multi:1" >/dev/null 2>&1
is "rmi of everything: no blobs left" "" "$(blobs)"
is "rmi of everything: empty index" 0 "$(jq '.manifests | length' "$ST/index.json")"

# ---- save / load (skopeo on the other side) -------------------------------
HB pull -q "$REG/test/layers:1" >/dev/null 2>&1
ld=$(HB inspect "$REG/test/layers:1" | jq -r .Digest)
check "save IMAGE FILE" q HB save "$REG/test/layers:1" "$T/save.tar"
is "skopeo reads the saved oci-archive: same digest" "$ld" "$(skopeo inspect "oci-archive:$T/save.tar" | jq -r .Digest)"
check "skopeo copies the saved archive" q skopeo copy -q "oci-archive:$T/save.tar" "oci:$T/from-save:x"
HB rmi "$REG/test/layers:1" >/dev/null 2>&1
out=$(HB load "$T/save.tar" 2>&1); rc=$?
is "load own oci-archive: exit 0" 0 "$rc"
like "load keeps the ref name" "Loaded image: $REG/test/layers:1" "$out"
is "load round trip: same manifest digest" "$ld" "$(HB inspect "$REG/test/layers:1" | jq -r .Digest)"
skopeo copy -q "oci:$L:base" "oci-archive:$T/sk.tar:example.org/sk/img:2" >/dev/null
out=$(HB load "$T/sk.tar" 2>&1); rc=$?
is "load skopeo oci-archive: exit 0" 0 "$rc"
like "load skopeo oci-archive: ref name kept" "Loaded image: example.org/sk/img:2" "$out"
is "load skopeo oci-archive: digest kept" "$(skopeo inspect "oci-archive:$T/sk.tar" | jq -r .Digest)" \
  "$(HB inspect example.org/sk/img:2 | jq -r .Digest)"
skopeo copy -q "oci:$L:layers" "docker-archive:$T/dk.tar:dock/img:7" >/dev/null
out=$(HB load "$T/dk.tar" 2>&1); rc=$?
is "load docker-archive: exit 0" 0 "$rc"
like "load docker-archive: RepoTags kept" "Loaded image: docker.io/dock/img:7" "$out"
is "load docker-archive: converted to an OCI manifest" application/vnd.oci.image.manifest.v1+json \
  "$(HB inspect dock/img:7 | jq -r .ManifestMediaType)"
is "load docker-archive: diff_ids are the layer digests" \
  "$(HB inspect dock/img:7 | jq -c '[.Manifest.layers[].digest]')" "$(HB inspect dock/img:7 | jq -c .Config.rootfs.diff_ids)"
check "load docker-archive: skopeo reads the converted image" q skopeo inspect "oci:$ST:docker.io/dock/img:7"
out=$(HB load "$L" 2>&1); rc=$?
is "load OCI layout dir: exit 0" 0 "$rc"
like "load OCI layout dir: names from the layout" "Loaded image: docker.io/library/base:latest" "$out"
is "load OCI layout dir: digest kept" "$(_layout_digest base)" "$(HB inspect base | jq -r .Digest)"

# ---- push -------------------------------------------------------------------
out=$(HB push "$REG/test/layers:1" "$REG/pushed/layers:1" 2>"$T/err"); rc=$?
is "push: exit 0" 0 "$rc"
is "push: registry serves the same manifest" "$ld" "$(registry_digest "$REG/pushed/layers:1")"
is "push: skopeo sees the same layers" "$(HB inspect "$REG/test/layers:1" | jq -c '[.Manifest.layers[].digest]')" \
  "$(skopeo inspect --tls-verify=false "docker://$REG/pushed/layers:1" | jq -c .Layers)"
rm -rf "$T/back" && skopeo copy -q --src-tls-verify=false "docker://$REG/pushed/layers:1" "oci:$T/back:x" >/dev/null
is "push: skopeo pulls back an identical image" "$ld" "$(jq -r '.manifests[0].digest' "$T/back/index.json")"
HB push "$REG/test/layers:1" "$REG/pushed/layers:2" >/dev/null 2>"$T/err"
is "push again: every blob skipped (HEAD)" 4 "$(grep -c 'skipped: already exists' "$T/err")"
out=$(HB push dock/img:7 "$REG/pushed/dock:7" 2>&1); rc=$?
is "push loaded docker-archive image: exit 0" 0 "$rc"
check "push loaded image: skopeo inspects it" q skopeo inspect --tls-verify=false "docker://$REG/pushed/dock:7"

# ---- Basic auth ---------------------------------------------------------------
snap=$(store_snapshot)
out=$(HB pull -q "$AREG/private/base:1" 2>&1); rc=$?
is "auth registry without creds: exit 1" 1 "$rc"
like "auth registry without creds: 401 named" "^husk-build: pull $AREG/private/base:1: unauthorized: authentication required \(401\)" "$out"
check "auth registry without creds: one-line error" one_line "$out"
out=$(HB pull -q --creds user:wrong "$AREG/private/base:1" 2>&1); rc=$?
is "wrong creds: exit 1" 1 "$rc"
like "wrong creds: rejected (401)" "rejected the credentials of .user. \(401\)" "$out"
is "failed auth: store unchanged" "$snap" "$(store_snapshot)"
out=$(HB pull -q --creds user:pass "$AREG/private/base:1" 2>&1); rc=$?
is "--creds user:pass: exit 0" 0 "$rc"
HB rmi "$AREG/private/base:1" >/dev/null 2>&1
mkdir -p "$T/dockercfg"
printf '{"auths":{"%s":{"auth":"%s"}}}' "$AREG" "$(printf user:pass | base64)" >"$T/dockercfg/config.json"
out=$(DOCKER_CONFIG=$T/dockercfg HB pull -q "$AREG/private/base:1" 2>&1); rc=$?
is "creds from \$DOCKER_CONFIG/config.json auths: exit 0" 0 "$rc"
HB rmi "$AREG/private/base:1" >/dev/null 2>&1
printf '{"auths":{"http://%s":{"auth":"%s"}}}' "$AREG" "$(printf user:pass | base64)" >"$T/auth.json"
out=$(HB pull -q --authfile "$T/auth.json" "$AREG/private/base:1" 2>&1); rc=$?
is "creds from --authfile (containers auth.json): exit 0" 0 "$rc"
out=$(HB push --creds user:pass "$REG/test/layers:1" "$AREG/private/layers:1" 2>&1); rc=$?
is "push with Basic auth: exit 0" 0 "$rc"
is "push with Basic auth: digest" "$ld" "$(skopeo inspect --raw --creds user:pass --tls-verify=false "docker://$AREG/private/layers:1" | sha256sum | sed 's/^/sha256:/; s/ .*//')"

# ---- Bearer tokens (a fake token-auth registry serving the test layout) --------
fake_server bearer && BREG=$FAKE_ADDR
out=$(HB pull -q --creds user:pass "$BREG/test/img:base" 2>&1); rc=$?
is "Bearer: token fetched with Basic creds, pull exit 0" 0 "$rc"
is "Bearer: pulled the layout's manifest" "$(_layout_digest base)" "$out"
out=$(HB pull -q --creds user:pass --platform linux/arm64 "$BREG/test/img:multi" 2>&1); rc=$?
is "Bearer: index resolved with the same token" "$(_layout_digest arm)" "$out"
snap=$(store_snapshot)
out=$(HB pull -q "$BREG/test/img:layers" 2>&1); rc=$?
is "Bearer without creds: exit 1" 1 "$rc"
like "Bearer without creds: the token endpoint's 401 is named" "get token from http://$BREG/token: authentication required \(401\)$" "$out"
is "Bearer without creds: store unchanged" "$snap" "$(store_snapshot)"

# ---- transient failures are retried -----------------------------------------------
fake_server flaky && FREG=$FAKE_ADDR
main_store=$ST
ST=$T/flaky-store
out=$(HB pull -q "$FREG/test/img:layers" 2>&1); rc=$?
is "503 on the manifest and cut-off blobs: pull retries and succeeds" 0 "$rc"
is "after retries: the right manifest" "$(_layout_digest layers)" "$out"
is "after retries: every blob was cut off once (config + 3 layers) and the manifest 503'd once" 5 "$(wc -l <"$T/flaky.log")"
check "after retries: no temporary files" tmp_empty
ST=$main_store

# ---- a TTY gets progress bars ---------------------------------------------------------
if command -v script >/dev/null; then
  rm -rf "$T/ttystore"
  TERM=xterm script -qec "$HUSK_BUILD --store $T/ttystore pull $REG/test/layers:1" /dev/null >"$T/tty.out" 2>&1
  like "TTY: progress bars" '\[=*>? *\] [0-9.]+ [kM]?B / [0-9.]+ [kM]?B|\[=+\]' "$(tr '\r' '\n' <"$T/tty.out")"
  like "TTY: redrawn in place (cursor up)" $'\033\\[[0-9]+A' "$(cat "$T/tty.out")"
else
  skip "TTY: progress bars (no script(1))"
  skip "TTY: redrawn in place (no script(1))"
fi

# ---- bad input: clear errors, nothing partial -----------------------------------
# bad_pull DESC REGEX REF [pull options]
bad_pull() {
  local desc=$1 re=$2 ref=$3 snap out rc
  shift 3
  snap=$(store_snapshot)
  out=$(HB pull -q "$@" "$ref" 2>&1); rc=$?
  diag "$desc: $out"
  is "$desc: exit 1" 1 "$rc"
  like "$desc: the error says why" "$re" "$out"
  if one_line "$out"; then ok "$desc: one-line error"; else not_ok "$desc: one-line error"; diag "output: [$out]"; fi
  is "$desc: store unchanged" "$snap" "$(store_snapshot)"
  check "$desc: no temporary files" tmp_empty
}

# from here on: a store holding just one image
rm -rf "$ST"
HB pull -q "$REG/test/base:1" >/dev/null 2>&1
bad_pull "missing tag" "^husk-build: pull $REG/test/base:nope: manifest unknown \(404\)$" "$REG/test/base:nope"
bad_pull "missing repository" "\(404\)$" "$REG/nosuch/repo:1"

# a tampered blob: same size, one byte changed in the registry's storage
ud=$(registry_digest "$REG/test/unique:1")
ul=$(skopeo inspect --raw --tls-verify=false "docker://$REG/test/unique:1" | jq -r '.layers[1].digest')
f=$(registry_blob_file plain "$ul")
printf 'X' | dd of="$f" bs=1 seek=100 conv=notrunc status=none
bad_pull "tampered layer blob" "blob $ul: digest mismatch: the content hashes to sha256:[0-9a-f]{64}$" "$REG/test/unique:1"
check "tampered layer: nothing of it stored" test ! -e "$ST/blobs/sha256/${ul#sha256:}"

# a truncated gzip layer whose digest is right (the registry serves it as is)
base_layer=$(HB inspect "$REG/test/base:1" | jq -r '.Manifest.layers[0].digest | ltrimstr("sha256:")')
head -c 400000 "$ST/blobs/sha256/$base_layer" >"$T/trunc.gz"
tl=$(curl_put_blob "$REG" bad/trunc "$T/trunc.gz")
HB inspect "$REG/test/base:1" | jq -c '.Config | .created = "2000-01-01T00:00:00Z"' >"$T/trunc-config.json"
tc=$(curl_put_blob "$REG" bad/trunc "$T/trunc-config.json")
jq -cn --arg c "$tc" --argjson cs "$(stat -c %s "$T/trunc-config.json")" --arg l "$tl" --argjson ls "$(stat -c %s "$T/trunc.gz")" \
  '{schemaVersion:2,mediaType:"application/vnd.oci.image.manifest.v1+json",config:{mediaType:"application/vnd.oci.image.config.v1+json",digest:$c,size:$cs},layers:[{mediaType:"application/vnd.oci.image.layer.v1.tar+gzip",digest:$l,size:$ls}]}' >"$T/trunc-manifest.json"
curl_put_manifest "$REG" bad/trunc 1 "$T/trunc-manifest.json" application/vnd.oci.image.manifest.v1+json
bad_pull "truncated gzip layer" "layer $tl: cannot decompress: .*(truncated|premature|unexpected)" "$REG/bad/trunc:1"

# an unknown layer media type, put with curl
jq -c '.layers[0].mediaType = "application/vnd.example.unknown.layer"' "$T/trunc-manifest.json" >"$T/unknown-manifest.json"
curl_put_manifest "$REG" bad/trunc unknown "$T/unknown-manifest.json" application/vnd.oci.image.manifest.v1+json
bad_pull "unknown layer media type" "unsupported layer media type .application/vnd.example.unknown.layer." "$REG/bad/trunc:unknown"
jq -c '.config.mediaType = "application/vnd.example.config+json"' "$T/trunc-manifest.json" >"$T/unknown-config.json"
curl_put_manifest "$REG" bad/trunc unknowncfg "$T/unknown-config.json" application/vnd.oci.image.manifest.v1+json
bad_pull "unknown config media type" "unsupported config media type .application/vnd.example.config\+json." "$REG/bad/trunc:unknowncfg"

fake_server 500 && F500=$FAKE_ADDR
bad_pull "HTTP 500" "^husk-build: pull $F500/x/y:1: internal server error \(500\)$" "$F500/x/y:1"
fake_server drop && FDROP=$FAKE_ADDR
bad_pull "dropped connection" "^husk-build: pull $FDROP/x/y:1: connection to $FDROP failed: .*(Empty reply|reset|closed)" "$FDROP/x/y:1"
port=$(free_port)
bad_pull "nothing listening" "connection to 127.0.0.1:$port failed" "127.0.0.1:$port/x/y:1"
bad_pull "invalid reference" "invalid reference .UPPER/Case:1." "UPPER/Case:1"

# a blob that fails mid-pull: the others must not stay behind either
rm -f "$(registry_blob_file plain "$(skopeo inspect --raw --tls-verify=false "docker://$REG/test/layers:1" | jq -r '.layers[2].digest')")"
snap=$(store_snapshot)
out=$(HB pull -q "$REG/test/layers:1" 2>&1); rc=$?
is "blob missing in the registry: exit 1" 1 "$rc"
like "blob missing in the registry: error names the blob" "blob sha256:[0-9a-f]{64}: .*\((404|500)\)" "$out"
is "blob missing in the registry: store unchanged" "$snap" "$(store_snapshot)"

# ---- concurrency: parallel pulls into one store ---------------------------------
rm -rf "$ST"
HB pull -q "$REG/test/base:1" >/dev/null 2>&1 &
p1=$!
HB pull -q "$REG/test/unique:1" >/dev/null 2>&1 || true
HB pull -q "$REG/test/multi:1" >/dev/null 2>&1 &
p2=$!
HB pull -q "$REG/test/base:v2s2" >/dev/null 2>&1 &
p3=$!
wait $p1; r1=$?; wait $p2; r2=$?; wait $p3; r3=$?
is "parallel pulls: all succeed" "0 0 0" "$r1 $r2 $r3"
is "parallel pulls: every ref in index.json" 3 "$(jq '[.manifests[] | select(.annotations)] | length' "$ST/index.json")"

done_testing
