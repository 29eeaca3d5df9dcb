#!/usr/bin/env bash
# The local demo: nginx with liveshop and nginx-rtmp on localhost, an
# ffmpeg test stream, the player page and a pinned offer. Ctrl-C stops it.
#
# Usage: scripts/demo.sh            (as root, or with sudo)
# Ports: LIVESHOP_HTTP_PORT (8080), LIVESHOP_RTMP_PORT (1935)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build
http_port=${LIVESHOP_HTTP_PORT:-8080}
rtmp_port=${LIVESHOP_RTMP_PORT:-1935}
stream=live/demo
demo=$build/demo

"$top/scripts/setup-deps.sh" "$build"
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$(nproc)"

# hls.js for the player page, from the npm registry (once)
if [ ! -f "$demo/web/hls.min.js" ]; then
    command -v npm >/dev/null || DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends npm
    mkdir -p "$demo/npm"
    npm install --silent --prefix "$demo/npm" hls.js@1 >/dev/null
    mkdir -p "$demo/web"
    cp "$demo/npm/node_modules/hls.js/dist/hls.min.js" "$demo/web/"
fi

secret=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
mkdir -p "$demo/hls" "$demo/tmp" "$demo/logs"
cp "$top/web/"* "$demo/web/"

user_line=""
[ "$(id -u)" = 0 ] && user_line="user root;"

cat >"$demo/nginx.conf" <<CONF
load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
load_module $build/nginx-module/ngx_live_shop_module.so;
$user_line
worker_processes 2;
daemon off;
pid $demo/nginx.pid;
error_log $demo/logs/error.log info;
events { worker_connections 1024; }

rtmp_auto_push on;
rtmp_socket_dir $demo/tmp;

rtmp {
    server {
        listen 127.0.0.1:$rtmp_port;
        application live {
            live on;
            hls on;
            hls_path $demo/hls;
            hls_fragment 2s;
            hls_playlist_length 20s;
            hls_fragment_naming system;
            live_shop on;
        }
    }
}

http {
    access_log $demo/logs/access.log;
    client_body_temp_path $demo/tmp/body;
    proxy_temp_path $demo/tmp/proxy;
    fastcgi_temp_path $demo/tmp/fastcgi;
    uwsgi_temp_path $demo/tmp/uwsgi;
    scgi_temp_path $demo/tmp/scgi;

    live_shop_zone liveshop 16m;
    live_shop_secret $secret;
    live_shop_journal $demo/journal;

    server {
        listen 127.0.0.1:$http_port;

        location /shop/ { live_shop_api; }

        location /hls/ {
            live_shop_hls on;
            alias $demo/hls/;
            types { application/vnd.apple.mpegurl m3u8; video/mp2t ts; }
            add_header Cache-Control no-cache;
        }

        location / {
            root $demo/web;
            index index.html;
        }
    }
}
CONF

pids=()
cleanup() {
    trap - INT TERM EXIT
    echo
    echo "demo: stopping"
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

/usr/sbin/nginx -p "$demo" -c "$demo/nginx.conf" &
pids+=($!)

for _ in $(seq 50); do
    curl -s -o /dev/null "http://127.0.0.1:$http_port/" && break
    sleep 0.1
done

ffmpeg -nostdin -loglevel error -re \
    -f lavfi -i "testsrc=size=640x360:rate=25" \
    -f lavfi -i "sine=frequency=440" \
    -c:v libx264 -preset ultrafast -tune zerolatency -g 50 \
    -c:a aac -f flv "rtmp://127.0.0.1:$rtmp_port/$stream" &
pids+=($!)

ctl() {
    LIVESHOP_SERVER="http://127.0.0.1:$http_port/shop/" \
        "$build/tools/liveshopctl" "$@"
}

token=$(ctl token --secret "$secret" "$stream" | tail -n 1)
export LIVESHOP_TOKEN=$token
ctl offer put "$stream" "$top/config-examples/offer.json" >/dev/null
ctl pin "$stream" sku-123 >/dev/null

for _ in $(seq 100); do
    [ -f "$demo/hls/demo.m3u8" ] && break
    sleep 0.2
done

cat <<EOF

liveshop demo is running (Ctrl-C stops it).

  player page   http://127.0.0.1:$http_port/
  HLS playlist  http://127.0.0.1:$http_port/hls/demo.m3u8
  RTMP stream   rtmp://127.0.0.1:$rtmp_port/$stream
  state         http://127.0.0.1:$http_port/shop/v1/streams/$stream/state
  control token $token

Try:
  export LIVESHOP_SERVER=http://127.0.0.1:$http_port/shop/ LIVESHOP_TOKEN=$token
  $build/tools/liveshopctl unpin $stream
  $build/tools/liveshopctl pin $stream sku-123 --duration 60
  $build/tools/liveshopctl countdown $stream 60 --label "Only now" --offer sku-123
  $build/tools/liveshopctl events $stream
  ffprobe -show_packets -show_data rtmp://127.0.0.1:$rtmp_port/$stream
EOF

wait "${pids[0]}"
