"""Who is logged in to this browser session, and in which language they read."""

from __future__ import annotations

import param

from fluxus_ui.client import ApiClient
from fluxus_ui.i18n import DEFAULT_LANGUAGE, LANGUAGES
from fluxus_ui.models import User
from fluxus_ui.session import SessionVault


class AuthStore(param.Parameterized):
    user = param.ClassSelector(class_=User, allow_None=True, default=None)
    language: str = param.Selector(  # type: ignore[assignment]
        objects=list(LANGUAGES), default=DEFAULT_LANGUAGE
    )

    def __init__(self, client: ApiClient, vault: SessionVault, sid: str) -> None:
        super().__init__()
        self.client = client
        self.vault = vault
        self.sid = sid
        client.on_expired = self._forget

    @property
    def logged_in(self) -> bool:
        return self.user is not None and self.client.credentials is not None

    @property
    def is_staff(self) -> bool:
        return self.user is not None and self.user.is_staff

    def restore(self) -> None:
        """Pick up the tokens and language this browser's cookie already has."""
        entry = self.vault.entry(self.sid)
        self.language = entry.language
        if entry.credentials is not None:
            self.client.credentials = entry.credentials
            self.user = entry.credentials.user

    def set_language(self, language: str) -> None:
        self.vault.set_language(self.sid, language)
        self.language = language

    async def login(self, login: str, password: str) -> User:
        credentials = await self.client.login(login.strip(), password)
        self.vault.entry(self.sid).credentials = credentials
        user = await self.client.me() if credentials.user is None else credentials.user
        credentials.user = user
        self.user = user
        return user

    async def register(self, username: str, email: str, password: str,
                       password_confirm: str | None = None) -> User:
        return await self.client.register(username.strip(), email.strip(), password,
                                          password_confirm)

    async def logout(self) -> None:
        try:
            await self.client.logout()
        finally:
            self._forget()

    def rotate_session(self) -> str:
        """A new session id for this browser (login, logout); the ticket sets its cookie."""
        self.sid, ticket = self.vault.rotate(self.sid)
        return ticket

    def _forget(self) -> None:
        self.vault.sign_out(self.sid)
        self.client.credentials = None
        self.user = None

    def logout_locally(self) -> None:
        """The API already refused these tokens; just forget them."""
        self._forget()
