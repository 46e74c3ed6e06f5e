#!/usr/bin/env python3
"""Measures a running OpenAI-compatible server (wick serve, llama-server) as an agent uses it.

    python3 scripts/bench_server.py --url http://127.0.0.1:8080 [--prefix-words 1500] [--gen 64]
                                    [--streams 1,4] [--model NAME]

Standard library only, so it runs on machines without pip access.

1. Prefix cache: a chat request with a long system prompt (about --prefix-words words), then a
   second one with the same system prompt and another user message. Prints each one's time to
   first token (streamed, max_tokens 1), prompt tokens and cached tokens.
2. Batched decode: for each count in --streams, that many concurrent streamed completions of
   --gen tokens each (`ignore_eos`, short distinct prompts), started together. Prints the total
   generated tokens per second of wall time, and per stream.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
import urllib.request


def stream(url: str, body: dict) -> dict:
    """Posts a streamed request; returns the time of the first token, the end time and usage."""
    body = dict(body, stream=True, stream_options={"include_usage": True})
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    start = time.perf_counter()
    first = None
    usage = None
    with urllib.request.urlopen(req, timeout=3600) as r:
        for raw in r:
            line = raw.decode().strip()
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            if "error" in chunk:
                raise RuntimeError(chunk["error"])
            if chunk.get("usage"):
                usage = chunk["usage"]
            for c in chunk.get("choices", []):
                delta = c.get("delta", {})
                text = c.get("text") or delta.get("content") or delta.get("reasoning_content")
                if (text or c.get("finish_reason")) and first is None:
                    first = time.perf_counter()
    end = time.perf_counter()
    return {"start": start, "first": first or end, "end": end, "usage": usage or {}}


def prefix_cache(base: str, model: str | None, words: int) -> None:
    sentence = "Always read the file before editing it and keep the change small."
    n = max(1, words // len(sentence.split()))
    # A fresh first line, so a repeated run starts cold too.
    system = f"Session {time.time_ns()}.\n" + " ".join(f"Rule {i}: {sentence}" for i in range(n))
    url = base + "/v1/chat/completions"
    for label, question in [("cold", "List the rules."), ("warm", "Which rule comes first?")]:
        body = {
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": question},
            ],
            "max_tokens": 1,
            "temperature": 0,
        }
        if model:
            body["model"] = model
        r = stream(url, body)
        u = r["usage"]
        cached = u.get("prompt_tokens_details", {}).get("cached_tokens", 0)
        print(
            f"{label}: time to first token {1e3 * (r['first'] - r['start']):8.1f} ms, "
            f"prompt {u.get('prompt_tokens')} tokens, cached {cached}"
        )


def batched(base: str, model: str | None, n: int, gen: int) -> None:
    url = base + "/v1/completions"
    results: list[dict] = [{}] * n

    def run(i: int) -> None:
        body = {
            "prompt": f"Story number {i}: once upon a time",
            "max_tokens": gen,
            "temperature": 0,
            "ignore_eos": True,
        }
        if model:
            body["model"] = model
        results[i] = stream(url, body)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    tokens = sum(r["usage"].get("completion_tokens", 0) for r in results)
    per_stream = [
        (r["usage"].get("completion_tokens", 1) - 1) / max(r["end"] - r["first"], 1e-9)
        for r in results
    ]
    print(
        f"{n} stream(s): {tokens} tokens in {wall:.2f} s = {tokens / wall:8.1f} tokens/s total; "
        f"decode per stream {min(per_stream):.1f}-{max(per_stream):.1f} tokens/s"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", default="http://127.0.0.1:8080")
    ap.add_argument("--model")
    ap.add_argument("--prefix-words", type=int, default=1500)
    ap.add_argument("--gen", type=int, default=64)
    ap.add_argument("--streams", default="1,4")
    args = ap.parse_args()
    prefix_cache(args.url, args.model, args.prefix_words)
    for n in (int(s) for s in args.streams.split(",")):
        batched(args.url, args.model, n, args.gen)


if __name__ == "__main__":
    main()
