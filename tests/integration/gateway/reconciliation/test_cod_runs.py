"""COD runs on PostgreSQL and SQLite: the post sandbox's statement of the day against the collections we recorded
from its feed; a statement that does not add up is a break, a malformed one a failed run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gateway.store.tables import reconciliation as rt

from .conftest import COD, World


async def statement(world: World) -> dict[str, Any]:
    return dict(json.loads(await world.post.cod_statement_body(world.today)))


def write(tmp_path: Path, body: dict[str, Any]) -> Path:
    path = tmp_path / "statement.json"
    path.write_text(json.dumps(body), encoding="utf-8")
    return path


async def keys(world: World) -> set[str]:
    return {b["key"] for b in await world.breaks()}


async def test_the_posts_statement_matches_what_we_recorded(world: World) -> None:
    await world.delivered()
    await world.delivered()

    recorded = await world.cod_runs.run(world.today)

    run = recorded.run
    assert recorded.new and run.status == "completed" and (run.file_rows, run.matched, run.breaks) == (2, 2, 0)
    assert run.hub_amount == 2 * COD and run.hub_net == run.hub_amount - run.hub_fee
    async with world.db.read() as conn:
        [totals] = (await conn.execute(rt.reconciliation_totals.select())).all()
    assert (totals.cod_collected, totals.cod_remitted) == (2 * COD, run.hub_net)
    before = await world.footprint()
    again = await world.cod_runs.run(world.today)
    assert not again.new and again.run.id == run.id and await world.footprint() == before


async def test_a_statement_with_every_kind_of_cod_break(world: World, tmp_path: Path) -> None:
    """An item the post lists that we never heard of, an amount it states differently, one of ours it does not
    list: each a break; and its remittance, not what our collections less its fees come to, is one more."""
    await world.delivered()
    _, restated = await world.delivered()
    _, unlisted = await world.delivered()
    _, stranger = await world.delivered(recorded=False)
    body = await statement(world)
    body["items"] = [item for item in body["items"] if item["itemCode"] != unlisted]
    for item in body["items"]:
        if item["itemCode"] == restated:
            item["codAmount"] += 1_000
    body["totalCod"] = sum(item["codAmount"] for item in body["items"])
    body["totalFee"] = sum(item["fee"] for item in body["items"])
    body["totalRemitted"] = body["totalCod"] - body["totalFee"]

    run = (await world.cod_runs.run(world.today, file=write(tmp_path, body))).run

    assert run.status == "completed" and run.matched == 1
    assert await keys(world) == {
        f"cod_amount_mismatch:{restated}",
        f"cod_unknown_item:{stranger}",
        f"cod_not_remitted:{unlisted}",
        f"cod_batch_mismatch:batch:{body['batchId']}",
    }


async def test_a_remittance_that_does_not_add_up_is_one_break(world: World, tmp_path: Path) -> None:
    await world.delivered()
    await world.delivered()
    body = await statement(world)
    body["totalRemitted"] -= 5_000

    run = (await world.cod_runs.run(world.today, file=write(tmp_path, body))).run

    assert run.status == "completed" and run.matched == 2 and run.hub_net == body["totalRemitted"]
    [found] = await world.breaks()
    assert found["key"] == f"cod_batch_mismatch:batch:{body['batchId']}" and found["facts"]["difference"] == -5_000


async def test_a_malformed_statement_is_a_failed_run(world: World, tmp_path: Path) -> None:
    await world.delivered()
    body = await statement(world)
    body["items"].append(dict(body["items"][0]))  # an item listed twice

    run = (await world.cod_runs.run(world.today, file=write(tmp_path, body))).run

    assert run.status == "failed" and run.refusal_code == "bad_statement" and "bưu điện" in run.refusal_message
    assert await world.count(rt.reconciliation_breaks) == 0 and await world.count(rt.reconciliation_totals) == 0
