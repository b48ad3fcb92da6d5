"""``ConsoleRoute``: the console's errors are pages, not the API's JSON.

Every console route uses this route class. It catches what a handler (or one of its
dependencies) raises and answers in the caller's terms:

    NotSignedIn          page: 303 to the sign-in page (``next`` = this page);
                         htmx: 401 + ``HX-Redirect``; JSON (uploads): 401
    CsrfRejected         403 page (or JSON) saying the form did not come from the console
    ReelflowError        its API status (``reelflow.web.errors.status_for``) as a page
    HttpError            its status (a bad Range, ...)
    bad path or query    400

and adds the security headers of ``pages.SECURITY_HEADERS`` (a route's own headers win:
object downloads set a stricter policy).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from reelflow.console.deps import CsrfRejected, NotSignedIn, console_state
from reelflow.console.pages import SECURITY_HEADERS
from reelflow.errors import ReelflowError
from reelflow.web.errors import HttpError, field_name, status_for

logger = logging.getLogger(__name__)

SIGN_IN = "/console/sign-in"
_TITLES = {
    400: "That did not work",
    401: "Please sign in",
    403: "Not allowed",
    404: "Not found",
    409: "Not possible right now",
    413: "Too large",
    416: "Outside the file",
    503: "Storage is unavailable",
}


def wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request", "").lower() == "true"


def safe_next(target: str) -> str:
    """``target`` if it is a console path (never another site), else the dashboard."""
    if target.startswith("/console") and not target.startswith("//") and "\\" not in target:
        return target
    return "/console"


def sign_in_url(request: Request) -> str:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"{SIGN_IN}?next={quote(safe_next(here), safe='')}"


def error_page(request: Request, status: int, code: str, message: str) -> Response:
    if wants_json(request):
        return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)
    pages = console_state(request).pages
    context = {
        "status": status,
        "title": _TITLES.get(status, "Something went wrong"),
        "code": code,
        "message": message,
    }
    return pages.render(request, "error.html", context, status=status)


def not_signed_in(request: Request) -> Response:
    if is_htmx(request):
        return Response(status_code=401, headers={"HX-Redirect": sign_in_url(request)})
    if wants_json(request) or request.method not in ("GET", "HEAD", "POST"):
        return error_page(
            request, 401, "AuthFailure.NoSession", "sign in to the console first (no session)"
        )
    return RedirectResponse(sign_in_url(request), status_code=303)


def csrf_rejected(request: Request) -> Response:
    return error_page(
        request,
        403,
        "AuthFailure.CsrfToken",
        "this form did not come from this console session (its security token is missing "
        "or out of date). Go back, reload the page and try again.",
    )


def _invalid_request(request: Request, exc: RequestValidationError) -> Response:
    parts = [f"{field_name(e.get('loc', ())) or 'request'}: {e.get('msg')}" for e in exc.errors()]
    return error_page(request, 400, "InvalidParameterValue", "; ".join(parts))


class ConsoleRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                response = await handler(request)
            except NotSignedIn:
                response = not_signed_in(request)
            except CsrfRejected:
                response = csrf_rejected(request)
            except ReelflowError as exc:
                status = status_for(exc)
                if status >= 500:
                    logger.error("%s %s failed: %s", request.method, request.url.path, exc)
                response = error_page(request, status, exc.code, exc.message)
            except HttpError as exc:
                response = error_page(request, exc.status, exc.code, exc.message)
                response.headers.update(exc.headers)
            except RequestValidationError as exc:
                response = _invalid_request(request, exc)
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            return response

        return guarded
