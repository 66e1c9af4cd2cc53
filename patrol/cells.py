"""Forecast cells: H3 hexagons (resolution 10 by default: ≈ 15,000 m², ≈ 150 m across — a block face a patroller
sees while walking past). Equal-area cells are what hit rate and PAI need: the share of cells flagged is the share
of area flagged.

`Cells` numbers a district's cells 0…n-1 and knows, for each, its neighbours by ring (hexagon steps) up to a
radius, which the self-exciting part of the forecast spreads over.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import h3

RESOLUTION = 10


def cell_of(lon: float, lat: float, res: int = RESOLUTION) -> str:
    """The H3 cell holding a point."""
    return h3.latlng_to_cell(lat, lon, res)


def centre(cell: str) -> tuple[float, float]:
    """A cell's centre as (lon, lat)."""
    lat, lon = h3.cell_to_latlng(cell)
    return lon, lat


def cells_covering(geojson_geometry: dict, res: int = RESOLUTION) -> list[str]:
    """The cells whose centres lie in a (Multi)Polygon given as GeoJSON, in a stable order."""
    return sorted(h3.geo_to_cells(geojson_geometry, res))


def boundary(cell: str) -> list[list[float]]:
    """The cell's outline as a closed GeoJSON ring of [lon, lat]."""
    ring = [[lon, lat] for lat, lon in h3.cell_to_boundary(cell)]
    return [*ring, ring[0]]


@dataclass
class Cells:
    """A district's cells, numbered, with their neighbours by ring distance."""

    ids: list[str]
    radius: int = 2
    index: dict[str, int] = field(init=False)
    rings: list[list[tuple[int, int]]] = field(init=False)  # per cell: (other cell, ring distance ≤ radius)

    def __post_init__(self):
        self.index = {c: i for i, c in enumerate(self.ids)}
        self.rings = []
        for c in self.ids:
            near = []
            for d, ring in enumerate(h3.grid_ring(c, k) for k in range(self.radius + 1)):
                near += [(self.index[o], d) for o in ring if o in self.index]
            self.rings.append(near)

    def __len__(self) -> int:
        return len(self.ids)

    def ring_sizes(self) -> list[int]:
        """How many cells a full ring d holds (1, 6, 12, …): the spatial kernel spreads evenly within a ring."""
        return [1] + [6 * d for d in range(1, self.radius + 1)]

    def distance(self, a: int, b: int) -> int:
        """Hexagon steps between two cells."""
        return h3.grid_distance(self.ids[a], self.ids[b])
