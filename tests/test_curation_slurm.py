"""`curation.run --executor slurm` submits the whole chain at once, against a fake Slurm: `sbatch`, `squeue`,
`sacct` and `srun` are small Python scripts on PATH that record each submission (script, --dependency, --array)
and report states from a state file; `run_queue` then executes the queued job scripts locally, in submission
order, each only when the jobs it depends on completed. The outputs must equal a local run's."""

from __future__ import annotations

import gzip
import itertools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.test_curation import write_recipe, write_sources
from tests.test_tokenize import byte_level_bpe

ROOT = Path(__file__).resolve().parents[1]

SBATCH = r'''
import json, pathlib, re, sys
state = pathlib.Path(__file__).parent / "queue.json"
queue = json.loads(state.read_text()) if state.exists() else []
args, script = sys.argv[1:-1], pathlib.Path(sys.argv[-1]).read_text()
job = {"id": str(1000 + len(queue)), "args": args, "script": script, "state": "PENDING",
       "dependency": next((a.split("=", 1)[1] for a in args if a.startswith("--dependency=")), None),
       "array": next((m.group(1) for m in [re.search(r"^#SBATCH --array=(\S+)", script, re.M)] if m), "0-0")}
sbatch_dep = re.search(r"^#SBATCH --dependency=(\S+)", script, re.M)
if job["dependency"] is None and sbatch_dep:
    job["dependency"] = sbatch_dep.group(1)
queue.append(job)
state.write_text(json.dumps(queue))
print(f"Submitted batch job {job['id']}")
'''

SQUEUE = r'''
import json, pathlib, sys
state = pathlib.Path(__file__).parent / "queue.json"
ids = sys.argv[sys.argv.index("-j") + 1].split(",")
for job in json.loads(state.read_text()):
    if job["id"] in ids and job["state"] in ("PENDING", "RUNNING"):
        print(f"{job['id']}_[0-1] {job['state']}")
'''

SACCT = r'''
import json, pathlib, sys
state = pathlib.Path(__file__).parent / "queue.json"
ids = sys.argv[sys.argv.index("-j") + 1].split(",")
for job in json.loads(state.read_text()):
    if job["id"] in ids and job["state"] not in ("PENDING", "RUNNING"):
        print(f"{job['id']}|{job['state']}")
'''

SRUN = r'''
import os, sys
args = sys.argv[1:]
while args and args[0].startswith("-"):
    flag = args.pop(0)
    if flag in ("-n", "-N") and args:
        args.pop(0)
os.execvp(args[0], args)
'''

SCONTROL = r'''
import sys
if sys.argv[1:3] == ["show", "hostnames"]:
    print("localhost")
'''


def fake_slurm(tmp_path: Path) -> dict:
    bin_dir = tmp_path / "slurm_bin"
    bin_dir.mkdir()
    for name, code in {"sbatch": SBATCH, "squeue": SQUEUE, "sacct": SACCT, "srun": SRUN, "scontrol": SCONTROL}.items():
        path = bin_dir / name
        path.write_text(f"#!{sys.executable}\n{code}")
        path.chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", PYTHONPATH=str(ROOT))
    env.pop("SLURM_ARRAY_TASK_ID", None)
    return {"bin": bin_dir, "env": env, "queue": bin_dir / "queue.json"}


def queue(slurm: dict) -> list[dict]:
    return json.loads(slurm["queue"].read_text())


def run_queue(slurm: dict) -> None:
    """Run every pending job whose dependencies completed, in submission order (a job depends on earlier ones)."""
    jobs = queue(slurm)
    states = {job["id"]: job["state"] for job in jobs}
    for job in jobs:
        if job["state"] != "PENDING":
            continue
        needed = [i for part in (job["dependency"] or "").split(",") if part for i in part.split(":")[1:]]
        if any(states[i] != "COMPLETED" for i in needed):
            job["state"] = states[job["id"]] = "CANCELLED"
            continue
        first, last = (int(x) for x in job["array"].split("%")[0].split("-"))
        ok = True
        for index in range(first, last + 1):
            env = dict(slurm["env"], SLURM_ARRAY_TASK_ID=str(index), SLURM_JOB_ID=job["id"],
                       SLURM_ARRAY_JOB_ID=job["id"], SLURM_NODELIST="localhost")
            done = subprocess.run(["bash", "-c", job["script"]], env=env, capture_output=True, text=True)
            if done.returncode != 0:
                print(done.stdout[-3000:], done.stderr[-3000:])
                ok = False
        job["state"] = states[job["id"]] = "COMPLETED" if ok else "FAILED"
        slurm["queue"].write_text(json.dumps(jobs))
    slurm["queue"].write_text(json.dumps(jobs))


def curation(args: list[str], env: dict, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "curation.run", *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=600)


def tree(folder: Path, root: Path | None = None) -> dict[str, bytes]:
    """Every file's bytes (gzip files' content: their header holds the time they were written; `root`, where the
    excluded records name their input file, replaced)."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file() and not p.name.startswith("_report"):
            data = gzip.decompress(p.read_bytes()) if p.suffix == ".gz" else p.read_bytes()
            out[str(p.relative_to(folder))] = data.replace(str(root).encode(), b"ROOT") if root else data
    return out


def write_full_recipe(root: Path, **curation_section) -> Path:
    """test_curation's four sources, plus a tokenizer with the vocabulary extension and tokenize."""
    write_sources(root)
    path = write_recipe(root, **curation_section)
    recipe = yaml.safe_load(path.read_text())
    byte_level_bpe(root).save_pretrained(root / "base_tokenizer")
    recipe["tokenizer"] = {"path": "base_tokenizer", "extend": {"enabled": True, "min_frequency": 1}}
    recipe["tokenize"] = {"seq_len": 64}
    path.write_text(yaml.safe_dump(recipe, allow_unicode=True))
    return path


@pytest.mark.slow
def test_slurm_chain_is_submitted_at_once_and_gives_the_local_outputs(tmp_path):
    slurm_cfg = {"partition": "cpu", "time": "02:00:00",
                 "stages": {"dedup": {"time": "04:00:00", "mem_per_cpu_gb": 4, "cpus_per_task": 2},
                            "filter": {"partition": "short"}}}
    local_root, slurm_root = tmp_path / "local", tmp_path / "slurm"
    local = write_full_recipe(local_root)
    recipe = write_full_recipe(slurm_root, executor="slurm", tasks=3, slurm=slurm_cfg)
    recipe_data = yaml.safe_load(recipe.read_text())
    recipe_data["curation"]["workers"] = 2
    recipe.write_text(yaml.safe_dump(recipe_data, allow_unicode=True))
    fake = fake_slurm(tmp_path)

    done = curation([str(local)], fake["env"], local_root)
    assert done.returncode == 0, done.stderr[-3000:]

    done = curation([str(recipe)], fake["env"], slurm_root)
    assert done.returncode == 0, done.stderr[-3000:]
    assert not (slurm_root / "work/curated").exists()  # nothing ran yet: everything is queued
    jobs = queue(fake)
    work = [j for j in jobs if "merge_stats" not in j["script"]]
    names = [re.search(r"^#SBATCH --job-name=(\S+)", j["script"], re.M).group(1) for j in work]
    filters = [j for j, n in zip(work, names, strict=True) if "-filter-" in n]
    stage_jobs = {n.split("-chain-")[1]: j for j, n in zip(work, names, strict=True) if "-chain-" in n}
    assert len(filters) == 4 and list(stage_jobs) == ["dedup", "publish", "vocab", "tokenize"]  # no decontamination files
    # filter: arrays of min(tasks, files) tasks, at most curation.workers at once, its own partition, no dependency
    for job in filters:
        assert job["dependency"] is None and "#SBATCH --partition=short" in job["script"]
        assert job["array"] in ("0-0",), job["array"]  # one input file per source: one task
    # each stage's job waits for every job of the stage before
    assert stage_jobs["dedup"]["dependency"] == "afterok:" + ":".join(j["id"] for j in filters)
    order = list(stage_jobs)
    for before, after in itertools.pairwise(order):
        assert stage_jobs[after]["dependency"] == f"afterok:{stage_jobs[before]['id']}"
    dedup = stage_jobs["dedup"]["script"]
    assert "#SBATCH --time=04:00:00" in dedup and "#SBATCH --mem-per-cpu=4G" in dedup
    assert "#SBATCH --cpus-per-task=2" in dedup and "#SBATCH --partition=cpu" in dedup
    assert "#SBATCH --time=02:00:00" in stage_jobs["publish"]["script"]

    status = curation([str(recipe), "--status"], fake["env"], slurm_root)
    assert status.returncode == 0, status.stderr
    assert re.search(r"dedup / \(stage job\): job \d+  PENDING  0/1 task", status.stderr), status.stderr

    run_queue(fake)
    assert all(j["state"] == "COMPLETED" for j in queue(fake)), [(j["id"], j["state"]) for j in queue(fake)]
    status = curation([str(recipe), "--status"], fake["env"], slurm_root)
    assert "tokenize / (stage job)" in status.stderr and "PENDING" not in status.stderr
    assert re.search(r"filter / zh_web: job \d+  COMPLETED  1/1 task", status.stderr), status.stderr

    for folder in ("curated", "heldout", "tokens", "excluded"):
        assert tree(slurm_root / "work" / folder, slurm_root) == tree(local_root / "work" / folder, local_root), folder
    assert tree(local_root / "work/tokens")
    report = json.loads((slurm_root / "work/curated/_report.json").read_text())  # written by the last job
    assert report["sources"] == json.loads((local_root / "work/curated/_report.json").read_text())["sources"]
    assert all(src["balanced"] is not False for src in report["sources"].values())

    # submitted again when everything finished: nothing to submit
    n = len(queue(fake))
    done = curation([str(recipe)], fake["env"], slurm_root)
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(queue(fake)) == n, done.stderr


@pytest.mark.slow
def test_a_failed_stage_stops_the_chain_and_status_says_so(tmp_path):
    fake = fake_slurm(tmp_path)
    write_sources(tmp_path)
    recipe = write_recipe(tmp_path, executor="slurm", bad_records="error")  # zh_web holds a broken line
    done = curation([str(recipe)], fake["env"], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    run_queue(fake)
    states = {re.search(r"^#SBATCH --job-name=(\S+)", j["script"], re.M).group(1): j["state"]
              for j in queue(fake) if "merge_stats" not in j["script"]}
    assert states["recipe-filter-zh_web"] == "FAILED" and states["recipe-chain-dedup"] == "CANCELLED"
    assert states["recipe-chain-publish"] == "CANCELLED" and "COMPLETED" in states.values(), states
    status = curation([str(recipe), "--status"], fake["env"], tmp_path)
    assert re.search(r"filter / zh_web: job \d+  FAILED  0/1 task", status.stderr), status.stderr
    assert re.search(r"dedup / \(stage job\): job \d+  CANCELLED  0/1 task", status.stderr), status.stderr
    assert not (tmp_path / "work/curated").exists()


def test_array_concurrency_comes_from_the_recipe_not_this_machine(tmp_path):
    fake = fake_slurm(tmp_path)
    write_sources(tmp_path)
    recipe = write_recipe(tmp_path, executor="slurm", workers=-1, tasks=3,
                          slurm={"stages": {"filter": {"workers": 1, "cpus_per_task": 3}}})
    done = curation([str(recipe), "--until", "filter"], fake["env"], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    arrays = [j for j in queue(fake) if "-filter-" in j["script"] and "merge_stats" not in j["script"]]
    assert arrays and all(j["array"] == "0-0" and "#SBATCH --cpus-per-task=3" in j["script"] for j in arrays)
    # curation.workers -1 on Slurm: no limit (not this machine's core count); N: %N
    from common.recipe import Recipe
    from curation.config import load_curation
    from curation.stages import StageContext

    r = Recipe.load(recipe)
    ctx = StageContext(recipe=r, workdir=r.workdir, sources=[], config=load_curation(r), executor_kind="slurm", workers=-1)
    def array(stage: str) -> str:
        return ctx.executor([object(), object()], stage=stage, source="x", tasks=8).get_sbatch_args(8)["array"]

    assert array("filter") == "0-7%1"  # curation.slurm.stages.filter.workers
    assert array("decontaminate") == "0-7"  # curation.workers -1: no limit
    ctx.workers = 2
    assert array("decontaminate") == "0-7%2" and array("filter") == "0-7%1"


def test_unknown_stage_in_slurm_settings_is_one_line(tmp_path):
    fake = fake_slurm(tmp_path)
    write_sources(tmp_path)
    recipe = write_recipe(tmp_path, executor="slurm", slurm={"stages": {"dedupe": {"time": "1:00:00"}}})
    done = curation([str(recipe)], fake["env"], tmp_path)
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "dedupe" in lines[0] and "curation.slurm.stages" in lines[0], done.stderr


def test_status_without_a_chain_is_one_line(tmp_path):
    fake = fake_slurm(tmp_path)
    write_sources(tmp_path)
    recipe = write_recipe(tmp_path, executor="slurm")
    done = curation([str(recipe), "--status"], fake["env"], tmp_path)
    assert done.returncode == 2 and "no Slurm chain submitted" in done.stderr, done.stderr
