"""A fresh bench district: its own database rebuilt with the real migrations, categories and the demo grids.

Shared by the benchmarks that need a running app on a database of their own (load.py, audit.py).
"""

from __future__ import annotations


def fresh_district(app, db_url: str, redis_url: str) -> list[tuple[int, object]]:
    """Drop and recreate `db_url`, empty `redis_url`, then migrate and load the district.

    Returns (grid id, a point inside the grid) for every grid, in id order.
    """
    import json

    import sqlalchemy as sa
    from redis import Redis

    url = sa.engine.make_url(db_url)
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()
    Redis.from_url(redis_url).flushdb()
    with app.app_context():
        from flask_migrate import upgrade
        from geoalchemy2.shape import to_shape

        from app.extensions import db
        from app.models import Grid
        from app.seed.district import GRIDS_FILE
        from app.services.catalog import load_categories
        from app.services.grids import import_grids

        upgrade()
        load_categories()
        import_grids(json.loads(GRIDS_FILE.read_text(encoding="utf-8")))
        db.session.commit()
        grids = db.session.scalars(sa.select(Grid).order_by(Grid.id))
        return [(g.id, to_shape(g.geom).representative_point()) for g in grids]
