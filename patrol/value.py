"""What a look round a cell is worth: the problems expected to be waiting there unseen.

A problem of category k appears in cell c at the forecast's rate λ[c, k]. If nobody has looked at the cell for T
hours, the problems waiting there now are λ · ∫₀ᵀ S(u) du, where S(u) is the chance a problem of age u is still
there and still unreported: not reported by a citizen (a share of each kind is, after a delay that is shorter where
many people pass), not gone by itself (a stall moves on, laundry is taken in), not caught by a camera watching the
cell. Weighted by the kind's importance (safety first), summed over categories: the value a patrol round collects.

`DISCOVERY` holds those behaviours per kind of problem. They are the simulator's assumptions (`patrol.simulate`)
and the product's defaults alike; a district that measures its own would set them here.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np

from patrol.history import FAMILIES


@dataclass(frozen=True)
class Discovery:
    """How a kind of problem comes to light when nobody patrols."""

    report_share: float  # of these problems, the share a citizen ever reports
    report_h: float  # citizens' mean delay before reporting, hours, at an average place
    lifetime_h: float  # mean hours before it goes away unseen (inf: stays until dealt with)
    weight: float  # importance in a round's value
    fix_on_spot: bool = False  # the inspector who finds it can deal with it there and then (即查即改)


DISCOVERY = {
    "vending": Discovery(0.5, 3.0, 2.0, 1.0, fix_on_spot=True),
    "waste": Discovery(0.6, 8.0, math.inf, 1.0),
    "facilities": Discovery(0.5, 24.0, math.inf, 1.5),
    "advertising": Discovery(0.3, 12.0, math.inf, 0.7),
    "street": Discovery(0.4, 6.0, 6.0, 0.7, fix_on_spot=True),
}
OTHER = Discovery(0.5, 12.0, math.inf, 1.0)  # kinds not in the families (construction, emergencies, …)
FAMILY = {c: f.name for f in FAMILIES for c in f.categories}
# The 17 categories the camera detector knows.
DETECTABLE = frozenset({
    "storefront_business", "mobile_vendor", "road_occupation", "material_piling", "outdoor_advertising",
    "bagged_garbage", "exposed_garbage", "street_drying", "illegal_umbrella", "parking_lock", "greenery_damage",
    "road_damage", "bin_uncovered", "bin_overflow", "inflatable_arch", "banner", "manhole_abnormal"})


def discovery(category: str) -> Discovery:
    """The behaviour of a category's problems."""
    return DISCOVERY.get(FAMILY.get(category, ""), OTHER)


def place_factor(counts: np.ndarray) -> np.ndarray:
    """Citizens' delay per cell relative to an average one, from each cell's count of past problems: busy places
    (more problems, more people passing) report sooner, quiet ones later; within ½× and 2×."""
    return np.clip(((counts + 1) / (counts.mean() + 1)) ** -0.3, 0.5, 2.0)


def unseen_value(rates: np.ndarray, categories: Sequence[str], unseen_h: np.ndarray, place_factor: np.ndarray,
                 camera_cells: Collection[int], camera_catch: float) -> np.ndarray:
    """Per cell, the weighted problems expected to be waiting unseen: `rates` (cells × categories, per hour)
    integrated over each cell's `unseen_h` hours since the last look, each hour weighted by the chance a problem is
    still there unreported (see the module docstring). `place_factor` scales citizens' delay per cell."""
    out = np.zeros(len(unseen_h))
    in_view = np.zeros(len(unseen_h), bool)
    in_view[list(camera_cells)] = True
    t = np.maximum(unseen_h, 0.0)
    for k, code in enumerate(categories):
        d = discovery(code)
        inv_life = 0.0 if math.isinf(d.lifetime_h) else 1 / d.lifetime_h
        never = (1 - d.report_share) * (t if inv_life == 0 else (1 - np.exp(-t * inv_life)) / inv_life)
        a = inv_life + 1 / (d.report_h * place_factor)
        later = d.report_share * (1 - np.exp(-t * a)) / a
        caught = np.where(in_view, camera_catch, 0.0) if code in DETECTABLE else 0.0
        out += rates[:, k] * d.weight * (never + later) * (1 - caught)
    return out
