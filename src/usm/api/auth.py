"""Who is calling: a person logged in through the browser (session, with CSRF) or a script
sending `Authorization: Bearer usm_…`."""

from ninja.security import HttpBearer, SessionAuth

from usm.api.tokens import user_for_token


class BearerToken(HttpBearer):
    def authenticate(self, request, token):
        user = user_for_token(token)
        if user is not None:
            request.user = user
        return user


AUTH = [BearerToken(), SessionAuth(csrf=True)]
