"""Teams with an app id: only a token signed by the Bot Framework's key gets in.

The bot's key source (the OpenID metadata and the JWKS it points to) is a local fake serving
one RSA key; tokens are made with PyJWT the way the Bot Framework makes them (issuer
``https://api.botframework.com``, audience the app id, the ``kid`` of the signing key, the
activity's ``serviceurl``). No token, a malformed one, one signed by a different key and
the near misses (another audience, expired, another issuer, another service URL, an unknown
key id) all get 401, never 500; the same token signed by the right key gets 200, so the 401s
are for the right reason. No connection leaves the machine: every attempt is recorded, and
the key source shows it served the keys.

botbuilder fetches keys with ``requests`` (blocking) inside the event loop, so the key
source runs in its own thread: an aiohttp fake on the bot's loop could never answer.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from bot.actions import ActionName, ActionRef
from bot.handlers.teams.auth import build_authentication
from bot.policy import load_default_pack
from bot.storage.migrate import upgrade
from tests.e2e.teams_support import shows
from tests.support.bot_fixtures import BotClient, make_settings, serve_bot
from tests.support.fake_connector import (
    FakeConnector,
    card_action_activity,
    start_fake_connector,
)

APP_ID = "11111111-2222-3333-4444-555555555555"
ISSUER = "https://api.botframework.com"
EMULATOR_ISSUER = "https://sts.windows.net/d6d49420-f39b-4df7-a1dc-d59a935871db/"
KID = "bf-key-1"
METADATA_PATH = "/v1/.well-known/openidconfiguration"


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


RIGHT_KEY, WRONG_KEY = rsa_key(), rsa_key()


class KeySource:
    """The Bot Framework's OpenID metadata and JWKS, served on loopback from a thread."""

    def __init__(self, key: rsa.RSAPrivateKey) -> None:
        jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
        self.keys = {"keys": [{**jwk, "kid": KID, "use": "sig", "endorsements": ["msteams"]}]}
        self.served: list[str] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        source = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                source.served.append(self.path)
                if self.path == METADATA_PATH:
                    body: Any = {"issuer": ISSUER, "jwks_uri": f"{source.base}/keys"}
                elif self.path == "/keys":
                    body = source.keys
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                return

        return Handler

    def __enter__(self) -> KeySource:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@dataclass
class Teams:
    bot: BotClient
    connector: FakeConnector
    keys: KeySource


@dataclass
class Outbound:
    """Every connection or name lookup attempted towards a host that is not this machine."""

    attempts: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def key_source() -> Iterator[KeySource]:
    with KeySource(RIGHT_KEY) as source:
        yield source


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def teams(
    tmp_path_factory: pytest.TempPathFactory, key_source: KeySource
) -> AsyncIterator[Teams]:
    directory: Path = tmp_path_factory.mktemp("tokens")
    url = f"sqlite+aiosqlite:///{directory / 'bot.db'}"
    await upgrade(url)
    settings = make_settings(
        DATABASE_URL=url,
        TEAMS_APP_ID=APP_ID,
        TEAMS_APP_PASSWORD="not-a-real-secret",
        BOT_FILE_STORE=str(directory / "files"),
    )
    metadata = f"{key_source.base}{METADATA_PATH}"
    auth = build_authentication(
        app_id=APP_ID,
        password="not-a-real-secret",
        tenant_id="",
        TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL=metadata,
        TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL=metadata,
    )
    connector = await start_fake_connector()
    try:
        async with serve_bot(
            settings, load_default_pack(), teams_auth=auth, run_delivery=False
        ) as bot:
            yield Teams(bot, connector, key_source)
    finally:
        assert connector.server is not None
        await connector.server.close()


@pytest.fixture
def outbound(monkeypatch: pytest.MonkeyPatch) -> Outbound:
    """Record attempts to leave the machine (the network guard still refuses them)."""
    seen = Outbound()
    guarded_connect, guarded_lookup = socket.socket.connect, socket.getaddrinfo

    def connect(sock: socket.socket, address: Any) -> None:
        host = address[0] if isinstance(address, tuple) else str(address)
        if sock.family != socket.AF_UNIX and not _loopback(host):
            seen.attempts.append(f"connect {host}")
        guarded_connect(sock, address)

    def lookup(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and not _loopback(str(host)):
            seen.attempts.append(f"lookup {host}")
        return guarded_lookup(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    return seen


def _loopback(host: str) -> bool:
    return host in ("localhost", "127.0.0.1", "::1") or host.startswith("127.")


def token(
    *,
    key: rsa.RSAPrivateKey = RIGHT_KEY,
    kid: str = KID,
    service_url: str,
    lifetime: int = 300,
    **claims: Any,
) -> str:
    """A Bot Framework channel token for the activity's ``serviceUrl``."""
    now = int(time.time())
    body = {
        "iss": ISSUER,
        "aud": APP_ID,
        "serviceurl": service_url,
        "nbf": now - 10,
        "iat": now - 10,
        "exp": now + lifetime,
        **claims,
    }
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": kid})


def press(teams: Teams) -> dict[str, Any]:
    """A press of a button the bot no longer knows: answered in the invoke, nothing sent."""
    return card_action_activity(
        {"action": ActionRef(ActionName.REPLIES_SHOW).encode()},
        service_url=teams.connector.service_url,
    )


Minting = Callable[[Teams], str]
# (case, how the token is made, why botbuilder refuses it: what the bot logs)
REFUSED: list[tuple[str, Minting, str]] = [
    ("garbage", lambda t: "garbage", "DecodeError"),
    ("three dots", lambda t: "a.b.c", "DecodeError"),
    ("unsigned", lambda t: "eyJhbGciOiJIUzI1NiJ9.e30.sig", "Identity missing"),
    (
        "wrong key",
        lambda t: token(key=WRONG_KEY, service_url=t.connector.service_url),
        "InvalidSignatureError",
    ),
    (
        "unknown key id",
        lambda t: token(kid="not-ours", service_url=t.connector.service_url),
        "IndexError",  # botbuilder looks the kid up with [...][0]
    ),
    (
        "another app",
        lambda t: token(service_url=t.connector.service_url, aud="another-app"),
        "Invalid AppId passed on token: another-app",
    ),
    (
        "expired",
        lambda t: token(service_url=t.connector.service_url, lifetime=-3600),
        "ExpiredSignatureError",
    ),
    (
        "another issuer",
        lambda t: token(service_url=t.connector.service_url, iss="https://evil.example"),
        "Identity missing",
    ),
    (
        "another service url",
        lambda t: token(service_url="https://smba.example.net/emea/"),
        "Invalid 'serviceurl' claim",
    ),
    (
        "emulator issuer, wrong key",
        lambda t: token(
            key=WRONG_KEY, service_url=t.connector.service_url, iss=EMULATOR_ISSUER, ver="1.0"
        ),
        "InvalidSignatureError",
    ),
]


@pytest.mark.asyncio(loop_scope="module")
async def test_no_token_gets_401(
    teams: Teams, outbound: Outbound, figures: Callable[..., None]
) -> None:
    response = await teams.bot.teams(press(teams))
    assert response.status == 401
    assert teams.connector.sent == [] and outbound.attempts == []
    figures("teams tokens", requests=1, status_401=1, outbound_attempts=len(outbound.attempts))


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize(("case", "mint", "reason"), REFUSED, ids=[c for c, _, _ in REFUSED])
async def test_a_bad_token_gets_401_not_500(
    teams: Teams,
    outbound: Outbound,
    case: str,
    mint: Minting,
    reason: str,
    caplog: pytest.LogCaptureFixture,
    figures: Callable[..., None],
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    response = await teams.bot.teams(press(teams), token=mint(teams))
    assert response.status == 401, (case, await response.text())
    assert await response.json() == {"error": "unauthorized"}
    [refusal] = [
        r.getMessage() for r in caplog.records if "Teams request refused" in r.getMessage()
    ]
    assert reason in refusal, f"refused for another reason: {refusal}"
    assert teams.connector.sent == [], "nothing was sent for a refused request"
    assert outbound.attempts == [], f"a call tried to leave the machine: {outbound.attempts}"
    figures("teams tokens", requests=1, status_401=1, outbound_attempts=len(outbound.attempts))


@pytest.mark.asyncio(loop_scope="module")
async def test_the_right_key_gets_200(
    teams: Teams, outbound: Outbound, figures: Callable[..., None]
) -> None:
    response = await teams.bot.teams(
        press(teams), token=token(service_url=teams.connector.service_url)
    )
    assert response.status == 200, await response.text()
    body = await response.json()
    assert body["statusCode"] == 200 and "Ready-made replies" in shows(body["value"])
    assert "/keys" in teams.keys.served, "the keys came from the local key source"
    assert outbound.attempts == [], f"a call tried to leave the machine: {outbound.attempts}"
    figures("teams tokens", requests=1, status_200=1, outbound_attempts=len(outbound.attempts))
