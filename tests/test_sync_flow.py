"""`sync` on real git repositories against an in-memory API over loopback HTTP (tests/httpstub.FakeApi):
ordering, rejection, failure isolation, dry run, reconcile, large files, concurrency, outputs, secrecy."""

from __future__ import annotations

import hashlib
import io
import json
import re
from pathlib import Path

import pytest

from helpers import GitRepo, image_bytes
from httpstub import FakeApi
from snail_action.client import RetryPolicy
from snail_action.settings import Settings
from snail_action.sync import SyncOptions, sync
from snail_action.sync_cmd import run_sync

KEY = "sync-test-KEY-0123456789"
FAST = SyncOptions(retry=RetryPolicy(attempts=2, base_delay=0.01, total_seconds=5), poll_interval=0.01,
                   poll_max_interval=0.02, poll_timeout=5)


def settings_for(repo: GitRepo, api: FakeApi, **kw) -> Settings:
    return Settings(path=repo.path, api_url=api.url, api_key=KEY, **kw)


def run(settings: Settings) -> tuple:
    buf = io.StringIO()
    report = sync(settings, out=buf, options=FAST)
    return report, buf.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def api():
    with FakeApi(api_key=KEY) as a:
        yield a


@pytest.fixture
def history(git_repo: GitRepo):
    """Two commits: the second adds, edits, renames and deletes images."""
    git_repo.write("keep.png", image_bytes("PNG", seed=1))
    git_repo.write("edit.png", image_bytes("PNG", seed=2))
    git_repo.write("old name.png", image_bytes("PNG", seed=3))
    git_repo.write("gone.gif", image_bytes("GIF", seed=4))
    before = git_repo.commit("base")
    git_repo.write("edit.png", image_bytes("PNG", seed=20))
    git_repo.move("old name.png", "사진/new name.png")
    git_repo.remove("gone.gif")
    git_repo.write("photos/IMG_1.JPEG", image_bytes("JPEG", seed=5))
    after = git_repo.commit("changes")
    return git_repo, before, after


def test_diff_sends_deletes_first_then_puts(history, api):
    repo, before, after = history
    api.catalog["old name.png"] = {"hash": "3" * 64, "status": "completed"}
    report, text = run(settings_for(repo, api, before=before, after=after))
    methods = [r.method for r in api.received]
    assert methods == ["DELETE"] * 2 + ["PUT"] * 3
    by_path = {r.path: r for r in report.results}
    assert by_path["old name.png"].outcome == "deleted"
    assert by_path["gone.gif"].outcome == "unchanged"  # never registered in this fake catalog
    for p in ("edit.png", "사진/new name.png", "photos/IMG_1.JPEG"):
        assert by_path[p].outcome == "completed"
        assert by_path[p].http_status == 200
        assert by_path[p].stored_key.startswith("images/raw/")
    assert report.summary() == {"put": 3, "deleted": 1, "unchanged": 1, "failed": 0, "rejected": 0}
    assert report.ok
    assert set(api.catalog) == {"edit.png", "사진/new name.png", "photos/IMG_1.JPEG"}
    jpeg = next(r for r in api.received if r.method == "PUT" and "IMG_1" in r.path)
    assert jpeg.headers["content-type"] == "image/jpeg"


def test_progress_lines_have_a_running_count(history, api):
    repo, before, after = history
    api.catalog["old name.png"] = {"hash": "3" * 64, "status": "completed"}
    _, text = run(settings_for(repo, api, before=before, after=after))
    lines = [ln for ln in text.splitlines() if ln.startswith("[")]
    assert [ln.split("]")[0] for ln in lines] == [f"[{i}/5" for i in range(1, 6)]
    assert re.search(r"^\[\d/5\] put photos/IMG_1\.JPEG completed 200$", text, re.M)
    assert re.search(r"^\[\d/5\] delete old name\.png deleted 200$", text, re.M)


def test_broken_image_is_rejected_and_not_sent_others_go_on(git_repo, api):
    git_repo.write("base.png", image_bytes("PNG", seed=1))
    before = git_repo.commit()
    git_repo.write("good.png", image_bytes("PNG", seed=2))
    git_repo.write("broken.png", image_bytes("PNG", seed=3)[:60])
    git_repo.write("fake.jpg", image_bytes("PNG", seed=4))  # PNG content under a JPEG name
    after = git_repo.commit()
    report, text = run(settings_for(git_repo, api, before=before, after=after))
    outcomes = {r.path: r.outcome for r in report.results}
    assert outcomes == {"good.png": "completed", "broken.png": "rejected", "fake.jpg": "rejected"}
    assert [r.path for r in api.sent("PUT")] == ["/images/good.png"]
    assert not report.ok
    assert "error: broken.png:" in text


def test_non_image_is_rejected_by_default(git_repo, api):
    before = git_repo.commit("empty")
    git_repo.write("a.png", image_bytes("PNG"))
    git_repo.write("notes.txt", "hello")
    after = git_repo.commit()
    report, _ = run(settings_for(git_repo, api, before=before, after=after))
    assert {r.path: r.outcome for r in report.results} == {"a.png": "completed", "notes.txt": "rejected"}
    assert report.summary()["rejected"] == 1


def test_one_failing_file_does_not_stop_the_others(git_repo, api):
    before = git_repo.commit("empty")
    for i in range(6):
        git_repo.write(f"img{i}.png", image_bytes("PNG", seed=i))
    after = git_repo.commit()
    api.fail["img2.png"] = (500, {"error": "processing_failed", "message": "variants failed"})
    api.fail["img4.png"] = (400, {"error": "invalid_image", "message": "cannot decode"})
    report, text = run(settings_for(git_repo, api, before=before, after=after))
    outcomes = {r.path: r.outcome for r in report.results}
    assert outcomes["img2.png"] == outcomes["img4.png"] == "failed"
    assert [outcomes[f"img{i}.png"] for i in (0, 1, 3, 5)] == ["completed"] * 4
    msgs = {r.path: r.message for r in report.results}
    assert msgs["img4.png"] == "invalid_image: cannot decode"
    # 500 is retried (2 attempts in FAST), 400 is not.
    assert len([r for r in api.sent("PUT") if r.path == "/images/img2.png"]) == 2
    assert len([r for r in api.sent("PUT") if r.path == "/images/img4.png"]) == 1
    assert report.summary()["failed"] == 2


def test_dry_run_sends_nothing(history, api):
    repo, before, after = history
    report, text = run(settings_for(repo, api, before=before, after=after, dry_run=True))
    assert api.received == []
    assert {r.outcome for r in report.results} == {"planned"}
    assert len(report.results) == 5
    assert "planned 5" in text


def test_dry_run_of_a_diff_needs_no_api(history):
    repo, before, after = history
    report, _ = run(Settings(path=repo.path, before=before, after=after, dry_run=True))
    assert len(report.results) == 5


def test_reconcile_puts_missing_and_different_deletes_extra_and_second_run_sends_nothing(git_repo, api):
    same = image_bytes("PNG", seed=1)
    git_repo.write("same.png", same)
    git_repo.write("changed.png", image_bytes("PNG", seed=2))
    git_repo.write("missing.png", image_bytes("PNG", seed=3))
    git_repo.write("README.md", "docs")
    after = git_repo.commit()
    api.catalog = {"same.png": {"hash": sha(same), "status": "completed"},
                   "changed.png": {"hash": "0" * 64, "status": "completed"},
                   "stale/old.png": {"hash": "1" * 64, "status": "completed"},
                   "broken-before.png": {"hash": "2" * 64, "status": "failed"}}
    report, _ = run(settings_for(git_repo, api, mode="reconcile", after=after))
    outcomes = {r.path: r.outcome for r in report.results}
    assert outcomes == {"same.png": "unchanged", "changed.png": "completed", "missing.png": "completed",
                        "stale/old.png": "deleted", "broken-before.png": "deleted"}
    assert sorted(api.catalog) == ["changed.png", "missing.png", "same.png"]
    # catalog listed across pages (page size 2 in the fake), then nothing but reads the second time
    sent_before = len(api.received)
    report2, _ = run(settings_for(git_repo, api, mode="reconcile", after=after))
    second = api.received[sent_before:]
    assert {r.method for r in second} == {"GET"}
    assert len(second) == 2  # 3 entries at 2 per page
    assert {r.outcome for r in report2.results} == {"unchanged"}
    assert report2.summary()["unchanged"] == 3


def test_reconcile_dry_run_lists_but_sends_nothing(git_repo, api):
    git_repo.write("a.png", image_bytes("PNG"))
    after = git_repo.commit()
    api.catalog = {"zombie.png": {"hash": "1" * 64, "status": "completed"}}
    report, _ = run(settings_for(git_repo, api, mode="reconcile", after=after, dry_run=True))
    assert {r.method for r in api.received} == {"GET"}
    assert {(r.op, r.path, r.outcome) for r in report.results} == {("put", "a.png", "planned"),
                                                                   ("delete", "zombie.png", "planned")}


def test_large_file_goes_through_presigned_upload_and_polls(git_repo, api):
    before = git_repo.commit("empty")
    big = image_bytes("PNG", size=(300, 300), seed=9)
    small = image_bytes("PNG", size=(8, 8), seed=1)
    git_repo.write("big.png", big)
    git_repo.write("small.png", small)
    after = git_repo.commit()
    api.polls_before_done = 2
    report, _ = run(settings_for(git_repo, api, before=before, after=after, direct_upload_limit=len(small) + 1))
    outcomes = {r.path: r.outcome for r in report.results}
    assert outcomes == {"big.png": "completed", "small.png": "completed"}
    s3_puts = [r for r in api.received if r.path.startswith("/s3/")]
    assert len(s3_puts) == 1 and s3_puts[0].body == big
    assert "x-api-key" not in s3_puts[0].headers
    assert s3_puts[0].headers["content-type"] == "image/png"
    assert [r.path for r in api.sent("PUT") if r.path.startswith("/images/")] == ["/images/small.png"]
    polls = [r for r in api.sent("GET") if r.path == "/images/big.png"]
    assert len(polls) == 3  # pending, pending, completed
    assert api.catalog["big.png"]["status"] == "completed"


def test_large_file_not_processed_in_time_fails_with_a_hint(git_repo, api):
    before = git_repo.commit("empty")
    git_repo.write("big.png", image_bytes("PNG", size=(64, 64)))
    after = git_repo.commit()
    api.polls_before_done = 10**6
    opts = SyncOptions(retry=FAST.retry, poll_interval=0.01, poll_max_interval=0.01, poll_timeout=0.2)
    report = sync(settings_for(git_repo, api, before=before, after=after, direct_upload_limit=10),
                  out=io.StringIO(), options=opts)
    (r,) = report.results
    assert r.outcome == "failed"
    assert "not processed within" in r.message and "snail-images status big.png" in r.message


def test_requests_run_concurrently_up_to_the_limit(git_repo, api):
    before = git_repo.commit("empty")
    for i in range(24):
        git_repo.write(f"p/{i}.png", image_bytes("PNG", size=(8, 8), seed=i))
    after = git_repo.commit()
    report, _ = run(settings_for(git_repo, api, before=before, after=after, concurrency=4))
    assert report.summary()["put"] == 24
    assert 1 < api.max_in_flight <= 4


def test_run_sync_writes_outputs_summary_and_results(history, api, tmp_path, capsys):
    repo, before, after = history
    api.catalog["old name.png"] = {"hash": "3" * 64, "status": "completed"}
    out, summ, results = tmp_path / "out", tmp_path / "summary.md", tmp_path / "r" / "results.json"
    env = {"GITHUB_OUTPUT": str(out), "GITHUB_STEP_SUMMARY": str(summ)}
    code = run_sync(None, settings_for(repo, api, before=before, after=after, results=results), env=env)
    assert code == 0
    outputs = {m[0]: m[2] for m in re.findall(r"^(\w+)<<(\S+)\n(.*?)\n\2$", out.read_text(), re.M | re.S)}
    assert outputs == {"put": "3", "deleted": "1", "unchanged": "1", "failed": "0", "rejected": "0",
                       "results": str(results), "urls": str(results.with_name("results-urls.json"))}
    assert json.loads(results.with_name("results-urls.json").read_text()) == {}  # this stub gives no delivery URLs
    data = json.loads(results.read_text())
    assert data["summary"] == {"put": 3, "deleted": 1, "unchanged": 1, "failed": 0, "rejected": 0}
    assert {r["outcome"] for r in data["results"]} == {"completed", "deleted", "unchanged"}
    assert set(data["results"][0]) == {"op", "path", "outcome", "http_status", "stored_key", "message"}
    md = summ.read_text()
    assert "| put | deleted | unchanged | failed | rejected |" in md
    assert "| 3 | 1 | 1 | 0 | 0 |" in md
    assert "사진/new name.png" in md


def test_exit_status_is_1_after_all_were_tried(git_repo, api, tmp_path, capsys):
    before = git_repo.commit("empty")
    git_repo.write("a.png", image_bytes("PNG", seed=1))
    git_repo.write("b.png", image_bytes("PNG", seed=2))
    after = git_repo.commit()
    api.fail["a.png"] = (400, {"error": "bad_request", "message": "no"})
    assert run_sync(None, settings_for(git_repo, api, before=before, after=after), env={}) == 1
    assert "b.png" in api.catalog


def test_api_key_is_never_printed_even_when_the_server_echoes_it(git_repo, api, tmp_path, capsys):
    before = git_repo.commit("empty")
    git_repo.write("a.png", image_bytes("PNG", seed=1))
    git_repo.write("b.png", image_bytes("PNG", seed=2))
    after = git_repo.commit()
    api.fail["a.png"] = (400, {"error": "bad_request", "message": f"key {KEY} is not allowed"})
    out, summ, results = tmp_path / "out", tmp_path / "summary.md", tmp_path / "results.json"
    env = {"GITHUB_OUTPUT": str(out), "GITHUB_STEP_SUMMARY": str(summ)}
    s = settings_for(git_repo, api, before=before, after=after, results=results, github_actions=True)
    assert run_sync(None, s, env=env) == 1
    captured = capsys.readouterr()
    first, rest = captured.out.split("\n", 1)
    assert first == f"::add-mask::{KEY}"  # in Actions the runner is told to hide it, before anything else
    everything = rest + captured.err + out.read_text() + summ.read_text() + results.read_text()
    assert "is not allowed" in everything  # the message is shown...
    assert KEY not in everything  # ...without the key
    assert "::error file=a.png::" in captured.out


def test_wrong_api_key_is_one_setup_error_and_nothing_more_is_sent(git_repo, api, capsys):
    before = git_repo.commit("empty")
    for i in range(40):
        git_repo.write(f"img{i:02}.png", image_bytes("PNG", seed=i))
    after = git_repo.commit()
    s = Settings(path=git_repo.path, api_url=api.url, api_key="WRONG-key-abcdef", before=before, after=after,
                 concurrency=1)
    assert run_sync(None, s, env={}) == 2  # a setup error, not 40 failed files
    captured = capsys.readouterr()
    assert "WRONG-key-abcdef" not in captured.out + captured.err
    assert len(api.received) == 1  # the first 403 stops the run: the other 39 are never sent
    assert "failed 403" in captured.out
    assert captured.out.count("failed - not sent: the API refused an earlier request's credentials") == 39
    assert captured.out.count("error: ") == 1  # one annotation, for the file that was refused
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and "HTTP 403" in err[0] and "check the API key, aws-sign" in err[0]


def test_wrong_api_key_in_reconcile_is_a_setup_error(git_repo, api, capsys):
    git_repo.write("a.png", image_bytes("PNG", seed=1))
    git_repo.commit()
    s = Settings(path=git_repo.path, api_url=api.url, api_key="WRONG-key-abcdef", mode="reconcile")
    assert run_sync(None, s, env={}) == 2
    captured = capsys.readouterr()
    assert "HTTP 403" in captured.err and "WRONG-key-abcdef" not in captured.out + captured.err


def test_github_actions_groups_and_annotations(git_repo, api, capsys):
    before = git_repo.commit("empty")
    git_repo.write("ok.png", image_bytes("PNG", seed=1))
    git_repo.write("bad, name: x.png", b"not a png")
    after = git_repo.commit()
    report, text = run(settings_for(git_repo, api, before=before, after=after, github_actions=True))
    assert "::group::Sending 1 image(s)" in text
    assert "::endgroup::" in text
    assert "::error file=bad%2C name%3A x.png::put rejected: " in text


def test_unusual_names_reach_the_api_intact(git_repo, api):
    names = ["with space.png", "100%.png", "hash#tag.png", "what?.png", "사진/고양이.png", "emoji 🐌.png",
             "new\nline.png", "-dash.png"]
    before = git_repo.commit("empty")
    for i, n in enumerate(names):
        git_repo.write(n, image_bytes("PNG", seed=i))
    after = git_repo.commit()
    report, _ = run(settings_for(git_repo, api, before=before, after=after))
    assert sorted(api.catalog) == sorted(names)
    assert report.summary()["put"] == len(names)


def test_results_file_is_valid_json_for_a_dry_run(history, tmp_path):
    repo, before, after = history
    results = tmp_path / "results.json"
    code = run_sync(None, Settings(path=repo.path, before=before, after=after, dry_run=True, results=results),
                    env={})
    assert code == 0
    data = json.loads(Path(results).read_text())
    assert {r["outcome"] for r in data["results"]} == {"planned"}


def test_put_answered_413_falls_back_to_the_presigned_upload(git_repo, api):
    before = git_repo.commit("empty")
    data = image_bytes("PNG", seed=7)
    git_repo.write("a.png", data)
    after = git_repo.commit()
    api.fail["a.png"] = (413, {"message": "Request Too Long"})
    report, _ = run(settings_for(git_repo, api, before=before, after=after))
    (r,) = report.results
    assert r.outcome == "completed"
    assert [x.method for x in api.received][:3] == ["PUT", "POST", "PUT"]
    assert [x.body for x in api.received if x.path.startswith("/s3/")] == [data]


def test_reconcile_leaves_catalog_paths_outside_the_globs_alone(git_repo, api):
    git_repo.write("photos/a.png", image_bytes("PNG", seed=1))
    after = git_repo.commit()
    api.catalog = {"legacy/old.png": {"hash": "1" * 64, "status": "completed"},
                   "photos/gone.png": {"hash": "2" * 64, "status": "completed"}}
    report, _ = run(settings_for(git_repo, api, mode="reconcile", after=after, exclude=("legacy/**",)))
    outcomes = {(r.op, r.path): r.outcome for r in report.results}
    assert outcomes == {("put", "photos/a.png"): "completed", ("delete", "photos/gone.png"): "deleted"}
    assert "legacy/old.png" in api.catalog


S3_EXPIRED = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
              b"<Message>Request has expired</Message><Expires>2026-01-01T00:00:00Z</Expires></Error>")


def _one_large(git_repo):
    before = git_repo.commit("empty")
    data = image_bytes("PNG", size=(64, 64), seed=3)
    git_repo.write("big.png", data)
    return before, git_repo.commit(), data


def test_expired_upload_url_is_replaced_by_a_fresh_one_once(git_repo, api):
    from httpstub import Reply

    before, after, data = _one_large(git_repo)
    api.s3_replies = [Reply(403, S3_EXPIRED)]
    report, _ = run(settings_for(git_repo, api, before=before, after=after, direct_upload_limit=10))
    (r,) = report.results
    assert r.outcome == "completed"
    assert [x.path for x in api.sent("POST")] == ["/uploads", "/uploads"]
    assert [x.body for x in api.received if x.path.startswith("/s3/")] == [data, data]


def test_storage_refusing_the_upload_twice_fails_with_s3s_own_words(git_repo, api):
    from httpstub import Reply

    before, after, _ = _one_large(git_repo)
    api.s3_replies = [Reply(403, S3_EXPIRED), Reply(403, S3_EXPIRED)]
    report, _ = run(settings_for(git_repo, api, before=before, after=after, direct_upload_limit=10))
    (r,) = report.results
    assert r.outcome == "failed" and r.http_status == 403
    assert r.message == ("presigned upload to storage failed (with a fresh upload URL too): "
                         "HTTP 403 AccessDenied: Request has expired")
    assert "X-Amz-Signature" not in r.message  # the presigned URL is a credential


def test_storage_error_other_than_403_is_not_asked_again(git_repo, api):
    from httpstub import Reply

    before, after, _ = _one_large(git_repo)
    api.s3_replies = [Reply(400, b"<Error><Code>EntityTooLarge</Code><Message>too big</Message></Error>")]
    report, _ = run(settings_for(git_repo, api, before=before, after=after, direct_upload_limit=10))
    (r,) = report.results
    assert r.outcome == "failed" and r.message.endswith("HTTP 400 EntityTooLarge: too big")
    assert len(api.sent("POST")) == 1


def test_large_upload_whose_processing_fails_reports_the_backends_reason(git_repo, api):
    before, after, _ = _one_large(git_repo)
    api.fail_processing["big.png"] = "invalid_image: cannot identify image file"
    report, _ = run(settings_for(git_repo, api, before=before, after=after, direct_upload_limit=10))
    (r,) = report.results
    assert r.outcome == "failed"
    assert r.message == "invalid_image: cannot identify image file"


@pytest.mark.parametrize("reply", ["500", "cut"])
def test_reconcile_whose_catalog_cannot_be_listed_exits_1_with_one_line(git_repo, capsys, reply):
    from httpstub import Reply, StubServer

    git_repo.write("a.png", image_bytes("PNG"))
    after = git_repo.commit()

    def script(req, i):
        if reply == "cut":
            return Reply(200, {"files": [], "cursor": None}, cut=True)
        return Reply(500, {"error": "internal_error", "message": f"boom for {KEY}"})

    with StubServer(script) as srv:
        s = Settings(path=git_repo.path, api_url=srv.url, api_key=KEY, mode="reconcile", after=after)
        from snail_action import sync_cmd as sync_module

        code = sync_module.run_sync(None, s, env={}, options=FAST)
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1 and err.startswith("snail-images: error: ")
    assert ("listing the catalog failed: HTTP 500 internal_error: boom for ***" in err if reply == "500"
            else "GET /images: no answer after" in err)
    assert KEY not in err


def test_a_server_message_with_newlines_stays_on_its_progress_line(git_repo, api):
    before = git_repo.commit("empty")
    git_repo.write("a.png", image_bytes("PNG", seed=1))
    after = git_repo.commit()
    api.fail["a.png"] = (400, {"error": "bad_request", "message": "no\n::add-mask::x\r\n::error::forged"})
    report, text = run(settings_for(git_repo, api, before=before, after=after, github_actions=True))
    assert not any(ln.startswith(("::add-mask::", "::error::")) for ln in text.splitlines())
    assert "[1/1] put a.png failed 400 - bad_request: no ::add-mask::x ::error::forged" in text


@pytest.mark.parametrize("event", ["pull_request", "pull_request_target"])
def test_a_sync_in_a_pull_request_event_is_refused_before_sending_anything(history, api, tmp_path, event):
    from snail_action.settings import SettingsError

    repo, before, after = history
    path = tmp_path / "event.json"
    path.write_text(json.dumps({"pull_request": {"base": {"sha": before}, "head": {"sha": after}}}))
    s = settings_for(repo, api, event_name=event, event_path=path, github_actions=True)
    with pytest.raises(SettingsError, match=f"mode diff in a {event} event would send .* use mode check"):
        run(s)
    assert api.received == []
    # a dry run and an explicit range are still allowed
    assert {r.outcome for r in run(settings_for(repo, api, event_name=event, event_path=path,
                                                dry_run=True))[0].results} == {"planned"}
    assert run(settings_for(repo, api, event_name=event, before=before, after=after))[0].ok
    assert run(settings_for(repo, api, event_name=event, after=after, all=True))[0].ok


def test_annotations_name_files_relative_to_the_workspace(git_repo, api, tmp_path):
    # actions/checkout with `path: repo`: the image repository is a folder of the workspace
    before = git_repo.commit("empty")
    git_repo.write("photos/bad.png", b"not a png")
    after = git_repo.commit()
    s = settings_for(git_repo, api, before=before, after=after, github_actions=True, workspace=tmp_path)
    report, text = run(s)
    assert "::error file=repo/photos/bad.png::put rejected: " in text
    assert report.results[0].path == "photos/bad.png"  # only the annotation carries the folder


def test_annotation_prefix(tmp_path):
    from snail_action.report import annotation_prefix

    (tmp_path / "ws" / "a" / "b").mkdir(parents=True)
    assert annotation_prefix(tmp_path / "ws", tmp_path / "ws") == ""
    assert annotation_prefix(tmp_path / "ws" / "a" / "b", tmp_path / "ws") == "a/b/"
    assert annotation_prefix(tmp_path / "elsewhere", tmp_path / "ws") == ""
    assert annotation_prefix(tmp_path / "ws", None) == ""
