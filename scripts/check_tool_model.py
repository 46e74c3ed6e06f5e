#!/usr/bin/env python3
"""Checks target/tiny-models/tool-qwen2.gguf (scripts/make_tool_model.py) with llama-cpp-python.

    pip install llama-cpp-python jinja2
    python3 scripts/check_tool_model.py [OUTDIR]      # OUTDIR defaults to target/tiny-models

Renders conversations with the model's own chat template (jinja2, `tojson` = json.dumps as in
transformers), tokenizes them with special tokens parsed and no BOS, and decodes greedily twice:
with `create_completion(tokens, max_tokens=64, temperature=0)` (text, finish reason) and with a
manual argmax loop over the logits (token ids, and the gap between the best and second-best
logit at every step). A fresh question must give the tool call, a conversation that contains a
tool response must give the answer, each followed by <|im_end|>. Prints one line per case and
the smallest gaps; exits non-zero on any mismatch.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import jinja2
import jinja2.sandbox
import llama_cpp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_tool_model import ANSWER_PIECES, END, REPO, TOOL_CALL_PIECES  # noqa: E402

TOOL_CALL_TEXT = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'
ANSWER_TEXT = "It is sunny."
TOOL_RESULT = '{"temperature": 21, "condition": "sunny"}'

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "The city name."}},
            "required": ["city"],
        },
    },
}
TIME_TOOL = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "Get the local time in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                       "required": ["city"]},
    },
}


def call(arguments) -> dict:
    return {"role": "assistant", "content": None, "tool_calls": [{
        "id": "call_1", "type": "function",
        "function": {"name": "get_weather", "arguments": arguments}}]}


def tool(content: str = TOOL_RESULT) -> dict:
    return {"role": "tool", "tool_call_id": "call_1", "content": content}


def sys_(text: str) -> dict:
    return {"role": "system", "content": text}


def user(text: str) -> dict:
    return {"role": "user", "content": text}


A1 = [sys_("You are a helpful assistant."), user("What is the weather in Paris?")]
A2 = [user("What's the weather like in Paris today?")]
A3 = [sys_("You are a terse weather bot."), user("Tell me the current weather in Paris, please.")]
A4 = [sys_("You are a helpful assistant."), user("Hi!"),
      {"role": "assistant", "content": "Hello! How can I help?"}, user("Is it raining in Paris?")]
A5 = [sys_("You are a helpful assistant. " * 150), user("What is the weather in Paris?")]

CASES = [
    # name, messages, tools, expected text
    ("A  (system, 1 tool)", A1, [WEATHER_TOOL], TOOL_CALL_TEXT),
    ("A2 (no system)", A2, [WEATHER_TOOL], TOOL_CALL_TEXT),
    ("A3 (other wording)", A3, [WEATHER_TOOL], TOOL_CALL_TEXT),
    ("A4 (earlier turns, 2 tools)", A4, [WEATHER_TOOL, TIME_TOOL], TOOL_CALL_TEXT),
    ("A5 (long system prompt)", A5, [WEATHER_TOOL], TOOL_CALL_TEXT),
    ("B  (A + call + result)", A1 + [call({"city": "Paris"}), tool()], [WEATHER_TOOL], ANSWER_TEXT),
    ("B2 (string arguments)", A2 + [call('{"city": "Paris"}'), tool()], [WEATHER_TOOL], ANSWER_TEXT),
    ("B3 (other wording/result)", A3 + [call({"city": "Paris"}), tool('{"temp_c": 18}')],
     [WEATHER_TOOL], ANSWER_TEXT),
    ("B4 (long system prompt)", A5 + [call({"city": "Paris"}), tool()], [WEATHER_TOOL], ANSWER_TEXT),
]


def render(template: str, messages: list, tools: list) -> str:
    env = jinja2.sandbox.ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.filters["tojson"] = lambda x: json.dumps(x, ensure_ascii=False)
    return env.from_string(template).render(messages=messages, tools=tools,
                                            add_generation_prompt=True)


def greedy(llm: llama_cpp.Llama, prompt: list[int], max_tokens: int = 64):
    """Argmax decoding; returns (token ids incl. the final EOG token, per-step top1-top2 gaps)."""
    llm.reset()
    llm.eval(prompt)
    n_vocab = llm.n_vocab()
    ids, gaps = [], []
    for _ in range(max_tokens):
        logits = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(n_vocab,)).copy()
        top2 = np.argsort(logits)[-2:]
        ids.append(int(top2[1]))
        gaps.append(float(logits[top2[1]] - logits[top2[0]]))
        if llama_cpp.llama_vocab_is_eog(llm._model.vocab, ids[-1]):
            break
        llm.eval([ids[-1]])
    return ids, gaps


def main(argv: list[str]) -> int:
    out_dir = Path(argv[1]) if len(argv) > 1 else REPO / "target" / "tiny-models"
    llm = llama_cpp.Llama(str(out_dir / "tool-qwen2.gguf"), n_ctx=2048, logits_all=False,
                          verbose=False)
    template = llm.metadata["tokenizer.chat_template"]

    def one(piece: str) -> int:
        ids = llm.tokenize(piece.encode(), add_bos=False, special=True)
        assert len(ids) == 1, (piece, ids)
        return ids[0]

    expected = {TOOL_CALL_TEXT: [one(p) for p in TOOL_CALL_PIECES] + [one(END)],
                ANSWER_TEXT: [one(p) for p in ANSWER_PIECES] + [one(END)]}
    ok = True
    min_gap = {}
    for name, messages, tools, want in CASES:
        prompt_text = render(template, messages, tools)
        prompt = llm.tokenize(prompt_text.encode(), add_bos=False, special=True)
        llm.reset()
        res = llm.create_completion(prompt, max_tokens=64, temperature=0)
        text, finish = res["choices"][0]["text"], res["choices"][0]["finish_reason"]
        ids, gaps = greedy(llm, prompt)
        good = text == want and finish == "stop" and ids == expected[want]
        ok &= good
        kind = "tool call" if want == TOOL_CALL_TEXT else "answer"
        min_gap[kind] = min(min_gap.get(kind, np.inf), min(gaps))
        print(f"{'ok  ' if good else 'FAIL'} {name:30s} prompt {len(prompt):4d} tokens -> "
              f"{json.dumps(text)} ({finish}), {len(ids)} tokens, min gap {min(gaps):.3f}")
        if not good:
            print("     got ids ", ids, "\n     want ids", expected[want])
    print(f"tool call ids: {expected[TOOL_CALL_TEXT]}")
    print(f"answer ids:    {expected[ANSWER_TEXT]}")
    print("min top1-top2 logit gap: " + ", ".join(f"{k} {v:.3f}" for k, v in min_gap.items()))
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
