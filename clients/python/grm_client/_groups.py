"""Shared by the trainer adapters: one GRM job per distinct prompt, rewards mapped back to input positions."""
from __future__ import annotations

import json
import math
from typing import Any, Sequence

from .client import GrmClient
from .result import GrmJobError, Result


def check_on_error(on_error: Any) -> None:
    if on_error == "raise":
        return
    if isinstance(on_error, bool) or not isinstance(on_error, (int, float)) or math.isnan(on_error):
        raise ValueError('on_error must be "raise" or a number (the reward a failed or rejected job gives)')


def check_options(options: dict[str, Any]) -> None:
    for name in ("key", "request_id"):
        if name in options:
            raise TypeError(f"{name} would give every job the same requestId; use content_key=True for keyed jobs")


def content_key(job: dict[str, Any], options: dict[str, Any]) -> str:
    """A key from everything that makes the job: the same texts and options give the same requestId."""
    wire = {k: v for k, v in options.items() if k not in ("timeout", "raise_on_error")}
    return "content:" + json.dumps([job, wire], sort_keys=True, ensure_ascii=False, default=str)


def content_text(content: Any) -> str:
    """A message's content: a string, or a list of parts whose text parts are joined (multimodal chat format)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)
    return str(content)


def chat_text(value: Any) -> str:
    """Plain text of a prompt or completion: a string as is; a list of {"role", "content"} messages as the content
    of a single message, else one "Role: content" paragraph per message."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "content" in value:
        return content_text(value["content"])
    if isinstance(value, (list, tuple)):
        messages = [m for m in value if isinstance(m, dict)]
        if len(messages) != len(value):
            raise TypeError(f"expected a string or a list of {{'role', 'content'}} messages, got {value!r:.80}")
        if len(messages) == 1:
            return content_text(messages[0].get("content"))
        return "\n\n".join(f"{str(m.get('role', '')).capitalize()}: {content_text(m.get('content'))}" for m in messages)
    raise TypeError(f"expected a string or a list of {{'role', 'content'}} messages, got {type(value).__name__}")


def score_grouped(
    client: GrmClient,
    queries: Sequence[str],
    responses: Sequence[str],
    references: Sequence[str | None] | None,
    *,
    on_error: Any,
    max_in_flight: int,
    options: dict[str, Any],
    keyed: bool = False,
) -> list[tuple[float, Result]]:
    """Groups (query, response) pairs by query (first-seen order, responses in input order), scores one job per
    group and returns (reward, result) per input position. keyed: each job's requestId is derived from its texts and
    options (content_key), so sending the same job again gets the worker's stored result. A rejected/failed job raises GrmJobError when on_error
    is "raise", else each of its responses gets ``float(on_error)``."""
    if len(queries) != len(responses):
        raise ValueError(f"{len(queries)} prompts but {len(responses)} responses")
    groups: dict[str, list[int]] = {}
    for i, query in enumerate(queries):
        groups.setdefault(query, []).append(i)
    jobs = []
    for query, positions in groups.items():
        job: dict[str, Any] = {"query": query, "responses": [responses[i] for i in positions]}
        if references is not None:
            reference = next((references[i] for i in positions if references[i] not in (None, "")), None)
            if reference is not None:
                job["reference"] = str(reference)
        if keyed:
            job["key"] = content_key(job, options)
        jobs.append(job)
    results = client.score_many(jobs, max_in_flight=max_in_flight, **{**options, "raise_on_error": False})
    out: list[tuple[float, Result] | None] = [None] * len(queries)
    for positions, result in zip(groups.values(), results):
        if result.ok and len(result.rewards) == len(positions):
            for i, reward in zip(positions, result.rewards):
                out[i] = (float(reward), result)
        elif on_error == "raise":
            raise GrmJobError(result)
        else:
            for i in positions:
                out[i] = (float(on_error), result)
    return out  # type: ignore[return-value]
