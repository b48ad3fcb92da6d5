"""What the console's pages cost the database, and the listings they read whole."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine, event

from reelflow.console.catalog import MAX_TEMPLATES, choices, templates_of
from reelflow.console.paging import every_page
from reelflow.specs.templates import AnimatedGraphicsTemplate, SnapshotTemplate, TemplateKind
from reelflow.wiring.server import ServerServices
from tests.unit.api.conftest import Key, TestClient
from tests.unit.console.conftest import Console, csrf_of


@dataclass
class Queries:
    transactions: int = 0
    statements: int = 0


@contextmanager
def counting(engine: Engine) -> Iterator[Queries]:
    seen = Queries()

    def begin(*args: object) -> None:
        seen.transactions += 1

    def execute(*args: object, **kwargs: object) -> None:
        seen.statements += 1

    event.listen(engine, "begin", begin)
    event.listen(engine, "before_cursor_execute", execute)
    try:
        yield seen
    finally:
        event.remove(engine, "begin", begin)
        event.remove(engine, "before_cursor_execute", execute)


def test_every_page_reads_pages_up_to_the_total_or_the_cap() -> None:
    items = list(range(250))
    calls: list[tuple[int, int]] = []

    def fetch(offset: int, limit: int) -> tuple[list[int], int]:
        calls.append((offset, limit))
        return items[offset : offset + limit], len(items)

    assert every_page(fetch, page_size=100) == items
    assert calls == [(0, 100), (100, 100), (200, 100)]
    calls.clear()
    assert every_page(fetch, page_size=100, cap=150) == items[:150]
    assert calls == [(0, 100), (100, 50)]
    calls.clear()
    assert every_page(lambda offset, limit: ([], 0), page_size=10) == []


def test_choices_group_one_listing_as_listings_by_kind_would(runtime: ServerServices) -> None:
    account_id = runtime.admin_account.id
    service = runtime.templates
    service.create(account_id, TemplateKind.SNAPSHOT, SnapshotTemplate(name="shot"))
    gif = AnimatedGraphicsTemplate.model_validate({"fps": 5, "name": "g"})
    service.create(account_id, TemplateKind.ANIMATED_GRAPHICS, gif)
    service.create(account_id, TemplateKind.SNAPSHOT, SnapshotTemplate(name="shot2"))
    found = choices(runtime.templates, account_id)
    assert list(found) == [kind.value for kind in TemplateKind]
    for kind in TemplateKind:
        alone = templates_of(runtime.templates, account_id, kind)
        assert len(alone) <= MAX_TEMPLATES
        if kind is TemplateKind.TRANSCODE:
            assert sorted(found[kind.value], key=lambda r: r.definition) == sorted(
                alone, key=lambda r: r.definition
            )
        else:
            assert found[kind.value] == alone
    assert [r.name for r in found["SnapshotByTimeOffset"] if r.type == "Custom"] == [
        "shot",
        "shot2",
    ]


def test_the_workflow_form_reads_buckets_and_templates_once(
    console: Console, runtime: ServerServices
) -> None:
    # Was 9 transactions (buckets twice, one template listing per kind), 25 statements.
    with counting(runtime.db) as seen:
        page = console.client.get("/console/workflows/new")
    assert page.status_code == 200
    assert seen.transactions <= 3, seen  # the session's key, the buckets, the templates
    assert seen.statements <= 8, seen


def test_sign_in_finds_the_key_in_one_transaction(
    browser: TestClient, admin: Key, runtime: ServerServices
) -> None:
    for _ in range(3):
        runtime.accounts.create_key("admin")
    token = csrf_of(browser.get("/console/sign-in").text)
    with counting(runtime.db) as seen:
        done = browser.post(
            "/console/sign-in", data={"csrf_token": token, "secret_key": admin.secret}
        )
    assert done.status_code == 303
    assert seen.transactions == 1, seen  # was 2 + one per key of the account
