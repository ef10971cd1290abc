"""Staff passwords: Argon2id hashes only (argon2-cffi), checked in constant time, rehashed at the next sign-in when
the hashing parameters change, and a check against a throwaway hash for usernames that do not exist, so how long a
sign-in takes does not tell which accounts do."""

from __future__ import annotations

import asyncio
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 10
MAX_LENGTH = 256  # hashing is deliberately slow: an unbounded password would be a cheap way to spend our CPU


class WeakPassword(ValueError):
    """A new password the rules refuse (the message says which rule, in Vietnamese)."""


def check_new(password: str) -> str:
    """The password if it may be set; raises WeakPassword otherwise."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"mật khẩu phải có ít nhất {MIN_LENGTH} ký tự")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"mật khẩu không được dài quá {MAX_LENGTH} ký tự")
    if password.strip() != password or not password.isprintable():
        raise WeakPassword("mật khẩu không được có khoảng trắng ở đầu, ở cuối hay ký tự điều khiển")
    return password


class Passwords:
    """Hashing and checking with one set of Argon2id parameters (argon2-cffi's defaults unless given)."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self.hasher = hasher or PasswordHasher()
        self._nobody = self.hasher.hash(secrets.token_urlsafe(24))

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def verify(self, stored: str, password: str) -> bool:
        """Whether ``password`` matches ``stored`` (libargon2 compares the digests in constant time)."""
        if len(password) > MAX_LENGTH:
            password = password[:MAX_LENGTH]  # still hashed, so a long guess costs the same as a short one
        try:
            return self.hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def verify_nobody(self, password: str) -> bool:
        """The same work as a real check, against a hash no password matches: always False."""
        self.verify(self._nobody, password)
        return False

    def needs_rehash(self, stored: str) -> bool:
        try:
            return self.hasher.check_needs_rehash(stored)
        except InvalidHashError:
            return True

    async def verify_async(self, stored: str | None, password: str) -> bool:
        """``verify`` (or ``verify_nobody`` when there is no hash) off the event loop: a check takes tens of ms."""
        if stored is None:
            return await asyncio.to_thread(self.verify_nobody, password)
        return await asyncio.to_thread(self.verify, stored, password)
