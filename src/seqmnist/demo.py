"""What `python demo.py` does: a local page where a person draws or uploads a digit and watches a
trained network read it (the digit as the network sees it, the class probabilities, and the
probabilities after each step).

The page is one HTML file (`demo_page.html`) served by the standard library's HTTP server: it
needs no package beyond seqmnist's own, and its answers are plain elements a browser test reads.
Every picture goes through what predict.py calls: `prepared_digit`, `classify`,
`probabilities_per_step`.
"""

import html
import io
import json
import logging
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from pathlib import Path
from typing import Any

from lightning.pytorch.utilities.exceptions import SIGTERMException
from omegaconf import DictConfig

from seqmnist.config.build import Trained, load_trained
from seqmnist.errors import ConfigError, DataError
from seqmnist.prediction import (
    check_preprocess,
    classify,
    prepared_digit,
    probabilities_per_step,
)
from seqmnist.records.checkpoints import resolve_checkpoint

log = logging.getLogger(__name__)

PAGE = files("seqmnist").joinpath("demo_page.html")
# a phone photo is a few MB; anything far larger is not a picture of one digit
MAX_PICTURE_BYTES = 20 * 1024 * 1024


def answer(trained: Trained, picture: bytes, preprocess: str) -> dict[str, Any]:
    """The page's answer to one picture: the prepared 28x28 digit, the class probabilities and,
    for a network that reads step by step, the probabilities after each step (else why not)."""
    net, view = trained.module.net, trained.view
    digit = prepared_digit(io.BytesIO(picture), preprocess)[None]
    final = classify(net, view, digit)[0]
    steps = None
    if net.reads_step_by_step:
        steps = probabilities_per_step(net, view(digit))[:, 0].tolist()
    return {
        "digit": digit[0].tolist(),
        "probabilities": final.tolist(),
        "predicted": int(final.argmax()),
        "steps": steps,
        "step_name": view.step_name,
        "why_no_steps": net.why_not_step_by_step(),
    }


def handler_for(trained: Trained, preprocess: str, title: str) -> type[BaseHTTPRequestHandler]:
    """A request handler bound to one loaded model: GET / is the page, POST /classify a picture."""

    class DemoHandler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path not in ("/", "/index.html"):
                self._send(HTTPStatus.NOT_FOUND, b"not found", "text/plain")
                return
            page = PAGE.read_text(encoding="utf-8").replace("{{title}}", html.escape(title))
            self._send(HTTPStatus.OK, page.encode(), "text/html; charset=utf-8")

        def do_POST(self) -> None:
            if self.path != "/classify":
                self._send(HTTPStatus.NOT_FOUND, b"not found", "text/plain")
                return
            length = int(self.headers.get("Content-Length") or 0)
            if not 0 < length <= MAX_PICTURE_BYTES:
                self._reply_json(HTTPStatus.BAD_REQUEST, {"error": _size_problem(length)})
                return
            picture = self.rfile.read(length)
            try:
                reply = answer(trained, picture, preprocess)
            except DataError as error:  # unreadable, blank or noise: predict.py's words
                self._reply_json(
                    HTTPStatus.UNPROCESSABLE_ENTITY,
                    {"error": f"This picture cannot be classified: {error}."},
                )
                return
            self._reply_json(HTTPStatus.OK, reply)

        def _reply_json(self, status: HTTPStatus, body: dict[str, Any]) -> None:
            self._send(status, json.dumps(body).encode(), "application/json")

        def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("%s " + format, self.address_string(), *args)

    return DemoHandler


def _size_problem(length: int) -> str:
    if length <= 0:
        return "No picture arrived: draw a digit or choose an image file."
    return (
        f"The picture has {length / 2**20:.0f} MB, more than the {MAX_PICTURE_BYTES // 2**20} MB "
        f"this page takes: choose a smaller image file."
    )


def _shown(path: Path, root: Path) -> Path:
    """The checkpoint as the user would type it: relative to the project, where it is inside."""
    path, root = path.resolve(), root.resolve()
    return path.relative_to(root) if path.is_relative_to(root) else path


def serve(cfg: DictConfig) -> dict[str, float]:
    """Load the checkpoint, then serve the page until Ctrl-C or SIGTERM."""
    check_preprocess(cfg.preprocess)
    checkpoint = resolve_checkpoint(cfg.ckpt_path, Path(cfg.paths.log_dir))
    trained = load_trained(checkpoint)
    title = (
        f"{type(trained.module.net).__name__} from {_shown(checkpoint, Path(cfg.paths.root_dir))}"
    )
    try:
        server = ThreadingHTTPServer(
            (cfg.host, cfg.port), handler_for(trained, cfg.preprocess, title)
        )
    except OSError as error:
        raise ConfigError(
            f"The page cannot listen on {cfg.host}:{cfg.port} ({error.strerror}). Choose another "
            f"port (port=0 takes a free one) or host."
        ) from error
    host, port = server.server_address[:2]
    url = f"http://{host}:{port}/"
    log.info("Serving %s for %s", url, checkpoint)
    print(f"Demo page: {url}  (Ctrl-C stops it)", flush=True)
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SIGTERMException):
        print("Demo page stopped.", flush=True)
    finally:
        server.server_close()
    return {}
