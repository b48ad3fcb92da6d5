"""The HTTP API's two doors: ``rest/`` (the native REST API under ``/v1``, ``/healthz`` and
``/metrics``) and ``mps/`` (the compatible action API, ``POST /``).

Both translate requests onto the services below and answer through ``reelflow.web``'s
shared plumbing; ``reelflow.wiring.http.create_app(runtime)`` assembles them, with the
console, into one application. Nothing here runs at import time.
"""
