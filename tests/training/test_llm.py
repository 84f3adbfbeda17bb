"""The LLM client against a loopback chat-completions server: answers, retries,
timeouts, bad answers and fallbacks, the cache, votes. No network: the
server runs in a thread on 127.0.0.1. (The store of votes: test_kinds.py.)"""

from __future__ import annotations

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from autofoley.records import SoundEntry
from autofoley.training.llm import (
    LlmClient,
    audio_centric,
    classify_kinds,
    clean_sentence,
    llm_sentences,
    parse_kind,
    sentence_messages,
    vote,
)

KEY = "sk-test-0123456789-secret"


class ChatServer:
    """A chat-completions endpoint whose answers come from ``reply(body)``.

    ``reply`` returns a content string (wrapped as a completion), or a tuple
    (status, raw body bytes, headers) for anything else, or ("sleep", s,
    content) to answer late. Every request is kept in ``requests`` as
    (headers dict, parsed body).
    """

    def __init__(self, reply):
        self.reply = reply
        self.requests: list[tuple[dict, dict]] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                with server.lock:
                    server.requests.append((dict(self.headers), body))
                    answer = server.reply(body)
                if isinstance(answer, tuple) and answer[0] == "sleep":
                    time.sleep(answer[1])
                    answer = answer[2]
                if isinstance(answer, str):
                    answer = (200, completion(answer), {})
                status, raw, headers = answer
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(raw)))
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(raw)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def completion(content) -> bytes:
    return json.dumps({"id": "x", "object": "chat.completion",
                       "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]}
                      ).encode()


def scripted(*answers):
    """Replies in order; the last one repeats."""
    queue = list(answers)

    def reply(body):
        return queue.pop(0) if len(queue) > 1 else queue[0]
    return reply


def client_for(server, **kw) -> LlmClient:
    sleeps = kw.pop("sleeps", [])
    return LlmClient(url=server.url, model="test-model", key_env="AF_TEST_KEY", timeout=kw.pop("timeout", 2.0),
                     retries=kw.pop("retries", 2), backoff=0.01, workers=kw.pop("workers", 1),
                     sleep=sleeps.append, **kw)


@pytest.fixture(autouse=True)
def private(monkeypatch, tmp_path):
    monkeypatch.setenv("AUTOFOLEY_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("AUTOFOLEY_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("AF_TEST_KEY", KEY)


def entry(description: str, category: str = "ANIMALS", kind: str = "sfx", name: str = "a.wav") -> SoundEntry:
    return SoundEntry(path=Path("/lib") / name, description=description, category=category, kind=kind,
                      duration=1.0, sample_rate=48000, channels=1)


def test_good_answer_sends_key_and_is_cached():
    with ChatServer(scripted("A dog barking outside.")) as server:
        client = client_for(server)
        messages = sentence_messages("dog, bark, close mic", "ANIMALS", "medium")
        assert client.chat(messages) == "A dog barking outside."
        headers, body = server.requests[0]
        assert headers["Authorization"] == f"Bearer {KEY}"
        assert body["model"] == "test-model" and body["temperature"] == 0.0
        assert body["messages"] == messages
        # The analogies come before the query, as user/assistant turns.
        assert [m["role"] for m in messages[:3]] == ["system", "user", "assistant"]
        again = client_for(server)
        assert again.chat(messages) == "A dog barking outside."
        assert (again.calls, again.cache_hits, len(server.requests)) == (0, 1, 1)


def test_specificity_selects_the_examples():
    low, high = (sentence_messages("dog, bark", "", s) for s in ("low", "high"))
    assert low[-1] == high[-1] and low[2]["content"] != high[2]["content"]
    assert len(low[2]["content"].split()) < len(high[2]["content"].split())
    with pytest.raises(ValueError):
        sentence_messages("dog", "", "extreme")


def test_500_then_success_is_retried():
    with ChatServer(scripted((500, b"oops", {}), (502, b"", {}), "A bell ringing.")) as server:
        sleeps = []
        client = client_for(server, sleeps=sleeps)
        assert client.chat([{"role": "user", "content": "x"}]) == "A bell ringing."
        assert client.calls == 3 and len(sleeps) == 2 and sleeps[1] > sleeps[0]


def test_429_honours_retry_after():
    with ChatServer(scripted((429, b"{}", {"Retry-After": "2"}), "A car.")) as server:
        sleeps = []
        client = client_for(server, sleeps=sleeps)
        assert client.chat([{"role": "user", "content": "x"}]) == "A car."
        assert sleeps == [2.0]


def test_timeout_is_retried():
    with ChatServer(scripted(("sleep", 1.0, "late"), "A clock ticking.")) as server:
        client = client_for(server, timeout=0.3)
        assert client.chat([{"role": "user", "content": "x"}]) == "A clock ticking."
        assert client.calls == 2


@pytest.mark.parametrize("bad", [
    (200, b"{not json", {}),
    (200, json.dumps({"choices": []}).encode(), {}),
    (200, json.dumps({"result": "A dog."}).encode(), {}),
    (200, completion("   "), {}),
    (200, completion(None), {}),
])
def test_bad_answers_fall_back_to_the_template(bad, caplog):
    with ChatServer(scripted(bad)) as server:
        client = client_for(server, retries=1)
        entries = [entry("dog, bark, close mic, stereo"), entry("car, pass by", "VEHICLES", name="b.wav")]
        with caplog.at_level(logging.DEBUG, logger="autofoley"):
            texts, fallbacks = llm_sentences(entries, client, lambda e: f"template {e.path.name}")
        assert texts == ["template a.wav", "template b.wav"] and fallbacks == 2
        assert client.calls == 4  # two items, two attempts each
        assert KEY not in caplog.text
        # Failures are not cached: a rerun asks again.
        assert not list((Path(client_cache()) ).rglob("*.json"))


def client_cache() -> Path:
    from autofoley.cache import cache_dir
    return cache_dir("llm")


def test_fatal_status_stops_calling(caplog):
    with ChatServer(scripted((401, b'{"error": "bad key"}', {}))) as server:
        client = client_for(server)
        with caplog.at_level(logging.DEBUG, logger="autofoley"):
            assert client.chat([{"role": "user", "content": "a"}]) is None
            assert client.chat([{"role": "user", "content": "b"}]) is None
        assert len(server.requests) == 1 and client.disabled
        assert "AF_TEST_KEY" in caplog.text and KEY not in caplog.text


def test_rerun_makes_no_calls_and_key_is_never_stored():
    answers = {"dog": "A dog barking.", "car": "A car driving past.", "bell": "A bell ringing."}

    def reply(body):
        tags = body["messages"][-1]["content"]
        return next(v for k, v in answers.items() if k in tags)

    entries = [entry(f"{k}, sound", name=f"{k}.wav") for k in answers] + [entry("dog, sound", name="dog2.wav")]
    with ChatServer(reply) as server:
        first = client_for(server, workers=3)
        texts, fallbacks = llm_sentences(entries, first, lambda e: "unused")
        assert texts == ["A dog barking.", "A car driving past.", "A bell ringing.", "A dog barking."]
        assert fallbacks == 0 and first.calls == 3  # the two dog entries share one request
        second = client_for(server)
        assert llm_sentences(entries, second, lambda e: "unused")[0] == texts
        assert second.calls == 0 and len(server.requests) == 3
    stored = "".join(p.read_text() for p in client_cache().rglob("*.json"))
    assert "A dog barking." in stored and KEY not in stored


def test_majority_vote_with_one_dissenter():
    votes = {"dog": ["sfx", "Music.", "SFX"], "street": ["ambience", "music", "sfx"],
             "strings": ["music", "garbage", "music"]}
    seen: dict[str, int] = {}

    def reply(body):
        assert body["temperature"] > 0
        tags = body["messages"][-1]["content"]
        key = next(k for k in votes if k in tags)
        seen[key] = seen.get(key, 0) + 1
        return votes[key][seen[key] - 1]

    entries = [entry("dog, bark", name="dog.wav"), entry("street, traffic", "AMBIENCE", "sfx", "street.wav"),
               entry("strings, swell", "MUSICAL", name="strings.wav")]
    with ChatServer(reply) as server:
        kinds = classify_kinds(entries, client_for(server))
        assert kinds == {entries[0].key: "sfx", entries[1].key: "sfx", entries[2].key: "music"}
        assert len(server.requests) == 9
        # Each vote is cached on its own: asking again costs nothing.
        again = client_for(server)
        assert classify_kinds(entries, again) == kinds and again.calls == 0


def test_vote_and_parse_rules():
    assert vote(["sfx", "music", "sfx"], "ambience") == "sfx"
    assert vote(["sfx", "music", "ambience"], "ambience") == "ambience"  # a tie keeps the library's
    assert vote(["sfx", None, None], "ambience") == "ambience"  # one vote is no majority
    assert [parse_kind(a) for a in ("Ambiance.", "It is a sound effect", "reflex", None)] == \
        ["ambience", "sfx", None, None]
    assert clean_sentence('Sentence: "A dog barking."\nextra') == "A dog barking."
    assert clean_sentence("123") is None and clean_sentence(" ".join(["word"] * 50)) is None


def test_audio_centric_and_its_fallback():
    with ChatServer(scripted("Water splashing and a dog panting.")) as server:
        client = client_for(server)
        assert audio_centric("a dog swimming in a lake", client) == "Water splashing and a dog panting."
        assert "Visual: a dog swimming in a lake" in server.requests[0][1]["messages"][-1]["content"]
    with ChatServer(scripted((200, b"[]", {}))) as server:
        assert audio_centric("a red car", client_for(server, retries=0)) == "a red car"
