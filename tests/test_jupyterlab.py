"""Notebook 01 as a student meets it: JupyterLab in headless Chromium, every cell run."""

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from browser import artifacts, chromium, console_errors, find_chromium, page_content

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.notebook, pytest.mark.server]

#: Code cells, those that ran, and those running or queued, in the open notebook.
CELLS = """
const cells = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')];
const prompts = cells.map(c => (c.querySelector('.jp-InputPrompt') || {}).textContent || '');
return {
  code: cells.length,
  done: prompts.filter(p => /\\[\\d+\\]/.test(p)).length,
  busy: prompts.filter(p => p.includes('*')).length,
  errors: document.querySelectorAll('[data-mime-type="application/vnd.jupyter.error"]').length,
};
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _processes_mentioning(text: str) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and text in (proc / "cmdline").read_bytes().decode(
                errors="replace"
            ):
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


def _lab_command(port: int, *options: str) -> list[str]:
    """``jupyter lab`` on 127.0.0.1:``port`` (no other port), as root if need be."""
    command = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1"]
    command += [f"--port={port}", "--ServerApp.port_retries=0", *options]
    if os.geteuid() == 0:
        command.append("--allow-root")
    return command


class Lab:
    """A JupyterLab server on 127.0.0.1 with a token, stopped by its own handle."""

    def __init__(self, root: Path, runtime: Path) -> None:
        self.port, self.token, self.runtime = _free_port(), secrets.token_hex(16), runtime
        self.url = f"http://127.0.0.1:{self.port}"
        command = _lab_command(
            self.port,
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={root}",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        )
        env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(runtime)}
        env.pop("CROPKIT_STAC_API", None)  # the kernel starts its own STAC API, as a student's
        self.log = runtime / "lab.log"
        self.proc = subprocess.Popen(
            command,
            env=env,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"JupyterLab exited: {self.log.read_text()[-2000:]}")
            try:
                if requests.get(
                    f"{self.url}/api/status", params={"token": self.token}, timeout=2
                ).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        pytest.fail(f"JupyterLab did not answer in {timeout} s: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        """Shut the server down through its API (it stops its kernels), then make sure."""
        if self.proc.poll() is not None:
            return
        try:
            requests.post(f"{self.url}/api/shutdown", params={"token": self.token}, timeout=10)
            self.proc.wait(timeout=60)
        except (requests.RequestException, subprocess.TimeoutExpired):
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=30)


@pytest.fixture
def lab(tmp_path):
    if isinstance(find_chromium(), str):
        pytest.skip(find_chromium())
    shutil.copy(ROOT / "notebooks" / "01_stac_discovery.ipynb", tmp_path)
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    server = Lab(tmp_path, runtime)
    try:
        server.wait()
        yield server
    finally:
        server.stop()


def test_notebook_01_runs_in_jupyterlab(lab, tmp_path):
    with chromium(offline=False, block_hosts=True) as browser:
        browser.get(f"{lab.url}/lab/tree/01_stac_discovery.ipynb?token={lab.token}")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # the notebook open, its kernel started
            ready = browser.execute_script(
                "const app = window.jupyterapp; const w = app && app.shell.currentWidget;"
                "return !!(w && w.sessionContext && w.sessionContext.session"
                " && w.sessionContext.session.kernel"
                " && w.sessionContext.session.kernel.status === 'idle');"
            )
            if ready:
                break
            time.sleep(0.5)
        assert ready, "the notebook did not open with an idle kernel"
        browser.execute_script("window.jupyterapp.commands.execute('notebook:run-all-cells')")
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            cells = browser.execute_script(CELLS)
            if cells["errors"] or (cells["done"] == cells["code"] and not cells["busy"]):
                break
            time.sleep(1)
        content = page_content(browser, settle=15)
        browser.save_screenshot(str(artifacts() / "jupyterlab-01.png"))
        errors = console_errors(browser)
    assert cells["errors"] == 0 and cells["done"] == cells["code"], cells
    assert len(content["maps"]) == 2 and all(m["leaflet"] and m["shapes"] for m in content["maps"])
    assert content["plots"] >= 1 and content["blank_plots"] == 0, content
    assert content["tables"] >= 2  # the run's summary, the items
    # offline here: a resource from another host may fail to load; no script may fail
    scripts = [e for e in errors if "net::ERR_NAME_NOT_RESOLVED" not in e]
    assert not scripts, scripts
    assert (tmp_path / "runs" / "chartres-2023-demo-ci" / "manifest.json").is_file()
    print({"cells": cells, "content": content, "unreachable": len(errors) - len(scripts)})


def test_the_server_leaves_no_process_behind(lab):
    kernel = requests.post(
        f"{lab.url}/api/kernels", params={"token": lab.token}, json={"name": "python3"}, timeout=30
    ).json()
    assert _processes_mentioning(str(lab.runtime))  # the kernel, by its connection file
    lab.stop()
    assert lab.proc.returncode is not None
    time.sleep(1)
    assert not _processes_mentioning(str(lab.runtime)), kernel


def test_a_port_already_taken_is_said(lab, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    result = subprocess.run(
        _lab_command(lab.port),
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "JUPYTER_RUNTIME_DIR": str(other)},
    )
    assert result.returncode != 0
    assert f"The port {lab.port} is already in use" in result.stderr
    assert requests.get(
        f"{lab.url}/api/status", params={"token": lab.token}, timeout=5
    ).ok  # untouched
