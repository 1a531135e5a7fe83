"""Benchmark sessionkit on Apache Spark against in-process replay of the same data.

    python benchmarks/spark.py [--events 5000000] [--files 50] [--master local[2]] [--data DIR]

Needs ``sessionkit[spark]`` and Java 17. Writes (once; kept in ``--data``) the synthetic log of
``sessionkit.testing.synth`` (users: events / 300) as ``--files`` JSON Lines files. Then:

* in-process: ``sessionkit replay FILES --no-db`` (its own events/s, start-up excluded);
* Spark, started once (its start-up time reported apart), for each partitioning:
  ``sessionize_dataframe(spark.read.json(FILES))`` and ``sessionize_logs(FILES)``, both
  results written to Parquet (so that everything is computed), timed end to end;

and prints events/s, the ratio to in-process, and the driver's peak memory (the Python
driver's and the JVM's, ``VmHWM``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sessionkit.testing.synth import generate


def write_data(folder: Path, events: int, files: int) -> list[Path]:
    paths = [folder / f"part-{i:03d}.jsonl" for i in range(files)]
    if all(path.exists() for path in paths):
        return paths
    folder.mkdir(parents=True, exist_ok=True)
    per_file = -(-events // files)
    outs = [path.open("w") for path in paths]
    for n, record in enumerate(generate(events, max(events // 300, 1), 1)):
        outs[n // per_file].write(json.dumps(record) + "\n")
    for out in outs:
        out.close()
    return paths


def in_process(paths: list[Path]) -> float:
    script = Path(sys.executable).with_name("sessionkit")
    done = subprocess.run(
        [str(script), "replay", *map(str, paths), "--no-db", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    rate: float = json.loads(done.stdout)["events_per_second"]
    return rate


def jvm_peak(spark: object) -> str:
    process = getattr(spark.sparkContext._gateway, "proc", None)  # type: ignore[attr-defined]
    if process is None:
        return "?"
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM"):
            return line.split(":", 1)[1].strip()
    return "?"


def timed(name: str, run: Callable[[], int], baseline: float, spark: object) -> None:
    started = time.perf_counter()
    events = run()
    seconds = time.perf_counter() - started
    rate = events / seconds
    python_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{name:42} {rate:9,.0f} events/s  ({rate / baseline:4.2f}x in-process, "
        f"{seconds:6.1f} s); driver peak: Python {python_peak:,.0f} MiB, JVM {jvm_peak(spark)}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--files", type=int, default=50)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--data", type=Path, default=Path("spark-bench-data"))
    parser.add_argument("--partitions", nargs="+", default=["scope", "components"])
    parser.add_argument(
        "--entries", nargs="+", default=["dataframe", "logs"], choices=["dataframe", "logs"]
    )
    args = parser.parse_args()
    paths = write_data(args.data / f"{args.events}", args.events, args.files)
    baseline = in_process(paths)
    print(f"in-process replay: {baseline:,.0f} events/s ({args.events:,} events)", flush=True)

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    started = time.perf_counter()
    from pyspark.sql import SparkSession

    from sessionkit.spark import sessionize_dataframe, sessionize_logs

    spark = (
        SparkSession.builder.master(args.master)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", "4g")
        .config("spark.sql.shuffle.partitions", "8")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    spark.range(1).count()
    print(f"Spark start-up: {time.perf_counter() - started:.1f} s", flush=True)
    out = Path(tempfile.mkdtemp(prefix="sessionkit-spark-bench-"))
    files = [str(path) for path in paths]

    def write(result: object) -> int:
        result.assignments.write.mode("overwrite").parquet(str(out / "a"))  # type: ignore[attr-defined]
        result.sessions.write.mode("overwrite").parquet(str(out / "s"))  # type: ignore[attr-defined]
        result.unpersist()  # type: ignore[attr-defined]
        return args.events

    try:
        for partition in args.partitions:
            if "dataframe" in args.entries:
                timed(
                    f"sessionize_dataframe, by {partition}",
                    lambda p=partition: write(
                        sessionize_dataframe(spark.read.json(files), partition=p)
                    ),
                    baseline,
                    spark,
                )
            if "logs" in args.entries:
                timed(
                    f"sessionize_logs, by {partition}",
                    lambda p=partition: write(sessionize_logs(spark, files, partition=p)),
                    baseline,
                    spark,
                )
    finally:
        shutil.rmtree(out, ignore_errors=True)
        spark.stop()


if __name__ == "__main__":
    main()
