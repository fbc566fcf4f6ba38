"""What `fluxus dev` prepares before starting processes: schema, plans, a staff account."""

from __future__ import annotations

import secrets
import subprocess

from sqlalchemy import select

from services.core.config import Settings
from services.core.db import migrate
from services.core.db.models import User
from services.core.db.session import make_engine, session_scope
from services.core.usecases.auth_passwords import hash_password
from services.devserver.processes import fluxus_command

DEMO_STAFF = "staff"
DEMO_EMAIL = "staff@fluxus.local"


def migrate_database(url: str) -> None:
    migrate.upgrade(url)


def load_plans(env: dict[str, str], path: str) -> None:
    """The operator's reconcile, without Kubernetes (`fluxus plans apply`)."""
    subprocess.run(fluxus_command("plans", "apply", "-f", path), env=env, check=True)  # noqa: S603


def create_demo_staff(settings: Settings) -> tuple[str, str]:
    """Create (or re-key) the demo staff account; a fresh password every start."""
    password = "dev-" + secrets.token_urlsafe(12)
    engine = make_engine(settings.database_url, settings)
    try:
        with session_scope(engine) as session:
            user = session.scalars(select(User).where(User.username == DEMO_STAFF)).first()
            if user is None:
                user = User(username=DEMO_STAFF, email=DEMO_EMAIL, password_hash="",
                            first_name="Demo", last_name="Staff", language="en")
                session.add(user)
            user.password_hash = hash_password(password)
            user.is_staff = user.is_active = user.is_verified = True
    finally:
        engine.dispose()
    return DEMO_STAFF, password
