# shellcheck shell=bash
# nginx.sh - a private nginx for the tests. Source after common.sh and t_init.
#
#   nginx_start ROOT [PKI_DIR]
#       Serve directory ROOT on 127.0.0.1 (all ports free ones picked at start):
#         NGINX_HTTP_PORT   plain HTTP
#         NGINX_HTTPS_PORT  HTTPS with PKI_DIR/server.pem (signed by PKI_DIR/ca.pem)
#         NGINX_ROGUE_PORT  HTTPS with PKI_DIR/rogue.pem (signed by the untrusted rogue CA)
#       PKI_DIR defaults to $T_WORK/pki and is made with mkca.sh when it has no ca.pem.
#       Everything (conf, pid, logs, temp paths) lives in $NGINX_DIR = $T_WORK/nginx; access log
#       $NGINX_DIR/logs/access.log has one line per request: "METHOD URI STATUS CONN CONN_REQS"
#       then, quoted, the Authorization, Cookie, Referer, User-Agent and X-Test request headers
#       ("-" when absent).
#       The plain HTTP server also answers /redirect-self/P with a 302 to P on the same host
#       and port, and /redirect-localhost/P with a 302 to http://localhost:SAME_PORT/P.
#       Keep-alive is on with a high keepalive_requests. Returns when all ports answer.
#   nginx_stop
#       Stop it (also done automatically at test exit).

NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}

nginx_start() {
    local root pki attempt ports
    root=$(cd "$1" && pwd)
    pki=${2:-$T_WORK/pki}
    NGINX_DIR=$T_WORK/nginx
    mkdir -p "$NGINX_DIR"/logs "$NGINX_DIR"/tmp/{client,proxy,fastcgi,uwsgi,scgi}
    if [[ ! -f $pki/ca.pem ]]; then
        "$T_LIB/mkca.sh" "$pki" || return 1
    fi
    t_on_exit nginx_stop
    for attempt in 1 2 3; do
        mapfile -t ports < <(free_port 3)
        NGINX_HTTP_PORT=${ports[0]}
        NGINX_HTTPS_PORT=${ports[1]}
        NGINX_ROGUE_PORT=${ports[2]}
        _nginx_conf "$root" "$pki" >"$NGINX_DIR/nginx.conf"
        : >"$NGINX_DIR/logs/error.log"
        t_bg_start "$NGINX_DIR/master.pid" "$NGINX_BIN" -p "$NGINX_DIR" -c "$NGINX_DIR/nginx.conf" \
            -e "$NGINX_DIR/logs/error.log" -g 'daemon off;'
        if wait_port "$NGINX_HTTP_PORT" 10 && wait_port "$NGINX_HTTPS_PORT" 2 &&
            wait_port "$NGINX_ROGUE_PORT" 2; then
            export NGINX_DIR NGINX_HTTP_PORT NGINX_HTTPS_PORT NGINX_ROGUE_PORT
            return 0
        fi
        t_stop_pidfile "$NGINX_DIR/master.pid"
        # a port picked by free_port may have been taken meanwhile: retry on bind errors only
        grep -q 'Address already in use' "$NGINX_DIR/logs/error.log" || break
        echo "nginx: port race, retrying ($attempt)" >&2
    done
    echo "nginx_start: nginx did not start:" >&2
    cat "$NGINX_DIR/logs/error.log" >&2
    return 1
}

nginx_stop() {
    [[ -n ${NGINX_DIR:-} ]] || return 0
    t_stop_pidfile "$NGINX_DIR/master.pid"
}

_nginx_conf() {
    local root=$1 pki=$2 user=""
    if [[ $EUID -eq 0 ]]; then
        # the work dir is mode 700: workers must run as the owner to read it
        user="user root;"
    fi
    cat <<EOF
$user
worker_processes 1;
pid $NGINX_DIR/nginx.pid;
error_log $NGINX_DIR/logs/error.log warn;

events {
    worker_connections 256;
}

http {
    types {
        application/json json;
        image/jpeg       jpg jpeg;
        image/png        png;
        text/html        html htm;
        text/plain       txt;
    }
    default_type application/octet-stream;

    log_format tests '\$request_method \$request_uri \$status \$connection \$connection_requests '
                     '"\$http_authorization" "\$http_cookie" "\$http_referer" "\$http_user_agent" '
                     '"\$http_x_test"';
    access_log $NGINX_DIR/logs/access.log tests;

    client_body_temp_path $NGINX_DIR/tmp/client;
    proxy_temp_path       $NGINX_DIR/tmp/proxy;
    fastcgi_temp_path     $NGINX_DIR/tmp/fastcgi;
    uwsgi_temp_path       $NGINX_DIR/tmp/uwsgi;
    scgi_temp_path        $NGINX_DIR/tmp/scgi;

    sendfile           on;
    tcp_nodelay        on;
    keepalive_timeout  60s;
    keepalive_requests 100000;
    server_tokens      off;
    etag               off;

    ssl_protocols       TLSv1.2 TLSv1.3;
    ssl_session_cache   shared:tests:1m;

    server {
        listen 127.0.0.1:$NGINX_HTTP_PORT;
        server_name localhost;
        root $root;
        location ~ ^/redirect-self(/.*)\$ {
            return 302 http://\$host:\$server_port\$1;
        }
        location ~ ^/redirect-localhost(/.*)\$ {
            return 302 http://localhost:\$server_port\$1;
        }
    }
    server {
        listen 127.0.0.1:$NGINX_HTTPS_PORT ssl;
        server_name localhost;
        ssl_certificate     $pki/server.pem;
        ssl_certificate_key $pki/server.key;
        root $root;
    }
    server {
        listen 127.0.0.1:$NGINX_ROGUE_PORT ssl;
        server_name localhost;
        ssl_certificate     $pki/rogue.pem;
        ssl_certificate_key $pki/rogue.key;
        root $root;
    }
}
EOF
}
