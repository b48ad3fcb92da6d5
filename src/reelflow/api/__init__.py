"""The HTTP API: the native REST API under ``/v1``, ``/healthz`` and ``/metrics``.

``reelflow.api.app.create_app(runtime)`` builds the application; nothing here runs at
import time. Layout: ``routes/`` (one router per resource), ``schemas/`` (request and
response models, split by direction), ``deps.py`` (``Annotated`` dependencies),
``errors.py`` (every exception -> one JSON error shape).
"""
