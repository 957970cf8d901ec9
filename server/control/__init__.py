"""The stub's control plane: what a test arranges and asserts, served under `/_vevents/`.

Modules, each with one job:

    requests    which Graph operation, kind and event id a request is for (from the contract)
    journal     the bounded record of the requests answered, filterable
    faults      fault rules (429/503/504, delay, drop): matching, firing, the `--fault` syntax
    lag         read-after-write lag: a store whose reads trail its writes
    gate        who may use the control API (loopback, the control token, Host and Origin)
    uvicorn     the one fenced use of uvicorn internals (dropping a connection)
    plane       ControlPlane: the above, plugged into the request pipeline (a RequestHook)
    api         the control API's operations (spec/control.yaml), over a ControlPlane
"""
