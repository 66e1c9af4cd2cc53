"""Demo data: the district, its people, cameras and a few hundred historical cases."""
