"""The HTML report in a real browser: it loads, draws, logs nothing and fetches nothing.

Debian's Chromium runs headless (deploy/lab/chromium.sh installs it). Two detectors watch the
load: Chromium's own log on stderr (console messages such as CSP violations and uncaught script
errors, `Refused to`, `net::ERR_`) and its NetLog, which records every URL request the page
starts. The negative tests feed pages that misbehave to prove both detectors fire. The tests are
skipped only when AUDITOR_SKIP_CHROMIUM=1; a missing browser is a failure, never a silent skip.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from report_inputs import CATALOG, HOSTILE, make_report, make_run

from auditor.reports.render import render_check_run, render_drift_report

pytestmark = [
    pytest.mark.chromium,
    pytest.mark.skipif(os.environ.get("AUDITOR_SKIP_CHROMIUM") == "1", reason="AUDITOR_SKIP_CHROMIUM=1"),
]

REPO = Path(__file__).resolve().parents[2]
PROBLEM_LINE = re.compile(
    r":CONSOLE[:(]|Uncaught|Refused to|net::ERR_|violates the following Content Security Policy"
)


@dataclass
class Load:
    stderr: str
    page_requests: list[str]
    screenshot: Path | None
    dom: str

    @property
    def problems(self) -> list[str]:
        lines = [line for line in self.stderr.splitlines() if PROBLEM_LINE.search(line)]
        return lines + [f"external request: {url}" for url in self.page_requests]


def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        subprocess.run(["sh", str(REPO / "deploy" / "lab" / "chromium.sh")], check=True, capture_output=True)
        path = shutil.which("chromium")
    assert path, "chromium is not installed and deploy/lab/chromium.sh could not install it"
    return path


def page_requests(netlog: Path) -> list[str]:
    """URLs the page itself asked for: requests whose isolation key is the file:// top frame.

    Chromium's own background traffic (component updates, account checks) carries other keys and
    is not the page's doing.
    """
    data: dict[str, Any] = json.loads(netlog.read_text("utf-8"))
    start_job = data["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    urls = []
    for event in data["events"]:
        params = event.get("params") or {}
        if event["type"] == start_job and str(params.get("network_isolation_key", "")).startswith("file://"):
            url = str(params.get("url", ""))
            if not url.startswith(("file:", "data:")):
                urls.append(url)
    return urls


def load(html_file: Path, tmp: Path, *, screenshot: bool) -> Load:
    """Load `html_file` once, with logging and NetLog on; screenshot or dump the DOM."""
    netlog = tmp / f"{html_file.stem}-netlog.json"
    png = tmp / f"{html_file.stem}.png"
    command = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp / 'profile'}",
        "--enable-logging=stderr",
        "--v=0",
        f"--log-net-log={netlog}",
        "--window-size=1200,2000",
        f"--screenshot={png}" if screenshot else "--dump-dom",
        html_file.as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)
    assert done.returncode == 0, f"chromium exited {done.returncode}: {done.stderr[-2000:]}"
    return Load(done.stderr, page_requests(netlog), png if screenshot else None, done.stdout)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("html")
    pages = {
        "drift": render_drift_report(
            make_report(many=60, history=True), "html", catalog=CATALOG, attachment=True
        ),
        "run": render_check_run(make_run(many=60), "html", catalog=CATALOG),
    }
    files = {}
    for name, html in pages.items():
        files[name] = folder / f"{name}.html"
        files[name].write_text(html, "utf-8")
    return files


@pytest.mark.parametrize("name", ["drift", "run"])
def test_report_draws_in_chromium_without_console_errors_or_fetches(
    rendered: dict[str, Path], name: str, tmp_path: Path
) -> None:
    result = load(rendered[name], tmp_path, screenshot=True)
    assert result.problems == []
    assert result.screenshot is not None and result.screenshot.exists()
    data = result.screenshot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 30_000  # a blank 1200x2000 page compresses to a few kilobytes


def test_parsed_dom_has_no_script_and_keeps_hostile_text(rendered: dict[str, Path], tmp_path: Path) -> None:
    result = load(rendered["drift"], tmp_path, screenshot=False)
    assert result.problems == []
    dom = result.dom
    assert "<script" not in dom.lower()
    assert "onerror=" not in dom.replace("onerror=alert(1)&gt;", "")  # only inside escaped text
    for hostile in HOSTILE:
        escaped = hostile.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        assert escaped in dom
    # The trend chart is parsed as SVG (not as text) with its four severity bands.
    chart = dom[dom.index("<svg") : dom.index("</svg>")]
    assert chart.count("<polygon") == 4
    assert 'role="img"' in chart


def test_trend_chart_is_drawn_in_its_severity_colours(rendered: dict[str, Path], tmp_path: Path) -> None:
    """The screenshot's pixels hold each band's colour (Chromium really drew the SVG)."""
    result = load(rendered["drift"], tmp_path, screenshot=True)
    assert result.screenshot is not None
    colours = png_colours(result.screenshot.read_bytes(), rows=1000)  # the chart sits near the top
    for colour in ("#8b0000", "#cf222e", "#f0883e", "#d4a72c"):  # fill-opacity 0.85 over white
        red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
        blended = tuple(round(c * 0.85 + 255 * 0.15) for c in (red, green, blue))
        assert any(all(abs(a - b) <= 3 for a, b in zip(pixel, blended, strict=True)) for pixel in colours), (
            colour
        )


def png_colours(data: bytes, rows: int) -> set[tuple[int, int, int]]:
    """The distinct RGB colours of the first `rows` rows of an 8-bit RGB(A) PNG (standard library)."""
    import struct
    import zlib

    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset, chunks, header = 8, [], b""
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset : offset + 8])
        body = data[offset + 8 : offset + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
        offset += 12 + length
    width, height, depth, colour_type = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour_type in (2, 6), (depth, colour_type)
    channels = 3 if colour_type == 2 else 4
    raw = zlib.decompress(b"".join(chunks))
    stride = width * channels
    previous = bytearray(stride)
    found: set[tuple[int, int, int]] = set()
    position = 0
    for _ in range(min(rows, height)):
        kind, line = raw[position], bytearray(raw[position + 1 : position + 1 + stride])
        position += 1 + stride
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                estimate = left + up - corner
                pa, pb, pc = abs(estimate - left), abs(estimate - up), abs(estimate - corner)
                predictor = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + predictor) & 0xFF
        for i in range(0, stride, channels):
            found.add((line[i], line[i + 1], line[i + 2]))
        previous = line
    return found


def _page(tmp_path: Path, body: str, head: str = "") -> Path:
    page = tmp_path / "bad.html"
    page.write_text(
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>bad</title>{head}</head>'
        f"<body><p>bad page</p>{body}</body></html>",
        "utf-8",
    )
    return page


def test_detector_catches_an_external_image_request(tmp_path: Path) -> None:
    result = load(_page(tmp_path, '<img src="http://127.0.0.1:9/x.png">'), tmp_path, screenshot=False)
    assert result.page_requests == ["http://127.0.0.1:9/x.png"]
    assert result.problems == ["external request: http://127.0.0.1:9/x.png"]


def test_detector_catches_a_fetch_blocked_by_the_reports_content_security_policy(tmp_path: Path) -> None:
    csp = "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
    result = load(_page(tmp_path, '<img src="http://127.0.0.1:9/x.png">', csp), tmp_path, screenshot=False)
    assert result.page_requests == []
    assert len(result.problems) == 1
    assert "http://127.0.0.1:9/x.png" in result.problems[0]


def test_detector_catches_an_uncaught_script_error(tmp_path: Path) -> None:
    result = load(_page(tmp_path, "<script>undefinedFunction()</script>"), tmp_path, screenshot=False)
    assert len(result.problems) == 1
    assert "Uncaught ReferenceError" in result.problems[0]
