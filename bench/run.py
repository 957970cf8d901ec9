"""Benchmark the stub side by side with its peers, in one run, on 127.0.0.1.

Servers (each started and stopped by this script):
  stub        `vevents serve` as users run it: strict auth, SQLite store on disk, 1 worker
  stub-2w     the same with `--workers 2`
  stub-pg     `vevents serve --db postgresql://...`: the store on a PostgreSQL server on 127.0.0.1
              (started by this script in a temporary directory; `--servers` adds it, or `--postgres`)
  stub-pg-2w  the same with `--workers 2`: two processes sharing one database
  prism       Stoplight Prism's mock server on the same spec (stateless)
  ceiling     a bare Starlette/uvicorn app answering a constant JSON body

Workloads (wrk, one load-generator thread): GET of one event, and cancel-then-GET on fresh
events, each at 16 and 64 connections. Rounds alternate the servers (A B C D A B C D ...)
and the figures are medians over rounds. Figures: requests/s, p50/p99 latency, errors,
peak RSS of the server's process tree, and start-up time to the first 200. The ratios the
project promises (stub/Prism, stub/ceiling) are printed last.

    python bench/run.py                 # the full run (about 11 minutes on 2 cores)
    python bench/run.py --smoke         # a few seconds: proves the harness still works
    python bench/run.py --json out.json # also write every figure as JSON
    python bench/run.py --postgres --servers stub,stub-2w,stub-pg,stub-pg-2w   # SQLite beside PostgreSQL

Only loopback addresses are used; every load run is bounded in time and stops by itself.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from processes import HOST, free_port, postgres_server, stop_process, vevents_bin

from vevents.spec import contract, parse_yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SPEC = ROOT / "spec" / "virtual-events.yaml"
SAMPLE_ID = contract().sample.event_id
TENANT = contract().sample.tenant


@dataclass(frozen=True)
class Plan:
    rounds: int
    seconds: int
    warmup_seconds: int
    connections: tuple[int, ...]
    fresh_events: int
    servers: tuple[str, ...]


FULL = Plan(
    rounds=3,
    seconds=8,
    warmup_seconds=2,
    connections=(16, 64),
    fresh_events=40_000,
    servers=("stub", "stub-2w", "prism", "ceiling"),
)
SMOKE = Plan(
    rounds=1, seconds=1, warmup_seconds=0, connections=(4,), fresh_events=500, servers=("stub", "prism", "ceiling")
)


@dataclass
class Server:
    """A running server under test."""

    name: str
    process: subprocess.Popen[bytes]
    root: str  # http://127.0.0.1:PORT
    prefix: str  # "/v1.0" for the stub, "" for servers that serve the spec's paths at the root
    startup_seconds: float
    token: str
    peak_rss: list[int] = field(default_factory=lambda: [0])


def prism_bin() -> str | None:
    local = ROOT / "node_modules" / ".bin" / "prism"
    return str(local) if local.exists() else shutil.which("prism")


def mint_token() -> str:
    out = subprocess.run(
        [vevents_bin(), "token", "--scope", "VirtualEvent.ReadWrite"], check=True, capture_output=True, text=True
    )
    return out.stdout.strip().splitlines()[-1]


def seed_file(directory: Path, count: int) -> Path:
    """A seed with `count` published webinars of the default organizer, for cancel-then-GET."""
    import importlib.resources

    shipped = importlib.resources.files("vevents.server").joinpath("default-seed.yaml").read_text()
    # The shipped seed's webinar: organized by the user `vevents token` speaks for by default.
    template = next(e for e in parse_yaml(shipped)["events"] if e["@odata.type"].endswith("Webinar"))
    events = [template]  # keeps the sample id, which the readiness probe reads
    for _ in range(count):
        event = dict(template)
        event["id"] = f"{uuid.uuid4()}@{TENANT}"
        event["status"] = "published"
        events.append(event)
    path = directory / f"seed-{count}.json"  # JSON: the stub reads it with `json`, not PyYAML
    path.write_text(json.dumps({"events": events}))
    return path


STUBS = ("stub", "stub-2w", "stub-pg", "stub-pg-2w")


def command_for(
    name: str, port: int, workdir: Path, seed: Path | None, new_database: Callable[[], str] | None = None
) -> tuple[list[str], str]:
    """The argv that starts server `name`, and the path prefix the spec's paths go under."""
    if name in STUBS:
        if name.startswith("stub-pg"):
            if new_database is None:
                raise RuntimeError(f"{name} needs a PostgreSQL server: run with --postgres")
            db = new_database()  # a fresh, empty database per run, as a fresh SQLite file is
        else:
            db = str(workdir / f"{name}-{uuid.uuid4().hex}.db")
        # As users run it: strict auth, the default log level (an access line per request).
        argv = [vevents_bin(), "serve", "--host", HOST, "--port", str(port), "--db", db]
        if name.endswith("-2w"):
            argv += ["--workers", "2"]
        if seed is not None:
            argv += ["--seed", str(seed)]
        return argv, "/v1.0"
    if name == "prism":
        binary = prism_bin()
        if binary is None:
            raise RuntimeError("prism is not installed: run `make bench-tools`")
        return [binary, "mock", "-h", HOST, "-p", str(port), "--errors=false", str(SPEC)], ""
    if name == "ceiling":
        argv = [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.ceiling:app",
            "--host",
            HOST,
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ]
        return argv, ""
    raise ValueError(name)


def tree_rss(pid: int) -> int:
    """Resident memory of a process and all its descendants, in bytes."""
    total = 0
    pids = [pid]
    while pids:
        current = pids.pop()
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
            pids.extend(int(c) for c in children)
    return total


def sample_rss(server: Server, stop: threading.Event) -> None:
    while not stop.wait(0.1):
        server.peak_rss[0] = max(server.peak_rss[0], tree_rss(server.process.pid))


def wait_first_200(url: str, token: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> float:
    start = time.perf_counter()
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    while time.perf_counter() - start < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before answering")
        with contextlib.suppress(OSError, urllib.error.URLError), urllib.request.urlopen(request, timeout=1) as r:
            if r.status == 200:
                return time.perf_counter() - start
        time.sleep(0.01)
    raise RuntimeError(f"no 200 from {url} within {timeout} s")


@contextlib.contextmanager
def running(
    name: str, workdir: Path, token: str, seed: Path | None = None, new_database: Callable[[], str] | None = None
) -> Iterator[Server]:
    port = free_port()
    argv, prefix = command_for(name, port, workdir, seed, new_database)
    root = f"http://{HOST}:{port}"
    started = time.perf_counter()
    process = subprocess.Popen(
        argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        # A seeded start validates and stores every event of the seed first (~2 ms an event).
        timeout = 30.0 if seed is None else 30.0 + seed.stat().st_size / 200_000
        wait_first_200(f"{root}{prefix}/solutions/virtualEvents/webinars/{SAMPLE_ID}", token, process, timeout)
        server = Server(name, process, root, prefix, time.perf_counter() - started, token)
        stop = threading.Event()
        sampler = threading.Thread(target=sample_rss, args=(server, stop), daemon=True)
        sampler.start()
        try:
            yield server
        finally:
            stop.set()
            sampler.join()
    finally:
        stop_process(process)


def wrk(server: Server, script: str, connections: int, seconds: int, env: dict[str, str]) -> dict[str, float]:
    # The scripts set every request's path themselves; wrk only needs the host.
    argv = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "-s",
        str(HERE / "wrk" / script),
        server.root,
    ]
    full_env = {**os.environ, "BENCH_TOKEN": server.token, **env}
    out = subprocess.run(argv, check=True, capture_output=True, text=True, env=full_env, timeout=seconds + 30)
    line = next(line for line in out.stdout.splitlines() if line.startswith("BENCH "))
    figures = json.loads(line[len("BENCH ") :])
    figures["rps"] = figures["requests"] / figures["seconds"]
    figures["errors"] = figures["non2xx"] + figures["socket_errors"]
    return figures


def path_of(server: Server, event_id: str) -> str:
    return f"{server.prefix}/solutions/virtualEvents/webinars/{event_id}"


def run_get(server: Server, connections: int, plan: Plan) -> dict[str, float]:
    env = {"BENCH_PATH": path_of(server, SAMPLE_ID)}
    if plan.warmup_seconds:
        wrk(server, "get.lua", connections, plan.warmup_seconds, env)
    return wrk(server, "get.lua", connections, plan.seconds, env)


def run_cancel_get(server: Server, connections: int, plan: Plan, ids: list[str], workdir: Path) -> dict[str, float]:
    ids_file = workdir / f"ids-{uuid.uuid4().hex}.txt"
    ids_file.write_text("\n".join(path_of(server, i) for i in ids) + "\n")
    return wrk(server, "cancel_get.lua", connections, plan.seconds, {"BENCH_IDS_FILE": str(ids_file)})


def measure(plan: Plan) -> dict[str, dict[str, list[float]]]:
    """Run every round; returns figures[server][metric] -> one value per round.

    Rounds alternate the servers (A B C A B C ...), so that a slow minute on a shared machine
    hurts every server alike; every figure is then the median over rounds.
    """
    token = mint_token()
    results: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory(prefix="vevents-bench-") as tmp, postgres_for(plan) as new_database:
        workdir = Path(tmp)
        seed = seed_file(workdir, plan.fresh_events)
        ids = [e["id"] for e in json.loads(seed.read_text())["events"][1:]]
        for round_number in range(1, plan.rounds + 1):
            for name in plan.servers:
                figures = results.setdefault(name, {})
                print(f"round {round_number}/{plan.rounds}: {name}", file=sys.stderr, flush=True)
                # GET: a fresh store with the shipped seed, as `vevents serve` starts the first time.
                with running(name, workdir, token, new_database=new_database) as server:
                    figures.setdefault("startup_s", []).append(server.startup_seconds)
                    for connections in plan.connections:
                        for key, value in run_get(server, connections, plan).items():
                            figures.setdefault(f"get_c{connections}_{key}", []).append(value)
                    figures.setdefault("peak_rss_mb", []).append(server.peak_rss[0] / 2**20)
                for connections in plan.connections:
                    # A fresh store per workload (seeded with `fresh_events` published webinars),
                    # so that every cancel hits an event that was not canceled before.
                    with running(
                        name, workdir, token, seed if name.startswith("stub") else None, new_database
                    ) as server:
                        for key, value in run_cancel_get(server, connections, plan, ids, workdir).items():
                            figures.setdefault(f"cancel_get_c{connections}_{key}", []).append(value)
                        rss = figures.setdefault("peak_rss_seeded_mb", [])
                        if len(rss) < round_number:
                            rss.append(0.0)
                        rss[-1] = max(rss[-1], server.peak_rss[0] / 2**20)
    return results


@contextlib.contextmanager
def postgres_for(plan: Plan) -> Iterator[Callable[[], str] | None]:
    """A throwaway PostgreSQL server on 127.0.0.1 when the plan measures the PostgreSQL store
    (the tests' own launcher, tests/postgres.py); yields a maker of fresh databases."""
    if not any(name.startswith("stub-pg") for name in plan.servers):
        yield None
        return
    with postgres_server() as new_database:
        yield new_database


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def report(results: dict[str, dict[str, list[float]]], plan: Plan) -> dict[str, float]:
    rows = [
        ("start-up to first 200 (s)", "startup_s", "{:.2f}"),
        ("peak RSS, GET runs (MiB)", "peak_rss_mb", "{:.0f}"),
        (f"peak RSS, {plan.fresh_events} events seeded (MiB)", "peak_rss_seeded_mb", "{:.0f}"),
    ]
    for workload in ("get", "cancel_get"):
        for c in plan.connections:
            for label, metric, fmt in (
                ("req/s", "rps", "{:.0f}"),
                ("p50 ms", "p50_ms", "{:.1f}"),
                ("p99 ms", "p99_ms", "{:.1f}"),
                ("errors", "errors", "{:.0f}"),
            ):
                rows.append((f"{workload} c{c} {label}", f"{workload}_c{c}_{metric}", fmt))
    names = list(results)
    load = os.getloadavg()
    print(
        f"\nmedians of {plan.rounds} round(s), {plan.seconds} s per load run, wrk -t1;"
        f" load average at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs\n"
    )
    print("| figure | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for label, key, fmt in rows:
        cells = [fmt.format(median(results[n].get(key, []))) for n in names]
        print(f"| {label} | " + " | ".join(cells) + " |")
    for name in names:
        if any(max(v, default=0) for k, v in results[name].items() if k.endswith("_ids_exhausted")):
            print(f"\nwarning: {name} ran out of fresh events in cancel-then-GET (raise fresh_events)")
    ratios = ratios_of(results, plan)
    print("\nratios (the acceptance target in brackets, judged at 16 connections)")
    for label, (value, target) in ratios.items():
        verdict = "" if target is None else ("  met" if target(value) else "  NOT MET")
        print(f"  {label}: {value:.2f}{verdict}")
    return {label: value for label, (value, _) in ratios.items()}


Target = Callable[[float], bool] | None


def ratios_of(results: dict[str, dict[str, list[float]]], plan: Plan) -> dict[str, tuple[float, Target]]:
    """stub/Prism and stub/ceiling ratios (of medians) for every pair of servers that ran."""

    def m(name: str, key: str) -> float:
        return median(results[name][key])

    def at_least(x: float) -> Target:
        return lambda v: v >= x

    def at_most(x: float) -> Target:
        return lambda v: v <= x

    ratios: dict[str, tuple[float, Target]] = {}
    for c in plan.connections:
        main = c == 16  # the acceptance targets are stated at 16 connections
        if {"stub", "prism"} <= results.keys():
            ratios[f"stub/prism GET c{c} req/s [>= 1.5]"] = (
                m("stub", f"get_c{c}_rps") / m("prism", f"get_c{c}_rps"),
                at_least(1.5) if main else None,
            )
            ratios[f"stub/prism GET c{c} p99 [<= 1.0]"] = (
                m("stub", f"get_c{c}_p99_ms") / m("prism", f"get_c{c}_p99_ms"),
                at_most(1.0) if main else None,
            )
            ratios[f"stub/prism cancel-then-GET c{c} req/s [>= 1.2]"] = (
                m("stub", f"cancel_get_c{c}_rps") / m("prism", f"cancel_get_c{c}_rps"),
                at_least(1.2) if main else None,
            )
        if {"stub-2w", "prism"} <= results.keys():
            ratios[f"stub-2w/prism GET c{c} req/s [>= 2.0]"] = (
                m("stub-2w", f"get_c{c}_rps") / m("prism", f"get_c{c}_rps"),
                at_least(2.0) if main else None,
            )
        if {"stub", "ceiling"} <= results.keys():
            ratios[f"stub/ceiling GET c{c} req/s"] = (m("stub", f"get_c{c}_rps") / m("ceiling", f"get_c{c}_rps"), None)
            ratios[f"stub/ceiling cancel-then-GET c{c} req/s"] = (
                m("stub", f"cancel_get_c{c}_rps") / m("ceiling", f"cancel_get_c{c}_rps"),
                None,
            )
        for store in ("stub-pg", "stub-pg-2w"):
            sqlite = store.replace("-pg", "")
            if {store, sqlite} <= results.keys():
                for workload in ("get", "cancel_get"):
                    ratios[f"{store}/{sqlite} {workload.replace('_', '-')} c{c} req/s"] = (
                        m(store, f"{workload}_c{c}_rps") / m(sqlite, f"{workload}_c{c}_rps"),
                        None,
                    )
        if {"stub-2w", "ceiling"} <= results.keys():
            ratios[f"stub-2w/ceiling GET c{c} req/s"] = (
                m("stub-2w", f"get_c{c}_rps") / m("ceiling", f"get_c{c}_rps"),
                None,
            )
    if {"stub", "prism"} <= results.keys():
        ratios["stub/prism start-up to first 200 [<= 0.5]"] = (
            m("stub", "startup_s") / m("prism", "startup_s"),
            at_most(0.5),
        )
    # Targets are stated for 16 connections only: other rows are for information.
    return {(label if target else label.split(" [")[0]): (value, target) for label, (value, target) in ratios.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="one short round: checks the harness, not the speed")
    parser.add_argument("--rounds", type=int, help="rounds per server (default 3)")
    parser.add_argument("--seconds", type=int, help="seconds per load run (default 8)")
    parser.add_argument("--servers", help="comma-separated subset of: stub,stub-2w,stub-pg,stub-pg-2w,prism,ceiling")
    parser.add_argument(
        "--fresh-events",
        type=int,
        help="published events seeded for cancel-then-GET (default 40000; a run must not use them up)",
    )
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="also measure the PostgreSQL store (stub-pg, stub-pg-2w), beside the default servers",
    )
    parser.add_argument("--json", type=Path, help="also write all figures and ratios to this file")
    args = parser.parse_args(argv)
    plan = SMOKE if args.smoke else FULL
    if args.rounds or args.seconds or args.servers or args.postgres or args.fresh_events:
        servers = tuple(args.servers.split(",")) if args.servers else plan.servers
        if args.postgres:
            servers += tuple(name for name in ("stub-pg", "stub-pg-2w") if name not in servers)
        plan = Plan(
            rounds=args.rounds or plan.rounds,
            seconds=args.seconds or plan.seconds,
            warmup_seconds=plan.warmup_seconds,
            connections=plan.connections,
            fresh_events=args.fresh_events or plan.fresh_events,
            servers=servers,
        )
    if shutil.which("wrk") is None:
        print("wrk is not installed: run `make bench-tools`", file=sys.stderr)
        return 2
    if "prism" in plan.servers and prism_bin() is None:
        print("prism is not installed: run `make bench-tools`", file=sys.stderr)
        return 2
    results = measure(plan)
    ratios = report(results, plan)
    if args.json:
        args.json.write_text(
            json.dumps(
                {"plan": plan.__dict__, "results": results, "ratios": ratios, "loadavg": os.getloadavg()}, indent=2
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
