"""WSGI entry point: `gunicorn 'wsgi:web()'` for web servers; `app` for the Flask CLI (FLASK_APP=wsgi)."""

from app import create_app

app = create_app()


def web():
    """The app as a web server runs it: the photo suggestion's detector starts loading in the background at once,
    so the first citizen's photo check does not wait for it (CLI commands and workers never load it)."""
    from app.services import suggest

    with app.app_context():
        suggest.warm_up()
    return app
