"""HTTP plumbing shared by every front door (REST, the action API, the console).

    errors.py        every exception -> one JSON error shape; the catch-all 500
    jsonbody.py      JSON bodies parsed within bounds (``BoundedJsonRoute``)
    limits.py        request body size limits (413 before any route runs)
    streams.py       upload bodies streamed into a bucket, downloads out of one
    socket_body.py   upload bodies read straight from the socket (uvicorn protocol)
    ranges.py        ``Range`` headers
    objects.py       object uploads and downloads as the REST API and the console serve them
    convertors.py    path convertors (object keys)
    docs.py          ``/docs`` and ``/redoc`` that work offline

Nothing here knows a door: the doors import this package, never the other way round.
"""
