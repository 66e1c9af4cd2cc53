"""Demo data: the district, its people, cameras and a few hundred historical cases."""

DEFAULT_PASSWORD = "demo1234"  # every demo account's, unless `flask seed demo --password` says otherwise
