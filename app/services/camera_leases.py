"""Many machines share the cameras: each vision node takes cameras by lease in PostgreSQL.

A node (`flask vision run --node NAME --capacity N`) beats every third of `VISION_LEASE_S`: it records its
heartbeat, renews the leases it holds, gives back what it holds beyond its fair share (the enabled cameras divided
among the nodes alive, so a new node soon gets its part) and takes free or expired cameras up to that share —
`FOR UPDATE SKIP LOCKED`, so two nodes never take the same camera and never wait on each other. A node that dies
stops renewing; its leases expire and the others take its cameras over within `VISION_LEASE_S` and one beat.
Every lease taken bumps the camera's `lease_version`; findings are written only under the version the node was
given (`holds`, which locks the camera row until the finding commits), so a node that lost a camera — paused,
cut off, or late — cannot write a finding the new holder may write too. Nothing here commits; the caller does.
"""

from __future__ import annotations

import math
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert

from app.extensions import db
from app.models import Camera, VisionNode
from app.models.types import utcnow


def lease_seconds() -> float:
    """How long a lease lasts without renewal (VISION_LEASE_S)."""
    return float(current_app.config["VISION_LEASE_S"])


def running_node(camera: Camera) -> str | None:
    """The vision node whose lease on the camera is current (None when no node runs it now)."""
    alive = camera.node is not None and camera.lease_expires_at is not None and camera.lease_expires_at > utcnow()
    return camera.node if alive else None


def heartbeat(node: str, capacity: int) -> None:
    """Record that `node` is alive with this capacity."""
    now = utcnow()
    stmt = insert(VisionNode).values(name=node, capacity=capacity, started_at=now, heartbeat_at=now)
    db.session.execute(stmt.on_conflict_do_update(index_elements=[VisionNode.name],
                                                  set_={"capacity": capacity, "heartbeat_at": now}))


def alive_nodes() -> list[VisionNode]:
    """Nodes whose heartbeat is fresher than a lease."""
    since = utcnow() - timedelta(seconds=lease_seconds())
    return list(db.session.scalars(select(VisionNode).where(VisionNode.heartbeat_at >= since)
                                   .order_by(VisionNode.name)))


def fair_share(node: str, capacity: int) -> int:
    """How many cameras `node` should run: the enabled cameras spread over the nodes alive, within its capacity.

    Nodes with less capacity than their part leave the rest to the others, which then take more.
    """
    enabled = db.session.scalar(select(func.count()).select_from(Camera).where(Camera.enabled.is_(True))) or 0
    nodes = {n.name: n.capacity for n in alive_nodes()} | {node: capacity}
    left, share = enabled, {}
    # Water-filling: the smallest capacities first take all they can; the rest split what is left evenly.
    for i, (name, cap) in enumerate(sorted(nodes.items(), key=lambda kv: (kv[1], kv[0]))):
        share[name] = min(cap, math.ceil(left / (len(nodes) - i)))
        left -= share[name]
    return share[node]


def renew(node: str, held: dict[int, int]) -> dict[int, int]:
    """Extend the leases `node` still holds (same camera, same version, still enabled); returns those, dropping
    any lost — and giving back any camera switched off meanwhile."""
    if not held:
        return {}
    until = utcnow() + timedelta(seconds=lease_seconds())
    rows = db.session.execute(
        update(Camera).where(Camera.node == node, Camera.id.in_(list(held)), Camera.enabled.is_(True))
        .values(lease_expires_at=until).returning(Camera.id, Camera.lease_version)).all()
    kept = {cid: version for cid, version in rows if held.get(cid) == version}
    if gone := [cid for cid in held if cid not in kept]:
        release(node, gone)  # only what is still ours: a camera another node took keeps its new holder
    return kept


def acquire(node: str, n: int) -> dict[int, int]:
    """Take up to `n` enabled cameras that nobody holds (or whose lease expired); {camera id: lease version}."""
    if n <= 0:
        return {}
    rows = db.session.execute(text(
        """
        UPDATE cameras SET node = :node, lease_expires_at = now() + make_interval(secs => :ttl),
               lease_version = lease_version + 1
        WHERE id IN (
            SELECT id FROM cameras
            WHERE enabled AND (node IS NULL OR lease_expires_at IS NULL OR lease_expires_at < now())
            ORDER BY id LIMIT :n FOR UPDATE SKIP LOCKED)
        RETURNING id, lease_version
        """), {"node": node, "ttl": lease_seconds(), "n": n}).all()
    return {cid: version for cid, version in rows}


def release(node: str, camera_ids: list[int] | None = None) -> None:
    """Give cameras back (all of `node`'s when `camera_ids` is None) so another node can take them at once."""
    q = update(Camera).where(Camera.node == node)
    if camera_ids is not None:
        q = q.where(Camera.id.in_(camera_ids))
    db.session.execute(q.values(node=None, lease_expires_at=None))


def leave(node: str) -> None:
    """A node shutting down: its cameras are given back and it is no longer counted."""
    release(node)
    db.session.execute(VisionNode.__table__.delete().where(VisionNode.name == node))


def beat(node: str, capacity: int, held: dict[int, int]) -> dict[int, int]:
    """One heartbeat of `node`: renew, give back beyond the fair share, take up to it; the leases now held."""
    heartbeat(node, capacity)
    held = renew(node, held)
    share = fair_share(node, capacity)
    if len(held) > share:  # a node joined (or capacity shrank): the highest ids go back for others to take
        extra = sorted(held)[share:]
        release(node, extra)
        held = {cid: v for cid, v in held.items() if cid not in extra}
    return held | acquire(node, share - len(held))


def holds(camera_id: int, node: str, version: int) -> bool:
    """Whether `node` still holds the camera's lease `version` (the row stays locked until the caller commits, so
    nobody can take the camera over between this check and the finding written after it)."""
    row = db.session.execute(select(Camera.node, Camera.lease_version, Camera.lease_expires_at)
                             .where(Camera.id == camera_id).with_for_update()).first()
    return row is not None and row.node == node and row.lease_version == version and \
        row.lease_expires_at is not None and row.lease_expires_at > utcnow()
