"""Attribute names this instrumentation records beyond the GenAI semantic conventions.

Facts only litellm knows live under the ``litellm.*`` namespace; everything the
OpenTelemetry semantic conventions define (``gen_ai.*``, ``user.id``, ``server.*``,
``error.type``) is recorded under the library's constant (``opentelemetry.semconv``, through
:mod:`opentelemetry_instrumentation_litellm._upstream` while those are incubating) and is
not repeated here.
"""

from typing import Final

LITELLM_RESPONSE_COST: Final = "litellm.response.cost"
"""Cost of the call in USD as litellm computed it from its model price map (double)."""

LITELLM_CACHE_HIT: Final = "litellm.cache.hit"
"""True when litellm served the response from its own cache (boolean)."""

LITELLM_CALL_ID: Final = "litellm.call_id"
"""litellm's id of the call (``litellm_call_id``), the key of litellm's own logs (string)."""

LITELLM_REQUEST_TAGS: Final = "litellm.request.tags"
"""Tags passed in ``metadata["tags"]`` or ``litellm_metadata["tags"]`` (string[])."""

LITELLM_PROVIDER: Final = "litellm.provider"
"""litellm's own name of the provider (``custom_llm_provider``), e.g. ``bedrock`` (string)."""

LITELLM_MODEL_ID: Final = "litellm.model_id"
"""Id of the Router deployment that served the call, when litellm reports one (string)."""

LITELLM_RESPONSE_TOOL_NAMES: Final = "litellm.response.tool_names"
"""Names of the tools the model asked to call, in order (string[]). Recorded with content
capture off too: a tool's name is not message content."""

LITELLM_ROUTER_MODEL_GROUP: Final = "litellm.router.model_group"
"""Router span: the model group the caller asked the Router for (string)."""

LITELLM_ROUTER_FINAL_MODEL_GROUP: Final = "litellm.router.final_model_group"
"""Router span: the model group of the last attempt, a fallback group if one was used (string)."""

LITELLM_ROUTER_DEPLOYMENT: Final = "litellm.router.deployment"
"""Router span: litellm model of the deployment tried last, e.g. ``openai/gpt-4o`` (string)."""

LITELLM_ROUTER_ATTEMPTS: Final = "litellm.router.attempts"
"""Router span: how many deployment calls the Router made (int)."""

LITELLM_ROUTER_RETRIES: Final = "litellm.router.retries"
"""Router span: attempts repeated within the same model group (int)."""

LITELLM_ROUTER_FALLBACKS: Final = "litellm.router.fallbacks"
"""Router span: how many times the Router switched to a fallback model group (int)."""

LITELLM_PROXY_KEY_ALIAS: Final = "litellm.proxy.key_alias"
"""LiteLLM Proxy: alias of the virtual key the request used (``user_api_key_alias``). Never
the key or its hash (string)."""

LITELLM_PROXY_TEAM_ID: Final = "litellm.proxy.team_id"
"""LiteLLM Proxy: id of the team the virtual key belongs to (``user_api_key_team_id``) (string)."""

LITELLM_PROXY_TEAM_ALIAS: Final = "litellm.proxy.team_alias"
"""LiteLLM Proxy: alias of that team (``user_api_key_team_alias``) (string)."""

LITELLM_PROXY_ORG_ID: Final = "litellm.proxy.org_id"
"""LiteLLM Proxy: id of the organization of the key (``user_api_key_org_id``) (string)."""

LITELLM_PROXY_ORG_ALIAS: Final = "litellm.proxy.org_alias"
"""LiteLLM Proxy: alias of that organization (``user_api_key_org_alias``) (string)."""

LITELLM_PROXY_USER_ID: Final = "litellm.proxy.user_id"
"""LiteLLM Proxy: the proxy user who owns the key (``user_api_key_user_id``), e.g.
``default_user_id`` for the master key. Not the end user: that is ``user.id`` (string)."""

LITELLM_METADATA_PREFIX: Final = "litellm.metadata."
"""``litellm.metadata.<key>``: a request metadata value whose key the operator listed in
``OTEL_INSTRUMENTATION_LITELLM_METADATA_KEYS`` / ``instrument(metadata_keys=...)`` (string,
number, boolean, or an array of one of them). Nothing else from metadata is recorded."""

LITELLM_PROXY_AUTH_DURATION: Final = "litellm.proxy.auth.duration"
"""LiteLLM Proxy server span: seconds the key check took (``proxy auth`` span instead with
``OTEL_INSTRUMENTATION_LITELLM_PROXY_PHASE_SPANS``) (double)."""

LITELLM_PROXY_PRE_CALL_DURATION: Final = "litellm.proxy.pre_call.duration"
"""LiteLLM Proxy server span: seconds the pre-call hooks took (limits, budgets, callbacks,
pre-call guardrails) (double)."""

LITELLM_PROXY_POST_CALL_DURATION: Final = "litellm.proxy.post_call.duration"
"""LiteLLM Proxy server span: seconds the post-call hooks took (double)."""

LITELLM_GUARDRAIL_NAME: Final = "litellm.guardrail.name"
"""LiteLLM Proxy guardrail span: the guardrail's ``guardrail_name`` from config.yaml (string)."""

LITELLM_GUARDRAIL_MODE: Final = "litellm.guardrail.mode"
"""LiteLLM Proxy guardrail span: when it ran, litellm's event hook: ``pre_call``,
``during_call`` or ``post_call`` (string)."""

LITELLM_GUARDRAIL_OUTCOME: Final = "litellm.guardrail.outcome"
"""LiteLLM Proxy guardrail span: ``passed`` (text unchanged), ``modified`` (the guardrail
rewrote the request's or response's text), ``blocked`` (it rejected the request; the span's
status is ERROR with ``error.type``) or ``error`` (it failed without blocking) (string)."""

LITELLM_GUARDRAIL_POLICY: Final = "litellm.guardrail.policy"
"""LiteLLM Proxy guardrail pipeline span: the name of the policy whose pipeline ran (string)."""

LITELLM_MCP_SERVER_NAME: Final = "litellm.mcp.server.name"
"""LiteLLM Proxy ``execute_tool`` span: the name of the MCP server (config.yaml
``mcp_servers``) the proxy called the tool on (string)."""

# --- gen_ai.operation.name values of ours ------------------------------------------------
# Calls the conventions name no operation for (their well-known values are chat,
# generate_content, text_completion, embeddings, retrieval, create_agent, invoke_agent,
# execute_tool, invoke_workflow). docs/attributes.md lists them.

OPERATION_RERANK: Final = "rerank"
"""``litellm.rerank``: documents ordered by relevance to a query."""

OPERATION_MODERATION: Final = "moderation"
"""``litellm.moderation``: a text classified against content policies."""

OPERATION_OCR: Final = "ocr"
"""``litellm.ocr``: a document's text read by a model."""
