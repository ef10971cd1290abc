"""A break's assign form on SQLite and PostgreSQL: a name that is not an enabled officer or admin of the break's
agency is the form's marked field, and changes nothing."""

from __future__ import annotations

import pytest

from adapters.vntime import now_utc
from gateway.kernel.errors import Refused
from gateway.kernel.scope import AgencyScope
from gateway.reconciliation import AssignedBreaks, Staffer, assign_break
from gateway.staff import history, set_active
from tests.support.reconciliation_rows import add_break, add_run
from tests.support.staff import PASSWORD, add_staff

from .conftest import Pages, csrf_token, sign_in


async def test_assigning_to_someone_who_may_not_work_the_break_marks_the_field(pages: Pages) -> None:
    run = await add_run(pages.db, agencies={"A01": {}})
    b = await add_break(pages.db, run, agency="A01", code="missing_in_ours", hub_amount=50_000)
    await add_staff(pages.db, "lan", "officer", ("A01",))
    await add_staff(pages.db, "hoa", "officer", ("A01",))
    await add_staff(pages.db, "minh", "officer", ("B02",))
    await add_staff(pages.db, "xem", "viewer", ("A01",))
    assert (await sign_in(pages.client, "lan", PASSWORD)).status_code == 303
    url = f"/finance/breaks/{b}"
    token = csrf_token(await pages.client.get(url))
    for to in ("minh", "xem", "khong-co-ai"):
        answer = await pages.client.post(f"{url}/assign", data={"csrf_token": token, "version": "1", "to": to})
        assert answer.status_code == 400, to
        assert 'id="to"' in answer.text and 'aria-invalid="true" aria-describedby="error-to"' in answer.text
        assert 'id="error-to"' in answer.text and "đang hoạt động của đơn vị" in answer.text
        assert f'value="{to}"' in answer.text  # typed back, to be corrected
    page = await pages.client.get(url)
    assert '<dd id="assigned-to">—</dd>' in page.text
    done = await pages.client.post(
        f"{url}/assign", data={"csrf_token": token, "version": "1", "to": "hoa"}, follow_redirects=False
    )
    assert done.status_code == 303
    assert '<dd id="assigned-to">hoa</dd>' in (await pages.client.get(url)).text


async def test_the_answer_to_an_assignment_tells_nothing_of_which_accounts_exist(pages: Pages) -> None:
    """No such account, a disabled one, a viewer, an officer of another agency: the same status, code and page, but
    for the name typed back; and nothing written."""
    run = await add_run(pages.db, agencies={"A01": {}})
    b = await add_break(pages.db, run, agency="A01", code="missing_in_ours", hub_amount=50_000)
    await add_staff(pages.db, "lan", "officer", ("A01",))
    await add_staff(pages.db, "nghi", "officer", ("A01",))
    assert await set_active(pages.db, "nghi", False, now=now_utc(), actor="test", assigned=AssignedBreaks())
    await add_staff(pages.db, "chi-xem", "viewer", ("A01",))
    await add_staff(pages.db, "minh", "officer", ("B02",))
    assert (await sign_in(pages.client, "lan", PASSWORD)).status_code == 303
    url = f"/finance/breaks/{b}"
    token = csrf_token(await pages.client.get(url))
    answers = {}
    for to in ("khong-co-ai", "nghi", "chi-xem", "minh"):
        answer = await pages.client.post(f"{url}/assign", data={"csrf_token": token, "version": "1", "to": to})
        answers[to] = (answer.status_code, answer.headers.get("content-type"), answer.text.replace(to, "<tên>"))
    assert len(set(answers.values())) == 1, "one answer, whoever was named"
    assert answers["nghi"][0] == 400
    refusals = set()
    for to in ("khong-co-ai", "nghi", "chi-xem", "minh"):
        with pytest.raises(Refused) as refused:
            await assign_break(pages.db, Staffer("lan", AgencyScope.of(["A01"])), b, 1, to)
        r = refused.value
        refusals.add((r.code, r.field, r.detail, str(r), repr(r.extra)))
    [(code, field, *_)] = refusals
    assert (code, field) == ("unknown_assignee", "assigned_to")
    async with pages.db.read() as conn:
        assert (await history(conn, "break", b)) == []
    assert '<dd id="assigned-to">—</dd>' in (await pages.client.get(url)).text
