"""`syncer validate s3://...` against the same file on local disk (issue 16: goal <= 1.3x).

A ~100 MB lead CSV (bench_pipeline's generator) is put in a bucket of a local S3-compatible
server (moto in server mode, on 127.0.0.1, in this process); then, interleaved so the machine's
load hits both alike, each round runs as fresh processes:

- **local**: ``python -m syncer validate FILE --mapping M --results R``;
- **s3**: ``python -m syncer validate s3://bucket/FILE --mapping M --results R`` (download to a
  temporary file with its sha256, read, validate, results written, the copy removed);
- **download**: ``syncer.storage.fetched()`` alone in a fresh process (interpreter and
  imports included), to show what the download itself costs.

The ratio is s3's wall time over local's, per round and of the medians. Both write the same
results file (checked). Usage:

    .venv/bin/python bench/bench_remote.py [--mb 100] [--repeat 5] [--json FILE]

Needs the s3 extra and moto (``pip install -e '.[test,s3]'``). The input is cached under
bench/out/ (gitignored); outputs go to a temporary folder.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from bench_pipeline import MAPPING, OUT, generate  # noqa: E402

#: bench_pipeline's lead list is ~175 bytes a row
BYTES_PER_ROW = 175
BUCKET = "syncer-bench"
DOWNLOAD = (
    "import sys, time\n"
    "t = time.perf_counter()\n"
    "from syncer.storage import fetched\n"
    "with fetched(sys.argv[1]) as copy:\n"
    "    size = copy.path.stat().st_size\n"
    "    digest = copy.sha256\n"
    "print(size, digest, round(time.perf_counter() - t, 3))\n"
)


def start_s3() -> tuple[object, str]:
    """moto's S3 server on a free loopback port, and its endpoint."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


def upload(endpoint: str, path: Path) -> str:
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="bench",
        aws_secret_access_key="bench-secret",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=BUCKET)
    client.upload_file(str(path), BUCKET, path.name)
    return f"s3://{BUCKET}/{path.name}"


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(wall s, CPU s of the child: user + system, its stdout)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if code not in (0, 1):  # validate exits 1 when some row is invalid
            sys.exit(f"{' '.join(cmd[:5])} failed ({code}):\n{err.read().decode()}")
        return wall, usage.ru_utime + usage.ru_stime, out.read().decode()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--mb", type=int, default=100, help="size of the input file (MB)")
    ap.add_argument("--repeat", type=int, default=5, help="rounds (local, s3, download each)")
    ap.add_argument("--json", type=Path, help="append the figures to this JSON-lines file")
    args = ap.parse_args()
    rows = args.mb * 1_000_000 // BYTES_PER_ROW
    csv_path = OUT / f"leads_{rows}.csv"
    if not csv_path.exists():
        generate(rows, csv_path)
    mapping = OUT / "bench_mapping.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    size_mb = csv_path.stat().st_size / 1e6
    server, endpoint = start_s3()
    url = upload(endpoint, csv_path)
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    print(f"input: {csv_path.name}, {rows:,} rows, {size_mb:.0f} MB; S3: {url} at {endpoint}")
    py = [sys.executable, "-m", "syncer", "validate"]
    rounds: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="bench-remote-") as tmp:
        out = Path(tmp)
        for i in range(args.repeat):
            order = ["local", "s3"] if i % 2 == 0 else ["s3", "local"]
            got: dict[str, float] = {}
            for which in order:
                src = str(csv_path) if which == "local" else url
                results = out / f"{which}.results.csv"
                cmd = [*py, src, "--mapping", str(mapping), "--results", str(results)]
                got[which], got[f"{which}_cpu"], _ = timed(cmd, env)
            wall, cpu, line = timed([sys.executable, "-c", DOWNLOAD, url], env)
            got["download"], got["download_cpu"] = wall, cpu
            got["download_inner"] = float(line.split()[-1])
            got["ratio"] = got["s3"] / got["local"]
            got["cpu_ratio"] = got["s3_cpu"] / got["local_cpu"]
            got["load"] = os.getloadavg()[0]
            rounds.append(got)
            print(
                f"round {i + 1}: local {got['local']:.2f} s ({got['local_cpu']:.2f} s CPU), "
                f"s3 {got['s3']:.2f} s ({got['s3_cpu']:.2f} s CPU): x{got['ratio']:.2f} wall, "
                f"x{got['cpu_ratio']:.2f} CPU; download alone {got['download']:.2f} s "
                f"({got['download_inner']:.2f} s after the interpreter started, "
                f"{got['download_cpu']:.2f} s CPU); load {got['load']:.1f}",
                flush=True,
            )
        same = filecmp.cmp(out / "local.results.csv", out / "s3.results.csv", shallow=False)
    med = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    load = os.getloadavg()[0]
    print(
        f"median: local {med['local']:.2f} s, s3 {med['s3']:.2f} s, "
        f"x{med['s3'] / med['local']:.2f} (goal <= 1.3; median of the rounds' ratios "
        f"x{med['ratio']:.2f}); CPU local {med['local_cpu']:.2f} s, s3 {med['s3_cpu']:.2f} s; "
        f"download alone {med['download']:.2f} s ({size_mb / med['download_inner']:.0f} MB/s "
        f"after start-up); results identical: {same}; load {load:.1f}"
    )
    if args.json:
        with args.json.open("a", encoding="utf-8") as fh:
            record = {"mb": round(size_mb), "rows": rows, "rounds": rounds, "median": med,
                      "identical": same, "load": load}  # fmt: skip
            fh.write(json.dumps(record) + "\n")
    server.stop()  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
