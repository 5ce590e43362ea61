"""``guardrail pipeline {policy}``: a policy's guardrail pipeline
(``PipelineExecutor.execute_steps``), over a ``guardrail {name}`` span per step
(``PipelineExecutor._run_step``)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, Final

from opentelemetry.trace import Span, SpanKind
from opentelemetry.util.genai.utils import fq_exception_type

from opentelemetry_instrumentation_litellm import attributes as attrs
from opentelemetry_instrumentation_litellm.proxy import _guardrails as guardrails
from opentelemetry_instrumentation_litellm.proxy._guardrails import (
    BLOCKED,
    FAILED,
    PASSED,
    Opened,
    Texts,
)
from opentelemetry_instrumentation_litellm.proxy._settings import Settings
from opentelemetry_instrumentation_litellm.proxy._texts import request_texts, response_texts

_logger = logging.getLogger(__name__)

PIPELINE_BLOCK: Final = "fastapi.exceptions.HTTPException"
"""``error.type`` of a pipeline block with no guardrail exception to re-raise: litellm
raises an ``HTTPException`` naming the policy."""
PIPELINE_MODIFY_RESPONSE: Final = "litellm.exceptions.ModifyResponseException"
"""``error.type`` of a pipeline that ends in ``modify_response``: litellm answers with the
pipeline's message instead of the model's, by raising this."""
_STEP_OUTCOMES: Final = {"pass": PASSED, "fail": BLOCKED, "error": FAILED}


def _end_failed(span: Span, settings: Settings, outcome: str, error: Any, fallback: str) -> None:
    span.set_attribute(attrs.LITELLM_GUARDRAIL_OUTCOME, outcome)
    if isinstance(error, BaseException):
        guardrails.fail(span, fq_exception_type(error), str(error), settings)
    else:
        guardrails.fail(span, fallback, None, settings)


def _step_texts(mode: Any, data: Any) -> Texts:
    """What a pipeline step checks: the request, or (post-call) the response in ``data``."""
    if mode == "post_call":
        response = data.get("response")
        return lambda changed: response_texts((changed or {}).get("response", response))
    return lambda changed: request_texts({**data, **(changed or {})})


def _piped_texts(mode: Any, data: Any) -> tuple[tuple[str, ...] | None, Texts | None]:
    """What a ``PipelineExecutor`` function's guardrails check before they run, and how to
    read it after."""
    if not isinstance(data, Mapping):
        return None, None
    texts = _step_texts(mode, data)
    return texts(None), texts


def _open_piped(
    start: Callable[[Settings, Any, Any, Any], Span], settings: Settings, args: Any, kwargs: Any
) -> Opened:
    """A ``PipelineExecutor`` function ``(..., mode, data, ...)``: the span
    ``start(settings, mode, args, kwargs)`` starts, and what its guardrails check."""
    mode = guardrails.argument(args, kwargs, 1, "mode")
    span = start(settings, mode, args, kwargs)
    before = texts = None
    try:
        before, texts = _piped_texts(mode, guardrails.argument(args, kwargs, 2, "data"))
    except Exception:
        _logger.debug("litellm instrumentation: no guardrail text", exc_info=True)
    return span, before, texts


def _end_step(
    span: Span, settings: Settings, result: Any, before: Any, texts: Texts | None
) -> None:
    outcome, changed, _detail, error = result
    outcome = _STEP_OUTCOMES.get(outcome, FAILED)
    if outcome == PASSED:
        guardrails.end_guardrail(span, settings, before, texts, result=changed)
    else:
        _end_failed(span, settings, outcome, error, "_OTHER")
        span.end()


def _start_step(settings: Settings, mode: Any, args: Any, kwargs: Any) -> Span:
    """``PipelineExecutor._run_step(step, mode, data, ...)``: one step's guardrail, in a
    ``guardrail {name}`` span; the step returns its outcome instead of raising."""
    step = guardrails.argument(args, kwargs, 0, "step")
    return guardrails.start_named(settings, getattr(step, "guardrail", None), mode)


def _end_pipeline(
    span: Span, settings: Settings, result: Any, before: Any, texts: Texts | None
) -> None:
    action = getattr(result, "terminal_action", None)
    if action == "allow":
        guardrails.end_guardrail(
            span, settings, before, texts, result=getattr(result, "modified_data", None)
        )
        return
    fallback = PIPELINE_MODIFY_RESPONSE if action == "modify_response" else PIPELINE_BLOCK
    _end_failed(span, settings, BLOCKED, getattr(result, "original_exception", None), fallback)
    span.end()


def _start_pipeline(settings: Settings, mode: Any, args: Any, kwargs: Any) -> Span:
    """``PipelineExecutor.execute_steps(steps, mode, data, user_api_key_dict, call_type,
    policy_name, ...)``: one policy's pipeline, in a ``guardrail pipeline {policy}`` span over
    its steps' spans. Its outcome is the pipeline's decision: ``allow`` is ``passed``, or
    ``modified`` when it hands on a changed text; ``block`` and ``modify_response`` are
    ``blocked``."""
    policy = str(guardrails.argument(args, kwargs, 5, "policy_name"))
    return settings.tracer.start_span(
        f"guardrail pipeline {policy}",
        kind=SpanKind.INTERNAL,
        attributes={
            attrs.LITELLM_GUARDRAIL_POLICY: policy,
            attrs.LITELLM_GUARDRAIL_MODE: str(getattr(mode, "value", mode)),
        },
    )


pipeline_step = guardrails.spanned(partial(_open_piped, _start_step), _end_step)
pipeline = guardrails.spanned(partial(_open_piped, _start_pipeline), _end_pipeline)
