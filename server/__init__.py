"""The stateful Microsoft Graph virtual-events stub (`vevents serve`).

Modules, each with one job:

    settings    Settings: one frozen configuration object
    app         create_app(settings) -> connexion.AsyncApp: the one factory
    handlers    operationId targets (thin: parse, decide, store, shape)
    lifecycle   the spec's lifecycle table, executed (pure)
    store       Store protocol; SqliteStore (default) and MemoryStore
    postgres    PostgresStore: the store on PostgreSQL, shared by several processes/hosts
    dburl       whether a --db value is a PostgreSQL URL; URLs without their password
    auth        tokens (mint, verify), principals, who may do what
    security    plugs auth into Connexion's security middleware
    errors      Graph's error envelope and the code of each status (from the spec)
    error_handlers  every exception (Connexion's, Starlette's, the store's) into that envelope
    middleware  request ids, body size limit, access log
    fastpath    well-formed GET/cancel/publish without Connexion's layers (same handlers)
    ids         event id parsing
    seed        seed files (and the shipped default seed)
    background  serve_in_background(app): uvicorn in a thread
    tls         the local test CA (`--tls`) and the certificate files served
    home        the root page linking the Swagger UIs, the control API and the docs
    liveness    GET /healthz: open health check for containers (no token, says nothing more)
    control/    the control API under /_vevents/ (spec/control.yaml): state, journal, faults, lag, gate,
                and the notifications' controls (control/notifications.py)
    notifications/  change notifications: subscriptions, the handshake, the delivery queue, its journal
    cli         `vevents serve`, `vevents token`

Library adaptations, fenced (each opens with the private names it touches; checked by
tests/test_library_adaptations.py):

    _connexion  Connexion internals: validate-once, validators, direct handler calls, scope layout
    _uvicorn    uvicorn's worker supervisor, given a socket bound by `vevents serve`

This package imports nothing on its own, so `vevents.server.auth` stays light.
"""

__all__: list[str] = []
