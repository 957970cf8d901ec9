"""The framework's ceiling on this machine: a bare Starlette app answering a constant JSON body.

Every path and method gets the same small event, so the load generator's workloads run
unchanged against it; whatever the stub loses against this app is the price of auth,
validation and persistence.
"""

from __future__ import annotations

import json

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

_BODY = json.dumps(
    {
        "@odata.type": "#microsoft.graph.virtualEventWebinar",
        "id": "bce9a3ca-a310-48fa-baf3-1cedcd04bb3f@4aa05bcc-1cac-4a83-a9ae-0db84b88f4ba",
        "status": "published",
        "displayName": "The Impact of Tech on Our Lives",
    }
).encode()


async def constant(request: Request) -> Response:
    if request.method == "POST" and request.url.path.endswith(("/cancel", "/publish")):
        return Response(status_code=204)
    return Response(_BODY, media_type="application/json")


app = Starlette(routes=[Route("/{path:path}", constant, methods=["GET", "POST", "PATCH"])])
