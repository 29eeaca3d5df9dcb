#!/usr/bin/env bash
# The local demo: nginx with liveshop and nginx-rtmp on localhost, an
# ffmpeg test stream, the player page with its host panel, the offers of
# config-examples/catalog.json and one of them pinned. Ctrl-C stops it.
# The nginx.conf is config-examples/nginx.conf with the demo's paths.
#
# Usage: scripts/demo.sh            (as root, or with sudo)
# Ports: LIVESHOP_HTTP_PORT (8080), LIVESHOP_RTMP_PORT (1935);
# build directory: LIVESHOP_BUILD (build/)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${LIVESHOP_BUILD:-$top/build}
http_port=${LIVESHOP_HTTP_PORT:-8080}
rtmp_port=${LIVESHOP_RTMP_PORT:-1935}
stream=live/demo
demo=$build/demo

"$top/scripts/setup-deps.sh" "$build"
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$(nproc)"

secret=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
mkdir -p "$demo/hls" "$demo/tmp" "$demo/logs" "$demo/web"

# The player page: web/ and hls.js (setup-deps.sh ran setup-web.sh).
cp "$top/web/"*.html "$top/web/"*.js "$top/web/"*.css "$demo/web/"
hls_js=$build/web-deps/node_modules/hls.js/dist/hls.min.js
if [ ! -f "$hls_js" ]; then
    echo "demo: $hls_js is missing: scripts/setup-web.sh $build" \
         "installs it from the npm registry" >&2
    exit 1
fi
cp "$hls_js" "$demo/web/"

# nginx.conf: config-examples/nginx.conf with the demo's paths, ports and
# secret, on loopback only.
user_line=""
[ "$(id -u)" = 0 ] && user_line="user root;"
sed -e "s|^user www-data;|$user_line|" \
    -e "s|/usr/lib/nginx/modules/ngx_live_shop_module.so|$build/nginx-module/ngx_live_shop_module.so|" \
    -e "s|/var/lib/liveshop/|$demo/|g" \
    -e "s|/usr/share/liveshop/web|$demo/web|" \
    -e "s|/var/log/nginx/liveshop-|$demo/logs/|" \
    -e "s|^worker_processes auto;|worker_processes 2;|" \
    -e "s|^rtmp_auto_push on;|rtmp_auto_push on;\nrtmp_socket_dir $demo/tmp;|" \
    -e "s|listen 1935;|listen 127.0.0.1:$rtmp_port;|" \
    -e "s|listen 8080;|listen 127.0.0.1:$http_port;|" \
    -e "s|live_shop_secret \"CHANGE-ME[^\"]*\";|live_shop_secret $secret;|" \
    "$top/config-examples/nginx.conf" >"$demo/nginx.conf"
if grep -nE '^[^#]*(/var/lib/liveshop|/usr/share/liveshop|CHANGE-ME|listen (1935|8080);)' \
        "$demo/nginx.conf" >&2; then
    echo "demo: config-examples/nginx.conf changed: the lines above were" \
         "not adapted" >&2
    exit 1
fi

pids=()
cleanup() {
    trap - INT TERM EXIT
    echo
    echo "demo: stopping"
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

/usr/sbin/nginx -p "$demo/" -c "$demo/nginx.conf" \
    -g "daemon off; pid $demo/nginx.pid;" &
pids+=($!)

for _ in $(seq 50); do
    curl -s -o /dev/null "http://127.0.0.1:$http_port/" && break
    sleep 0.1
done

# In real time, as a camera sends: ffmpeg 6.1+ (Debian 13) would first
# burst 0.5 s of input (0 means that default; 1 ms is no burst). Input
# options hold for the input they precede: both get them.
realtime=(-re)
if ffmpeg -hide_banner -h full 2>/dev/null | grep -q -- -readrate_initial_burst; then
    realtime+=(-readrate_initial_burst 0.001)
fi
ffmpeg -nostdin -loglevel error \
    "${realtime[@]}" -f lavfi -i "testsrc=size=640x360:rate=25" \
    "${realtime[@]}" -f lavfi -i "sine=frequency=440" \
    -c:v libx264 -preset ultrafast -tune zerolatency -g 50 \
    -c:a aac -f flv "rtmp://127.0.0.1:$rtmp_port/$stream" &
pids+=($!)

ctl() {
    LIVESHOP_SERVER="http://127.0.0.1:$http_port/shop/" \
        "$build/tools/liveshopctl" "$@"
}

token=$(ctl token --secret "$secret" "$stream" | tail -n 1)
export LIVESHOP_TOKEN=$token
# The catalog of config-examples/catalog.json, one offer at a time.
/usr/bin/python3 -c '
import json, sys
for o in json.load(open(sys.argv[1]))["offers"]:
    print(json.dumps(o, ensure_ascii=False))' "$top/config-examples/catalog.json" |
while IFS= read -r offer; do
    printf '%s' "$offer" | ctl offer put "$stream" - >/dev/null
done
ctl pin "$stream" sku-123 >/dev/null

for _ in $(seq 100); do
    [ -f "$demo/hls/demo.m3u8" ] && break
    sleep 0.2
done

cat <<EOF

liveshop demo is running (Ctrl-C stops it).

  player page   http://127.0.0.1:$http_port/
  host panel    http://127.0.0.1:$http_port/#token=$token
  HLS playlist  http://127.0.0.1:$http_port/hls/demo.m3u8
  RTMP stream   rtmp://127.0.0.1:$rtmp_port/$stream
  state         http://127.0.0.1:$http_port/shop/v1/streams/$stream/state
  control token $token

Try:
  export LIVESHOP_SERVER=http://127.0.0.1:$http_port/shop/ LIVESHOP_TOKEN=$token
  $build/tools/liveshopctl unpin $stream
  $build/tools/liveshopctl pin $stream sku-123 --duration 60
  $build/tools/liveshopctl pin $stream sku-9       # sponsored: its label shows
  $build/tools/liveshopctl countdown $stream 60 --label "Only now" --offer sku-123
  $build/tools/liveshopctl events $stream
  ffprobe -show_packets -show_data rtmp://127.0.0.1:$rtmp_port/$stream
EOF

wait "${pids[0]}"
