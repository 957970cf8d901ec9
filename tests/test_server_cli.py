"""`vevents token` and `vevents serve` option handling (in-process, through click's CliRunner)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from click.testing import CliRunner
from conftest import OTHER_TENANT, OTHER_USER, SAMPLE_ID, SECRET
from reliability import served

from vevents.cli import main
from vevents.server import cli
from vevents.server.auth import SEED_ORGANIZER, SEED_TENANT, InvalidToken, TokenVerifier, mint_token
from vevents.server.settings import Declaration, Settings, declarations, env_name

VERIFIER = TokenVerifier(
    secret=SECRET,
    delegated_scopes=["VirtualEvent.Read", "VirtualEvent.ReadWrite"],
    application_scopes=["VirtualEvent.Read.All", "VirtualEvent.Read.Chat"],
)


def _token(*args: str) -> str:
    result = CliRunner().invoke(main, ["token", *args], env={"VEVENTS_SECRET": SECRET})
    assert result.exit_code == 0, result.output
    return result.output.strip()


def test_token_defaults_to_the_seed_organizer_with_read_write() -> None:
    principal = VERIFIER.authenticate("Bearer " + _token())
    assert (principal.tenant, principal.user, principal.delegated) == (SEED_TENANT, SEED_ORGANIZER, True)
    assert principal.permissions == {"VirtualEvent.ReadWrite"}


def test_token_with_scope_tenant_and_user() -> None:
    token = _token("--scope", "VirtualEvent.Read", "--tenant", OTHER_TENANT, "--user", OTHER_USER)
    principal = VERIFIER.authenticate("Bearer " + token)
    assert (principal.tenant, principal.user, principal.permissions) == (
        OTHER_TENANT,
        OTHER_USER,
        frozenset({"VirtualEvent.Read"}),
    )


def test_token_with_a_role_is_an_application_token() -> None:
    principal = VERIFIER.authenticate("Bearer " + _token("--role", "VirtualEvent.Read.All"))
    assert not principal.delegated and principal.permissions == {"VirtualEvent.Read.All"}


def test_token_expired_on_request_is_refused() -> None:
    with pytest.raises(InvalidToken, match="expired"):
        VERIFIER.authenticate("Bearer " + _token("--expires-in", "-10"))


def test_token_refuses_a_short_secret() -> None:
    result = CliRunner().invoke(main, ["token", "--secret", "short"])
    assert result.exit_code == 2 and "32 bytes" in result.output


def test_serve_refuses_memory_with_workers() -> None:
    result = CliRunner().invoke(main, ["serve", "--memory", "--workers", "2"])
    assert result.exit_code == 2 and "--memory" in result.output


def test_settings_round_trip_through_the_environment(tmp_path: Path) -> None:
    seed = tmp_path / "s.yaml"
    seed.write_text("events: []\n")
    settings = Settings(
        host="127.0.0.1",
        port=9,
        db="x.db",
        auth_mode="permissive",
        workers=3,
        seed_path=str(seed),
        max_body_bytes=10,
        log_level="WARNING",
        secret="s" * 40,
    )
    assert Settings.from_env(settings.to_env()) == settings


# ------------------------------------------------------------ one settings path (issue 14, item 3)
def _sample(name: str, declaration: Declaration, default: Any, tmp_path: Path) -> tuple[str, Any]:
    """A value other than the default for one setting: (its text in the environment, the value)."""
    if declaration.existing_file:
        path = tmp_path / f"{name}.yaml"
        path.write_text("events: []\n")
        return str(path), str(path)
    if declaration.choices is not None:
        other = next(choice for choice in declaration.choices if choice != default)
        return other, other
    if declaration.value_type is bool:
        return ("0", False) if default else ("1", True)
    if declaration.value_type is int:
        value = max(default + 1, declaration.minimum or 0)
        if declaration.maximum is not None and value > declaration.maximum:
            value = default - 1
        return str(value), value
    if declaration.multiple:
        return "a b", ("a", "b")
    value = f"{default or name}-other-value-long-enough-for-a-secret"
    return value, value


def _served_settings(monkeypatch: pytest.MonkeyPatch, args: list[str], env: dict[str, str]) -> Settings:
    """The Settings `vevents serve ARGS` would serve with (run() captured, nothing served)."""
    captured: list[Settings] = []
    monkeypatch.setattr(cli, "run", captured.append)
    monkeypatch.setattr(cli, "configure_logging", lambda *args: None)
    for name, _declaration in declarations():
        monkeypatch.delenv(env_name(name), raising=False)
    result = CliRunner().invoke(main, ["serve", *args], env=env)
    assert result.exit_code == 0, result.output
    return captured[0]


def test_every_variable_means_the_same_to_serve_and_to_the_factory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Issue 14 item 3: `vevents serve` ignored VEVENTS_MAX_BODY_BYTES and VEVENTS_MAX_HEADER_BYTES."""
    fields = {field.name: field for field in dataclasses.fields(Settings)}
    checked = []
    for name, declaration in declarations():
        text, value = _sample(name, declaration, fields[name].default, tmp_path)
        env = {env_name(name): text}
        served = _served_settings(monkeypatch, [], env)
        assert getattr(served, name) == value, f"vevents serve ignores {env_name(name)}"
        assert served == Settings.from_env(env), f"{env_name(name)} means something else to the factory"
        checked.append(env_name(name))
    assert {"VEVENTS_MAX_BODY_BYTES", "VEVENTS_MAX_HEADER_BYTES", "VEVENTS_PORT"} <= set(checked)


def test_a_flag_wins_over_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    served = _served_settings(monkeypatch, ["--max-body-bytes", "300"], {"VEVENTS_MAX_BODY_BYTES": "200"})
    assert served.max_body_bytes == 300


def test_a_malformed_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="VEVENTS_MAX_BODY_BYTES"):
        Settings.from_env({"VEVENTS_MAX_BODY_BYTES": "lots"})
    monkeypatch.setattr(cli, "run", lambda settings: None)
    result = CliRunner().invoke(main, ["serve"], env={"VEVENTS_MAX_BODY_BYTES": "lots"})
    assert result.exit_code == 2 and "VEVENTS_MAX_BODY_BYTES" in result.output


def test_serve_help_lists_the_variable_beside_each_flag() -> None:
    result = CliRunner().invoke(main, ["serve", "--help"], terminal_width=200)
    assert result.exit_code == 0
    lines = result.output.splitlines()
    for name, declaration in declarations():
        flag = declaration.flag.split("/")[0]
        start = next(
            i
            for i, line in enumerate(lines)
            if line.strip().startswith(flag + " ") or line.strip() == flag or line.strip().startswith(flag + ",")
        )
        # The option's help runs until the next option line.
        end = next((i for i in range(start + 1, len(lines)) if lines[i].strip().startswith("--")), len(lines))
        text = " ".join(" ".join(lines[start:end]).split())
        assert f"env var: {env_name(name)}" in text, f"{flag}: {text}"


@pytest.mark.slow
def test_the_body_limit_variable_holds_over_a_socket(tmp_path: Path) -> None:
    """The issue's reproduction: a 519-byte PATCH with VEVENTS_MAX_BODY_BYTES=200 got 200."""
    body = json.dumps({"displayName": "x" * 500}).encode()
    assert len(body) == 519
    url = "/v1.0/solutions/virtualEvents/webinars/" + quote(SAMPLE_ID, safe="")
    with served(tmp_path / "s.db", env={"VEVENTS_MAX_BODY_BYTES": "200", "VEVENTS_MAX_HEADER_BYTES": "2048"}) as stub:
        headers = {"Authorization": "Bearer " + mint_token(secret=SECRET), "Content-Type": "application/json"}
        with httpx.Client(base_url=stub.base_url, timeout=10) as client:
            assert client.patch(url, content=body, headers=headers).status_code == 413
            assert client.get(url + "?x=" + "y" * 2100, headers=headers).status_code == 414
            assert client.get(url, headers=headers).status_code == 200
