"""Runs Actionboard's rule queries (Spark SQL written by `actionboard`) on a lake run.

    .venv-spark/bin/python scripts/spark_rules.py JOB.json
    spark-submit --master URL scripts/spark_rules.py JOB.json

JOB.json (written by `actionboard rules evaluate --engine spark`):
  master, run_dir (a lake run: <lake>/runs/<run_id>, a folder or an s3a:// URL),
  observations_rows (from its _run.json), out (where the rows go),
  queries: [{key, rule_id, sql}].
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
    run = job["run_dir"]
    timings = {"start_s": time.monotonic() - started}

    # The run is complete (it is under runs/, published by a rename); its files are checked
    # against _run.json anyway (a listing, no Spark job), so a hand-copied, partial run is
    # refused rather than evaluated.
    manifest = json.loads(read_text(spark, run + "/_run.json"))
    # The lake's schema is fixed (README): given, Spark reads no file footer to infer it.
    obs = (spark.read.schema(OBSERVATIONS).option("basePath", run + "/observations")
           .parquet(run + "/observations"))
    expected = sorted(f["path"] for f in manifest["files"] if f["path"].startswith("observations/"))
    found = sorted(p[p.rindex("/observations/") + 1:] for p in obs.inputFiles())
    if found != expected:
        sys.exit(f"{run}: {len(found)} observation files, _run.json lists {len(expected)}; "
                 "export the run again (actionboard lake export)")
    timings["check_s"] = time.monotonic() - started - timings["start_s"]
    obs.createOrReplaceTempView("observations")
    spark.read.parquet(run + "/regions.parquet").createOrReplaceTempView("regions")
    spark.sql("SELECT code, name, region FROM regions").createOrReplaceTempView("countries")

    frames = []
    for q in job["queries"]:
        df = spark.sql(q["sql"])
        df = df.select(*[F.col(c).cast(t).alias(c) for c, t in COLUMNS])
        frames.append(df.withColumn("query_key", F.lit(q["key"])))
    if frames:
        rows = frames[0]
        for df in frames[1:]:
            rows = rows.unionByName(df)
    else:
        schema = ", ".join(f"{c} {t}" for c, t in COLUMNS) + ", query_key string"
        rows = spark.createDataFrame([], schema)
    rows.write.mode("overwrite").parquet(job["out"])
    timings["queries_s"] = time.monotonic() - started - timings["start_s"] - timings["check_s"]
    # The binary reports these (JVM start, the run's check, the queries with the write).
    print(json.dumps({k: round(v, 3) for k, v in timings.items()}))
    spark.stop()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
