"""Retrievals: ``litellm.search`` (web search providers) and ``litellm.vector_stores.search``.

util-genai's retrieval invocation makes the span (``retrieval {data source}``): the
vector store's id is the data source; the search provider (``tavily``, ``perplexity``,
...) or the vector store's provider is ``gen_ai.provider.name``. The query and the
retrieved documents' ids and scores are content: recorded only with content capture on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.util.genai.types import RetrievalDocument

from opentelemetry_instrumentation_litellm._messages import ContentPolicy
from opentelemetry_instrumentation_litellm._providers import provider_name, server_of
from opentelemetry_instrumentation_litellm._request import apply_litellm_request
from opentelemetry_instrumentation_litellm._response import apply_hidden_params, field


def start(handler: Any, _name: str, call: Mapping[str, Any]) -> Any:
    """A retrieval invocation. The provider: ``search_provider`` (web search), else
    ``custom_llm_provider``, else OpenAI for a vector store (litellm's default there; in
    litellm 1.74 ``litellm.search`` is the vector store search)."""
    source = call.get("vector_store_id")
    if not isinstance(source, str) or not source:
        source = None
    provider = call.get("search_provider") or call.get("custom_llm_provider")
    if not isinstance(provider, str):
        provider = "openai" if source else None
    address, port = server_of(call.get("api_base"))
    return handler.retrieval(
        data_source_id=source,
        provider=provider_name(provider),
        server_address=address,
        server_port=port,
    )


def apply_request(invocation: Any, call: Mapping[str, Any]) -> None:
    """How many results were asked for: ``max_results`` (search), ``max_num_results``
    (vector stores)."""
    top_k = call.get("max_results") or call.get("max_num_results")
    if isinstance(top_k, int) and not isinstance(top_k, bool):
        invocation.top_k = top_k
    apply_litellm_request(invocation, call)


def apply_response(invocation: Any, response: Any) -> None:
    """litellm's facts (cost, call id); the documents themselves are content."""
    apply_hidden_params(invocation, response)


def input_content(invocation: Any, call: Mapping[str, Any], policy: ContentPolicy) -> None:
    query = call.get("query")
    if isinstance(query, (list, tuple)):
        query = "\n".join(q for q in query if isinstance(q, str))
    if isinstance(query, str) and query:
        invocation.query_text = policy.text(query)


def _score(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def output_content(invocation: Any, response: Any, policy: ContentPolicy) -> None:
    """Each result's id (a vector store's ``file_id``, a web result's ``url``) and score."""
    results = field(response, "data")
    if results is None:
        results = field(response, "results")
    documents = []
    for result in results or ():
        document_id = field(result, "file_id") or field(result, "url")
        documents.append(
            RetrievalDocument(
                id=document_id if isinstance(document_id, str) else None,
                score=_score(field(result, "score")),
            )
        )
    invocation.documents = documents
