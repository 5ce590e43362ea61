"""Operator-chosen request metadata: ``litellm.metadata.<key>``, only for listed keys."""

from __future__ import annotations

import json
import logging

import litellm
import pytest

from conftest import SECRET
from opentelemetry_instrumentation_litellm._metadata import (
    OTEL_INSTRUMENTATION_LITELLM_METADATA_KEYS,
)

HELLO = [{"role": "user", "content": "Say hello"}]

METADATA = {
    "project": "search",
    "run": 7,
    "sampled": True,
    "labels": ["a", "b"],
    "unlisted": "never recorded",
    "nested": {"a": 1},
    "mixed": ["a", 1],
    "looks_like_a_key": SECRET,
    "bearer": f"Bearer {SECRET}",
}


def metadata_attributes(span) -> dict:
    return {k: v for k, v in span.attributes.items() if k.startswith("litellm.metadata.")}


def call(**kwargs):
    return litellm.completion(
        model="openai/gpt-4o-mini", messages=HELLO, mock_response="hi", **kwargs
    )


@pytest.mark.parametrize("holder", ["metadata", "litellm_metadata"])
def test_listed_keys_are_recorded_and_nothing_else(instrument, telemetry, holder):
    instrument(
        metadata_keys=[
            "project",
            "run",
            "sampled",
            "labels",
            "missing",
            "nested",
            "mixed",
            "looks_like_a_key",
            "bearer",
        ]
    )
    call(**{holder: METADATA})
    assert metadata_attributes(telemetry.only("chat ")) == {
        "litellm.metadata.project": "search",
        "litellm.metadata.run": 7,
        "litellm.metadata.sampled": True,
        "litellm.metadata.labels": ("a", "b"),
    }
    assert SECRET not in json.dumps(dict(telemetry.only("chat ").attributes), default=str)


def test_nothing_is_recorded_by_default(instrument, telemetry):
    instrument()
    call(metadata=METADATA)
    assert metadata_attributes(telemetry.only("chat ")) == {}


def test_the_environment_names_the_keys(instrument, telemetry, monkeypatch):
    monkeypatch.setenv(OTEL_INSTRUMENTATION_LITELLM_METADATA_KEYS, " project , run,,")
    instrument()
    call(metadata=METADATA)
    assert metadata_attributes(telemetry.only("chat ")) == {
        "litellm.metadata.project": "search",
        "litellm.metadata.run": 7,
    }


def test_credential_named_keys_are_refused_with_a_warning(instrument, telemetry, caplog):
    caplog.set_level(logging.WARNING, logger="opentelemetry_instrumentation_litellm")
    instrument(metadata_keys="api_key,user_api_key,auth_token,password,project")
    call(
        metadata={
            "api_key": "plain",
            "user_api_key": "plain",
            "auth_token": "plain",
            "password": "plain",
            "project": "search",
        }
    )
    assert metadata_attributes(telemetry.only("chat ")) == {"litellm.metadata.project": "search"}
    refused = [r.getMessage() for r in caplog.records if "suggests a credential" in r.getMessage()]
    assert len(refused) == 4


def test_proxy_key_and_team_metadata_fill_in_behind_the_request(instrument, telemetry):
    """Behind the Proxy: the request's own metadata wins, then the key's, then the team's."""
    instrument(metadata_keys="project,cost_center,department,absent")
    call(
        metadata={
            "project": "from-request",
            "user_api_key_metadata": {"project": "from-key", "cost_center": "cc-42"},
            "user_api_key_team_metadata": {"cost_center": "cc-team", "department": "search"},
        }
    )
    assert metadata_attributes(telemetry.only("chat ")) == {
        "litellm.metadata.project": "from-request",
        "litellm.metadata.cost_center": "cc-42",
        "litellm.metadata.department": "search",
    }


def test_long_values_are_cut(instrument, telemetry):
    instrument(metadata_keys=["note"])
    call(metadata={"note": "x" * 5000})
    assert len(telemetry.only("chat ").attributes["litellm.metadata.note"]) == 1024


async def test_async_and_streamed_calls_record_it_too(instrument, telemetry):
    instrument(metadata_keys=["project"])
    await litellm.acompletion(
        model="openai/gpt-4o-mini", messages=HELLO, mock_response="hi", metadata=METADATA
    )
    stream = litellm.completion(
        model="openai/gpt-4o-mini",
        messages=HELLO,
        mock_response="hi",
        stream=True,
        metadata=METADATA,
    )
    for _ in stream:
        pass
    spans = telemetry.finished("chat ")
    assert len(spans) == 2
    assert [s.attributes["litellm.metadata.project"] for s in spans] == ["search", "search"]
