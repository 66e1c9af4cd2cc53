"""ORM models; importing this package registers every table on `db.metadata`."""

from app.models.cameras import Camera, CameraZone, VisionNode
from app.models.cases import AuditAnchor, Case, CaseCounter, CaseEvent, Media
from app.models.catalog import Category, CategoryClass, Holiday
from app.models.dispatching import Notification, SystemState, WorkerStat
from app.models.geo import Grid, Region, RegionLevel
from app.models.open311 import Open311Key
from app.models.patrol import CellLook, PatrolRound, RoundStatus
from app.models.people import (
    ApiToken,
    CivicPoints,
    Department,
    Role,
    User,
    UserSession,
    grid_owners,
    user_skills,
)
from app.models.updates import Delivery, Subscription

__all__ = [
    "CellLook",
    "PatrolRound",
    "RoundStatus",
    "Delivery",
    "Subscription",
    "ApiToken",
    "AuditAnchor",
    "Camera",
    "CameraZone",
    "Case",
    "CaseCounter",
    "CaseEvent",
    "Category",
    "CategoryClass",
    "CivicPoints",
    "Department",
    "Grid",
    "Holiday",
    "Media",
    "Notification",
    "Open311Key",
    "Region",
    "RegionLevel",
    "Role",
    "SystemState",
    "User",
    "VisionNode",
    "UserSession",
    "WorkerStat",
    "grid_owners",
    "user_skills",
]
