"""Run ``lgsp`` commands as real processes, for the end-to-end tests.

Each server is a subprocess of the ``lgsp`` script installed next to the test interpreter,
configured only through ``LGSP_*`` environment variables (as an operator would), listening on
a free port, with its stderr kept in a file for diagnostics. :func:`running` guarantees the
process is gone (killed and reaped) when the block exits, whatever happened inside it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

LGSP = Path(sys.executable).with_name("lgsp")

#: delivery tuned so that a killed process's leases run out quickly and retries come fast
CRASH_DELIVERY_ENV: Mapping[str, str] = {
    "LGSP_DELIVERY__WORKERS": "4",
    "LGSP_DELIVERY__LEASE_SECONDS": "3",
    "LGSP_DELIVERY__BACKOFF_BASE_SECONDS": "0.05",
    "LGSP_DELIVERY__BACKOFF_MAX_SECONDS": "0.5",
    "LGSP_DELIVERY__MAX_ATTEMPTS": "50",
    "LGSP_DELIVERY__BREAKER_RESET_SECONDS": "1",
}


def free_port() -> int:
    """A TCP port nobody listens on right now (bound to port 0, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def gateway_env(
    *, database_url: str, sandbox_port: int, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment of an ``lgsp`` process: this one's, minus any ``LGSP_`` leftovers."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LGSP_")}
    env.update(
        {
            "LGSP_DATABASE_URL": database_url,
            "LGSP_CONNECTORS__DVCQG__BASE_URL": f"http://127.0.0.1:{sandbox_port}/dvcqg",
            "LGSP_LOG_LEVEL": "WARNING",
            "LGSP_LOG_JSON": "false",
            # the test client sends as fast as it can; the per-client limit is not under test
            "LGSP_RATE_LIMIT": "1000000/second",
            **CRASH_DELIVERY_ENV,
        }
    )
    env.update(extra or {})
    return env


@dataclass
class Process:
    """One ``lgsp`` server process."""

    name: str
    port: int
    popen: subprocess.Popen[bytes]
    stderr_path: Path
    _stderr: IO[bytes]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> int:
        """SIGKILL: no shutdown hook runs, in-flight work is simply lost."""
        if self.alive():
            self.popen.send_signal(signal.SIGKILL)
        return self.popen.wait(timeout=30)

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait for the graceful shutdown; SIGKILL if it does not come."""
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                return self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
        return self.popen.wait(timeout=30)

    def stderr_tail(self, lines: int = 40) -> str:
        self._stderr.flush()
        text = self.stderr_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def close(self) -> None:
        """Kill (if still running), reap, and close the stderr file."""
        try:
            self.kill()
        finally:
            self._stderr.close()


def _spawn(
    name: str,
    args: Sequence[str],
    env: Mapping[str, str],
    log_dir: Path,
    port: int | None = None,
) -> Process:
    """``port``: where it answers, when the arguments do not say (``--port``)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    if port is None:
        port = int(args[args.index("--port") + 1])
    path = log_dir / f"{name}.stderr"
    stderr = path.open("ab")
    try:
        popen = subprocess.Popen(
            [str(LGSP), *args],
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    except BaseException:
        stderr.close()
        raise
    return Process(name, port, popen, path, stderr)


def wait_until_answering(proc: Process, path: str, *, timeout: float = 60.0) -> None:
    """Poll ``GET path`` until it answers 200; fail with the stderr tail if the process dies."""
    deadline = time.monotonic() + timeout
    last: str = "no answer yet"
    with httpx.Client(base_url=proc.base_url, timeout=2.0) as client:
        while time.monotonic() < deadline:
            if not proc.alive():
                raise RuntimeError(
                    f"{proc.name} exited with {proc.popen.returncode} before answering:\n"
                    f"{proc.stderr_tail()}"
                )
            try:
                response = client.get(path)
                if response.status_code == 200:
                    return
                last = f"HTTP {response.status_code}"
            except httpx.TransportError as exc:
                last = type(exc).__name__
            time.sleep(0.1)
    raise RuntimeError(
        f"{proc.name} did not answer {path} within {timeout} s ({last}):\n{proc.stderr_tail()}"
    )


def start(
    name: str,
    args: Sequence[str],
    env: Mapping[str, str],
    log_dir: Path,
    ready_path: str,
    *,
    port: int | None = None,
) -> Process:
    """Start ``lgsp args...`` and wait until ``ready_path`` answers; the caller closes it."""
    proc = _spawn(name, args, env, log_dir, port)
    try:
        wait_until_answering(proc, ready_path)
    except BaseException:
        proc.close()
        raise
    return proc


def start_worker(name: str, env: Mapping[str, str], log_dir: Path) -> Process:
    """``lgsp worker`` with its metrics on a free port (which it answers once started)."""
    port = free_port()
    worker_env = {**env, "LGSP_WORKER_METRICS_PORT": str(port)}
    return start(name, ["worker"], worker_env, log_dir, "/metrics", port=port)


@contextlib.contextmanager
def running(
    name: str, args: Sequence[str], env: Mapping[str, str], log_dir: Path, ready_path: str
) -> Iterator[Process]:
    """Start ``lgsp args...``, wait until ``ready_path`` answers, and always clean up."""
    proc = _spawn(name, args, env, log_dir)
    try:
        wait_until_answering(proc, ready_path)
        yield proc
    finally:
        proc.close()


def sandbox(
    env: Mapping[str, str], log_dir: Path, port: int
) -> contextlib.AbstractContextManager[Process]:
    """``lgsp sandbox --port P``: every simulator, each under ``/<slug>``."""
    return running("sandbox", ["sandbox", "--port", str(port)], env, log_dir, "/")


def server(
    env: Mapping[str, str], log_dir: Path, name: str = "server"
) -> contextlib.AbstractContextManager[Process]:
    """``lgsp serve --port P``: the API with its delivery workers, on a free port."""
    port = free_port()
    return running(name, ["serve", "--port", str(port)], env, log_dir, "/healthz")


def run_lgsp(
    env: Mapping[str, str], *args: str, timeout: float = 120.0
) -> subprocess.CompletedProcess[str]:
    """Run one ``lgsp`` command to completion (stdout and stderr captured as text)."""
    return subprocess.run(
        [str(LGSP), *args],
        env=dict(env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def create_client_key(env: Mapping[str, str], name: str, scopes: Sequence[str]) -> str:
    """``lgsp db upgrade``, then ``lgsp clients create NAME --scope ...``; the key."""
    upgraded = run_lgsp(env, "db", "upgrade")
    if upgraded.returncode != 0:
        raise RuntimeError(f"lgsp db upgrade failed ({upgraded.returncode}):\n{upgraded.stderr}")
    args = ["clients", "create", name]
    for scope in scopes:
        args += ["--scope", scope]
    result = run_lgsp(env, *args)
    if result.returncode != 0:
        raise RuntimeError(f"lgsp clients create failed ({result.returncode}):\n{result.stderr}")
    return result.stdout.strip().splitlines()[-1]
