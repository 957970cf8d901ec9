"""The suite's own checks, side by side: one module per subject, none importing another.

- `cancel`: cancel itself (answer, visibility, routes, ids, bodies, auth) and the lifecycle rows;
- `canceled`: the canceled event (other properties kept, every view agrees, no write revives it);
- `isolation`: races between cancel and other writes, tenants and version prefixes;
- `matrix`: the contract's matrix (caller x state as reached x action or view x the whole body);
- `permanence`: the end-of-run sweep over every event the run canceled.

Each imports only the check API (`context`, `definitions`, `failures`) and `common` (the kinds
and routes, the shareable events, the "make an event, cancel it, no 5xx" prelude);
tests/test_conformance_checks_layout.py fails if a check module imports another. The registry
(`registry.py`) imports them all, in one place.
"""

from __future__ import annotations

__all__: list[str] = []
