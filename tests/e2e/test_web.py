"""The web page (GET /, service/static/) in headless Chromium from Debian, against a real server with the
shipped models and an API key: each panel is driven as a user would and its rendered result checked
against what the API answers. Also served behind a path prefix through a small proxy.

Chromium and its driver are Debian's (`scripts/install-debian-deps.sh`); selenium is told where they are,
so nothing is downloaded. With SEQ2SERVE_SCREENSHOTS=<dir>, each panel's screenshot is saved there
(`scripts/web_screenshots.sh` writes docs/web-*.png that way).
"""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait

from benchmarks.server import ROOT, Server, running_server
from models.speech.features import SAMPLE_RATE

pytestmark = pytest.mark.e2e
CHROMIUM, DRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
KEY = "web-test-key"
WAIT_S = 60  # generous: the server shares two cores with the browser and this test


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    artifacts = tmp_path_factory.mktemp("shipped")
    subprocess.run([sys.executable, "-m", "export", "--out", str(artifacts)], cwd=ROOT, check=True, capture_output=True)
    env = {"SEQ2SERVE_ARTIFACTS_DIR": str(artifacts), "SEQ2SERVE_API_KEY": KEY, "SEQ2SERVE_LOG_LEVEL": "warning"}
    with running_server(env, tmp_path_factory.mktemp("log") / "server.log", ready_timeout_s=180) as s:
        yield s


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    # Not skipped when missing: `make test` installs them (scripts/install-debian-deps.sh).
    assert CHROMIUM.exists() and DRIVER.exists(), "Debian's chromium and chromium-driver: run scripts/install-debian-deps.sh"
    options = Options()
    options.binary_location = str(CHROMIUM)
    # A fake microphone (a tone) that needs no permission prompt: the Record button's path can be driven.
    fake_mic = ("--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream")
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1100,1400", *fake_mic):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(DRIVER)), options=options)
    yield driver
    driver.quit()


def api(server: Server, path: str, body: dict[str, Any]) -> Any:
    r = httpx.post(f"{server.url}/{path}", json=body, headers={"Authorization": f"Bearer {KEY}"}, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


def wait_for(driver: WebDriver, css: str) -> Any:
    """The first element matching css, once there; on a timeout, the page's error boxes and console say why."""
    try:
        return WebDriverWait(driver, WAIT_S).until(lambda d: d.find_elements(By.CSS_SELECTOR, css) or False)[0]
    except TimeoutException:
        errors = [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".error") if e.text]
        pytest.fail(f"no {css} after {WAIT_S} s; error boxes: {errors}; console: {driver.get_log('browser')}")


def open_page(driver: WebDriver, url: str, key: str | None = KEY) -> None:
    driver.get(url)
    field = wait_for(driver, "#api-key")
    field.clear()
    if key:
        field.send_keys(key)


def panel(driver: WebDriver, name: str) -> None:
    driver.find_element(By.CSS_SELECTOR, f'#tabs button[data-panel="{name}"]').click()


def submit(driver: WebDriver, name: str) -> None:
    driver.find_element(By.CSS_SELECTOR, f"#{name} button[type=submit]").click()


def screenshot(driver: WebDriver, name: str) -> None:
    out = os.environ.get("SEQ2SERVE_SCREENSHOTS")
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        driver.find_element(By.ID, name).screenshot(str(Path(out) / f"web-{name}.png"))


def test_the_page_is_open_without_the_key_and_shows_the_api_s_error(server: Server, browser: WebDriver) -> None:
    assert httpx.get(f"{server.url}/translate").status_code == 401  # the API itself needs the key
    open_page(browser, server.url + "/", key=None)
    WebDriverWait(browser, WAIT_S).until(lambda d: "API key" in d.find_element(By.ID, "models-status").text)
    submit(browser, "translate")
    error = browser.find_element(By.CSS_SELECTOR, "#translate .error")
    WebDriverWait(browser, WAIT_S).until(lambda d: error.is_displayed())
    assert error.text.startswith("401 unauthorized")


def test_translate_shows_the_n_best_list_and_one_heatmap_row_per_output_word(server: Server, browser: WebDriver) -> None:
    open_page(browser, server.url + "/")
    submit(browser, "translate")
    wait_for(browser, "#translate svg.heatmap")
    want = api(server, "translate", {"text": "Ein Mann mit einem roten Hut fährt mit seinem Fahrrad durch Köln.", "beam_size": 5,
                                     "n_best": 3, "block_unk": True})["results"][0]["translations"]  # fmt: skip
    items = browser.find_elements(By.CSS_SELECTOR, "#translate .nbest li")
    assert len(items) == len(want) == 3
    assert items[0].text.startswith(" ".join(want[0]["tokens"]))
    rows = browser.find_elements(By.CSS_SELECTOR, "#translate svg.heatmap g.row")
    assert [r.get_attribute("data-label") for r in rows] == [*want[0]["tokens"], "</s>"]
    assert len(browser.find_elements(By.CSS_SELECTOR, "#translate .copied")) == sum(sum(t["copied"]) for t in want)
    items[1].click()  # another hypothesis: its own alignment
    rows = browser.find_elements(By.CSS_SELECTOR, "#translate svg.heatmap g.row")
    assert [r.get_attribute("data-label") for r in rows] == [*want[1]["tokens"], "</s>"]
    assert "curl -X POST" in browser.find_element(By.CSS_SELECTOR, "#translate .curl").text
    screenshot(browser, "translate")


def test_transcribe_an_uploaded_wav_with_each_character_s_attention(server: Server, browser: WebDriver, tmp_path: Path) -> None:
    from models.speech.audio import wav_bytes
    from models.speech.training.synth import Utterance, synthesize

    clip = tmp_path / "digits.wav"
    samples = np.asarray(synthesize(Utterance("four two seven", "en-gb-x-gbclan+m4", 150, 50)), dtype=np.float32)
    clip.write_bytes(wav_bytes(samples, SAMPLE_RATE))
    open_page(browser, server.url + "/")
    panel(browser, "transcribe")
    browser.find_element(By.CSS_SELECTOR, "#transcribe input[type=file]").send_keys(str(clip))
    submit(browser, "transcribe")
    canvas = wait_for(browser, "#transcribe canvas.char-attention")
    text = browser.find_element(By.CSS_SELECTOR, "#transcribe .transcript").text
    assert text == "four two seven"
    assert int(canvas.get_attribute("height")) == 14 * (len(text) + 1)  # a row per character and </s>
    assert browser.find_elements(By.CSS_SELECTOR, "#transcribe canvas.spectrogram")
    screenshot(browser, "transcribe")


def test_a_recording_is_encoded_to_wav_in_the_browser_and_transcribed(server: Server, browser: WebDriver) -> None:
    open_page(browser, server.url + "/")
    panel(browser, "transcribe")
    record = browser.find_element(By.CSS_SELECTOR, "#transcribe .record")
    record.click()
    WebDriverWait(browser, WAIT_S).until(lambda d: record.text == "Stop")
    browser.execute_script("return new Promise((resolve) => setTimeout(resolve, 1500))")  # record 1.5 s
    record.click()  # stops, encodes WAV, submits
    wait_for(browser, "#transcribe canvas.char-attention")
    info = browser.find_element(By.CSS_SELECTOR, "#transcribe .result .muted").text
    seconds = float(info.split(" s at ")[0])
    assert 1.0 < seconds < 3.0, info  # the server received the recording as a WAV of about that length
    assert "recording.wav" in browser.find_element(By.CSS_SELECTOR, "#transcribe .curl").text


def test_caption_words_move_the_attention_overlay(server: Server, browser: WebDriver) -> None:
    open_page(browser, server.url + "/")
    panel(browser, "caption")
    Select(browser.find_element(By.CSS_SELECTOR, "#caption select[name=example]")).select_by_visible_text("scene-3.png")
    submit(browser, "caption")
    wait_for(browser, "#caption .words button")
    assert browser.find_element(By.CSS_SELECTOR, "#caption .caption-text").text == "a yellow four"
    canvas = browser.find_element(By.CSS_SELECTOR, "#caption canvas.overlay")
    pixels = lambda: browser.execute_script("return arguments[0].toDataURL()", canvas)  # noqa: E731
    words = browser.find_elements(By.CSS_SELECTOR, "#caption .words button")
    words[1].click()
    yellow = pixels()
    assert canvas.get_attribute("data-word") == "yellow"
    words[2].click()
    assert canvas.get_attribute("data-word") == "four" and pixels() != yellow
    screenshot(browser, "caption")


def test_hull_polygon_has_the_answer_s_vertices_and_a_step_slider(server: Server, browser: WebDriver) -> None:
    open_page(browser, server.url + "/")
    panel(browser, "hull")
    browser.find_element(By.CSS_SELECTOR, "#hull .random").click()
    submit(browser, "hull")
    polygon = wait_for(browser, "#hull polygon.hull")
    points = browser.execute_script("return hull.points")
    want = api(server, "hull", {"points": points, "decoding": "constrained"})["hull"]
    assert int(polygon.get_attribute("data-vertices")) == len(want) == len(polygon.get_attribute("points").split())
    slider = browser.find_element(By.CSS_SELECTOR, "#hull .steps input")
    assert slider.is_displayed() and int(slider.get_attribute("max")) == len(want)  # a step per vertex, then END
    assert len(browser.find_elements(By.CSS_SELECTOR, "#hull circle.weight")) == len(points)
    screenshot(browser, "hull")


def test_sentiment_tree_has_one_node_per_phrase(server: Server, browser: WebDriver) -> None:
    open_page(browser, server.url + "/")
    panel(browser, "sentiment")
    submit(browser, "sentiment")
    wait_for(browser, "#sentiment svg.tree")
    want = api(server, "sentiment", {"text": "The acting is superb, but the plot is a mess."})

    def labels(node: dict[str, Any]) -> list[int]:
        return [node["label"], *(x for c in node["children"] for x in labels(c))]

    nodes = browser.find_elements(By.CSS_SELECTOR, "#sentiment circle.node")
    assert sorted(int(n.get_attribute("data-label")) for n in nodes) == sorted(labels(want["tree"]))
    assert browser.find_element(By.CSS_SELECTOR, "#sentiment .sentiment-answer").text.startswith(want["sentiment"])
    screenshot(browser, "sentiment")


def test_qa_answers_and_draws_each_hop_over_the_sentences(server: Server, browser: WebDriver) -> None:
    open_page(browser, server.url + "/")
    panel(browser, "qa")
    submit(browser, "qa")
    wait_for(browser, "#qa svg.heatmap")
    story = [line for line in browser.find_element(By.CSS_SELECTOR, "#qa textarea").get_attribute("value").splitlines() if line]
    want = api(server, "qa", {"story": story, "question": "Where is the football?"})
    assert browser.find_element(By.CSS_SELECTOR, "#qa .qa-answer").text == want["answer"]
    rows = browser.find_elements(By.CSS_SELECTOR, "#qa svg.heatmap g.row")
    assert len(rows) == len(story) and all(len(r.find_elements(By.CSS_SELECTOR, "rect")) == len(want["hops"]) for r in rows)
    screenshot(browser, "qa")


def test_ntm_copies_a_random_sequence_and_draws_both_heads(server: Server, browser: WebDriver) -> None:
    open_page(browser, server.url + "/")
    panel(browser, "ntm")
    submit(browser, "ntm")
    wait_for(browser, "#ntm canvas.ntm-read")
    lines = browser.find_element(By.CSS_SELECTOR, "#ntm textarea").get_attribute("value").split()
    bits = [[int(c) for c in line] for line in lines]
    want = api(server, "ntm", {"input": bits})
    assert browser.find_element(By.CSS_SELECTOR, "#ntm .ntm-errors").text.startswith(f"{want['errors']} wrong bit")
    for name in ("write", "read"):  # a row of cells per step, a column per memory row
        canvas = browser.find_element(By.CSS_SELECTOR, f"#ntm canvas.ntm-{name}")
        assert int(canvas.get_attribute("height")) == 4 * len(bits) and int(canvas.get_attribute("width")) == 4 * 128
    screenshot(browser, "ntm")


class PrefixProxy(BaseHTTPRequestHandler):
    """Serves the server under /seq2serve/: strips the prefix and forwards, as a reverse proxy would."""

    target = ""

    def _forward(self) -> None:
        if not self.path.startswith("/seq2serve/"):
            self.send_error(404)
            return
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        conn = http.client.HTTPConnection(self.target, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        conn.request(self.command, self.path[len("/seq2serve") :], body or None, headers)
        r = conn.getresponse()
        data = r.read()
        conn.close()
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _forward

    def log_message(self, *args: Any) -> None:
        pass


def test_the_page_works_behind_a_path_prefix(server: Server, browser: WebDriver) -> None:
    PrefixProxy.target = server.url.removeprefix("http://")
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), PrefixProxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        open_page(browser, f"http://127.0.0.1:{proxy.server_address[1]}/seq2serve/")
        WebDriverWait(browser, WAIT_S).until(lambda d: "serving:" in d.find_element(By.ID, "models-status").text)
        submit(browser, "translate")
        wait_for(browser, "#translate svg.heatmap")
        assert "/seq2serve/translate" in browser.find_element(By.CSS_SELECTOR, "#translate .curl").text
    finally:
        proxy.shutdown()
        proxy.server_close()
