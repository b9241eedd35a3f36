#!/usr/bin/env bash
# Make a PostgreSQL server available for sigstack's tests (and benches), and
# export SIGSTACK_TEST_DATABASE_URL: the URL of a role that may CREATE
# DATABASE. Tests create and drop their own throwaway databases in it.
#
# Two ways to use it:
#
#   scripts/with-postgres.sh <command...>
#       Runs the command with SIGSTACK_TEST_DATABASE_URL exported, then cleans
#       up and exits with the command's status. E.g.
#           scripts/with-postgres.sh cargo bench
#           scripts/with-postgres.sh sh -c 'psql "$SIGSTACK_TEST_DATABASE_URL"'
#
#   source scripts/with-postgres.sh; sigstack_pg_start
#       (what scripts/test.sh does.) Exports SIGSTACK_TEST_DATABASE_URL in the
#       calling shell. If it starts a throwaway cluster, it installs EXIT/INT/
#       TERM/HUP traps in the calling shell that stop the cluster and remove
#       its directory, replacing any traps the caller had. Meant for scripts:
#       on error it calls `exit`, which would close an interactive shell.
#
# Which server, first match wins (one line on stderr says which was picked):
#   0. SIGSTACK_TEST_DATABASE_URL already set (e.g. nested invocation): reuse it.
#   a. DATABASE_URL set: use it; it must answer.
#   b. A server at 127.0.0.1:5432 that lets `postgres` in without a password.
#   c. PostgreSQL's server binaries are installed: start a throwaway cluster in
#      a temp dir, on 127.0.0.1 and a free port, removed again on exit.
#   d. No server binaries installed: install the PyPI package pgserver (pinned
#      in scripts/pgserver-requirements.txt; its wheel ships PostgreSQL 16's
#      initdb, pg_ctl and postgres) into a venv in .cache/pgserver/ (made once,
#      reused while that file is unchanged), and start a throwaway cluster from
#      those binaries as in (c). Needs python3 with venv and pip, and the
#      package index, the first time only.
#   e. Otherwise fail, saying how to get one. Tests needing PostgreSQL never
#      silently skip.
# The throwaway clusters of (c) and (d) run unprivileged: as root, initdb,
# pg_ctl and the server run as the `postgres` user if there is one, else as
# `nobody` (postgres refuses to run as root).
#
# Knobs:
#   SIGSTACK_TEST_PG=auto|existing|throwaway|pgserver  auto (default) is the
#       order above; existing forces (b), throwaway forces (c), pgserver forces
#       (d) (to test that path on a machine that has PostgreSQL); all three
#       ignore DATABASE_URL.
#   SIGSTACK_PG_BINDIR=DIR  look for initdb/pg_ctl only in DIR (for (c)).
#   SIGSTACK_PG_START_TIMEOUT=SECONDS  how long to wait for the throwaway
#       cluster to accept connections (default 60).
#   SIGSTACK_PG_SETTINGS="-c NAME=VALUE ..."  more server settings for the
#       throwaway cluster, after its own (a later setting wins): e.g. a
#       benchmark's durable, production-sized server instead of the tests'
#       fsync=off (docs/performance.md, the growth benchmark).
#   SIGSTACK_PG_TLS_CERT=FILE SIGSTACK_PG_TLS_KEY=FILE  (both or neither) the
#       throwaway cluster serves TLS (ssl=on) with this certificate chain and
#       key (PEM; copied into the cluster's directory, so they may be anywhere
#       the caller can read). Only a cluster started here can be given them:
#       auto mode skips (0), (a) and (b), and existing mode refuses.

# --- helpers -----------------------------------------------------------------

_sigstack_pg_log() { printf 'with-postgres: %s\n' "$*" >&2; }

# The repository root (this file is in scripts/), for the .cache of path (d).
_SIGSTACK_PG_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Path (d)'s package, pinned there (pgserver 0.1.4 ships PostgreSQL 16.2).
_SIGSTACK_PG_PGSERVER_REQS="$_SIGSTACK_PG_REPO/scripts/pgserver-requirements.txt"

# Print the error (first argument; further ones are extra lines) and exit.
# In sourced use this exits the calling script, which runs its EXIT trap.
_sigstack_pg_fail() {
    printf 'with-postgres: error: %s\n' "$1" >&2
    shift
    [[ $# -eq 0 ]] || printf '    %s\n' "$@" >&2
    exit 1
}

# Hide the password of a URL before printing it (CI logs are public-ish).
_sigstack_pg_redact() {
    sed -E 's#^([a-z]+://[^:/@]*):[^@]*@#\1:***@#' <<<"$1"
}

# The directory holding initdb and pg_ctl, or nothing. Prefers
# SIGSTACK_PG_BINDIR, then Debian's /usr/lib/postgresql/<highest version>/bin,
# then whatever initdb is on PATH (Fedora, Arch, Homebrew put it there).
_sigstack_pg_bindir() {
    local dir
    if [[ -n "${SIGSTACK_PG_BINDIR:-}" ]]; then
        if [[ -x "$SIGSTACK_PG_BINDIR/initdb" && -x "$SIGSTACK_PG_BINDIR/pg_ctl" ]]; then
            printf '%s\n' "$SIGSTACK_PG_BINDIR"
        fi
        return 0
    fi
    if [[ -d /usr/lib/postgresql ]]; then
        # `sort -V` so that 9.6 < 15 < 16.
        while IFS= read -r dir; do
            if [[ -x "$dir/bin/initdb" && -x "$dir/bin/pg_ctl" ]]; then
                printf '%s\n' "$dir/bin"
                return 0
            fi
        done < <(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -type d 2>/dev/null | sort -rV)
    fi
    if dir=$(command -v initdb 2>/dev/null) && [[ -x "$(dirname "$dir")/pg_ctl" ]]; then
        dirname "$dir"
    fi
}

# A client tool (psql, pg_isready): from PATH, else from the bindir of the
# throwaway cluster (once one is chosen), else from the installed server's.
_sigstack_pg_client() {
    local bindir
    if command -v "$1" >/dev/null 2>&1; then
        command -v "$1"
        return 0
    fi
    bindir=${_SIGSTACK_PG_BINDIR:-}
    [[ -n "$bindir" ]] || bindir=$(_sigstack_pg_bindir)
    if [[ -n "$bindir" && -x "$bindir/$1" ]]; then
        printf '%s\n' "$bindir/$1"
    fi
}

# Log in at URL and print "<may create databases: true|false> <server_version>"
# (the version last: it may contain spaces, e.g. "15.19 (Debian 15.19-0+deb12u1)").
# Fails (non-zero, psql's error on stderr) if the login does not work.
# Prints nothing and succeeds if there is no psql to ask with.
# -X: ignore ~/.psqlrc; -w: never prompt for a password (CI has no stdin).
_sigstack_pg_probe() {
    local psql
    psql=$(_sigstack_pg_client psql)
    [[ -n "$psql" ]] || return 0
    PGCONNECT_TIMEOUT=5 "$psql" -X -w -A -t -q -v ON_ERROR_STOP=1 -d "$1" -c \
        "select (select (rolcreatedb or rolsuper)::text from pg_roles where rolname = current_user)
                || ' ' || current_setting('server_version')" \
        </dev/null
}

# Succeeds if something accepts PostgreSQL connections at 127.0.0.1:PORT.
_sigstack_pg_answers() {
    local pg_isready
    pg_isready=$(_sigstack_pg_client pg_isready)
    if [[ -n "$pg_isready" ]]; then
        "$pg_isready" -q -t 3 -h 127.0.0.1 -p "$1"
    else
        # No client tools at all: settle for "something listens there".
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
    fi
}

# Check a URL found by (0), (a) or (b) and export it. $1: URL, $2: description.
# Fails if it can't log in or the role may not create databases.
_sigstack_pg_use() {
    local url=$1 what=$2 probe version createdb
    if ! probe=$(_sigstack_pg_probe "$url"); then
        _sigstack_pg_fail "$what: cannot connect or log in as $(_sigstack_pg_redact "$url") (psql's error above)."
    fi
    if [[ -n "$probe" ]]; then
        read -r createdb version <<<"$probe"
        if [[ "$createdb" != true ]]; then
            _sigstack_pg_fail "$(_sigstack_pg_redact "$url"): this role may not CREATE DATABASE, which the tests need." \
                "Use a superuser or a role WITH CREATEDB."
        fi
        version="PostgreSQL $version"
    else
        version="version unknown: no psql to check with"
    fi
    export SIGSTACK_TEST_DATABASE_URL="$url"
    _sigstack_pg_log "using $what: $(_sigstack_pg_redact "$url") ($version)"
}

# Run a command as the user that owns the throwaway cluster. postgres refuses
# to run as root, so as root we drop to an unprivileged user.
_sigstack_pg_as_owner() {
    if [[ "$(id -u)" != 0 ]]; then
        "$@"
    elif command -v runuser >/dev/null 2>&1; then
        runuser -u "$_SIGSTACK_PG_OWNER" -- "$@"
    elif command -v setpriv >/dev/null 2>&1; then
        setpriv --reuid="$_SIGSTACK_PG_OWNER" --regid="$(id -g "$_SIGSTACK_PG_OWNER")" --init-groups -- "$@"
    else
        # nobody's login shell is nologin, hence -s.
        su -s /bin/sh "$_SIGSTACK_PG_OWNER" -c "$(printf '%q ' "$@")"
    fi
}

# Stop the throwaway cluster (if any) and remove its directory. Runs from the
# EXIT trap, so it must never stop half-way: no errexit in here.
_sigstack_pg_cleanup() {
    local dir=${_SIGSTACK_PG_TMPDIR:-} pid
    [[ -n "$dir" ]] || return 0
    _SIGSTACK_PG_TMPDIR=
    set +e
    # Interrupted right after pg_ctl launched the server: the postmaster (in
    # its own session, so not hit by Ctrl-C) writes its pid file within
    # moments. Wait for it briefly, or we'd delete the dir under a live server.
    if [[ -n "${_SIGSTACK_PG_STARTING:-}" ]]; then
        for _ in {1..30}; do
            [[ -f "$dir/data/postmaster.pid" ]] && break
            sleep 0.1
        done
    fi
    if [[ -f "$dir/data/postmaster.pid" ]]; then
        # Immediate: the data is thrown away anyway, so no checkpoint needed.
        (cd "$dir" && _sigstack_pg_as_owner "$_SIGSTACK_PG_BINDIR/pg_ctl" -D "$dir/data" \
            stop -m immediate -w -t 30 >/dev/null 2>&1)
        if [[ -f "$dir/data/postmaster.pid" ]]; then
            # pg_ctl could not stop it: kill the postmaster outright.
            pid=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null)
            [[ "$pid" =~ ^[0-9]+$ ]] && kill -KILL "$pid" 2>/dev/null
            sleep 1
        fi
    fi
    rm -rf -- "$dir"
}

# The site-packages directory of venv $1 holding pgserver's server binaries
# (in pgserver/pginstall/bin), or fail.
_sigstack_pg_pgserver_site() {
    local d
    for d in "$1"/lib/python3*/site-packages; do
        if [[ -x "$d/pgserver/pginstall/bin/initdb" && -x "$d/pgserver/pginstall/bin/pg_ctl" &&
            -x "$d/pgserver/pginstall/bin/postgres" ]]; then
            printf '%s\n' "$d"
            return 0
        fi
    done
    return 1
}

# Path (d): the server binaries of the pinned pgserver wheel, installed into a
# venv in .cache/ unless one from the same requirements file is there already.
# Prints the venv's site-packages directory (pgserver/pginstall/bin holds the
# binaries; they find their libpq in pgserver.libs beside it); fails if it
# can't install.
_sigstack_pg_pgserver() {
    local venv="$_SIGSTACK_PG_REPO/.cache/pgserver/venv" want
    want=$(sha256sum "$_SIGSTACK_PG_PGSERVER_REQS" | cut -d' ' -f1) || return 1
    if [[ "$(cat "$venv/.requirements.sha256" 2>/dev/null)" == "$want" ]] &&
        _sigstack_pg_pgserver_site "$venv"; then
        return 0
    fi
    if ! command -v python3 >/dev/null 2>&1; then
        _sigstack_pg_log "no python3 to install pgserver with"
        return 1
    fi
    _sigstack_pg_log "installing pgserver (PostgreSQL 16 server binaries, pinned in scripts/pgserver-requirements.txt) into $venv"
    rm -rf -- "$venv"
    # The stamp is written last: an interrupted install is never taken for a
    # finished one. --no-deps: only the binaries are used, not the Python
    # module (whose dependencies are fasteners, platformdirs and psutil).
    if python3 -m venv "$venv" >&2 &&
        "$venv/bin/pip" install --quiet --disable-pip-version-check --only-binary :all: --no-deps \
            -r "$_SIGSTACK_PG_PGSERVER_REQS" >&2 &&
        _sigstack_pg_pgserver_site "$venv"; then
        printf '%s' "$want" >"$venv/.requirements.sha256"
        return 0
    fi
    rm -rf -- "$venv"
    _sigstack_pg_log "could not install pgserver (python3 -m venv or pip failed; output above)"
    return 1
}

# Path (c) and (d): initdb and start a cluster in a fresh temp dir.
# $1: bindir. $2 (path (d) only): the pgserver venv's site-packages; as root,
# if the owner cannot reach the binaries there (e.g. the repository is under
# /root), they are copied into the temp dir first.
_sigstack_pg_throwaway() {
    local bindir=$1 site=${2:-} dir port started elapsed version ok
    local timeout=${SIGSTACK_PG_START_TIMEOUT:-60}
    started=$(date +%s%N)
    _SIGSTACK_PG_BINDIR=$bindir
    _SIGSTACK_PG_OWNER=$(id -un)
    if [[ "$(id -u)" == 0 ]]; then
        # The Debian package creates a `postgres` system user; else `nobody`.
        if id -u postgres >/dev/null 2>&1; then
            _SIGSTACK_PG_OWNER=postgres
        else
            _SIGSTACK_PG_OWNER=nobody
        fi
    fi

    # Register cleanup before creating anything, so that a failure or an
    # interrupt from here on leaves no cluster and no directory behind.
    # INT/TERM/HUP become an exit, which runs the EXIT trap.
    trap _sigstack_pg_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP

    dir=$(mktemp -d "${TMPDIR:-/tmp}/sigstack-pg.XXXXXX") || _sigstack_pg_fail "mktemp -d failed"
    _SIGSTACK_PG_TMPDIR=$dir
    mkdir "$dir/sock"
    if [[ "$(id -u)" == 0 ]]; then
        chown -R "$_SIGSTACK_PG_OWNER:" "$dir"
        # The owner must be able to reach the dir: a TMPDIR under /root isn't.
        _sigstack_pg_as_owner test -w "$dir" ||
            _sigstack_pg_fail "user $_SIGSTACK_PG_OWNER cannot write to $dir; set TMPDIR to a directory it can reach (e.g. /tmp)"
        if [[ -n "$site" ]] && ! _sigstack_pg_as_owner test -x "$bindir/postgres"; then
            # Keep the layout: the binaries find libpq at ../../../pgserver.libs.
            if ! { mkdir -p "$dir/pg/pgserver/pginstall" &&
                cp -a "$site/pgserver.libs" "$dir/pg/" &&
                cp -a "$site/pgserver/pginstall/bin" "$site/pgserver/pginstall/lib" \
                    "$site/pgserver/pginstall/share" "$dir/pg/pgserver/pginstall/" &&
                chown -R "$_SIGSTACK_PG_OWNER:" "$dir/pg"; }; then
                _sigstack_pg_fail "could not copy the pgserver binaries into $dir"
            fi
            bindir="$dir/pg/pgserver/pginstall/bin"
            _SIGSTACK_PG_BINDIR=$bindir
        fi
    fi

    # Run the owner's commands from inside the temp dir: as root our cwd may
    # be one the owner cannot enter, which makes initdb/pg_ctl complain.
    # TLS (see SIGSTACK_PG_TLS_CERT above): the server wants the key owned by
    # the user it runs as and unreadable by others.
    local tls_opts=""
    if [[ -n "${SIGSTACK_PG_TLS_CERT:-}" ]]; then
        if ! { mkdir "$dir/tls" &&
            cp -- "$SIGSTACK_PG_TLS_CERT" "$dir/tls/server.crt" &&
            cp -- "$SIGSTACK_PG_TLS_KEY" "$dir/tls/server.key" &&
            chmod 0600 "$dir/tls/server.key" &&
            { [[ "$(id -u)" != 0 ]] || chown -R "$_SIGSTACK_PG_OWNER:" "$dir/tls"; }; }; then
            _sigstack_pg_fail "could not copy SIGSTACK_PG_TLS_CERT and SIGSTACK_PG_TLS_KEY into $dir/tls"
        fi
        tls_opts="-c ssl=on -c ssl_cert_file='$dir/tls/server.crt' -c ssl_key_file='$dir/tls/server.key'"
    fi

    # --no-sync, fsync=off etc.: it's a throwaway cluster, durability is moot.
    if ! (cd "$dir" && _sigstack_pg_as_owner "$bindir/initdb" -D "$dir/data" -U postgres \
        --auth=trust --encoding=UTF8 --no-locale --no-sync >"$dir/initdb.log" 2>&1); then
        cat "$dir/initdb.log" >&2
        _sigstack_pg_fail "initdb ($bindir/initdb) failed; its output is above."
    fi

    # Pick a port that looks free and try it; if another process grabs it
    # first the server fails to bind, and we try another. Ports come from
    # 15000-31999: below Linux's ephemeral range (32768+) that outgoing
    # connections use, and never 5432.
    for _ in 1 2 3 4 5; do
        port=$((15000 + RANDOM % 17000))
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            continue # something listens there
        fi
        : >"$dir/server.log"
        [[ "$(id -u)" != 0 ]] || chown "$_SIGSTACK_PG_OWNER:" "$dir/server.log"
        # -w -t: wait until it accepts connections, at most $timeout seconds.
        # -l: the server's output goes to the log, not to our stdout, so it
        # holds no pipe of ours open.
        ok=
        _SIGSTACK_PG_STARTING=1
        (cd "$dir" && _sigstack_pg_as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" \
            -w -t "$timeout" start -o "-c listen_addresses=127.0.0.1 -p $port -k '$dir/sock' \
            -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
            -c max_connections=200 $tls_opts ${SIGSTACK_PG_SETTINGS:-}" >"$dir/pg_ctl.log" 2>&1) && ok=1
        _SIGSTACK_PG_STARTING=
        if [[ -n "$ok" ]]; then
            elapsed=$((($(date +%s%N) - started) / 1000000))
            version=$("$bindir/postgres" --version 2>/dev/null | sed 's/^postgres (PostgreSQL) /PostgreSQL /')
            export SIGSTACK_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
            _sigstack_pg_log "using throwaway cluster${tls_opts:+ (TLS on)}: $SIGSTACK_TEST_DATABASE_URL" \
                "(${version:-PostgreSQL} from $bindir, in $dir, started in $((elapsed / 1000)).$(printf '%03d' $((elapsed % 1000)))s)"
            return 0
        fi
        if grep -q -e 'could not bind' -e 'could not create any TCP/IP sockets' "$dir/server.log" 2>/dev/null; then
            continue # lost the race for this port; try another
        fi
        break
    done
    {
        echo "--- pg_ctl's output ---"
        cat "$dir/pg_ctl.log" 2>/dev/null
        echo "--- server log ---"
        cat "$dir/server.log" 2>/dev/null
        echo "--- end of server log ---"
    } >&2
    _sigstack_pg_fail "the throwaway PostgreSQL cluster did not start accepting connections" \
        "(port ${port:-?}, timeout ${timeout}s); pg_ctl's output and the server log are above."
}

_sigstack_pg_no_server() {
    _sigstack_pg_fail "no PostgreSQL server for the tests ($1). Any of these gets one:" \
        "- install PostgreSQL's server (Debian: apt-get install postgresql); then a throwaway cluster is started for each run;" \
        "- make python3 with venv and pip available (Debian: apt-get install python3-venv) and let pip reach the package index once, so that pgserver (scripts/pgserver-requirements.txt) can be installed into .cache/;" \
        "- start a server at 127.0.0.1:5432 that lets user postgres in without a password;" \
        "- set DATABASE_URL=postgres://USER[:PASSWORD]@HOST:PORT/DB for a role that may CREATE DATABASE."
}

# --- the entry point ---------------------------------------------------------

# Make a server available and export SIGSTACK_TEST_DATABASE_URL; see the top.
sigstack_pg_start() {
    local mode=${SIGSTACK_TEST_PG:-auto} bindir probe
    case "$mode" in
        auto | existing | throwaway | pgserver) ;;
        *) _sigstack_pg_fail "SIGSTACK_TEST_PG=$mode: expected auto, existing, throwaway or pgserver" ;;
    esac
    if [[ "$mode" != auto && -n "${DATABASE_URL:-}" ]]; then
        _sigstack_pg_log "SIGSTACK_TEST_PG=$mode: ignoring DATABASE_URL"
    fi
    if [[ -n "${SIGSTACK_PG_TLS_CERT:-}" || -n "${SIGSTACK_PG_TLS_KEY:-}" ]]; then
        [[ -n "${SIGSTACK_PG_TLS_CERT:-}" && -n "${SIGSTACK_PG_TLS_KEY:-}" ]] ||
            _sigstack_pg_fail "SIGSTACK_PG_TLS_CERT and SIGSTACK_PG_TLS_KEY go together"
        [[ -r "$SIGSTACK_PG_TLS_CERT" && -r "$SIGSTACK_PG_TLS_KEY" ]] ||
            _sigstack_pg_fail "SIGSTACK_PG_TLS_CERT=$SIGSTACK_PG_TLS_CERT or SIGSTACK_PG_TLS_KEY=$SIGSTACK_PG_TLS_KEY is not a readable file"
        [[ "$mode" != existing ]] ||
            _sigstack_pg_fail "SIGSTACK_PG_TLS_CERT: only a throwaway cluster can be given a certificate, not SIGSTACK_TEST_PG=existing"
        if [[ "$mode" == auto ]]; then
            _sigstack_pg_log "SIGSTACK_PG_TLS_CERT is set: starting a throwaway cluster with TLS"
            mode=throwaway_or_pgserver
        fi
    fi

    # (0) Already set up by an outer invocation (e.g. with-postgres.sh wrapping
    # test.sh): reuse it rather than start a second server.
    if [[ "$mode" == auto && -n "${SIGSTACK_TEST_DATABASE_URL:-}" ]]; then
        _sigstack_pg_use "$SIGSTACK_TEST_DATABASE_URL" "the server in SIGSTACK_TEST_DATABASE_URL"
        return 0
    fi

    # (a) DATABASE_URL.
    if [[ "$mode" == auto && -n "${DATABASE_URL:-}" ]]; then
        if [[ -z "$(_sigstack_pg_client psql)" ]]; then
            local pg_isready
            pg_isready=$(_sigstack_pg_client pg_isready)
            if [[ -n "$pg_isready" ]] && ! "$pg_isready" -q -t 5 -d "$DATABASE_URL"; then
                _sigstack_pg_fail "DATABASE_URL=$(_sigstack_pg_redact "$DATABASE_URL") does not answer (pg_isready)."
            fi
        fi
        _sigstack_pg_use "$DATABASE_URL" "the server in DATABASE_URL"
        return 0
    fi

    # (b) A server on the standard port.
    if [[ "$mode" == auto || "$mode" == existing ]]; then
        local url=postgres://postgres@127.0.0.1:5432/postgres
        if _sigstack_pg_answers 5432; then
            if [[ "$mode" == existing ]]; then
                _sigstack_pg_use "$url" "the existing server at 127.0.0.1:5432"
                return 0
            fi
            # In auto mode a server that won't let postgres in without a
            # password (Debian's default pg_hba for TCP) is no dead end: fall
            # through to a throwaway cluster.
            if probe=$(_sigstack_pg_probe "$url" 2>/dev/null) && [[ "$probe" != false* ]]; then
                _sigstack_pg_use "$url" "the existing server at 127.0.0.1:5432"
                return 0
            fi
            _sigstack_pg_log "a server answers at 127.0.0.1:5432 but won't let postgres in without a password (or postgres can't create databases); trying a throwaway cluster"
        elif [[ "$mode" == existing ]]; then
            _sigstack_pg_fail "SIGSTACK_TEST_PG=existing, but no PostgreSQL server answers at 127.0.0.1:5432."
        fi
    fi

    # (c) A throwaway cluster from the installed server binaries.
    if [[ "$mode" != pgserver ]]; then
        bindir=$(_sigstack_pg_bindir)
        if [[ -n "$bindir" ]]; then
            _sigstack_pg_throwaway "$bindir"
            return 0
        fi
        if [[ -n "${SIGSTACK_PG_BINDIR:-}" ]]; then
            _sigstack_pg_no_server "no initdb and pg_ctl in SIGSTACK_PG_BINDIR=$SIGSTACK_PG_BINDIR"
        fi
        if [[ "$mode" == throwaway ]]; then
            _sigstack_pg_no_server "SIGSTACK_TEST_PG=throwaway, but no initdb and pg_ctl found in /usr/lib/postgresql/*/bin or on PATH"
        fi
    fi

    # (d) A throwaway cluster from the pgserver wheel's binaries, (e) or nothing.
    local site
    if site=$(_sigstack_pg_pgserver); then
        _sigstack_pg_throwaway "$site/pgserver/pginstall/bin" "$site"
        return 0
    fi
    if [[ "$mode" == pgserver ]]; then
        _sigstack_pg_no_server "SIGSTACK_TEST_PG=pgserver, but pgserver (scripts/pgserver-requirements.txt) could not be installed (see above)"
    fi
    _sigstack_pg_no_server "none answers at 127.0.0.1:5432, DATABASE_URL is unset, no initdb/pg_ctl found in ${SIGSTACK_PG_BINDIR:-/usr/lib/postgresql/*/bin or on PATH}, and pgserver (scripts/pgserver-requirements.txt) could not be installed"
}

# --- run as a command --------------------------------------------------------

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -euo pipefail
    if [[ $# -eq 0 ]]; then
        echo "usage: $0 <command> [args...]   (runs it with SIGSTACK_TEST_DATABASE_URL exported)" >&2
        exit 2
    fi
    sigstack_pg_start
    # Not `exec`: this shell must outlive the command to run the cleanup trap.
    # The command stays in the foreground, so Ctrl-C reaches it as usual (the
    # server itself is in its own session and is stopped by the trap).
    status=0
    "$@" || status=$?
    exit "$status"
fi
