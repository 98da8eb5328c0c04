"""Static checks of the deployment files that need Python, run by scripts/check-deploy.sh (no Docker).

    python deploy/check.py constraints            # pyproject pins <-> constraints files <-> Dockerfile
    python deploy/check.py context                # .dockerignore keeps what the Dockerfile copies
    python deploy/check.py stage DIR              # copy the runtime stage's files to DIR, as the image has them
    python deploy/check.py freeze FILE < freeze   # every installed distribution is pinned in FILE
    python deploy/check.py imports                # (in the runtime venv, from the staged dir) no torch
    python deploy/check.py metrics                # (in the runtime venv) dashboards and HPA use real metrics
    python deploy/check.py wiring                 # compose, Prometheus and Grafana files agree on names
    python deploy/check.py k8s-drift              # the GPU Deployment differs from the CPU one only where meant

Each prints one line on success and exits 1 with the reasons otherwise.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
DOCKERFILE = ROOT / "Dockerfile"
RUNTIME_STAGE = "runtime"
# Labels Prometheus or the Kubernetes scrape config add to every series, beside the service's own.
TARGET_LABELS = {"instance", "job", "namespace", "pod", "service"}


def fail(problems: list[str]) -> None:
    if problems:
        sys.exit("\n".join(f"FAIL {p}" for p in problems))


# --- Dockerfile ------------------------------------------------------------------------------------


def instructions(text: str) -> Iterator[tuple[str, list[str]]]:
    """(INSTRUCTION, arguments) per logical Dockerfile line: continuations joined, comments dropped."""
    logical = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not logical and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):  # a comment inside a continued instruction
            continue
        logical += " " + line.removesuffix("\\")
        if not line.endswith("\\"):
            words = logical.split()
            yield words[0].upper(), words[1:]
            logical = ""


def copies(stage: str | None = None) -> Iterator[tuple[str, list[str], str, str]]:
    """(stage, sources, destination, workdir) of each COPY from the build context, optionally of one stage."""
    current, workdir = "", "/"
    for op, args in instructions(DOCKERFILE.read_text(encoding="utf-8")):
        if op == "FROM":
            current = args[args.index("AS") + 1] if "AS" in args else args[0]
            workdir = "/"
        elif op == "WORKDIR":
            workdir = args[0]
        elif op == "COPY" and not any(a.startswith("--from") for a in args) and stage in (None, current):
            paths = [a for a in args if not a.startswith("--")]
            yield current, paths[:-1], paths[-1], workdir


def dockerfile_arg(name: str) -> str | None:
    for op, args in instructions(DOCKERFILE.read_text(encoding="utf-8")):
        if op == "ARG" and args[0].startswith(f"{name}="):
            return args[0].split("=", 1)[1]
    return None


# --- checks ----------------------------------------------------------------------------------------


def check_constraints(_: argparse.Namespace) -> None:
    """Each pyproject requirement is pinned, inside its specifier, in the file its stage installs with."""
    from packaging.requirements import Requirement

    sys.path.insert(0, str(DEPLOY))
    from requirements import name_of, read_pins, requirements

    problems = []
    for filename, reqs in {
        "constraints-runtime.txt": requirements("cpu") + requirements("gpu"),
        "constraints-export.txt": requirements("cpu", ["train"]),
    }.items():
        pins = read_pins(DEPLOY / filename)
        for req in map(Requirement, dict.fromkeys(reqs)):
            pin = pins.get(name_of(req.name))
            if pin is None:
                problems.append(f"{filename}: no pin for {req} (run: python deploy/requirements.py --lock)")
            elif not req.specifier.contains(pin.split("==")[1], prereleases=True):
                problems.append(f"{filename}: {pin} does not satisfy pyproject's {req} (re-lock)")
    torch = next(Requirement(r) for r in requirements("cpu", ["train"]) if name_of(r) == "torch")
    if str(torch.specifier) != f"=={dockerfile_arg('TORCH_VERSION')}":
        problems.append(f"Dockerfile ARG TORCH_VERSION={dockerfile_arg('TORCH_VERSION')} but pyproject has {torch}")
    fail(problems)
    print("ok constraints: every pyproject requirement pinned; Dockerfile TORCH_VERSION matches")


def ignore_patterns() -> list[re.Pattern[str]]:
    """.dockerignore patterns as regexes (Go filepath.Match plus **; anchored at the context root)."""
    patterns = []
    for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("!"):
            sys.exit(".dockerignore: exceptions (!) are not handled by this check")
        parts = re.split(r"(\*\*/?|\*|\?)", line.strip("/"))
        tr = {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}
        patterns.append(re.compile("".join(tr.get(p, re.escape(p)) for p in parts)))
    return patterns


def ignored(rel: str, patterns: list[re.Pattern[str]]) -> bool:
    parts = rel.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]  # an ignored folder drops its files
    return any(p.fullmatch(prefix) for p in patterns for prefix in prefixes)


def context_files(source: str) -> list[Path]:
    path = ROOT / source
    if not path.exists():
        return []
    return [path] if path.is_file() else [f for f in path.rglob("*") if f.is_file() and "__pycache__" not in f.parts]


def check_context(_: argparse.Namespace) -> None:
    """Every file a COPY names survives .dockerignore; run artefacts and local state do not."""
    patterns, problems, sent = ignore_patterns(), [], []
    for stage, sources, _dest, _wd in copies():
        for source in sources:
            files = [f.relative_to(ROOT).as_posix() for f in context_files(source)]
            kept = [f for f in files if not ignored(f, patterns)]
            if not kept:  # missing, or every file of it excluded by .dockerignore: the build would fail
                problems.append(f"stage {stage}: COPY {source} matches no file left in the build context")
            sent += kept
    leaked = [f for f in sent if re.fullmatch(r"checkpoints/[^/]*_[^/]*\.safetensors", f) or f.startswith((".venv/", "runs/"))]
    problems += [f"{f} would be sent to the image" for f in leaked]
    shipped = [f for f in sent if f.startswith("checkpoints/")]
    if not shipped:
        problems.append("no checkpoint reaches the export stage")
    fail(problems)
    print(f"ok context: {len(sent)} file copies, all in the context; checkpoints shipped: {', '.join(shipped)}")


def check_stage(args: argparse.Namespace) -> None:
    """Copy the runtime stage's COPY sources to args.dir the way the image lays them out under WORKDIR."""
    out: Path = args.dir
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    count = 0
    for _stage, sources, dest, workdir in copies(RUNTIME_STAGE):
        target = dest if dest.startswith("/") else f"{workdir.rstrip('/')}/{dest}"
        if not target.startswith("/app/"):
            continue  # install-time files (/tmp/seq2serve), deleted in the same layer
        where = out / target.removeprefix("/app/")
        for source in sources:
            src = ROOT / source
            if src.is_dir():  # COPY dir/ dest/: the folder's contents into dest
                shutil.copytree(src, where, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
            elif target.endswith("/"):  # COPY a b dest/: into dest
                where.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, where / src.name)
            else:  # COPY a dest: to that path
                where.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, where)
            count += 1
    print(f"ok stage: {count} runtime COPY sources laid out in {out}")


def check_freeze(args: argparse.Namespace) -> None:
    """`pip freeze` on stdin: every distribution installed must be pinned, at that version, in args.file."""
    sys.path.insert(0, str(DEPLOY))
    from requirements import name_of, read_pins

    pins = read_pins(args.file)
    problems = []
    for line in sys.stdin.read().splitlines():
        if "==" not in line or name_of(line) in {"pip", "setuptools", "wheel"}:
            continue
        pin = pins.get(name_of(line))
        if pin is None or pin.split("==")[1] != line.split("==")[1]:
            problems.append(f"installed {line}, constraints say {pin or 'nothing'}")
    fail(problems)
    print(f"ok freeze: every installed distribution is pinned in {args.file.name}")


def check_imports(_: argparse.Namespace) -> None:
    """Import the app as the image would (cwd = the staged /app) and prove torch stays out."""
    import importlib.util

    problems = []
    if importlib.util.find_spec("torch") is not None:
        problems.append("torch is importable in the runtime environment")
    import service.__main__  # noqa: F401  (the CMD's module)
    from service.app import create_app

    create_app()
    here = Path.cwd().resolve()
    for name, module in sorted(sys.modules.items()):
        origin = getattr(module, "__file__", None) or ""
        if name.split(".")[0] in {"service", "models"} and not Path(origin).resolve().is_relative_to(here):
            problems.append(f"{name} was imported from {origin}, outside the staged image files")
    problems += [f"importing the app imported {m}" for m in ("torch", "export", "evaluation") if m in sys.modules]
    problems += [f"importing the app imported {m}, a training module" for m in sys.modules if "training" in m.split(".")]
    fail(problems)
    served = sorted(m for m in sys.modules if m.split(".")[0] == "models")
    print(f"ok imports: service.app imports {len(served)} models.* modules, all staged; torch neither importable nor imported")


def exposed_series() -> dict[str, set[str]]:
    """Series name -> label names, exactly as /metrics exposes them (one observation of each metric)."""
    from service.metrics import Metrics

    m = Metrics()
    m.observe_request("hull", "/hull", 200, 0.01)
    m.observe_batch("hull", 1, [0.001], 0.01)
    m.observe_dropped("hull", "cancelled")
    m.set_queue_depth("hull", 0)
    m.add_in_flight("/hull", 0)
    series: dict[str, set[str]] = {}
    for family in m.registry.collect():
        for sample in family.samples:
            series.setdefault(sample.name, set()).update(sample.labels)
    return series


def promql_problems(where: str, expr: str, series: dict[str, set[str]]) -> list[str]:
    """Unknown seq2serve_* names, and label names that none of the expression's series carry."""
    expr = re.sub(r"<<[^>]*>>", "", expr)  # prometheus-adapter templates
    names = set(re.findall(r"\bseq2serve_\w+", expr))
    problems = [f"{where}: {n} is not exposed by service/metrics.py" for n in sorted(names - series.keys())]
    labels = set().union(*(series.get(n, set()) for n in names)) | TARGET_LABELS
    used = set()
    for selector in re.findall(r"\{([^}]*)\}", expr):
        used |= set(re.findall(r"(\w+)\s*(?:=~|!~|!=|=)", selector))
    for grouping in re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", expr):
        used |= {g.strip() for g in grouping.split(",") if g.strip()}
    return problems + [f"{where}: label {label!r} is on none of {sorted(names)}" for label in sorted(used - labels)]


def check_metrics(_: argparse.Namespace) -> None:
    """The dashboard's queries and the adapter's rules name real series and labels; the HPA's metric exists."""
    series, problems = exposed_series(), []
    dashboard = json.loads((DEPLOY / "grafana/dashboards/seq2serve.json").read_text(encoding="utf-8"))
    exprs = [(p["title"], t["expr"]) for p in dashboard["panels"] for t in p.get("targets", [])]
    exprs += [(f"variable {v['name']}", v["definition"]) for v in dashboard["templating"]["list"] if v["type"] == "query"]
    rules = (DEPLOY / "k8s/prometheus-adapter-rules.yaml").read_text(encoding="utf-8")
    for block in rules.split("- seriesQuery:")[1:]:  # one adapter rule each; <<.Series>> is its series
        series_query, metrics_query = re.findall(r"'([^']*)'", block)[:2]
        name = re.findall(r"seq2serve_\w+", series_query)[0]
        exprs += [("adapter seriesQuery", series_query), ("adapter metricsQuery", metrics_query.replace("<<.Series>>", name))]
    for where, expr in exprs:
        problems += promql_problems(where, expr, series)
    served = set(re.findall(r'as: "(\w+)"', rules))
    hpa = (DEPLOY / "k8s/hpa.yaml").read_text(encoding="utf-8")
    wanted = re.findall(r"name: (seq2serve_\w+)", hpa)
    problems += [f"hpa.yaml reads {n}, which no adapter rule serves" for n in wanted if n not in served]
    fail(problems)
    print(f"ok metrics: {len(exprs)} queries use only the {len(series)} series service/metrics.py exposes; HPA metric served")


def check_wiring(_: argparse.Namespace) -> None:
    """Compose, Prometheus and Grafana files point at each other: service names, ports, datasource uid."""
    import yaml

    def load(rel: str) -> Any:
        return yaml.safe_load((ROOT / rel).read_text(encoding="utf-8"))

    compose, prom = load("docker-compose.yml"), load("deploy/prometheus/prometheus.yml")
    datasource = load("deploy/grafana/provisioning/datasources/prometheus.yml")["datasources"][0]
    provider = load("deploy/grafana/provisioning/dashboards/seq2serve.yml")["providers"][0]
    dashboard = json.loads((DEPLOY / "grafana/dashboards/seq2serve.json").read_text(encoding="utf-8"))
    services, problems = compose["services"], []
    job = next((j for j in prom["scrape_configs"] if j["job_name"] == "seq2serve"), None)
    targets = [t for sc in (job or {}).get("static_configs", []) for t in sc["targets"]]
    if "seq2serve" not in services or "seq2serve:8000" not in targets or (job or {}).get("metrics_path") != "/metrics":
        problems.append("prometheus.yml: job seq2serve must scrape seq2serve:8000/metrics (the compose service)")
    if datasource["url"] != "http://prometheus:9090" or "prometheus" not in services:
        problems.append("grafana datasource url must be the compose prometheus service, http://prometheus:9090")
    default = next(v for v in dashboard["templating"]["list"] if v["type"] == "datasource")["current"]["value"]
    if default != datasource["uid"]:
        problems.append(f"dashboard's default datasource {default} is not the provisioned uid {datasource['uid']}")
    mounts = " ".join(services["grafana"]["volumes"])
    if f":{provider['options']['path']}:" not in mounts:
        problems.append(f"grafana dashboards provider reads {provider['options']['path']}, which compose does not mount")
    fail(problems)
    print("ok wiring: compose services, Prometheus scrape target, Grafana datasource uid and dashboard mount agree")


def check_k8s_drift(_: argparse.Namespace) -> None:
    """The GPU Deployment may differ from the CPU one only in image, device, resources and tolerations."""
    import yaml

    def normal(path: Path) -> dict[str, Any]:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        pod = doc["spec"]["template"]["spec"]
        pod.pop("tolerations", None)
        for c in pod["containers"]:
            c.pop("image"), c.pop("resources")
            c["env"] = [e for e in c["env"] if e["name"] not in {"SEQ2SERVE_DEVICE"}]
        return doc

    cpu, gpu = normal(DEPLOY / "k8s/deployment.yaml"), normal(DEPLOY / "k8s/gpu/deployment.yaml")
    if cpu != gpu:
        fail(["deploy/k8s/gpu/deployment.yaml has drifted from deploy/k8s/deployment.yaml beyond image/device/resources"])
    print("ok k8s-drift: GPU Deployment = CPU Deployment + image, SEQ2SERVE_DEVICE, resources, tolerations")


def main() -> None:
    checks: dict[str, Callable[[argparse.Namespace], None]] = {
        "constraints": check_constraints,
        "context": check_context,
        "stage": check_stage,
        "freeze": check_freeze,
        "imports": check_imports,
        "metrics": check_metrics,
        "wiring": check_wiring,
        "k8s-drift": check_k8s_drift,
    }
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="check", required=True)
    for name, fn in checks.items():
        sp = sub.add_parser(name, help=fn.__doc__)
        if name == "stage":
            sp.add_argument("dir", type=Path)
        if name == "freeze":
            sp.add_argument("file", type=Path)
    args = p.parse_args()
    checks[args.check](args)


if __name__ == "__main__":
    main()
