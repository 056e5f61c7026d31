"""Settings from the environment (and a ``.env`` file), exactly the variables operators set.

See ARCHITECTURE.md "Interfaces". Secrets are ``SecretStr`` so they never appear in logs,
reprs or error messages; call ``.get_secret_value()`` only where the secret is used.
``BOT_DATA_KEY`` is parsed where it is used (:meth:`Settings.data_cipher`), so a mistyped key
raises :class:`~bot.storage.crypto.BadDataKey`, whose message never holds the key.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.storage.crypto import DataCipher, parse_key

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/bot.db"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"


class Settings(BaseSettings):
    """Runtime configuration. Every field maps to one environment variable of the same name."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    database_url: str = Field(default=DEFAULT_DATABASE_URL, alias="DATABASE_URL")
    slack_bot_token: SecretStr | None = Field(default=None, alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(default=None, alias="SLACK_SIGNING_SECRET")
    slack_app_token: SecretStr | None = Field(default=None, alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field(default=DEFAULT_SLACK_API_URL, alias="SLACK_API_URL")
    teams_app_id: str = Field(default="", alias="TEAMS_APP_ID")
    teams_app_password: SecretStr | None = Field(default=None, alias="TEAMS_APP_PASSWORD")
    teams_tenant_id: str = Field(default="", alias="TEAMS_TENANT_ID")
    bot_policy_pack: Path | None = Field(default=None, alias="BOT_POLICY_PACK")
    port: int = Field(default=3978, alias="PORT", ge=1, le=65535)
    bot_file_store: Path = Field(default=Path("./data/files"), alias="BOT_FILE_STORE")
    bot_data_key: SecretStr | None = Field(default=None, alias="BOT_DATA_KEY")

    def data_cipher(self) -> DataCipher | None:
        """The keys of ``BOT_DATA_KEY`` (newest first), or ``None`` when it is unset.

        Raises:
            BadDataKey: it holds something that is not a key.
        """
        key = self.bot_data_key
        return parse_key(key.get_secret_value() if key is not None else None)

    def encryption_status(self) -> str:
        """One human line: is personal free text encrypted at rest, and with which key."""
        cipher = self.data_cipher()
        if cipher is None:
            return (
                "Encryption at rest: off (report text and evidence stored as given). "
                "Set BOT_DATA_KEY (python -m bot keys generate) to turn it on."
            )
        older = len(cipher.key_ids) - 1
        also = f"; {older} older key(s) still open old data" if older else ""
        return f"Encryption at rest: on, new data sealed with key {cipher.primary_id}{also}"

    @property
    def slack_enabled(self) -> bool:
        """Slack is on when it has a bot token and a signing secret (or an app token)."""
        has_token = _present(self.slack_bot_token)
        return has_token and (_present(self.slack_signing_secret) or self.socket_mode)

    @property
    def socket_mode(self) -> bool:
        """Socket Mode is used when an app-level token (``xapp-…``) is set."""
        return _present(self.slack_app_token)

    @property
    def teams_local_mode(self) -> bool:
        """With no app id, Teams runs without token checks, as the Bot Framework tools expect."""
        return not self.teams_app_id

    def platform_status(self) -> list[str]:
        """One human line per platform: on, or off with the variables that would turn it on."""
        lines = []
        if self.slack_enabled:
            mode = "Socket Mode" if self.socket_mode else "HTTP at POST /slack/events"
            lines.append(f"Slack: on ({mode})")
        else:
            lines.append(
                "Slack: off. Set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET "
                "(or SLACK_APP_TOKEN for Socket Mode) to turn it on."
            )
        if self.teams_local_mode:
            lines.append(
                "Teams: local mode at POST /api/messages (no token check). Set TEAMS_APP_ID, "
                "TEAMS_APP_PASSWORD and TEAMS_TENANT_ID to connect a real tenant."
            )
        else:
            lines.append("Teams: on at POST /api/messages (tokens checked)")
        return lines


def _present(secret: SecretStr | None) -> bool:
    return secret is not None and bool(secret.get_secret_value())
