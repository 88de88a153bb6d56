"""EmulatorServer lifecycle, the CLI, the pytest fixtures, import hygiene, and surviving garbage."""

from __future__ import annotations

import ast
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from airflow_provider_gcp_ops.emulator import EmulatorServer

from .conftest import TOKEN

ROOT = Path(__file__).resolve().parents[2]
EMULATOR_DIR = ROOT / "airflow_provider_gcp_ops" / "emulator"


def emulator_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("gcp-ops-emulator-")]


def test_start_stop_leaves_no_thread_and_closes_the_socket() -> None:
    before = set(emulator_threads())
    server = EmulatorServer(port=0, auth=False)
    server.start()
    port = server.port
    assert server.url == f"http://127.0.0.1:{port}"
    assert server.host == f"127.0.0.1:{port}"
    assert httpx.get(f"{server.url}/emulator/v1/health", timeout=5, trust_env=False).status_code == 200
    t0 = time.monotonic()
    server.stop()
    assert time.monotonic() - t0 < 3
    assert set(emulator_threads()) == before
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/emulator/v1/health", timeout=2, trust_env=False)
    with socket.socket() as probe:  # the port is free again
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))
    server.stop()  # idempotent


def test_stop_is_quick_even_with_a_stalled_request() -> None:
    before = set(emulator_threads())
    with EmulatorServer(auth=False) as server:
        name = server.admin.create_operation(service="dataproc")["name"]
        server.admin.set_faults([{"route": "get", "kind": "stall", "stall_s": 60}])
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(f"{server.url}/v1/{name}", timeout=0.2, trust_env=False)
        t0 = time.monotonic()
    assert time.monotonic() - t0 < 3
    assert set(emulator_threads()) == before


def test_constructor_options_and_faults_at_start() -> None:
    faults = {"seed": 3, "rules": [{"route": "get", "kind": "503", "count": 1}]}
    with EmulatorServer(auth=False, time_scale=1000, seed=5, faults=faults) as server:
        name = server.admin.create_operation(service="spanner", duration_s=60)["name"]
        with httpx.Client(base_url=server.url, timeout=5, trust_env=False) as c:
            assert c.get(f"/v1/{name}").status_code == 503
            time.sleep(0.1)
            assert c.get(f"/v1/{name}").json()["done"] is True
        assert server.admin.faults()["seed"] == 3


def test_same_seed_same_operation_names() -> None:
    names = []
    for _ in range(2):
        with EmulatorServer(auth=False, seed=11) as server:
            names.append([server.admin.create_operation(service=s)["name"] for s in ("dataproc", "spanner")])
    assert names[0] == names[1]


def test_the_cli_prints_its_address_and_serves(tmp_path: Path) -> None:
    faults = tmp_path / "faults.json"
    faults.write_text(json.dumps({"rules": [{"route": "list", "kind": "500", "count": 1}]}))
    cmd = [
        sys.executable,
        "-m",
        "airflow_provider_gcp_ops.emulator",
        "--port",
        "0",
        "--time-scale",
        "10",
        "--seed",
        "1",
        "--faults",
        str(faults),
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().strip()
        second = proc.stdout.readline().strip()
        assert first.startswith("GCP_OPERATIONS_EMULATOR_HOST=127.0.0.1:")
        host = first.split("=", 1)[1]
        assert f"http://{host}" in second
        with httpx.Client(base_url=f"http://{host}", timeout=5, trust_env=False) as c:
            name = c.post("/emulator/v1/operations", json={"service": "dataproc"}).json()["name"]
            assert c.get(f"/v1/{name}").status_code == 401  # auth is on by default
            headers = {"Authorization": f"Bearer {TOKEN}"}
            assert c.get("/v1/projects/demo-project/regions/us-central1/operations", headers=headers).status_code == 500
            assert c.get(f"/v1/{name}", headers=headers).status_code == 200
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "Traceback" not in (proc.stderr.read() if proc.stderr else "")


def test_the_cli_rejects_a_bad_faults_file(tmp_path: Path) -> None:
    faults = tmp_path / "faults.json"
    faults.write_text(json.dumps({"rules": [{"kind": "explode"}]}))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "airflow_provider_gcp_ops.emulator", "--no-auth", "--faults", str(faults)],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "invalid --faults" in result.stderr


def test_env_fixture_sets_the_host(gcp_ops_emulator_env: EmulatorServer) -> None:
    assert os.environ["GCP_OPERATIONS_EMULATOR_HOST"] == gcp_ops_emulator_env.host


def test_fixture_resets_between_tests_part_one(gcp_ops_emulator: EmulatorServer) -> None:
    gcp_ops_emulator.admin.create_operation(service="dataproc")
    gcp_ops_emulator.admin.configure(auth=False)


def test_fixture_resets_between_tests_part_two(gcp_ops_emulator: EmulatorServer) -> None:
    assert gcp_ops_emulator.admin.stats()["operations_live"] == 0
    assert gcp_ops_emulator.admin.config()["auth"] is True


def test_importing_the_package_and_plugin_is_cheap() -> None:
    code = (
        "import sys, airflow_provider_gcp_ops.emulator, airflow_provider_gcp_ops.emulator.pytest_plugin\n"
        "heavy = [m for m in ('uvicorn', 'starlette', 'httpx', 'airflow') if m in sys.modules]\n"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True)
    assert out.stdout.strip() == "[]"


def test_the_server_imports_no_airflow() -> None:
    code = "import sys, airflow_provider_gcp_ops.emulator.server\nprint('airflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True)
    assert out.stdout.strip() == "False"


def test_the_emulator_imports_only_the_service_table_and_codes_of_the_client() -> None:
    allowed = {"airflow_provider_gcp_ops.operations.services", "airflow_provider_gcp_ops.operations.codes"}
    for path in EMULATOR_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                module = node.module
            elif isinstance(node, ast.Import):
                module = node.names[0].name
            else:
                continue
            assert not module.startswith("airflow."), f"{path.name} imports {module}"
            if module.startswith("airflow_provider_gcp_ops.") and not module.startswith(
                "airflow_provider_gcp_ops.emulator"
            ):
                assert module in allowed, f"{path.name} imports {module}"


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x00\x01\x02garbage\r\n\r\n",
        b"GET / HTTP/9.9\r\n\r\n",
        b"GET /v1/projects/p/regions/r/operations/x HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999\r\n\r\n",
        b"POST /emulator/v1/operations HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n\xff\xfe\xfd\xfc\xfb",
        b"GET /v1/%ZZ%00/operations HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    ],
)
def test_garbage_never_takes_the_server_down(emu: EmulatorServer, garbage: bytes) -> None:
    host, port = emu.host.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=2) as sock:
        sock.sendall(garbage)
        sock.shutdown(socket.SHUT_WR)
        try:
            head = sock.recv(200)
        except (TimeoutError, ConnectionResetError):
            head = b""
    assert head == b"" or head[:10] in (b"HTTP/1.1 4", b"HTTP/1.1 2"), head  # never a 5xx
    assert httpx.get(f"{emu.url}/emulator/v1/health", timeout=5, trust_env=False).status_code == 200


def test_odd_but_valid_requests_get_clean_answers(emu: EmulatorServer, client: httpx.Client) -> None:
    assert client.get("/v1/projects/p/regions/r/operations/%ZZ").status_code == 404
    assert client.get("/v1/projects/p/regions/r/operations", params={"pageSize": "9" * 40}).status_code == 400
    assert client.get("/v1/projects/p/regions/r/operations", params={"filter": "x" * 5000}).status_code == 400
    response = client.post("/emulator/v1/operations", content=b"\xff\xfe", headers={"content-type": "text/plain"})
    assert response.status_code == 400
