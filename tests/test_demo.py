"""demo.py's page, driven in a real browser (Debian's chromium through its chromedriver): a digit
drawn with the mouse gets predict.py's class and a per-step plot; a blank drawing gets predict.py's
words. Where no browser can start, these tests fail: they never skip.

SEQMNIST_FIGURES=docs/figures also saves the screenshot the README shows there.
"""

import base64
import csv
import os
import re
import shutil
from pathlib import Path

import pytest
from helpers.runs import REAL_DATA_DIR, run_cli, start_cli
from PIL import Image
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from torchvision.datasets import MNIST

pytestmark = pytest.mark.slow

# the flags a root user needs in a headless machine with no network
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1200,800",
]


def browser_paths() -> tuple[str, str]:
    """Debian's chromium and chromium-driver (.ci/run installs them); a clear failure without."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not (browser and driver):
        pytest.fail(
            "The demo's browser test needs Debian's chromium and chromium-driver: "
            "apt-get install chromium chromium-driver (.ci/run installs them)"
        )
    return browser, driver


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    binary, driver = browser_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"]:
        options.add_argument(flag)
    session = webdriver.Chrome(options=options, service=Service(executable_path=driver))
    yield session
    session.quit()


@pytest.fixture(scope="module")
def served(tmp_path_factory, real_mnist):
    """`python demo.py ckpt_path=latest` after a short real-MNIST run: (page address, root)."""
    root = tmp_path_factory.mktemp("demo")
    data = f"paths.data_dir={REAL_DATA_DIR}"
    trained = run_cli("train.py", "experiment=fast_97", "logger=none", data, root=root)
    assert trained.returncode == 0, trained.stderr[-3000:]
    demo = start_cli("demo.py", "ckpt_path=latest", root=root)
    printed = ""
    while not (address := re.search(r"http://127\.0\.0\.1:\d+/", printed)):
        line = demo.stdout.readline()
        assert line, printed + demo.stderr.read()  # the script ended without serving
        printed += line
    yield address.group(0), root
    demo.terminate()
    assert demo.wait(timeout=60) == 0


def open_page(browser, address: str) -> None:
    browser.get(address)
    WebDriverWait(browser, 30).until(lambda b: b.find_element(By.ID, "pad").is_displayed())


def draw(browser, strokes: list[list[tuple[int, int]]]) -> None:
    """Draw with the mouse on the 280x280 pad: offsets from its centre, one list per stroke."""
    pad = browser.find_element(By.ID, "pad")
    for stroke in strokes:
        (x, y), rest = stroke[0], stroke[1:]
        actions = ActionChains(browser, duration=20)
        actions.move_to_element_with_offset(pad, x, y).click_and_hold()
        for (x0, y0), (x1, y1) in zip(stroke, rest, strict=False):
            actions.move_by_offset(x1 - x0, y1 - y0)
        actions.release().perform()


def wait_for_answer(browser) -> str:
    WebDriverWait(browser, 60).until(
        lambda b: (
            b.find_element(By.TAG_NAME, "body").get_attribute("data-state")
            in ("answered", "refused")
        )
    )
    return browser.find_element(By.TAG_NAME, "body").get_attribute("data-state")


def predict_py_class(root: Path, picture: Path) -> int:
    result = run_cli("predict.py", "ckpt_path=latest", f"images={picture}", root=root)
    assert result.returncode == 0, result.stderr[-3000:]
    newest = max((root / "logs" / "predict" / "runs").iterdir())
    (row,) = csv.DictReader((newest / "predictions.csv").open())
    return int(row["class"])


# a seven: the top bar, then the diagonal down to the bottom left
SEVEN = [[(-60, -80), (-20, -80), (20, -80), (60, -80), (40, -30), (20, 20), (0, 70), (-10, 100)]]


def test_a_drawn_digit_gets_predict_pys_class_and_a_plot_after_each_row(browser, served, tmp_path):
    address, root = served
    open_page(browser, address)
    draw(browser, SEVEN)
    assert wait_for_answer(browser) == "answered"

    shown = int(browser.find_element(By.ID, "predicted").text)
    drawing = browser.execute_script("return document.getElementById('pad').toDataURL('image/png')")
    picture = tmp_path / "drawn.png"
    picture.write_bytes(base64.b64decode(drawing.split(",", 1)[1]))
    assert shown == predict_py_class(root, picture)
    assert shown == 7  # a network at 97 % on MNIST reads a clear seven

    plot = browser.find_element(By.ID, "steps")
    assert plot.get_attribute("data-steps") == "28"  # rows: the answer after each of 28 rows
    lines = plot.find_elements(By.TAG_NAME, "polyline")
    assert len(lines) == 10
    assert all(len(line.get_attribute("points").split()) == 28 for line in lines)
    finals = {int(line.get_attribute("data-class")): float(line.get_attribute("data-final"))
              for line in lines}  # fmt: skip
    assert max(finals, key=finals.get) == shown
    bars = browser.find_elements(By.CSS_SELECTOR, "#probabilities .prob")
    assert [int(bar.get_attribute("data-class")) for bar in bars] == list(range(10))
    assert browser.find_element(By.ID, "message").text == ""

    browser.save_screenshot(str(tmp_path / "demo_page.png"))
    if figures := os.environ.get("SEQMNIST_FIGURES"):
        browser.save_screenshot(str(Path(figures) / "demo_page.png"))


def test_an_uploaded_photo_of_the_first_test_digit_gets_predict_pys_class(
    browser, served, tmp_path
):
    address, root = served
    digit = MNIST(str(REAL_DATA_DIR), train=False).data[0].numpy()
    # as a phone would see it on paper: dark ink on a light grey page, ten times larger
    photo = Image.fromarray(235 - (digit * 0.8).astype("uint8")).resize((280, 280))
    picture = tmp_path / "photo.jpg"
    photo.save(picture, quality=90)
    open_page(browser, address)
    browser.find_element(By.ID, "upload").send_keys(str(picture))
    assert wait_for_answer(browser) == "answered"
    shown = int(browser.find_element(By.ID, "predicted").text)
    assert shown == predict_py_class(root, picture)


def test_a_blank_drawing_gets_predict_pys_words_and_no_answer(browser, served):
    address, _ = served
    open_page(browser, address)
    browser.find_element(By.ID, "classify").click()
    assert wait_for_answer(browser) == "refused"
    message = browser.find_element(By.ID, "message").text
    assert message == "This picture cannot be classified: it looks blank: one tone only."
    assert browser.find_element(By.ID, "predicted").text == ""
    assert browser.find_elements(By.CSS_SELECTOR, "#steps polyline") == []
