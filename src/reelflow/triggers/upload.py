"""The object API's upload hook: an object stored through ``PUT /v1/buckets/.../objects``
fires its workflows at once (``app.state.on_upload``)."""

from __future__ import annotations

from reelflow.triggers.base import ObjectNotice, Origin
from reelflow.triggers.dispatch import Fired, NoticeDispatcher


class UploadTrigger:
    """Callable as ``(account_id, bucket, key)``, the object API's hook signature.

    The uploader's account does not choose the workflows: those bound to the bucket fire,
    and only the bucket's owner can bind workflows to it.
    """

    def __init__(self, dispatcher: NoticeDispatcher) -> None:
        self._dispatcher = dispatcher

    def __call__(self, account_id: int, bucket: str, key: str) -> list[Fired]:
        return self._dispatcher.fire(ObjectNotice(bucket, key, origin=Origin.UPLOAD))
