# shellcheck shell=bash
# Sourced by lock.sh: runs the host's apt against a Debian
# suite of our choice in a private directory ("apt root"), with an empty dpkg
# status and none of the host's apt configuration. This gives us apt's real
# resolver and signature checking for any suite/arch without a chroot.

# Prints "MAIN_URI SECURITY_URI". Taken from the host's apt sources so no mirror
# is hard-coded; TOOLCHAIN_ARCHIVE_URI / TOOLCHAIN_SECURITY_URI override them
# (e.g. to point at a snapshot archive).
archive_uris() {
    local main sec
    main=$( { cat /etc/apt/sources.list.d/*.sources 2>/dev/null || true
              # one-line format: "deb [opts] URI suite comp..." -> "URIs: URI"
              cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
                  sed -n 's/^deb \(\[[^]]*\] *\)\{0,1\}\([^ ]*\).*/URIs: \2/p' || true
            } | awk '$1 == "URIs:" { for (i = 2; i <= NF; i++) print $i }' | sed 's:/*$::')
    sec=$(grep -m1 -- '/debian-security$' <<<"$main" || true)
    main=$(grep -m1 -- '/debian$' <<<"$main" || true)
    main=${TOOLCHAIN_ARCHIVE_URI:-$main}
    [ -n "$main" ] || { echo "error: no Debian archive (a URI ending in /debian) in the host's apt sources; set TOOLCHAIN_ARCHIVE_URI" >&2; return 1; }
    # Debian's security archive lives beside the main one ("<mirror>/debian-security").
    echo "$main ${TOOLCHAIN_SECURITY_URI:-${sec:-$main-security}}"
}

# apt_root_init DIR ARCH COMPONENTS SUITE...   (components comma-separated)
# Writes the apt root, exports APT_CONFIG, and downloads + verifies the indexes.
apt_root_init() {
    local root=$1 arch=$2 comps=$3 uris main sec s u
    shift 3
    uris=$(archive_uris)
    read -r main sec <<<"$uris"
    mkdir -p "$root"/etc/apt/apt.conf.d "$root"/etc/apt/preferences.d "$root"/var/lib/dpkg \
             "$root"/var/lib/apt/lists/partial "$root"/var/cache/apt/archives/partial "$root"/var/log/apt
    : > "$root/var/lib/dpkg/status"   # empty status: "nothing installed yet"
    cat > "$root/etc/apt/apt.conf" <<EOF
Dir "$root/";
Dir::State::status "$root/var/lib/dpkg/status";
Dir::Etc::main "$root/etc/apt/apt.conf";
Dir::Etc::parts "$root/etc/apt/apt.conf.d";
Dir::Bin::Methods "/usr/lib/apt/methods";
APT::Architecture "$arch";
APT::Architectures { "$arch"; };
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
APT::Sandbox::User "root";
EOF
    export APT_CONFIG="$root/etc/apt/apt.conf"
    for s in "$@"; do
        # <suite>-security is served by the security archive, everything else by the main one.
        case $s in *-security) u=$sec ;; *) u=$main ;; esac
        echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $u $s ${comps//,/ }"
    done > "$root/etc/apt/sources.list"
    # apt-get update only warns about a suite it could not fetch; we want a hard failure.
    apt-get -q update -o APT::Update::Error-Mode=any >"$root/update.log" 2>&1 ||
        { cat "$root/update.log" >&2; echo "error: apt-get update failed for: $*" >&2; return 1; }
}

# Prints every stanza of the downloaded Packages indexes, each followed by an
# "X-Base-URI:" field: the archive its Filename is relative to.
apt_root_packages() {
    local root=${APT_CONFIG%/etc/apt/apt.conf} uri suite f
    # sources.list lines are "deb [signed-by=...] URI SUITE COMPONENTS..."
    while read -r _ _ uri suite _; do
        for f in "$root"/var/lib/apt/lists/*_dists_"${suite}"_*_Packages*; do
            /usr/lib/apt/apt-helper cat-file "$f" |
                awk -v uri="$uri" 'BEGIN { RS = ""; ORS = "\n\n" } { print $0 "\nX-Base-URI: " uri }'
        done
    done < "$root/etc/apt/sources.list"
}
