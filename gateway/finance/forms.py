"""The finance pages' fields, read from a query or a form: each one checked, a malformed one named with what is
wrong (in Vietnamese) so the page can mark it, and nothing done with a form that has any."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from gateway.kernel.errors import Refused
from gateway.reconciliation import (
    BREAK_STATUSES,
    KINDS,
    RUN_STATUSES,
    BreakFilter,
    DayRange,
    RunFilter,
    plausible_day,
)

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
ID = re.compile(r"[a-z]{2,8}_[0-9a-z]{26}")
CODE = re.compile(r"[a-z_]{3,32}")
AGENCY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")
MAX_NOTE = 2000
PAGE = 50


@dataclass
class Fields:
    """What was sent (to show back), and the fields found wrong."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)

    def text(self, name: str) -> str | None:
        value = self.values.get(name, "").strip()
        return value or None

    def matching(self, name: str, pattern: re.Pattern[str], message: str) -> str | None:
        value = self.text(name)
        if value is not None and not pattern.fullmatch(value):
            self.errors[name] = message
            return None
        return value

    def one_of(self, name: str, allowed: tuple[str, ...]) -> str | None:
        value = self.text(name)
        if value is not None and value not in allowed:
            self.errors[name] = "Giá trị không hợp lệ"
            return None
        return value

    def day(self, name: str) -> date | None:
        value = self.text(name)
        if value is None:
            return None
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
            try:
                day = date.fromisoformat(value)
            except ValueError:
                pass
            else:
                if plausible_day(day):
                    return day
        self.errors[name] = "Ngày không hợp lệ (định dạng yyyy-mm-dd)"
        return None

    def cursor(self) -> str | None:
        return self.matching("cursor", ID, "Trang không hợp lệ")


def fields_of(source: Mapping[str, Any], names: tuple[str, ...]) -> Fields:
    """The named fields, each as text (the first value when repeated; a file or anything else counts as empty)."""
    values = {}
    for name in names:
        value = source.get(name)
        values[name] = value[:4000] if isinstance(value, str) else ""
    return Fields(values)


def _days(fields: Fields) -> DayRange:
    first, last = fields.day("from"), fields.day("to")
    if first and last and first > last:
        fields.errors["to"] = "Ngày kết thúc trước ngày bắt đầu"
        return DayRange()
    return DayRange(first, last)


RUN_FIELDS = ("kind", "status", "from", "to", "cursor")
BREAK_FIELDS = ("status", "code", "agency", "assigned", "kind", "from", "to", "run", "cursor")


def run_filter(source: Mapping[str, Any]) -> tuple[Fields, RunFilter | None, str | None]:
    fields = fields_of(source, RUN_FIELDS)
    kind, status = fields.one_of("kind", KINDS), fields.one_of("status", RUN_STATUSES)
    days, cursor = _days(fields), fields.cursor()
    if fields.errors:
        return fields, None, None
    return fields, RunFilter(kind=kind, status=status, days=days), cursor


def break_filter(source: Mapping[str, Any], me: str) -> tuple[Fields, BreakFilter | None, str | None]:
    fields = fields_of(source, BREAK_FIELDS)
    status = fields.one_of("status", (*BREAK_STATUSES, "unresolved"))
    code = fields.matching("code", CODE, "Loại chênh lệch không hợp lệ")
    agency = fields.matching("agency", AGENCY, "Mã đơn vị không hợp lệ")
    assigned = fields.text("assigned")
    assigned = me if assigned == "me" else fields.matching("assigned", USERNAME, "Tên đăng nhập không hợp lệ")
    kind, run = fields.one_of("kind", KINDS), fields.matching("run", ID, "Mã lần đối soát không hợp lệ")
    days, cursor = _days(fields), fields.cursor()
    if fields.errors:
        return fields, None, None
    try:
        where = BreakFilter(
            status=status, code=code, agency=agency, assigned_to=assigned, kind=kind, run_id=run, days=days
        )
    except Refused as refused:
        fields.errors[refused.field or "code"] = "Giá trị không hợp lệ"
        return fields, None, None
    return fields, where, cursor


def totals_range(source: Mapping[str, Any], today: date) -> tuple[Fields, DayRange | None, str | None]:
    """The day range of a totals export (the last 30 days by default) and its agency filter."""
    fields = fields_of(source, ("from", "to", "agency"))
    agency = fields.matching("agency", AGENCY, "Mã đơn vị không hợp lệ")
    days = _days(fields)
    last = days.last or today
    first = days.first or last - timedelta(days=29)
    if not fields.errors and (last - first).days >= 366:
        fields.errors["from"] = "Tối đa 366 ngày"
    if fields.errors:
        return fields, None, None
    return fields, DayRange(first, last), agency


def run_request(source: Mapping[str, Any], today: date) -> tuple[Fields, str | None, date | None]:
    """The form that runs a day by hand: which run, and a day that has ended."""
    fields = fields_of(source, ("run_kind", "run_day"))
    kind = fields.one_of("run_kind", KINDS)
    if kind is None and "run_kind" not in fields.errors:
        fields.errors["run_kind"] = "Chọn loại đối soát"
    day = fields.day("run_day")
    if day is None and "run_day" not in fields.errors:
        fields.errors["run_day"] = "Chọn ngày cần đối soát"
    elif day is not None and day >= today:
        fields.errors["run_day"] = "Chỉ đối soát được ngày đã qua"
    if fields.errors:
        return fields, None, None
    return fields, kind, day


@dataclass(frozen=True)
class BreakChange:
    version: int
    note: str | None = None
    to: str | None = None


def break_change(source: Mapping[str, Any], action: str, me: str) -> tuple[Fields, BreakChange | None]:
    """The assign or resolve form: its version, and the assignee or the note each requires."""
    fields = fields_of(source, ("version", "note", "to"))
    version = fields.text("version")
    if version is None or not (version.isascii() and version.isdigit()) or len(version) > 9:
        fields.errors["version"] = "Biểu mẫu đã cũ, vui lòng tải lại trang"
    note = fields.text("note")
    if action == "resolve" and note is None:
        fields.errors["note"] = "Cần ghi chú cách đã xử lý"
    if note is not None and len(note) > MAX_NOTE:
        fields.errors["note"] = f"Ghi chú tối đa {MAX_NOTE} ký tự"
    to = fields.text("to") or (me if action == "assign" else None)
    if action == "assign" and (to is None or not USERNAME.fullmatch(to)):
        fields.errors["to"] = "Tên đăng nhập của cán bộ được giao không hợp lệ"
    if fields.errors:
        return fields, None
    return fields, BreakChange(version=int(version or 0), note=note, to=to)
