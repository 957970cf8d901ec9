"""vevents: a contract-first stub and conformance suite for Microsoft Graph virtual events.

The distribution installs three packages under this one name: `vevents.spec` (the contract
as data), `vevents.server` (the stub) and `vevents.conformance` (the suite).
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
