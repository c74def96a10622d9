"""Typed application and context: services, the caller's language and the update's transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import Application, CallbackContext, ExtBot

from chat import uow
from infra.account_read import read_account
from infra.container import HandlerServices, Services
from infra.db import SessionFactory
from infra.i18n import Translator, resolve_locale
from infra.models import Staff, TelegramAccount
from services.access import Actor, actor_of


class JxApplication(Application):
    """``Application`` that carries our services (PTB's documented subclassing hook).

    Handlers see ``services`` without a writing session; the writing factory is kept
    for ``chat.uow``, which opens each update's one transaction with it.
    """

    def __init__(self, *, services: Services, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.services = HandlerServices(services)
        self._write_sessions: SessionFactory = services.sessions


class JxContext(CallbackContext[ExtBot[None], dict[str, Any], dict[str, Any], dict[str, Any]]):
    """One per update (PTB shares it across handler groups), so per-update caches live here."""

    def __init__(
        self, application: JxApplication, chat_id: int | None = None, user_id: int | None = None
    ) -> None:
        super().__init__(application, chat_id=chat_id, user_id=user_id)
        self.inbox_claimed = False
        self.carried: list[uow.Carried] = []  # see ``Flow.handing_over``
        self._current: Update | None = None  # CallbackContext.update is a method already
        self._translator: Translator | None = None
        self._account: TelegramAccount | None = None
        self._account_loaded = False
        self._actor: Actor | None = None  # both read once per update, until it commits
        self._staff: tuple[Staff | None] | None = None
        # flow name -> the ``chat.flow.Position`` its transaction in this update stored (None:
        # ended), until another transaction commits: ``Flow.show`` needs no query for it
        self.positions: dict[str, Any] = {}

    @classmethod
    def from_update(
        cls, update: object, application: Application[Any, Any, Any, Any, Any, Any]
    ) -> JxContext:
        """PTB builds one context per update; remember the update so ``transaction`` can claim it."""
        context = super().from_update(update, application)
        assert isinstance(context, JxContext)
        context._current = update if isinstance(update, Update) else None
        return context

    @property
    def services(self) -> HandlerServices:
        """Settings, read sessions, the clock: no writing session (see ``transaction``)."""
        return self.application.services  # type: ignore[attr-defined]

    def transaction(self) -> AbstractAsyncContextManager[AsyncSession]:
        """The update's one writing transaction; it also marks the update handled, atomically."""
        if self._current is None:
            raise RuntimeError("a transaction needs the update it belongs to")
        return uow.transaction(self._current, self)

    async def account(
        self, update: Update, session: AsyncSession | None = None
    ) -> TelegramAccount | None:
        """The caller's stored account (binding, language), or None for a stranger: read once
        per update through the driver (``infra.account_read``), on ``session``'s connection if
        one is given (a read session, or the update's transaction), else on a pooled read
        connection. It is never tracked by a session: a step that changes an account
        ``get``s it from its transaction itself (``services.surveys.begin`` does)."""
        if not self._account_loaded and update.effective_user is not None:
            user_id = update.effective_user.id
            if session is None:
                self._account = await read_account(self.services.read_engine, user_id)
            else:
                self._account = await read_account(await session.connection(), user_id)
            self._account_loaded = True
        return self._account

    async def staff(self, update: Update, session: AsyncSession | None = None) -> Staff | None:
        """The caller's active staff record, if linked (read once per update; ``session``:
        a read session the caller has open anyway, as for ``account``)."""
        if self._actor is not None:
            return self._actor.staff
        if self._staff is None:
            account = await self.account(update, session)
            staff = None
            if account is not None and account.staff_id is not None:
                async with self._reading(session) as reads:
                    staff = await reads.scalar(
                        select(Staff).where(Staff.id == account.staff_id, Staff.active.is_(True))
                    )
            self._staff = (staff,)
        return self._staff[0]

    @asynccontextmanager
    async def _reading(self, session: AsyncSession | None) -> AsyncIterator[AsyncSession]:
        """``session`` when the caller has one open, else a read session of our own."""
        if session is not None:
            yield session
        else:
            async with self.services.reads() as own:
                yield own

    async def actor(self, update: Update) -> Actor:
        """The person behind this update with their roles (``services.access.actor_of``),
        resolved fresh for every update, once: its steps used to read it again and again."""
        if self._actor is None:
            user = update.effective_user
            assert user is not None
            account = await self.account(update)
            async with self.services.reads() as session:
                self._actor = await actor_of(
                    session, user.id, account, self.services.settings.admin_id_set
                )
        return self._actor

    def committed(self) -> None:
        """A transaction of this update committed: what it read of the caller may be stale."""
        self._actor = None
        self._staff = None
        self.positions.clear()

    async def tr(self, update: Update) -> Translator:
        """The caller's language: their /language choice, else Telegram's, else the default."""
        if self._translator is None:
            account = await self.account(update)
            user = update.effective_user
            default = self.services.settings.locale
            locale = (account.language if account else None) or resolve_locale(
                user.language_code if user else None, default
            )
            self._translator = self.services.translator(locale)
        return self._translator

    def forget_account(self) -> None:
        """Drop caches after this update changed the account (binding, language)."""
        self._translator = None
        self._account = None
        self._account_loaded = False
        self.committed()

    def remember_account(self, account: TelegramAccount) -> None:
        """This update changed ``account`` (loaded whole, then committed): read it no more."""
        self._translator = None
        self._account = account
        self._account_loaded = True
        self.committed()
