#!/bin/sh
# Proves that liveshop's packages built for another Debian release do not
# install here (SPEC §11): the module is tied to the exact nginx it was
# built against (nginx-abi-X.Y.Z), so apt must refuse it with its own
# message, and leave the root as it was.
#
# Usage: tests/packages/check-refused.sh DEBDIR
#
# Runs as root INSIDE a clean root of the other release (the caller
# chroots into it, as for check-install.sh). Exit 0 when apt refused.
set -eu

[ $# = 1 ] || { echo "usage: $0 DEBDIR" >&2; exit 2; }
debdir=$(cd "$1" && pwd)
. /etc/os-release
export DEBIAN_FRONTEND=noninteractive
work=$(mktemp -d /tmp/liveshop-refused.XXXXXX)

fail() {
	printf '\nFAIL: %s\n' "$*" >&2
	exit 1
}

module=$(ls "$debdir"/libnginx-mod-live-shop_*.deb 2>/dev/null | head -n 1)
[ -n "$module" ] || fail "no libnginx-mod-live-shop_*.deb in $debdir"
abi=$(dpkg-deb -f "$module" Depends | grep -o 'nginx-abi-[^ ,]*') ||
	fail "$module has no nginx-abi dependency"
echo "=== on ${PRETTY_NAME:-?}: the packages of $debdir need $abi"

apt-get -q update >"$work/update.log" 2>&1 ||
	{ cat "$work/update.log"; fail "apt-get update"; }
# What this release's nginx provides: another ABI, or the check proves
# nothing.
provided=$(apt-cache show nginx 2>/dev/null | sed -n 's/^Provides: //p' |
	grep -o 'nginx-abi-[^ ,]*' | sort -u | tr '\n' ' ')
echo "this release's nginx provides: ${provided:-nothing}"
case " $provided " in
*" $abi "*) fail "this release's nginx provides $abi: nothing to refuse" ;;
esac

dpkg-query -W -f='${Package}\n' | sort >"$work/before"
status=0
(cd "$debdir" && apt-get -q -o Dpkg::Use-Pty=0 install -y --no-install-recommends \
	./*.deb) >"$work/install.log" 2>&1 || status=$?
cat "$work/install.log"
[ $status != 0 ] || fail "apt-get installed packages built for another release"
grep -q "$abi" "$work/install.log" ||
	fail "apt refused, but not for $abi (its message above)"
grep -qE 'Unable to correct problems|Unsatisfied dependencies|unmet dependencies' \
	"$work/install.log" || fail "apt's refusal does not say why (above)"
dpkg-query -W -f='${Package}\n' | sort >"$work/after"
cmp -s "$work/before" "$work/after" ||
	fail "apt changed the installed packages: $(comm -13 "$work/before" "$work/after")"
rm -rf "$work"
echo "=== refused as it should be: apt (exit $status) names $abi; nothing installed"
