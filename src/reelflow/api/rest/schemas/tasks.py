"""``/v1/tasks``: the submission body (in) and the task document (out)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from reelflow.api.rest.schemas.common import MAX_ID, RequestModel, ResponseModel, json_integers
from reelflow.compat.render import workflow_task
from reelflow.engine.views import SubTaskView, TaskView
from reelflow.specs.notify import NotifyTarget
from reelflow.specs.requests import TaskSource
from reelflow.specs.states import SubTaskState, TaskState
from reelflow.specs.tasks import MediaProcessTask

# -- in ----------------------------------------------------------------------------------


class InputIn(RequestModel):
    """The source: a bucket object (``bucket`` + ``key``) or an http(s) ``url``."""

    bucket: Annotated[str, Field(max_length=255)] = ""
    key: Annotated[str, Field(max_length=1024)] = ""
    url: Annotated[str, Field(max_length=4096, pattern=r"^(https?://\S+)?$")] = ""

    @model_validator(mode="after")
    def _one_source(self) -> InputIn:
        if self.url and (self.bucket or self.key):
            raise ValueError("give either bucket and key, or url, not both")
        if not self.url and not (self.bucket and self.key):
            raise ValueError("give bucket and key, or an http(s) url")
        return self

    def to_source(self) -> TaskSource:
        if self.url:
            return TaskSource(type="url", url=self.url)
        return TaskSource(type="bucket", bucket=self.bucket, key=self.key)


class OutputIn(RequestModel):
    """Where results go: bucket (default: the input's, or the workflow's) and folder
    (default: the input's folder)."""

    bucket: Annotated[str, Field(max_length=255)] = ""
    dir: Annotated[str, Field(max_length=1024)] = ""


class TaskCreate(RequestModel):
    """The native ``ProcessMedia``: one source and either a workflow or an inline spec."""

    input: InputIn
    workflow_id: Annotated[int | None, Field(ge=1, le=MAX_ID)] = None
    media_process_task: MediaProcessTask | None = None
    output: OutputIn | None = None
    session_id: Annotated[str, Field(max_length=50)] = ""
    session_context: Annotated[str, Field(max_length=1000)] = ""
    priority: Annotated[int | None, Field(ge=-10, le=10)] = None
    notify: NotifyTarget | None = Field(
        default=None,
        description="Where the task's events go (default: the workflow's target, if any).",
    )
    quality: bool | None = Field(
        default=None,
        description="Score each video rendition against the source (VMAF, PSNR, SSIM; "
        "reported as `quality` on its sub-task); default: the workflow's choice, else false.",
    )

    _integers = json_integers("workflow_id", "priority")

    @model_validator(mode="after")
    def _one_spec(self) -> TaskCreate:
        if (self.workflow_id is None) == (self.media_process_task is None):
            raise ValueError("give exactly one of workflow_id and media_process_task")
        return self


# -- out ---------------------------------------------------------------------------------

TaskStatus = Literal["WAITING", "PROCESSING", "FINISH"]
SubTaskStatus = Literal["WAITING", "PROCESSING", "SUCCESS", "FAIL"]


class TaskCreated(ResponseModel):
    """The id of the task started; poll it with `GET /v1/tasks/{task_id}`."""

    task_id: str


class SubTaskOut(ResponseModel):
    """One sub-task of a task: its kind and template, its node `id` in the task graph and the
    `input` it reads (another sub-task's `id`; null: the task's source), status, progress,
    error, attempts, and `outputs` (the compatible API's result object, PascalCase, once it
    succeeded)."""

    index: int
    kind: str
    definition: int
    id: str | None = None
    input: str | None = None
    status: SubTaskStatus
    state: SubTaskState
    progress: float
    err_code: str
    message: str
    outputs: dict[str, Any] | None
    quality: dict[str, Any] | None = Field(
        default=None,
        description="A scored video rendition (the task asked for `quality`): `Model`, "
        "`Subsample`, `Vmaf` {`Mean`, `HarmonicMean`, `Min`, `P1`}, `Psnr` {`Mean`}, "
        "`Ssim` {`Mean`}, and `Series`, VMAF over time (at most 600 points).",
    )
    attempts: int
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, sub: SubTaskView) -> SubTaskOut:
        waiting = sub.state is SubTaskState.PENDING
        return cls(
            index=sub.index,
            kind=sub.kind.value,
            definition=sub.spec.definition,
            id=sub.spec.node_id,
            input=sub.spec.upstream_id,
            status="WAITING" if waiting else sub.api_status,
            state=sub.state,
            progress=round(sub.progress, 1),
            err_code=sub.err_code,
            message=sub.message,
            outputs=sub.output,
            quality=None if sub.quality is None else sub.quality.to_json(series=True),
            attempts=sub.attempts,
            started_at=sub.started_at,
            finished_at=sub.finished_at,
        )


class SourceOut(ResponseModel):
    """What a task reads: a bucket object (`bucket`, `key`) or a `url`."""

    type: str
    bucket: str
    key: str
    url: str


class TaskOut(ResponseModel):
    """A task as lists show it. ``state`` is the compatible API's status; ``phase`` is
    reelflow's own (queued, running, succeeded, failed, cancelled)."""

    id: str
    state: TaskStatus
    phase: TaskState
    progress: float
    priority: int
    workflow_id: int | None
    session_id: str
    session_context: str
    input: SourceOut
    err_code: str
    message: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime
    subtasks: list[SubTaskOut]

    @classmethod
    def fields_of(cls, task: TaskView) -> dict[str, Any]:
        subs = [SubTaskOut.of(sub) for sub in task.subtasks]
        progress = sum(s.progress for s in subs) / len(subs) if subs else 0.0
        source = task.source
        return {
            "id": task.id,
            "state": task.api_status,
            "phase": task.state,
            "progress": round(progress, 1),
            "priority": task.priority,
            "workflow_id": task.workflow_id,
            "session_id": task.session_id,
            "session_context": task.session_context,
            "input": SourceOut(
                type=source.type, bucket=source.bucket, key=source.key, url=source.url
            ),
            "err_code": task.err_code,
            "message": task.message,
            "created_at": task.created_at,
            "started_at": task.started_at,
            "finished_at": task.finished_at,
            "updated_at": task.updated_at,
            "subtasks": subs,
        }

    @classmethod
    def of(cls, task: TaskView) -> TaskOut:
        return cls(**cls.fields_of(task))


class TaskDocument(TaskOut):
    """One task in full: plus the source's ``metadata`` (the compatible API's
    ``MediaMetaData``, null until probed) and the whole ``workflow_task`` (its
    ``WorkflowTask``, as ``DescribeTaskDetail`` returns it)."""

    metadata: dict[str, Any] | None
    workflow_task: dict[str, Any]

    @classmethod
    def of(cls, task: TaskView) -> TaskDocument:
        mps = workflow_task(task)
        return cls(**cls.fields_of(task), metadata=mps["MetaData"], workflow_task=mps)


class TaskPage(ResponseModel):
    """Newest first; pass ``next_cursor`` as ``cursor`` for the next page (null: last)."""

    tasks: list[TaskOut]
    next_cursor: str | None


class TaskRetried(ResponseModel):
    """The task run again, and which of its sub-tasks were queued again."""

    task_id: str
    retried: list[int] = Field(description="Indices of the sub-tasks queued again.")
