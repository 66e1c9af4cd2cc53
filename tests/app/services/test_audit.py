"""The per-case hash chains over case events and their anchors: verified when intact, broken by any edit or
deletion, and appends to different cases do not wait for each other."""

import threading

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Case, CaseEvent, User
from app.services import cases as svc
from app.services.audit import GENESIS, anchor_chains, verify_chain
from tests.factories import Cast, advance, make_grids, reported


@pytest.fixture
def history(app):
    make_grids()
    cast = Cast()
    for _ in range(3):
        advance(cast, reported(cast), "closed")
    db.session.commit()
    return db.session.query(CaseEvent).order_by(CaseEvent.id).all()


def _by_case(events):
    chains = {}
    for ev in events:
        chains.setdefault(ev.case_id, []).append(ev)
    return list(chains.values())


def test_intact_chains_verify(history):
    rep = verify_chain(batch=5)  # several batches
    assert rep.ok and rep.checked == len(history) == 27  # 9 steps each, the check assignment included
    chains = _by_case(history)
    assert len(chains) == 3
    for chain in chains:
        assert chain[0].prev_hash == GENESIS
        assert all(b.prev_hash == a.hash for a, b in zip(chain, chain[1:], strict=False))


def test_edited_row_is_detected(history):
    victim = history[10]
    db.session.execute(db.text("UPDATE case_events SET note = 'forged' WHERE id = :i"), {"i": victim.id})
    db.session.commit()
    rep = verify_chain()
    assert not rep.ok and rep.broken_at == victim.id and rep.case_id == victim.case_id and "content" in rep.reason


def test_edited_time_or_actor_is_detected(history):
    victim = history[4]
    db.session.execute(db.text("UPDATE case_events SET at = at + interval '1 second' WHERE id = :i"),
                       {"i": victim.id})
    db.session.commit()
    assert verify_chain().broken_at == victim.id


def test_deleted_row_is_detected(history):
    chain = _by_case(history)[1]
    db.session.execute(db.text("DELETE FROM case_events WHERE id = :i"), {"i": chain[3].id})
    db.session.commit()
    rep = verify_chain()
    assert not rep.ok and rep.broken_at == chain[4].id and "link" in rep.reason


def test_anchor_records_moved_heads_only(history):
    first = anchor_chains()
    db.session.commit()
    heads = {str(chain[-1].case_id): chain[-1].hash for chain in _by_case(history)}
    assert first.heads == heads and first.prev_hash == GENESIS
    assert anchor_chains() is None  # nothing moved
    cast = Cast()
    case = reported(cast)
    db.session.commit()
    second = anchor_chains()
    db.session.commit()
    assert second.heads == {str(case.id): case.events[-1].hash} and second.prev_hash == first.hash
    rep = verify_chain()
    assert rep.ok and rep.anchors == 2


def test_tail_cut_after_anchor_is_detected(history):
    """A per-case chain alone cannot show its last events removed; the anchor can."""
    anchor_chains()
    db.session.commit()
    chain = _by_case(history)[2]
    db.session.execute(db.text("DELETE FROM case_events WHERE id = ANY(:ids)"), {"ids": [e.id for e in chain[-2:]]})
    db.session.commit()
    rep = verify_chain()
    assert not rep.ok and rep.case_id == chain[0].case_id and "missing" in rep.reason


def test_forged_anchor_is_detected(history):
    anchor = anchor_chains()
    db.session.commit()
    db.session.execute(db.text("UPDATE audit_anchors SET heads = '{}' WHERE id = :i"), {"i": anchor.id})
    db.session.commit()
    rep = verify_chain()
    assert not rep.ok and f"anchor {anchor.id}" in rep.reason


def test_cli_exit_codes(app, history):
    runner = app.test_cli_runner()
    anchored = runner.invoke(args=["audit", "anchor"])
    assert anchored.exit_code == 0 and "3 chains" in anchored.output
    ok = runner.invoke(args=["audit", "verify"])
    assert ok.exit_code == 0 and "27 events, 1 anchors" in ok.output
    db.session.execute(db.text("UPDATE case_events SET note = 'edited' WHERE id = :i"), {"i": history[2].id})
    db.session.commit()
    bad = runner.invoke(args=["audit", "verify"])
    assert bad.exit_code == 1 and f"event {history[2].id}" in bad.output and f"case {history[2].case_id}" in bad.output


def test_appends_to_other_cases_do_not_wait(app):
    """A transaction holding an event of one case uncommitted does not hold up an event of another case.

    (One chain over the whole table made every writer wait for the lock holder's commit.)
    """
    make_grids()
    cast = Cast()
    one, two = reported(cast), reported(cast)
    db.session.commit()
    ids, dispatcher_id = (one.id, two.id), cast.dispatcher.id
    first_flushed, other_done, release = threading.Event(), threading.Event(), threading.Event()

    def hold_first():
        with app.app_context():
            svc.verify_case(ids[0], db.session.get(User, dispatcher_id), valid=True)
            db.session.flush()
            first_flushed.set()
            release.wait(10)
            db.session.commit()
            db.session.remove()

    def append_other():
        with app.app_context():
            first_flushed.wait(10)
            svc.verify_case(ids[1], db.session.get(User, dispatcher_id), valid=True)
            db.session.commit()
            other_done.set()
            db.session.remove()

    threads = [threading.Thread(target=hold_first), threading.Thread(target=append_other)]
    for t in threads:
        t.start()
    try:
        assert other_done.wait(10), "the second case's event waited for the first transaction"
    finally:
        release.set()
        for t in threads:
            t.join(10)
    db.session.expire_all()
    assert [c.status.value for c in db.session.scalars(select(Case).order_by(Case.id))] == ["verified"] * 2
    assert verify_chain().ok
