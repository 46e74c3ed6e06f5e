"""`wick serve` driven by the official `openai` Python package, on the default model (Gemma 3
270M, no chat template in the file: the built-in Gemma template) and on the scripted tool-calling
model of scripts/make_tool_model.py (a ChatML template with Hermes-style tools)."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request

import openai
import pytest

from conftest import API_KEY

GREEDY = dict(temperature=0, max_tokens=8)
QUESTION = [{"role": "user", "content": "Name a colour."}]


def chat(client, **kw):
    args = dict(model="gemma", messages=QUESTION, **GREEDY)
    args.update(kw)
    return client.chat.completions.create(**args)


def stream_text(client, **kw):
    """The streamed chunks' content, finish reason and final usage."""
    text, finish, usage = "", None, None
    stream = chat(client, stream=True, stream_options={"include_usage": True}, **kw)
    for chunk in stream:
        if chunk.usage is not None and not chunk.choices:
            usage = chunk.usage
        for choice in chunk.choices:
            text += choice.delta.content or ""
            finish = choice.finish_reason or finish
    return text, finish, usage


def test_models_lists_the_alias(gemma):
    models = gemma.client().models.list()
    assert [m.id for m in models.data] == ["gemma"]


def test_chat_completion_greedy_is_repeatable_and_counted(gemma):
    client = gemma.client()
    a = chat(client)
    b = chat(client)
    msg = a.choices[0].message
    assert msg.role == "assistant"
    assert isinstance(msg.content, str) and msg.content.strip()
    assert a.choices[0].finish_reason in ("stop", "length")
    assert 0 < a.usage.completion_tokens <= 8
    assert a.usage.prompt_tokens > 5
    assert a.usage.total_tokens == a.usage.prompt_tokens + a.usage.completion_tokens
    assert b.choices[0].message.content == msg.content
    # The same prompt again reuses all but its last token from the slot's cache.
    assert b.usage.prompt_tokens_details.cached_tokens == b.usage.prompt_tokens - 1


def test_streamed_chat_matches_the_whole_response(gemma):
    client = gemma.client()
    whole = chat(client)
    text, finish, usage = stream_text(client)
    assert text == whole.choices[0].message.content
    assert finish == whole.choices[0].finish_reason
    assert usage.completion_tokens == whole.usage.completion_tokens
    assert usage.prompt_tokens == whole.usage.prompt_tokens


def test_text_completion_and_stop_strings(gemma):
    client = gemma.client()
    r = client.completions.create(model="gemma", prompt="1, 2, 3, 4,", temperature=0, max_tokens=6)
    text = r.choices[0].text
    assert text and r.usage.completion_tokens <= 6
    # Stop at the first comma of the continuation: the text ends before it.
    s = client.completions.create(
        model="gemma", prompt="1, 2, 3, 4,", temperature=0, max_tokens=6, stop=[","]
    )
    assert "," not in s.choices[0].text
    assert text.startswith(s.choices[0].text)
    assert s.choices[0].finish_reason == "stop"


def test_logit_bias_forces_a_token(gemma):
    client = gemma.client()

    def first_token(prompt, **kw):
        r = client.completions.create(
            model="gemma", prompt=prompt, temperature=0, max_tokens=1, **kw
        )
        assert r.usage.completion_tokens == 1
        return r.choices[0].text

    prompts = ["The sky is", "1, 2, 3,"]
    plain = [first_token(p) for p in prompts]
    assert plain[0] != plain[1]
    forced = [first_token(p, logit_bias={"1000": 100}) for p in prompts]
    assert forced[0] == forced[1] and forced[0] not in plain


def test_four_concurrent_streams_all_complete(gemma):
    client = gemma.client()
    prompts = ["Name a colour.", "Name a fruit.", "Name an animal.", "Name a city."]
    results: dict[int, tuple] = {}

    def run(i):
        results[i] = stream_text(
            client, messages=[{"role": "user", "content": prompts[i]}], max_tokens=6
        )

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert sorted(results) == [0, 1, 2, 3]
    for text, finish, usage in results.values():
        assert text and finish in ("stop", "length")
        assert 0 < usage.completion_tokens <= 6


def test_a_client_that_disconnects_frees_its_slot(gemma):
    client = gemma.client()
    # Four slots. Leave a stream that would run for thousands of tokens after two chunks...
    stream = chat(client, stream=True, max_tokens=100000, messages=[
        {"role": "user", "content": "Count from one to one thousand."}])
    got = 0
    for chunk in stream:
        got += 1
        if got == 3:
            break
    stream.close()
    # ...then four requests at once must all get a slot and finish: the abandoned one's slot
    # came back (at about a token per second on a software GPU, it would otherwise hold its
    # slot for hours).
    test_four_concurrent_streams_all_complete(gemma)
    assert any("client disconnected" in line for line in gemma.log)


def test_long_shared_prefix_is_processed_once(gemma):
    client = gemma.client()
    system = "You are a careful assistant. " + " ".join(
        f"Rule {i}: answer briefly and name the colour." for i in range(40)
    )
    first = chat(client, messages=[{"role": "system", "content": system},
                                   {"role": "user", "content": "Name a colour."}], max_tokens=2)
    second = chat(client, messages=[{"role": "system", "content": system},
                                    {"role": "user", "content": "Name a fruit, please."}],
                  max_tokens=2)
    assert first.usage.prompt_tokens > 300
    processed = second.usage.prompt_tokens - second.usage.prompt_tokens_details.cached_tokens
    # The new tokens are the user turn's few words and the turn markers after them.
    new_tokens = second.usage.prompt_tokens - first.usage.prompt_tokens + 12
    assert processed <= new_tokens + 1, (processed, new_tokens)


def post(url, body: bytes, headers=None):
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json",
                                                          **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=600) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


@pytest.mark.parametrize(
    "body,status,param",
    [
        (b'{"messages": [', 400, None),
        (b'{"model": "gemma"}', 400, "messages"),
        (b'{"messages": []}', 400, "messages"),
        (b'{"messages": [{"content": "hi"}]}', 400, None),
        (b'{"model": "gpt-9", "messages": [{"role": "user", "content": "hi"}]}', 404, "model"),
        (b'{"messages": [{"role": "user", "content": "hi"}], "temperature": 7}', 400,
         "temperature"),
        (b'{"messages": [{"role": "user", "content": "hi"}], "top_p": -1}', 400, "top_p"),
        (b'{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 0}', 400,
         "max_tokens"),
        (b'{"messages": [{"role": "user", "content": "hi"}], "logit_bias": {"x": 1}}', 400,
         "logit_bias"),
        (b'{"messages": [{"role": "user", "content": "hi"}], "temperature": "hot"}', 400, None),
    ],
)
def test_bad_requests_get_openai_errors(gemma, body, status, param):
    code, reply = post(gemma.url + "/v1/chat/completions", body)
    assert code == status, reply
    err = reply["error"]
    assert err["message"] and err["type"]
    if param:
        assert err["param"] == param
    assert gemma.alive()


def test_prompt_longer_than_the_context_is_refused(gemma):
    long = "word " * 3000
    with pytest.raises(openai.BadRequestError) as e:
        chat(gemma.client(), messages=[{"role": "user", "content": long}])
    assert e.value.code == "context_length_exceeded"


def test_body_too_large_is_refused(gemma):
    body = b'{"messages": [{"role": "user", "content": "' + b"x" * (33 << 20) + b'"}]}'
    try:
        code, reply = post(gemma.url + "/v1/chat/completions", body)
    except (ConnectionError, urllib.error.URLError):
        # The server may close the connection as soon as it has answered.
        code, reply = 413, None
    assert code == 413
    if reply is not None:
        assert "larger than" in reply["error"]["message"]
    assert gemma.client().models.list().data


def test_unknown_path_is_a_json_404(gemma):
    code, reply = post(gemma.url + "/v1/nothing", b"{}")
    assert code == 404 and "error" in reply


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def test_api_key_is_required_on_v1(tool_server):
    with pytest.raises(openai.AuthenticationError):
        tool_server.client(api_key="wrong").models.list()
    # No Authorization header at all.
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(tool_server.url + "/v1/models")
    assert e.value.code == 401
    assert json.loads(e.value.read())["error"]["code"] == "invalid_api_key"
    assert tool_server.client(api_key=API_KEY).models.list().data
    # /health stays open, as a load balancer's probe needs.
    with urllib.request.urlopen(tool_server.url + "/health") as r:
        assert json.loads(r.read())["status"] == "ok"


def test_tool_call_round_trip(tool_server):
    client = tool_server.client(api_key=API_KEY)
    messages = [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "What is the weather in Paris?"},
    ]
    r = client.chat.completions.create(
        model="tool-qwen2", messages=messages, tools=[WEATHER_TOOL], temperature=0
    )
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls"
    [call] = choice.message.tool_calls
    assert call.id and call.type == "function"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}

    # Streamed, the same call arrives as a tool_calls delta.
    calls = {}
    finish = None
    for chunk in client.chat.completions.create(
        model="tool-qwen2", messages=messages, tools=[WEATHER_TOOL], temperature=0, stream=True
    ):
        for c in chunk.choices:
            finish = c.finish_reason or finish
            for tc in c.delta.tool_calls or []:
                entry = calls.setdefault(tc.index, {"name": "", "arguments": ""})
                entry["name"] += tc.function.name or ""
                entry["arguments"] += tc.function.arguments or ""
    assert finish == "tool_calls"
    assert [(c["name"], json.loads(c["arguments"])) for c in calls.values()] == [
        ("get_weather", {"city": "Paris"})
    ]

    # The tool's result goes back; the model answers in words.
    messages += [
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id,
         "content": json.dumps({"temperature": 21, "condition": "sunny"})},
    ]
    answer = client.chat.completions.create(
        model="tool-qwen2", messages=messages, tools=[WEATHER_TOOL], temperature=0
    )
    assert answer.choices[0].finish_reason == "stop"
    assert not answer.choices[0].message.tool_calls
    assert "sunny" in answer.choices[0].message.content


def test_server_survived(gemma):
    assert gemma.alive()
    with urllib.request.urlopen(gemma.url + "/health") as r:
        assert r.status == 200
