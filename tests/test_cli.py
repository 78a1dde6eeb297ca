from cropkit.cli import main


def test_unknown_region_is_a_clean_error(capsys):
    assert main(["build-demo", "--region", "gotham"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cropkit: error: Unknown region 'gotham'")
    assert "Traceback" not in err


def test_build_demo_prints_what_it_made(capsys, private_cache):
    args = [
        "build-demo",
        "--region",
        "beziers",
        "--year",
        "2022",
        "--zone-px",
        "32",
        "--zones",
        "1",
        "1",
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "cropkit: demo in" in out and "beziers-2022-1x1x32" in out
    assert '"sentinel-2-c1-l2a": 73' in out and '"enmap-l2a": 3' in out
