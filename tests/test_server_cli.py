"""`vevents token` and `vevents serve` option handling (in-process, through click's CliRunner)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from conftest import OTHER_TENANT, OTHER_USER, SECRET

from vevents.cli import main
from vevents.server.auth import SEED_ORGANIZER, SEED_TENANT, InvalidToken, TokenVerifier
from vevents.server.settings import Settings

VERIFIER = TokenVerifier(secret=SECRET, delegated_scopes=["VirtualEvent.Read", "VirtualEvent.ReadWrite"],
                         application_scopes=["VirtualEvent.Read.All", "VirtualEvent.Read.Chat"])


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
    assert (principal.tenant, principal.user, principal.permissions) == (OTHER_TENANT, OTHER_USER,
                                                                         {"VirtualEvent.Read"})


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


def test_settings_round_trip_through_the_environment() -> None:
    settings = Settings(host="127.0.0.1", port=9, db_path="x.db", auth_mode="permissive", workers=3,
                        seed_path="s.yaml", max_body_bytes=10, log_level="WARNING", secret="s" * 40)
    assert Settings.from_env(settings.to_env()) == settings
