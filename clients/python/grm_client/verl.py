"""verl adapters: ``compute_score`` for the batch reward manager and a per-item form (no import of verl needed).

verl's batch reward manager (``reward_model.reward_manager=batch``) calls
``compute_score(data_sources=..., solution_strs=..., ground_truths=..., extra_infos=..., **reward_kwargs)`` once per
batch; the naive manager calls ``compute_score(data_source=..., solution_str=..., ground_truth=..., extra_info=...)``
per response. A GRM judges a prompt's responses together, and verl does not pass the prompt itself: it is read from
``extra_info["question"]``, else ``extra_info["prompt"]`` (a string or a list of chat messages), which the dataset's
preprocessing must put there (verl's gsm8k preprocessing already stores ``question``). The ground truth, when
present, is sent as the job's ``reference`` (``use_ground_truth=False`` turns that off).

For the config-file style (``custom_reward_function.path=<this file>``, ``custom_reward_function.name=compute_score``)
the module-level ``compute_score`` builds a client lazily with ``GrmClient.from_env()`` and works with both managers
(it looks at the keyword names verl passes). With your own client, use ``make_compute_score(client, ...)`` (batch) or
``make_compute_score_item(client, ...)`` (per item).
"""
from __future__ import annotations

import atexit
import threading
from typing import Any, Callable, Sequence

from ._groups import chat_text, check_on_error, check_options, score_grouped
from .client import GrmClient

PROMPT_KEYS = ("question", "prompt")


def _prompt_of(extra_info: Any, index: int) -> str:
    if isinstance(extra_info, dict):
        for key in PROMPT_KEYS:
            if extra_info.get(key) not in (None, ""):
                return chat_text(extra_info[key])
    raise ValueError(f"item {index}: the GRM needs the prompt, and extra_info has neither 'question' nor 'prompt' "
                     f"(put it there in the dataset's extra_info)")


def make_compute_score(
    client: GrmClient,
    *,
    on_error: str | float = "raise",
    return_dict: bool = False,
    use_ground_truth: bool = True,
    max_in_flight: int = 64,
    content_key: bool = False,
    **options: Any,
) -> Callable[..., list[Any]]:
    """verl's batch form ``(data_sources, solution_strs, ground_truths, extra_infos, **kwargs) -> list``.

    Returns floats, or with return_dict dicts ``{"score", "grm_failed", "grm_best", "grm_samples_used",
    "grm_samples_valid"}`` (all numbers, so verl can log them as reward extra info). on_error: "raise" (default)
    raises GrmJobError for a rejected/failed job; a number is the score its responses get (with ``grm_failed`` 1).
    content_key: derive each job's requestId from its texts and options (a re-sent job gets the stored result).
    options: submit options for every job (k_max, temperature, timeout, ...)."""
    check_on_error(on_error)
    check_options(options)

    def compute_score_batch(data_sources: Sequence[Any], solution_strs: Sequence[str], ground_truths: Sequence[Any],
                            extra_infos: Sequence[Any] | None = None, **_kwargs: Any) -> list[Any]:
        n = len(solution_strs)
        infos = list(extra_infos) if extra_infos is not None else [None] * n
        queries = [_prompt_of(infos[i], i) for i in range(n)]
        references = [None if g is None else str(g) for g in ground_truths] if use_ground_truth else None
        scored = score_grouped(client, queries, list(solution_strs), references, on_error=on_error,
                               max_in_flight=max_in_flight, options=options, keyed=content_key)
        if not return_dict:
            return [reward for reward, _ in scored]
        out, seen = [], {}
        for i, (reward, result) in enumerate(scored):
            position = seen[queries[i]] = seen.get(queries[i], -1) + 1  # index of this response in its job
            out.append({"score": reward, "grm_failed": 0 if result.ok else 1,
                        "grm_best": 1 if result.ok and result.best == position else 0,
                        "grm_samples_used": result.samples_used, "grm_samples_valid": result.samples_valid})
        return out

    return compute_score_batch


def make_compute_score_item(client: GrmClient, *, on_error: str | float = "raise", use_ground_truth: bool = True,
                            content_key: bool = False, **options: Any) -> Callable[..., float]:
    """verl's per-item form ``(data_source, solution_str, ground_truth, extra_info=None) -> float``: one job with
    one response (a GRM does better with the whole group: prefer the batch form)."""
    batch = make_compute_score(client, on_error=on_error, use_ground_truth=use_ground_truth, max_in_flight=1,
                               content_key=content_key, **options)

    def compute_score_item(data_source: Any, solution_str: str, ground_truth: Any = None, extra_info: Any = None,
                           **_kwargs: Any) -> float:
        return batch([data_source], [solution_str], [ground_truth], [extra_info])[0]

    return compute_score_item


_client: GrmClient | None = None
_client_lock = threading.Lock()


def _env_client() -> GrmClient:
    global _client
    with _client_lock:
        if _client is None:
            _client = GrmClient.from_env()
            atexit.register(_client.close)
        return _client


def compute_score(*args: Any, **kwargs: Any) -> Any:
    """For verl's ``custom_reward_function.name=compute_score``: a client from GRM_RABBITMQ__* (made on first use)
    and on_error "raise". Batch form when called with ``data_sources=``/``solution_strs=`` (or lists), per-item
    form when called with ``data_source=``/``solution_str=``."""
    batch = "solution_strs" in kwargs or "data_sources" in kwargs or (args and isinstance(args[0], (list, tuple)))
    if batch:
        return make_compute_score(_env_client())(*args, **kwargs)
    return make_compute_score_item(_env_client())(*args, **kwargs)


def compute_score_item(data_source: Any, solution_str: str, ground_truth: Any = None, extra_info: Any = None,
                       **kwargs: Any) -> float:
    """Per-item form with the module's from_env client."""
    return make_compute_score_item(_env_client())(data_source, solution_str, ground_truth, extra_info, **kwargs)
