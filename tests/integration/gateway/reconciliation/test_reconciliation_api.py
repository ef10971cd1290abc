"""``/v1/reconciliation`` over HTTP on both engines: each portal's finance system sees runs, breaks and day totals of
its own agencies only, pages with cursors, and is refused unknown filters and ids that cannot be ours."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from adapters.vntime import now_utc, to_vn
from tests.support.reconciliation_rows import add_break, add_run
from tests.support.stack import AGENCY, OTHER_AGENCY, Stack

DAY = to_vn(now_utc()).date() - timedelta(days=3)  # a day of its own in the session-wide stack


@pytest.fixture(scope="module")
async def seeded(stack: Stack) -> dict[str, Any]:
    assert stack.db is not None
    run = await add_run(
        stack.db,
        day=DAY,
        agencies={
            AGENCY.code: {"settled": 300_000, "hub_fee": 3_300, "hub_net": 296_700, "collected": 250_000},
            OTHER_AGENCY.code: {"settled": 80_000, "collected": 80_000},
        },
        classes={"matched": {"lines": 4, "hub_amount": 330_000, "our_amount": 330_000}},
        file_rows=5,
    )
    mine = [
        await add_break(stack.db, run, day=DAY, agency=AGENCY.code, code="missing_in_ours", hub_amount=50_000)
        for _ in range(3)
    ]
    theirs = await add_break(
        stack.db, run, day=DAY, agency=OTHER_AGENCY.code, code="amount_mismatch", hub_amount=80_000,
        our_amount=70_000, reference="PGTHEIRS0000001",
    )  # fmt: skip
    return {"run": run, "mine": mine, "theirs": theirs}


async def _get(client: httpx.AsyncClient, path: str, **query: Any) -> httpx.Response:
    return await client.get(f"/v1/reconciliation{path}", params=query)


async def test_a_portal_sees_its_agencies_figures_of_a_run_and_never_the_file_s(
    stack: Stack, seeded: dict[str, Any]
) -> None:
    async with stack.client() as api, stack.client(stack.other_api_key) as other:
        runs = (await _get(api, "/runs", kind="settlement")).json()["data"]
        mine = next(r for r in runs if r["id"] == seeded["run"])
        assert (mine["totals"]["settled"], mine["breaks"], mine["file"]) == (300_000, 3, None)
        detail = (await _get(api, f"/runs/{seeded['run']}")).json()
        assert [a["agency_code"] for a in detail["agencies"]] == [AGENCY.code]
        theirs = (await _get(other, f"/runs/{seeded['run']}")).json()
        assert theirs["run"]["totals"]["settled"] == 80_000 and theirs["break_classes"][0]["at_stake"] == 10_000


async def test_breaks_are_the_portal_s_own_in_pages_and_another_s_is_not_found(
    stack: Stack, seeded: dict[str, Any]
) -> None:
    async with stack.client() as api:
        seen: list[str] = []
        cursor: str | None = None
        while True:
            page = (await _get(api, "/breaks", limit=2, **({"cursor": cursor} if cursor else {}))).json()
            seen += [b["id"] for b in page["data"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert set(seeded["mine"]) <= set(seen) and seeded["theirs"] not in seen
        asked = await _get(api, f"/breaks/{seeded['theirs']}")
        assert asked.status_code == 404 and asked.json()["code"] == "not_found"
        one = (await _get(api, f"/breaks/{seeded['mine'][0]}")).json()
        assert one["item"]["label"].startswith("Có trong tệp") and one["history"] == []
        filtered = (await _get(api, "/breaks", agency=OTHER_AGENCY.code)).json()
        assert filtered["data"] == [], "a filter cannot widen the portal's agencies"


async def test_day_totals_default_to_the_last_30_days(stack: Stack, seeded: dict[str, Any]) -> None:
    async with stack.client() as api:
        before = to_vn(now_utc()).date()
        body = (await _get(api, "/totals")).json()
        after = to_vn(now_utc()).date()
        ranged = (await _get(api, "/totals", **{"from": DAY.isoformat(), "to": DAY.isoformat()})).json()
    assert body["last_day"] in {before.isoformat(), after.isoformat()}, "today in Vietnam when it answered"
    (day,) = [d for d in body["data"] if d["day"] == DAY.isoformat()]
    assert (day["agency_code"], day["figures"]["settled"], day["open_breaks"]) == (AGENCY.code, 300_000, 3)
    assert day["open_amount"] == 150_000 and ranged["data"] == [day]


@pytest.mark.parametrize(
    ("path", "query", "field"),
    [
        ("/breaks", {"state": "open"}, "state"),
        ("/breaks", {"status": "closed"}, "status"),
        ("/breaks", {"cursor": "brk_nope"}, "cursor"),
        ("/runs", {"kind": "cash"}, "kind"),
        ("/runs", {"from": "2026-02-30"}, None),
        ("/totals", {"from": "2025-01-01", "to": "2026-06-01"}, "to"),
        ("/totals", {"from": "2026-06-02", "to": "2026-06-01"}, "to"),
        ("/totals", {"to": "0001-01-01"}, "to"),
        ("/totals", {"from": "9999-12-31"}, "from"),
        ("/breaks", {"from": "0001-01-05"}, "from"),
        ("/runs", {"to": "9999-12-31"}, "to"),
    ],
)
async def test_bad_filters_are_refused(stack: Stack, path: str, query: dict[str, str], field: str | None) -> None:
    async with stack.client() as api:
        response = await _get(api, path, **query)
    assert response.status_code == 400 and response.json()["code"] == "invalid_request", response.text
    if field:
        assert response.json()["field"] == field


async def test_an_id_that_cannot_be_ours_names_nothing(stack: Stack) -> None:
    async with stack.client() as api:
        for path in ("/runs/pay_01abc", "/breaks/brk_x", "/breaks/" + "b" * 40):
            response = await _get(api, path)
            assert response.status_code == 404 and response.json()["code"] == "not_found"
