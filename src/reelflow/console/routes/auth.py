"""Signing in with an API key's secret, and signing out.

The sign-in form is CSRF-protected like every other: its token belongs to the anonymous
session that showing the form starts. A good key replaces that session with a signed-in
one (a new token), naming the key's ``secret_id``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import RedirectResponse, Response

from reelflow.console.deps import CsrfRejected, FormDep, console_state
from reelflow.console.forms import FormData, read_form
from reelflow.console.routing import SIGN_IN, ConsoleRoute, safe_next
from reelflow.console.session import CSRF_FIELD, ConsoleSession
from reelflow.web.services import AccountsDep

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)


async def anonymous_form(request: Request) -> tuple[ConsoleSession, FormData]:
    """The sign-in form and the session that showed it (``CsrfRejected`` if they differ)."""
    session = console_state(request).sessions.read(request)
    form = await read_form(request)
    if session is None or not session.csrf_matches(form.get(CSRF_FIELD) or None):
        raise CsrfRejected()
    return session, form


@router.get("/sign-in")
def sign_in_page(
    request: Request, accounts: AccountsDep, next: Annotated[str, Query(max_length=2048)] = ""
) -> Response:
    state = console_state(request)
    session = state.sessions.read(request)
    if session is not None and session.key_id and accounts.secret_for(session.key_id):
        return RedirectResponse(safe_next(next), status_code=303)
    fresh = session is None or bool(session.key_id)
    if fresh:
        session = state.sessions.new()
    assert session is not None
    response = state.pages.render(
        request, "sign_in.html", {"next": safe_next(next), "error": ""}, session=session
    )
    if fresh:
        state.sessions.write(request, response, session)
    return response


@router.post("/sign-in")
def sign_in(
    request: Request,
    submitted: Annotated[tuple[ConsoleSession, FormData], Depends(anonymous_form)],
    accounts: AccountsDep,
) -> Response:
    session, form = submitted
    state = console_state(request)
    secret = form.get("secret_key")
    target = safe_next(form.get("next"))
    found = accounts.authenticate_key(secret) if secret else None
    if found is None:
        error = (
            "Enter the secret key of an API key."
            if not secret
            else "No active API key has this secret (it may be mistyped or revoked)."
        )
        context = {"next": target, "error": error}
        return state.pages.render(request, "sign_in.html", context, session=session, status=401)
    response = RedirectResponse(target, status_code=303)
    _account, key_id = found
    state.sessions.write(request, response, state.sessions.new(key_id))
    return response


@router.post("/sign-out")
def sign_out(request: Request, form: FormDep) -> Response:
    del form  # only its CSRF check matters
    response = RedirectResponse(SIGN_IN, status_code=303)
    console_state(request).sessions.clear(request, response)
    return response
