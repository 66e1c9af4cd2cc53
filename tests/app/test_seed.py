"""`flask seed demo` builds the promised district, every case through the real verbs, and is repeatable."""

import json

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Camera, Case, Grid, Role, User
from app.services.audit import verify_chain
from dispatch.lifecycle import CaseStatus


@pytest.mark.slow
def test_demo_seed(app):
    runner = app.test_cli_runner()
    r = runner.invoke(args=["seed", "demo"])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.output)
    assert summary["seeded"] is True
    assert db.session.scalar(select(func.count()).select_from(Grid)) >= 40
    workers = db.session.scalars(select(User).where(User.role == Role.WORKER)).all()
    assert len(workers) >= 30 and all(w.skills and w.last_position is not None for w in workers)
    assert all(g.owners for g in db.session.scalars(select(Grid)))  # every grid has an owner
    cams = db.session.scalars(select(Camera)).all()
    assert len(cams) >= 6 and all(len(c.calibration) >= 4 and c.calibration_rms_m < 2 for c in cams)
    for role in ("admin", "supervisor", "dispatcher", "worker", "handler", "citizen"):
        assert any(a["role"] == role for a in summary["accounts"])
    statuses = dict(db.session.execute(select(Case.status, func.count()).group_by(Case.status)).all())
    assert sum(statuses.values()) == 300
    missing = set(CaseStatus) - set(statuses)
    assert not missing, f"demo lacks cases in {missing}"
    oldest = db.session.scalar(select(func.min(Case.reported_at)))
    newest = db.session.scalar(select(func.max(Case.reported_at)))
    assert (newest - oldest).days >= 45
    assert db.session.scalar(select(func.count()).select_from(Case).where(Case.rating.is_not(None))) > 20
    assert verify_chain().ok
    again = runner.invoke(args=["seed", "demo"])
    assert again.exit_code == 0 and json.loads(again.output)["seeded"] is False
    assert db.session.scalar(select(func.count()).select_from(Case)) == 300
