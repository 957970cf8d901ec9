"""The catalogue of webhook receivers `vevents check-webhook` is proved on (issue 23, acceptance 2).

Each entry: the `vevents.receiver.Receiver` knobs that make it, and the checks it must fail
(none: a correct receiver, which must pass). The slow ones are slow against the small time
limits the tests give the command (`LIMIT_S`), so the catalogue runs in about a second.
"""

from __future__ import annotations

from typing import Any

from vevents.conformance.webhook import WebhookConfig

LIMIT_S = 1.0
"""Graph's 10 s (handshake) and 3 s (delivery), scaled down: the command's --handshake-timeout
and --delivery-timeout."""
_SLOW = 3.0

RECEIVERS: dict[str, tuple[dict[str, Any], set[str]]] = {
    "correct": ({}, set()),
    "correct_200": ({"notify_status": 200, "lifecycle_status": 200}, set()),
    "wrong_echo": ({"echo": "wrong"}, {"handshake_echo"}),
    "encoded_echo": ({"echo": "encoded"}, {"handshake_echo"}),
    "json_echo": ({"echo_content_type": "application/json"}, {"handshake_content_type"}),
    "handshake_201": ({"handshake_status": 201}, {"handshake_status"}),
    "slow_handshake": ({"handshake_delay": _SLOW}, {"handshake_in_time"}),
    "notifications_500": ({"notify_status": 500}, {"notification_accepted", "batch_accepted"}),
    "slow_202": ({"notify_delay": _SLOW}, {"notification_accepted", "batch_accepted"}),
    "lifecycle_404": ({"lifecycle_status": 404}, {"lifecycle_accepted"}),
}


def config(url: str, lifecycle_url: str | None = None, **options: Any) -> WebhookConfig:
    """What the tests judge a receiver with: its URLs and the small time limits."""
    return WebhookConfig(
        url=url, lifecycle_url=lifecycle_url, handshake_timeout=LIMIT_S, delivery_timeout=LIMIT_S, **options
    )
