"""Verifies one webhook with the official Standard Webhooks library (PyPI `standardwebhooks`).

Reads {"secret": "whsec_...", "headers": {name: value}, "body": "..."} on stdin; prints "ok"
and exits 0 when the library accepts it, prints the library's refusal and exits 1 otherwise.
The tests use it so that signatures are checked by the specification's own verifier, not by a
re-implementation of ours.
"""

import json
import sys

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

request = json.load(sys.stdin)
try:
    Webhook(request["secret"]).verify(request["body"], request["headers"])
except WebhookVerificationError as refusal:
    print(f"refused: {refusal}")
    sys.exit(1)
print("ok")
