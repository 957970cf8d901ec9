"""`vevents check-webhook URL`: judge an integrator's receiver against Graph's delivery contract.

Graph's side of a webhook (contract `info.x-vevents-notifications`): the validation handshake
(a POST with `?validationToken=...`, answered `200 OK`, `text/plain`, the URL-decoded token as
the whole body, within 10 s), then change notifications - one, or several in one POST - and
lifecycle notifications, each answered 2xx (Graph advises 202) within 3 s, or retried. Each
rule is one check; the outcomes are `CheckResult`s in a `RunResult`, so the suite's own
reporters (terminal, JUnit XML, JSON) and exit codes (0 conformant, 1 violations, 2 could not
judge) apply unchanged. The requests go through the stub's delivery client
(server/notifications/client.py): the same bounds, the same framing, no redirects followed.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from vevents.server.notifications.client import Answer, post
from vevents.server.notifications.handshake import answers_200, answers_text_plain, echoes, validation_token
from vevents.server.notifications.targets import ANY, TargetPolicy, TargetRefused
from vevents.spec import contract
from vevents.spec.notifications import NotificationRules

from .failures import Violation
from .runner import CheckResult, Outcome, RunResult

__all__ = ["WEBHOOK_CHECKS", "WebhookConfig", "check_webhook"]

_SOURCE = "webhook"
_SAMPLE_RESOURCE = "solutions/virtualEvents/webinars/{id}"


def _rules() -> NotificationRules:
    rules = contract().notifications
    assert rules is not None
    return rules


@dataclass(frozen=True)
class WebhookConfig:
    url: str
    lifecycle_url: str | None = None
    """Where lifecycle notifications go (default: `url`)."""
    client_state: str = "vevents-check-webhook"
    subscription_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    tenant_id: str = ""
    handshake_timeout: float | None = None
    """Seconds (default: Graph's, from the contract)."""
    delivery_timeout: float | None = None


@dataclass
class _Observed:
    token: str = ""
    handshake: Answer | None = None
    lifecycle_handshake: Answer | None = None
    single: Answer | None = None
    batch: Answer | None = None
    lifecycle: Answer | None = None
    unreachable: str = ""


_HANDSHAKE_S = f"{_rules().handshake_timeout_s:g} seconds"
_DELIVERY_S = f"{_rules().delivery_timeout_s:g} seconds"
WEBHOOK_CHECKS: dict[str, str] = {
    "handshake_status": "The validation request is answered 200 OK.",
    "handshake_content_type": "The validation answer is Content-Type: text/plain.",
    "handshake_echo": "The validation answer's body is exactly the URL-decoded validationToken.",
    "handshake_in_time": f"The validation request is answered within Graph's {_HANDSHAKE_S}.",
    "notification_accepted": f"A change notification is answered 2xx (202) within Graph's {_DELIVERY_S}.",
    "batch_accepted": f"Several change notifications in one POST are answered 2xx within {_DELIVERY_S}.",
    "lifecycle_accepted": f"Lifecycle notifications (every lifecycleEvent) are answered 2xx within {_DELIVERY_S}.",
}


def _note(config: WebhookConfig, expires: str, change_type: str, event_id: str) -> dict[str, object]:
    path = _SAMPLE_RESOURCE.replace("{id}", event_id)
    return {
        "subscriptionId": config.subscription_id,
        "clientState": config.client_state,
        "changeType": change_type,
        "tenantId": config.tenant_id,
        "resource": path,
        "subscriptionExpirationDateTime": expires,
        "resourceData": {"@odata.type": "#microsoft.graph.virtualEvent", "@odata.id": path, "id": path},
    }


async def _observe(config: WebhookConfig, handshake_timeout: float, delivery_timeout: float) -> _Observed:
    seen = _Observed()
    policy = TargetPolicy([ANY])  # the integrator points us at their own receiver
    try:
        target = await policy.resolve(config.url)
        lifecycle_target = await policy.resolve(config.lifecycle_url or config.url)
    except TargetRefused as exc:
        seen.unreachable = str(exc)
        return seen
    tenant = config.tenant_id or contract().sample.tenant
    config = WebhookConfig(**{**config.__dict__, "tenant_id": tenant})
    expires = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")
    seen.token = validation_token()
    text = "text/plain; charset=utf-8"
    seen.handshake = await post(
        target.with_query("validationToken", seen.token), b"", content_type=text, timeout=handshake_timeout
    )
    if config.lifecycle_url and config.lifecycle_url != config.url:
        seen.lifecycle_handshake = await post(
            lifecycle_target.with_query("validationToken", seen.token),
            b"",
            content_type=text,
            timeout=handshake_timeout,
        )
    media = "application/json; charset=utf-8"
    event = f"{uuid.uuid4()}@{tenant}"
    single = {"value": [_note(config, expires, "updated", event)]}
    seen.single = await post(target, json.dumps(single).encode(), content_type=media, timeout=delivery_timeout)
    batch = {"value": [_note(config, expires, "updated", f"{uuid.uuid4()}@{tenant}") for _ in range(3)]}
    seen.batch = await post(target, json.dumps(batch).encode(), content_type=media, timeout=delivery_timeout)
    lifecycle = {
        "value": [
            {
                "subscriptionId": config.subscription_id,
                "subscriptionExpirationDateTime": expires,
                "tenantId": tenant,
                "clientState": config.client_state,
                "lifecycleEvent": name,
            }
            for name in _rules().lifecycle_events
        ]
    }
    seen.lifecycle = await post(
        lifecycle_target, json.dumps(lifecycle).encode(), content_type=media, timeout=delivery_timeout
    )
    return seen


def _describe(answer: Answer) -> str:
    if answer.status == 0:
        return answer.error
    body = answer.body[:80].decode("utf-8", "replace")
    return f"{answer.status}, Content-Type {answer.content_type or '(none)'}, body {body!r}, in {answer.elapsed:.2f} s"


def _judge(seen: _Observed, handshake_timeout: float, delivery_timeout: float) -> dict[str, tuple[Outcome, str, str]]:
    """name -> (outcome, violation title or skip reason, detail)."""
    verdicts: dict[str, tuple[Outcome, str, str]] = {}
    passed = (Outcome.PASSED, "", "")
    handshakes = [a for a in (seen.handshake, seen.lifecycle_handshake) if a is not None]
    refused = [a for a in handshakes if not a.status and not a.timed_out]
    if refused and not seen.unreachable:
        seen.unreachable = f"could not reach the receiver: {refused[0].error}"
    if seen.unreachable:
        return {name: (Outcome.ERROR, seen.unreachable, "") for name in WEBHOOK_CHECKS}
    answered = [a for a in handshakes if a.status]
    timed_out = [a for a in handshakes if not a.status]
    not_judged = (Outcome.ERROR, "the validation request got no answer, so its answer could not be judged", "")
    verdicts["handshake_in_time"] = (
        (Outcome.FAILED, f"no answer to the validation request within {handshake_timeout:g} s", _describe(timed_out[0]))
        if timed_out
        else passed
    )
    if timed_out and not answered:
        for name in ("handshake_status", "handshake_content_type", "handshake_echo"):
            verdicts[name] = not_judged
    else:
        token = seen.token
        rules: tuple[tuple[str, Callable[[Answer], bool], Callable[[Answer], str]], ...] = (
            ("handshake_status", answers_200, lambda a: f"the validation request was answered {a.status}, not 200"),
            (
                "handshake_content_type",
                answers_text_plain,
                lambda a: f"the validation answer is {a.content_type or 'untyped'}, not text/plain",
            ),
            (
                "handshake_echo",
                lambda a: echoes(a, token),
                lambda a: "the validation answer's body is not exactly the URL-decoded validationToken",
            ),
        )
        for name, holds, title in rules:
            broken = [a for a in answered if not holds(a)]
            detail = f"sent {token!r}; " if name == "handshake_echo" else ""
            verdicts[name] = (Outcome.FAILED, title(broken[0]), detail + _describe(broken[0])) if broken else passed
    for name, answer, what in (
        ("notification_accepted", seen.single, "a change notification"),
        ("batch_accepted", seen.batch, "three change notifications in one POST"),
        ("lifecycle_accepted", seen.lifecycle, "lifecycle notifications"),
    ):
        assert answer is not None
        if answer.ok:
            verdicts[name] = passed
        elif answer.status:
            verdicts[name] = (Outcome.FAILED, f"{what} was answered {answer.status}, not 2xx", _describe(answer))
        elif answer.timed_out:
            verdicts[name] = (Outcome.FAILED, f"{what} got no 2xx within {delivery_timeout:g} s", _describe(answer))
        else:
            verdicts[name] = (Outcome.FAILED, f"{what} could not be delivered", _describe(answer))
    return verdicts


def check_webhook(config: WebhookConfig, *, clock: Callable[[], float] = time.monotonic) -> RunResult:
    """Judge the receiver at `config.url`; the result the suite's reporters print."""
    rules = _rules()
    handshake_timeout = config.handshake_timeout or rules.handshake_timeout_s
    delivery_timeout = config.delivery_timeout or rules.delivery_timeout_s
    started = clock()
    seen = asyncio.run(_observe(config, handshake_timeout, delivery_timeout))
    verdicts = _judge(seen, handshake_timeout, delivery_timeout)
    results = []
    for name, description in WEBHOOK_CHECKS.items():
        outcome, title, detail = verdicts[name]
        result = CheckResult(name=name, description=description, source=_SOURCE, outcome=outcome)
        if outcome is Outcome.FAILED:
            result.violations.append(Violation(title=title, message=detail))
        elif outcome is not Outcome.PASSED:
            result.reason = title
        results.append(result)
    requests = sum(
        a is not None for a in (seen.handshake, seen.lifecycle_handshake, seen.single, seen.batch, seen.lifecycle)
    )
    return RunResult(
        target=config.url,
        strict=False,
        seed=0,
        results=results,
        duration=clock() - started,
        requests=requests,
        cost=False,
    )
