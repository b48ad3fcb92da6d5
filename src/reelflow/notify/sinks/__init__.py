"""Where events are sent: one ``Sink`` per target (contract in ``base.py``), built by
``registry.build_sink``; ``memory.py`` is the fake for tests."""
