"""Event notifications: a transactional outbox delivered at least once to sinks.

    engine transaction --(outbox.OutboxWriter)--> notify_events + notify_deliveries
    delivery_loop.DeliveryLoop --claim (lease)--> sinks.<kind>.send --> attempt recorded
        delivered | retried with backoff (backoff.py) | dead after the bound (replayable)

``body.py`` builds the event body (the compatible API's ``ParseNotification`` shape) and
renders it at send time; ``signing.py`` signs it; ``queues.py`` is the embedded message
queue; ``records.py`` reads events and deliveries for the API; ``mps.py`` converts the
compatible API's ``TaskNotifyConfig``.
"""
