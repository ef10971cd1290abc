"""Finance staff for tests: accounts made as ``gateway staff add`` makes them, with cheap Argon2 parameters (the
gateway rehashes them with its own at the first sign-in), of agencies put in the catalogue first (an account may
only name agencies the catalogue has)."""

from __future__ import annotations

from argon2 import PasswordHasher

from adapters.vntime import now_utc
from gateway import portals
from gateway.staff import Passwords, StaffAccount, create_account
from gateway.store.db import Database

FAST = Passwords(PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1))
PASSWORD = "mat-khau-thu-nghiem-1"


async def add_agencies(db: Database, *codes: str) -> None:
    """Agencies of these codes in the catalogue (as ``gateway agency add`` puts them), unless there already."""
    async with db.read() as conn:
        known = set((await portals.agency_codes(conn)).values())
    for code in codes:
        if code not in known:
            await portals.upsert_agency(
                db,
                portals.AgencySpec(
                    code=code,
                    name=f"Đơn vị {code}",
                    tax_code="0101234567",
                    address="Hà Nội",
                    treasury_account="3511.0.1054321",
                    treasury_bank_code="KBNN-HN",
                    treasury_account_name=f"Đơn vị {code}",
                ),
            )


async def add_staff(
    db: Database,
    username: str,
    role: str = "officer",
    agencies: tuple[str, ...] = (),
    *,
    password: str = PASSWORD,
    passwords: Passwords = FAST,
) -> StaffAccount:
    """A staff account of ``agencies`` (all of them when none are named), the agencies added to the catalogue
    first when they are not in it."""
    await add_agencies(db, *agencies)
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
