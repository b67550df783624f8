"""Turn a conversation held elsewhere into a trace (source "import"): a ChatGPT or Claude data export, or a Markdown transcript.

Which export a file is, is read from its content, not its name (both are `conversations.json`, alone or
in the export's .zip): conversations with a `mapping` are ChatGPT's, conversations with `chat_messages`
are Claude's.

ChatGPT export: `conversations.json` (or the export's .zip): a list of conversations with `title`,
`id`/`conversation_id`, `create_time`, `current_node` and a `mapping` of nodes (`message`, `parent`,
`children`). The displayed branch is the chain from `current_node` back to the root; edited or
regenerated branches that were not displayed are left out. Hidden system messages, a reply's text addressed to
a tool (a memory update, a search), tool output and the "Thought for N s" recap are skipped; a reasoning model's
shown thinking (`thoughts`) is kept apart as its reply's reasoning, as a Claude export's; uploaded files are named.

Claude export (claude.ai: Settings > Privacy > Export data): `conversations.json` (or the export's .zip):
a list of conversations with `name`, `uuid`, `created_at` (ISO-8601) and `chat_messages`, a list in
the order shown (where `current_leaf_message_uuid` names one of them, only it and its `parent_message_uuid`
chain: the branch shown), each with `sender` ("human" or "assistant") and `content`, a list of parts. The text
is that of the parts of type "text" (the message's `text` where it has no `content`); a reply's `thinking`
parts are kept apart as its reasoning (as a reasoning model's through the API: never part of the answer); tool
use and tool results (`tool_use`, `tool_result`) and any other kind of part are skipped, as the ChatGPT import
skips hidden and tool messages, but an artifact (a `tool_use` named "artifacts", shown beside the reply) is named
where it stood; attachments and files are not imported but named (a message that is only a file keeps
its turn, naming it). The export
names no model, so `--model` is required; the citation names https://claude.ai unless --url gives
another address, and no model version date is added to the name given.

Markdown transcript (.md/.markdown/.txt): a message starts at a line that names its speaker, in any
of these forms (case-insensitive):
    ## User            ## ChatGPT / ## Assistant / ## GPT-4o     (any heading level)
    **User:** text     **Assistant:** text                        (bold label, text may follow)
    You said:          ChatGPT said:                              (chatgpt.com copy-paste)
User names: user, you, human, me, student. Assistant names: assistant, chatgpt, ai, model, bot, and
model names starting gpt, o1, o3, o4, claude, gemini, llama. A `# Title` line before the first message
is the title. Everything up to the next speaker line belongs to the message.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from workbench import __version__
from workbench.console import read_stdin
from workbench.errors import UsageError
from workbench.problems import Problem
from workbench.traces import SCHEMA, utc_now

_USER = r"user|you|human|me|student"
_ASSISTANT = r"assistant|chatgpt|ai|model|bot|(?:gpt|o1|o3|o4|claude|gemini|llama)[\w.\-]*"
_ROLE = rf"(?P<name>{_USER}|{_ASSISTANT}|system)"
_MARKERS = [
    re.compile(rf"^#{{1,6}}[ \t]+{_ROLE}[ \t]*:?[ \t]*$", re.I),
    re.compile(rf"^\*\*{_ROLE}[ \t]*:?\*\*[ \t]*:?[ \t]*(?P<rest>.*)$", re.I),
    re.compile(r"^(?P<name>you|chatgpt)[ \t]+said:[ \t]*$", re.I),
]
_TITLE = re.compile(r"^#[ \t]+(?P<title>.+?)[ \t]*$")
STDIN = Path("-")  # `import-chat -`: the export or transcript piped in, told apart by its content (it has no suffix)
_SKIP_CONTENT = {"thoughts", "reasoning_recap", "model_editable_context", "user_editable_context", "tether_quote",
                 "tether_browsing_display", "system_error"}


@dataclass
class Conversation:
    format: str
    messages: list[dict]  # {"role", "content"} plus, for exports, "id", "model", "created"
    title: str = ""
    id: str = ""
    created_at: str = ""
    updated_at: str = ""
    models: list[str] = field(default_factory=list)
    service: str = ""  # "ChatGPT" when the export or the transcript's speaker lines say so; "Claude" for its export


def _iso(ts) -> str:
    if not isinstance(ts, (int, float)):
        return ""
    try:
        return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, ValueError, OSError):  # NaN, or out of the platform's range
        return ""


def _iso_text(text) -> str:
    """An ISO-8601 time (as Claude exports write them) in the form _iso() gives; "" when it is not one."""
    if not isinstance(text, str):
        return ""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        return ""
    when = when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _epoch(text) -> int | None:
    iso = _iso_text(text)
    return int(datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()) if iso else None


def _role(name: str) -> str:
    name = name.lower()
    if re.fullmatch(_USER, name):
        return "user"
    return "system" if name == "system" else "assistant"


def parse_markdown(text: str, source: str = "transcript", fences: bool = True) -> Conversation:
    title, messages, current, fence = "", [], None, ""
    for line in text.splitlines():
        opens = re.match(r"(`{3,}|~{3,})", line.strip())
        for marker in [] if fence else _MARKERS:  # inside a fenced code block, `# model` is a comment, not a speaker
            match = marker.match(line.strip())
            if match:
                current = {"role": _role(match.group("name")), "content": [], "label": match.group("name")}
                messages.append(current)
                rest = match.groupdict().get("rest")
                if rest:
                    current["content"].append(rest)
                break
        else:
            if current is not None:
                current["content"].append(line)
            elif not title and (m := _TITLE.match(line)):
                title = m.group("title")
        if opens and not fence and fences:
            fence = opens.group(1)
        elif fence and line.strip().startswith(fence) and not line.strip().strip(fence[0]):
            fence = ""
    if fence:  # a fence never closed (a pasted snippet's ``` alone) fenced nothing: read every speaker line
        return parse_markdown(text, source, fences=False)
    def named(m):  # a reply under `## GPT-4o` names its model; `## Assistant` or `## Claude` names none
        return m["role"] == "assistant" and not re.fullmatch(r"assistant|chatgpt|ai|model|bot|gpt|claude|gemini|llama",
                                                              m["label"], re.I)
    out = [{"role": m["role"], "content": "\n".join(m["content"]).strip(), **({"model": m["label"]} if named(m) else {})}
           for m in messages]
    out = [m for m in out if m["content"]]
    if not any(m["role"] == "user" for m in out) or not any(m["role"] == "assistant" for m in out):
        raise UsageError(f"{source}: no user and assistant messages found",
                         "mark each message with a line like `## User` / `## ChatGPT`, `**User:**` / `**Assistant:**`, "
                         "or `You said:` / `ChatGPT said:` (see docs/prompting.md)")
    models = list(dict.fromkeys(m["label"] for m in messages if named(m)))  # in order of use, as an export's
    chatgpt = any(m["role"] == "assistant" and m["label"].lower() == "chatgpt" for m in messages)
    return Conversation("markdown", out, title=title, models=models, service="ChatGPT" if chatgpt else "")


def _node_text(message: dict) -> str | None:
    content = message.get("content") or {}
    kind = content.get("content_type", "text")
    if kind in _SKIP_CONTENT:
        return None
    if kind == "code":
        return f"```\n{content.get('text', '')}\n```"
    parts = []
    for part in content.get("parts") or []:
        if isinstance(part, str):
            parts.append(part)
        elif isinstance(part, dict):  # a voice message's words are its audio_transcription part's text
            parts.append(part["text"] if isinstance(part.get("text"), str) else f"[{part.get('content_type', 'attachment')}]")
    return "\n".join(parts) if parts else content.get("text")


def _branch(conv: dict) -> list[dict]:
    """Messages from the root to current_node (the branch the chat showed)."""
    mapping = conv.get("mapping") or {}
    node_id = conv.get("current_node")
    if node_id not in mapping:  # older exports: follow the last child from the root
        roots = [k for k, v in mapping.items() if not v.get("parent")]
        node_id = roots[0] if roots else None
        while node_id and mapping[node_id].get("children"):
            node_id = mapping[node_id]["children"][-1]
    chain, seen = [], set()
    while node_id and node_id in mapping and node_id not in seen:
        seen.add(node_id)
        chain.append(mapping[node_id])
        node_id = mapping[node_id].get("parent")
    return list(reversed(chain))


def _thoughts(message: dict) -> str:
    """A reasoning model's (o-series) shown thinking: a `thoughts` node's summaries and texts, else ''."""
    content = message.get("content") or {}
    if content.get("content_type") != "thoughts" or not isinstance(content.get("thoughts"), list):
        return ""
    return "\n\n".join("\n".join(v for k in ("summary", "content") if isinstance(v := t.get(k), str) and v.strip())
                       for t in content["thoughts"] if isinstance(t, dict)).strip()


def parse_export_conversation(conv: dict) -> Conversation:
    messages, thinking = [], ""  # thinking: shown before the reply it belongs to
    for node in _branch(conv):
        msg = node.get("message")
        if not msg:
            continue
        role = (msg.get("author") or {}).get("role")
        meta = msg.get("metadata") or {}
        if role == "assistant" and (thought := _thoughts(msg)):  # kept apart as the reply's reasoning, as Claude's
            thinking = "\n\n".join(filter(None, (thinking, thought)))
            continue
        text = _node_text(msg)
        files = [a for a in meta["attachments"] if isinstance(a, dict)] if (
            role == "user" and text is not None and isinstance(meta.get("attachments"), list)) else []
        if files:  # an uploaded file is not in the export: say it was sent, as for a Claude export
            text = "\n\n".join(filter(None, (text.strip(), "[attached, not imported: " + ", ".join(
                str(a.get("name") or "a file") for a in files) + "]")))
        if role not in ("user", "assistant", "system") or text is None or not text.strip():
            continue
        if role == "system" and meta.get("is_visually_hidden_from_conversation", True):
            continue
        if role == "assistant" and msg.get("recipient", "all") != "all" and (msg.get("content") or {}).get(
                "content_type", "text") == "text":  # a call to a tool (memory, search): the chat shows no such reply
            continue
        if messages and role == "assistant" and messages[-1]["role"] == "assistant":
            messages[-1]["content"] += "\n\n" + text.strip()  # one reply split around tool calls
            if thinking:
                messages[-1]["reasoning"] = "\n\n".join(filter(None, (messages[-1].get("reasoning"), thinking)))
            thinking = ""
            continue
        slug = meta.get("model_slug")
        messages.append({"role": role, "content": text.strip(), "id": msg.get("id") or node.get("id"),
                         "model": slug if isinstance(slug, str) else None, "created": int(msg["create_time"]) if msg.get("create_time") else None,
                         **({"reasoning": thinking} if thinking and role == "assistant" else {})})
        if role == "assistant":
            thinking = ""
    models = list(dict.fromkeys(m["model"] for m in messages if m.get("model")))  # in order of use: the first asked
    return Conversation("chatgpt-export", messages, title=str(conv.get("title") or ""),
                        id=str(conv.get("conversation_id") or conv.get("id") or ""),
                        created_at=_iso(conv.get("create_time")), updated_at=_iso(conv.get("update_time")),
                        models=models, service="ChatGPT")


def _claude_parts(message: dict) -> tuple[str, str]:
    """(text, thinking) of a Claude message: its "text" parts, and its "thinking" parts (a reply's reasoning); tool
    and other parts are left out."""
    content = message.get("content")
    if content is None:
        text = message.get("text") or ""
        if not isinstance(text, str):
            raise ValueError("a message's text is not text")
        return text, ""
    if not isinstance(content, list):
        raise ValueError("a message's content is not a list of parts")
    texts, thoughts = [], []
    for part in content:
        if not isinstance(part, dict):
            raise ValueError("a part of a message's content is not an object")
        if part.get("type") == "text":
            text = part.get("text") or ""
            if not isinstance(text, str):
                raise ValueError("a text part's text is not text")
            texts.append(text)
        elif part.get("type") == "thinking" and isinstance(part.get("thinking"), str):
            thoughts.append(part["thinking"])
        elif part.get("type") == "tool_use" and part.get("name") == "artifacts":  # shown beside the reply: say so
            given = part.get("input") if isinstance(part.get("input"), dict) else {}
            texts.append(f"[artifact, not imported: {given.get('title') or given.get('id') or 'untitled'}]")
    return tuple("\n\n".join(p for p in parts if p.strip()) for parts in (texts, thoughts))


def parse_claude_conversation(conv: dict) -> Conversation:
    chat = conv.get("chat_messages")
    if not isinstance(chat, list):
        raise ValueError("chat_messages is not a list")
    by_id = {m["uuid"]: m for m in chat if isinstance(m, dict) and isinstance(m.get("uuid"), str)}
    leaf = conv.get("current_leaf_message_uuid")
    if isinstance(leaf, str) and leaf in by_id:  # an edit or a retry is a branch: keep the one shown, leaf to root
        chat, seen = [], set()
        while isinstance(leaf, str) and leaf in by_id and leaf not in seen:
            seen.add(leaf)
            chat.insert(0, by_id[leaf])
            leaf = by_id[leaf].get("parent_message_uuid")
    messages = []
    for k, msg in enumerate(chat, 1):
        if not isinstance(msg, dict):
            raise ValueError(f"message {k} is not an object")
        sender = msg.get("sender")
        if not isinstance(sender, str) or not sender.strip():
            raise ValueError(f"message {k} has no sender")
        role = {"human": "user", "user": "user", "assistant": "assistant"}.get(sender.strip().lower())
        if role is None:
            raise ValueError(f"message {k} has sender {sender!r}, neither human nor assistant")
        text, thinking = _claude_parts(msg)
        text, thinking = text.strip(), thinking if role == "assistant" else ""
        files = [a for key in ("attachments", "files") if isinstance(msg.get(key), list) for a in msg[key]
                 if isinstance(a, dict)] if role == "user" else []
        if files:  # said, with the text or alone: a file sent alone is still a turn, the reply after it answers it
            text = "\n\n".join(filter(None, (text, "[attached, not imported: " + ", ".join(
                str(a.get("file_name") or "a file") for a in files) + "]")))
        if not text:
            continue
        if messages and role == "assistant" and messages[-1]["role"] == "assistant":
            messages[-1]["content"] += "\n\n" + text
            if thinking:
                messages[-1]["reasoning"] = "\n\n".join(filter(None, (messages[-1].get("reasoning"), thinking)))
            continue
        messages.append({"role": role, "content": text, "id": str(msg.get("uuid") or "") or None, "model": None,
                         "created": _epoch(msg.get("created_at")), **({"reasoning": thinking} if thinking else {})})
    return Conversation("claude-export", messages, title=str(conv.get("name") or ""), id=str(conv.get("uuid") or ""),
                        created_at=_iso_text(conv.get("created_at")), updated_at=_iso_text(conv.get("updated_at")),
                        service="Claude")


def choose_conversation(conversations: list[dict], wanted: str | None, source: str) -> dict:
    """Pick by id, exact title or unique title substring; otherwise list the titles."""

    def ident(c):  # ChatGPT: conversation_id / id; Claude: uuid
        return str(c.get("conversation_id") or c.get("id") or c.get("uuid") or "")

    def title(c):  # ChatGPT: title; Claude: name
        return str(c.get("title") or c.get("name") or "")

    def date(c):
        return (_iso(c.get("create_time")) or _iso_text(c.get("created_at")))[:10]

    if wanted:
        w = wanted.strip().lower()
        found = ([c for c in conversations if ident(c).lower() == w]
                 or [c for c in conversations if title(c).strip().lower() == w]
                 or [c for c in conversations if w in title(c).lower()])
    else:
        found = conversations
    if len(found) == 1:
        return found[0]
    shown = found if (wanted and found) else conversations
    listing = "; ".join(f"{title(c) or '(untitled)'!r} [{ident(c)}] {date(c)}" for c in shown[:30])
    more = f" and {len(shown) - 30} more" if len(shown) > 30 else ""
    what = (f"{len(found)} conversations match {wanted!r}" if wanted and found else
            f"no conversation matches {wanted!r}" if wanted else f"{source} holds {len(conversations)} conversations")
    raise UsageError(f"{what}: {listing}{more}", "choose one with --conversation TITLE_OR_ID")


def _read_zip(raw: bytes, where: str) -> bytes:
    """conversations.json from the export archive."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            names = [n for n in zf.namelist() if n.rsplit("/", 1)[-1] == "conversations.json"]
            if not names:
                raise UsageError(f"{where}: the archive has no conversations.json", "give the ChatGPT or Claude data export .zip")
            return zf.read(names[0])
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, RuntimeError) as exc:  # truncated, damaged, encrypted
        raise UsageError(f"{where}: not a readable zip archive ({exc})",
                         "download the export again, or unzip it and give its conversations.json") from None


def read_export(raw: bytes, where: str, zipped: bool) -> tuple[list, str]:
    """The list of conversations in an export's bytes (or its archive's) and the format they are in."""
    data_bytes = _read_zip(raw, where) if zipped else raw
    try:
        data = json.loads(data_bytes)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{where}: not valid JSON (line {exc.lineno})", "give conversations.json from a ChatGPT or Claude export"
                         + ("" if zipped else ", or a Markdown transcript named .md (.markdown, .txt)")) from None
    except UnicodeDecodeError:
        raise UsageError(f"{where}: not UTF-8 JSON", "give conversations.json from a ChatGPT or Claude export") from None
    except ValueError:  # int()'s limit on a number of over 4300 digits: not a JSONDecodeError
        raise UsageError(f"{where}: a number in it is too long to read", "give conversations.json from a ChatGPT or Claude export") from None
    except RecursionError:
        raise UsageError(f"{where}: JSON nested too deeply to read", "give conversations.json from a ChatGPT or Claude export") from None
    if isinstance(data, dict) and ("mapping" in data or "chat_messages" in data):
        data = [data]
    fmt = None
    if isinstance(data, list) and all(isinstance(c, dict) for c in data):
        fmt = ("chatgpt-export" if all("mapping" in c for c in data) else
               "claude-export" if all("chat_messages" in c for c in data) else None)
    if fmt is None:
        raise UsageError(f"{where}: not a ChatGPT or Claude export (expected a list of conversations with `mapping` "
                         f"or `chat_messages`)", "give conversations.json from ChatGPT's Settings > Data controls > "
                         "Export or Claude's Settings > Privacy > Export data, or a Markdown transcript")
    if not data:
        raise UsageError(f"{where}: the export holds no conversations", "export again after chatting")
    return data, fmt


def _read_bytes(path: Path) -> bytes:
    if path == STDIN:
        data = read_stdin("pipe the export or transcript into it, or give its file")  # decoded below as a file is
        if not data.strip():
            raise UsageError("stdin is empty", "pipe the export or transcript into it "
                             "(`import-chat - --problem ID < conversations.json`), or give its file")
        return data
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path} ({exc.strerror})", "check the file's permissions") from None
    if not data.strip():  # a download cut short: as stdin, not 'not valid JSON' or 'no messages found'
        raise UsageError(f"{path} is empty", "give conversations.json, the export .zip or a .md transcript with the chat")
    return data


def source_name(path: Path) -> str:
    """How messages and the record name the file: its name, or "stdin"."""
    return "stdin" if path == STDIN else path.name


def load_conversation(path: Path, conversation: str | None = None) -> tuple[bytes, Conversation]:
    if path != STDIN and not os.path.isfile(path):  # os.path: False for a name too long, where Path.is_file raises
        raise UsageError(f"no file {path}", "give the path of conversations.json, the export .zip or a .md transcript, "
                         "or - to read it from stdin")
    raw = _read_bytes(path)
    name = source_name(path)
    if path == STDIN:  # no suffix to go by: an archive, JSON, or else a transcript
        zipped = raw[:2] == b"PK"
        markdown = not zipped and raw.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] not in (b"[", b"{")
    else:
        zipped = path.suffix.lower() == ".zip" or raw[:2] == b"PK"  # a damaged archive is no longer is_zipfile()
        markdown = path.suffix.lower() in (".md", ".markdown", ".txt")
    if markdown:
        if conversation:
            raise UsageError("--conversation picks one conversation of a ChatGPT or Claude export; a transcript holds only one",
                             "drop --conversation")
        try:
            text = raw.decode("utf-8-sig")  # a BOM (Windows Notepad) would hide the first speaker line
        except UnicodeDecodeError as exc:  # replacing the bytes would put words in the record that were never said
            raise UsageError(f"{name}: not UTF-8 text (byte {exc.start})", "save the transcript as UTF-8 and import it again") from None
        return raw, parse_markdown(text, name)
    conversations, fmt = read_export(raw, "stdin" if path == STDIN else str(path), zipped)
    claude = fmt == "claude-export"
    try:
        chosen = choose_conversation(conversations, conversation, name)
        conv = parse_claude_conversation(chosen) if claude else parse_export_conversation(chosen)
    except (AttributeError, TypeError, ValueError, OverflowError) as exc:  # a field of another type than exports have
        service = "Claude" if claude else "ChatGPT"
        raise UsageError(f"{name}: not in the {service} export format this reads ({type(exc).__name__}: {exc})",
                         "give conversations.json from the export unchanged, or copy the conversation into a "
                         "Markdown transcript (see docs/prompting.md)") from None
    if claude and not chosen["chat_messages"]:
        raise UsageError(f"{name}: conversation {conv.title!r} holds no messages", "choose another conversation")
    if not any(m["role"] == "assistant" for m in conv.messages):
        raise UsageError(f"{name}: conversation {conv.title!r} has no assistant reply", "choose another conversation")
    return raw, conv


def import_trace(path: Path, problem: Problem, conversation: str | None = None, model: str | None = None,
                 url: str | None = None) -> dict:
    """A trace dict (source "import") for one conversation of the file; write it with write_trace().

    `url` (a share link, or the service's address) is what the citation names; without it, the service's
    address where the file says which service it is (ChatGPT, or Claude for its export), else only that it
    came from a transcript."""
    if url is not None and not re.fullmatch(r"https?://[^\s/]+\S*", url.strip()):
        raise UsageError(f"--url {url!r} is not a web address", "give the conversation's share link or the service's "
                         "address, starting with https://, e.g. --url https://claude.ai")
    raw, conv = load_conversation(path, conversation)
    if not (model or conv.models):
        if conv.format == "claude-export":
            raise UsageError(f"{source_name(path)}: a Claude export does not say which model answered, so the trace could not "
                             "cite it", "add --model with the model the chat used, e.g. --model claude-sonnet-4")
        raise UsageError(f"{source_name(path)} does not say which model answered, so the trace could not cite it",
                         "add --model, e.g. --model gpt-4o")
    history, exchanges, turn = [], [], -1
    for m in conv.messages:
        if m["role"] == "user":
            turn += 1
        if m["role"] == "assistant":
            exchanges.append({
                "sample": 0, "turn": max(turn, 0), "messages": [dict(h) for h in history],
                "response_id": m.get("id"),
                # an export's own record of the model beats --model; a transcript's speaker line does not
                "model": ((model or m.get("model")) if conv.format == "markdown" else (m.get("model") or model))
                or (conv.models[0] if conv.models else None),
                "system_fingerprint": None, "created": m.get("created"),
                "choices": [{"index": 0, "content": m["content"], "finish_reason": None,
                             **({"reasoning": m["reasoning"]} if m.get("reasoning") else {})}],
                "usage": None, "latency_s": None, "attempts": None, "started_at": None})
        history.append({"role": m["role"], "content": m["content"]})
    chatgpt = conv.service == "ChatGPT"
    origin = ("ChatGPT (https://chatgpt.com)" if conv.format == "chatgpt-export" else
              "Claude (https://claude.ai)" if conv.format == "claude-export" else
              "ChatGPT (https://chatgpt.com), copied as a Markdown transcript" if chatgpt else "a Markdown transcript")
    now = utc_now()
    info = {"format": conv.format, "origin": origin, **({"url": url.strip()} if url else {}),
            "file": source_name(path), "file_sha256": hashlib.sha256(raw).hexdigest(), "title": conv.title,
            "conversation_id": conv.id, "created_at": conv.created_at, "updated_at": conv.updated_at,
            "model_slugs": conv.models}
    return {
        "schema": SCHEMA, "problem": problem.id, "pack": problem.pack, "strategy": "import", "source": "import",
        "provider": {"base_url": "https://chatgpt.com" if chatgpt else "https://claude.ai" if conv.service == "Claude"
                     else url.strip() if url else None},
        "request": {"model": model or (conv.models[0] if conv.models else None), "temperature": None, "top_p": None,
                    "seed": None, "max_tokens": None, "n": 1, "stream": None},
        "exchanges": exchanges, "samples": [{"index": 0, "messages": history}],
        "started_at": now, "finished_at": now, "workbench_version": __version__, "import": info,
        "problem_sha256": problem.question_sha256,  # the record as it stands at import: later edits show
    }


def existing_import(trace: dict) -> Path | None:
    """The trace file that already holds this conversation (same problem, same messages), if any."""
    from workbench.traces import scan_traces

    traces, _ = scan_traces(trace["problem"])
    messages = trace["samples"][0]["messages"]
    return next((t.path for t in traces if t.imported and t.samples and t.samples[0].get("messages") == messages), None)
