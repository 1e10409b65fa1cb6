"""Local servers the dashboard tests start (TensorBoard, mlflow server): a process on a free port
of 127.0.0.1, asked over HTTP, stopped at the end."""

import json
import socket
import subprocess
import time
import urllib.request


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_answering(url: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"{url} did not answer within {timeout} s")


def post_json(url: str, body: dict, **headers: str) -> object:
    """POST `body` as JSON to `url`; the JSON answer."""
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json", **headers}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


class LocalServer:
    """`command`, serving on `port`; `post` sends JSON to it, with `headers`."""

    def __init__(
        self, command: list[str], port: int, headers: dict[str, str] | None = None
    ) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.headers = headers or {}
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def post(self, path: str, body: dict) -> object:
        return post_json(f"{self.url}{path}", body, **self.headers)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
