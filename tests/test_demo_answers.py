"""What demo.py's server answers, without a browser: the reading of a picture, a network that
cannot show one step by step, and the pictures it refuses (tests/test_demo.py drives the page)."""

import io
import json
import threading
import urllib.error
import urllib.request

import pytest
from helpers.runs import compose_train
from PIL import Image, ImageDraw

from seqmnist.config.build import Trained, build_module
from seqmnist.data.sequence import SequenceView
from seqmnist.demo import answer, handler_for
from seqmnist.prediction import classify, prepared_digit


def trained_network(tmp_path, *overrides: str) -> Trained:
    cfg = compose_train(tmp_path, "model.hidden=8", *overrides)
    return Trained(build_module(cfg).eval(), SequenceView(cfg.data.sequence, 0.13, 0.31), cfg)


def png(draw_stroke: bool = True) -> bytes:
    picture = Image.new("L", (200, 200), 255)
    if draw_stroke:
        ImageDraw.Draw(picture).line([(100, 30), (100, 170)], fill=0, width=14)
    stream = io.BytesIO()
    picture.save(stream, format="PNG")
    return stream.getvalue()


def test_the_answer_is_predicts_preparation_and_classification_with_one_reading_per_row(
    tmp_path,
):
    trained = trained_network(tmp_path)
    reply = answer(trained, png(), "mnist")
    digit = prepared_digit(io.BytesIO(png()), "mnist")
    assert reply["digit"] == digit.tolist()
    expected = classify(trained.module.net, trained.view, digit[None])[0]
    assert reply["probabilities"] == pytest.approx(expected.tolist())
    assert reply["predicted"] == int(expected.argmax())
    assert len(reply["steps"]) == 28 and reply["step_name"] == "row"
    # the reading after the last row is the final answer
    assert reply["steps"][-1] == pytest.approx(reply["probabilities"], abs=1e-6)


def test_a_network_that_does_not_read_step_by_step_says_why_instead_of_a_reading(tmp_path):
    reply = answer(trained_network(tmp_path, "model.bidirectional=true"), png(), "mnist")
    assert reply["steps"] is None
    assert "bidirectional" in reply["why_no_steps"]
    assert len(reply["probabilities"]) == 10


@pytest.fixture
def server(tmp_path):
    from http.server import ThreadingHTTPServer

    handler = handler_for(trained_network(tmp_path), "mnist", "a test network")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def post(address: str, body: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(f"{address}/classify", data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as refused:
        return refused.code, json.load(refused)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (png(draw_stroke=False), "This picture cannot be classified: it looks blank"),
        (b"not a picture", "This picture cannot be classified: not an image that can be read"),
        (b"", "No picture arrived: draw a digit or choose an image file."),
    ],
    ids=["blank", "not-an-image", "empty"],
)
def test_a_picture_that_cannot_be_classified_gets_a_message_and_no_answer(server, body, message):
    status, reply = post(server, body)
    assert status in (400, 422)
    assert reply["error"].startswith(message)
    assert set(reply) == {"error"}


def test_the_page_is_served_with_the_models_title(server):
    with urllib.request.urlopen(server, timeout=30) as response:
        page = response.read().decode()
    assert "a test network" in page and 'id="pad"' in page
