#!/bin/sh
# check_symbols.sh LIB — every symbol the library exports starts with iiifs_ or port_.
set -eu
bad=$(${NM:-nm} -g --defined-only "$1" | awk 'NF==3 {print $3}' | grep -vE '^(iiifs_|port_)' || true)
if [ -n "$bad" ]; then
    echo "FAIL check_symbols: unprefixed exported symbols: $bad"
    exit 1
fi
echo "ok check_symbols: every exported symbol of $1 carries the prefix"
