"""The typed result of one scoring job and the errors the client raises."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Result:
    """One worker result (docs/wire.md, "Result"). ``raw`` is the JSON object exactly as the worker sent it."""

    request_id: str
    status: str
    rewards: list[float] = field(default_factory=list)
    best: int = -1
    samples_used: int = 0
    samples_valid: int = 0
    code: str | None = None
    message: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        """True when the job was scored (``status == "scored"``)."""
        return self.status == "scored"

    @property
    def metadata(self) -> Any:
        return self.raw.get("metadata")

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> "Result":
        error = raw.get("error") or {}
        return cls(
            request_id=str(raw.get("requestId", "")),
            status=str(raw.get("status", "")),
            rewards=[float(r) for r in raw.get("rewards") or []],
            best=int(raw.get("best", -1)),
            samples_used=int(raw.get("samplesUsed", 0)),
            samples_valid=int(raw.get("samplesValid", 0)),
            code=error.get("code"),
            message=error.get("message"),
            raw=raw,
        )


class GrmError(Exception):
    """Base class of the client's own errors."""


class GrmJobError(GrmError):
    """A job ended ``rejected`` or ``failed``; ``.result`` holds the worker's answer."""

    def __init__(self, result: Result):
        super().__init__(f"request {result.request_id} {result.status}: {result.code}: {result.message}")
        self.result = result

    @property
    def request_id(self) -> str:
        return self.result.request_id

    @property
    def code(self) -> str | None:
        return self.result.code


class GrmPublishError(GrmError):
    """The broker did not take a request: no queue to route it to (is a worker running?), or a nack."""


class GrmClientClosed(GrmError):
    """The client was closed while the request was pending, or a request was submitted after close()."""
