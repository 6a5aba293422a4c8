#!/usr/bin/env bash
# test_access.sh - end-to-end tests of the HTTP access options: proxies (tinyproxy), the proxy
# environment variables, extra request headers and what redirects do with them.
#
# Usage: tests/e2e/test_access.sh
# Environment:
#   IIIFSTITCH=PATH    binary under test (default build/iiifstitch)
#   WRAP="CMD ARGS"    prefix for every run, e.g. WRAP="valgrind -q --error-exitcode=99"
#   RUN_TIMEOUT=N      seconds before one run is killed (default 60)
#   TREES_CACHE=DIR    the generated trees and references (tests/lib/data.sh)
#   ONLY=REGEX         run only the checks whose name matches (grep -E)
#   KEEP=1, VERBOSE=1  keep the work dir / print passing checks (tests/lib/common.sh)
#
# Each check is one named pass/fail; the last line is "N passed, N failed, N skipped".
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$TOP"
# shellcheck source=tests/lib/common.sh
. tests/lib/common.sh
# shellcheck source=tests/lib/nginx.sh
. tests/lib/nginx.sh
# shellcheck source=tests/lib/proxy.sh
. tests/lib/proxy.sh
# shellcheck source=tests/lib/refimage.sh
. tests/lib/refimage.sh
# shellcheck source=tests/lib/data.sh
. tests/lib/data.sh

# every run states its own proxy settings: nothing comes from the caller's environment
unset http_proxy HTTP_PROXY https_proxy HTTPS_PROXY no_proxy NO_PROXY

RUN_TIMEOUT=${RUN_TIMEOUT:-60}
PIXCMP=$TOP/tests/lib/pixcmp.sh
VERSION=$(sed -nE 's/^#define IIIFS_VERSION "(.*)"/\1/p' include/iiifstitch.h)

t_init
t_binary
OUTDIR=$T_WORK/out
mkdir -p "$OUTDIR"

for tool in "$TINYPROXY_BIN" "$NGINX_BIN"; do
    if [[ ! -x $tool ]]; then
        t_fail deps "$tool missing (run tests/deps.sh)"
        t_summary
        exit 1
    fi
done

# ------------------------------------------------------------------------------------------
# fixtures: one tree and its reference

data_ready
REF=$DATA/ref/v2_256.v
WWW=$T_WORK/www
mkdir -p "$WWW"
ln -s "$DATA/iiif/v2_256" "$WWW/v2_256"

nginx_start "$WWW"
t_closed_port               # a proxy that is not there
PKI=$T_WORK/pki
ACCESS=$NGINX_DIR/logs/access.log
H=http://127.0.0.1:$NGINX_HTTP_PORT
S=https://localhost:$NGINX_HTTPS_PORT
NREQ=21    # v2_256: 1200x900 at 256 = 5 x 4 tiles, plus info.json

# open: forwards anything; strict: CONNECT only to port 1; auth: wants tester/s3cret
proxy_start open
proxy_start strict "ConnectPort 1"
proxy_start auth "BasicAuth tester s3cret"
P_OPEN=http://127.0.0.1:$PROXY_PORT_open
P_STRICT=http://127.0.0.1:$PROXY_PORT_strict
P_AUTH=127.0.0.1:$PROXY_PORT_auth
LOG_OPEN=$PROXY_LOG_open

# ------------------------------------------------------------------------------------------
# helpers

want() {    # want NAME: false when ONLY is set and NAME does not match it
    [[ -z ${ONLY:-} ]] || grep -qE -- "$ONLY" <<<"$1"
}

first_line() {
    if [[ -s $1 ]]; then head -n1 "$1" | cut -c1-300; else echo "(stderr empty)"; fi
}

# run NAME [VAR=VALUE...] -- ARGS...: run the binary with the environment assignments, then
# -q -o $OUTDIR/NAME.tif ARGS; empties the nginx and open-proxy logs first; sets RC, OUT, ERR
run() {
    local name=$1 envs=()
    shift
    while [[ $1 != -- ]]; do envs+=("$1"); shift; done
    shift
    OUT=$OUTDIR/$name.tif
    ERR=$OUTDIR/$name.err
    RC=0
    : >"$ACCESS"
    proxy_reset "$LOG_OPEN"
    timeout -k 5 "$RUN_TIMEOUT" env "${envs[@]}" "${WRAP_ARR[@]}" "$BIN" -q -o "$OUT" "$@" \
        >"$OUTDIR/$name.stdout" 2>"$ERR" </dev/null || RC=$?
}

# verify_ok: the last run succeeded and its output equals the reference pixel for pixel
verify_ok() {
    local why
    if (( RC == 124 || RC == 137 )); then echo "timed out after ${RUN_TIMEOUT}s"; return 1; fi
    if (( RC != 0 )); then echo "exit $RC: $(first_line "$ERR")"; return 1; fi
    if [[ ! -f $OUT ]]; then echo "exit 0 but no output file"; return 1; fi
    if ! why=$("$PIXCMP" "$OUT" "$REF" 2>&1); then echo "pixels: $why"; return 1; fi
    return 0
}

# verify_err WANT_RC REGEX: failed with WANT_RC and one stderr line matching REGEX
verify_err() {
    local want=$1 re=$2 first lines
    if (( RC == 124 || RC == 137 )); then echo "timed out after ${RUN_TIMEOUT}s"; return 1; fi
    first=$(first_line "$ERR")
    if (( RC != want )); then echo "exit $RC, want $want: $first"; return 1; fi
    lines=$(grep -c '' "$ERR" || true)
    if (( lines != 1 )); then echo "stderr has $lines lines, want 1: $first"; return 1; fi
    if ! grep -qiE -- "^iiifstitch: .*($re)" <<<"$first"; then
        echo "message does not say /$re/: $first"
        return 1
    fi
    if [[ -e $OUT ]]; then echo "output file left behind"; return 1; fi
    return 0
}

# nginx_lines: the access log lines of the last run; origin_count: how many
origin_count() { grep -c '' "$ACCESS" || true; }

# proxied_count: requests the open proxy saw in the last run
proxied_count() { proxy_requests "$LOG_OPEN" | grep -c '' || true; }

# header fields of the access log line for URI (first match): Authorization, Cookie, Referer,
# User-Agent, X-Test, tab-separated
header_fields() {
    awk -v uri="$1" '$2 == uri { print; exit }' "$ACCESS" |
        sed -nE 's/^[^"]*"([^"]*)" "([^"]*)" "([^"]*)" "([^"]*)" "([^"]*)"$/\1\t\2\t\3\t\4\t\5/p'
}

HDR_ARGS=(-H 'X-Test: hello world' --cookie 'session=abc; lang=en' --referer 'https://viewer.example/item/7'
          --token 'tok123' --user-agent 'agent/9')
HDR_WANT=$(printf 'Bearer tok123\tsession=abc; lang=en\thttps://viewer.example/item/7\tagent/9\thello world')
NONE_WANT=$(printf -- '-\t-\t-\tagent/9\t-')

# every_line_has FIELDS: each access log line carries exactly these header fields
every_line_has() {
    local want=$1 bad n
    n=$(origin_count)
    (( n > 0 )) || { echo "nginx saw no request"; return 1; }
    bad=$(sed -nE 's/^[^"]*"([^"]*)" "([^"]*)" "([^"]*)" "([^"]*)" "([^"]*)"$/\1\t\2\t\3\t\4\t\5/p' "$ACCESS" |
          grep -vcxF -- "$want" || true)
    local parsed
    parsed=$(grep -c '"' "$ACCESS" || true)
    if (( bad != 0 || parsed != n )); then
        echo "$bad of $n requests lack the headers: $(head -n1 "$ACCESS")"
        return 1
    fi
    return 0
}

# ------------------------------------------------------------------------------------------
# proxies

if want proxy_http_env; then
    run proxy_http_env HTTP_PROXY="$P_OPEN" -- "$H/v2_256/info.json"
    if ! why=$(verify_ok); then
        t_fail proxy_http_env "$why"
    elif (( $(proxied_count) != NREQ )); then
        t_fail proxy_http_env "proxy saw $(proxied_count) requests, want $NREQ"
    elif ! proxy_requests "$LOG_OPEN" | grep -qxF "GET $H/v2_256/info.json"; then
        t_fail proxy_http_env "no absolute-form GET $H/v2_256/info.json in the proxy log"
    elif (( $(origin_count) != NREQ )); then
        t_fail proxy_http_env "nginx saw $(origin_count) requests, want $NREQ"
    else
        t_pass proxy_http_env
    fi
fi

if want proxy_http_lowercase_env_headers; then
    run proxy_http_lowercase_env_headers http_proxy="$P_OPEN" -- "${HDR_ARGS[@]}" "$H/v2_256/info.json"
    if ! why=$(verify_ok); then
        t_fail proxy_http_lowercase_env_headers "$why"
    elif (( $(proxied_count) != NREQ )); then
        t_fail proxy_http_lowercase_env_headers "proxy saw $(proxied_count) requests, want $NREQ"
    elif ! why=$(every_line_has "$HDR_WANT"); then
        t_fail proxy_http_lowercase_env_headers "$why"
    else
        t_pass proxy_http_lowercase_env_headers
    fi
fi

if want proxy_https_connect; then
    run proxy_https_connect HTTPS_PROXY="$P_OPEN" -- --cacert "$PKI/ca.pem" "${HDR_ARGS[@]}" \
        "$S/v2_256/info.json"
    nconnect=$(proxy_requests "$LOG_OPEN" | grep -cxF "CONNECT localhost:$NGINX_HTTPS_PORT" || true)
    if ! why=$(verify_ok); then
        t_fail proxy_https_connect "$why"
    elif (( nconnect == 0 )); then
        t_fail proxy_https_connect "proxy saw no CONNECT localhost:$NGINX_HTTPS_PORT: $(proxy_requests "$LOG_OPEN" | head -n2 | tr '\n' '|')"
    elif (( $(proxied_count) != nconnect )); then
        t_fail proxy_https_connect "proxy saw other requests than CONNECT"
    elif ! why=$(every_line_has "$HDR_WANT"); then
        t_fail proxy_https_connect "headers inside the tunnel: $why"
    else
        t_pass proxy_https_connect
    fi
fi

if want proxy_flag_overrides_env; then
    # the environment names a dead proxy; --proxy wins
    dead=$CLOSED_PORT
    run proxy_flag_overrides_env HTTP_PROXY="http://127.0.0.1:$dead" -- --proxy "$P_OPEN" "$H/v2_256/info.json"
    if ! why=$(verify_ok); then
        t_fail proxy_flag_overrides_env "$why"
    elif (( $(proxied_count) != NREQ )); then
        t_fail proxy_flag_overrides_env "proxy saw $(proxied_count) requests, want $NREQ"
    else
        t_pass proxy_flag_overrides_env
    fi
fi

# no_proxy_bypass NAME NO_PROXY_VALUE VAR URL [ARGS...]: goes direct, the proxy sees nothing
no_proxy_bypass() {
    local name=$1 np=$2 var=$3 url=$4 why
    shift 4
    want "$name" || return 0
    run "$name" "$var=$P_OPEN" NO_PROXY="$np" -- "$@" "$url"
    if ! why=$(verify_ok); then
        t_fail "$name" "$why"
    elif (( $(proxied_count) != 0 )); then
        t_fail "$name" "proxy saw $(proxied_count) requests despite NO_PROXY=$np"
    elif (( $(origin_count) != NREQ )); then
        t_fail "$name" "nginx saw $(origin_count) requests, want $NREQ"
    else
        t_pass "$name"
    fi
}
no_proxy_bypass no_proxy_ip_literal 127.0.0.1 HTTP_PROXY "$H/v2_256/info.json"
no_proxy_bypass no_proxy_ip_with_port "example.org, 127.0.0.1:$NGINX_HTTP_PORT" HTTP_PROXY "$H/v2_256/info.json"
no_proxy_bypass no_proxy_domain_https .localhost HTTPS_PROXY "$S/v2_256/info.json" --cacert "$PKI/ca.pem"
no_proxy_bypass no_proxy_star '*' HTTP_PROXY "$H/v2_256/info.json"

if want no_proxy_other_port_still_proxied; then
    run no_proxy_other_port_still_proxied HTTP_PROXY="$P_OPEN" NO_PROXY="127.0.0.1:1" -- "$H/v2_256/info.json"
    if ! why=$(verify_ok); then
        t_fail no_proxy_other_port_still_proxied "$why"
    elif (( $(proxied_count) != NREQ )); then
        t_fail no_proxy_other_port_still_proxied "proxy saw $(proxied_count) requests, want $NREQ"
    else
        t_pass no_proxy_other_port_still_proxied
    fi
fi

if want proxy_empty_flag_disables; then
    run proxy_empty_flag_disables HTTP_PROXY="$P_OPEN" HTTPS_PROXY="$P_OPEN" -- --proxy '' "$H/v2_256/info.json"
    if ! why=$(verify_ok); then
        t_fail proxy_empty_flag_disables "$why"
    elif (( $(proxied_count) != 0 )); then
        t_fail proxy_empty_flag_disables "proxy saw $(proxied_count) requests despite --proxy ''"
    else
        t_pass proxy_empty_flag_disables
    fi
fi

if want proxy_unreachable; then
    dead=$CLOSED_PORT
    run proxy_unreachable -- --proxy "http://127.0.0.1:$dead" "$H/v2_256/info.json"
    if why=$(verify_err 3 "proxy http://127\\.0\\.0\\.1:$dead"); then
        t_pass proxy_unreachable
    else
        t_fail proxy_unreachable "$why"
    fi
fi

if want proxy_refuses_connect; then
    run proxy_refuses_connect HTTPS_PROXY="$P_STRICT" -- --cacert "$PKI/ca.pem" "$S/v2_256/info.json"
    if why=$(verify_err 5 "proxy http://127\\.0\\.0\\.1:$PROXY_PORT_strict.*CONNECT localhost:$NGINX_HTTPS_PORT.*403"); then
        t_pass proxy_refuses_connect
    else
        t_fail proxy_refuses_connect "$why"
    fi
fi

if want proxy_auth_http; then
    run proxy_auth_http -- --proxy "http://tester:s3cret@$P_AUTH" "$H/v2_256/info.json"
    if why=$(verify_ok); then t_pass proxy_auth_http; else t_fail proxy_auth_http "$why"; fi
fi
if want proxy_auth_https; then
    run proxy_auth_https HTTPS_PROXY="tester:s3cret@$P_AUTH" -- --cacert "$PKI/ca.pem" "$S/v2_256/info.json"
    if why=$(verify_ok); then t_pass proxy_auth_https; else t_fail proxy_auth_https "$why"; fi
fi
if want proxy_auth_missing_https; then
    run proxy_auth_missing_https -- --proxy "http://$P_AUTH" --cacert "$PKI/ca.pem" "$S/v2_256/info.json"
    if why=$(verify_err 5 "proxy .*CONNECT localhost:$NGINX_HTTPS_PORT.*407"); then
        t_pass proxy_auth_missing_https
    else
        t_fail proxy_auth_missing_https "$why"
    fi
fi
if want proxy_auth_wrong_http; then
    run proxy_auth_wrong_http -- --proxy "http://tester:wrong@$P_AUTH" "$H/v2_256/info.json"
    # tinyproxy answers a forwarded request with wrong credentials 401, a CONNECT 407
    if why=$(verify_err 5 '40[17]'); then
        t_pass proxy_auth_wrong_http
    elif grep -q s3cret "$ERR" || grep -q wrong "$ERR"; then
        t_fail proxy_auth_wrong_http "credentials in the message: $(first_line "$ERR")"
    else
        t_fail proxy_auth_wrong_http "$why"
    fi
fi

if want proxy_https_scheme_refused; then
    run proxy_https_scheme_refused -- --proxy "https://127.0.0.1:1" "$H/v2_256/info.json"
    if why=$(verify_err 2 'https:// prox'); then
        t_pass proxy_https_scheme_refused
    else
        t_fail proxy_https_scheme_refused "$why"
    fi
fi

# ------------------------------------------------------------------------------------------
# headers

if want headers_arrive; then
    run headers_arrive -- "${HDR_ARGS[@]}" "$H/v2_256/info.json"
    if ! why=$(verify_ok); then
        t_fail headers_arrive "$why"
    elif ! why=$(every_line_has "$HDR_WANT"); then
        t_fail headers_arrive "$why"
    else
        t_pass headers_arrive
    fi
fi

if want headers_default_user_agent; then
    run headers_default_user_agent -- "$H/v2_256/info.json"
    want_f=$(printf -- '-\t-\t-\tiiifstitch/%s\t-' "$VERSION")
    if ! why=$(verify_ok); then
        t_fail headers_default_user_agent "$why"
    elif ! why=$(every_line_has "$want_f"); then
        t_fail headers_default_user_agent "$why"
    else
        t_pass headers_default_user_agent
    fi
fi

if want headers_replace_user_agent; then
    run headers_replace_user_agent -- -H 'user-agent: custom/1' "$H/v2_256/info.json"
    n_ua=$(grep -c '"custom/1"' "$ACCESS" || true)
    if ! why=$(verify_ok); then
        t_fail headers_replace_user_agent "$why"
    elif (( n_ua != NREQ )) || grep -q 'iiifstitch/' "$ACCESS"; then
        t_fail headers_replace_user_agent "want User-Agent custom/1 on all $NREQ requests, got $n_ua: $(head -n1 "$ACCESS")"
    else
        t_pass headers_replace_user_agent
    fi
fi

# usage NAME REGEX ARGS...: exit 2 with a one-line message matching REGEX, nothing fetched
usage() {
    local name=$1 re=$2 why
    shift 2
    want "$name" || return 0
    run "$name" -- "$@" "$H/v2_256/info.json"
    if ! why=$(verify_err 2 "$re"); then
        t_fail "$name" "$why"
    elif (( $(origin_count) != 0 )); then
        t_fail "$name" "a request was sent anyway"
    else
        t_pass "$name"
    fi
}
usage usage_header_no_colon "-H 'X-Test hello'" -H 'X-Test hello'
usage usage_header_bad_name "-H 'X Test: \\.\\.\\.'.*name" -H 'X Test: hello'
usage usage_header_crlf "-H 'X-Test: \\.\\.\\.'.*(CR|LF|line)" -H $'X-Test: a\r\nX-Injected: 1'
usage usage_header_lf "line|LF" -H $'X-Test: a\nX-Injected: 1'
usage usage_header_host "Host.*cannot" -H 'Host: evil.example'
usage usage_header_connection "Connection.*cannot" -H 'Connection: close'
usage usage_header_content_length "Content-Length.*cannot" -H 'Content-Length: 0'
usage usage_header_transfer_encoding "Transfer-Encoding.*cannot" -H 'Transfer-Encoding: chunked'
usage usage_cookie_crlf "--cookie.*(CR|LF|line)" --cookie $'a=1\r\nX: y'
usage usage_token_and_authorization "--token" --token t -H 'Authorization: Basic eA=='
usage usage_user_agent_crlf "--user-agent" --user-agent $'a\r\nX: y'

# ------------------------------------------------------------------------------------------
# redirects: user headers follow only on the same host name and port

if want redirect_same_host_keeps_headers; then
    run redirect_same_host_keeps_headers -- "${HDR_ARGS[@]}" "$H/redirect-self/v2_256/info.json"
    first=$(header_fields /redirect-self/v2_256/info.json)
    target=$(header_fields /v2_256/info.json)
    if ! why=$(verify_ok); then
        t_fail redirect_same_host_keeps_headers "$why"
    elif [[ $first != "$HDR_WANT" ]]; then
        t_fail redirect_same_host_keeps_headers "redirecting request lacks the headers: $first"
    elif [[ $target != "$HDR_WANT" ]]; then
        t_fail redirect_same_host_keeps_headers "redirected request lacks the headers: ${target:-(not seen)}"
    else
        t_pass redirect_same_host_keeps_headers
    fi
fi

if want redirect_other_host_drops_headers; then
    # 127.0.0.1 -> localhost: same server and port, another host name
    run redirect_other_host_drops_headers -- "${HDR_ARGS[@]}" -H 'User-Agent: custom/1' \
        "$H/redirect-localhost/v2_256/info.json"
    first=$(header_fields /redirect-localhost/v2_256/info.json)
    target=$(header_fields /v2_256/info.json)
    # a user User-Agent is dropped too: the built-in (--user-agent) comes back
    if ! why=$(verify_ok); then
        t_fail redirect_other_host_drops_headers "$why"
    elif [[ $first != "${HDR_WANT/agent\/9/custom/1}" ]]; then
        t_fail redirect_other_host_drops_headers "redirecting request lacks the headers: $first"
    elif [[ $target != "$NONE_WANT" ]]; then
        t_fail redirect_other_host_drops_headers "redirected to localhost with: ${target:-(not seen)}"
    else
        t_pass redirect_other_host_drops_headers
    fi
fi

if want redirect_through_proxy_drops_headers; then
    run redirect_through_proxy_drops_headers HTTP_PROXY="$P_OPEN" -- "${HDR_ARGS[@]}" \
        "$H/redirect-localhost/v2_256/info.json"
    target=$(header_fields /v2_256/info.json)
    if ! why=$(verify_ok); then
        t_fail redirect_through_proxy_drops_headers "$why"
    elif ! proxy_requests "$LOG_OPEN" | grep -qxF "GET http://localhost:$NGINX_HTTP_PORT/v2_256/info.json"; then
        t_fail redirect_through_proxy_drops_headers "the redirect did not go through the proxy"
    elif [[ $target != "$NONE_WANT" ]]; then
        t_fail redirect_through_proxy_drops_headers "redirected to localhost with: ${target:-(not seen)}"
    else
        t_pass redirect_through_proxy_drops_headers
    fi
fi

t_summary
