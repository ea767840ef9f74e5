#!/usr/bin/env bash
# A sender lab driven from a shell with curl and dig only, as a Go or Java suite would drive it.
# Needs a running `zonetool serve example.com.yaml --api 127.0.0.1:PORT` serving example.com with
# mx1 (tests/test_api_cli.py starts one) and, in the environment:
#   API       the API's base URL, e.g. http://127.0.0.1:8053
#   DNS_PORT  the DNS port (DNS_HOST defaults to 127.0.0.1)
# Exits 0 when every check holds, 1 with the first mismatch on stderr.
set -euo pipefail
: "${API:?set API to the control API URL}" "${DNS_PORT:?set DNS_PORT}"
DNS_HOST=${DNS_HOST:-127.0.0.1}
out=$(mktemp)
trap 'rm -f "$out"' EXIT

fail() { echo "lab.sh: $*" >&2; exit 1; }
expect() { [ "$1" = "$2" ] || fail "$3: expected [$2], got [$1]"; }
has() { case "$1" in *"$2"*) ;; *) fail "$3: [$2] not in [$1]" ;; esac; }

# req METHOD PATH [JSON]: sets STATUS and BODY
req() {
  local args=(-sS -o "$out" -w '%{http_code}' -X "$1")
  [ $# -ge 3 ] && args+=(-H 'Content-Type: application/json' --data "$3")
  STATUS=$(curl "${args[@]}" "$API$2")
  BODY=$(cat "$out")
}
ask() { dig +short +time=2 +tries=1 @"$DNS_HOST" -p "$DNS_PORT" "$@" | sort | tr '\n' ' '; }
rcode() { dig +time=2 +tries=1 @"$DNS_HOST" -p "$DNS_PORT" "$@" | sed -n 's/.*status: \([A-Z]*\),.*/\1/p'; }

req GET /zones
expect "$STATUS" 200 "GET /zones"
has "$BODY" '"origin": "example.com."' "GET /zones"

# A backup exchanger with its address, added at runtime.
req POST /records '{"owner": "mx9.example.com.", "type": "A", "ttl": 60, "data": "127.0.0.19"}'
expect "$STATUS" 201 "POST /records A"
req POST /records '{"owner": "@", "type": "MX", "ttl": 60, "data": "20 mx9"}'
expect "$STATUS" 201 "POST /records MX"
expect "$(ask MX example.com)" "10 mx1.example.com. 20 mx9.example.com. " "dig MX after the change"
expect "$(ask A mx9.example.com)" "127.0.0.19 " "dig A mx9"

# Bad input is refused, naming the field.
req POST /records '{"owner": "mx9", "type": "A", "data": "not-an-address"}'
expect "$STATUS" 400 "POST /records with bad data"
has "$BODY" '"field": "data"' "the 400 names the field"
req POST /records '{"owner": "mx9.example.org.", "type": "A", "data": "127.0.0.1"}'
expect "$STATUS" 404 "POST /records outside every zone"

# The primary's address lookup fails on purpose.
req POST /faults '{"name": "mx1", "type": "A", "action": "servfail"}'
expect "$STATUS" 201 "POST /faults"
id=$(sed -n 's/.*"id": \([0-9]*\).*/\1/p' <<<"$BODY")
[ -n "$id" ] || fail "POST /faults gave no id: $BODY"
expect "$(rcode A mx1.example.com)" SERVFAIL "dig A mx1 with the fault"
req POST /faults '{"name": "mx1", "action": "delay"}'
expect "$STATUS" 400 "a delay fault without a delay"

# What the server was asked, as JSON.
req GET "/queries?since=0&name=mx1.example.com.&type=A&rcode=SERVFAIL"
expect "$STATUS" 200 "GET /queries"
has "$BODY" '"fault": "servfail"' "the query log names the fault"
has "$BODY" '"ts": "20' "the query log has timestamps"

req DELETE "/faults/$id"
expect "$STATUS" 204 "DELETE /faults/$id"
expect "$(rcode A mx1.example.com)" NOERROR "dig A mx1 without the fault"

req DELETE /records '{"owner": "mx9.example.com.", "type": "A", "data": "127.0.0.19"}'
expect "$STATUS" 200 "DELETE /records"
expect "$(rcode A mx9.example.com)" NXDOMAIN "dig A mx9 after the delete"

req DELETE /queries
expect "$STATUS" 204 "DELETE /queries"
echo "lab.sh: every check passed"
