"""Run reports: HTML pages of the executed notebooks and an index, rendered offline."""

import json
import re
import shutil
import time
from pathlib import Path

import pytest
from browser import artifacts, chromium, console_errors, page_content, pixels, sliders

from cropkit.core.errors import DataError
from cropkit.face.cli import main
from cropkit.face.report import export_notebook, write_run_report

TINY = Path(__file__).parent / "fixtures" / "tiny_notebooks"


def test_a_run_without_executed_notebooks_has_no_report(tmp_path, capsys):
    (tmp_path / "manifest.json").write_text("{}")
    with pytest.raises(DataError, match=r"no executed notebooks .* `cropkit demo`"):
        write_run_report(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.json"]  # nothing written
    assert main(["report", str(tmp_path)]) == 2
    assert "error: DataError:" in capsys.readouterr().err


def test_pages_with_and_without_code(tmp_path):
    executed = tmp_path / "01_first.ipynb"
    nb = json.loads((TINY / "01_first.ipynb").read_text())
    nb["cells"][2]["outputs"] = [
        {"output_type": "stream", "name": "stdout", "text": ["the output of cell 2\n"]}
    ]
    executed.write_text(json.dumps(nb))
    pages = export_notebook(executed, tmp_path / "report")
    with_code = pages["html"].read_text()
    without = pages["nocode"].read_text()
    assert pages["nocode"].name == "01_first.nocode.html"
    assert "the output of cell 2" in with_code and "the output of cell 2" in without
    assert "RunFolder" in with_code and "RunFolder" not in without
    for page in (with_code, without):  # nothing from a CDN: require.js, MathJax, widgets
        assert not re.findall(r"<script[^>]+src=\"https?://", page)
        assert 'href="../index.html"' in page


def test_inline_plots_render_offline_and_cdn_ones_do_not(tmp_path):
    """The check that proves the reports: a page passes it inline, and fails on CDN links."""
    import nbformat
    import papermill as pm

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import cropkit as ck\nimport pandas as pd"),
        nbformat.v4.new_code_cell("ck.plot.area_map(ck.RunConfig())"),
        nbformat.v4.new_code_cell(
            "ck.plot.resources.hvplot(pd.DataFrame({'a': [1, 3, 2]})).line()"
        ),
        nbformat.v4.new_code_cell('ck.plot.use_resources("cdn")\nck.plot.area_map(ck.RunConfig())'),
    ]
    nbformat.write(nb, tmp_path / "01_plots.ipynb")
    executed = tmp_path / "notebooks" / "01_plots.ipynb"
    executed.parent.mkdir()
    pm.execute_notebook(
        str(tmp_path / "01_plots.ipynb"),
        str(executed),
        kernel_name="python3",
        progress_bar=False,
        kernel_manager_class="cropkit.face.notebooks.LocalKernelManager",
    )
    page = export_notebook(executed, tmp_path / "report")["html"]
    with chromium(offline=True) as browser:
        browser.get(page.as_uri())
        shown = page_content(browser, settle=10)
        errors = console_errors(browser)
    assert shown["plots"] == 1 and shown["blank_plots"] == 0
    inline, cdn = shown["maps"] + [{"leaflet": False}] * (2 - len(shown["maps"]))
    assert inline["leaflet"] and inline["shapes"] == 2  # the two zones
    assert not cdn["leaflet"]  # the same map linking Leaflet's CDN stays blank offline
    assert any("npm/leaflet@1.9.3/dist/leaflet.js - Failed to load" in e for e in errors)


@pytest.mark.notebook
@pytest.mark.server
def move_the_period_sliders(browser, page) -> list[tuple[float, bool]]:
    """Drag each slider of ``page`` to its end: the share of its image's pixels that changed
    and whether the slider lies under its image (not off to its right)."""
    import numpy as np
    from selenium.webdriver.common.action_chains import ActionChains

    browser.get(page.as_uri())
    page_content(browser, settle=10)
    out = []
    for k in range(len(sliders(browser))):
        canvas, handle = sliders(browser)[k]
        before = pixels(browser, canvas)
        ActionChains(browser).click_and_hold(handle).move_by_offset(600, 0).release().perform()
        time.sleep(1.5)
        canvas, handle = sliders(browser)[k]
        after = pixels(browser, canvas)
        h, w = min(before.shape[0], after.shape[0]), min(before.shape[1], after.shape[1])
        changed = float((np.abs(before[:h, :w] - after[:h, :w]).sum(2) > 30).mean())
        box, knob = canvas.rect, handle.rect
        left, right = box["x"] - 20, box["x"] + box["width"] + 20
        under = left <= knob["x"] <= right and knob["y"] >= box["y"] + box["height"] - 5
        out.append((changed, under))
    browser.save_screenshot(str(artifacts() / "report-03-sliders-moved.png"))
    return out


def test_the_report_of_a_run_renders_offline(demo_run, tmp_path):
    """Every page of the demo run, opened with the network off: plots and maps drawn."""
    cfg, _ = demo_run
    run = tmp_path / cfg.run_dir.name
    shutil.copytree(cfg.run_dir / "notebooks", run / "notebooks")
    shutil.copy(cfg.run_dir / "manifest.json", run)
    index = write_run_report(run)
    text = index.read_text()
    for link in re.findall(r"href='([^']+)'", text):  # pages here, products in the run
        assert (run / link).exists() or (cfg.run_dir / link).exists(), link
    assert "Held-out scores" in text and "macro_f1_tier4" in text
    seen = {}
    with chromium(offline=True) as browser:
        pages = sorted(f"report/{p.name}" for p in (run / "report").glob("[0-9]*[0-9a-z].html"))
        for page in ["index.html", *(p for p in pages if not p.endswith(".nocode.html"))]:
            browser.get((run / page).as_uri())
            content = page_content(browser, settle=10)
            errors = console_errors(browser)
            seen[page] = content
            assert not errors, (page, errors)
            assert content["blank_plots"] == 0, (page, content)
            assert content["empty_roots"] <= 1, (page, content)  # the backend's loader only
            assert content["broken_images"] == 0, (page, content)
            for frame in content["maps"]:
                assert frame["leaflet"] and frame["shapes"] + frame["overlays"] > 0, (page, frame)
        browser.get((run / "report" / "01_stac_discovery.html").as_uri())
        browser.save_screenshot(str(artifacts() / "report-01-offline.png"))
        moved = move_the_period_sliders(browser, run / "report" / "03_composites.html")
    assert seen["report/01_stac_discovery.html"]["plots"] >= 1
    assert len(seen["report/01_stac_discovery.html"]["maps"]) == 2  # study area, footprints
    assert seen["report/02_cloud_masking.html"]["plots"] == 3
    assert seen["report/03_composites.html"]["plots"] >= 5
    assert len(seen["report/03_composites.html"]["maps"]) == 1  # parcels on a composite
    assert len(moved) == 2  # the RGB and the NDVI composites: each slider moves its image
    for changed, under in moved:
        assert changed > 0.2 and under, moved
    print({page: {k: v for k, v in c.items() if k != "maps"} for page, c in seen.items()})


def test_a_page_shows_the_parameters_the_run_used_once(tmp_path):
    executed = tmp_path / "01_first.ipynb"
    nb = json.loads((TINY / "01_first.ipynb").read_text())
    injected = {
        "cell_type": "code",
        "execution_count": None,
        "id": "injected",
        "metadata": {"tags": ["injected-parameters"]},
        "outputs": [],
        "source": ['region = "vitre"\n'],
    }
    nb["cells"].insert(2, injected)  # where papermill puts it: after the defaults
    executed.write_text(json.dumps(nb))
    page = export_notebook(executed, tmp_path / "report")["html"].read_text()
    assert "vitre" in page and "chartres" not in page  # the defaults' cell is left out
    alone = tmp_path / "alone" / "01_first.ipynb"  # not run by papermill: defaults kept
    alone.parent.mkdir()
    alone.write_text((TINY / "01_first.ipynb").read_text())
    assert "chartres" in export_notebook(alone, tmp_path / "alone")["html"].read_text()


def test_the_index_shows_every_notebooks_metrics_as_rounded_tables():
    from cropkit.face.report import _metrics_html

    scalars = _metrics_html({"mean_clear_share": 0.564110476077991, "scenes": 95})
    assert "<td>0.564</td>" in scalars and "0.5641104" not in scalars
    models = _metrics_html({"xgboost": {"f1": 0.53731}, "ltae": {"f1": 0.579515}})
    assert "<th>xgboost</th>" in models and "<td>0.580</td>" in models
    records = _metrics_html({"truth_peaks": [{"model": "ltae", "hit_rate": 0.66667}]})
    assert "<h3>truth_peaks</h3>" in records and "<td>0.667</td>" in records
    assert "{" not in scalars + models + records  # no raw JSON left
