"""Login and logout pages."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from app.auth import bp, home_endpoint, require_rate_limits
from app.extensions import db, limiter
from app.services.users import authenticate, end_session, start_session


class LoginForm(FlaskForm):
    """Username and password."""

    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])
    remember = BooleanField(_l("Remember me"))


def _safe_next(target: str | None) -> str | None:
    """Only same-site relative redirects after login."""
    if not target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc and target.startswith("/") else None


def _account_key() -> str:
    """Rate-limit key of the account being tried, whichever address the attempts come from."""
    return "login-account:" + (request.form.get("username") or "").strip().lower()[:64]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"], methods=["POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN_ACCOUNT"], methods=["POST"], key_func=_account_key,
               deduct_when=lambda response: response.status_code == 401)  # only failed passwords count
def login():
    """Show the form; on valid credentials start a session."""
    if current_user.is_authenticated:
        return redirect(url_for("web.index"))
    form = LoginForm()
    status = 200
    if request.method == "POST":
        require_rate_limits()
    if form.validate_on_submit():
        user = authenticate(form.username.data, form.password.data)
        if user is not None:
            start_session(user, remember=form.remember.data, user_agent=request.user_agent.string)
            db.session.commit()
            login_user(user, remember=form.remember.data)
            # Straight to the person's page: one round trip less on a slow phone network.
            return redirect(_safe_next(request.args.get("next")) or url_for(home_endpoint(user)))
        flash(_("Wrong username or password."), "error")
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """End the sign-in: its session and remember-me cookies are revoked on the server, not just forgotten."""
    end_session(current_user._get_current_object())
    db.session.commit()
    logout_user()
    return redirect(url_for("auth.login"))
