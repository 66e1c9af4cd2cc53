"""Parallel transactions: case numbers stay unique and gap-free, and the event chain stays intact."""

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from app.extensions import db
from app.models import Case, User
from app.services import cases as svc
from app.services.audit import verify_chain
from tests.factories import Cast, make_grids

THREADS, PER_THREAD = 6, 5


def test_parallel_reports_and_verifications(app):
    make_grids()
    cast = Cast()
    db.session.commit()
    citizen_id, dispatcher_id = cast.citizen.id, cast.dispatcher.id

    def work(n):
        with app.app_context():  # its own session and connection, like a separate web worker
            citizen = db.session.get(User, citizen_id)
            dispatcher = db.session.get(User, dispatcher_id)
            for i in range(PER_THREAD):
                case, _ = svc.report_case(citizen, category_code="banner", lon=120.004 + n * 1e-4,
                                          lat=30.004 + i * 1e-4, description=f"t{n}-{i}")
                db.session.commit()
                svc.verify_case(case.id, dispatcher, valid=True)
                db.session.commit()
            db.session.remove()

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(work, range(THREADS)))

    numbers = sorted(db.session.scalars(select(Case.number)))
    assert len(numbers) == THREADS * PER_THREAD
    assert [int(n[-5:]) for n in numbers] == list(range(1, THREADS * PER_THREAD + 1))
    rep = verify_chain()
    assert rep.ok and rep.checked == 2 * THREADS * PER_THREAD
