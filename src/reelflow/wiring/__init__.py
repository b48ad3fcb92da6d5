"""Wiring: the one place that builds things and puts the pieces together.

http.py    ``create_app(runtime)``: the FastAPI application from the three front doors
"""
