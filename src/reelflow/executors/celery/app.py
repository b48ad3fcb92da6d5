"""The Celery application of a reelflow cluster, built from ``Settings`` on both sides.

Delivery guarantees come from the engine, not from Celery: a message is a claim (job id,
attempt, dispatcher) that a worker adopts at most once. Celery's settings make the common
case efficient and safe:

- late acknowledgement (``task_acks_late``): a message is acknowledged after its job ran,
  so a worker that dies mid-job leaves it to be delivered again;
- prefetch 1: a worker holds no more messages than it has free threads, so a waiting job is
  never stuck behind a long one on a busy worker;
- Redis ``visibility_timeout`` longer than the longest job (``job_timeout``), so Redis does
  not hand a running job's message to a second worker. A redelivery would be refused by
  the adoption check anyway, but it would cost the second worker a moment.
- running jobs are not cancelled when the broker connection drops: the engine owns the
  job, and its result goes to the database, not to the broker.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from reelflow.config import Settings
from reelflow.errors import ConfigError

RUN_JOB = "reelflow.run_job"
BROKER_SCHEMES = ("redis", "rediss", "amqp", "amqps", "pyamqp", "memory")
# Added to the longest job for Redis's visibility timeout.
VISIBILITY_MARGIN = 3600.0
# A producer or consumer waits this long for the broker before giving up on one try.
BROKER_SOCKET_TIMEOUT = 10.0


def visibility_timeout(settings: Settings) -> float:
    """Seconds Redis hides a delivered, unacknowledged message: any job's run plus margin."""
    return settings.job_timeout + settings.dispatch_timeout + VISIBILITY_MARGIN


def check_broker_url(url: str) -> str:
    """``url`` if it names a broker Celery can use here, else ``ConfigError``."""
    if not url:
        raise ConfigError(
            "REELFLOW_EXECUTOR=celery needs REELFLOW_BROKER_URL "
            "(redis://host:6379/0 or amqp://user:password@host:5672//)"
        )
    scheme = urlsplit(url).scheme
    if scheme not in BROKER_SCHEMES:
        raise ConfigError(
            f"REELFLOW_BROKER_URL: unsupported broker {scheme or url!r}; "
            f"valid schemes: {', '.join(BROKER_SCHEMES)}"
        )
    return url


def make_app(settings: Settings) -> Any:
    """A new ``celery.Celery`` for ``settings`` (not the process-wide current app)."""
    url = check_broker_url(settings.broker_url)
    try:
        from celery import Celery
    except ImportError as exc:
        raise ConfigError(
            f"REELFLOW_EXECUTOR=celery needs Celery: pip install 'reelflow[cluster]' ({exc})"
        ) from exc
    app = Celery("reelflow", broker=url, set_as_current=False)
    transport: dict[str, Any] = {"visibility_timeout": visibility_timeout(settings)}
    if urlsplit(url).scheme.startswith("redis"):
        transport |= {
            "socket_timeout": BROKER_SOCKET_TIMEOUT,
            "socket_connect_timeout": BROKER_SOCKET_TIMEOUT,
        }
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_default_queue=settings.celery_queue,
        task_create_missing_queues=True,
        broker_transport_options=transport,
        broker_connection_timeout=BROKER_SOCKET_TIMEOUT,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        worker_cancel_long_running_tasks_on_connection_loss=False,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        worker_enable_remote_control=False,
        worker_send_task_events=False,
        task_send_sent_event=False,
    )
    return app


def register_worker(app: Any, run: Callable[[dict[str, Any]], object]) -> None:
    """Make ``app`` run each ``reelflow.run_job`` message with ``run(payload_json)``."""

    def run_job(payload: dict[str, Any]) -> str:
        return str(run(payload))

    app.task(name=RUN_JOB, acks_late=True, ignore_result=True)(run_job)
