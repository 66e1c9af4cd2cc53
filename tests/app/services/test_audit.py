"""The hash chain over case events: verified when intact, broken by any edit or deletion."""

import pytest

from app.extensions import db
from app.models import CaseEvent
from app.services.audit import GENESIS, verify_chain
from tests.factories import Cast, advance, make_grids, reported


@pytest.fixture
def history(app):
    make_grids()
    cast = Cast()
    for _ in range(3):
        advance(cast, reported(cast), "closed")
    db.session.commit()
    return db.session.query(CaseEvent).order_by(CaseEvent.id).all()


def test_intact_chain_verifies(history):
    rep = verify_chain(batch=5)  # several batches
    assert rep.ok and rep.checked == len(history) == 24
    assert history[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(history, history[1:], strict=False))


def test_edited_row_is_detected(history):
    victim = history[10]
    db.session.execute(db.text("UPDATE case_events SET note = 'forged' WHERE id = :i"), {"i": victim.id})
    db.session.commit()
    rep = verify_chain()
    assert not rep.ok and rep.broken_at == victim.id and "content" in rep.reason


def test_edited_time_or_actor_is_detected(history):
    victim = history[4]
    db.session.execute(db.text("UPDATE case_events SET at = at + interval '1 second' WHERE id = :i"),
                       {"i": victim.id})
    db.session.commit()
    assert verify_chain().broken_at == victim.id


def test_deleted_row_is_detected(history):
    victim = history[7]
    db.session.execute(db.text("DELETE FROM case_events WHERE id = :i"), {"i": victim.id})
    db.session.commit()
    rep = verify_chain()
    assert not rep.ok and rep.broken_at == history[8].id and "link" in rep.reason


def test_cli_exit_codes(app, history):
    ok = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert ok.exit_code == 0 and "24 events" in ok.output
    db.session.execute(db.text("UPDATE case_events SET note = 'edited' WHERE id = :i"), {"i": history[2].id})
    db.session.commit()
    bad = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert bad.exit_code == 1 and f"event {history[2].id}" in bad.output
