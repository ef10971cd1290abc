"""The finance pages' pure parts: fields read from a form or query, and the dashboard's chart."""

from __future__ import annotations

from datetime import date, timedelta

from gateway.finance import forms
from gateway.finance.chart import ChartDay, svg
from gateway.finance.render import money

DAY = date(2026, 11, 20)


def test_a_malformed_filter_names_its_field_and_gives_no_filter() -> None:
    fields, where, _ = forms.break_filter({"from": "2026-13-01", "status": "lost", "agency": "A01"}, "lan")
    assert where is None and set(fields.errors) == {"from", "status"}
    fields, where, _ = forms.break_filter({"from": "2026-11-30", "to": "2026-11-01"}, "lan")
    assert where is None and set(fields.errors) == {"to"}
    fields, where, _ = forms.break_filter({"assigned": "me", "status": "unresolved", "code": "duplicate"}, "lan")
    assert where is not None and where.assigned_to == "lan" and where.status == "unresolved" and not fields.errors
    _, where, _ = forms.break_filter({"code": "not_a_break_code"}, "lan")
    assert where is None


def test_a_break_form_needs_its_version_and_a_resolution_its_note() -> None:
    fields, change = forms.break_change({"version": "3"}, "resolve", "lan")
    assert change is None and set(fields.errors) == {"note"}
    fields, change = forms.break_change({"note": "x" * 2001, "version": "3"}, "resolve", "lan")
    assert change is None and set(fields.errors) == {"note"}
    fields, change = forms.break_change({"note": "đã đối chiếu"}, "resolve", "lan")
    assert change is None and set(fields.errors) == {"version"}
    _, change = forms.break_change({"version": "3"}, "assign", "lan")
    assert change == forms.BreakChange(version=3, note=None, to="lan")
    fields, change = forms.break_change({"version": "3", "to": "Bad Name"}, "assign", "lan")
    assert change is None and set(fields.errors) == {"to"}


def test_a_day_or_version_only_a_typing_mistake_could_give_is_a_marked_field() -> None:
    for day in ("0001-01-05", "9999-12-31", "１９９９-01-01", "2026-11-3٠"):
        fields, days, _ = forms.totals_range({"to": day}, DAY)
        assert days is None and set(fields.errors) == {"to"}, day
    fields, change = forms.break_change({"version": "²"}, "assign", "lan")
    assert change is None and set(fields.errors) == {"version"}


def test_the_totals_range_is_the_last_thirty_days_unless_given() -> None:
    _, days, agency = forms.totals_range({}, DAY)
    assert days is not None and (days.first, days.last, agency) == (DAY - timedelta(days=29), DAY, None)
    fields, days, _ = forms.totals_range({"from": "2024-01-01", "to": "2026-01-01"}, DAY)
    assert days is None and "from" in fields.errors


def test_the_chart_draws_two_bars_a_day_and_marks_days_with_open_breaks() -> None:
    days = [ChartDay(DAY + timedelta(days=n), 100_000 * n, 90_000 * n, n % 7 == 0) for n in range(30)]
    drawn = str(svg(days, "Biểu đồ <đơn vị>"))
    assert drawn.count("<rect") == 60 and drawn.count('class="break-dot"') == 5
    assert "&lt;đơn vị&gt;" in drawn and "<script" not in drawn
    assert str(svg([ChartDay(DAY, 0, 0, 0)], "trống")).count('height="0.0"') == 2  # nothing to scale: no NaN


def test_money_is_written_the_vietnamese_way() -> None:
    assert money(1_250_000) == "1.250.000 ₫" and money(-5_000) == "-5.000 ₫" and money(None) == "—"


def test_the_session_cookie_is_secure_unless_turned_off_for_plain_http() -> None:
    from gateway.finance.access import cookie, safe_next
    from gateway.settings import load

    secure = cookie(load({"PAYHUB_HASH_KEY": "k"}), "finance_session", "t")
    assert (secure.key, secure.secure, secure.httponly, secure.samesite, secure.path) == (
        "__Host-finance_session",
        True,
        True,
        "strict",
        "/",
    )
    local = cookie(load({"PAYHUB_HASH_KEY": "k", "STAFF_COOKIE_SECURE": "false"}), "finance_session", "t")
    assert (local.key, local.secure, local.httponly, local.samesite) == ("finance_session", False, True, "strict")
    assert safe_next("/finance/breaks?status=open") == "/finance/breaks?status=open"
    for elsewhere in ("https://example.com/", "//example.com/finance/", "/finance/..//x", "/other", None):
        assert safe_next(elsewhere) == "/finance/"


def test_only_an_admin_of_every_agency_may_run_a_day_and_only_a_day_gone_by() -> None:
    from gateway.kernel.scope import AgencyScope
    from gateway.staff import StaffMember

    def member(role: str, scope: AgencyScope) -> StaffMember:
        return StaffMember("stf_x", "x", "X", role, scope, (), "t", "h")

    assert member("admin", AgencyScope.everything()).can_run
    assert not member("admin", AgencyScope.of(["A01"])).can_run  # a run touches every agency's lines
    assert not member("officer", AgencyScope.everything()).can_run
    assert (
        member("officer", AgencyScope.of(["A01"])).can_work_breaks
        and not member("viewer", AgencyScope.everything()).can_work_breaks
    )
    fields, kind, day = forms.run_request({"run_kind": "settlement", "run_day": DAY.isoformat()}, DAY)
    assert kind is None and "run_day" in fields.errors  # today has not ended
    _, kind, day = forms.run_request({"run_kind": "cod", "run_day": "2026-11-19"}, DAY)
    assert (kind, day) == ("cod", date(2026, 11, 19))
