"""Settings from action inputs and the command line: clear one-line errors, and the key kept secret."""

from __future__ import annotations

import importlib.util
import io
from contextlib import redirect_stdout
from dataclasses import replace
from pathlib import Path

import pytest

from snail_action import cli
from snail_action.settings import Settings, SettingsError

_spec = importlib.util.spec_from_file_location("entrypoint", Path(__file__).parent.parent / "entrypoint.py")
entrypoint = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(entrypoint)

KEY = "Settings-Secret-KEY-42"


def test_repr_and_str_never_show_the_api_key():
    s = Settings(api_key=KEY, api_url="http://127.0.0.1:9")
    assert KEY not in repr(s)
    assert KEY not in str(s)
    assert KEY not in repr(replace(s, mode="reconcile"))
    assert KEY not in repr(Settings.from_environ({"SNAIL_API_KEY": KEY}))
    assert s.api_key == KEY  # still there for the client


def test_a_pasted_key_loses_its_surrounding_whitespace():
    assert Settings.from_environ({"SNAIL_API_KEY": f"  {KEY}\n"}).api_key == KEY
    assert Settings(api_key=" \n").api_key is None


@pytest.mark.parametrize("bad", [f"{KEY} other", f"{KEY}\nsecond", f"{KEY}\x00", f"{KEY}ключ"])
def test_a_key_with_inner_whitespace_or_controls_is_refused_without_showing_it(bad):
    with pytest.raises(SettingsError) as info:
        Settings.from_environ({"SNAIL_API_KEY": bad})
    assert "api-key" in str(info.value)
    assert KEY not in str(info.value)


@pytest.mark.parametrize(("env", "message"), [
    ({"SNAIL_CONCURRENCY": "lots"}, "concurrency (SNAIL_CONCURRENCY): 'lots' is not a whole number"),
    ({"SNAIL_CONCURRENCY": "0"}, "concurrency (SNAIL_CONCURRENCY): '0' must be at least 1"),
    ({"SNAIL_DIRECT_UPLOAD_LIMIT": "4MB"}, "direct-upload-limit (SNAIL_DIRECT_UPLOAD_LIMIT): '4MB' is not a whole"),
    ({"SNAIL_DRY_RUN": "maybe"}, "dry-run (SNAIL_DRY_RUN): 'maybe' is not a boolean"),
    ({"SNAIL_MODE": "upload"}, "mode='upload': use one of diff, reconcile, check"),
    ({"SNAIL_ON_NON_IMAGE": "skip"}, "on-non-image='skip': use one of fail, warn, ignore"),
])
def test_bad_action_inputs_are_one_line_setup_errors(env, message):
    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Settings.from_environ(env)


def test_direct_upload_limit_must_be_positive():
    with pytest.raises(SettingsError, match="direct-upload-limit"):
        Settings(direct_upload_limit=0)


@pytest.mark.parametrize("argv", [["--concurrency", "0"], ["--direct-upload-limit", "-1"]])
def test_cli_bad_numbers_exit_2_with_one_line(argv, capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("SNAIL_API_KEY", raising=False)
    code = cli.main(["sync", "--path", str(tmp_path), "--api-url", "http://127.0.0.1:9", *argv])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("snail-images: error: ")


def test_entrypoint_bad_mode_is_one_escaped_error_line_and_exit_2():
    out = io.StringIO()
    with redirect_stdout(out):
        code = entrypoint.main({"SNAIL_API_KEY": KEY, "SNAIL_MODE": "100%\nbogus"})
    assert code == 2
    lines = out.getvalue().splitlines()
    assert lines[0] == f"::add-mask::{KEY}"
    assert len(lines) == 2
    assert lines[1].startswith("::error title=snail-images setup::mode=")
    assert "%25" in lines[1]  # `%` escaped as a workflow command's data must be
    assert KEY not in lines[1]


def test_entrypoint_masks_the_stripped_key_escaped():
    out = io.StringIO()
    with redirect_stdout(out):
        entrypoint.main({"SNAIL_API_KEY": "ab%cd \n", "SNAIL_MODE": "bogus"})
    assert out.getvalue().splitlines()[0] == "::add-mask::ab%25cd"


def test_choice_inputs_are_case_insensitive():
    s = Settings.from_environ({"SNAIL_MODE": " Reconcile ", "SNAIL_ON_NON_IMAGE": "WARN"})
    assert (s.mode, s.on_non_image) == ("reconcile", "warn")
