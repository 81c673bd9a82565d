"""The same work over HTTP: a real `usm serve` process on a free port of 127.0.0.1, driven by one
keep-alive client (http.client, one connection reused for every request)."""

from __future__ import annotations

import http.client
import itertools
import json
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from bench import workflows
from bench.django_env import environment
from bench.stats import latencies_ms, log
from usm.model import reference_model

SERVER_THREADS = 4


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Client:
    """A client on one persistent connection, with a bearer token (the API) or a session cookie
    (the web pages); any answer but 200/201 is an error."""

    def __init__(self, port: int, token: str = "", session_cookie: str = "", timeout: float = 60):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        self.headers = {"Content-Type": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        if session_cookie:
            self.headers["Cookie"] = session_cookie

    def raw(self, method: str, path: str, payload: bytes | None = None) -> bytes:
        self.connection.request(method, path, body=payload, headers=self.headers)
        response = self.connection.getresponse()
        data = response.read()
        if response.status not in (200, 201):
            raise RuntimeError(f"{method} {path} answered {response.status}: {data[:300]!r}")
        return data

    def request(self, method: str, path: str, body: dict | None = None) -> dict | list:
        payload = json.dumps(body).encode() if body is not None else None
        return json.loads(self.raw(method, path, payload))

    def get(self, path: str):
        return self.request("GET", path)

    def post(self, path: str, body: dict | None = None):
        return self.request("POST", path, body or {})

    def close(self) -> None:
        self.connection.close()


@contextmanager
def server(database_url: str | None, data_dir: Path):
    """`usm serve` on a free port, stopped (its own process only) when done."""
    port = free_port()
    command = [
        sys.executable,
        "-c",
        "from usm.cli import main; main()",
        "serve",
        "--address",
        f"127.0.0.1:{port}",
        "--threads",
        str(SERVER_THREADS),
    ]
    process = subprocess.Popen(
        command,
        env=environment(database_url, data_dir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_until_up(port, process)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_up(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"usm serve stopped: {process.stderr.read().decode()[-2000:]}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/api/v1/openapi.json")
            if connection.getresponse().status == 200:
                connection.close()
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("usm serve did not answer within 60 s")


def registration_body(desk: workflows.Desk, summary: str, call_type: str = "incident") -> dict:
    return {
        "call_type": call_type,
        "summary": summary,
        "customer_id": desk.customer.pk,
        "requester_id": desk.requester.pk,
        "service_id": desk.service.pk,
        "impact": 2,
        "urgency": 2,
    }


def run_workflow(client: Client, desk: workflows.Desk, number: int, summary: str) -> None:
    """One workflow through the API, operation for operation as `workflows.run` does it."""
    by_depth: dict[int, str] = {}
    trigger = reference_model().workflow(number).trigger
    for op in workflows.operations(number):
        if op.kind == "register":
            body = registration_body(desk, summary, trigger)
            by_depth[0] = client.post("/api/v1/calls/", body)["number"]
        elif op.kind == "fork":
            child = client.post(f"/api/v1/calls/{by_depth[op.depth]}/fork", {"target": op.target})
            by_depth[op.depth + 1] = child["number"]
        else:
            client.post(f"/api/v1/calls/{by_depth[op.depth]}/steps/{op.step}/complete")


def measure(
    client: Client,
    desk: workflows.Desk,
    *,
    team_id: int,
    sample_numbers: list[str],
    registrations: int,
    workflow_runs: int,
    reads: int,
    monitoring_events: int,
    tag: str,
) -> dict[str, list[float] | float]:
    """Every HTTP figure of one size: latency samples (ms) or rates."""
    found: dict[str, list[float] | float] = {}
    counter = iter(range(10**9))
    found["register_ms"] = latencies_ms(
        lambda: client.post(
            "/api/v1/calls/", registration_body(desk, f"HTTP registration {tag} {next(counter)}")
        ),
        registrations,
    )
    log(f"http: {registrations} registrations done")
    run_workflow(client, desk, 4, f"HTTP warm-up {tag}")
    started = time.perf_counter()
    for n in range(workflow_runs):
        run_workflow(client, desk, 4, f"HTTP WF4 {tag} {n}")
    seconds = time.perf_counter() - started
    found["wf4_per_s"] = workflow_runs / seconds
    found["steps_per_s"] = workflow_runs * workflows.step_count(4) / seconds
    log(f"http: {workflow_runs} WF4 runs in {seconds:.1f} s")
    found["queue_ms"] = latencies_ms(
        lambda: client.get(f"/api/v1/calls/queue?team_id={team_id}&limit=50"), reads
    )
    numbers = itertools.cycle(sample_numbers)
    found["call_ms"] = latencies_ms(lambda: client.get(f"/api/v1/calls/{next(numbers)}"), reads)
    found["call_events_ms"] = latencies_ms(
        lambda: client.get(f"/api/v1/calls/{next(numbers)}/events"), reads
    )
    keys = max(1, monitoring_events // 4)
    started = time.perf_counter()
    for n in range(monitoring_events):
        client.post(
            "/api/v1/monitoring/events",
            {
                "source": f"bench-http-{tag}",
                "key": f"host{n % keys}/disk",
                "summary": "Disk nearly full",
                "impact": 2,
                "urgency": 2,
            },
        )
    found["monitoring_per_s"] = monitoring_events / (time.perf_counter() - started)
    return found


def web_pages(
    client: Client, *, team_id: int, sample_numbers: list[str], reads: int
) -> dict[str, list[float]]:
    """The desk's web pages as a logged-in staff member gets them: the queue of the busiest team
    and call pages picked at random over the register (HTML, templates and all)."""
    numbers = itertools.cycle(sample_numbers)
    return {
        "desk_ms": latencies_ms(lambda: client.raw("GET", f"/desk/?team={team_id}"), reads),
        "call_page_ms": latencies_ms(lambda: client.raw("GET", f"/calls/{next(numbers)}/"), reads),
    }
