"""Wiring: the one place that builds things and puts the pieces together.

server.py    ``build_server(settings)``: every service of ``reelflow serve``
worker.py    ``build_worker(settings)``: what a Celery worker (``reelflow worker``) needs
process.py   ``build_process(settings, storages)``: one task in this process (``reelflow process``)
http.py      ``create_app(services)``: the server's FastAPI application from the three front doors
The role builders compose the steps of ``lifecycle``, ``database``, ``catalog``, ``jobs`` and
``notifications``; each step builds its part once and registers its ``close``.
"""
