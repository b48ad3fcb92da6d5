"""The compatible API's shapes (MPS): the one package that renders them.

``render``: tasks (``WorkflowTask``, ``DescribeTaskDetail``, result.json) and event bodies;
``outputs``: sub-task output items from the typed results of ``reelflow.specs.outputs``;
``media``: a probe as ``MediaMetaData``; ``notify``: ``TaskNotifyConfig`` <-> ``NotifyTarget``;
``workflows``: ``WorkflowInfo``; ``regions``: the ``Region`` beside each ``Bucket``; ``trim``:
answers trimmed to the members the official SDK knows.
Pure: it imports only ``reelflow.specs`` and ``reelflow.errors``.
"""
