#!/usr/bin/env bash
# API tour: walks through Conversa's REST API against a running service, narrating each request
# and the interesting part of each answer. It opens a conversation, sends into it, lists its
# messages page by page, reads it, lists conversations by status, extends it, closes it, and
# shows the errors a client meets afterwards.
#
#   scripts/run                # in one terminal (prints and stores a demo API key)
#   scripts/examples.sh        # in another
#
# Inputs (environment):
#   CONVERSA_URL             the service (default http://localhost:8080)
#   CONVERSA_API_KEY         an API key of a user with the `agent` role or above
#                            (default: the contents of .data/demo-api-key, written by scripts/run)
#   CONVERSA_BUSINESS_PHONE  a number of the tenant's (default +5511940000001, the demo tenant's)
#
# Every step checks the HTTP status it expects and the tour stops with a non-zero exit status
# when one differs; the test suite runs it (crates/app-http/tests/tour.rs) so it cannot rot.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

die() {
    printf '\nexamples: FAILED: %s\n' "$*" >&2
    exit 1
}

for tool in curl jq; do
    command -v "$tool" >/dev/null 2>&1 ||
        die "\`$tool\` is required but not installed (Debian/Ubuntu: apt-get install $tool)"
done

url="${CONVERSA_URL:-http://localhost:8080}"
url="${url%/}"
key="${CONVERSA_API_KEY:-}"
if [ -z "$key" ]; then
    key_file="$root/.data/demo-api-key"
    [ -s "$key_file" ] ||
        die "no API key: set CONVERSA_API_KEY, or start the service with scripts/run (it writes $key_file)"
    key=$(tr -d '[:space:]' <"$key_file")
fi
business="${CONVERSA_BUSINESS_PHONE:-+5511940000001}"
# A customer number of its own per run, so reruns against the same database never meet the
# active conversation of an earlier run: +55 11 9 and 8 digits from the clock and $RANDOM.
customer=$(printf '+55119%08d' $((($(date +%s) * 32768 + RANDOM) % 100000000)))

response_file=$(mktemp)
trap 'rm -f "$response_file"' EXIT

step_number=0
# step TITLE EXPLANATION: prints a step's heading.
step() {
    step_number=$((step_number + 1))
    printf '\n== %d. %s\n' "$step_number" "$1"
    printf '   %s\n' "$2"
}

# call EXPECTED METHOD PATH [JSON]: sends a request with the API key, prints it, and fails the
# tour unless the answer has status EXPECTED. Leaves the answer in $status, $content_type, $body.
call() {
    local expected=$1 method=$2 path=$3 data=${4:-}
    local args=(-sS -X "$method" -o "$response_file" -w '%{http_code} %{content_type}'
        -H "Authorization: Bearer $key" -H 'Accept: application/json')
    printf '   > %s %s\n' "$method" "$path"
    if [ -n "$data" ]; then
        printf '     %s\n' "$(jq -c . <<<"$data")"
        args+=(-H 'Content-Type: application/json' --data "$data")
    fi
    local meta
    meta=$(curl "${args[@]}" "$url$path") ||
        die "$method $path: cannot reach $url (is the service running? start it with scripts/run)"
    status=${meta%% *}
    content_type=${meta#* }
    body=$(cat "$response_file")
    printf '   < %s %s\n' "$status" "$content_type"
    if [ "$status" = 401 ] && [ "$expected" != 401 ]; then
        die "$method $path answered 401: the API key was refused (check CONVERSA_API_KEY): $body"
    fi
    [ "$status" = "$expected" ] ||
        die "$method $path answered $status, expected $expected: $body"
}

# show JQ_FILTER: prints the part of the last answer the filter selects, indented.
show() {
    jq "$1" <<<"$body" | sed 's/^/     /'
}

# field JQ_FILTER: one raw value of the last answer.
field() {
    jq -r "$1" <<<"$body"
}

printf 'Conversa API tour against %s (customer %s, business number %s)\n' "$url" "$customer" "$business"

step "Is the service up?" \
    "/health answers while the process lives; /ready only when the database answers too."
call 200 GET /health
show .
call 200 GET /ready
show .

step "Open a conversation" \
    "A conversation joins a customer's number and one of the tenant's numbers (SMS here). It starts 'pending' and expires unless extended."
open=$(jq -n --arg customer "$customer" --arg business "$business" \
    '{customer_phone: $customer, business_phone: $business, channel: "sms",
      context: {topic: "order 1234"}, metadata: {source: "api-tour"}}')
call 201 POST /api/v1/conversations "$open"
show '{id, status, channel, customer_phone, business_phone, expires_at, max_expires_at}'
conversation=$(field .id)

step "Opening it again is safe" \
    "While a conversation between the same numbers is active, the same request answers 200 with that conversation instead of opening another."
call 200 POST /api/v1/conversations "$open"
show '{id, status}'
[ "$(field .id)" = "$conversation" ] || die "a second conversation was opened: $body"

step "An agent writes to the customer" \
    "The message is stored and queued; a background dispatcher sends it through Twilio. A second message gives the listing below two pages."
call 201 POST "/api/v1/conversations/$conversation/messages" \
    '{"body": "Olá! Seu pedido 1234 sai para entrega hoje."}'
show '{id, direction, sender, body, delivery_status}'
message=$(field .id)
call 201 POST "/api/v1/conversations/$conversation/messages" \
    '{"body": "Posso ajudar em algo mais?", "metadata": {"template": "follow-up"}}'
show '{id, direction, sender, body, delivery_status}'

step "Follow the message's delivery" \
    "GET /api/v1/messages/{id} shows Twilio's MessageSid once sent and the delivery status Twilio reports (with made-up credentials, such as the demo account's, Twilio refuses it: 'failed')."
for _ in $(seq 1 50); do
    call 200 GET "/api/v1/messages/$message" >/dev/null
    if [ "$(field '.provider_sid != null or .delivery_status == "failed"')" = true ]; then
        break
    fi
    sleep 0.1
done
printf '   > GET /api/v1/messages/%s\n' "$message"
show '{delivery_status, provider_sid, error_code, error_message}'
if [ "$(field .delivery_status)" = queued ] && [ "$(field .provider_sid)" = null ]; then
    printf '   (still queued: the dispatcher retries temporary failures with backoff)\n'
fi

step "List the messages, a page at a time" \
    "Lists take 'limit' (1 to 200) and answer 'next_cursor'; pass it back as 'cursor' for the next page until it is null. Messages come oldest first."
page_path="/api/v1/conversations/$conversation/messages?limit=1"
listed=0
for page in $(seq 1 10); do
    call 200 GET "$page_path"
    printf '     page %d:\n' "$page"
    show '{items: [.items[] | {direction, sender, body, delivery_status}], next_cursor}'
    listed=$((listed + $(field '.items | length')))
    cursor=$(field '.next_cursor // empty')
    [ -n "$cursor" ] || break
    page_path="/api/v1/conversations/$conversation/messages?limit=1&cursor=$cursor"
done
[ "$listed" -eq 2 ] || die "listed $listed messages, expected the 2 sent"

step "Read the conversation" \
    "The first message moved it from 'pending' to 'progress'; it counts its messages and remembers the last one."
call 200 GET "/api/v1/conversations/$conversation"
show '{id, status, message_count, last_message_at, expires_at}'
[ "$(field .status)/$(field .message_count)" = progress/2 ] ||
    die "expected status progress with 2 messages: $body"
expires_at=$(field .expires_at)

step "List conversations by status" \
    "Without 'status' the listing shows the active ones (pending, progress); 'status' takes a comma-separated list. Newest first."
call 200 GET "/api/v1/conversations?status=pending,progress&limit=5"
show '{items: [.items[] | {id, status, customer_phone, message_count}], next_cursor}'
[ "$(jq --arg id "$conversation" 'any(.items[]; .id == $id)' <<<"$body")" = true ] ||
    die "the new conversation is not among the active ones: $body"

step "Extend it" \
    "Moves expires_at forward (at most the tenant's maximum extension, never past max_expires_at)."
call 200 POST "/api/v1/conversations/$conversation/extend" '{"seconds": 3600}'
show '{id, status, expires_at, max_expires_at}'
after=$(field .expires_at)
printf '     expires_at: %s -> %s\n' "$expires_at" "$after"
[ "$after" != "$expires_at" ] || die "expires_at did not move: $body"

step "Close it" \
    "An agent closes it with a reason; status is agent_closed (the default), support_closed, user_closed or failed."
call 200 POST "/api/v1/conversations/$conversation/close" \
    '{"reason": "customer question answered", "status": "agent_closed"}'
show '{id, status, closed_at, close_reason}'
[ "$(field .status)" = agent_closed ] || die "the conversation is not agent_closed: $body"

step "Find it among the closed ones" \
    "Final states are listed only when asked for."
call 200 GET "/api/v1/conversations?status=agent_closed&limit=5"
show '{items: [.items[] | {id, status, close_reason}]}'
[ "$(jq --arg id "$conversation" 'any(.items[]; .id == $id)' <<<"$body")" = true ] ||
    die "the closed conversation is not listed as agent_closed: $body"

step "A closed conversation refuses messages" \
    "Errors are RFC 9457 application/problem+json; 'code' is stable and meant for programs."
call 409 POST "/api/v1/conversations/$conversation/messages" '{"body": "Ainda está aí?"}'
show '{status, code, title, detail}'
case $content_type in
    application/problem+json*) ;;
    *) die "the error is not application/problem+json: $content_type" ;;
esac
[ "$(field .code)" = conversation_closed ] || die "unexpected problem code: $body"

step "Unknown ids answer 404" \
    "So does another tenant's conversation: tenants never see each other's data, not even whether it exists."
call 404 GET /api/v1/conversations/00000000-0000-4000-8000-000000000000
show '{status, code, detail}'
[ "$(field .code)" = not_found ] || die "unexpected problem code: $body"

printf '\nTour complete: conversation %s is %s.\n' "$conversation" agent_closed
