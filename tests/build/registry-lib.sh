# husk-build tests: shared helpers — a real registry (Debian's docker-registry)
# on 127.0.0.1, test images made from busybox-static with umoci, pushed with
# skopeo, and fake HTTP servers (socat) for failure cases.
#
# Source it from a tests/build/*.sh file; it sources tests/integration/lib.sh
# for the TAP helpers (ok, not_ok, is, like, check, diag, done_testing) and $T.
#
#   HB ARGS...              husk-build with the test's store ($ST)
#   hb_require              skip the whole file unless the tools are there
#   start_registry NAME [htpasswd]   a new registry; sets REG_ADDR=host:port
#   make_test_images        OCI layout $L with tags base, layers, arm, multi
#                           (an index: linux/amd64 + linux/arm64), unique
#   fake_server MODE        a socat responder (500, drop, bearer, flaky); sets FAKE_ADDR
#                           bearer: a read-only registry serving the layout $L
#                           that wants a Bearer token, from its /token endpoint,
#                           which wants Basic user:pass
#                           flaky: the same without auth, but the first GET of
#                           each manifest is a 503 and the first GET of each
#                           blob is cut off half-way (counted in $T/flaky.log)
#   store_snapshot          a listing of the store's files (for "no partial state")
set -u
HUSK=${HUSK:-/bin/true}
. "${HUSK_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/tests/integration/lib.sh"

HUSK_BUILD=${HUSK_BUILD:?HUSK_BUILD must point at the built husk-build binary}
ST=$T/store
L=$T/layout
_hb_pids=()

HB() { timeout -k 5 120 "$HUSK_BUILD" --store "$ST" "$@"; }

_hb_cleanup() {
  local p
  for p in "${_hb_pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${_hb_pids[@]}"; do wait "$p" 2>/dev/null; done
  _cleanup
}
trap _hb_cleanup EXIT

hb_require() {
  local t missing=
  for t in docker-registry skopeo umoci htpasswd socat jq curl busybox; do
    command -v "$t" >/dev/null || missing="$missing $t"
  done
  if [ -n "$missing" ]; then
    echo "1..0 # SKIP missing:$missing (apt install docker-registry skopeo umoci apache2-utils socat jq curl busybox-static)"
    exit 0
  fi
}

free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 12000)) # below the ephemeral range (32768-)
    if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then echo "$p"; return 0; fi
  done
  return 1
}

# wait_port PORT: until something listens (5 s)
wait_port() {
  local i
  for i in $(seq 1 100); do
    (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

# start_registry NAME [htpasswd]: a registry with its own config and storage;
# sets REG_ADDR (not in a $(...): the pid must be recorded for the cleanup)
start_registry() {
  local name=$1 auth=${2:-} port dir
  port=$(free_port) || return 1
  dir=$T/reg-$name
  mkdir -p "$dir/data"
  {
    echo "version: 0.1"
    echo "log:"
    echo "  level: error"
    echo "  accesslog:"
    echo "    disabled: true"
    echo "storage:"
    echo "  filesystem:"
    echo "    rootdirectory: $dir/data"
    echo "  delete:"
    echo "    enabled: true"
    echo "http:"
    echo "  addr: 127.0.0.1:$port"
    if [ "$auth" = htpasswd ]; then
      htpasswd -Bbn user pass >"$dir/htpasswd"
      echo "auth:"
      echo "  htpasswd:"
      echo "    realm: husk-test"
      echo "    path: $dir/htpasswd"
    fi
  } >"$dir/config.yml"
  docker-registry serve "$dir/config.yml" </dev/null >"$dir/log" 2>&1 &
  _hb_pids+=($!)
  wait_port "$port" || { echo "Bail out! registry $name did not start: $(cat "$dir/log")"; return 1; }
  REG_ADDR=127.0.0.1:$port
}

# registry_blob_file NAME DIGEST: the file the registry serves for a blob
registry_blob_file() {
  local hex=${2#sha256:}
  echo "$T/reg-$1/data/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data"
}

# fake_server MODE: 500 (every request gets a 500) or drop (the connection is
# closed without an answer)
fake_server() {
  local port script
  port=$(free_port) || return 1
  script=$T/fake-$1-$port.sh
  case $1 in
    500) printf '%s\n' '#!/bin/bash' 'read -r line' 'while read -r h && [ "${h%$'"'"'\r'"'"'}" != "" ]; do :; done' \
      'printf "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: 74\r\nConnection: close\r\n\r\n"' \
      'printf "{\"errors\":[{\"code\":\"UNKNOWN\",\"message\":\"internal server error\",\"detail\":{}}]}"' >"$script" ;;
    drop) printf '%s\n' '#!/bin/bash' 'read -r line' 'exit 0' >"$script" ;;
    bearer | flaky) sed "s|@LAYOUT@|$L|; s|@PORT@|$port|; s|@MODE@|$1|; s|@STATE@|$T/flaky|" >"$script" <<'SERVER'
#!/bin/bash
# One HTTP/1.1 exchange on stdin/stdout (socat runs one per connection).
L=@LAYOUT@ MODE=@MODE@ STATE=@STATE@
read -r method path _
auth=
while IFS= read -r h; do
  h=${h%$'\r'}
  [ -z "$h" ] && break
  case ${h,,} in authorization:*) auth=${h#*: } ;; esac
done
reply() { # STATUS CONTENT-TYPE BODY-FILE [EXTRA-HEADER]
  printf 'HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %s\r\nConnection: close\r\n' "$1" "$2" "$(stat -c %s "$3")"
  [ -n "${4:-}" ] && printf '%s\r\n' "$4"
  printf '\r\n'
  [ "$method" = HEAD ] || cat "$3"
}
body=$(mktemp)
trap 'rm -f "$body"' EXIT
case $path in
  /token*)
    if [ "$auth" = "Basic $(printf user:pass | base64)" ]; then
      echo '{"token":"good-token","expires_in":300}' >"$body"; reply "200 OK" application/json "$body"
    else
      echo '{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}' >"$body"
      reply "401 Unauthorized" application/json "$body"
    fi ;;
  /v2/*)
    if [ "$MODE" = flaky ]; then
      mkdir -p "$STATE"
      key=$(printf '%s' "$path" | sha256sum | cut -c1-16)
      if [ ! -e "$STATE/$key" ] && [ "$method" = GET ] && [ "$path" != /v2/ ]; then
        touch "$STATE/$key"
        echo "$path" >>"$STATE.log"
        case $path in
          */manifests/*)
            echo '{"errors":[{"code":"UNAVAILABLE","message":"try again"}]}' >"$body"
            reply "503 Service Unavailable" application/json "$body"; exit 0 ;;
          */blobs/*)
            f=$L/blobs/sha256/${path##*sha256:}
            printf 'HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %s\r\nConnection: close\r\n\r\n' "$(stat -c %s "$f")"
            head -c $(($(stat -c %s "$f") / 2)) "$f"; exit 0 ;;
        esac
      fi
    elif [ "$auth" != "Bearer good-token" ]; then
      echo '{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}' >"$body"
      reply "401 Unauthorized" application/json "$body" \
        'WWW-Authenticate: Bearer realm="http://127.0.0.1:@PORT@/token",service="fake-registry",scope="repository:test/img:pull"'
      exit 0
    fi
    case $path in
      */manifests/*)
        ref=${path##*/}
        d=$(jq -r --arg r "$ref" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $r or .digest == $r) | .digest' "$L/index.json" | head -1)
        mt=$(jq -r --arg d "$d" '.manifests[] | select(.digest == $d) | .mediaType' "$L/index.json" | head -1)
        if [ -n "$d" ]; then reply "200 OK" "$mt" "$L/blobs/sha256/${d#sha256:}" "Docker-Content-Digest: $d"
        else echo '{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}' >"$body"; reply "404 Not Found" application/json "$body"; fi ;;
      */blobs/sha256:*)
        d=${path##*/}
        if [ -f "$L/blobs/sha256/${d#sha256:}" ]; then reply "200 OK" application/octet-stream "$L/blobs/sha256/${d#sha256:}"
        else echo '{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry"}]}' >"$body"; reply "404 Not Found" application/json "$body"; fi ;;
      *) echo '{}' >"$body"; reply "200 OK" application/json "$body" ;;
    esac ;;
  *) echo '{}' >"$body"; reply "404 Not Found" application/json "$body" ;;
esac
SERVER
    ;;
  esac
  chmod +x "$script"
  socat TCP-LISTEN:"$port",bind=127.0.0.1,fork,reuseaddr EXEC:"$script" </dev/null >/dev/null 2>&1 &
  _hb_pids+=($!)
  wait_port "$port" || return 1
  FAKE_ADDR=127.0.0.1:$port
}

# make_test_images: the OCI layout $L
#   base    busybox + a few links, Cmd ["/bin/sh"], Env FOO=bar
#   layers  base + a layer adding /etc/hello and /data/a + a layer deleting
#           /etc/hello (a whiteout) and adding /data/b
#   arm     base's layer with architecture arm64
#   multi   an index of base (linux/amd64) and arm (linux/arm64/v8)
#   unique  base + a layer with random content (for tampering)
make_test_images() {
  local b=$T/bundle-tmp a
  umoci init --layout "$L" || return 1
  umoci new --image "$L:base" || return 1
  umoci unpack --image "$L:base" "$b" >/dev/null || return 1
  mkdir -p "$b/rootfs/bin" "$b/rootfs/etc" "$b/rootfs/tmp"
  cp "$(command -v busybox)" "$b/rootfs/bin/busybox"
  for a in sh ls cat echo true false env id; do ln -sf busybox "$b/rootfs/bin/$a"; done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$b/rootfs/etc/passwd"
  umoci repack --image "$L:base" "$b" >/dev/null || return 1
  umoci config --image "$L:base" --config.cmd /bin/sh --config.env FOO=bar --config.workingdir / \
    --config.label org.example=test --architecture amd64 --os linux || return 1

  umoci tag --image "$L:base" layers || return 1
  rm -rf "$b" && umoci unpack --image "$L:layers" "$b" >/dev/null || return 1
  mkdir -p "$b/rootfs/data" && echo hello >"$b/rootfs/etc/hello" && echo a >"$b/rootfs/data/a"
  umoci repack --image "$L:layers" "$b" >/dev/null || return 1
  rm -rf "$b" && umoci unpack --image "$L:layers" "$b" >/dev/null || return 1
  rm "$b/rootfs/etc/hello" && echo b >"$b/rootfs/data/b"
  umoci repack --image "$L:layers" "$b" >/dev/null || return 1

  umoci tag --image "$L:base" unique || return 1
  rm -rf "$b" && umoci unpack --image "$L:unique" "$b" >/dev/null || return 1
  head -c 65536 /dev/urandom >"$b/rootfs/random"
  umoci repack --image "$L:unique" "$b" >/dev/null || return 1

  umoci tag --image "$L:base" arm || return 1
  umoci config --image "$L:arm" --architecture arm64 || return 1
  rm -rf "$b"

  # The index: written by hand into the layout, with platforms.
  local bd bs ad as idx d s
  bd=$(_layout_digest base); bs=$(_blob_size "$bd")
  ad=$(_layout_digest arm); as=$(_blob_size "$ad")
  idx=$(jq -cn --arg bd "$bd" --argjson bs "$bs" --arg ad "$ad" --argjson asz "$as" '{schemaVersion:2,
    mediaType:"application/vnd.oci.image.index.v1+json", manifests:[
    {mediaType:"application/vnd.oci.image.manifest.v1+json",digest:$bd,size:$bs,platform:{os:"linux",architecture:"amd64"}},
    {mediaType:"application/vnd.oci.image.manifest.v1+json",digest:$ad,size:$asz,platform:{os:"linux",architecture:"arm64",variant:"v8"}}]}') || return 1
  d=sha256:$(printf '%s' "$idx" | sha256sum | cut -d' ' -f1)
  s=$(printf '%s' "$idx" | wc -c)
  printf '%s' "$idx" >"$L/blobs/sha256/${d#sha256:}"
  jq --arg d "$d" --argjson s "$s" '.manifests += [{mediaType:"application/vnd.oci.image.index.v1+json",digest:$d,size:$s,
    annotations:{"org.opencontainers.image.ref.name":"multi"}}]' "$L/index.json" >"$L/index.json.new" &&
    mv "$L/index.json.new" "$L/index.json"
}
_layout_digest() { jq -r --arg t "$1" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t) | .digest' "$L/index.json"; }
_blob_size() { stat -c %s "$L/blobs/sha256/${1#sha256:}"; }

# push_test_image TAG DEST [skopeo options]
push_test_image() {
  local tag=$1 dest=$2; shift 2
  skopeo copy -q --dest-tls-verify=false "$@" "oci:$L:$tag" "docker://$dest" >/dev/null
}

# registry_digest REF: sha256 of the manifest bytes the registry serves
registry_digest() {
  echo "sha256:$(skopeo inspect --raw --tls-verify=false "docker://$1" | sha256sum | cut -d' ' -f1)"
}

# Upload a file as a blob with curl (for hand-made bad images); echoes the digest.
curl_put_blob() {
  local reg=$1 repo=$2 file=$3 d loc
  d=sha256:$(sha256sum "$file" | cut -d' ' -f1)
  loc=$(curl -s -D - -o /dev/null -X POST "http://$reg/v2/$repo/blobs/uploads/" | tr -d '\r' | awk 'tolower($1) == "location:" {print $2}')
  case $loc in http*) ;; *) loc=http://$reg$loc ;; esac
  case $loc in *\?*) loc="$loc&digest=$d" ;; *) loc="$loc?digest=$d" ;; esac
  curl -sf -X PUT -H 'Content-Type: application/octet-stream' --data-binary @"$file" "$loc" >/dev/null || return 1
  echo "$d"
}
curl_put_manifest() {
  local reg=$1 repo=$2 tag=$3 file=$4 mt=$5
  curl -sf -X PUT -H "Content-Type: $mt" --data-binary @"$file" "http://$reg/v2/$repo/manifests/$tag" >/dev/null
}

# store_snapshot: every file of the store (but the lock files) with its hash
store_snapshot() {
  (cd "$ST" 2>/dev/null && find . -type f ! -name lock ! -name index.lock -print0 | sort -z | xargs -0 -r sha256sum)
}
