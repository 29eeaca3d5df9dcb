#!/usr/bin/env bash
# The local demo: nginx with liveshop and nginx-rtmp on localhost, an
# ffmpeg test stream, the player page with its host panel, the offers of
# config-examples/catalog.json and one of them pinned, a weekly show that
# the stream's publish starts (SPEC §14), and the dashboard of its
# viewers and sales. Ctrl-C stops it.
# The nginx.conf is config-examples/nginx.conf with the demo's paths; the
# offers show the demo's own pictures (web/products/ID.svg, served with
# the player page) instead of the example's shop.example ones.
#
# It installs and builds only what it runs: the Debian packages to build
# and to run nginx, nginx-rtmp and ffmpeg, hls.js and uPlot from npm,
# then the module and liveshopctl, without tests or the OBS plugin, in a
# build directory of its own (scripts/test.sh builds everything in
# build/).
#
# With --cluster: three nodes sharing their streams through Valkey
# (SPEC §13): valkey-server (else redis-server) on loopback, run with
# config-examples/cluster/valkey.conf; an origin the test stream is
# published to (config-examples/cluster/origin.conf) and two edges
# pulling it from there (edge.conf), each with its own ports. The
# catalog goes in through the origin, the pin through an edge.
#
# Usage: scripts/demo.sh [--cluster]     (as root, or with sudo)
# Ports: LIVESHOP_HTTP_PORT (8080), LIVESHOP_RTMP_PORT (1935); with
# --cluster the edges take the next two of each, and the key-value server
# LIVESHOP_VALKEY_PORT (6379);
# build directory: LIVESHOP_BUILD (build-demo/)
set -euo pipefail

cluster=0
case "${1:-}" in
    "") ;;
    --cluster) cluster=1 ;;
    *)
        echo "usage: scripts/demo.sh [--cluster]" >&2
        exit 2
        ;;
esac

top=$(cd "$(dirname "$0")/.." && pwd)
build=${LIVESHOP_BUILD:-$top/build-demo}
http_port=${LIVESHOP_HTTP_PORT:-8080}
rtmp_port=${LIVESHOP_RTMP_PORT:-1935}
kv_port=${LIVESHOP_VALKEY_PORT:-6379}
stream=live/demo
demo=$build/demo

# The compiler and libraries, nginx, nginx-rtmp (and its source), ffmpeg
# and a key-value server; hls.js for the player page, uPlot for the
# dashboard.
LIVESHOP_DEPS=${LIVESHOP_DEPS:-build nginx} "$top/scripts/setup-deps.sh" "$build"
"$top/scripts/setup-web.sh" "$build"
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DLIVESHOP_TESTS=OFF -DLIVESHOP_OBS=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" --target nginx_module liveshopctl

# With --cluster: Valkey, else Redis (setup-deps.sh installs one).
kv_server=""
if [ $cluster = 1 ]; then
    kv_server=$(command -v valkey-server || command -v redis-server || true)
    if [ -z "$kv_server" ]; then
        echo "demo: --cluster needs valkey-server or redis-server" \
             "(scripts/setup-deps.sh installs one)" >&2
        exit 1
    fi
fi

secret=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
mkdir -p "$demo/hls" "$demo/tmp" "$demo/logs" "$demo/web"

# The player page and the dashboard: web/, the product pictures, hls.js
# and uPlot.
mkdir -p "$demo/web/products"
cp "$top/web/"*.html "$top/web/"*.js "$top/web/"*.css "$demo/web/"
cp "$top/web/products/"*.svg "$demo/web/products/"
deps=$build/web-deps/node_modules
for f in hls.js/dist/hls.min.js uplot/dist/uPlot.iife.min.js \
         uplot/dist/uPlot.min.css; do
    if [ ! -f "$deps/$f" ]; then
        echo "demo: $deps/$f is missing: scripts/setup-web.sh $build" \
             "installs it from the npm registry" >&2
        exit 1
    fi
    cp "$deps/$f" "$demo/web/"
done

# An nginx.conf from a file of config-examples/ (SRC) with the paths of
# the directory DIR, the HTTP and RTMP ports and the secret, on loopback
# only; further sed arguments adapt more. Lines still pointing at the
# example's places fail the demo: the example changed under it.
node_conf() {
    local src=$1 dest=$2 dir=$3 http=$4 rtmp=$5
    local user_line=""
    shift 5
    [ "$(id -u)" = 0 ] && user_line="user root;"
    sed -e "s|^user www-data;|$user_line|" \
        -e "s|/usr/lib/nginx/modules/ngx_live_shop_module.so|$build/nginx-module/ngx_live_shop_module.so|" \
        -e "s|/var/lib/liveshop/|$dir/|g" \
        -e "s|/usr/share/liveshop/web|$demo/web|" \
        -e "s|/var/log/nginx/liveshop-|$dir/logs/|" \
        -e "s|^worker_processes auto;|worker_processes 2;|" \
        -e "s|^rtmp_auto_push on;|rtmp_auto_push on;\nrtmp_socket_dir $dir/tmp;|" \
        -e "s|listen 1935;|listen 127.0.0.1:$rtmp;|" \
        -e "s|listen 8080;|listen 127.0.0.1:$http;|" \
        -e "s|live_shop_secret \"CHANGE-ME[^\"]*\";|live_shop_secret $secret;|" \
        "$@" "$src" >"$dest"
    if grep -nE '^[^#]*(/var/lib/liveshop|/usr/share/liveshop|CHANGE-ME|listen (1935|8080);|10\.0\.0\.)' \
            "$dest" >&2; then
        echo "demo: ${src#"$top"/} changed: the lines above were" \
             "not adapted" >&2
        exit 1
    fi
}

pids=()
cleanup() {
    trap - INT TERM EXIT
    echo
    echo "demo: stopping"
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

# nginx with DIR/nginx.conf, once it answers on HTTP port PORT.
start_nginx() {
    local dir=$1 port=$2
    /usr/sbin/nginx -p "$dir/" -c "$dir/nginx.conf" \
        -g "daemon off; pid $dir/nginx.pid;" &
    pids+=($!)
    for _ in $(seq 50); do
        curl -s -o /dev/null "http://127.0.0.1:$port/" && break
        sleep 0.1
    done
}

# The test stream to rtmp://127.0.0.1:PORT/$stream.
publish() {
    local port=$1
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
        -c:a aac -f flv "rtmp://127.0.0.1:$port/$stream" &
    pids+=($!)
}

# liveshopctl against the node on HTTP port $ctl_port.
ctl_port=$http_port
ctl() {
    LIVESHOP_SERVER="http://127.0.0.1:$ctl_port/shop/" \
        "$build/tools/liveshopctl" "$@"
}

# The offers of config-examples/catalog.json, one JSON object a line,
# each with its picture of web/products/ served by the demo (by the origin
# with --cluster) in place of the example's image.
catalog() {
    /usr/bin/python3 -c '
import json, os, sys
catalog, products, base = sys.argv[1:]
for o in json.load(open(catalog))["offers"]:
    if os.path.isfile(os.path.join(products, o["id"] + ".svg")):
        o["image"] = base + o["id"] + ".svg"
    print(json.dumps(o, ensure_ascii=False))' \
        "$top/config-examples/catalog.json" "$top/web/products" \
        "http://127.0.0.1:$http_port/products/"
}

# A node answers writes 503 store_unavailable until its workers have
# connected to the key-value server: the first writes are tried again.
again() {
    for _ in $(seq 50); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    "$@" >/dev/null
}

# --cluster: the key-value server, then the origin and two edges; the
# test stream to the origin. Returns when one of them ends.
cluster_demo() {
    local cdir=$demo/cluster names=(origin edge1 edge2) kv_dir kv_password
    local whsec kv_cli kv_version redis_url i dir example p r role
    kv_dir=$cdir/${kv_server##*/}
    kv_password=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
    whsec=whsec_$(head -c 24 /dev/urandom | base64)
    mkdir -p "$kv_dir"

    # valkey.conf on loopback, its data (the append-only file) in the demo's
    # directory, the liveshop user's password the demo's.
    sed -e "s|^bind .*|bind 127.0.0.1|" \
        -e "s|^port 6379$|port $kv_port|" \
        -e "s|^dir .*|dir $kv_dir|" \
        -e "s|CHANGE-ME-a-long-random-password|$kv_password|" \
        "$top/config-examples/cluster/valkey.conf" >"$kv_dir/valkey.conf"
    if grep -nE '^[^#]*(10\.0\.0\.|CHANGE-ME|/var/lib)' "$kv_dir/valkey.conf" >&2; then
        echo "demo: config-examples/cluster/valkey.conf changed: the lines" \
             "above were not adapted" >&2
        exit 1
    fi
    "$kv_server" "$kv_dir/valkey.conf" --logfile "$kv_dir/server.log" &
    pids+=($!)
    kv_cli=${kv_server%-server}-cli
    for i in $(seq 51); do
        [ "$("$kv_cli" -p "$kv_port" --user liveshop --pass "$kv_password" \
             --no-auth-warning ping 2>/dev/null)" = PONG ] && break
        if [ "$i" = 51 ]; then
            tail -n 5 "$kv_dir/server.log" >&2
            echo "demo: ${kv_server##*/} does not answer on port $kv_port" >&2
            exit 1
        fi
        sleep 0.1
    done
    kv_version=$("$kv_server" --version | sed -n 's/.* v=\([^ ]*\).*/\1/p')
    redis_url=redis://liveshop:$kv_password@127.0.0.1:$kv_port

    for i in 0 1 2; do
        dir=$cdir/${names[$i]}
        mkdir -p "$dir/hls" "$dir/tmp" "$dir/logs"
        example=edge
        [ $i = 0 ] && example=origin
        node_conf "$top/config-examples/cluster/$example.conf" "$dir/nginx.conf" \
            "$dir" $((http_port + i)) $((rtmp_port + i)) \
            -e "s|redis://[^ ;]*|$redis_url|" \
            -e "s|pull rtmp://[^/]*/|pull rtmp://127.0.0.1:$rtmp_port/|" \
            -e "s|secret=whsec_[^;]*;|secret=$whsec;|"
        start_nginx "$dir" $((http_port + i))
    done
    publish "$rtmp_port"

    token=$(ctl token --secret "$secret" "$stream" | tail -n 1)
    export LIVESHOP_TOKEN=$token
    # The catalog through the origin, the pin through the first edge.
    catalog |
    while IFS= read -r offer; do
        printf '%s' "$offer" >"$cdir/offer.json"
        again ctl offer put "$stream" "$cdir/offer.json"
    done
    ctl_port=$((http_port + 1))
    again ctl pin "$stream" sku-123

    for _ in $(seq 100); do
        [ -f "$cdir/origin/hls/demo.m3u8" ] && break
        sleep 0.2
    done

    cat <<EOF

liveshop cluster demo is running (Ctrl-C stops it): three nodes sharing
their streams through ${kv_server##*/} $kv_version on 127.0.0.1:$kv_port
(prefix liveshop:, data in $kv_dir).
The catalog went in through the origin, the pin through edge1.
EOF
    for i in 0 1 2; do
        p=$((http_port + i))
        r=$((rtmp_port + i))
        role="pulls rtmp://127.0.0.1:$rtmp_port/live"
        [ $i = 0 ] && role="the test stream is published here"
        cat <<EOF

  ${names[$i]} ($role)
    player page   http://127.0.0.1:$p/
    host panel    http://127.0.0.1:$p/#token=$token
    HLS playlist  http://127.0.0.1:$p/hls/demo.m3u8
    RTMP stream   rtmp://127.0.0.1:$r/$stream
    API           http://127.0.0.1:$p/shop/
    state         http://127.0.0.1:$p/shop/v1/streams/$stream/state
    store         redis://liveshop:…@127.0.0.1:$kv_port prefix=liveshop:
EOF
    done
    cat <<EOF

  control token $token (good on every node)

Try:
  http://127.0.0.1:$http_port/dashboard.html#token=$token   (the dashboard, in a browser)
  export LIVESHOP_TOKEN=$token
  LIVESHOP_SERVER=http://127.0.0.1:$((http_port + 2))/shop/ $build/tools/liveshopctl pin $stream sku-9
  curl -s http://127.0.0.1:$http_port/shop/v1/streams/$stream/state
  LIVESHOP_SERVER=http://127.0.0.1:$http_port/shop/ $build/tools/liveshopctl events $stream
  $kv_cli -p $kv_port --user liveshop --pass $kv_password --no-auth-warning llen liveshop:log:$stream
EOF

    wait -n
}

if [ $cluster = 1 ]; then
    cluster_demo
    exit
fi

# nginx.conf: config-examples/nginx.conf with the demo's paths, ports and
# secret, on loopback only.
node_conf "$top/config-examples/nginx.conf" "$demo/nginx.conf" "$demo" \
    "$http_port" "$rtmp_port"
start_nginx "$demo" "$http_port"

token=$(ctl token --secret "$secret" "$stream" | tail -n 1)
export LIVESHOP_TOKEN=$token
# The catalog of config-examples/catalog.json, one offer at a time.
catalog |
while IFS= read -r offer; do
    printf '%s' "$offer" | ctl offer put "$stream" - >/dev/null
done
# A weekly show (SPEC §14) starting in two minutes: the publish below is
# near enough to start it, and its calendar lists the coming weeks.
show_start=$(date -u -d "+2 minutes" +%Y-%m-%dT%H:%M:00Z)
curl -sf -o /dev/null -X PUT -H "Authorization: Bearer $token" \
    -d "{\"title\":\"Glow-Up Thursday\",\"host\":\"Mia\",\"starts_at\":\"$show_start\",\"duration\":3600,\"rrule\":\"FREQ=WEEKLY;COUNT=8\",\"offers\":[\"sku-123\",\"sku-9\"],\"commission\":\"0.10\"}" \
    "http://127.0.0.1:$http_port/shop/v1/streams/$stream/shows/glow-up"
# Saved answers and a poll (SPEC §15): a viewer on the player page can
# ask the host (the questions wait for the host, GET …/questions) and
# vote for the next shade for the next ten minutes.
api() {
    curl -sf -o /dev/null -X "$1" -H "Authorization: Bearer $token" \
        -d "$3" "http://127.0.0.1:$http_port/shop/v1/streams/$stream/$2"
}
api PUT answers/shipping \
    '{"question":"How fast is shipping?","answer":"1-2 days, free over 50 EUR"}'
api PUT answers/returns \
    '{"question":"Can I return it?","answer":"Yes, 30 days, no questions asked"}'
publish "$rtmp_port"
ctl pin "$stream" sku-123 >/dev/null
api POST polls \
    '{"question":"Which shade do we show next?","options":["Rose","Coral","Nude"],"seconds":600}'

for _ in $(seq 100); do
    [ -f "$demo/hls/demo.m3u8" ] && break
    sleep 0.2
done

cat <<EOF

liveshop demo is running (Ctrl-C stops it).

  player page   http://127.0.0.1:$http_port/
  host panel    http://127.0.0.1:$http_port/#token=$token
  dashboard     http://127.0.0.1:$http_port/dashboard.html#token=$token
  show          "Glow-Up Thursday", weekly from $show_start, on air now
  poll          "Which shade do we show next?" for 10 minutes: vote on the
                player page; ask the host there too
  calendar      http://127.0.0.1:$http_port/shop/v1/streams/$stream/shows.ics
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
  $build/tools/liveshopctl report $stream
  $build/tools/liveshopctl report $stream --show glow-up-\$(date -u +%Y%m%d)
  curl -s http://127.0.0.1:$http_port/shop/v1/streams/$stream/shows
  curl -s -H "Authorization: Bearer $token" http://127.0.0.1:$http_port/shop/v1/streams/$stream/questions
  curl -s -X POST -H "Authorization: Bearer $token" http://127.0.0.1:$http_port/shop/v1/streams/$stream/answers/shipping/pin
  curl -s -H "Authorization: Bearer $token" "http://127.0.0.1:$http_port/shop/v1/streams/$stream/commissions.csv?by=host"
  curl -s http://127.0.0.1:$http_port/shop/v1/streams/$stream/shows/glow-up-\$(date -u +%Y%m%d)/chapters.vtt
  ffprobe -show_packets -show_data rtmp://127.0.0.1:$rtmp_port/$stream
EOF

wait "${pids[0]}"
