"""Outbound connections made on behalf of an account: the egress policy (``egress.py``), an
httpx transport that enforces it (``http.py``) and plain sockets through it (``sockets.py``)."""
