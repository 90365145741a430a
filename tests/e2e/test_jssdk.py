"""The decrypt round trip with matrix-js-sdk and its Rust crypto
(initRustCrypto) under node: tests/js/roundtrip.mjs registers alice and
bob, alice sends in an encrypted room, bob decrypts.  matrix-js-sdk is
in tests/js/node_modules, which `bin/myelin-deps test` (make test)
installs with npm.  Skipped, saying why, only when node is absent (a
skip is a failure to tests/run)."""
import os
import shutil
import subprocess

import pytest

from conftest import ROOT

JS = os.path.join(ROOT, "tests", "js")


def test_js_sdk_rust_crypto_round_trip(stack):
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the matrix-js-sdk round trip cannot run")
    assert os.path.isdir(os.path.join(JS, "node_modules", "matrix-js-sdk")), \
        "tests/js/node_modules lacks matrix-js-sdk: run bin/myelin-deps test"
    tag = str(os.getpid())
    out = subprocess.run([node, os.path.join(JS, "roundtrip.mjs"), stack.base, tag],
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-4000:]
    # The Rust crypto logs to stdout too: the script's verdict is a line of its own.
    assert "ok secret from js " + tag in out.stdout.splitlines(), out.stdout[-2000:]
