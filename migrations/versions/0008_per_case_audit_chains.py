"""Case events chained per case instead of across the whole table; audit anchors over all chains.

The existing global chain is verified first (an upgrade must not launder a tampered log into valid new hashes),
then every case's events are re-linked in id order. The hashing below is a frozen copy of app.services.audit as
of this revision: a migration must keep computing what it computed when it was written.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""
import hashlib
import json
from datetime import timezone

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def _hash(prev: str, ev) -> str:
    body = {
        "case_id": ev.case_id, "action": ev.action, "actor_id": ev.actor_id, "actor_role": ev.actor_role,
        "from": ev.from_status, "to": ev.to_status,
        "at": ev.at.astimezone(timezone.utc).isoformat(timespec="microseconds"),
        "note": ev.note or "", "data": ev.data or {},
    }
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((prev + text).encode("utf-8")).hexdigest()


def _rows(conn, order: str):
    return conn.execute(sa.text(
        "SELECT id, case_id, action, actor_id, actor_role, from_status, to_status, at, note, data, prev_hash, hash "
        f"FROM case_events ORDER BY {order}"
    ))


def _rechain(conn, per_case: bool) -> None:
    """Verify the chain in its current form, then re-link it in the other."""
    check_order, new_order = ("case_id, id", "id") if not per_case else ("id", "case_id, id")
    prev, case_id = GENESIS, None
    for ev in _rows(conn, check_order):
        if not per_case and ev.case_id != case_id:  # verifying per-case chains (downgrade)
            prev, case_id = GENESIS, ev.case_id
        if ev.prev_hash != prev or _hash(prev, ev) != ev.hash:
            raise RuntimeError(f"case event {ev.id} does not verify: run `flask audit verify` and investigate "
                               "before migrating the audit log")
        prev = ev.hash
    # Unique hashes: move every row aside first so that no new hash meets an old one mid-way.
    conn.execute(sa.text("UPDATE case_events SET hash = 'x' || id"))
    prev, case_id, updates = GENESIS, None, []
    for ev in _rows(conn, new_order):
        if per_case and ev.case_id != case_id:
            prev, case_id = GENESIS, ev.case_id
        new = _hash(prev, ev)
        updates.append({"i": ev.id, "p": prev, "h": new})
        prev = new
    if updates:
        conn.execute(sa.text("UPDATE case_events SET prev_hash = :p, hash = :h WHERE id = :i"), updates)


def upgrade():
    op.create_table('audit_anchors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('heads', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_anchors')),
    sa.UniqueConstraint('hash', name=op.f('uq_audit_anchors_hash'))
    )
    op.drop_index(op.f('ix_case_events_case_id'), table_name='case_events')
    op.create_index('ix_case_events_case_id_id', 'case_events', ['case_id', 'id'], unique=False)
    _rechain(op.get_bind(), per_case=True)


def downgrade():
    _rechain(op.get_bind(), per_case=False)
    op.drop_index('ix_case_events_case_id_id', table_name='case_events')
    op.create_index(op.f('ix_case_events_case_id'), 'case_events', ['case_id'], unique=False)
    op.drop_table('audit_anchors')
