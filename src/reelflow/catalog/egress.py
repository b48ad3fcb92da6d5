"""The egress policy at submission: a URL input or notification target whose host is
refused by its spelling alone (an IP literal in any numeric form, ``localhost``) is a
``SpecError`` naming the field, before anything is stored. Names are judged when the
connection is made (``reelflow.net``): no DNS lookup here.

    what                 field          code
    url input            source.url     InvalidParameterValue.Url
    notification target  notify.url     InvalidParameterValue.NotifyUrl
"""

from __future__ import annotations

from reelflow.errors import SpecError, UrlNotAllowed
from reelflow.net.egress import EgressPolicy
from reelflow.specs.notify import NotifyTarget
from reelflow.specs.requests import TaskRequest

URL_CODE = "InvalidParameterValue.Url"
NOTIFY_URL_CODE = "InvalidParameterValue.NotifyUrl"


def check_request(policy: EgressPolicy, request: TaskRequest) -> None:
    """``SpecError`` if the request's URL input or notification target is refused.

    The target of a stored workflow's task is left to delivery: it was checked when the
    workflow was saved, and a workflow saved before the policy refused it must still run
    its uploads (the delivery is then dead at once, saying why) rather than drop them."""
    if request.source.type == "url":
        _check(policy, request.source.url, "source.url", URL_CODE)
    if request.workflow_id is None:
        check_notify(policy, request.notify)


def check_notify(policy: EgressPolicy, target: NotifyTarget | None, field: str = "notify") -> None:
    """``SpecError`` (``<field>.url``) if ``target`` connects to a refused host; a Redis
    ``unix://`` socket is local and counts as loopback."""
    if target is None or target.type == "queue":
        return
    if target.url.startswith("unix:"):
        _check(policy, "redis://localhost/", f"{field}.url", NOTIFY_URL_CODE, shown="unix socket")
        return
    _check(policy, target.url, f"{field}.url", NOTIFY_URL_CODE)


def _check(policy: EgressPolicy, url: str, field: str, code: str, *, shown: str = "") -> None:
    try:
        policy.check_url(url)
    except UrlNotAllowed as exc:
        message = exc.message if not shown else f"{shown}: {exc.message}"
        raise SpecError(f"{field}: {message}", code=code, field=field) from None
    except ValueError as exc:
        raise SpecError(f"{field}: {exc}", code=code, field=field) from None
