"""Each private litellm seam of ``_upstream.py`` is still on the call path of the installed
litellm (run on every column of the CI matrix), not merely importable: a real call goes
through it and the span shows what it gave. Where a column's litellm predates a seam
(``matrix.py``), the test checks the other half of the contract instead: the feature is reported
lost by exactly one warning naming it and the litellm version, never silently.
"""

from __future__ import annotations

import importlib.metadata
import logging

import litellm
import pytest

from matrix import PROVIDER_RESPONSE_MODEL_SINCE, litellm_version
from opentelemetry_instrumentation_litellm import _upstream

MESSAGES = [{"role": "user", "content": "Tell me a story"}]
LITELLM = litellm_version()


@pytest.fixture
def lost(caplog):
    """The seam warnings logged during the test (each seam warns once per process)."""
    _upstream._lost.clear()
    caplog.set_level(logging.WARNING, logger=_upstream.__name__)
    yield lambda: [r for r in caplog.records if r.name == _upstream.__name__]
    _upstream._lost.clear()


def http_stream(llm, **kwargs):
    return litellm.completion(
        model="openai/gpt-4o-mini",
        messages=MESSAGES,
        api_base=llm.base_url,
        api_key="k",
        stream=True,
        max_retries=0,
        **kwargs,
    )


def test_hidden_params_give_the_span_its_litellm_facts(instrumented, llm, lost):
    response = litellm.completion(
        model="openai/gpt-4o-mini", messages=MESSAGES, api_base=llm.base_url, api_key="k"
    )
    hidden = response._hidden_params
    attributes = instrumented.only().attributes
    assert attributes["litellm.call_id"] == hidden["litellm_call_id"]
    assert attributes["litellm.provider"] == hidden["custom_llm_provider"] == "openai"
    assert attributes["litellm.response.cost"] == hidden["response_cost"] > 0
    assert lost() == []


def test_the_provider_response_model_reaches_a_streams_span(instrumented, llm, lost):
    stream = http_stream(llm, stream_options={"include_usage": True})
    list(stream)
    span = instrumented.only()
    if LITELLM >= PROVIDER_RESPONSE_MODEL_SINCE:
        assert getattr(stream, _upstream.PROVIDER_RESPONSE_MODEL) == "gpt-4o-mini-2024-07-18"
        assert span.attributes["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18"
        assert lost() == []
        return
    assert span.attributes["gen_ai.response.model"] == "gpt-4o-mini"
    (warning,) = lost()
    assert warning.levelno == logging.WARNING
    message = warning.getMessage()
    assert importlib.metadata.version("litellm") in message
    assert _upstream.PROVIDER_RESPONSE_MODEL in message and "gen_ai.response.model" in message
    list(http_stream(llm))  # a second stream: no second warning
    assert len(lost()) == 1


class _Spy:
    """Delegates to the provider stream litellm reads from; counts reads and closes."""

    def __init__(self, inner):
        self.inner, self.reads, self.closes = inner, 0, 0

    def __iter__(self):
        return self

    def __next__(self):
        self.reads += 1
        return next(self.inner)

    def close(self):
        self.closes += 1
        getattr(self.inner, "close", lambda: None)()


def test_the_provider_stream_is_what_litellm_reads_and_what_an_early_close_closes(
    instrumented, llm, lost
):
    stream = http_stream(llm)
    spy = _Spy(_upstream.provider_stream(stream))
    setattr(stream, _upstream.PROVIDER_STREAM, spy)
    next(iter(stream))
    assert spy.reads >= 1, f"litellm no longer reads {_upstream.PROVIDER_STREAM}"
    stream.close()  # the traced stream's close(): litellm's own has none in every release
    assert spy.closes == 1 or callable(getattr(stream.__wrapped__, "close", None))
    assert instrumented.only().attributes["gen_ai.response.finish_reasons"] == ("error",)
    assert [r for r in lost() if _upstream.PROVIDER_STREAM in r.getMessage()] == []


def test_a_lost_seam_warns_once_naming_the_feature_and_the_version(lost):
    class CustomStreamWrapper:  # a litellm stream without the seams, as a future release
        pass

    stream = CustomStreamWrapper()
    for _ in range(3):
        assert _upstream.provider_stream(stream) is None
        assert _upstream.provider_response_model(stream) is None
        assert _upstream.hidden_params(stream) is None
    messages = [r.getMessage() for r in lost()]
    assert len(messages) == 3, messages
    for message, feature in zip(
        messages, ("connection", "gen_ai.response.model", "litellm.call_id"), strict=True
    ):
        assert message.startswith(f"litellm {importlib.metadata.version('litellm')} has no ")
        assert feature in message


def test_the_key_check_the_proxy_calls_is_the_wrapped_one(instrument):
    """``user_api_key_auth``, the proxy's FastAPI dependency, looks its key check up by name
    when it runs: that name, whichever of ``PROXY_AUTH_BUILDERS`` it is on this column (1.110
    calls ``user_api_key_auth_builder``; its old name is an alias no longer called), is the
    one wrapped. (A real request's key-check timing: tests/test_proxy.py.)"""
    import importlib
    import types

    from wrapt import FunctionWrapper

    from opentelemetry_instrumentation_litellm.proxy import _seams

    auth = importlib.import_module(_upstream.PROXY_AUTH_MODULE)
    looked_up = auth.user_api_key_auth.__code__.co_names
    called = [name for name in _upstream.PROXY_AUTH_BUILDERS if name in looked_up]
    assert len(called) == 1, (called, _upstream.litellm_version())
    instrument()
    _seams.wrap_proxy(types.ModuleType("proxy_server"))
    assert isinstance(vars(auth)[called[0]], FunctionWrapper)
    aliases = [n for n in _upstream.PROXY_AUTH_BUILDERS if n in vars(auth)]
    assert len({id(vars(auth)[n]) for n in aliases}) == 1  # one wrapper under every name
