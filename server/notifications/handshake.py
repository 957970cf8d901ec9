"""Graph's notificationUrl validation: the token sent, and what a right answer is.

One place for the rule, which the stub applies before it stores a subscription
(`Notifications.validate`) and `vevents check-webhook` judges a receiver by: a POST with
`?validationToken=...`, answered `200 OK`, `Content-Type: text/plain`, the URL-decoded token as
the whole body, in time.
"""

from __future__ import annotations

import uuid

from vevents.server.notifications.client import Answer

__all__ = ["answers_200", "answers_text_plain", "echoes", "handshake_problem", "validation_token"]


def validation_token() -> str:
    """An opaque token in the shape Graph sends (spaces and a colon: it must be URL-decoded)."""
    return f"Validation: Testing client application reachability for subscription Request-Id: {uuid.uuid4()}"


def answers_200(answer: Answer) -> bool:
    return answer.status == 200


def answers_text_plain(answer: Answer) -> bool:
    return answer.content_type.split(";", 1)[0].strip().lower() == "text/plain"


def echoes(answer: Answer, token: str) -> bool:
    return answer.body.decode("utf-8", "replace") == token


def handshake_problem(answer: Answer, token: str) -> str | None:
    """What is wrong with a receiver's answer to the validation request (Graph's 400 messages), or None."""
    if answer.timed_out:
        return "Subscription validation request timed out."
    if not answers_200(answer):
        return (
            "Subscription validation request failed. "
            "Notification endpoint must respond with 200 OK to validation request."
        )
    if not answers_text_plain(answer):
        return "Subscription validation request failed. Response must be of content type text/plain."
    if not echoes(answer, token):
        return "Subscription validation request failed. Response must exactly match validationToken query parameter."
    return None
