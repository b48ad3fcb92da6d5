"""A signed webhook: the event's JSON POSTed to the target URL.

Headers: ``Content-Type: application/json``, ``X-Reelflow-Event-Id`` and, when the target
has a ``secret``, ``X-Reelflow-Signature: t=<ts>,v1=<hmac>`` (see ``notify.signing``). Any
2xx answer delivers; anything else (3xx included: redirects are not followed, a signed
body must not be sent somewhere else), a timeout or a connection error is retried.
"""

from __future__ import annotations

import httpx

from reelflow.notify.signing import EVENT_ID_HEADER, SIGNATURE_HEADER, webhook_signature
from reelflow.notify.sinks.base import DeliveryOutcome, OutgoingEvent, Sink

USER_AGENT = "reelflow-notify/1"


class WebhookSink(Sink):
    """POSTs to ``url`` through ``client`` (shared by every webhook target: it is
    thread-safe and pools connections)."""

    def __init__(self, client: httpx.Client, url: str, secret: str, timeout: float) -> None:
        self._client = client
        self._url = url
        self._secret = secret
        self._timeout = timeout

    def send(self, event: OutgoingEvent) -> DeliveryOutcome:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            EVENT_ID_HEADER: event.event_id,
        }
        if self._secret:
            headers[SIGNATURE_HEADER] = webhook_signature(self._secret, event.sent_at, event.body)
        try:
            response = self._client.post(
                self._url, content=event.body, headers=headers, timeout=self._timeout
            )
        except httpx.TimeoutException as exc:
            return DeliveryOutcome.failed(f"timed out after {self._timeout:g} s: {exc!r}")
        except httpx.HTTPError as exc:
            return DeliveryOutcome.failed(f"{type(exc).__name__}: {exc}")
        if response.is_success:
            return DeliveryOutcome.delivered(response.status_code)
        text = response.text[:200].strip()
        return DeliveryOutcome.failed(
            f"HTTP {response.status_code} {response.reason_phrase}" + (f": {text}" if text else ""),
            status_code=response.status_code,
        )
