"""Option types shared by the command groups."""

from __future__ import annotations

import click


class SeedList(click.ParamType):
    """"101-110" or "1,5,9" → a list of seeds."""

    name = "seeds"

    def convert(self, value, param, ctx):
        """Parse a range or a comma list of whole numbers."""
        if isinstance(value, list):
            return value
        try:
            if "-" in value:
                lo, hi = (int(x) for x in value.split("-", 1))
                seeds = list(range(lo, hi + 1))
            else:
                seeds = [int(x) for x in value.split(",") if x.strip()]
        except ValueError:
            seeds = []
        if not seeds:
            self.fail(f"not a seed range or list: {value}", param, ctx)
        return seeds


SEEDS = SeedList()


def seeds_text(seeds: list[int]) -> str:
    """[201, …, 210] → "201–210"; otherwise the list."""
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}–{seeds[-1]}"
    return ",".join(map(str, seeds))
