"""`make image-check`: build the CPU image from the project's Dockerfile with podman, run it, and check it.

    python deploy/image_check.py [--keep] [--skip-compose] [--port 18000] [--if-root]

No Docker engine runs on our machines, and no base image can be pulled, but Debian's podman and debootstrap
work. Each step prints `ok ...` or `FAIL ...` (and stops):

 1. base      debootstrap --variant=minbase bookworm with Debian's python3, python3-venv and ca-certificates,
              `podman import`ed as the base image; the Dockerfile's public python:3.11 base stays its default
 2. build     `podman build` of the Dockerfile (FLAVOR=cpu, PYTHON_BASE=that base). This machine's pip
              configuration reaches the build as the `pipconf` build secret, the local paths it names as
              read-only bind mounts; neither is in the image (checked) nor in the repo
 3. run       `podman run` as a user would (`docker run`), time from start to /readyz 200, every model of
              the task registry listed by /v1/models
 4. user      the server process runs as a non-root user (read from the host's /proc)
 5. health    the image's HEALTHCHECK command passes (`podman healthcheck run`)
 6. examples  every examples/*.sh against the container: each answer is JSON, the last one a 4xx error
 7. writes    `podman diff`: nothing written outside the declared writable path (/tmp)
 8. drain     `podman stop` with requests in flight: each held request is answered 200, the container
              exits 0 within the grace period (compose's stop_grace_period)
 9. compose   docker-compose.yml's seq2serve service under podman-compose (read-only root, tmpfs /tmp,
              no capabilities), host network; Debian's Prometheus scrapes it with deploy/prometheus's
              scrape config; stop exits 0. The Prometheus and Grafana images cannot be pulled here: those
              two services stay checked statically (make deploy-check)

Everything runs in a podman store of its own under $IMAGE_CHECK_DIR (default /tmp/seq2serve-image-check),
with deploy/podman/containers.conf; every container and image made is removed at the end (--keep keeps
the store, so a rerun reuses its layers). Needs root, podman, runc, debootstrap and prometheus
(scripts/install-debian-deps.sh --image installs them). deploy/README.md records a full run's output.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from service.tasks import MODELS  # noqa: E402  (the registry: the models the image must serve)

WORK = Path(os.environ.get("IMAGE_CHECK_DIR", "/tmp/seq2serve-image-check"))
CONTAINERS_CONF = ROOT / "deploy" / "podman" / "containers.conf"
BASE = "localhost/seq2serve-base:bookworm"
IMAGE = "localhost/seq2serve:cpu"  # docker-compose.yml's `image: seq2serve:cpu` resolves to it
CONTAINER = "seq2serve-image-check"
SUITE = "bookworm"  # Debian 12: its python3 is 3.11, as the project's
PUBLIC_MIRROR = "http://deb.debian.org/debian"
GRACE_S = 70  # docker-compose.yml's stop_grace_period
WRITABLE = ("/tmp",)  # the writable paths compose (tmpfs) and the Kubernetes Deployment (emptyDir) declare
COMPOSE_TOOL = "podman-compose==1.6.0"
PROMETHEUS = "/usr/bin/prometheus"
IMAGE_CA_FILE = "/etc/ssl/certs/ca-certificates.crt"  # Debian's bundle, in the base (ca-certificates)

RESULTS: list[str] = []
FIGURES: dict[str, Any] = {}


class CheckFailed(Exception):
    pass


def ok(line: str) -> None:
    RESULTS.append(line)
    print(f"ok {line}", flush=True)


def require(cond: bool, why: str) -> None:
    if not cond:
        raise CheckFailed(why)


def store_args() -> list[str]:
    """The check's own podman store, for podman and podman-compose alike."""
    return ["--root", str(WORK / "storage"), "--runroot", str(WORK / "run")]


def podman_cmd(*args: str) -> list[str]:
    return ["podman", *store_args(), *args]


def podman_env() -> dict[str, str]:
    return {**os.environ, "CONTAINERS_CONF": str(CONTAINERS_CONF)}


def podman(*args: str, check: bool = True, **kw: Any) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(podman_cmd(*args), env=podman_env(), text=True, capture_output=True, check=False, **kw)
    if check and done.returncode != 0:
        raise CheckFailed(f"podman {' '.join(args[:3])} ... exited {done.returncode}:\n{done.stdout}{done.stderr}")
    return done


# --- 1. base -----------------------------------------------------------------------------------------


def apt_mirror() -> str:
    """The machine's own Debian mirror (its apt sources), so debootstrap downloads where apt does."""
    for f in sorted(Path("/etc/apt/sources.list.d").glob("*.sources")):
        for stanza in f.read_text().split("\n\n"):
            fields = dict(re.findall(r"^(\w[\w-]*):\s*(.+)$", stanza, re.M))
            if SUITE in fields.get("Suites", "").split() and "main" in fields.get("Components", ""):
                return fields["URIs"].split()[0]
    lists = Path("/etc/apt/sources.list")
    if lists.exists() and (m := re.search(rf"^deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+{SUITE}\s", lists.read_text(), re.M)):
        return m.group(1)
    return PUBLIC_MIRROR


def build_base() -> None:
    if podman("image", "exists", BASE, check=False).returncode == 0:
        ok(f"base: {BASE} (kept from an earlier run)")
        return
    rootfs = WORK / "rootfs"
    shutil.rmtree(rootfs, ignore_errors=True)
    mirror = apt_mirror()
    t0 = time.monotonic()
    subprocess.run(["debootstrap", "--variant=minbase", "--include=python3,python3-venv,ca-certificates", SUITE,
                    str(rootfs), mirror], check=True, capture_output=True)  # fmt: skip
    # The image names the public mirror, not this machine's, and carries no package lists.
    (rootfs / "etc/apt/sources.list").write_text(f"deb {PUBLIC_MIRROR} {SUITE} main\n")
    for junk in ("var/lib/apt/lists", "var/cache/apt"):
        shutil.rmtree(rootfs / junk, ignore_errors=True)
        (rootfs / junk).mkdir(parents=True)
    tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
    podman("import", "--change", 'CMD ["python3"]', "-", BASE, stdin=tar.stdout)
    require(tar.wait() == 0, "tar of the base root file system failed")
    shutil.rmtree(rootfs)
    version = podman("run", "--rm", BASE, "python3", "--version").stdout.strip()
    ok(f"base: debootstrap {SUITE} minbase from {mirror} + Debian's {version}, imported as {BASE} "
       f"in {time.monotonic() - t0:.0f} s")  # fmt: skip


# --- 2. build ----------------------------------------------------------------------------------------


def pip_settings() -> dict[str, str]:
    """This machine's pip configuration, as `pip config list` resolves it (files and PIP_* variables)."""
    listed = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, check=True)
    settings: dict[str, str] = {}
    for line in listed.stdout.splitlines():
        if m := re.match(r"^[^.]*\.([\w-]+)='(.*)'$", line):
            settings[m.group(1)] = m.group(2)
    return settings


def local_paths(settings: dict[str, str]) -> list[str]:
    """The local folders the pip settings name: find-links folders, and each file:// index with its parent
    folder (a mirror's `simple/` pages link to files beside it, `../files/...`)."""
    tokens = [tok for v in settings.values() for tok in v.split()]
    paths = {tok for tok in tokens if tok.startswith("/")}
    paths |= {str(Path(tok.removeprefix("file://")).parent) for tok in tokens if tok.startswith("file:///")}
    return sorted(p for p in paths if Path(p).is_dir())


def build_pip_config(settings: dict[str, str]) -> tuple[str, list[str], list[str]]:
    """The build's pip.conf text, the `podman build -v` mounts it needs, and the host paths it names.

    A bind mount's target is left in the image as an empty file or folder when it did not exist there, so
    every mount lands on a path the base already has: the local folders under their common ancestor at
    /mnt (empty in Debian images), the CA file over the base's own bundle (the host's may hold a proxy's CA).
    This machine's `constraint` (a cap on the torch releases on its disk) is left out: the constraints files
    pin every package the build installs."""
    settings = {k: v for k, v in settings.items() if k != "constraint"}
    mounts: list[str] = []
    if cert := settings.pop("cert", None):
        mounts += ["-v", f"{cert}:{IMAGE_CA_FILE}:ro"]
        settings["cert"] = IMAGE_CA_FILE
    folders = local_paths(settings)
    if folders:
        top = os.path.commonpath(folders)
        require(top != "/", f"pip's local folders {folders} share no folder below / to mount at /mnt")
        mounts += ["-v", f"{top}:/mnt:ro"]
        settings = {k: v.replace(top, "/mnt") for k, v in settings.items()}
    text = "[global]\n" + "".join(f"{k} = {v}\n" for k, v in settings.items())
    return text, mounts, folders


def build_image() -> None:
    settings = pip_settings()
    conf_text, mounts, folders = build_pip_config(settings)
    conf = WORK / "pip.conf"
    conf.write_text(conf_text)
    t0 = time.monotonic()
    podman("build", "--format", "docker", "--network", "host", "--secret", f"id=pipconf,src={conf}", *mounts,
           "--build-arg", "FLAVOR=cpu", "--build-arg", f"PYTHON_BASE={BASE}",
           "--build-arg", "TORCH_INDEX_URL=https://pypi.org/simple", "-t", IMAGE, str(ROOT), timeout=3600)  # fmt: skip
    FIGURES["build_s"] = round(time.monotonic() - t0)
    passed = re.findall(r"^([\w-]+) =", conf_text, re.M)
    size = int(podman("image", "inspect", "--format", "{{.Size}}", IMAGE).stdout)
    FIGURES["image_mb"] = round(size / 1e6)
    # The pip configuration stays out: no pip.conf, no mount points, none of its values in the history.
    history = podman("history", "--no-trunc", "--format", "{{.CreatedBy}}", IMAGE).stdout
    leaked = [v for v in settings.values() if len(v) > 8 and v in history]
    require(not leaked, f"the image history names the build machine's pip settings: {leaked}")
    suspects = ["/etc/pip.conf", "/etc/xdg/pip", *folders]
    probe = f"import os; print([p for p in {suspects!r} if os.path.exists(p)] + [f'/mnt/{{f}}' for f in os.listdir('/mnt')])"
    found = podman("run", "--rm", IMAGE, "python", "-c", probe).stdout.strip()
    require(found == "[]", f"the build left pip configuration or mount points in the image: {found}")
    ok(f"build: {IMAGE} from the Dockerfile (FLAVOR=cpu, PYTHON_BASE={BASE}) in {FIGURES['build_s']} s, "
       f"{FIGURES['image_mb']} MB; this machine's pip configuration ({', '.join(passed)}) passed as a "
       "build secret, its local folders and CA file as read-only mounts; none of it left in the image")  # fmt: skip


# --- 3-8. run ----------------------------------------------------------------------------------------


def wait_ready(url: str, container: str, timeout_s: float = 300) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return time.monotonic() - t0
        except httpx.TransportError:
            pass
        state = podman("inspect", "--format", "{{.State.Status}}", container, check=False).stdout.strip()
        require(state == "running", f"{container} is {state or 'gone'}:\n{logs(container)}")
        time.sleep(0.5)
    raise CheckFailed(f"/readyz not 200 after {timeout_s} s:\n{logs(container)}")


def logs(container: str) -> str:
    done = podman("logs", container, check=False)
    return (done.stdout + done.stderr)[-4000:]


def start(url: str, port: int) -> None:
    t0 = time.monotonic()
    podman("run", "-d", "--name", CONTAINER, "--network", "host", "-e", f"SEQ2SERVE_PORT={port}",
           "--stop-timeout", str(GRACE_S), IMAGE)  # fmt: skip
    wait_ready(url, CONTAINER)
    FIGURES["ready_s"] = round(time.monotonic() - t0, 1)
    served = sorted(m["name"] for m in httpx.get(f"{url}/v1/models", timeout=10).json()["models"])
    require(served == sorted(MODELS), f"/v1/models lists {served}, the registry has {sorted(MODELS)}")
    ok(f"run: `podman run {IMAGE}` ready (/readyz 200) {FIGURES['ready_s']} s after start, serving {', '.join(served)}")


def check_user() -> None:
    pid = podman("inspect", "--format", "{{.State.Pid}}", CONTAINER).stdout.strip()
    status = Path(f"/proc/{pid}/status").read_text()
    uids = re.search(r"^Uid:\s+(.+)$", status, re.M).group(1).split()  # type: ignore[union-attr]
    cmdline = Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ").strip()
    require(all(u != "0" for u in uids), f"PID 1 ({cmdline}) runs with uids {uids}")
    ok(f"user: the container's PID 1 ({cmdline}) runs as uid {uids[0]} (real, effective, saved, fs: {' '.join(uids)})")


def check_health() -> None:
    test = podman("inspect", "--format", "{{.Config.Healthcheck.Test}}", CONTAINER).stdout.strip()
    require("healthcheck.py" in test, f"the image has no HEALTHCHECK (got {test!r}); build with --format docker")
    done = podman("healthcheck", "run", CONTAINER, check=False)
    require(done.returncode == 0, f"HEALTHCHECK failed ({done.returncode}): {done.stdout}{done.stderr}")
    ok(f"health: the image's HEALTHCHECK {test} passes")


def run_examples(url: str) -> None:
    scripts = sorted((ROOT / "examples").glob("*.sh"))
    for script in scripts:
        done = subprocess.run(["bash", str(script)], env={**os.environ, "SEQ2SERVE_URL": url}, capture_output=True,
                              text=True, timeout=300, check=False)  # fmt: skip
        require(done.returncode == 0, f"{script.name} exited {done.returncode}: {done.stderr[-2000:]}")
        answers = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
        good = len(answers) >= 2 and "error" in answers[-1] and all("error" not in a for a in answers[:-1])
        require(good, f"{script.name}: expected JSON answers, the last one an error:\n{done.stdout[-3000:]}")
    ok(f"examples: {len(scripts)} scripts ({', '.join(s.name for s in scripts)}) answered as documented")


def writable(path: str) -> bool:
    return any(path == w or path.startswith(w + "/") for w in WRITABLE)


def changed_paths(container: str) -> set[str]:
    return {line.strip() for line in podman("diff", container).stdout.splitlines() if line.strip()}


def check_writes() -> None:
    # What the engine itself changes (mount points for /etc/hosts, /etc/resolv.conf) is measured on a
    # container of the same image that runs no server, and set apart.
    podman("run", "--name", f"{CONTAINER}-baseline", IMAGE, "python", "-c", "pass")
    engine = changed_paths(f"{CONTAINER}-baseline")
    podman("rm", f"{CONTAINER}-baseline")
    changed = changed_paths(CONTAINER) - engine
    outside = sorted(c for c in changed if not writable(c.split(maxsplit=1)[1]))
    require(not outside, f"written outside {WRITABLE}: {outside}")
    ok(
        f"writes: after serving the examples, `podman diff` lists {len(changed)} paths the server changed, none outside "
        f"{', '.join(WRITABLE)} (and {len(engine)} the engine itself changes: {', '.join(sorted(engine)) or 'none'})"
    )


def translate_body(seed: int) -> dict[str, Any]:
    words = ["Ein", "Mann", "mit", "einem", "roten", "Hut", "fährt", "Fahrrad", "durch", "die", "Stadt"]
    text = " ".join(words[(seed + i) % len(words)] for i in range(24)) + "."
    return {"text": text, "beam_size": 12, "n_best": 3, "return_alignment": True}


async def in_flight(client: httpx.AsyncClient) -> float:
    text = (await client.get("/metrics")).text
    match = re.search(r'^seq2serve_in_flight_requests\{endpoint="/translate"\} ([\d.]+)$', text, re.M)
    return float(match.group(1)) if match else 0.0


async def requests_during_stop(url: str, n: int) -> tuple[list[Any], float, float]:
    """Send n slow requests; once the server holds several, `podman stop` it (in a thread) and collect all."""
    stop: dict[str, float] = {}

    def stop_container() -> None:
        t0 = time.monotonic()
        podman("stop", "-t", str(GRACE_S), CONTAINER, timeout=GRACE_S + 30)
        stop["s"] = time.monotonic() - t0

    async with httpx.AsyncClient(base_url=url, timeout=GRACE_S) as c:
        sent = [asyncio.create_task(c.post("/translate", json=translate_body(s))) for s in range(n)]
        deadline = time.monotonic() + 20
        while (held := await in_flight(c)) < 4 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        require(held >= 4, f"only {held} requests got in flight: `podman stop` would find an idle server")
        stopper = threading.Thread(target=stop_container)
        stopper.start()
        results = await asyncio.gather(*sent, return_exceptions=True)
    await asyncio.to_thread(stopper.join)
    return results, held, stop.get("s", float("nan"))


def check_drain(url: str) -> None:
    results, held, stop_s = asyncio.run(requests_during_stop(url, 24))
    answered = [r for r in results if isinstance(r, httpx.Response)]
    refused = [r for r in results if isinstance(r, httpx.ConnectError)]
    require(len(answered) + len(refused) == len(results), f"dropped: {[type(r).__name__ for r in results]}")
    require(len(answered) >= held and all(r.status_code == 200 for r in answered),
            f"{held} held, answers {[r.status_code for r in answered]}")  # fmt: skip
    code = podman("inspect", "--format", "{{.State.ExitCode}}", CONTAINER).stdout.strip()
    text = logs(CONTAINER)
    require(code == "0", f"the container exited {code}:\n{text}")
    require(stop_s < GRACE_S, f"`podman stop` took {stop_s:.0f} s, the grace period is {GRACE_S} s")
    require("batchers drained and stopped" in text, f"no drain in the log:\n{text}")
    FIGURES["stop_s"] = round(stop_s, 1)
    ok(f"drain: `podman stop` with {held:.0f} requests in flight: {len(answered)} answered 200, {len(refused)} "
       f"refused before connecting, exit code 0 after {stop_s:.1f} s (grace {GRACE_S} s)")  # fmt: skip


# --- 9. compose --------------------------------------------------------------------------------------


def compose_tool() -> list[str]:
    exe = Path(sys.executable).parent / "podman-compose"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", COMPOSE_TOOL], check=True)
    files = ["-f", str(ROOT / "docker-compose.yml"), "-f", str(WORK / "compose.override.yml")]
    return [str(exe), "--podman-args", shlex.join(store_args()), *files]


def compose(tool: list[str], *args: str) -> str:
    done = subprocess.run([*tool, *args], env=podman_env(), capture_output=True, text=True, check=False, timeout=600)
    require(done.returncode == 0, f"podman-compose {' '.join(args)} exited {done.returncode}:\n{done.stdout}{done.stderr}")
    return done.stdout


def scrape_with_prometheus(port: int) -> str:
    """Debian's Prometheus with deploy/prometheus's scrape config, pointed at the service on loopback."""
    if not Path(PROMETHEUS).exists():
        return "Prometheus not installed: scrape not checked"
    prom_port = port + 1
    conf = (ROOT / "deploy/prometheus/prometheus.yml").read_text()
    conf = conf.replace("seq2serve:8000", f"127.0.0.1:{port}").replace("localhost:9090", f"127.0.0.1:{prom_port}")
    (WORK / "prometheus.yml").write_text(conf)
    data = Path(tempfile.mkdtemp(dir=WORK))
    cmd = [PROMETHEUS, f"--config.file={WORK / 'prometheus.yml'}", f"--storage.tsdb.path={data}",
           f"--web.listen-address=127.0.0.1:{prom_port}"]  # fmt: skip
    with (WORK / "prometheus.log").open("wb") as log:
        prom = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    try:
        query = f"http://127.0.0.1:{prom_port}/api/v1/query"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                got = httpx.get(query, params={"query": 'seq2serve_requests_total{job="seq2serve"}'}, timeout=2).json()
                if series := got["data"]["result"]:
                    return f"Prometheus {prometheus_version()} scraped {len(series)} seq2serve_requests_total series"
            except (httpx.TransportError, ValueError, KeyError):
                pass
            time.sleep(1)
        raise CheckFailed(f"Prometheus found no seq2serve series in 60 s:\n{(WORK / 'prometheus.log').read_text()[-2000:]}")
    finally:
        prom.terminate()
        prom.wait(timeout=30)


def prometheus_version() -> str:
    out = subprocess.run([PROMETHEUS, "--version"], capture_output=True, text=True, check=False)
    m = re.search(r"version (\S+)", out.stdout + out.stderr)
    return m.group(1) if m else "?"


def check_compose(port: int) -> None:
    # Host network: podman's bridge networks need iptables, which this sandbox lacks; the published port
    # moves to the check's own.
    (WORK / "compose.override.yml").write_text(
        f'services:\n  seq2serve:\n    network_mode: host\n    environment:\n      SEQ2SERVE_PORT: "{port}"\n'
    )
    tool = compose_tool()
    url = f"http://127.0.0.1:{port}"
    compose(tool, "up", "-d", "--no-build", "seq2serve")
    name = podman("ps", "--filter", "label=com.docker.compose.service=seq2serve", "--format", "{{.Names}}").stdout.split()
    require(len(name) == 1, f"expected one seq2serve container, found {name}")
    ready_s = wait_ready(url, name[0])
    cfg = json.loads(podman("inspect", name[0]).stdout)[0]["HostConfig"]
    require(cfg["ReadonlyRootfs"] and "/tmp" in cfg.get("Tmpfs", {}), f"not read-only with a /tmp tmpfs: {cfg}")
    require(httpx.post(f"{url}/hull", json={"points": [[0, 0], [4, 0], [2, 1], [4, 3], [0, 3]]}, timeout=10).status_code == 200,
            "POST /hull failed under compose")  # fmt: skip
    scraped = scrape_with_prometheus(port)
    compose(tool, "stop", "seq2serve")
    code = podman("inspect", "--format", "{{.State.ExitCode}}", name[0]).stdout.strip()
    require(code == "0", f"the compose service exited {code}:\n{logs(name[0])}")
    compose(tool, "down")
    ok(f"compose: docker-compose.yml's seq2serve service (read-only root, tmpfs /tmp, cap_drop ALL) ready in "
       f"{ready_s:.1f} s, served /hull; {scraped}; stopped with exit code 0")  # fmt: skip


# --- main --------------------------------------------------------------------------------------------


def clean_up(keep: bool) -> None:
    podman("rm", "-af", "-t", "5", check=False)
    if keep:
        return
    podman("rmi", "-af", check=False)
    podman("volume", "rm", "-af", check=False)
    subprocess.run(["umount", "-R", str(WORK / "storage" / "overlay")], capture_output=True, check=False)
    shutil.rmtree(WORK, ignore_errors=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--keep", action="store_true", help="keep the podman store (images, layers) for a rerun")
    p.add_argument("--skip-compose", action="store_true", help="skip step 9")
    p.add_argument("--port", type=int, default=int(os.environ.get("IMAGE_CHECK_PORT", "18000")))
    p.add_argument("--if-root", action="store_true", help="skip (exit 0) when not root: how `make test` runs it")
    args = p.parse_args()
    if os.geteuid() != 0:
        print("image-check needs root (debootstrap; podman's runc without user namespaces)", flush=True)
        return 0 if args.if_root else 1
    WORK.mkdir(parents=True, exist_ok=True)
    url = f"http://127.0.0.1:{args.port}"
    steps: list[Callable[[], None]] = [
        build_base, build_image, lambda: start(url, args.port), check_user, check_health,
        lambda: run_examples(url), check_writes, lambda: check_drain(url),
    ]  # fmt: skip
    if not args.skip_compose:
        steps.append(lambda: check_compose(args.port))
    t0 = time.monotonic()
    try:
        for step in steps:
            step()
    except CheckFailed as exc:
        print(f"FAIL {exc}", flush=True)
        return 1
    finally:
        clean_up(args.keep)
    FIGURES["total_s"] = round(time.monotonic() - t0)
    print(f"\n== image-check: {len(RESULTS)} checks passed in {FIGURES['total_s']} s: {json.dumps(FIGURES)}")
    print(f"   {shlex.join(['python', 'deploy/image_check.py', *sys.argv[1:]])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
