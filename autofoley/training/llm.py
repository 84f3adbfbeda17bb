"""An LLM for curation: tags -> sentences, sound kinds by vote, audio-centric text.

Any OpenAI-compatible chat-completions server works (OpenAI, vLLM, llama.cpp,
Ollama's /v1): ``POST {url}/chat/completions`` with ``model``, ``messages``
and ``temperature``. Only the standard library is used.

Failures never stop a curation run. 429, 5xx, timeouts and refused
connections are retried with exponential backoff; an answer that stays
unusable (not JSON, no ``choices[0].message.content``, empty) makes the
caller fall back to its offline answer for that one item; 401/403/404 mean
every later call would fail too, so the client stops calling after the first.

Every good answer is written to autofoley's cache (``cache_dir("llm")``, one
small JSON file per key, atomically) the moment it arrives, keyed by (url,
model, messages, temperature, sample): a rerun, or a run resumed after a
kill, makes no call for what is already answered. Failures are not cached,
so a rerun retries them. The API key is read from an environment variable,
sent only as ``Authorization: Bearer`` and never logged, cached or written.
The kinds voted from those answers are not cache but the user's data
(``save_llm_kinds``, library/kinds.py): later scans apply them.

Seeds: Wilkins et al. (tags -> sentence with prompt analogies, specificity
set by the examples), Sound design co-pilot (SFX / ambience / music by a
majority of three LLM answers), Oncescu et al. (visual -> audio-centric
descriptions by few-shot prompting).
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

from autofoley.atomic import write_json
from autofoley.cache import cache_dir, text_digest
from autofoley.errors import AutofoleyError
from autofoley.records import SoundEntry

log = logging.getLogger("autofoley")

DEFAULT_URL = "https://api.openai.com/v1"
DEFAULT_MODEL = "gpt-4o-mini"
DEFAULT_KEY_ENV = "OPENAI_API_KEY"
SPECIFICITIES = ("low", "medium", "high")
VOTES = 3  # answers per classification (seed 002: three LLM instances)
VOTE_TEMPERATURE = 0.7  # > 0: the three answers must be able to differ

Message = dict  # {"role": "system" | "user" | "assistant", "content": str}

_RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
_FATAL_STATUS = frozenset({401, 403, 404})
_MAX_SENTENCE_WORDS = 30
_MAX_BACKOFF = 30.0  # seconds; also caps a server's Retry-After


class LlmError(AutofoleyError):
    """The LLM server cannot be used at all (bad key, wrong URL or model)."""


@dataclass
class LlmClient:
    """A chat-completions endpoint with retries and an on-disk answer cache.

    ``url`` is the API base (``.../v1``); ``key_env`` names the environment
    variable holding the key (no header is sent when it is unset: local
    servers need none). ``timeout`` is seconds per request; ``retries`` the
    extra attempts after the first; ``backoff`` the first wait in seconds,
    doubled each retry. ``calls`` counts HTTP requests made, ``cache_hits``
    answers taken from the cache.
    """

    url: str = DEFAULT_URL
    model: str = DEFAULT_MODEL
    key_env: str = DEFAULT_KEY_ENV
    timeout: float = 30.0
    retries: int = 3
    backoff: float = 1.0
    use_cache: bool = True
    workers: int = 4  # requests in flight at once in the batch helpers
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    calls: int = field(default=0, init=False)
    cache_hits: int = field(default=0, init=False)
    failures: int = field(default=0, init=False)  # items that fell back
    disabled: str | None = field(default=None, init=False)  # why calling stopped

    @property
    def identity(self) -> str:
        """What the manifest may record: the endpoint and model, never the key."""
        return f"{self.url.rstrip('/')}|{self.model}"

    def chat(self, messages: Sequence[Message], temperature: float = 0.0, sample: int = 0) -> str | None:
        """The answer text, or None when no usable answer came.

        ``sample`` separates independent answers to the same prompt (votes):
        each sample number is cached on its own.
        """
        key = text_digest(self.url.rstrip("/"), self.model,
                          json.dumps(list(messages), sort_keys=True, ensure_ascii=False),
                          f"{temperature:.4f}", str(sample))
        path = cache_dir("llm", key[:2]) / f"{key}.json" if self.use_cache else None
        if path is not None:
            answer = _read_cached(path)
            if answer is not None:
                self.cache_hits += 1
                return answer
        answer = self._request(messages, temperature)
        if answer is not None and path is not None:
            try:
                write_json(path, {"url": self.url.rstrip("/"), "model": self.model,
                                  "temperature": temperature, "sample": sample, "answer": answer})
            except (OSError, AutofoleyError):
                pass  # the cache only saves calls
        return answer

    # ------------------------------------------------------------------ HTTP

    def _request(self, messages: Sequence[Message], temperature: float) -> str | None:
        if self.disabled:
            return None
        body = json.dumps({"model": self.model, "messages": list(messages),
                           "temperature": temperature}).encode("utf-8")
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        key = os.environ.get(self.key_env, "") if self.key_env else ""
        if key:
            headers["Authorization"] = f"Bearer {key}"
        endpoint = self.url.rstrip("/") + "/chat/completions"
        problem, wait = "no answer", None
        for attempt in range(self.retries + 1):
            if attempt:
                self.sleep(min(_MAX_BACKOFF, self.backoff * 2 ** (attempt - 1)) if wait is None else wait)
            wait = None
            self.calls += 1
            request = urllib.request.Request(endpoint, data=body, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    raw = response.read()
            except urllib.error.HTTPError as exc:
                status = exc.code
                exc.close()
                if status in _FATAL_STATUS:
                    self.disabled = f"HTTP {status} from {endpoint}"
                    log.warning("LLM: HTTP %d from %s (%s); using template sentences from now on",
                                status, endpoint, _fatal_hint(status, self.key_env))
                    return None
                problem = f"HTTP {status}"
                if status not in _RETRY_STATUS:
                    break
                wait = _retry_after(exc.headers)
                continue
            except (TimeoutError, socket.timeout):
                problem = f"timed out after {self.timeout:g} s"
                continue
            except urllib.error.URLError as exc:
                problem = f"cannot connect ({exc.reason})"
                continue
            except OSError as exc:  # a connection reset mid-answer
                problem = f"connection failed ({exc})"
                continue
            answer = _content(raw)
            if answer is not None:
                return answer
            problem = "unusable answer (not a chat completion with text)"
        log.debug("LLM: %s from %s after %d attempts", problem, endpoint, self.retries + 1)
        return None


def _fatal_hint(status: int, key_env: str) -> str:
    if status in (401, 403):
        return f"check the key in ${key_env}"
    return "check --llm-url and --llm-model"


def _retry_after(headers) -> float | None:
    try:
        value = float(headers.get("Retry-After", ""))
    except (TypeError, ValueError, AttributeError):
        return None
    return min(_MAX_BACKOFF, max(0.0, value))


def _content(raw: bytes) -> str | None:
    """``choices[0].message.content`` of a chat completion, stripped; None if absent."""
    try:
        data = json.loads(raw.decode("utf-8"))
        text = data["choices"][0]["message"]["content"]
    except (ValueError, UnicodeDecodeError, KeyError, IndexError, TypeError):
        return None
    if not isinstance(text, str) or not text.strip():
        return None
    return text.strip()


def _read_cached(path: Path) -> str | None:
    try:
        with open(path, encoding="utf-8") as f:
            answer = json.load(f).get("answer")
    except (OSError, ValueError, AttributeError):
        return None
    return answer if isinstance(answer, str) and answer else None


def _map(client: LlmClient, items: Sequence, fn: Callable) -> list:
    """``fn`` over ``items`` with up to ``client.workers`` requests in flight, in order."""
    if client.workers <= 1 or len(items) <= 1:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(max_workers=client.workers) as pool:
        return list(pool.map(fn, items))


# --------------------------------------------------------------------------- tags -> sentence

_SENTENCE_SYSTEM = (
    "You turn the metadata tags of a sound effect into one short natural English sentence "
    "describing what a camera would see while the sound happens: the object or creature and "
    "its action, optionally where. Leave out recording and audio-only terms (microphone "
    "placement, stereo/mono, sample rates, left to right, distant/close perspective, takes, "
    "variations). Answer with the sentence only."
)

# Prompt analogies: the same kind of tag lists at three levels of detail.
# The examples set how much of the tags survives into the sentence.
_ANALOGIES: dict[str, list[tuple[str, str]]] = {
    "low": [
        ("dog, bark, barking, single bark, canine, medium dog, pet, exterior, close mic, stereo",
         "A dog barking."),
        ("car, sedan, engine, pass by, left to right, medium speed, asphalt, 96k, 24 bit",
         "A car driving past."),
        ("glass, bottle, smash, break, shatter, debris, impact, concrete floor, take 3",
         "A glass bottle breaking."),
        ("door, wood, interior, slam, close, latch, heavy, room mic, m/s",
         "A door slamming shut."),
    ],
    "medium": [
        ("dog, bark, barking, single bark, canine, medium dog, pet, exterior, close mic, stereo",
         "A medium-sized dog barking outside."),
        ("car, sedan, engine, pass by, left to right, medium speed, asphalt, 96k, 24 bit",
         "A sedan driving past on an asphalt road."),
        ("glass, bottle, smash, break, shatter, debris, impact, concrete floor, take 3",
         "A glass bottle shattering on a concrete floor."),
        ("door, wood, interior, slam, close, latch, heavy, room mic, m/s",
         "A heavy wooden door slamming shut indoors."),
    ],
    "high": [
        ("dog, bark, barking, single bark, canine, medium dog, pet, exterior, close mic, stereo",
         "A medium-sized pet dog giving a single loud bark outside in a yard."),
        ("car, sedan, engine, pass by, left to right, medium speed, asphalt, 96k, 24 bit",
         "A sedan with its engine running driving past at medium speed on an asphalt road."),
        ("glass, bottle, smash, break, shatter, debris, impact, concrete floor, take 3",
         "A glass bottle smashing on a concrete floor and scattering shards of debris."),
        ("door, wood, interior, slam, close, latch, heavy, room mic, m/s",
         "A heavy wooden interior door slamming shut with its latch clicking into place."),
    ],
}


def sentence_messages(description: str, category: str = "", specificity: str = "medium") -> list[Message]:
    """The chat prompt asking for ``description``'s sentence (system, analogies, the query)."""
    if specificity not in _ANALOGIES:
        raise ValueError(f"specificity must be one of {SPECIFICITIES}, not {specificity!r}")
    messages: list[Message] = [{"role": "system", "content": _SENTENCE_SYSTEM}]
    for tags, sentence in _ANALOGIES[specificity]:
        messages.append({"role": "user", "content": f"Tags: {tags}"})
        messages.append({"role": "assistant", "content": sentence})
    query = f"Tags: {description}"
    if category:
        query += f"\nCategory: {category.lower()}"
    messages.append({"role": "user", "content": query})
    return messages


def clean_sentence(answer: str | None) -> str | None:
    """The first line of an answer without quotes or a 'Sentence:' label; None if unusable."""
    if not answer:
        return None
    line = next((l.strip() for l in answer.splitlines() if l.strip()), "")
    line = re.sub(r"^(?:sentence|answer|description)\s*:\s*", "", line, flags=re.I)
    line = line.strip().strip("\"'`“”‘’").strip()
    words = line.split()
    if not words or len(words) > _MAX_SENTENCE_WORDS or not re.search(r"[^\W\d_]", line):
        return None
    return " ".join(words)


def llm_sentences(entries: Sequence[SoundEntry], client: LlmClient, fallback: Callable[[SoundEntry], str],
                  specificity: str = "medium",
                  progress: Callable[[int, int], None] | None = None) -> tuple[list[str], int]:
    """One sentence per entry, and how many fell back to ``fallback(entry)``.

    Entries with the same description and category (the takes of a file)
    share one request.
    """
    unique = sorted({(e.description, e.category) for e in entries})
    done = 0

    def ask(item):
        nonlocal done
        answer = clean_sentence(client.chat(sentence_messages(item[0], item[1], specificity)))
        done += 1
        if progress:
            progress(done, len(unique))
        return answer

    answers = dict(zip(unique, _map(client, unique, ask)))
    out, fallbacks = [], 0
    for e in entries:
        sentence = answers[(e.description, e.category)]
        if sentence is None:
            sentence = fallback(e)
            fallbacks += 1
        out.append(sentence)
    client.failures += fallbacks
    return out, fallbacks


# --------------------------------------------------------------------------- kinds by vote

_KIND_SYSTEM = (
    "You classify entries of a sound library. Given a sound's name or tags and its category, "
    "answer with exactly one word: 'sfx' for a sound effect (a distinct event made by an object, "
    "creature or action), 'ambience' for a continuous background of a place (room tone, "
    "traffic, forest, crowd walla), or 'music' for music, instruments played musically, "
    "jingles or stingers."
)
_KIND_EXAMPLES = [
    ("Tags: dog, bark, single, canine, exterior\nCategory: animals", "sfx"),
    ("Tags: city, street, traffic, distant, busy, stereo\nCategory: ambience", "ambience"),
    ("Tags: orchestra, strings, swell, cinematic, score\nCategory: musical", "music"),
]
_KIND_WORDS = {"sfx": "sfx", "sound effect": "sfx", "effect": "sfx", "fx": "sfx",
               "ambience": "ambience", "ambiance": "ambience", "ambient": "ambience",
               "background": "ambience", "music": "music", "musical": "music"}
_KIND_PATTERN = re.compile(r"\b(?:" + "|".join(sorted(_KIND_WORDS, key=len, reverse=True)) + r")\b")


def kind_messages(entry: SoundEntry) -> list[Message]:
    messages: list[Message] = [{"role": "system", "content": _KIND_SYSTEM}]
    for question, answer in _KIND_EXAMPLES:
        messages += [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
    messages.append({"role": "user",
                     "content": f"Tags: {entry.description}\nCategory: {entry.category.lower()}"})
    return messages


def parse_kind(answer: str | None) -> str | None:
    """'sfx', 'ambience' or 'music' from an answer's first words; None if it names none."""
    if not answer:
        return None
    match = _KIND_PATTERN.search(answer.lower())
    return _KIND_WORDS[match.group(0)] if match else None


def vote(answers: Iterable[str | None], default: str) -> str:
    """The kind at least two of three answers agree on, else ``default``."""
    counts = Counter(a for a in answers if a)
    if counts:
        kind, n = counts.most_common(1)[0]
        if n >= 2 and list(counts.values()).count(n) == 1:
            return kind
    return default


def classify_kinds(entries: Sequence[SoundEntry], client: LlmClient,
                   progress: Callable[[int, int], None] | None = None) -> dict[str, str]:
    """{entry.key: "sfx" | "ambience" | "music"} by a majority of VOTES answers.

    Each answer is asked at VOTE_TEMPERATURE with its own sample number, so
    the votes are independent and each is cached. Without a majority (three
    different answers, failed calls) an entry keeps the library's own kind.
    Entries with the same description and category share their votes.
    """
    groups: dict[tuple[str, str], SoundEntry] = {}
    for e in entries:
        groups.setdefault((e.description, e.category), e)
    jobs = [(g, i) for g in sorted(groups) for i in range(VOTES)]
    done = 0

    def ask(job):
        nonlocal done
        group, sample = job
        answer = parse_kind(client.chat(kind_messages(groups[group]), VOTE_TEMPERATURE, sample))
        done += 1
        if progress:
            progress(done, len(jobs))
        return answer

    answers: dict[tuple[str, str], list] = {g: [] for g in groups}
    for (group, _), answer in zip(jobs, _map(client, jobs, ask)):
        answers[group].append(answer)
    return {e.key: vote(answers[(e.description, e.category)], e.kind) for e in entries}


def save_llm_kinds(root: str | Path, entries: Sequence[SoundEntry], kinds: dict[str, str]) -> Path:
    """Remember ``classify_kinds``' votes ({entry.key: kind}) for the files of
    library ``root`` as user data, where every later scan of ``root`` finds
    them (library/kinds.py). Returns the store's path."""
    from autofoley.library.kinds import save_votes

    return save_votes(root, entries, kinds)


# --------------------------------------------------------------------------- audio-centric text

_AUDIO_SYSTEM = (
    "You rewrite a description of what is seen in a video into a description of what would be "
    "heard: the sounds the objects and actions make, in one short sentence. Do not describe "
    "colours, shapes or anything silent. Answer with the sentence only."
)
_AUDIO_EXAMPLES = [
    ("a man chopping vegetables on a wooden board", "Rhythmic knife chops thudding on a wooden board."),
    ("a red car driving down a city street", "A car engine humming as it drives past with tyre noise."),
    ("a golden retriever playing in a park", "A dog panting and barking playfully."),
    ("a person opening a fridge and taking out a bottle", "A fridge door unsealing and bottles clinking."),
]


def audio_centric_messages(description: str) -> list[Message]:
    messages: list[Message] = [{"role": "system", "content": _AUDIO_SYSTEM}]
    for seen, heard in _AUDIO_EXAMPLES:
        messages += [{"role": "user", "content": f"Visual: {seen}"},
                     {"role": "assistant", "content": heard}]
    messages.append({"role": "user", "content": f"Visual: {description}"})
    return messages


def audio_centric(description: str, client: LlmClient) -> str:
    """An audio-centric rewrite of a visual ``description`` (seed 003's few-shot
    conversion); the description itself when no usable answer comes."""
    answer = clean_sentence(client.chat(audio_centric_messages(description)))
    if answer is None:
        client.failures += 1
        return description
    return answer
