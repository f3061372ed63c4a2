"""gerbang-chat: POST and GET /v1/chat/sessions/{sid}/messages through nginx,
with the stack's PostgreSQL and Redis and scripts/fake-provider as the
language model.  Replies, stored history and the Redis context, isolation
between users and companies, validation, the provider slow, failing and
answering garbage, the circuit breaker, Redis down, the rate limit, and the
server-sent events read by curl as they arrive."""
import json
import subprocess
import time
import uuid

import pytest

from conftest import envelope_error
from taskutil import Company, metric, provider
from tenants import psql, q

NO_CONTEXT = "reply without the conversation's context: the context store is unavailable"


class Chatter(Company):
    """A company and one of its users, chatting."""

    def send(self, sid, content, headers=None, **extra):
        return self.call("POST", f"/v1/chat/sessions/{sid}/messages",
                         {"content": content, **extra}, headers=headers)

    def history(self, sid, query=""):
        return self.call("GET", f"/v1/chat/sessions/{sid}/messages{query}")

    def rows(self, sid):
        return psql(self.stack, "select role || '|' || content from gerbang.chat_messages "
                    f"where company_id = {q(self.id)} and session_id = {q(sid)} order by seq")


def restart_chat(stack, env=None):
    stack.ctl("program-stop", "chat")
    stack.ctl("program-start", "chat", env=env or {})


@pytest.fixture
def fresh_chat(stack):
    """gerbang-chat restarted after the test: a closed circuit, the stack's
    configuration."""
    yield
    provider(stack, "/control/reset", {})
    restart_chat(stack)


def test_reply_is_stored_and_listed(stack):
    a = Chatter(stack)
    r = a.send("s1", "hello there")
    assert r.status == 200, r
    body = r.json
    assert body["ok"] is True and body["message"] == "reply"
    data = body["data"]
    assert data["session_id"] == "s1" and data["context_messages"] == 0
    assert data["message"]["role"] == "user" and data["message"]["content"] == "hello there"
    assert data["reply"]["role"] == "assistant"
    assert data["reply"]["content"] == "fake answer to: hello there"
    assert data["reply"]["model"] == "fake-model" and data["reply"]["finish_reason"] == "stop"
    assert a.rows("s1") == ["user|hello there", "assistant|fake answer to: hello there"]
    h = a.history("s1")
    assert h.status == 200, h
    assert [m["content"] for m in h.json["data"]] == ["hello there", "fake answer to: hello there"]
    assert h.json["data"][0]["id"] == data["message"]["id"]
    assert h.json["meta"]["next_cursor"] is None


def test_context_goes_with_the_next_message(stack):
    a = Chatter(stack)
    assert a.send("ctx", "my name is Ada").status == 200
    r = a.send("ctx", "what is my name")
    assert r.status == 200, r
    assert r.json["data"]["context_messages"] == 2
    sent = provider(stack, "/control")["last"]
    assert sent == [{"role": "user", "content": "my name is Ada"},
                    {"role": "assistant", "content": "fake answer to: my name is Ada"},
                    {"role": "user", "content": "what is my name"}]
    # another session of the same user starts afresh
    assert a.send("other", "hi").json["data"]["context_messages"] == 0
    assert provider(stack, "/control")["last"] == [{"role": "user", "content": "hi"}]


def test_context_is_bounded_by_messages_and_characters(stack, fresh_chat):
    restart_chat(stack, {"GERBANG_CHAT_CONTEXT_MESSAGES": "4"})
    a = Chatter(stack)
    for i in range(4):
        assert a.send("b", f"message {i}").status == 200
    r = a.send("b", "last")
    assert r.json["data"]["context_messages"] == 4
    sent = provider(stack, "/control")["last"]
    assert [m["content"] for m in sent] == ["message 2", "fake answer to: message 2",
                                            "message 3", "fake answer to: message 3", "last"]
    key = f"gerbang:chat:{a.id}:{a.user}:b"
    ttl = int(subprocess.run(["redis-cli", "-s", str(stack.run / "redis.sock"), "PTTL", key],
                             capture_output=True, text=True, timeout=10).stdout)
    assert 3500_000 < ttl <= 3600_000


def test_history_pages_neither_skip_nor_repeat(stack):
    a = Chatter(stack)
    for i in range(3):
        assert a.send("p", f"m{i}").status == 200
    first = a.history("p", "?limit=4")
    assert first.status == 200 and len(first.json["data"]) == 4
    cur = first.json["meta"]["next_cursor"]
    assert cur
    second = a.history("p", f"?limit=4&cursor={cur}")
    assert len(second.json["data"]) == 2 and second.json["meta"]["next_cursor"] is None
    got = [m["content"] for m in first.json["data"] + second.json["data"]]
    assert got == ["m0", "fake answer to: m0", "m1", "fake answer to: m1",
                   "m2", "fake answer to: m2"]


def test_sessions_are_the_callers_own(stack):
    a = Chatter(stack)
    assert a.send("mine", "secret plan").status == 200
    # another user of the same company
    other = a.call("GET", "/v1/chat/sessions/mine/messages").status  # (a itself: 200)
    assert other == 200
    stranger = Chatter(stack)
    stranger.id, stranger.slug = a.id, a.slug          # same company, another user
    assert envelope_error(stranger.history("mine"), 404)["message"] == "no such session"
    # another company, same user id and session name
    b = Chatter(stack)
    b.user = a.user
    assert envelope_error(b.history("mine"), 404)["message"] == "no such session"
    # writing to the same name makes a session of one's own
    assert b.send("mine", "hello").json["data"]["context_messages"] == 0
    assert a.rows("mine") == ["user|secret plan", "assistant|fake answer to: secret plan"]
    assert len(a.history("mine").json["data"]) == 2
    # row-level security holds the table: the runtime role without a company sees nothing
    n = psql(stack, "select count(*) from gerbang.chat_messages", user="gerbang")
    assert n == ["0"]


def test_every_bad_field_at_once(stack):
    a = Chatter(stack)
    r = a.call("POST", "/v1/chat/sessions/v/messages", {"content": "", "max_tokens": 0, "x": 1})
    body = envelope_error(r, 422)
    assert set(body["errors"]) == {"content", "max_tokens", "x"}
    body = envelope_error(a.call("POST", "/v1/chat/sessions/v/messages", {}), 422)
    assert set(body["errors"]) == {"content"}
    body = envelope_error(a.send("v", "x" * 8001), 422)
    assert body["errors"]["content"] == ["is too long"]
    assert envelope_error(a.send("v", "   \n"), 422)["errors"]["content"] == ["must not be empty"]
    assert envelope_error(a.call("POST", "/v1/chat/sessions/v/messages", [1]), 400)
    assert envelope_error(a.call("POST", "/v1/chat/sessions/v/messages", raw=b"{nope"), 400)
    assert envelope_error(a.send("a.b", "hi"), 404)["message"] == "no such session"
    assert envelope_error(a.send("x" * 65, "hi"), 404)
    assert envelope_error(a.history("v", "?limit=0&cursor=x&y=1"), 422)["errors"].keys() == \
        {"limit", "cursor", "y"}
    r = stack.request("POST", "/v1/chat/sessions/v/messages", body=b'{"content":"hi"}',
                      headers={"Content-Type": "application/json"})
    assert envelope_error(r, 401)
    assert a.rows("v") == []


def test_provider_failing_slow_and_garbage_store_nothing(stack, fresh_chat):
    restart_chat(stack, {"GERBANG_LLM_TIMEOUT_MS": "500", "GERBANG_LLM_RETRIES": "0",
                         "GERBANG_LLM_BREAKER_FAILURES": "100"})
    a = Chatter(stack)
    body = envelope_error(a.send("f", "x [fail:500]"), 502)
    assert body["message"] == "the language model failed"
    t0 = time.monotonic()
    body = envelope_error(a.send("f", "x [slow:3000]"), 504)
    assert time.monotonic() - t0 < 2.5
    assert body["message"] == "the language model did not answer in time"
    for kind in ("[garbage]", "[garbage:shape]", "[garbage:content]", "[truncate]"):
        r = a.send("f", f"x {kind}")
        assert r.status == 502, (kind, r)
    assert envelope_error(a.send("f", "x [garbage]"), 502)["message"] == \
        "the language model's answer was malformed"
    assert a.rows("f") == []
    assert a.send("f", "fine now").status == 200
    assert a.rows("f") == ["user|fine now", "assistant|fake answer to: fine now"]


def test_the_circuit_opens(stack, fresh_chat):
    restart_chat(stack, {"GERBANG_LLM_RETRIES": "0", "GERBANG_LLM_BREAKER_FAILURES": "3",
                         "GERBANG_LLM_BREAKER_OPEN_MS": "1500"})
    a = Chatter(stack)
    provider(stack, "/control", {"mode": "fail", "status": 503})
    for _ in range(3):
        assert a.send("c", "hi").status == 502
    asked = provider(stack, "/control")["counts"]["requests"]
    r = a.send("c", "hi")
    body = envelope_error(r, 503)
    assert body["message"] == "the language model is unavailable"
    assert int(r.header("retry-after")) >= 1
    assert provider(stack, "/control")["counts"]["requests"] == asked   # not asked at all
    assert metric(stack, "gerbang_circuit_state", plugin="llm_chat") == 2
    provider(stack, "/control/reset", {})
    time.sleep(1.6)
    assert a.send("c", "hi again").status == 200            # the probe closes it
    assert a.send("c", "and again").status == 200


def test_redis_down_still_answers_without_context(stack):
    a = Chatter(stack)
    assert a.send("r", "before").status == 200
    stack.ctl("redis-stop")
    try:
        r = a.send("r", "during")
        assert r.status == 200, r
        assert r.json["message"] == NO_CONTEXT
        assert r.json["data"]["context_messages"] == 0
        assert provider(stack, "/control")["last"] == [{"role": "user", "content": "during"}]
    finally:
        stack.ctl("redis-start")
    assert a.rows("r")[-2:] == ["user|during", "assistant|fake answer to: during"]
    r = a.send("r", "after")
    assert r.json["message"] == "reply" and r.json["data"]["context_messages"] == 2


def test_rate_limited(stack, tmp_path, fresh_chat):
    f = tmp_path / "rl.json"
    f.write_text(json.dumps({"classes": {"chat": {"rate": 0.001, "capacity": 2}}}))
    restart_chat(stack, {"GERBANG_RATE_LIMIT_FILE": str(f)})
    a = Chatter(stack)
    assert a.send("l", "one").status == 200
    assert a.send("l", "two").status == 200
    r = a.send("l", "three")
    assert envelope_error(r, 429)
    assert r.header("retry-after")
    assert a.history("l").status == 200          # reading is another class
    assert len(a.rows("l")) == 4


def curl_events(stack, token, sid, content, https=False, port=None):
    """POSTs with Accept: text/event-stream through curl -N; returns
    (lines with the time each arrived, curl's exit status)."""
    url = f"http://127.0.0.1:{port or stack.http_port}/v1/chat/sessions/{sid}/messages"
    p = subprocess.Popen(["curl", "-sS", "-N", "--max-time", "30", "-H", "Accept: text/event-stream",
                          "-H", "Content-Type: application/json",
                          "-H", f"Authorization: Bearer {token}",
                          "-d", json.dumps({"content": content}), "-D", "/dev/stderr", url],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines = []
    t0 = time.monotonic()
    for raw in p.stdout:
        lines.append((time.monotonic() - t0, raw.decode().rstrip("\n")))
    err = p.stderr.read().decode()
    return lines, p.wait(timeout=30), err


def events(lines):
    """[(event, data)] of SSE lines, checking the framing: event, data, blank."""
    out, i, text = [], 0, [l for _, l in lines]
    while i < len(text):
        assert text[i].startswith("event: "), text[i:i + 3]
        assert text[i + 1].startswith("data: "), text[i:i + 3]
        assert text[i + 2] == "", text[i:i + 3]
        out.append((text[i][7:], json.loads(text[i + 1][6:])))
        i += 3
    return out


def test_events_stream_as_the_model_writes(stack):
    a = Chatter(stack)
    lines, rc, head = curl_events(stack, a.token(), "sse", "[drip:300] one two three four")
    assert rc == 0, head
    assert "text/event-stream" in head.lower() and "x-accel-buffering" not in head.lower()
    ev = events(lines)
    deltas = [d["text"] for e, d in ev if e == "delta"]
    assert "".join(deltas) == "fake answer to: one two three four"
    assert len(deltas) >= 6
    # the first piece came well before the last: streamed, not buffered
    first = next(t for t, l in lines if l.startswith("event: delta"))
    last = [t for t, l in lines if l.startswith("event: delta")][-1]
    assert last - first > 1.0, (first, last)
    kind, done = ev[-1]
    assert kind == "done" and done["ok"] is True and done["message"] == "reply"
    assert done["data"]["reply"]["content"] == "fake answer to: one two three four"
    assert a.rows("sse") == ["user|[drip:300] one two three four",
                             "assistant|fake answer to: one two three four"]


def test_events_errors(stack):
    a = Chatter(stack)
    # before the first piece: an ordinary envelope with its status
    r = a.send("e", "x [fail:500]", headers={"Accept": "text/event-stream"})
    assert envelope_error(r, 502)
    # after it: an error event ends the stream, and nothing is stored
    lines, rc, _ = curl_events(stack, a.token(), "e", "[truncate] a b c d e f")
    ev = events(lines)
    assert ev[0][0] == "delta" and ev[-1][0] == "error"
    assert ev[-1][1]["ok"] is False and ev[-1][1]["status"] == 502 and ev[-1][1]["request_id"]
    assert a.rows("e") == []


def test_answers_are_as_documented(stack):
    from test_openapi import conforms
    a = Chatter(stack)
    path = "/v1/chat/sessions/{sid}/messages"
    conforms(a.send("doc", "hello"), path, "post")
    conforms(a.history("doc"), path, "get")
    conforms(a.history("nope-" + uuid.uuid4().hex[:8]), path, "get")
    conforms(a.call("POST", "/v1/chat/sessions/doc/messages", {"x": 1}), path, "post")
