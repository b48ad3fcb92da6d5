"""Triggers: what turns a new object in a bucket into workflow tasks.

Every trigger (object API upload hook, folder watcher, S3 event receiver, S3 poller, the
in-memory stub) reports :class:`~reelflow.triggers.base.ObjectNotice` values to one
:class:`~reelflow.triggers.dispatch.NoticeDispatcher`, which applies the two rules: never the same
object version twice for a workflow, never an object reelflow wrote itself.
"""
