"""Flask-WTF forms for signing in and registering. Each form carries a CSRF token."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length, Regexp

USERNAME_MIN = 3
USERNAME_MAX = 64
PASSWORD_MIN = 8
# Long enough for any passphrase, short enough that hashing it stays cheap.
PASSWORD_MAX = 256
USERNAME_PATTERN = r"^[A-Za-z0-9_.-]+$"


def strip_text(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class LoginForm(FlaskForm):
    username = StringField(
        "Username",
        filters=[strip_text],
        validators=[DataRequired(message="Enter your username.")],
    )
    password = PasswordField(
        "Password", validators=[DataRequired(message="Enter your password.")]
    )
    remember = BooleanField("Keep me signed in")
    submit = SubmitField("Sign in")


class RegisterForm(FlaskForm):
    username = StringField(
        "Username",
        filters=[strip_text],
        validators=[
            DataRequired(message="Choose a username."),
            Length(
                min=USERNAME_MIN,
                max=USERNAME_MAX,
                message=(
                    f"A username has {USERNAME_MIN} to {USERNAME_MAX} characters."
                ),
            ),
            Regexp(
                USERNAME_PATTERN,
                message=(
                    "A username may contain only letters, digits, dots, dashes "
                    "and underscores."
                ),
            ),
        ],
    )
    password = PasswordField(
        "Password",
        validators=[
            DataRequired(message="Choose a password."),
            Length(
                min=PASSWORD_MIN,
                max=PASSWORD_MAX,
                message=(
                    f"A password has at least {PASSWORD_MIN} characters "
                    f"(at most {PASSWORD_MAX})."
                ),
            ),
        ],
    )
    confirm = PasswordField(
        "Repeat the password",
        validators=[
            DataRequired(message="Repeat the password."),
            EqualTo("password", message="The two passwords do not match."),
        ],
    )
    submit = SubmitField("Create account")
