"""Start Rasa, the gateway and the worker as child processes and wait until each is ready.

Shared by `make run`, `make eval`, `make bench` and the integration tests, so every one of them
runs the same real services the same way.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RASA = ROOT / ".venv-nlu" / "bin" / "rasa"
PYTHON = ROOT / ".venv" / "bin" / "python"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def model_path() -> Path:
    """The trained model for the current training data (`make model` trains it)."""
    result = subprocess.run([sys.executable, str(ROOT / "nlu" / "build.py"), "--print-path"],
                            capture_output=True, text=True, check=True)
    path = Path(result.stdout.strip())
    if not path.exists():
        raise SystemExit(f"No NLU model for the current training data ({path.name}): "
                         "run `make model` first.")
    return path


def answers(url: str, timeout: float = 2) -> bool:
    """One attempt: does `url` answer with anything but a server error?"""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status < 500
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def rasa_status_url(port: int, token: str) -> str:
    return f"http://127.0.0.1:{port}/status?token={token}"


def wait_http(url: str, timeout: float, process: subprocess.Popen | None = None,
              name: str = "service") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{name} exited with code {process.returncode} while starting")
        if answers(url):
            return
        time.sleep(0.3)
    raise TimeoutError(f"{name} did not answer {url} within {timeout:.0f} s")


def start_rasa(port: int, token: str, model: Path | None = None,
               log_path: Path | None = None) -> subprocess.Popen:
    model = model or model_path()
    # One replica is one process on one core (docs/scaling.md): TensorFlow's thread pools are
    # kept to one thread, so replicas on one machine do not fight over the cores.
    env = {"TF_INTRA_OP_PARALLELISM_THREADS": "1", "TF_INTER_OP_PARALLELISM_THREADS": "1",
           **os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3",
           "SQLALCHEMY_SILENCE_UBER_WARNING": "1"}
    out = log_path.open("w") if log_path else subprocess.DEVNULL
    return subprocess.Popen(
        # `--auth-token=<token>`: a random token may begin with "-", which argparse would
        # otherwise read as an option (Rasa then exits with code 2).
        [str(RASA), "run", "--enable-api", f"--auth-token={token}", "--port", str(port),
         "--interface", "127.0.0.1", "-m", str(model), "--log-file",
         str(log_path or os.devnull)],
        stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT, start_new_session=True)


def wait_rasa(port: int, token: str, process: subprocess.Popen | None,
              timeout: float = 120) -> None:
    wait_http(rasa_status_url(port, token), timeout, process, "Rasa")


def start_python(module_args: list[str], env: dict[str, str],
                 log_path: Path | None = None) -> subprocess.Popen:
    out = log_path.open("w") if log_path else None
    return subprocess.Popen([str(PYTHON), "-m", *module_args], env={**os.environ, **env},
                            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT if out else None,
                            start_new_session=True)


def stop(process: subprocess.Popen | None, timeout: float = 10) -> None:
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@dataclass
class Stack:
    gateway_url: str
    rasa_url: str
    rasa_token: str
    admin_token: str
    env: dict[str, str]
    processes: list[subprocess.Popen] = field(default_factory=list)


@contextmanager
def running_stack(*, port: int | None = None, prefix: str | None = None, worker: bool = False,
                  log_dir: Path | None = None, quiet: bool = True, rasa_replicas: int = 1,
                  extra_env: dict[str, str] | None = None) -> Iterator[Stack]:
    """Rasa (`rasa_replicas` servers) + gateway (+ worker) on free ports with fresh tokens;
    stopped on exit. `Stack.rasa_url` is the first Rasa; the gateway gets them all."""
    rasa_ports, gateway_port = [free_port() for _ in range(rasa_replicas)], port or free_port()
    rasa_token, admin_token = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    rasa_urls = [f"http://127.0.0.1:{rasa_port}" for rasa_port in rasa_ports]
    env = {"LOTSEN_PORT": str(gateway_port), "LOTSEN_RASA_URL": ",".join(rasa_urls),
           "LOTSEN_RASA_TOKEN": rasa_token, "LOTSEN_ADMIN_TOKEN": admin_token,
           "LOTSEN_LOG_LEVEL": "WARNING" if quiet else "INFO"}
    if prefix:
        env["LOTSEN_KEY_PREFIX"] = prefix
    env.update(extra_env or {})
    log = (lambda name: log_dir / f"{name}.log") if log_dir else (lambda name: None)
    stack = Stack(f"http://127.0.0.1:{gateway_port}", rasa_urls[0], rasa_token, admin_token, env)
    try:
        rasas = [start_rasa(rasa_port, rasa_token, log_path=log(f"rasa-{i}"))
                 for i, rasa_port in enumerate(rasa_ports)]
        stack.processes.extend(rasas)
        gateway = start_python(["bot", "serve"], env, log("gateway"))
        stack.processes.append(gateway)
        if worker:
            stack.processes.append(start_python(["bot", "worker"], env, log("worker")))
        wait_http(f"{stack.gateway_url}/healthz", 30, gateway, "gateway")
        for rasa_port, rasa in zip(rasa_ports, rasas, strict=True):
            wait_rasa(rasa_port, rasa_token, rasa)
        yield stack
    finally:
        for process in reversed(stack.processes):
            stop(process)
