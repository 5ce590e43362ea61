"""The public litellm functions this instrumentation does not wrap, each with why.

``tests/test_coverage_discovery.py`` lists every public function on ``litellm`` and its
public interface packages (``litellm.google_genai``, ``litellm.interactions``,
``litellm.vector_stores``, ...) and fails for any that is neither wrapped by
``instrument()`` (``_entrypoints``) nor named here. A litellm release that adds a public
function therefore fails that test until someone decides: wrap it (a model call), or say
here why not.

Keys are either a name as users reach it (``litellm.create_batch``,
``litellm.interactions.get``) or ``<module>.*``: every function *defined* in that litellm
module or below it (helper modules, whose functions reach no provider on their own). A
name key wins over a module key; a wrapped function is never listed by name.

Nothing here runs at import; the mapping is data.
"""

from __future__ import annotations

from typing import Final


def _group(reason: str, *names: str) -> dict[str, str]:
    return dict.fromkeys(names, reason)


def _with_async(*names: str) -> tuple[str, ...]:
    """``litellm.create_batch`` -> it and ``litellm.acreate_batch``."""
    result = []
    for name in names:
        module, _, function = name.rpartition(".")
        result += [name, f"{module}.a{function}"]
    return tuple(result)


_MANAGEMENT = (
    "manages stored objects at the provider (create, list, get, update, delete, cancel, "
    "upload): no model runs, no tokens are used"
)

NOT_TRACED: Final[dict[str, str]] = {
    # --- helper modules: nothing defined there reaches a provider on its own ------------
    "litellm.utils.*": "helpers: parameters, tokenizers, validation, model info, mocks",
    "litellm.litellm_core_utils.*": (
        "litellm's internals (prompt templates, provider lookup, parameter mapping); its "
        "fallback helpers call litellm.completion/acompletion, which are traced"
    ),
    "litellm.types.*": "response types and their helpers",
    "litellm.llms.*": (
        "provider implementations that litellm's public functions call (exposed on litellm "
        "by star imports); a call through litellm's public function is traced"
    ),
    "litellm.integrations.*": "logging and observability callbacks, prompt managers",
    "litellm.caching.*": "cache configuration",
    "litellm.secret_managers.*": "reads secrets and credentials: never traced",
    "litellm.cost_calculator.*": "pricing of a finished call, computed locally",
    "litellm.router_utils.*": "Router internals (the Router is traced by its own wrappers)",
    "litellm.router_strategy.*": "Router internals (the Router is traced by its own wrappers)",
    "litellm.repositories.*": "the LiteLLM Proxy's database access",
    "litellm.models.*": "the LiteLLM Proxy's database models",
    "litellm.rust_bridge.*": (
        "switches and loaders for litellm's native implementation of completion and OCR, "
        "which run inside the traced litellm.completion / litellm.ocr"
    ),
    "litellm.compression.*": "shortens a message list locally before a call",
    "litellm.anthropic_beta_headers_manager.*": "Anthropic beta header configuration",
    "litellm.anthropic_interface.exceptions.*": "Anthropic-shaped error mapping",
    "litellm.proxy.*": "the LiteLLM Proxy server: traced through its hook (proxy.py)",
    "litellm.proxy_auth.*": "credentials for reaching a LiteLLM Proxy: never traced",
    "litellm.experimental_mcp_client.*": (
        "MCP helpers: list an MCP server's tools, call one (a tool call, not a model call)"
    ),
    "litellm.a2a_protocol.*": (
        "agent-to-agent (A2A) client helpers: create a client, fetch an agent card (no "
        "message to an agent); sending one (send_message, asend_message, "
        "asend_message_streaming) is traced as invoke_agent"
    ),
    "litellm.rag.ingestion.*": "RAG ingestion helpers: parse and split files locally",
    "litellm.mcp_client.*": (
        "MCP helpers (litellm >= 1.109): list an MCP server's tools, call one (a tool call)"
    ),
    "litellm.redis.*": "Redis-backed stores for caches and Router cooldowns",
    "litellm.harness.*": (
        "agent harnesses (litellm >= 1.110: Claude Code, Codex, ... run in a sandbox): an agent "
        "invocation (invoke_agent), not traced yet; the model calls a harness routes through "
        "a LiteLLM gateway are traced there"
    ),
    "litellm.timeout.*": "a timeout decorator",
    "litellm._internal_context.*": "litellm's request-context helpers",
    "litellm._logging.*": "litellm's logger helpers",
    "litellm._uuid.*": "id generation",
    # --- defined in litellm/__init__.py: configuration --------------------------------
    **_group(
        "configuration of litellm itself, no provider call",
        "litellm.add_known_models",
        "litellm.identify",
        "litellm.is_bedrock_pricing_only_model",
        "litellm.is_openai_finetune_model",
        "litellm.set_global_bitbucket_config",
        "litellm.set_global_gitlab_config",
    ),
    # --- not a model call: stored objects at the provider -----------------------------
    **_group(
        _MANAGEMENT,
        *_with_async(
            "litellm.create_batch",
            "litellm.retrieve_batch",
            "litellm.list_batches",
            "litellm.cancel_batch",
            "litellm.create_file",
            "litellm.file_retrieve",
            "litellm.file_delete",
            "litellm.file_list",
            "litellm.file_content",
            "litellm.create_fine_tuning_job",
            "litellm.retrieve_fine_tuning_job",
            "litellm.list_fine_tuning_jobs",
            "litellm.cancel_fine_tuning_job",
            "litellm.create_container",
            "litellm.retrieve_container",
            "litellm.list_containers",
            "litellm.delete_container",
            "litellm.list_container_files",
            "litellm.upload_container_file",
            "litellm.containers.retrieve_container_file",
            "litellm.containers.retrieve_container_file_content",
            "litellm.containers.delete_container_file",
            "litellm.containers.list_container_files",
            "litellm.containers.upload_container_file",
            "litellm.create_skill",
            "litellm.get_skill",
            "litellm.list_skills",
            "litellm.delete_skill",
            "litellm.create_eval",
            "litellm.get_eval",
            "litellm.list_evals",
            "litellm.delete_eval",
            "litellm.cancel_eval",
            "litellm.evals.update_eval",
            "litellm.create_run",
            "litellm.get_run",
            "litellm.list_runs",
            "litellm.delete_run",
            "litellm.cancel_run",
            "litellm.vector_store_file_create",
            "litellm.vector_store_file_retrieve",
            "litellm.vector_store_file_list",
            "litellm.vector_store_file_update",
            "litellm.vector_store_file_delete",
            "litellm.vector_store_file_content",
            "litellm.vector_stores.create",
            "litellm.create_agent",
            "litellm.get_agent",
            "litellm.list_agents",
            "litellm.list_agent_versions",
            "litellm.delete_agent",
            "litellm.interactions.get",
            "litellm.interactions.delete",
            "litellm.interactions.cancel",
            "litellm.create_assistants",
            "litellm.get_assistants",
            "litellm.delete_assistant",
            "litellm.create_thread",
            "litellm.get_thread",
            "litellm.get_messages",
            "litellm.get_responses",
            "litellm.delete_responses",
            "litellm.cancel_responses",
            "litellm.list_input_items",
            "litellm.video_status",
            "litellm.video_content",
            "litellm.video_list",
            "litellm.video_create_character",
            "litellm.video_get_character",
        ),
        "litellm.add_message",
        "litellm.a_add_message",
        "litellm.file_content_streaming",
        "litellm.get_optional_params_add_message",
    ),
    # --- model calls made through a traced function --------------------------------
    **_group(
        "each call it makes is traced: it calls litellm.completion per message list "
        "(vLLM batches run in-process through vLLM, not traced)",
        "litellm.batch_completion",
        "litellm.batch_completion_models",
        "litellm.batch_completion_models_all_responses",
    ),
    **_group(
        "a health probe: the completion, embedding, ... it sends to check a deployment "
        "goes through litellm's public function and is traced as such",
        "litellm.ahealth_check",
        "litellm.ahealth_check_wildcard_models",
        "litellm.realtime_health_check",
    ),
    **_group(
        "a client-side tool loop: each completion it makes is traced (it calls "
        "litellm.completion / acompletion per round); the tools it runs are the caller's",
        *_with_async("litellm.run_tool_loop"),
    ),
    **_group(
        "RAG: the vector store search and the completion it makes are traced "
        "(litellm.vector_stores.asearch: retrieval, litellm.acompletion: chat); ingestion "
        "uploads and embeds files through the vector store APIs",
        *_with_async("litellm.query", "litellm.ingest"),
        "litellm.rag.rag_ingest",
        "litellm.rag.arag_ingest",
    ),
    # --- not traced, on purpose ------------------------------------------------------
    **_group(
        "token counting: asks a provider's count endpoint, no generation",
        "litellm.acount_tokens",
        "litellm.admission_input_tokens",
        "litellm.admitted_prompt_token_counter",
    ),
    **_group(
        "realtime sessions: sets up a session or a client secret; the model then runs over "
        "a connection litellm does not see turn by turn",
        "litellm.acreate_realtime_client_secret",
        "litellm.acreate_realtime_transcription_session",
        "litellm.arealtime_calls",
        "litellm.acreate_realtime_translation_client_secret",
        "litellm.arealtime_translation_calls",
    ),
    **_group(
        "litellm >= 1.110: a provider's structured decision / extraction API, called over "
        "HTTP; not traced yet (no fake provider for it here, and no release this package is "
        "tested on wraps it)",
        *_with_async("litellm.decisions", "litellm.extraction", "litellm.systemone"),
    ),
    **_group(
        "raw HTTP forwarded to a provider endpoint: litellm does not know what kind of call "
        "it is, nor its usage",
        "litellm.llm_passthrough_route",
        "litellm.allm_passthrough_route",
    ),
    **_group(
        "code-execution sandboxes: run code, not a model",
        "litellm.acreate_sandbox",
        "litellm.adelete_sandbox",
        "litellm.arun_code",
        "litellm.acode_interpreter_tool",
    ),
    **_group(
        "OpenAI Assistants runs (an API OpenAI deprecated): an agent run (invoke_agent) "
        "polled to its end, not traced yet",
        *_with_async("litellm.run_thread", "litellm.run_thread_stream"),
    ),
    **_group(
        "canned answers for tests: no provider is called",
        "litellm.mock_completion",
        "litellm.mock_responses_api_response",
    ),
    **_group(
        "helpers in litellm.main: build a response from chunks, log, check parameters",
        "litellm.print_verbose",
        "litellm.stream_chunk_builder",
        "litellm.stream_chunk_builder_text_completion",
        "litellm.responses_api_bridge_check",
        "litellm.get_mime_type",
        "litellm.convert_file_document_to_url_document",
        "litellm.get_optional_rerank_params",
        "litellm.get_optional_params_image_gen",
        "litellm.bridge_reasoning_effort",
        "litellm.str_keyed_mapping",
        "litellm.may_name_litellm_mcp_gateway",
    ),
}
"""Public litellm function (or ``<module>.*``) -> why it is not wrapped."""
