"""Change notifications (webhooks): subscriptions, their handshake, and delivery.

Modules, each with one job:

    subscriptions  the Subscription record and its stores (memory, SQLite beside the events)
    targets        which URLs the stub may call: loopback, or the operator's allow-list,
                   judged on the resolved address (a name cannot smuggle in another host)
    client         one bounded HTTP POST to a checked address (time, bytes, no redirects)
    handshake      Graph's notificationUrl validation: the token, and what a right answer is
    journal        every delivery attempt and its outcome, bounded, waitable
    dispatcher     the delivery queue: matching changes to subscriptions, retries with
                   bounded backoff, lifecycle notifications, never in the API call's way
    handlers       the Graph operations on /subscriptions (create with the handshake, get,
                   list, renew, delete)
    events         the store wrapper that tells the dispatcher what the handlers changed

`vevents check-webhook` (conformance/webhook.py) reuses `client` and `handshake` to judge a receiver.
"""

__all__: list[str] = []
