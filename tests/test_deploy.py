"""The deployment files: the container file and the systemd unit.

No container engine runs on the development machine nor in CI, so the image itself is not built
here (``docs/operations.md`` says so): the container file is linted by hadolint, its essentials
are read from it, and its health check command is run against a real daemon. The unit is checked
by ``systemd-analyze`` (``verify``, and ``security`` for its exposure), and the daemon is run
within the file-system confinement the unit sets (a private mount namespace). The wheel the image
installs is built and installed without Rust by ``.ci/wheel``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from api_daemon import api_config, running_daemon, still_clip
from vsa_stream import config
from vsa_stream.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
UNIT = ROOT / "examples" / "deploy" / "vsa-stream.service"
EXAMPLE = ROOT / "examples" / "deploy" / "vsa.yaml"
#: Where the unit expects the wheel's console script (a virtual environment in /opt).
UNIT_BINARY = "/opt/vsa-stream/bin/vsa-stream"


def tool(name: str) -> str:
    """A command of this environment (the virtual environment's bin first), or a skip."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed")
    return found


# --- the container file -----------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str


def stages(text: str) -> list[list[Instruction]]:
    """The instructions of each stage (continuation lines joined, comments dropped, the global
    ``ARG`` defaults put into ``FROM`` lines)."""
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    out: list[list[Instruction]] = []
    global_args: dict[str, str] = {}  # ARG before the first FROM: usable in FROM lines
    for line in logical:
        keyword, _, args = line.partition(" ")
        instruction = Instruction(keyword.upper(), args.strip())
        if instruction.keyword == "ARG" and not out:
            name, _, default = instruction.args.partition("=")
            global_args[name] = default
        if instruction.keyword == "FROM":
            base = re.sub(r"\$\{(\w+)\}", lambda m: global_args[m.group(1)], instruction.args)
            instruction = Instruction("FROM", base)
            out.append([])
        if out:
            out[-1].append(instruction)
    return out


def only(stage: list[Instruction], keyword: str) -> list[str]:
    return [i.args for i in stage if i.keyword == keyword]


def test_container_file_passes_hadolint() -> None:
    result = subprocess.run(
        [tool("hadolint"), "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_container_builds_the_wheel_in_one_stage_and_runs_it_without_rust() -> None:
    build, *_, runtime = stages(DOCKERFILE.read_text(encoding="utf-8"))
    assert build[0].args.startswith("rust:")
    name = build[0].args.split()[-1]
    assert build[0].args.split()[-2].upper() == "AS"
    assert any("make wheel" in args for args in only(build, "RUN"))  # as CI builds it
    # The runtime stage takes the wheel from the build stage and compiles nothing.
    assert re.fullmatch(r"python:3\.1\d-slim-\w+ AS runtime", runtime[0].args)
    assert any(args.startswith(f"--from={name} ") for args in only(runtime, "COPY"))
    runtime_text = " ".join(i.args for i in runtime).lower()
    for word in ("cargo", "rustc", "rustup", "maturin", "build-essential", "gcc"):
        assert word not in runtime_text, word
    installs = [args for args in only(runtime, "RUN") if "pip install" in args]
    assert installs
    assert all("--only-binary=:all:" in args for args in installs)


def test_container_runs_as_an_unprivileged_user_with_the_state_as_a_volume() -> None:
    *_, runtime = stages(DOCKERFILE.read_text(encoding="utf-8"))
    (user,) = only(runtime, "USER")
    uid = user.split(":")[0]
    assert uid not in ("root", "0")
    assert any(f"--uid {uid}" in args for args in only(runtime, "RUN"))  # created in the image
    workdir = only(runtime, "WORKDIR")[-1]
    (volume,) = only(runtime, "VOLUME")
    assert workdir in json.loads(volume)  # a relative state_dir (the default) is in the volume
    assert json.loads(only(runtime, "CMD")[-1])[0] == "run"
    assert only(runtime, "ENTRYPOINT") == ['["vsa-stream"]']


def test_container_health_check_follows_the_daemon(tmp_path: Path) -> None:
    *_, runtime = stages(DOCKERFILE.read_text(encoding="utf-8"))
    (check,) = only(runtime, "HEALTHCHECK")
    command = json.loads(check[check.index("CMD ") + 4 :])
    assert "/healthz" in " ".join(command)
    assert command[0] == "python"
    command[0] = sys.executable  # the image's python is the one its wheel is installed in
    clip = still_clip(tmp_path / "still.mp4")

    def probe(url: str) -> int:
        env = {**os.environ, "VSA_HEALTH_URL": url}
        return subprocess.run(command, env=env, capture_output=True, timeout=30).returncode

    with running_daemon(api_config(tmp_path / "state", clip)) as run:
        url = f"{run.url}/healthz"
        assert probe(url) == 0
    assert probe(url) != 0  # the daemon stopped: unhealthy


def test_deployment_example_configuration_fits_the_image_and_the_unit() -> None:
    env = {
        "CAMERA_URL": "rtsp://192.0.2.1:554/stream1",
        "VSA_OPERATOR_TOKEN": "operator-token-0123456789",
        "VSA_VIEWER_TOKEN": "viewer-token-0123456789",
    }
    cfg = config.load(EXAMPLE, env=env)
    assert cfg.server.enabled  # the health check's /healthz
    assert (cfg.server.host, cfg.server.port) == ("127.0.0.1", 8080)
    assert config.load(EXAMPLE, env={**env, "VSA_HOST": "0.0.0.0"}).server.host == "0.0.0.0"
    # Relative: in the image's volume and the unit's StateDirectory (their working directory).
    assert not os.path.isabs(cfg.state_dir)
    assert cfg.sinks.jsonl is not None
    assert cfg.sinks.jsonl.path.startswith(cfg.state_dir + "/")  # writable under the unit
    with pytest.raises(ConfigError, match="CAMERA_URL"):  # a secret forgotten: named
        config.load(EXAMPLE, env={k: v for k, v in env.items() if k != "CAMERA_URL"})


# --- the systemd unit -------------------------------------------------------------------------


def unit_settings(text: str) -> dict[str, list[str]]:
    """``section.Key`` -> every value it is given, in order."""
    settings: dict[str, list[str]] = {}
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        settings.setdefault(f"{section}.{key}", []).append(value)
    return settings


def installed_unit(folder: Path, text: str) -> Path:
    """The unit as installed on this machine: ``systemd-analyze verify`` checks that each
    command exists, so the wheel's console script of this environment stands in for
    /opt/vsa-stream/bin/vsa-stream."""
    path = folder / UNIT.name
    path.write_text(text.replace(UNIT_BINARY, tool("vsa-stream")), encoding="utf-8")
    return path


def analyze(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("systemd-analyze"), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_systemd_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    text = UNIT.read_text(encoding="utf-8")
    assert UNIT_BINARY in text
    result = analyze("verify", installed_unit(tmp_path, text))
    # verify exits 0 on an unknown key or section, only warning: the output must be empty too.
    assert result.returncode == 0, result.stderr
    assert result.stdout + result.stderr == ""
    misspelt = tmp_path / "misspelt"
    misspelt.mkdir()
    result = analyze("verify", installed_unit(misspelt, text.replace("ProtectSystem=", "Protect=")))
    assert "Unknown key" in result.stderr  # the check above would see a mistake


def test_systemd_unit_is_hardened_and_reloads_with_sighup(tmp_path: Path) -> None:
    settings = unit_settings(UNIT.read_text(encoding="utf-8"))

    def value(key: str) -> str:
        return settings[f"Service.{key}"][-1]

    assert value("User") not in ("", "root", "0")
    assert value("ProtectSystem") == "strict"
    assert value("NoNewPrivileges") == "true"
    assert value("WorkingDirectory") in value("ReadWritePaths").split()
    assert value("Restart") == "on-failure"
    assert "2" in value("RestartPreventExitStatus").split()  # a bad configuration: no loop
    assert re.fullmatch(r"/bin/kill -HUP \$MAINPID", value("ExecReload"))
    assert value("ExecStart").split()[1:] == ["run", "/etc/vsa/vsa.yaml"]
    # systemd's own score: exposure at most 2.0 of 10 ("OK"; a unit without hardening is 9.6).
    result = analyze(
        "security", "--offline=true", "--threshold=20", installed_unit(tmp_path, UNIT.read_text())
    )
    assert result.returncode == 0, result.stdout[-2000:]
    assert re.search(r"Overall exposure level for vsa-stream\.service: [01]\.\d OK", result.stdout)


CONFINE = """
set -e
if [ -n "$1" ]; then mount --bind "$1" "$1"; fi
mount -o remount,bind,ro /
cd "$2"
exec "$3" -c "$5" run "$4"
"""
#: ``MemoryDenyWriteExecute=true`` as the kernel enforces it (``PR_SET_MDWE``, Linux 6.3+; kept
#: across exec): no mapping both writable and executable, none made executable later.
MDWE_THEN_CLI = """
import ctypes, os, runpy, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(65, 1, 0, 0, 0) != 0:  # PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN
    sys.exit(f"PR_SET_MDWE: {os.strerror(ctypes.get_errno())} (Linux 6.3+ needed)")
sys.argv[0] = "vsa-stream"
runpy.run_module("vsa_stream", run_name="__main__")
"""


def test_daemon_runs_within_the_units_file_system_confinement(tmp_path: Path) -> None:
    """``ProtectSystem=strict`` with ``ReadWritePaths`` = ``WorkingDirectory``: the file system
    read-only but for the state folder (a private mount namespace, as systemd builds it), and
    ``MemoryDenyWriteExecute``. The daemon must need nothing else writable (no cache, no home,
    no temporary file) and no writable executable memory."""
    if os.geteuid() != 0:
        pytest.skip("building a mount namespace needs root (CI runs as root)")
    settings = unit_settings(UNIT.read_text(encoding="utf-8"))
    assert settings["Service.MemoryDenyWriteExecute"] == ["true"]
    writable = settings["Service.ReadWritePaths"][-1].split()
    assert settings["Service.WorkingDirectory"][-1] in writable
    home = tmp_path / "var-lib-vsa"  # stands for /var/lib/vsa
    home.mkdir(mode=0o700)
    text = EXAMPLE.read_text(encoding="utf-8").replace("port: 8080", "port: 0")
    (tmp_path / "vsa.yaml").write_text(text, encoding="utf-8")
    env = {
        **os.environ,
        "CAMERA_URL": str(still_clip(tmp_path / "clip.mp4")),
        "VSA_OPERATOR_TOKEN": "operator-token-0123456789",
        "VSA_VIEWER_TOKEN": "viewer-token-0123456789",
        "HOME": str(tmp_path / "no-home"),
    }

    def confined(writable_home: bool) -> subprocess.CompletedProcess[str]:
        unshare = [tool("unshare"), "--mount", "--propagation", "private", "sh", "-c", CONFINE]
        bind = str(home) if writable_home else ""
        args = [bind, str(home), sys.executable, str(tmp_path / "vsa.yaml"), MDWE_THEN_CLI]
        return subprocess.run(
            [*unshare, "sh", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    refused = confined(writable_home=False)  # the confinement is real: nothing writable
    assert refused.returncode == 2, refused.stderr[-2000:]
    assert "cannot create files" in refused.stderr
    result = confined(writable_home=True)
    assert result.returncode == 0, result.stderr[-2000:]
    state = home / "vsa-state"
    assert {p.name for p in state.iterdir()} >= {"outbox.sqlite3", "audit.jsonl"}
    assert '"camera finished"' in result.stderr
    assert not (tmp_path / "no-home").exists()
