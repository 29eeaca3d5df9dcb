# Reading the machine's own apt sources, so that every apt entry liveshop
# adds (deb-src for nginx-rtmp's headers, other Debian suites for the
# release roots) names the same mirror the machine already uses. No
# mirror's host is ever written here.
#
# Sourced by scripts/setup-deps.sh and scripts/release-root.sh.

# The release this machine runs (bookworm, trixie, sid …).
debian_codename() {
    local codename=""
    if [ -r /etc/os-release ]; then
        codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    fi
    # sid and testing share one base-files: both say "forky/sid" in
    # debian_version and name testing's codename (or none) in os-release.
    # Which of the two the machine runs is what its apt sources follow.
    if grep -q '^[a-z]*/sid' /etc/debian_version 2>/dev/null &&
       ! apt_deb_sources | cut -f2 | grep -qx "${codename:-/}"; then
        local suite
        suite=$(apt_deb_sources | cut -f2 | grep -m1 -xE 'sid|unstable')
        [ -n "$suite" ] && codename=$suite
    fi
    if [ -z "$codename" ]; then
        echo "apt-sources: cannot tell this machine's Debian release" \
             "(no VERSION_CODENAME in /etc/os-release)" >&2
        return 1
    fi
    echo "$codename"
}

# Every enabled "deb" source, one line each:
#   URI<TAB>SUITE<TAB>COMPONENTS<TAB>SIGNED_BY
# from /etc/apt/sources.list, *.list (one-line style) and *.sources
# (deb822 style).
apt_deb_sources() {
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -r "$f" ] || continue
        awk '
        /^[ \t]*deb[ \t]/ {
            signed = ""; i = 2
            if ($2 ~ /^\[/) {
                # options: [arch=amd64 signed-by=/path …]
                for (; i <= NF; i++) {
                    o = $i; gsub(/[\[\]]/, "", o)
                    if (o ~ /^signed-by=/) { sub(/^signed-by=/, "", o); signed = o }
                    if ($i ~ /\]$/) { i++; break }
                }
            }
            uri = $i; suite = $(i + 1); comps = ""
            for (j = i + 2; j <= NF; j++) {
                if ($j ~ /^#/) break
                comps = comps (comps == "" ? "" : " ") $j
            }
            print uri "\t" suite "\t" comps "\t" signed
        }' "$f"
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -r "$f" ] || continue
        awk '
        function flush(   n, u, s, i, j, us, ss) {
            if (types ~ /(^| )deb( |$)/ && enabled != "no" && uris != "") {
                n = split(uris, us, / +/)
                split(suites, ss, / +/)
                for (i = 1; i <= n; i++)
                    for (j in ss)
                        if (ss[j] != "")
                            print us[i] "\t" ss[j] "\t" comps "\t" signed
            }
            types = uris = suites = comps = signed = enabled = ""
        }
        /^[ \t]*#/ { next }
        /^[ \t]*$/ { flush(); next }
        {
            key = tolower($1); sub(/:$/, "", key)
            val = $0; sub(/^[^:]*:[ \t]*/, "", val); sub(/[ \t]+$/, "", val)
            if (key == "types") types = val
            else if (key == "uris") uris = val
            else if (key == "suites") suites = val
            else if (key == "components") comps = val
            else if (key == "signed-by") signed = val
            else if (key == "enabled") enabled = tolower(val)
        }
        END { flush() }' "$f"
    done
}

# The URI of the Debian archive the machine installs its release from: the
# first "deb" source whose suite is the release itself.
debian_mirror() {
    local codename uri
    codename=$(debian_codename) || return 1
    uri=$(apt_deb_sources | awk -F '\t' -v s="$codename" \
        '$2 == s { print $1; exit }')
    if [ -z "$uri" ]; then
        echo "apt-sources: no apt source for suite '$codename' in" \
             "/etc/apt/sources.list or /etc/apt/sources.list.d/" >&2
        return 1
    fi
    echo "${uri%/}"
}

# The keyring the release's own source is signed with ("" when the source
# names none, and apt's trusted keys are used).
debian_keyring() {
    local codename
    codename=$(debian_codename) || return 1
    apt_deb_sources | awk -F '\t' -v s="$codename" \
        '$2 == s { print $4; exit }'
}

# deb-src entries (deb822) for the release and its -updates suite, from the
# same sources as the machine's "deb" entries: same URI, components, key.
debian_src_entries() {
    local codename
    codename=$(debian_codename) || return 1
    apt_deb_sources | awk -F '\t' -v s="$codename" '
        ($2 == s || $2 == s "-updates") && !seen[$1 "\t" $2]++ {
            print "Types: deb-src"
            print "URIs: " $1
            print "Suites: " $2
            print "Components: " ($3 == "" ? "main" : $3)
            if ($4 != "") print "Signed-By: " $4
            print ""
        }'
}

# A "deb" entry (deb822) for the release's backports suite, from the same
# source as the release's own "deb" entry: same URI, components, key.
# Nothing for a release without backports (sid, unstable, experimental).
debian_backports_entry() {
    local codename
    codename=$(debian_codename) || return 1
    case $codename in sid|unstable|experimental) return 0 ;; esac
    apt_deb_sources | awk -F '\t' -v s="$codename" '
        $2 == s {
            print "Types: deb"
            print "URIs: " $1
            print "Suites: " s "-backports"
            print "Components: " ($3 == "" ? "main" : $3)
            if ($4 != "") print "Signed-By: " $4
            exit
        }'
}

# The suites (bookworm, bookworm-backports …) apt would take PACKAGE's
# candidate version from, one a line; nothing when apt knows none. More
# arguments go to apt-cache (-o options for other lists).
apt_candidate_suites() {
    local pkg=$1
    shift
    apt-cache "$@" policy "$pkg" 2>/dev/null | awk '
        /^  Candidate:/ { cand = $2; next }
        /^ \*\*\* / || /^     [^ ]/ {
            v = ($1 == "***") ? $2 : $1
            here = (cand != "" && cand != "(none)" && v == cand)
            next
        }
        here && /^        [0-9-]/ && $2 ~ /:\/\// {
            suite = $3; sub(/\/.*/, "", suite)
            if (!seen[suite]++) print suite
        }'
}

# Asks one more apt source, ENTRY (deb822 text), for PACKAGE without
# touching the machine's apt state: the source's lists are fetched into a
# directory of their own (the machine's apt configuration, proxy and keys
# still apply; its update hooks do not run). Prints the version of PACKAGE
# the source offers; when the source cannot be fetched or has no PACKAGE,
# prints nothing on stdout and the reason on stderr, and returns 1.
apt_probe_source() {
    local entry=$1 pkg=$2 dir log version status=0
    dir=$(mktemp -d) || return 1
    chmod 755 "$dir"
    mkdir -p "$dir/parts" "$dir/lists/partial" "$dir/cache/archives/partial"
    # apt downloads as _apt when run as root.
    if [ "$(id -u)" = 0 ] && id _apt >/dev/null 2>&1; then
        chown _apt "$dir/lists/partial"
    fi
    printf '%s\n' "$entry" >"$dir/parts/probe.sources"
    cat >"$dir/apt.conf" <<CONF
#clear APT::Update::Pre-Invoke;
#clear APT::Update::Post-Invoke;
#clear APT::Update::Post-Invoke-Success;
Dir::Etc::SourceList "/dev/null";
Dir::Etc::SourceParts "$dir/parts";
Dir::State::Lists "$dir/lists";
Dir::Cache "$dir/cache";
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CONF
    log=$(apt-get -c "$dir/apt.conf" -q update 2>&1) || status=$?
    if [ $status != 0 ] || grep -q '^E:' <<<"$log"; then
        grep -m1 '^[WE]:' <<<"$log" >&2 || tail -n 1 <<<"$log" >&2
        rm -rf "$dir"
        return 1
    fi
    version=$(apt-cache -c "$dir/apt.conf" show --no-all-versions "$pkg" 2>/dev/null |
        sed -n 's/^Version: //p' | head -n 1)
    rm -rf "$dir"
    if [ -z "$version" ]; then
        echo "no package $pkg in it" >&2
        return 1
    fi
    echo "$version"
}
