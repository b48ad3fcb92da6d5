"""Who is asking, and whether a form came from the console: the console's dependencies.

``UserDep`` refuses a request without a live session (``NotSignedIn``, which the console's
route class turns into a redirect to the sign-in page, or a 401 for htmx and JSON callers).
``FormDep`` reads the form and checks its ``csrf_token`` field against the session
(``CsrfRejected``: 403); ``CsrfHeaderDep`` does the same with the ``X-CSRF-Token`` header,
for the uploads that the page's script sends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from reelflow.catalog.accounts import Account
from reelflow.console.forms import FormData, read_form
from reelflow.console.session import CSRF_FIELD, CSRF_HEADER, ConsoleSession
from reelflow.web.services import AccountsDep

if TYPE_CHECKING:
    from reelflow.console.state import ConsoleState


class NotSignedIn(Exception):
    """No session, an expired or forged one, or its API key was revoked."""


class CsrfRejected(Exception):
    """A state-changing request without the session's CSRF token."""


@dataclass(frozen=True)
class SignedIn:
    account: Account
    session: ConsoleSession


def console_state(request: Request) -> ConsoleState:
    state: ConsoleState = request.app.state.console
    return state


def signed_in(request: Request, accounts: AccountsDep) -> SignedIn:
    """The session's account, checked against the live API keys on every request."""
    session = console_state(request).sessions.read(request)
    if session is None or not session.key_id:
        raise NotSignedIn()
    found = accounts.secret_for(session.key_id)
    if found is None:
        raise NotSignedIn()
    return SignedIn(account=found[0], session=session)


UserDep = Annotated[SignedIn, Depends(signed_in)]


async def checked_form(request: Request, user: UserDep) -> FormData:
    form = await read_form(request)
    if not user.session.csrf_matches(form.get(CSRF_FIELD) or None):
        raise CsrfRejected()
    return form


FormDep = Annotated[FormData, Depends(checked_form)]


async def checked_header(request: Request, user: UserDep) -> SignedIn:
    if not user.session.csrf_matches(request.headers.get(CSRF_HEADER)):
        raise CsrfRejected()
    return user


CsrfHeaderDep = Annotated[SignedIn, Depends(checked_header)]
