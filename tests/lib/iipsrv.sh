# shellcheck shell=bash
# iipsrv.sh - a private IIPImage server (Debian's iipimage-server, iipsrv 1.1) behind
# lighttpd's FastCGI module, for the tests. Source after common.sh and t_init.
#
#   iipsrv_available
#       True when lighttpd and iipsrv.fcgi are installed; otherwise prints why (for a SKIP
#       line). `make check` installs both (tests/deps.sh), so only a hand-run suite skips.
#   iipsrv_start DIR [MAX_CVT]
#       Serve the pyramidal tiled TIFFs in DIR on 127.0.0.1, on a free port, exported as
#       IIPSRV_PORT. lighttpd's config is written into $IIPSRV_DIR = $T_WORK/iipsrv; lighttpd
#       spawns one iipsrv.fcgi on a Unix socket there, with FILESYSTEM_PREFIX=DIR/, its log
#       in $IIPSRV_DIR/iipsrv.log (VERBOSITY 2), JPEG_QUALITY 90, MAX_CVT (default 5000, as
#       shipped; advertised as maxWidth/maxHeight), no memcached (the machine's memcached,
#       if any, must not mix images of different runs) and OMP_NUM_THREADS 1.
#       Every path goes to iipsrv, so both URL forms of an image FILE.tif work:
#         http://127.0.0.1:$IIPSRV_PORT/iiif/FILE.tif/info.json           (URI_MAP iiif=>IIIF)
#         http://127.0.0.1:$IIPSRV_PORT/fcgi-bin/iipsrv.fcgi?IIIF=FILE.tif/info.json
#       The access log $IIPSRV_ACCESS_LOG has one line per request: the request line as
#       sent, then the status ("GET /iiif/a.tif/info.json HTTP/1.1 200"). lighttpd writes
#       it through a pipe (a log file it would flush once a second) just after the answer.
#   iipsrv_log_wait N
#       Wait (5 s at most) until the access log has at least N lines; print how many it has.
#       Returns when the port answers and iipsrv has served a request.
#   iipsrv_stop
#       Stop lighttpd and the iipsrv it spawned (also done automatically at test exit).

IIPSRV_FCGI=${IIPSRV_FCGI:-/usr/lib/iipimage-server/iipsrv.fcgi}
IIPSRV_LIGHTTPD=${IIPSRV_LIGHTTPD:-/usr/sbin/lighttpd}

iipsrv_available() {
    if [[ ! -x $IIPSRV_LIGHTTPD ]]; then
        echo "no $IIPSRV_LIGHTTPD (Debian package lighttpd; make deps installs it)"
        return 1
    fi
    if [[ ! -x $IIPSRV_FCGI ]]; then
        echo "no $IIPSRV_FCGI (Debian package iipimage-server; make deps installs it)"
        return 1
    fi
    return 0
}

iipsrv_start() {
    local dir max_cvt=${2:-5000} attempt pid i
    dir=$(cd "$1" && pwd)
    IIPSRV_DIR=$T_WORK/iipsrv
    IIPSRV_ACCESS_LOG=$IIPSRV_DIR/access.log
    mkdir -p "$IIPSRV_DIR/www" "$IIPSRV_DIR/upload"
    if [[ -z ${_IIPSRV_ON_EXIT:-} ]]; then
        t_on_exit iipsrv_stop
        _IIPSRV_ON_EXIT=1
    fi
    for attempt in 1 2 3; do
        IIPSRV_PORT=$(free_port)
        _iipsrv_conf "$dir" "$max_cvt" >"$IIPSRV_DIR/lighttpd.conf"
        : >"$IIPSRV_DIR/error.log"
        : >"$IIPSRV_DIR/iipsrv.log"
        : >"$IIPSRV_ACCESS_LOG"
        t_bg_start "$IIPSRV_DIR/lighttpd.pid" "$IIPSRV_LIGHTTPD" -D -f "$IIPSRV_DIR/lighttpd.conf" \
            >>"$IIPSRV_DIR/error.log" 2>&1
        if wait_port "$IIPSRV_PORT" 10 && _iipsrv_ready; then
            # remember the iipsrv lighttpd spawned, to stop it even if lighttpd has to be
            # killed
            pid=$(<"$IIPSRV_DIR/lighttpd.pid")
            pgrep -P "$pid" -f iipsrv >"$IIPSRV_DIR/iipsrv.pid" || true
            # the probes' lines are written just after their answers: start the log empty
            # once the last one is in
            for (( i = 0; i < 100; i++ )); do
                grep -q 'no-such-image.* 404$' "$IIPSRV_ACCESS_LOG" && break
                sleep 0.05
            done
            : >"$IIPSRV_ACCESS_LOG"
            export IIPSRV_DIR IIPSRV_PORT IIPSRV_ACCESS_LOG
            return 0
        fi
        iipsrv_stop
        # a port picked by free_port may have been taken meanwhile: retry on bind errors only
        grep -qiE "can't bind|address already in use" "$IIPSRV_DIR/error.log" || break
        echo "iipsrv: port race, retrying ($attempt)" >&2
    done
    echo "iipsrv_start: lighttpd + iipsrv did not start:" >&2
    cat "$IIPSRV_DIR/error.log" "$IIPSRV_DIR/iipsrv.log" >&2
    return 1
}

# a request that only iipsrv answers (lighttpd alone would say 503): an unknown image is 404
_iipsrv_ready() {
    local code i
    for (( i = 0; i < 50; i++ )); do
        code=$(curl -s -o /dev/null -w '%{http_code}' --noproxy '*' \
            "http://127.0.0.1:$IIPSRV_PORT/iiif/no-such-image.tif/info.json") || true
        [[ $code = 503 || $code = 000 ]] || return 0
        sleep 0.1
    done
    return 1
}

iipsrv_log_wait() {
    local n i
    for (( i = 0; i < 100; i++ )); do
        n=$(grep -c '' "$IIPSRV_ACCESS_LOG" || true)
        (( n >= $1 )) && break
        sleep 0.05
    done
    echo "$n"
}

iipsrv_stop() {
    local lpid pid pids i
    [[ -n ${IIPSRV_DIR:-} ]] || return 0
    # lighttpd stops the iipsrv it spawned; take its pid first, to make sure it is gone
    lpid=$(cat "$IIPSRV_DIR/lighttpd.pid" 2>/dev/null) || true
    if [[ $lpid =~ ^[0-9]+$ ]]; then
        pgrep -P "$lpid" -f iipsrv >>"$IIPSRV_DIR/iipsrv.pid" || true
    fi
    t_stop_pidfile "$IIPSRV_DIR/lighttpd.pid"
    [[ -s $IIPSRV_DIR/iipsrv.pid ]] || return 0
    mapfile -t pids < <(sort -u "$IIPSRV_DIR/iipsrv.pid")
    for pid in "${pids[@]}"; do
        [[ $pid =~ ^[0-9]+$ ]] || continue
        for (( i = 0; i < 50; i++ )); do
            [[ $(cat "/proc/$pid/comm" 2>/dev/null) = iipsrv.fcgi* ]] || break
            [[ $(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null) != Z ]] || break
            sleep 0.05
        done
        if (( i == 50 )); then kill -KILL "$pid" 2>/dev/null || true; fi
    done
    rm -f "$IIPSRV_DIR/iipsrv.pid"
}

_iipsrv_conf() {
    local dir=$1 max_cvt=$2
    cat <<EOF
server.modules = ( "mod_fastcgi", "mod_accesslog" )
server.bind = "127.0.0.1"
server.port = $IIPSRV_PORT
server.document-root = "$IIPSRV_DIR/www"
server.upload-dirs = ( "$IIPSRV_DIR/upload" )
server.errorlog = "$IIPSRV_DIR/error.log"
server.tag = "lighttpd"
server.max-keep-alive-requests = 10000
server.max-keep-alive-idle = 60
accesslog.filename = "|exec /bin/cat >>$IIPSRV_ACCESS_LOG"
accesslog.format = "%r %>s"
fastcgi.server = (
    "/" => ((
        "socket" => "$IIPSRV_DIR/iipsrv.sock",
        "bin-path" => "$IIPSRV_FCGI",
        "max-procs" => 1,
        "check-local" => "disable",
        "bin-environment" => (
            "LOGFILE" => "$IIPSRV_DIR/iipsrv.log",
            "VERBOSITY" => "2",
            "FILESYSTEM_PREFIX" => "$dir/",
            "MAX_CVT" => "$max_cvt",
            "JPEG_QUALITY" => "90",
            "MAX_IMAGE_CACHE_SIZE" => "10",
            "URI_MAP" => "iiif=>IIIF",
            "MEMCACHED_SERVERS" => "",
            "OMP_NUM_THREADS" => "1",
        ),
    )),
)
EOF
}
