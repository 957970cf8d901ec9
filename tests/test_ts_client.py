"""A TypeScript client generated from the spec at test time drives the stub over HTTPS.

`openapi-typescript` turns spec/virtual-events.yaml into types (schema.ts) in a temporary
folder, never in the repository; `openapi-fetch` is the client that uses them. `tsc` (strict,
no emit on error) compiles tests/js/ts_client.ts, which creates, publishes and cancels a town
hall, reads `canceled` back and gets a typed 404, and tests/js/ts_types_wrong.ts, whose misuses
must each be a type error (an unused `@ts-expect-error` fails the build), so the generated
types are really checked. Node runs the result against an HTTPS stub trusted through
`NODE_EXTRA_CA_CERTS`.

The tools come from `make test` (npm, package.json); in CI a missing one is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from vevents.server.app import create_app
from vevents.server.background import serve_in_background
from vevents.server.settings import Settings
from vevents.server.tls import local_ca
from vevents.spec import spec_path

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "tests" / "js"
BIN = ROOT / "node_modules" / ".bin"
TOOLS = ("openapi-typescript", "tsc")

TSCONFIG = {
    "compilerOptions": {
        "strict": True,
        # Only the library declarations are skipped; schema.ts and the client are checked in full.
        "skipLibCheck": True,
        "noEmitOnError": True,
        "target": "es2022",
        "module": "nodenext",
        "moduleResolution": "nodenext",
        "lib": ["es2022", "dom"],
        "types": [],
        "outDir": "out",
    },
    "files": ["ts_client.ts", "ts_types_wrong.ts"],
}


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=180, check=False)


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated and compiled client: the folder holding ts_client.js."""
    missing = [tool for tool in TOOLS if not (BIN / tool).exists()]
    if missing or shutil.which("node") is None:
        reason = f"node or node_modules/.bin/{', '.join(missing) or 'node'} missing: run `make test` (npm install)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    work = tmp_path_factory.mktemp("ts-client")
    (work / "node_modules").symlink_to(ROOT / "node_modules")
    (work / "package.json").write_text(json.dumps({"private": True, "type": "module"}))
    (work / "tsconfig.json").write_text(json.dumps(TSCONFIG))
    for name in TSCONFIG["files"]:
        shutil.copy2(SOURCES / name, work / name)
    generated = _run([str(BIN / "openapi-typescript"), str(spec_path()), "--output", "schema.ts"], work)
    assert generated.returncode == 0, generated.stderr
    built = _run([str(BIN / "tsc"), "--project", "tsconfig.json"], work)
    assert built.returncode == 0, f"tsc found type errors:\n{built.stdout}{built.stderr}"
    return work / "out"


def test_generated_ts_client_creates_publishes_cancels_and_gets_a_typed_404_over_https(
    compiled: Path, tmp_path: Path, make_token: Callable[..., str]
) -> None:
    tls = local_ca(tmp_path)
    with serve_in_background(create_app(Settings(memory=True)), tls=tls) as root:
        env = {
            **os.environ,
            "VEVENTS_ROOT": root,
            "VEVENTS_TOKEN": make_token(),
            "NODE_EXTRA_CA_CERTS": str(tls.ca_cert),
        }
        proc = subprocess.run(
            ["node", str(compiled / "ts_client.js")], env=env, capture_output=True, text=True, timeout=60, check=False
        )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert "@" in result["id"] and result["createdStatus"] == "draft"
    assert (result["published"], result["canceled"]) == (204, 204)
    assert result["status"] == "canceled"
    missing = result["missing"]
    assert (missing["status"], missing["code"]) == (404, "itemNotFound")
    assert missing["requestId"] == missing["header"] and len(missing["requestId"]) == 36
