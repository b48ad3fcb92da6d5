"""Cluster execution over Celery (Redis or RabbitMQ broker).

    serve (scheduler)                     broker                 reelflow worker (xN)
    claim(dispatch lease) -> CeleryExecutor.submit -> run_job(payload) -> JobWorker.run
                                                                          adopt the claim
                                                                          heartbeat, progress
                                                                          result -> engine (DB)

- ``app``: the Celery application both sides build from ``Settings`` (late ack, prefetch 1,
  visibility timeout longer than any job).
- ``executor``: ``CeleryExecutor``, the scheduler's side: sends each job's JSON payload.
- ``worker``: ``JobWorker``, the worker's side: runs the payload with the same ``JobRunner``
  as the local pool and reports to the engine over the shared database.

Needs the ``cluster`` extra (``pip install 'reelflow[cluster]'``); see
``docs/adr/0005-multi-scheduler.md`` for why workers write to the database.
"""
