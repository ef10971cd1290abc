"""Finance staff for tests: accounts made as ``gateway staff add`` makes them, with cheap Argon2 parameters (the
gateway rehashes them with its own at the first sign-in)."""

from __future__ import annotations

from argon2 import PasswordHasher

from adapters.vntime import now_utc
from gateway.staff import Passwords, StaffAccount, create_account
from gateway.store.db import Database

FAST = Passwords(PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1))
PASSWORD = "mat-khau-thu-nghiem-1"


async def add_staff(
    db: Database,
    username: str,
    role: str = "officer",
    agencies: tuple[str, ...] = (),
    *,
    password: str = PASSWORD,
    passwords: Passwords = FAST,
) -> StaffAccount:
    """A staff account of ``agencies`` (all of them when none are named)."""
    return await create_account(
        db,
        passwords,
        username=username,
        display_name=f"Cán bộ {username}",
        role=role,
        agencies=agencies,
        all_agencies=not agencies,
        password=password,
        now=now_utc(),
        actor="test",
    )
