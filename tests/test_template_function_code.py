"""The function's package bundles the boto3/botocore that requirements.lock pins (the versions the
tests ran), so the Lambda runtime's own copy -- which AWS changes without notice -- is never used:
Lambda puts the function's directory (/var/task) first on sys.path. `make function-code` downloads
the wheels (network access is part of this test, as for the layer)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LOCKED = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)$", (ROOT / "requirements.lock").read_text(), flags=re.M))


@pytest.fixture(scope="module")
def function_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("function") / "code"
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    done = subprocess.run(["make", "--no-print-directory", "function-code", f"FUNCTION_DIR={out}",
                           f"BIN={Path(sys.executable).parent}"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, f"make function-code failed (it needs PyPI): {done.stderr.strip()}"
    return out


def test_the_package_holds_the_backend_and_the_locked_boto3_and_botocore(function_dir) -> None:
    assert (function_dir / "snail_backend" / "handlers.py").is_file()
    for name in ("boto3", "botocore", "s3transfer", "jmespath", "urllib3"):
        (info,) = function_dir.glob(f"{name}-*.dist-info")
        assert info.name == f"{name}-{LOCKED[name]}.dist-info"
    assert not list(function_dir.rglob("__pycache__")) and not (function_dir / "bin").exists()


def test_with_the_package_first_on_the_path_its_botocore_is_used_and_signs_regional_sigv4(function_dir) -> None:
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import botocore, boto3; from snail_backend.clients import make_client;"
        "c = make_client('s3', 'us-east-1', aws_access_key_id='AKIDEXAMPLE', aws_secret_access_key='x');"
        "print(botocore.__file__); print(boto3.__version__, botocore.__version__);"
        "print(c.generate_presigned_url('put_object', Params={'Bucket': 'b-1', 'Key': 'k'}))")
    done = subprocess.run([sys.executable, "-I", "-c", script, str(function_dir)], capture_output=True, text=True,
                          timeout=60, check=False, cwd=function_dir)
    assert done.returncode == 0, done.stderr
    where, versions, url = done.stdout.splitlines()
    assert Path(where).is_relative_to(function_dir)
    assert versions == f"{LOCKED['boto3']} {LOCKED['botocore']}"
    assert url.startswith("https://b-1.s3.us-east-1.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256")
