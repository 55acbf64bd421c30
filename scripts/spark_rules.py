"""Runs Actionboard's rule queries (Spark SQL written by `actionboard`) on a lake run.

    .venv-spark/bin/python scripts/spark_rules.py JOB.json
    spark-submit --master URL scripts/spark_rules.py JOB.json

JOB.json (written by `actionboard rules evaluate --engine spark`): master, and runs: a list
of {run_dir (a lake run: <lake>/runs/<run_id>, a folder or an s3a:// URL), out (where the rows
go), queries: [{key, rule_id, sql}]}, all in one Spark session.
Writes every query's rows, tagged with its key, as Parquet under `out` (with _SUCCESS).
"""

import json
import sys
import time

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

# The columns every rule query returns, with the types the binary reads back.
COLUMNS = [
    ("entity", "string"), ("period", "int"), ("value", "double"), ("prev_period", "int"),
    ("prev_value", "double"), ("x1", "double"), ("x2", "double"), ("x3", "double"),
    ("share", "double"), ("source_id", "string"), ("is_projection", "boolean"),
]


# The lake's observations (schema version 1), partition columns last.
OBSERVATIONS = (
    "run_id string, series string, edition string, code string, name_in_source string, "
    "value double, value_bn double, is_aggregate boolean, is_projection boolean, "
    "change_pct double, rank int, share_pct double, per_capita double, "
    "source_id string, year int"
)


def read_text(spark, path):
    """A whole file through Hadoop's file system (local, hdfs://, s3a://): Spark's own readers
    skip names starting with `_`."""
    jvm = spark._jvm
    p = jvm.org.apache.hadoop.fs.Path(path)
    stream = p.getFileSystem(spark._jsc.hadoopConfiguration()).open(p)
    try:
        return jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8")
    finally:
        stream.close()


def check_run(spark, run):
    """The run's observations, once its files are the ones its _run.json lists. A run under
    runs/ is complete (published by a rename), but a hand-copied one, or one on object storage
    where a rename is a copy, may not be: it is refused rather than evaluated. A listing, no job."""
    manifest = json.loads(read_text(spark, run + "/_run.json"))
    # The lake's schema is fixed (README): given, Spark reads no file footer to infer it.
    obs = (spark.read.schema(OBSERVATIONS).option("basePath", run + "/observations")
           .parquet(run + "/observations"))
    expected = sorted(f["path"] for f in manifest["files"] if f["path"].startswith("observations/"))
    found = sorted(p[p.rindex("/observations/") + 1:] for p in obs.inputFiles())
    if found != expected:
        sys.exit(f"{run}: {len(found)} observation files, _run.json lists {len(expected)}; "
                 "export the run again (actionboard lake export)")
    return obs


def run_queries(spark, run, obs, queries, out):
    """Registers the run's tables under the names the SQL uses, runs every query and writes the
    rows, tagged with their query's key, as one Parquet dataset."""
    obs.createOrReplaceTempView("observations")
    spark.read.parquet(run + "/regions.parquet").createOrReplaceTempView("regions")
    spark.sql("SELECT code, name, region FROM regions").createOrReplaceTempView("countries")
    frames = []
    for q in queries:
        df = spark.sql(q["sql"]).select(*[F.col(c).cast(t).alias(c) for c, t in COLUMNS])
        frames.append(df.withColumn("query_key", F.lit(q["key"])))
    if frames:
        rows = frames[0]
        for df in frames[1:]:
            rows = rows.unionByName(df)
    else:
        schema = ", ".join(f"{c} {t}" for c, t in COLUMNS) + ", query_key string"
        rows = spark.createDataFrame([], schema)
    rows.write.mode("overwrite").parquet(out)


def main(job_path):
    started = time.monotonic()
    with open(job_path, encoding="utf-8") as f:
        job = json.load(f)
    builder = SparkSession.builder.appName("actionboard-rules")
    if job.get("master"):
        builder = builder.master(job["master"])
    spark = (
        builder.config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        # Lists a run's few hundred partition folders on the driver, not in a Spark job.
        .config("spark.sql.sources.parallelPartitionDiscovery.threshold", "100000")
        # DuckDB's semantics: a division by zero is NULL, not an error (Spark 4 defaults to ANSI).
        .config("spark.sql.ansi.enabled", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    timings = {"start_s": time.monotonic() - started, "check_s": 0.0, "queries_s": 0.0}
    for run in job["runs"]:
        t = time.monotonic()
        obs = check_run(spark, run["run_dir"])
        timings["check_s"] += time.monotonic() - t
        t = time.monotonic()
        run_queries(spark, run["run_dir"], obs, run["queries"], run["out"])
        timings["queries_s"] += time.monotonic() - t
    # The binary reports these: the JVM and session's start, then the runs' checks and queries
    # with the writes.
    print(json.dumps({k: round(v, 3) for k, v in timings.items()}))
    spark.stop()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
