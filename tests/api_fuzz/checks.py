"""Checks of the OpenAPI fuzzer (scripts/api_fuzz.sh) besides schemathesis' own.

Schemathesis' `positive_data_acceptance` is replaced by `fitting_requests_are_accepted`: a request
that fits the document must never be refused for its shape. Only the alert's state may refuse
it, each with its own code: 400 `not_allowed` (a transition its status does not allow, a snooze
time already past, a due date before it opened, no value to watch), 404 `not_found` or
`unknown_assignee` (no such alert or person), 409 `conflict` (a newer version), and the
`Idempotency-Key`'s own history: 422 `key_reused` (the key came with another request). A 400
`invalid_input` — the server's word for "this does not fit the document" — fails the run.
"""
import json

import schemathesis

STATE_REFUSALS = {
    400: {"not_allowed"},
    401: {"not_signed_in", "bad_token"},
    403: {"forbidden", "bad_csrf"},
    404: {"not_found", "unknown_assignee"},
    409: {"conflict"},
    422: {"key_reused"},
}


@schemathesis.check
def fitting_requests_are_accepted(ctx, response, case):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return None
    status = response.status_code
    if status < 400 or status >= 500:
        return None
    try:
        code = json.loads(response.content)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        code = None
    if code not in STATE_REFUSALS.get(status, set()):
        raise AssertionError(
            f"A request that fits the document was refused: {status} `{code}`: {response.text[:400]}"
        )
    return None
