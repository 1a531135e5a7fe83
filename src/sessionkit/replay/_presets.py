"""Named layouts for the logs of well-known tools (docs/replay.md, "Presets").

Each preset says where its tool keeps each field, and which participant kind each of the
tool's span or run types becomes. Where a specification has no participant of sessionkit's
kinds, the choice and its reason are in docs/replay.md.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from sessionkit.replay._layout import LogLayout

__all__ = ["PRESETS", "Preset"]


@attrs.frozen
class Preset:
    """A named layout: what ``--preset NAME`` and ``LogLayout.preset(NAME)`` give.

    ``assume_tz`` is the zone of the tool's zoneless times (``"UTC"``), when it writes them;
    ``spec`` names the specification the layout follows.
    """

    name: str
    layout: LogLayout
    spec: str
    assume_tz: str | None = None


_LLM, _AGENT, _TOOL, _MEMORY = "llm", "agent", "tool", "memory"

PRESETS: Mapping[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset("aiceberg", LogLayout(), "the Aiceberg event API (sessionkit's default layout)"),
        Preset(
            "otel",
            LogLayout(
                follow_ups=False,
                event_id="spanId",
                parent_id="parentSpanId",
                time=("startTimeUnixNano",),
                session_id="attributes.gen_ai.conversation.id,attributes.session.id",
                user_id="attributes.user.id,attributes.enduser.id",
                event_type="",
                initiator_type="attributes.gen_ai.operation.name",
                initiator_name="attributes.gen_ai.agent.name,attributes.gen_ai.tool.name,"
                "attributes.gen_ai.request.model,name",
                input="attributes.gen_ai.input.messages",
                output="attributes.gen_ai.output.messages",
                metadata="attributes",
                scope=(),
                kinds={
                    "chat": _LLM,
                    "text_completion": _LLM,
                    "generate_content": _LLM,
                    "embeddings": _LLM,
                    "invoke_agent": _AGENT,
                    "create_agent": _AGENT,
                    "execute_tool": _TOOL,
                },
            ),
            "OpenTelemetry semantic conventions for generative AI spans (v1.37), in OTLP JSON",
        ),
        Preset(
            "openinference",
            LogLayout(
                follow_ups=False,
                event_id="spanId",
                parent_id="parentSpanId",
                time=("startTimeUnixNano",),
                session_id="attributes.session.id",
                user_id="attributes.user.id",
                event_type="",
                initiator_type="attributes.openinference.span.kind",
                initiator_name="attributes.llm.model_name,attributes.tool.name,name",
                input="attributes.input.value",
                output="attributes.output.value",
                metadata="attributes",
                scope=(),
                kinds={
                    "llm": _LLM,
                    "embedding": _LLM,
                    "reranker": _LLM,
                    "agent": _AGENT,
                    "chain": _AGENT,
                    "tool": _TOOL,
                    "guardrail": _TOOL,
                    "evaluator": _TOOL,
                    "retriever": _MEMORY,
                },
            ),
            "OpenInference semantic conventions (span kinds of openinference-semantic-"
            "conventions 0.1), in OTLP JSON",
        ),
        Preset(
            "langfuse",
            LogLayout(
                follow_ups=False,
                event_id="id",
                parent_id="parentObservationId",
                time=("startTime",),
                session_id="sessionId,trace.sessionId",
                user_id="userId,trace.userId",
                event_type="",
                initiator_type="type",
                initiator_name="model,name",
                scope=("projectId",),
                kinds={
                    "generation": _LLM,
                    "embedding": _LLM,
                    "agent": _AGENT,
                    "span": _AGENT,
                    "chain": _AGENT,
                    "event": _AGENT,
                    "tool": _TOOL,
                    "guardrail": _TOOL,
                    "evaluator": _TOOL,
                    "retriever": _MEMORY,
                },
            ),
            "Langfuse public API observations (v2), as its exports give them",
        ),
        Preset(
            "langsmith",
            LogLayout(
                follow_ups=False,
                event_id="id",
                parent_id="parent_run_id",
                time=("start_time",),
                session_id="extra.metadata.session_id,extra.metadata.thread_id,"
                "extra.metadata.conversation_id",
                user_id="extra.metadata.user_id",
                event_type="",
                initiator_type="run_type",
                initiator_name="name",
                input="inputs",
                output="outputs",
                metadata="extra.metadata",
                scope=("session_id",),
                kinds={
                    "llm": _LLM,
                    "embedding": _LLM,
                    "chain": _AGENT,
                    "prompt": _AGENT,
                    "parser": _AGENT,
                    "tool": _TOOL,
                    "retriever": _MEMORY,
                },
            ),
            "LangSmith runs (the Run schema of its REST API and exports)",
            assume_tz="UTC",
        ),
    )
}
