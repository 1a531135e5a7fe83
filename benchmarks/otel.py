"""Benchmark the span processor: what grouping adds to each span, over the SDK's own cost.

    python benchmarks/otel.py [--spans 200000] [--repeat 5]

Starts and ends ``--spans`` GenAI spans (an agent turn of three spans, users taking turns)
with the OpenTelemetry SDK and a no-op exporter, alternately without and with
``SessionSpanProcessor``, ``--repeat`` times each; prints the best and median microseconds per
span of each, and the difference: the processor's cost per span.
"""

from __future__ import annotations

import argparse
import statistics
import time

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

from sessionkit.otel import SessionSpanProcessor

SECOND = 1_000_000_000
T0 = 1_772_442_000 * SECOND


class Discard(SpanExporter):
    def export(self, spans: object) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def run(spans: int, grouped: bool) -> float:
    provider = TracerProvider()
    if grouped:
        provider.add_span_processor(SessionSpanProcessor())
    provider.add_span_processor(SimpleSpanProcessor(Discard()))
    tracer = provider.get_tracer("bench")
    agent = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "helper"}
    chat = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "m"}
    tool = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "t"}
    started = time.perf_counter()
    for n in range(spans // 3):
        at = T0 + n * SECOND
        user = {**agent, "user.id": f"user-{n % 500}"}
        with (
            tracer.start_as_current_span("agent", start_time=at, attributes=user),
            tracer.start_as_current_span("chat", start_time=at + 1, attributes=chat),
            tracer.start_as_current_span("tool", start_time=at + 2, attributes=tool),
        ):
            pass
    return (time.perf_counter() - started) / (spans // 3 * 3) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    sdk, grouped = [], []
    for _ in range(args.repeat):  # alternate: the machine's load hits both alike
        sdk.append(run(args.spans, False))
        grouped.append(run(args.spans, True))
    for name, times in (("SDK only", sdk), ("SDK + SessionSpanProcessor", grouped)):
        print(f"{name:28} best {min(times):6.2f} µs/span, median {statistics.median(times):6.2f}")
    best, median = min(grouped) - min(sdk), statistics.median(grouped) - statistics.median(sdk)
    print(f"{'the processor adds':28} {best:6.2f} µs/span (best), {median:.2f} (median)")


if __name__ == "__main__":
    main()
