"""Settings from the environment and ``.env``; every name is documented in ``.env.example``."""

from __future__ import annotations

from decimal import Decimal
from functools import cached_property
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import PrivateAttr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SUPPORTED_LOCALES = ("zh_Hans", "zh_Hant", "en")
DEFAULT_SQLITE_PATH = Path("data") / "jixiao.db"


def N_(message: str) -> str:
    """Mark a problem for translation (``infra.i18n`` imports this module, so not from there);
    the CLI translates it when it prints the one-line message."""
    return message


class ConfigError(Exception):
    """A setting is missing or malformed; ``setting`` names it for the one-line message."""

    def __init__(self, setting: str, problem: str) -> None:
        super().__init__(f"{setting}: {problem}")
        self.setting = setting
        self.problem = problem


class Settings(BaseSettings):
    """All configuration in one typed object, read once at start-up."""

    model_config = SettingsConfigDict(
        env_prefix="JIXIAO_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    bot_token: str | None = None
    bot_username: str | None = None
    database_url: str = f"sqlite+aiosqlite:///{DEFAULT_SQLITE_PATH.as_posix()}"
    telegram_base_url: str = "https://api.telegram.org/bot"
    admin_ids: str = ""
    locale: str = "zh_Hans"
    timezone: str = "Asia/Shanghai"
    invite_ttl_days: int = 14
    secret_key: str | None = None
    approval_quorum: int = 0  # approvals of the leadership group that publish without the 组长
    appeal_days: int = 5  # working days after publishing to file an appeal
    appeal_decision_days: int = 10  # working days for the working group to decide
    excellent_quota: int = (
        0  # percent; a preview for the 审定 only (0: off, the regulation sets none)
    )
    plan_threshold: float | None = (
        None  # totals below it need an improvement plan too (None: 不合格 only)
    )
    # where someone who is neither staff nor in a survey is sent with a question or a
    # complaint: the bureau's service line, or the 12345 government service hotline
    citizen_hotline: str = "12345"
    webhook_url: str | None = None
    # where citizens reach the survey page (``jixiao web`` behind the reverse proxy): when
    # set, QR codes and printed links open https://…/s/<token> instead of a t.me link
    public_url: str | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    webhook_secret: str | None = None
    # a weakest dimension scored below it is a training need in the report (六(三)1);
    # 80 is 良好's lower bound, so anyone below 良好 in some dimension is listed
    training_threshold: Decimal = Decimal(80)
    db_outage_limit: float = 60.0  # seconds the database may be away before the process exits
    _survey_key: str | None = PrivateAttr(default=None)  # from the database, see hmac_key
    _old_survey_keys: tuple[str, ...] = PrivateAttr(default=())

    @field_validator("db_outage_limit")
    @classmethod
    def _outage_limit(cls, value: float) -> float:
        if not 0 < value <= 86400:
            raise ValueError(N_("not a number of seconds above 0 and at most 86400"))
        return value

    @field_validator("training_threshold", mode="before")
    @classmethod
    def _training(cls, value: object) -> Decimal:
        """Checked before pydantic's parsing, so "eighty" gets our translated words too."""
        try:
            score = Decimal(str(value).strip())
        except ArithmeticError:  # decimal.InvalidOperation: not a number at all
            score = Decimal("NaN")
        if not score.is_finite() or not 0 < score <= 100:
            raise ValueError(N_("not a score above 0 and at most 100"))
        return score

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        """Accept the plain URLs people copy from docs and pick the async driver."""
        value = value.strip()
        for plain, driver in (
            ("postgresql://", "postgresql+asyncpg://"),
            ("postgres://", "postgresql+asyncpg://"),
            ("sqlite://", "sqlite+aiosqlite://"),
        ):
            if value.startswith(plain):
                return driver + value[len(plain) :]
        if not value.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite://")):
            raise ValueError(N_("not a postgresql:// or sqlite:// URL"))
        return value

    @field_validator("admin_ids")
    @classmethod
    def _ids(cls, value: str) -> str:
        for part in value.replace(" ", "").split(","):
            if part and not part.lstrip("-").isdigit():
                raise ValueError(N_("not a comma-separated list of Telegram user ids"))
        return value

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str) -> str:
        if value not in SUPPORTED_LOCALES:
            raise ValueError(N_("not one of zh_Hans, zh_Hant, en"))
        return value

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(N_("an unknown time zone")) from exc
        return value

    @field_validator("invite_ttl_days")
    @classmethod
    def _ttl(cls, value: int) -> int:
        if not 1 <= value <= 365:
            raise ValueError(N_("not between 1 and 365"))
        return value

    @field_validator("public_url")
    @classmethod
    def _public(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError(N_("not the public https address of the survey page"))
        return value.rstrip("/") or None if value else None

    @field_validator("webhook_url")
    @classmethod
    def _webhook(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError(N_("not the public https URL Telegram should call"))
        return value or None

    @field_validator("telegram_base_url")
    @classmethod
    def _base(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(N_("not an http(s) URL"))
        return value.rstrip("/")

    @cached_property
    def admin_id_set(self) -> frozenset[int]:
        """Telegram user ids that are working-group admins from the start."""
        return frozenset(int(p) for p in self.admin_ids.replace(" ", "").split(",") if p)

    @property
    def telegram_file_base_url(self) -> str:
        """File downloads live beside the method base: ``…/bot`` → ``…/file/bot``."""
        base = self.telegram_base_url
        if base.endswith("/bot"):
            return base[: -len("/bot")] + "/file/bot"
        return base + "/file/bot"

    def with_survey_key(self, key: str, *, old_keys: tuple[str, ...] = ()) -> Settings:
        """A copy carrying the key stored in the database (``infra.secret_store``); ``old_keys``
        only recognise respondents whose responses predate it."""
        copy = self.model_copy()
        copy._survey_key, copy._old_survey_keys = key, old_keys
        return copy

    @property
    def hmac_key(self) -> bytes:
        """Key of pseudonymous respondent keys: ``JIXIAO_SECRET_KEY``, else the stored one.

        Never derived from the token: a token holder could reverse the pseudonyms, and a
        rotated token would orphan every pending citizen button.
        """
        key = self.secret_key or self._survey_key
        if not key:
            raise RuntimeError("the survey key is not loaded (infra.secret_store.with_survey_key)")
        return key.encode()

    @property
    def hmac_keys(self) -> tuple[bytes, ...]:
        """The key, then keys that only recognise respondents from before it was stored."""
        return (self.hmac_key, *(k.encode() for k in self._old_survey_keys))

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def require_token(self) -> str:
        if not self.bot_token or ":" not in self.bot_token:
            raise ConfigError(
                "JIXIAO_BOT_TOKEN", N_("missing") if not self.bot_token else N_("malformed")
            )
        return self.bot_token


def load_settings(**overrides: object) -> Settings:
    """Read settings, turning pydantic's report into a ConfigError naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "?"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"JIXIAO_{field.upper()}", message) from None
