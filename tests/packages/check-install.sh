#!/bin/sh
# Proves liveshop's Debian packages in a clean Debian root (SPEC §11):
# they install with apt, the module is enabled after the rtmp module and
# serves the API under the stock nginx, OBS's libobs finds the plugin, an
# upgrade keeps every stream's journal and seq, and a purge leaves nothing
# of ours but the journals.
#
# Usage: tests/packages/check-install.sh DEBDIR
#
# Runs as root INSIDE the root to test (a minbase debootstrap with apt
# sources; the caller chroots into it with /proc, /sys and /dev mounted).
# DEBDIR holds the three .debs of scripts/package.sh. It changes the root:
# use a throw-away copy. LIVESHOP_CHECK_PORT (default 18080) is the port
# of the test nginx on 127.0.0.1. Exit 0 when every step passed.
set -eu

PKGS="libnginx-mod-live-shop liveshopctl obs-live-shop"
PORT=${LIVESHOP_CHECK_PORT:-18080}
STREAM=live/demo
SECRET=check-install-secret-0123456789
BASE=http://127.0.0.1:$PORT/shop/

step=0
say() { printf '\n=== %s\n' "$*"; }
step() { step=$((step + 1)); say "step $step: $*"; }
ok() { printf 'ok: %s\n' "$*"; }
fail() {
	printf '\nFAIL (step %s): %s\n' "$step" "$*" >&2
	[ -n "${work:-}" ] && [ -f "$work/error.log" ] &&
		tail -n 20 "$work/error.log" >&2
	exit 1
}

[ $# = 1 ] || { echo "usage: $0 DEBDIR" >&2; exit 2; }
[ "$(id -u)" = 0 ] || fail "run as root (inside the root under test)"
debdir=$(cd "$1" && pwd) || fail "no directory $1"
for p in $PKGS; do
	ls "$debdir/${p}"_*.deb >/dev/null 2>&1 || fail "no ${p}_*.deb in $debdir"
done
. /etc/os-release
say "liveshop package check on ${PRETTY_NAME:-?}, debs from $debdir"

export DEBIAN_FRONTEND=noninteractive
work=$(mktemp -d /tmp/liveshop-check.XXXXXX)
nginx_pid=$work/nginx.pid

apt_get() { apt-get -q -o Dpkg::Use-Pty=0 "$@"; }

# Every file that could be ours: the tree outside dpkg's and apt's own
# state, caches, logs and /tmp.
snapshot() {
	find /etc /usr /var /lib -xdev \
		\( -path /var/lib/dpkg -o -path /var/lib/apt -o -path /var/cache \
		-o -path /var/log -o -path /tmp -o -path /var/tmp \) -prune \
		-o -print | sort >"$1"
}

nginx_stop() {
	if [ -f "$nginx_pid" ]; then
		/usr/sbin/nginx -c "$work/nginx.conf" -s stop 2>/dev/null || true
		i=0
		while [ -f "$nginx_pid" ] && [ $i -lt 50 ]; do
			sleep 0.1; i=$((i + 1))
		done
	fi
}
trap 'nginx_stop' EXIT

nginx_start() {
	/usr/sbin/nginx -c "$work/nginx.conf" || fail "nginx did not start"
	i=0
	until curl -fsS -o /dev/null "${BASE}v1/streams/$STREAM/state"; do
		i=$((i + 1))
		[ $i -lt 50 ] || fail "nginx does not answer on 127.0.0.1:$PORT"
		sleep 0.1
	done
	ok "nginx $(cat "$nginx_pid") answers on 127.0.0.1:$PORT"
}

# json FILE EXPR: prints EXPR of the JSON object d in FILE
json() {
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

state() {
	curl -fsS "${BASE}v1/streams/$STREAM/state" >"$work/state.json" ||
		fail "GET /shop/v1/streams/$STREAM/state failed"
	cat "$work/state.json"; echo
}

# ---------------------------------------------------------------------
step "prepare: policy-rc.d, the test's own tools (curl, python3)"
# No service starts from maintainer scripts; the test runs nginx itself.
made_policy=
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	made_policy=1
fi
apt_get update >"$work/apt-update.log" 2>&1 ||
	{ cat "$work/apt-update.log"; fail "apt-get update"; }
apt_get install -y --no-install-recommends curl python3 ||
	fail "cannot install curl and python3 for the test"
snapshot "$work/files.before"
ok "$(wc -l <"$work/files.before") paths before install"

# ---------------------------------------------------------------------
step "apt-get install -y ./*.deb"
(cd "$debdir" && apt_get install -y ./*.deb) || fail "apt-get install ./*.deb"
for p in $PKGS; do
	dpkg-query -W -f='${Package} ${Version} ${Status}\n' "$p"
	dpkg-query -W -f='${Status}' "$p" | grep -q 'install ok installed' ||
		fail "$p is not installed"
done
dpkg-query -W -f='${Depends}\n' libnginx-mod-live-shop |
	grep -o 'nginx-abi-[^ ,]*' >"$work/abi" || fail "no nginx-abi dependency"
abi_by=$(dpkg-query -W -f='${Package} ${Version} provides ${Provides}\n' |
	grep -F "$(cat "$work/abi")" | head -n 1)
[ -n "$abi_by" ] || fail "nothing installed provides $(cat "$work/abi")"
ok "libnginx-mod-live-shop depends on $(cat "$work/abi"): $abi_by"
for p in $PKGS; do dpkg -L "$p"; done | sort -u >"$work/files.ours"

# ---------------------------------------------------------------------
step "the module is enabled through /etc/nginx/modules-enabled after rtmp"
ls -l /etc/nginx/modules-enabled/
enabled=/etc/nginx/modules-enabled/70-mod-live-shop.conf
[ -L "$enabled" ] || fail "$enabled missing"
cat "$enabled"
first=$(ls /etc/nginx/modules-enabled/ | grep -n 'mod-rtmp.conf$' | cut -d: -f1)
ours=$(ls /etc/nginx/modules-enabled/ | grep -n 'mod-live-shop.conf$' | cut -d: -f1)
[ -n "$first" ] && [ -n "$ours" ] && [ "$first" -lt "$ours" ] ||
	fail "mod-live-shop.conf is not after mod-rtmp.conf"
ok "nginx includes modules-enabled/*.conf in this order: rtmp, then live-shop"

step "stock nginx -t (/etc/nginx/nginx.conf with modules-enabled)"
/usr/sbin/nginx -t 2>&1 | tee "$work/nginx-t.log"
grep -q 'test is successful' "$work/nginx-t.log" || fail "stock nginx -t failed"
ok "the stock configuration loads rtmp, then ngx_live_shop_module.so"
# The order matters: alone, the module cannot resolve rtmp's symbols.
printf 'load_module modules/ngx_live_shop_module.so;\nevents {}\n' \
	>"$work/alone.conf"
if /usr/sbin/nginx -t -c "$work/alone.conf" >"$work/alone.log" 2>&1; then
	fail "the module loaded without rtmp: the order check proves nothing"
fi
grep -m1 -E 'undefined symbol|dlopen' "$work/alone.log" || cat "$work/alone.log"
ok "without rtmp loaded first the module is refused, so the load above" \
   "proves the order"

step "state directory /var/lib/liveshop for nginx's user"
ls -ld /var/lib/liveshop /var/lib/liveshop/journal /var/lib/liveshop/hls
for d in /var/lib/liveshop /var/lib/liveshop/journal /var/lib/liveshop/hls; do
	[ "$(stat -c %U "$d")" = www-data ] || fail "$d is not www-data's"
done
ok "owned by www-data"

step "liveshopctl and its man page"
liveshopctl --version || fail "liveshopctl --version"
man1=/usr/share/man/man1/liveshopctl.1.gz
[ -f "$man1" ] || fail "no $man1"
for c in token "offer put" "offer list" pin unpin countdown "countdown stop" \
	"disclosure show" "disclosure hide" state report events \
	"webhook sign" "webhook verify"; do
	zcat "$man1" | grep -q "fB$c" || fail "man page lacks $c"
done
ok "$man1 covers every subcommand"

# ---------------------------------------------------------------------
step "a minimal live_shop configuration under the stock /usr/sbin/nginx"
cat >"$work/nginx.conf" <<EOF
include /etc/nginx/modules-enabled/*.conf;
user www-data;
worker_processes 1;
pid $nginx_pid;
error_log $work/error.log info;
events { worker_connections 64; }
http {
    access_log $work/access.log;
    live_shop_zone liveshop 1m;
    live_shop_secret "$SECRET";
    live_shop_journal /var/lib/liveshop/journal;
    server {
        listen 127.0.0.1:$PORT;
        location /shop/ { live_shop_api; }
    }
}
EOF
cat "$work/nginx.conf"
/usr/sbin/nginx -t -c "$work/nginx.conf" || fail "nginx -t of the test config"
nginx_start
say "GET /shop/v1/streams/$STREAM/state"
state
[ "$(json "$work/state.json" 'd["stream"]')" = "$STREAM" ] ||
	fail "the state does not name $STREAM"
ok "the API answers with the stream's state"

step "liveshopctl: put an offer and pin it (the journal gets seq N)"
export LIVESHOP_SERVER=$BASE
LIVESHOP_TOKEN=$(liveshopctl token --secret "$SECRET" "$STREAM" | tail -n 1)
export LIVESHOP_TOKEN
cat >"$work/offer.json" <<'EOF'
{"id": "sku-123", "title": "Vitamin C Serum 30 ml", "price": "19.99",
 "currency": "EUR", "stock": 50, "url": "https://shop.example/p/123"}
EOF
liveshopctl offer put "$STREAM" "$work/offer.json" || fail "offer put"
echo
liveshopctl pin "$STREAM" sku-123 >"$work/pin.json" || fail "pin"
cat "$work/pin.json"; echo
state
seq_n=$(json "$work/state.json" 'd["seq"]')
[ "$(json "$work/state.json" 'd["pinned"]["offer"]["id"]')" = sku-123 ] ||
	fail "sku-123 is not pinned"
journal=/var/lib/liveshop/journal/$STREAM.journal
ls -l "$journal" || fail "no journal $journal"
ok "sku-123 pinned, seq N=$seq_n, journal written"
# an HLS segment as nginx-rtmp would write it: purge must remove it
su -s /bin/sh -c 'echo segment >/var/lib/liveshop/hls/demo-0.ts' www-data ||
	fail "www-data cannot write /var/lib/liveshop/hls"

# ---------------------------------------------------------------------
step "OBS: the plugin is where the installed libobs looks for plugins"
libobs=$(ls /usr/lib/*/libobs.so.0 | head -n 1)
[ -n "$libobs" ] || fail "no libobs.so.0 installed"
echo "libobs: $libobs ($(dpkg -S "$libobs" | cut -d: -f1,2))"
# libobs's compiled-in module paths (obs-nix.c): the absolute ones
grep -aoE '/[^[:cntrl:] ]*obs-plugins[^[:cntrl:] ]*' "$libobs" | sort -u \
	>"$work/obs-paths"
echo "paths in libobs:"; sed 's/^/  /' "$work/obs-paths"
plugin=$(dpkg -L obs-live-shop | grep '/live-shop\.so$')
found=
while read -r dir; do
	case $dir in
	*%module%*)
		data=$(echo "$dir" | sed 's/%module%/live-shop/')
		if [ -f "$data/locale/en-US.ini" ]; then
			ok "data: $data/locale/en-US.ini"
			found="$found data"
		fi
		;;
	*)
		if [ "$(realpath -m "$dir")" = "$(dirname "$plugin")" ]; then
			ok "binary: $plugin is in libobs's $dir"
			found="$found bin"
		fi
		;;
	esac
done <"$work/obs-paths"
case $found in *bin*) ;; *) fail "$plugin is in none of libobs's plugin dirs" ;; esac
case $found in *data*) ;; *) fail "no live-shop data dir where libobs looks" ;; esac
say "dlopen($plugin, RTLD_NOW)"
LD_BIND_NOW=1 python3 - "$plugin" <<'EOF' || fail "the plugin does not dlopen"
import ctypes, os, sys
lib = ctypes.CDLL(sys.argv[1], mode=os.RTLD_NOW | os.RTLD_LOCAL)
for sym in ("obs_module_load", "obs_module_set_pointer", "obs_module_ver"):
    getattr(lib, sym)  # AttributeError if OBS could not call it
print("dlopen ok, every symbol resolved; exports obs_module_load,",
      "obs_module_set_pointer, obs_module_ver")
EOF

# ---------------------------------------------------------------------
step "upgrade through the maintainer scripts keeps the journal and seq"
mkdir -p "$work/upgrade"
for deb in "$debdir"/*.deb; do
	rm -rf "$work/unpacked"
	dpkg-deb -R "$deb" "$work/unpacked"
	old=$(sed -n 's/^Version: //p' "$work/unpacked/DEBIAN/control")
	sed -i "s/^Version: .*/Version: $old+upgrade1/" \
		"$work/unpacked/DEBIAN/control"
	dpkg-deb -b "$work/unpacked" "$work/upgrade/" >/dev/null
done
rm -rf "$work/unpacked"
ls "$work/upgrade"
(cd "$work/upgrade" && apt_get install -y ./*.deb) || fail "apt-get install (upgrade)"
for p in $PKGS; do
	v=$(dpkg-query -W -f='${Version}' "$p")
	case $v in *+upgrade1) ok "$p $v" ;; *) fail "$p is still $v" ;; esac
done
[ -L "$enabled" ] || fail "the upgrade lost $enabled"
ok "$enabled kept"
nginx_stop
nginx_start
state
[ "$(json "$work/state.json" 'd["seq"]')" = "$seq_n" ] ||
	fail "seq after the upgrade is not N=$seq_n"
[ "$(json "$work/state.json" 'd["pinned"]["offer"]["id"]')" = sku-123 ] ||
	fail "the pin did not survive the upgrade"
ok "after upgrade and restart: seq is still N=$seq_n, sku-123 still pinned"
liveshopctl unpin "$STREAM" >"$work/unpin.json" || fail "unpin"
cat "$work/unpin.json"; echo
liveshopctl pin "$STREAM" sku-123 >"$work/pin2.json" || fail "pin again"
cat "$work/pin2.json"; echo
s1=$(json "$work/unpin.json" 'd["seq"]')
s2=$(json "$work/pin2.json" 'd["seq"]')
[ "$s1" = $((seq_n + 1)) ] && [ "$s2" = $((seq_n + 2)) ] ||
	fail "next events got seq $s1, $s2; expected $((seq_n + 1)), $((seq_n + 2))"
ok "the next events continue the journal: unpin N+1=$s1, pin N+2=$s2"

# ---------------------------------------------------------------------
step "apt-get purge leaves nothing of ours but the journals"
nginx_stop
apt_get purge -y $PKGS || fail "apt-get purge"
# what apt pulled in for us goes too, so that the roots compare
apt_get autoremove --purge -y || fail "apt-get autoremove --purge"
for p in $PKGS; do
	if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q installed; then
		fail "$p still installed"
	fi
done
snapshot "$work/files.after"
comm -13 "$work/files.before" "$work/files.after" >"$work/files.new"
# allowed: the journals (one was written), and the directories holding them
grep -vxE '/var/lib/liveshop|/var/lib/liveshop/journal(/.*)?' \
	"$work/files.new" >"$work/files.left" || true
say "left after purge, allowed (the journals):"
grep -xE '/var/lib/liveshop|/var/lib/liveshop/journal(/.*)?' \
	"$work/files.new" | sed 's/^/  /' || true
ours_left=$(grep -ixFf "$work/files.ours" "$work/files.left" || true)
named_left=$(grep -iE 'live.?shop' "$work/files.left" || true)
if [ -s "$work/files.left" ]; then
	say "other new paths (left by dependencies, not by our packages):"
	sed 's/^/  /' "$work/files.left"
fi
[ -z "$ours_left$named_left" ] ||
	fail "purge left files of ours: $ours_left $named_left"
[ -f "$journal" ] || fail "the purge removed the journal $journal"
[ ! -e /var/lib/liveshop/hls ] || fail "/var/lib/liveshop/hls left"
ok "no file of ours left; the journal $journal is kept"

[ -z "$made_policy" ] || rm -f /usr/sbin/policy-rc.d
rm -rf "$work"
work=
say "ALL PASSED ($step steps)"
