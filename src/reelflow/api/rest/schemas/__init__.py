"""Request and response models of the REST API, one module per resource.

Request models (``...In``/``...Create``) reject unknown fields; response models
(``...Out``) are what the routes declare as ``response_model``.
"""
