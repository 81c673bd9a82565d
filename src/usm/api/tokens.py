"""Issuing and checking API tokens (the only writer of ApiToken)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from django.utils import timezone

from usm.api.models import ApiToken

PREFIX = "usm_"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user, name: str, expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    """A new token for `user`. The plain token is returned once and never stored."""
    plain = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name, prefix=plain[:12], digest=_digest(plain), expires_at=expires_at
    )
    return token, plain


def user_for_token(plain: str):
    """The active user a token belongs to, or None."""
    if not plain.startswith(PREFIX):
        return None
    token = (
        ApiToken.objects.select_related("user").filter(digest=_digest(plain), revoked=False).first()
    )
    now = timezone.now()
    if token is None or not token.user.is_active or (token.expires_at and token.expires_at <= now):
        return None
    # Recording every use would write on every read; once a minute is enough to see activity.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def revoke_token(token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk).update(revoked=True)
