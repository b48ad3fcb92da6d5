"""The native REST API: ``/v1/...``, ``/healthz`` and ``/metrics``.

Layout: ``routes/`` (one router per resource), ``schemas/`` (request and response models,
split by direction), ``deps.py`` (``Annotated`` dependencies), ``metrics.py`` (the
Prometheus registry of one app). Errors are rendered by ``reelflow.web.errors``.
"""
