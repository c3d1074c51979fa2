"""TRL adapter: a reward function for ``GRPOTrainer(reward_funcs=[...])`` (no import of trl needed).

GRPOTrainer calls each reward function as ``f(prompts=..., completions=..., completion_ids=..., **dataset_columns)``
with n completions per prompt; plain strings (standard format) or lists of ``{"role", "content"}`` messages
(conversational format). The function here sends one GRM job per distinct prompt with all its completions, so the
GRM judges a prompt's group together, and returns one float per completion in the input order.
"""
from __future__ import annotations

from typing import Any, Callable

from ._groups import chat_text, check_on_error, check_options, score_grouped
from .client import GrmClient


def reward_func(
    client: GrmClient,
    *,
    on_error: str | float = "raise",
    reference_column: str | None = None,
    name: str = "grm",
    max_in_flight: int = 64,
    content_key: bool = False,
    **options: Any,
) -> Callable[..., list[float]]:
    """A TRL reward function ``(prompts, completions, **kwargs) -> list[float]`` scored by GrmWorker.

    on_error: "raise" (default) raises GrmJobError for a rejected/failed job; a number is the reward each of that
    job's completions gets instead. Timeouts and connection errors always raise.
    reference_column: a dataset column TRL passes as a keyword (e.g. "solution"); its value for the prompt's first
    completion is sent as the job's ``reference``.
    name: the function's ``__name__``, which TRL logs rewards under (``rewards/<name>``).
    content_key: derive each job's requestId from its prompt, completions and options, so a restarted trainer that
    sends the same rollouts again gets the stored results (no second model run).
    options: submit options for every job (k_max, temperature, timeout, ...).
    """
    check_on_error(on_error)
    check_options(options)

    def grm_reward(prompts: list[Any], completions: list[Any], **kwargs: Any) -> list[float]:
        references = None
        if reference_column is not None:
            if reference_column not in kwargs:
                raise KeyError(f"reference_column {reference_column!r} is not among the columns TRL passed: "
                               f"{', '.join(sorted(kwargs))}")
            references = kwargs[reference_column]
        scored = score_grouped(client, [chat_text(p) for p in prompts], [chat_text(c) for c in completions],
                               references, on_error=on_error, max_in_flight=max_in_flight, options=options,
                               keyed=content_key)
        return [reward for reward, _ in scored]

    grm_reward.__name__ = grm_reward.__qualname__ = name
    return grm_reward
