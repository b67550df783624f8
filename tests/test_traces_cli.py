"""`traces` (list, show, verify, cite), `import-chat` and `chat` on an isolated project."""

from __future__ import annotations

import hashlib
import io
import json
import signal
import zipfile

import pytest

from conftest import REPO
from llm_fixtures import SECRET, fake_llm, wb  # noqa: F401
from workbench.traces import load_trace

EXPORT = [
    {"title": "RMSProp question", "id": "conv-aaa", "conversation_id": "conv-aaa", "create_time": 1700000000.5,
     "update_time": 1700000100.0, "current_node": "n4b",
     "mapping": {
         "root": {"id": "root", "message": None, "parent": None, "children": ["n0"]},
         "n0": {"id": "n0", "parent": "root", "children": ["n1"],
                "message": {"id": "n0", "author": {"role": "system"}, "content": {"content_type": "text", "parts": [""]},
                            "metadata": {"is_visually_hidden_from_conversation": True}}},
         "n1": {"id": "n1", "parent": "n0", "children": ["n2"],
                "message": {"id": "n1", "author": {"role": "user"}, "create_time": 1700000001,
                            "content": {"content_type": "text", "parts": ["What is $w_{t+1}$ for RMSProp?"]}, "metadata": {}}},
         "n2": {"id": "n2", "parent": "n1", "children": ["n2t"],
                "message": {"id": "n2", "author": {"role": "assistant"}, "create_time": 1700000002,
                            "content": {"content_type": "text", "parts": ["It is $w_t - \\eta g_t$."]},
                            "metadata": {"model_slug": "gpt-4o"}}},
         "n2t": {"id": "n2t", "parent": "n2", "children": ["n3"],
                 "message": {"id": "n2t", "author": {"role": "tool"}, "content": {"content_type": "text", "parts": ["tool output"]},
                             "metadata": {}}},
         "n3": {"id": "n3", "parent": "n2t", "children": ["n4a", "n4b"],
                "message": {"id": "n3", "author": {"role": "user"}, "create_time": 1700000003,
                            "content": {"content_type": "text", "parts": ["Are you sure?"]}, "metadata": {}}},
         "n4a": {"id": "n4a", "parent": "n3", "children": [],
                 "message": {"id": "n4a", "author": {"role": "assistant"}, "create_time": 1700000004,
                             "content": {"content_type": "text", "parts": ["DISCARDED BRANCH"]},
                             "metadata": {"model_slug": "gpt-4o"}}},
         "n4b": {"id": "n4b", "parent": "n3", "children": [],
                 "message": {"id": "n4b", "author": {"role": "assistant"}, "create_time": 1700000005,
                             "content": {"content_type": "text", "parts": ["Corrected: $\\frac{\\eta}{\\sqrt{v_t}+\\epsilon}$."]},
                             "metadata": {"model_slug": "gpt-4o"}}},
     }},
    {"title": "Other chat", "id": "conv-bbb", "create_time": 1700001000, "current_node": "m2",
     "mapping": {"m0": {"id": "m0", "message": None, "parent": None, "children": ["m1"]},
                 "m1": {"id": "m1", "parent": "m0", "children": ["m2"],
                        "message": {"id": "m1", "author": {"role": "user"}, "content": {"content_type": "text", "parts": ["hi"]},
                                    "metadata": {}}},
                 "m2": {"id": "m2", "parent": "m1", "children": [],
                        "message": {"id": "m2", "author": {"role": "assistant"},
                                    "content": {"content_type": "text", "parts": ["hello"]}, "metadata": {"model_slug": "o3"}}}}},
]


@pytest.fixture
def export(tmp_path):
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps(EXPORT))
    return path


def test_import_chatgpt_export_follows_the_displayed_branch(wb, export):
    code, out, _ = wb.run("import-chat", str(export), "--problem", "1.1", "--pack", "demo",
                          "--conversation", "rmsprop")
    assert code == 0 and "IMPORTED" in out
    trace = load_trace(wb.traces()[0])
    messages = trace.samples[0]["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
    assert messages[3]["content"].startswith("Corrected") and "DISCARDED" not in json.dumps(trace.data)
    assert "tool output" not in json.dumps(trace.data)
    info = trace.data["import"]
    assert (info["title"], info["conversation_id"], info["file"], info["created_at"]) == \
           ("RMSProp question", "conv-aaa", "conversations.json", "2023-11-14T22:13:20Z")
    assert info["file_sha256"] == hashlib.sha256(export.read_bytes()).hexdigest() and info["model_slugs"] == ["gpt-4o"]
    assert (trace.source, trace.model_version, trace.intact) == ("import", "gpt-4o", True)
    assert "imported" in trace.citation() and "2023-11-14" in trace.citation()
    assert trace.answers() == [messages[3]["content"]]


def test_import_by_id_and_from_the_zip(wb, export, tmp_path):
    assert wb.run("import-chat", str(export), "--problem", "1.1", "--pack", "demo", "--conversation", "conv-bbb")[0] == 0
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(export, "chatgpt-export/conversations.json")
    assert wb.run("import-chat", str(archive), "--problem", "1.2", "--pack", "demo", "--conversation", "Other chat")[0] == 0
    models = sorted(load_trace(p).model_version for p in wb.traces())
    assert models == ["o3", "o3"]


@pytest.mark.parametrize("wanted, message", [(None, "holds 2 conversations"), ("nothing like it", "no conversation matches"),
                                             ("chat", "holds 2 conversations")])
def test_ambiguous_or_missing_conversation_lists_the_titles(wb, export, wanted, message):
    argv = ["import-chat", str(export), "--problem", "1.1", "--pack", "demo"] + (["--conversation", wanted] if wanted else [])
    if wanted == "chat":  # both titles? only "Other chat" contains it: a unique substring is accepted
        assert wb.run(*argv)[0] == 0
        return
    code, _, err = wb.run(*argv)
    assert code == 2 and message in err and "'RMSProp question' [conv-aaa] 2023-11-14" in err  # create_time 1700000000.5
    assert "'Other chat' [conv-bbb] 2023-11-14" in err and wb.traces() == []


@pytest.mark.parametrize("text", [
    "# My chat\n\n## User\nWhat is $x_1$?\n\n## ChatGPT\nIt is **2**.\n\n## You\nSure?\n\n## Assistant\nYes.\n",
    "**User:** What is $x_1$?\n**Assistant:** It is **2**.\n**User:**\nSure?\n\n**ChatGPT:** Yes.\n",
    "You said:\nWhat is $x_1$?\nChatGPT said:\nIt is **2**.\nYou said:\nSure?\nChatGPT said:\nYes.\n",
])
def test_import_markdown_transcripts(wb, tmp_path, text):
    path = tmp_path / "chat.md"
    path.write_text(text)
    code, out, _ = wb.run("import-chat", str(path), "--problem", "1.3", "--pack", "demo", "--model", "gpt-4")
    assert code == 0
    trace = load_trace(wb.traces()[0])
    messages = trace.samples[0]["messages"]
    assert [m["content"] for m in messages] == ["What is $x_1$?", "It is **2**.", "Sure?", "Yes."]
    assert trace.data["import"]["format"] == "markdown" and trace.model_version == "gpt-4" and trace.imported


@pytest.mark.parametrize("text, url, where, provider", [
    # speaker lines that name ChatGPT say where the conversation was held
    ("You said:\nWhat?\nChatGPT said:\nTwo.\n", None, "ChatGPT (https://chatgpt.com), copied as a Markdown transcript",
     "https://chatgpt.com"),
    ("**User:** What?\n**Assistant:** Two.\n", None, "a Markdown transcript", ""),  # no service named: none invented
    ("**User:** What?\n**Assistant:** Two.\n", "https://claude.ai/share/abc", "https://claude.ai/share/abc",
     "https://claude.ai/share/abc"),
])
def test_an_imported_transcript_cites_where_it_was_held(wb, tmp_path, text, url, where, provider):
    path = tmp_path / "chat.md"
    path.write_text(text)
    argv = ["import-chat", str(path), "--problem", "1.3", "--pack", "demo", "--model", "gpt-4"]
    assert wb.run(*argv, *(["--url", url] if url else []))[0] == 0
    trace = load_trace(wb.traces()[0])
    assert trace.citation().startswith(f"gpt-4 via {where}; imported ") and trace.base_url == provider  # `traces show`


def test_import_url_that_is_no_web_address_is_refused(wb, export):
    code, _, err = wb.run("import-chat", str(export), "--problem", "1.1", "--pack", "demo", "--conversation", "rmsprop",
                          "--url", "chatgpt share link")
    assert code == 2 and "is not a web address" in err and "https://" in err and wb.traces() == []


def test_an_import_into_a_project_without_a_traces_folder_makes_it(wb, export):
    (wb.root / "traces").rmdir()  # a fresh project: no trace written yet
    code, _, err = wb.run("import-chat", str(export), "--problem", "1.1", "--pack", "demo", "--conversation", "conv-aaa")
    assert code == 0 and "Traceback" not in err and len(wb.traces()) == 1


def test_the_same_conversation_is_imported_once(wb, export, tmp_path):
    argv = ["import-chat", str(export), "--problem", "1.1", "--pack", "demo", "--conversation", "conv-aaa"]
    assert wb.run(*argv)[0] == 0
    [first] = wb.traces()
    code, _, err = wb.run(*argv)
    assert code == 2 and f"already imported for 1.1: {first}" in err and err.count("\n") == 1
    archive = tmp_path / "export.zip"  # the same conversation from the archive is the same conversation
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(export, "conversations.json")
    assert wb.run("import-chat", str(archive), *argv[2:])[0] == 2
    assert wb.traces() == [first]
    assert wb.run(*argv[:3], "1.2", *argv[4:])[0] == 0  # for another problem it is a new trace



def test_two_imports_of_one_conversation_at_once_keep_one_trace(wb, export, monkeypatch):
    """Two `import-chat` processes at once both found no earlier import, then both wrote: a duplicate trace."""
    import threading

    from cli import main
    from workbench import chat_import

    real, both_checked = chat_import.existing_import, threading.Barrier(2)

    def check_together(trace):  # each waits (briefly) for the other to check too before either writes
        try:
            both_checked.wait(timeout=0.5)
        except threading.BrokenBarrierError:
            pass
        return real(trace)

    monkeypatch.setattr(chat_import, "existing_import", check_together)
    argv = ["import-chat", str(export), "--problem", "1.1", "--pack", "demo", "--conversation", "conv-aaa"]
    codes = []
    runs = [threading.Thread(target=lambda: codes.append(main(argv))) for _ in range(2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    assert sorted(codes) == [0, 2] and len(wb.traces()) == 1

MD = "## User\nWhat is $x_1$?\n\n## Assistant\nIt is 2.\n"


@pytest.mark.parametrize("name, content, extra, message", [
    ("chat.md", MD, [], "does not say which model answered"),
    ("chat.md", MD.encode("utf-8") + b"\xff caf\xe9\n", ["--model", "gpt-4"], "not UTF-8 text"),
    ("chat.md", MD, ["--model", "gpt-4", "--conversation", "x"], "--conversation picks one conversation"),
    ("export.zip", b"PK\x03\x04 truncated", [], "not a readable zip archive"),
    ("transcript", MD, ["--model", "gpt-4"], "not valid JSON (line 1) — give conversations.json from a ChatGPT or Claude "
                                              "export, or a Markdown transcript named .md"),  # said only "give conversations.json"
    ("conversations.json", '[{"create_time": 1' + "0" * 5000 + "}]", [], "a number in it is too long to read"),  # ValueError
])
def test_transcripts_and_archives_that_cannot_be_imported_faithfully(wb, tmp_path, name, content, extra, message):
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    code, _, err = wb.run("import-chat", str(path), "--problem", "1.3", "--pack", "demo", *extra)
    assert code == 2 and message in err and err.count("\n") == 1 and wb.traces() == []


def _edited_export(change):
    conv = json.loads(json.dumps(EXPORT[1]))
    change(conv)
    return [conv]


@pytest.mark.parametrize("change", [
    lambda c: c["mapping"]["m2"]["message"].update(content="hello"),
    lambda c: c["mapping"]["m2"]["message"].update(author="assistant"),
    lambda c: c["mapping"]["m2"].update(message="hello"),
    lambda c: c["mapping"]["m2"]["message"].update(create_time="1700001002.5"),
    lambda c: c.update(current_node=["m2"]),
])
def test_an_export_with_fields_of_other_types_is_one_line(wb, tmp_path, change):
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps(_edited_export(change)))
    code, _, err = wb.run("import-chat", str(path), "--problem", "1.3", "--pack", "demo", "--conversation", "Other")
    assert code == 2 and "not in the ChatGPT export format" in err and err.count("\n") == 1 and wb.traces() == []


@pytest.mark.parametrize("change", [
    lambda c: c.update(title=2024, create_time=1e20),
    lambda c: c["mapping"]["m2"]["message"]["metadata"].update(model_slug=4),
])
def test_odd_titles_times_and_model_slugs_still_give_a_readable_trace(wb, tmp_path, change):
    """A number as title or model slug was written into the trace, which could then not be read back."""
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps(_edited_export(change)))
    code, _, err = wb.run("import-chat", str(path), "--problem", "1.3", "--pack", "demo", "--model", "o3")
    assert code == 0, err
    [trace] = map(load_trace, wb.traces())
    assert trace.intact and trace.model_version == "o3" and trace.data["import"]["title"] in ("2024", "Other chat")


def _chain(*messages, title="Chat", cid="conv-x", current=True):
    """An export conversation of one chain of nodes; each message is (role, text or content dict[, metadata])."""
    mapping = {"root": {"id": "root", "message": None, "parent": None, "children": []}}
    parent = "root"
    for k, (role, content, *meta) in enumerate(messages):
        node = f"m{k}"
        content = {"content_type": "text", "parts": [content]} if isinstance(content, str) else content
        mapping[node] = {"id": node, "parent": parent, "children": [],
                         "message": {"id": node, "author": {"role": role}, "content": content, "metadata": (meta or [{}])[0]}}
        mapping[parent]["children"].append(node)
        parent = node
    return {"title": title, "id": cid, "create_time": 1700000000, "mapping": mapping,
            **({"current_node": parent} if current else {})}


def _import(wb, tmp_path, data, *extra, name="conversations.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return wb.run("import-chat", str(path), "--problem", "1.3", "--pack", "demo", *extra)


def test_an_export_keeps_what_the_chat_showed(wb, tmp_path):
    conv = _chain(("system", "You are ChatGPT, a large language model."),  # hidden unless the export says otherwise
                  ("system", "Answer briefly.", {"is_visually_hidden_from_conversation": False}),
                  ("user", "Compute 2**10."),
                  ("assistant", {"content_type": "code", "text": "print(2**10)"}, {"model_slug": "gpt-4o"}),
                  ("tool", "1024"),
                  ("assistant", "It is 1024.", {"model_slug": "gpt-4o"}))
    code, _, err = _import(wb, tmp_path, [conv], "--model", "gpt-4")
    assert code == 0, err
    trace = load_trace(wb.traces()[0])
    assert trace.samples[0]["messages"] == [  # one reply split around the tool call is one message
        {"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "Compute 2**10."},
        {"role": "assistant", "content": "```\nprint(2**10)\n```\n\nIt is 1024."}]
    assert trace.model_version == "gpt-4o"  # the export's own record of the model, not the flag


def test_an_o_series_reply_keeps_its_shown_thinking_as_reasoning(wb, tmp_path):
    """ChatGPT's `thoughts` nodes (o3's shown thinking) were dropped, though a Claude export's thinking is kept as the
    reply's reasoning: they are the reasoning of the reply after them, never part of the answer judged."""
    thoughts = {"content_type": "thoughts", "thoughts": [{"summary": "Setting up", "content": "Try eta = 1/2."},
                                                          {"summary": "Checking", "content": ""}]}
    conv = _chain(("user", "q"), ("assistant", thoughts, {"model_slug": "o3"}),
                  ("assistant", {"content_type": "reasoning_recap", "content": "Thought for 8 seconds"}),
                  ("assistant", "eta = 1/2", {"model_slug": "o3"}), ("user", "q2"), ("assistant", "no thinking here"))
    assert _import(wb, tmp_path, [conv])[0] == 0
    trace = load_trace(wb.traces()[0])
    first, second = trace.data["exchanges"]
    assert first["choices"][0] == {"index": 0, "content": "eta = 1/2", "finish_reason": None,
                                   "reasoning": "Setting up\nTry eta = 1/2.\n\nChecking"}
    assert "reasoning" not in second["choices"][0] and trace.samples[0]["messages"][1]["content"] == "eta = 1/2"


def test_a_chat_that_switched_models_cites_every_model(wb, tmp_path):
    """A conversation begun with gpt-4o and switched to o3 was cited as 'gpt-4o via ChatGPT': the judged answer's
    model was named nowhere but in the import record."""
    conv = _chain(("user", "q"), ("assistant", "a", {"model_slug": "gpt-4o"}),
                  ("user", "q2"), ("assistant", "a2", {"model_slug": "o3"}), ("user", "q3"), ("assistant", "a3", {"model_slug": "gpt-4o"}))
    assert _import(wb, tmp_path, [conv])[0] == 0
    trace = load_trace(wb.traces()[0])
    assert trace.model_version == "gpt-4o, o3" and trace.citation().startswith("gpt-4o, o3 via ChatGPT (https://chatgpt.com);")
    conv = _chain(("user", "q"), ("assistant", "a", {"model_slug": "o3"}), ("user", "q2"), ("assistant", "a2", {"model_slug": "gpt-4o"}))
    assert _import(wb, tmp_path, [conv])[0] == 0  # the request names the model the chat began with, not the first in ABC order
    [trace] = [load_trace(t) for t in wb.traces() if load_trace(t).data["import"]["model_slugs"][0] == "o3"]
    assert trace.data["request"]["model"] == "o3" and trace.data["import"]["model_slugs"] == ["o3", "gpt-4o"]
    assert trace.model_version == "o3, gpt-4o"  # cited in order of use too, not in ABC order


def test_an_assistant_message_to_a_tool_is_no_part_of_the_reply(wb, tmp_path):
    """A memory update (recipient "bio") and a search call (recipient "browser") were imported as reply text: the
    answer judged began 'User is studying learning rates.', which the chat showed only as 'Memory updated'."""
    conv = _chain(("user", "Why one over lambda max?"),
                  ("assistant", "User is studying learning rates.", {"model_slug": "gpt-4o"}),
                  ("tool", "Model set context updated."),
                  ("assistant", 'search("optimal learning rate")', {"model_slug": "gpt-4o"}),
                  ("assistant", {"content_type": "code", "text": "print(2 / 4)"}, {"model_slug": "gpt-4o"}),
                  ("assistant", "Because the curvature bounds the step.", {"model_slug": "gpt-4o"}))
    for node, recipient in (("m1", "bio"), ("m3", "browser"), ("m4", "python"), ("m5", "all")):
        conv["mapping"][node]["message"]["recipient"] = recipient
    assert _import(wb, tmp_path, [conv])[0] == 0
    assert load_trace(wb.traces()[0]).answers() == ["```\nprint(2 / 4)\n```\n\nBecause the curvature bounds the step."]


def test_a_chatgpt_question_sent_with_a_file_names_it(wb, tmp_path):
    """A question sent with a2.pdf uploaded (metadata.attachments) was imported as the question alone, and a message
    that was only the file was dropped, its reply merged into the one before."""
    conv = _chain(("user", "Solve 2.2.3 from the handout", {"attachments": [{"id": "file-1", "name": "a2.pdf",
                                                                              "mime_type": "application/pdf"}]}),
                  ("assistant", "a", {"model_slug": "gpt-4o"}),
                  ("user", "", {"attachments": [{"id": "file-2", "name": "loss.png"}]}),
                  ("assistant", "b", {"model_slug": "gpt-4o"}))
    assert _import(wb, tmp_path, [conv])[0] == 0
    assert [m["content"] for m in load_trace(wb.traces()[0]).samples[0]["messages"]] == [
        "Solve 2.2.3 from the handout\n\n[attached, not imported: a2.pdf]", "a", "[attached, not imported: loss.png]", "b"]


def test_a_voice_message_keeps_its_transcribed_words(wb, tmp_path):
    """A voice-mode chat's messages are audio_transcription parts: each was imported as `[audio_transcription]`, the
    question and the answer lost though the export holds their words."""
    def voice(text, direction):
        return {"content_type": "multimodal_text", "parts": [
            {"content_type": "audio_transcription", "text": text, "direction": direction},
            {"content_type": "audio_asset_pointer", "asset_pointer": "sediment://file_1", "format": "wav"}]}
    conv = _chain(("user", voice("Why one over lambda max?", "in")),
                  ("assistant", voice("Because the curvature bounds the step.", "out"), {"model_slug": "gpt-4o"}))
    assert _import(wb, tmp_path, [conv])[0] == 0
    assert [m["content"] for m in load_trace(wb.traces()[0]).samples[0]["messages"]] == [
        "Why one over lambda max?\n[audio_asset_pointer]", "Because the curvature bounds the step.\n[audio_asset_pointer]"]


def test_an_older_export_without_current_node_follows_the_last_branch(wb, tmp_path):
    conv = json.loads(json.dumps(EXPORT[0]))
    del conv["current_node"]
    assert _import(wb, tmp_path, [conv])[0] == 0
    messages = load_trace(wb.traces()[0]).samples[0]["messages"]
    assert messages[-1]["content"].startswith("Corrected") and len(messages) == 4


def test_an_exact_title_beats_a_title_that_contains_it(wb, tmp_path):
    convs = [_chain(("user", "q"), ("assistant", "a", {"model_slug": "o3"}), title="Chat about RMSProp", cid="c1"),
             _chain(("user", "q"), ("assistant", "a", {"model_slug": "o3"}), title="Chat", cid="c2")]
    assert _import(wb, tmp_path, convs, "--conversation", "chat")[0] == 0
    assert load_trace(wb.traces()[0]).data["import"]["conversation_id"] == "c2"


def test_export_files_in_other_shapes(wb, tmp_path):
    one = _chain(("user", "q"), ("assistant", "a", {"model_slug": "o3"}))
    assert _import(wb, tmp_path, one, name="one.json")[0] == 0  # a single conversation, not in a list
    archive = tmp_path / "chatgpt-export"  # the archive under a name without .zip
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("conversations.json", json.dumps([_chain(("user", "q2"), ("assistant", "a2", {"model_slug": "o3"}))]))
    assert wb.run("import-chat", str(archive), "--problem", "1.1", "--pack", "demo")[0] == 0
    assert len(wb.traces()) == 2
    code, _, err = _import(wb, tmp_path, [_chain(("user", "anyone there?"))], "--model", "gpt-4o")
    assert code == 2 and "has no assistant reply" in err
    many = [_chain(("user", "q"), title=f"Chat {k}", cid=f"c{k}") for k in range(31)]
    code, _, err = _import(wb, tmp_path, many)
    assert code == 2 and "holds 31 conversations" in err and "'Chat 29'" in err and "'Chat 30'" not in err
    assert "and 1 more" in err and len(wb.traces()) == 2


def test_a_transcript_drops_empty_messages_and_may_open_with_the_assistant(wb, tmp_path):
    path = tmp_path / "chat.md"
    path.write_text("## ChatGPT\nHow can I help?\n\n## User\n\n## User\nWhat is $x_1$?\n\n## ChatGPT\nIt is 2.\n")
    assert wb.run("import-chat", str(path), "--problem", "1.3", "--pack", "demo", "--model", "gpt-4o")[0] == 0
    trace = load_trace(wb.traces()[0])
    assert [m["role"] for m in trace.samples[0]["messages"]] == ["assistant", "user", "assistant"]
    assert [e["turn"] for e in trace.data["exchanges"]] == [0, 0]


def test_a_comment_in_a_transcript_s_code_block_is_no_speaker_line(wb, tmp_path):
    """A reply's ```python block with a `# model` comment was cut there into two replies, the comment line lost."""
    path = tmp_path / "chat.md"
    reply = "Here is a script:\n\n```python\n# model\nmodel = UNet()\n~~~\n## User\n```\n\nThe receptive field is 5."
    path.write_text(f"## User\nHow do I count it?\n\n## ChatGPT\n{reply}\n\n## User\nThanks\n## ChatGPT\nWelcome.\n")
    assert wb.run("import-chat", str(path), "--problem", "1.3", "--pack", "demo", "--model", "gpt-4o")[0] == 0
    messages = load_trace(wb.traces()[0]).samples[0]["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"] and messages[1]["content"] == reply
    path.write_text("## User\nWhy does it fail?\n```python\nx = model(x)\n\n## ChatGPT\nThe shapes differ.\n")  # never closed
    assert wb.run("import-chat", str(path), "--problem", "1.2", "--pack", "demo", "--model", "gpt-4o")[0] == 0
    assert [m["role"] for m in load_trace(wb.traces()[0]).samples[0]["messages"]] == ["user", "assistant"]  # traces/1.2 sorts first


@pytest.mark.parametrize("block", [
    "~~~python\n# model\nmodel = UNet()\n~~~",  # a tilde fence is a code block too
    "```markdown\nWrite it as:\n```python\n# model\n```",  # a line with an info string closes no fence
    "```python\n# model\n````",  # a longer fence closes it
])
def test_a_comment_in_a_transcript_s_other_code_blocks_is_no_speaker_line(wb, tmp_path, block):
    path = tmp_path / "chat.md"
    reply = f"Here is a script:\n\n{block}\n\nThe receptive field is 5."
    path.write_text(f"## User\nHow do I count it?\n\n## ChatGPT\n{reply}\n\n## User\nThanks\n## ChatGPT\nWelcome.\n")
    assert wb.run("import-chat", str(path), "--problem", "1.3", "--pack", "demo", "--model", "gpt-4o")[0] == 0
    messages = load_trace(wb.traces()[0]).samples[0]["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"] and messages[1]["content"] == reply


def test_a_transcript_saved_with_a_byte_order_mark_keeps_its_first_message(wb, tmp_path):
    """Notepad's UTF-8 starts with a BOM: the first `## User` line was then no speaker line and the question was lost."""
    path = tmp_path / "chat.md"
    path.write_bytes("\ufeff## User\r\nWhat is it?\r\n\r\n## ChatGPT\r\nIt is 5.\r\n".encode())
    assert wb.run("import-chat", str(path), "--problem", "1.3", "--pack", "demo", "--model", "gpt-4o")[0] == 0
    assert load_trace(wb.traces()[0]).samples[0]["messages"] == [
        {"role": "user", "content": "What is it?"}, {"role": "assistant", "content": "It is 5."}]


def test_a_transcript_that_names_its_model_needs_no_flag(wb, tmp_path):
    path = tmp_path / "chat.md"
    path.write_text("## User\nWhat is $x_1$?\n\n## GPT-4o\nIt is 2.\n")
    assert wb.run("import-chat", str(path), "--problem", "1.3", "--pack", "demo")[0] == 0
    assert load_trace(wb.traces()[0]).model_version == "GPT-4o"


@pytest.mark.parametrize("name", ["Claude", "Gemini", "GPT", "Llama"])
def test_a_transcript_whose_speaker_is_a_model_family_still_needs_the_model(wb, tmp_path, name):
    """`## Claude` was taken for a model's name: the trace was cited as 'Claude via a Markdown transcript', no model."""
    path = tmp_path / "chat.md"
    path.write_text(f"## Human\nWhat is p(z|x)?\n\n## {name}\nBy Bayes rule.\n")
    code, _, err = wb.run("import-chat", str(path), "--problem", "1.3", "--pack", "demo")
    assert code == 2 and "--model" in err and wb.traces() == []
    assert wb.run("import-chat", str(path), "--problem", "1.3", "--pack", "demo", "--model", "claude-sonnet-4")[0] == 0
    assert load_trace(wb.traces()[0]).model_version == "claude-sonnet-4"


def test_markdown_without_speakers_is_refused(wb, tmp_path):
    path = tmp_path / "notes.md"
    path.write_text("just some notes\n")
    code, _, err = wb.run("import-chat", str(path), "--problem", "1.3", "--pack", "demo")
    assert code == 2 and "## User" in err and wb.traces() == []


CLAUDE = [
    {"uuid": "c1a0-bayes", "name": "Bayes rule for dropout", "created_at": "2024-05-01T12:00:00.123456Z",
     "updated_at": "2024-05-01T12:05:00Z", "account": {"uuid": "acct-1"},
     "chat_messages": [
         {"uuid": "m1", "text": "What is $p(z \\mid x)$?", "sender": "human", "created_at": "2024-05-01T12:00:01Z",
          "content": [{"type": "text", "text": "What is $p(z \\mid x)$?"}], "attachments": [], "files": []},
         {"uuid": "m2", "text": "FLAT TEXT", "sender": "assistant", "created_at": "2024-05-01T12:00:02Z",
          "content": [{"type": "thinking", "thinking": "HIDDEN THOUGHTS"},
                      {"type": "text", "text": "By Bayes:"},
                      {"type": "tool_use", "name": "repl", "input": {"code": "TOOL CALL"}},
                      {"type": "tool_result", "content": [{"type": "text", "text": "TOOL OUTPUT"}]},
                      {"type": "text", "text": "$p(z \\mid x) \\propto p(x \\mid z) p(z)$."}],
          "attachments": [], "files": []},
         {"uuid": "m3", "text": "Sure?", "sender": "human", "created_at": "2024-05-01T12:01:00Z",
          "content": [{"type": "text", "text": "Sure?"}], "attachments": [], "files": []},
         {"uuid": "m4", "text": "Yes.", "sender": "assistant", "created_at": "2024-05-01T12:01:05Z",
          "content": [{"type": "text", "text": "Yes."}], "attachments": [], "files": []}]},
    {"uuid": "c2b0-other", "name": "Other chat", "created_at": "2024-06-02T08:00:00Z", "updated_at": "2024-06-02T08:00:00Z",
     "chat_messages": [{"uuid": "o1", "text": "hi", "sender": "human", "created_at": "2024-06-02T08:00:00Z"},
                       {"uuid": "o2", "text": "hello", "sender": "assistant", "created_at": "2024-06-02T08:00:01Z"}]},
]


@pytest.fixture
def claude_export(tmp_path):
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps(CLAUDE))
    return path


def _claude_zip(tmp_path, data, name="data-2024-06-02.zip"):
    archive = tmp_path / name
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("conversations.json", json.dumps(data))
        zf.writestr("users.json", json.dumps([{"uuid": "acct-1"}]))
    return archive


def test_import_claude_export_keeps_the_text_parts(wb, claude_export):
    code, out, err = wb.run("import-chat", str(claude_export), "--problem", "1.1", "--pack", "demo",
                            "--conversation", "bayes", "--model", "claude-sonnet-4")
    assert code == 0 and "IMPORTED" in out, err
    trace = load_trace(wb.traces()[0])
    messages = trace.samples[0]["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
    assert messages[1]["content"] == "By Bayes:\n\n$p(z \\mid x) \\propto p(x \\mid z) p(z)$."
    assert not any(word in json.dumps(trace.data) for word in ("TOOL CALL", "TOOL OUTPUT", "FLAT TEXT"))
    # the thinking part is the reply's reasoning, as a reasoning model's through the API: kept, never the answer
    assert "HIDDEN THOUGHTS" not in json.dumps(trace.samples)
    assert trace.data["exchanges"][0]["choices"][0]["reasoning"] == "HIDDEN THOUGHTS"
    assert trace.reasonings() == [["HIDDEN THOUGHTS", ""]] and "reasoning" not in trace.data["exchanges"][1]["choices"][0]
    info = trace.data["import"]
    assert (info["format"], info["title"], info["conversation_id"], info["created_at"], info["file"]) == \
           ("claude-export", "Bayes rule for dropout", "c1a0-bayes", "2024-05-01T12:00:00Z", "conversations.json")
    assert info["file_sha256"] == hashlib.sha256(claude_export.read_bytes()).hexdigest()
    assert (trace.source, trace.model_version, trace.base_url, trace.intact) == \
           ("import", "claude-sonnet-4", "https://claude.ai", True)  # the name given: no version date invented
    assert trace.citation().startswith("claude-sonnet-4 via Claude (https://claude.ai); conversation of 2024-05-01, imported ")
    assert trace.answers() == ["Yes."]


def test_a_claude_message_that_is_only_an_attachment_keeps_its_turn(wb, tmp_path):
    """A human message with a file and no text was dropped, and the reply to it was merged into the reply before:
    the transcript showed one answer to a question that was never asked that way."""
    conv = json.loads(json.dumps(CLAUDE[1]))
    conv["chat_messages"][1]["text"] = "Please attach the figure."
    conv["chat_messages"] += [
        {"uuid": "o3", "text": "", "sender": "human", "content": [{"type": "text", "text": ""}],
         "attachments": [{"file_name": "figure1.png", "extracted_content": "..."}], "files": []},
        {"uuid": "o4", "text": "The figure shows a UNet.", "sender": "assistant"}]
    code, _, err = _import(wb, tmp_path, [conv], "--model", "claude-sonnet-4")
    assert code == 0, err
    messages = load_trace(wb.traces()[0]).samples[0]["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
    assert messages[1]["content"] == "Please attach the figure." and "figure1.png" in messages[2]["content"]
    assert messages[3]["content"] == "The figure shows a UNet."


def test_a_claude_conversation_with_an_edited_question_keeps_the_branch_shown(wb, tmp_path):
    """A conversation saved with its tree (current_leaf_message_uuid, parent_message_uuid) lists edited-away questions
    and retried replies too: all were imported in list order, the discarded question and answer shown as asked."""
    root = "00000000-0000-4000-8000-000000000000"

    def msg(uuid, parent, sender, text):
        return {"uuid": uuid, "parent_message_uuid": parent, "sender": sender, "content": [{"type": "text", "text": text}]}
    conv = {"uuid": "c-tree", "name": "Tree", "created_at": "2024-05-01T12:00:00Z", "current_leaf_message_uuid": "a2b",
            "chat_messages": [msg("h1", root, "human", "DRAFT QUESTION"), msg("a1", "h1", "assistant", "DRAFT ANSWER"),
                              msg("h1b", root, "human", "What is 2+2?"), msg("a1b", "h1b", "assistant", "4"),
                              msg("h2", "a1b", "human", "Sure?"), msg("a2", "h2", "assistant", "RETRIED AWAY"),
                              msg("a2b", "h2", "assistant", "Yes, 4.")]}
    assert _import(wb, tmp_path, conv, "--model", "claude-sonnet-4")[0] == 0
    assert [m["content"] for m in load_trace(wb.traces()[0]).samples[0]["messages"]] == ["What is 2+2?", "4", "Sure?", "Yes, 4."]


def test_a_claude_conversation_whose_parents_loop_ends_the_branch_instead_of_hanging():
    from workbench.chat_import import parse_claude_conversation

    def msg(uuid, parent, sender, text):
        return {"uuid": uuid, "parent_message_uuid": parent, "sender": sender, "content": [{"type": "text", "text": text}]}
    loop = {"uuid": "c-loop", "name": "Loop", "created_at": "2024-05-01T12:00:00Z", "current_leaf_message_uuid": "a1",
            "chat_messages": [msg("h1", "a1", "human", "What is 3+3?"), msg("a1", "h1", "assistant", "6")]}

    def hung(*_):
        raise TimeoutError("the walk from the leaf to the root never ended")
    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(5)
    try:
        messages = parse_claude_conversation(loop).messages
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert [m["content"] for m in messages] == ["What is 3+3?", "6"]


def test_a_claude_message_with_text_and_a_file_names_the_file(wb, tmp_path):
    """A question sent with colourization.py attached was imported as the question alone: the record of what was
    asked did not say the model had been given the file, though the reply was about it."""
    conv = json.loads(json.dumps(CLAUDE[1]))
    conv["chat_messages"][0].update(text="Fix my forward pass", attachments=[
        {"file_name": "colourization.py", "file_type": "text/x-python", "extracted_content": "class UNet: ..."}],
        files=[{"file_name": "loss.png"}])
    assert _import(wb, tmp_path, [conv], "--model", "claude-sonnet-4")[0] == 0
    messages = load_trace(wb.traces()[0]).samples[0]["messages"]
    assert messages[0] == {"role": "user", "content": "Fix my forward pass\n\n[attached, not imported: colourization.py, loss.png]"}


def test_a_claude_reply_s_artifact_is_named_where_it_stood(wb, tmp_path):
    """A reply whose code was an artifact (a tool_use part named "artifacts") was imported as 'Here is the
    implementation:' and the sentence after it, as if Claude had shown no code."""
    conv = json.loads(json.dumps(CLAUDE[1]))
    conv["chat_messages"][1] = {"uuid": "o2", "sender": "assistant", "content": [
        {"type": "text", "text": "Here is the implementation:"},
        {"type": "tool_use", "name": "artifacts", "input": {"id": "unet", "type": "application/vnd.ant.code",
                                                            "title": "UNet forward", "command": "create", "content": "def forward(self, x): ..."}},
        {"type": "tool_result", "name": "artifacts", "content": [{"type": "text", "text": "OK"}]},
        {"type": "text", "text": "It concatenates the skips."}]}
    assert _import(wb, tmp_path, [conv], "--model", "claude-sonnet-4")[0] == 0
    assert load_trace(wb.traces()[0]).answers() == [
        "Here is the implementation:\n\n[artifact, not imported: UNet forward]\n\nIt concatenates the skips."]


def test_import_chat_json_names_the_conversation_and_its_turns(wb, claude_export):
    """The human output says which conversation was imported ('Bayes rule for dropout': 2 user turn(s)); --json
    said neither, so a script could not tell which one a --conversation substring picked."""
    code, out, err = wb.run("import-chat", str(claude_export), "--problem", "1.1", "--pack", "demo",
                            "--conversation", "bayes", "--model", "claude-sonnet-4", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert (result["title"], result["turns"], result["model_version"]) == ("Bayes rule for dropout", 2, "claude-sonnet-4")


def test_import_claude_by_uuid_and_from_the_zip(wb, claude_export, tmp_path):
    argv = ["--pack", "demo", "--model", "claude-opus-4"]
    assert wb.run("import-chat", str(claude_export), "--problem", "1.1", "--conversation", "C2B0-OTHER", *argv)[0] == 0
    archive = _claude_zip(tmp_path, CLAUDE)  # the archive holds conversations.json too: told apart by its content
    code, _, err = wb.run("import-chat", str(archive), "--problem", "1.2", "--conversation", "Other chat", *argv)
    assert code == 0, err
    traces = [load_trace(p) for p in wb.traces()]
    assert [t.samples[0]["messages"] for t in traces] == [[{"role": "user", "content": "hi"},
                                                           {"role": "assistant", "content": "hello"}]] * 2
    assert {t.data["import"]["conversation_id"] for t in traces} == {"c2b0-other"}


@pytest.mark.parametrize("wanted, message", [(None, "holds 2 conversations"), ("nothing like it", "no conversation matches")])
def test_a_claude_export_lists_its_titles_and_dates(wb, claude_export, wanted, message):
    argv = ["import-chat", str(claude_export), "--problem", "1.1", "--pack", "demo", "--model", "claude-sonnet-4"]
    code, _, err = wb.run(*argv, *(["--conversation", wanted] if wanted else []))
    assert code == 2 and message in err and "'Bayes rule for dropout' [c1a0-bayes] 2024-05-01" in err
    assert "'Other chat' [c2b0-other] 2024-06-02" in err and wb.traces() == []


def test_a_claude_export_needs_model_and_may_name_another_url(wb, claude_export):
    argv = ["import-chat", str(claude_export), "--problem", "1.1", "--pack", "demo", "--conversation", "c2b0-other"]
    code, _, err = wb.run(*argv)
    assert code == 2 and "Claude export does not say which model answered" in err and "--model" in err
    assert err.count("\n") == 1 and wb.traces() == []
    assert wb.run(*argv, "--model", "claude-3-5-sonnet", "--url", "https://claude.ai/share/xyz")[0] == 0
    trace = load_trace(wb.traces()[0])
    assert trace.citation().startswith("claude-3-5-sonnet via https://claude.ai/share/xyz; conversation of 2024-06-02, ")


def test_the_same_claude_conversation_is_imported_once(wb, claude_export, tmp_path):
    argv = ["--problem", "1.1", "--pack", "demo", "--conversation", "c1a0-bayes", "--model", "claude-sonnet-4"]
    assert wb.run("import-chat", str(claude_export), *argv)[0] == 0
    [first] = wb.traces()
    code, _, err = wb.run("import-chat", str(_claude_zip(tmp_path, CLAUDE)), *argv)
    assert code == 2 and f"already imported for 1.1: {first}" in err and err.count("\n") == 1
    assert wb.traces() == [first]



def test_a_claude_export_s_times_are_read_as_utc(wb, tmp_path):
    """created_at with an offset is converted, one without is UTC; each reply keeps its own time and uuid."""
    conv = json.loads(json.dumps(CLAUDE[0]))
    conv.update(created_at="2024-05-01T23:30:00-02:00", updated_at="2024-05-02T00:00:00+00:00")
    conv["chat_messages"][3]["created_at"] = "2024-05-01T12:01:05"
    code, _, err = _import(wb, tmp_path, [conv], "--model", "claude-sonnet-4")
    assert code == 0, err
    trace = load_trace(wb.traces()[0])
    info = trace.data["import"]
    assert (info["created_at"], info["updated_at"]) == ("2024-05-02T01:30:00Z", "2024-05-02T00:00:00Z")
    assert "conversation of 2024-05-02, imported " in trace.citation()
    assert [(e["response_id"], e["created"]) for e in trace.data["exchanges"]] == [("m2", 1714564802), ("m4", 1714564865)]


def test_a_claude_reply_is_its_text_parts_only_and_one_per_turn(wb, tmp_path):
    """Parts of any other type are skipped even when they carry text, empty parts leave no gap, and assistant
    messages in a row (a reply continued) are one reply, as for ChatGPT."""
    conv = {"uuid": "c3", "name": "Split reply", "created_at": "2024-06-03T08:00:00Z", "chat_messages": [
        {"uuid": "q", "sender": "human", "text": "What is $x$?"},
        {"uuid": "a1", "sender": "assistant", "content": [{"type": "text", "text": "Part one."}, {"type": "text", "text": ""},
                                                          {"type": "unknown_kind", "text": "OTHER KIND"},
                                                          {"type": "text", "text": "Part two."}]},
        {"uuid": "a2", "sender": "assistant", "text": "Continued."}]}
    code, _, err = _import(wb, tmp_path, [conv], "--model", "claude-sonnet-4")
    assert code == 0, err
    trace = load_trace(wb.traces()[0])
    assert trace.samples[0]["messages"] == [{"role": "user", "content": "What is $x$?"},
                                            {"role": "assistant", "content": "Part one.\n\nPart two.\n\nContinued."}]
    assert len(trace.data["exchanges"]) == 1 and trace.answers() == ["Part one.\n\nPart two.\n\nContinued."]
    assert "reasoning" not in trace.data["exchanges"][0]["choices"][0]  # no thinking part: no reasoning invented


@pytest.mark.parametrize("first, reasoning", [
    ("First thought.", "First thought.\n\nSecond thought."),  # a continued reply: both parts' thinking, as one
    (" \n ", "Second thought."),  # blank thinking is none, and adds no separator before the next part's
])
def test_a_continued_claude_reply_keeps_the_thinking_of_its_parts_as_one_reasoning(wb, tmp_path, first, reasoning):
    conv = {"uuid": "c4", "name": "Thought twice", "created_at": "2024-06-03T08:00:00Z", "chat_messages": [
        {"uuid": "q", "sender": "human", "text": "What is $x$?"},
        {"uuid": "a1", "sender": "assistant", "content": [{"type": "thinking", "thinking": first},
                                                          {"type": "text", "text": "Part one."}]},
        {"uuid": "a2", "sender": "assistant", "content": [{"type": "thinking", "thinking": "Second thought."},
                                                          {"type": "text", "text": "Part two."}]}]}
    code, _, err = _import(wb, tmp_path, [conv], "--model", "claude-sonnet-4")
    assert code == 0, err
    trace = load_trace(wb.traces()[0])
    assert trace.answers() == ["Part one.\n\nPart two."]
    assert trace.data["exchanges"][0]["choices"][0]["reasoning"] == reasoning
    assert trace.reasonings() == [[reasoning]]


def test_a_claude_conversation_by_its_exact_title_or_alone(wb, tmp_path):
    """An exact title wins over titles that merely contain it; one conversation object (not in a list) is read."""
    longer = dict(json.loads(json.dumps(CLAUDE[1])), uuid="c2b1-longer", name="Other chat, continued")
    code, _, err = _import(wb, tmp_path, [longer, CLAUDE[1]], "--model", "claude-sonnet-4", "--conversation", "other chat")
    assert code == 0, err
    assert load_trace(wb.traces()[0]).data["import"]["conversation_id"] == "c2b0-other"
    code, _, err = wb.run("import-chat", str(_claude_zip(tmp_path, CLAUDE[0])), "--problem", "1.2", "--pack", "demo",
                          "--model", "claude-sonnet-4")
    assert code == 0, err
    assert {load_trace(p).data["import"]["conversation_id"] for p in wb.traces()} == {"c2b0-other", "c1a0-bayes"}

def test_import_chat_help_names_the_claude_export(capsys):
    from cli import main

    with pytest.raises(SystemExit):
        main(["import-chat", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "ChatGPT or Claude (claude.ai) data export" in text and "https://claude.ai for Claude exports" in text
    # a transcript gets chatgpt.com only when its speaker lines say ChatGPT (## Assistant cites no address)
    assert "https://chatgpt.com for ChatGPT exports and for transcripts whose speaker lines say ChatGPT" in text


def _edited_claude(change):
    conv = json.loads(json.dumps(CLAUDE[1]))
    change(conv)
    return [conv]


@pytest.mark.parametrize("change, message", [
    (lambda c: c.update(chat_messages="hi"), "not in the Claude export format this reads (ValueError: chat_messages is not a list)"),
    (lambda c: c["chat_messages"][1].pop("sender"), "message 2 has no sender"),
    (lambda c: c["chat_messages"][1].update(sender="robot"), "neither human nor assistant"),
    (lambda c: c["chat_messages"][1].update(content="hello"), "not in the Claude export format"),
    (lambda c: c["chat_messages"][1].update(content=[{"type": "text", "text": 4}]), "not in the Claude export format"),
    (lambda c: c.update(chat_messages=[]), "conversation 'Other chat' holds no messages"),
    (lambda c: c["chat_messages"][1].update(content=[{"type": "thinking", "thinking": "hmm"}]), "has no assistant reply"),
])
def test_a_malformed_or_empty_claude_export_is_one_line(wb, tmp_path, change, message):
    code, _, err = _import(wb, tmp_path, _edited_claude(change), "--model", "claude-sonnet-4")
    assert code == 2 and message in err and err.count("\n") == 1 and wb.traces() == []
    code, _, err = _import(wb, tmp_path, [CLAUDE[1], EXPORT[1]], "--model", "claude-sonnet-4")  # one of each kind
    assert code == 2 and "not a ChatGPT or Claude export" in err and err.count("\n") == 1


def test_import_into_a_blocked_trace_folder_is_one_line(wb, export):
    (wb.root / "traces" / "1.1").write_text("a file in the way")
    code, _, err = wb.run("import-chat", str(export), "--problem", "1.1", "--pack", "demo", "--conversation", "conv-aaa")
    assert code == 2 and "cannot save traces in" in err and err.count("\n") == 1 and "Traceback" not in err


def test_traces_list_show_cite_mark_imports(wb, export):
    assert wb.run("prompt", "1.1", "--pack", "demo", "--samples", "2")[0] == 0
    assert wb.run("import-chat", str(export), "--problem", "1.1", "--pack", "demo", "--conversation", "conv-aaa")[0] == 0
    code, out, _ = wb.run("traces", "1.1", "--json")
    rows = json.loads(out)
    assert code == 0 and sorted(r["source"] for r in rows) == ["api", "import"]
    code, out, _ = wb.run("traces")
    assert code == 0 and "IMPORTED" in out and "fake-gpt-2026-01-15" in out and "direct" in out
    rows = [line for line in out.splitlines() if line.startswith("│")]  # piped: rows unfolded, hashes whole
    assert len(rows) == 2 and all(load_trace(p).short_hash in "".join(rows) for p in wb.traces())
    imported = next(p for p in wb.traces() if load_trace(p).imported)
    code, out, _ = wb.run("traces", "show", str(imported))
    assert code == 0 and "IMPORTED" in out and "(imported)" in out and "sha256" in out
    api = next(p for p in wb.traces() if not load_trace(p).imported)
    code, out, _ = wb.run("traces", "show", load_trace(api).short_hash[:8])
    assert code == 0 and "sample 2" in out and "user · turn 1" in out and "assistant · turn 1" in out
    assert "$x_i^T w = \\frac{1}{2}$" in out  # TeX reaches the screen intact
    code, out, _ = wb.run("traces", "cite", "1.1")
    assert code == 0 and len(out.strip().splitlines()) == 2 and "accessed" in out and "imported" in out


def test_traces_show_prints_a_prompt_the_samples_share_once(wb):
    """`prompt --samples 3` sends one prompt three times: `traces show` printed its system message and every user
    turn (the whole statement and context) three times over; in a later sample a message sample 1 showed is one
    line, and each of its own answers is shown."""
    assert wb.run("prompt", "1.1", "--pack", "demo", "--samples", "3", "-s", "decompose")[0] == 0
    code, out, _ = wb.run("traces", "show", wb.traces()[0].name)
    assert code == 0 and out.count("Braces {like} these stay.") == 1, out
    assert out.count("assistant · turn 1") == 3 and out.count("assistant · turn 2") == 3
    assert out.count("system: as in sample 1") == 2 and out.count("user · turn 2: as in sample 1") == 2, out


def test_traces_show_json_carries_the_citation_the_human_output_shows(wb):
    """`traces show` prints a `cite:` line; its --json had every field of the file but not the citation."""
    assert wb.run("prompt", "1.3", "--pack", "demo")[0] == 0
    trace = load_trace(wb.traces()[0])
    code, out, _ = wb.run("traces", "show", trace.short_hash, "--json")
    assert code == 0 and json.loads(out)["citation"] == trace.citation()


def test_traces_show_prints_the_reasoning_before_the_answer(wb, monkeypatch):
    wb.server.script({"match": "why", "reasoning": "FIRST THOUGHT: 7?", "content": "It is 7."},
                     {"match": "why", "reasoning": "SECOND THOUGHT: 8.", "content": "It is 8."})
    monkeypatch.setattr("sys.stdin", io.StringIO("why?\n/retry\n/quit\n"))
    assert wb.run("chat", "1.3", "--pack", "demo", "--no-stream")[0] == 0
    trace = load_trace(wb.traces()[0])
    assert trace.reasonings() == [["", "SECOND THOUGHT: 8."]]  # the retried answer's, not the replaced one's
    code, out, _ = wb.run("traces", "show", trace.short_hash)
    assert code == 0 and "assistant · turn 2 · reasoning (not part of the answer)" in out
    assert out.index("SECOND THOUGHT: 8.") < out.index("It is 8.") and "FIRST THOUGHT" not in out
    assert out.count("reasoning (not part of the answer)") == 1  # the strategy's turn came with none
    code, out, _ = wb.run("traces", "show", trace.short_hash, "--json")
    choices = [c for ex in json.loads(out)["exchanges"] for c in ex["choices"]]
    assert [c.get("reasoning") for c in choices] == [None, "FIRST THOUGHT: 7?", "SECOND THOUGHT: 8."]


def test_traces_show_puts_a_samples_reasoning_under_that_sample_and_raw_keeps_it_literal(wb):
    from workbench.traces import write_trace

    def sample(i, reply):
        return {"index": i, "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": reply}]}

    path = write_trace(_trace(exchanges=[{"sample": None, "turn": 0, "model": "fake-gpt-2026-01-15", "choices": [
        {"index": 0, "content": "It is 60.", "finish_reason": "stop"},
        {"index": 1, "content": "It is 61.", "finish_reason": "stop", "reasoning": "So 3*4*5 = 60, **not** 61?"}]}],
        samples=[sample(0, "It is 60."), sample(1, "It is 61.")], request={"model": "fake-gpt", "n": 2}),
        wb.root / "traces")
    code, out, _ = wb.run("traces", "show", path.name)
    assert code == 0 and out.count("reasoning (not part of the answer)") == 1
    assert out.index("sample 2") < out.index("reasoning (not part of the answer)") < out.index("It is 61.")
    assert "3*4*5" not in out  # Markdown: the stars are styling, as in the answer
    code, out, _ = wb.run("traces", "show", path.name, "--raw")
    assert code == 0 and "So 3*4*5 = 60, **not** 61?" in out


def test_a_commands_words_may_follow_its_options(wb):
    # `traces show --raw FILE` was "unrecognized arguments: FILE" (exit 2): argparse fills a "*" positional once
    assert wb.run("prompt", "1.1", "--pack", "demo")[0] == 0
    name = wb.traces()[0].name
    code, out, _ = wb.run("traces", "show", "--raw", name)
    assert code == 0 and out == wb.run("traces", "show", name, "--raw")[1]
    code, out, _ = wb.run("traces", "--json", "show", name)
    assert code == 0 and json.loads(out)["file"].endswith(name)
    code, _, err = wb.run("traces", "show", "--raw", name, "extra")
    assert code == 2 and "wrong arguments for `traces show`" in err

def test_traces_verify_with_no_trace_says_there_is_none(wb):
    """On a fresh clone `traces verify` said '0 trace(s) verified: every hash matches its content', which reads as
    evidence checked and sound; it says there are none yet and how to get one, as `traces` does (exit 0)."""
    code, out, _ = wb.run("traces", "verify")
    assert code == 0 and "verified" not in out and out.startswith("no traces yet, nothing to verify — run "), out
    assert "python cli.py prompt ID" in out and "import-chat FILE --problem ID" in out
    code, out, _ = wb.run("traces", "verify", "--json")
    assert code == 0 and json.loads(out) == {"checked": 0, "bad": [], "stale": []}


def test_traces_verify_detects_an_edited_trace(wb):
    assert wb.run("prompt", "1.1", "--pack", "demo")[0] == 0
    assert wb.run("prompt", "1.3", "--pack", "demo")[0] == 0
    code, out, _ = wb.run("traces", "verify")
    assert code == 0 and "2 trace(s) verified" in out
    path = wb.traces()[0]
    data = json.loads(path.read_text())
    data["samples"][0]["messages"][-1]["content"] = "a better answer"
    path.write_text(json.dumps(data))
    code, out, _ = wb.run("traces", "verify")
    assert code == 1 and path.name in out and "content edited" in out and "1 of 2" in out
    code, out, _ = wb.run("traces", "verify", "--json")
    assert code == 1 and json.loads(out)["bad"] == [{"file": str(path), "reason": "content edited: the hash no longer matches"}]
    code, out, _ = wb.run("traces")
    assert "EDITED" in out


def test_the_listing_gives_no_citation_for_an_edited_trace(wb):
    """`traces` printed an edited trace's citation under the table like any other, ready to paste, where `traces
    cite` and the writeup refuse it; its line says it is not to be cited and why, and the intact one's is kept."""
    assert wb.run("prompt", "1.1", "--pack", "demo")[0] == 0
    assert wb.run("prompt", "1.3", "--pack", "demo")[0] == 0
    edited, intact = (load_trace(p) for p in wb.traces())
    edited.path.write_text(edited.path.read_text().replace("Answer 0", "Answer 1", 1))
    code, out, _ = wb.run("traces")
    lines = {line.split()[0]: line for line in out.splitlines() if line.split() and line.split()[0] in
             (edited.short_hash, intact.short_hash)}
    assert code == 0 and lines[intact.short_hash] == f"{intact.short_hash} {intact.citation()}", lines
    assert lines[edited.short_hash] == (f"{edited.short_hash} not to be cited: content edited: the hash no longer "
                                        "matches (see `python cli.py traces verify`)"), lines


def test_traces_verify_checks_only_the_pack_asked_for(wb):
    """`traces verify --pack a2` checked (and failed on) demo's traces too, and `--pack nopack` verified everything,
    exit 0: the flag was read for nothing. Without --pack every trace is checked, as ever."""
    assert wb.run("prompt", "1.1", "--pack", "demo")[0] == 0
    assert wb.run("prompt", "3.1")[0] == 0  # a2's 3.1
    demo = next((wb.root / "traces" / "1.1").glob("*.json"))
    demo.write_text(demo.read_text().replace("Answer 0", "Answer 1", 1))  # edited
    assert wb.run("traces", "verify")[0] == 1
    code, out, _ = wb.run("traces", "verify", "--pack", "a2", "--json")
    assert code == 0 and json.loads(out) == {"checked": 1, "bad": [], "stale": []}
    code, out, _ = wb.run("traces", "verify", "--pack", "demo", "--json")
    assert code == 1 and json.loads(out)["checked"] == 1 and [b["file"] for b in json.loads(out)["bad"]] == [str(demo)]
    code, _, err = wb.run("traces", "verify", "--pack", "nopack")
    assert code == 2 and "nopack" in err and err.count("\n") == 1


def test_a_trace_moved_to_another_problem_is_flagged_and_not_cited(wb):
    assert wb.run("prompt", "1.1", "--pack", "demo")[0] == 0
    [path] = wb.traces()
    moved = wb.root / "traces" / "1.3" / path.name
    moved.parent.mkdir()
    path.rename(moved)
    code, out, _ = wb.run("traces")
    assert code == 0 and "MOVED" in out
    code, out, _ = wb.run("traces", "--json")
    assert [r["intact"] for r in json.loads(out)] == [False]
    code, out, err = wb.run("traces", "cite", "1.3", "--pack", "demo")
    assert code == 1 and out == "" and "renamed or moved" in err and "not cited" in err
    code, out, _ = wb.run("traces", "show", str(moved))  # it said "EDITED: the hash no longer matches": it does
    assert code == 0 and "renamed or moved" in out and "EDITED" not in out and "hash no longer matches" not in out


def test_a_trace_renamed_in_its_own_folder_is_flagged(wb):
    """The file name carries the first 12 hex digits of the hash: a name that no longer does is no evidence."""
    assert wb.run("prompt", "1.1", "--pack", "demo")[0] == 0
    [path] = wb.traces()
    renamed = path.with_name(path.name.replace(load_trace(path).short_hash, "0" * 12))
    path.rename(renamed)
    code, out, _ = wb.run("traces", "verify")
    assert code == 1 and f"FAILED {renamed}: renamed or moved" in out
    code, _, err = wb.run("traces", "cite", "1.1", "--pack", "demo")
    assert code == 1 and "renamed or moved" in err and "not cited" in err


def test_an_edited_trace_is_not_cited(wb):
    assert wb.run("prompt", "1.1", "--pack", "demo")[0] == 0
    assert wb.run("prompt", "1.1", "--pack", "demo")[0] == 0
    path = wb.traces()[0]
    data = json.loads(path.read_text())
    data["samples"][0]["messages"][-1]["content"] = "a better answer"
    path.write_text(json.dumps(data))
    code, out, err = wb.run("traces", "cite", "1.1")
    assert code == 0 and len(out.strip().splitlines()) == 1 and "content edited" in err and "not cited" in err


def test_unreadable_traces_are_flagged_and_the_others_still_used(wb):
    assert wb.run("prompt", "1.1", "--pack", "demo")[0] == 0
    folder = wb.root / "traces" / "1.1"
    (folder / "bad.json").write_bytes(b"\xff\xfe")
    (folder / "foreign.json").write_text('{"x": 1}')
    code, out, _ = wb.run("traces")
    assert code == 0 and "fake-gpt-2026-01-15" in out and "UNREADABLE" in out and "1 trace(s), 2 unreadable" in out
    assert f"{folder / 'bad.json'}: not valid UTF-8 text" in out
    code, out, _ = wb.run("traces", "1.1", "--json")
    rows = json.loads(out)
    assert [r.get("unreadable") for r in rows] == [None, "not valid UTF-8 text", "not a workbench.trace/1 trace"]
    code, out, _ = wb.run("traces", "verify")
    assert code == 1 and "2 of 3 trace(s) failed" in out
    assert f"FAILED {folder / 'bad.json'}: not valid UTF-8 text" in out and out.count("bad.json") == 1
    assert f"FAILED {folder / 'foreign.json'}: not a workbench.trace/1 trace" in out
    code, out, err = wb.run("traces", "cite", "1.1")
    assert code == 0 and "accessed" in out and "unreadable trace" in err and "bad.json" in err
    (next(folder.glob("*fake-gpt*.json"))).unlink()
    code, _, err = wb.run("traces", "cite", "1.1")
    assert code == 1 and "no intact trace for 1.1" in err


def test_json_nested_too_deeply_is_unreadable_not_a_crash(wb, tmp_path):
    import os
    import subprocess
    import sys

    def cli(*argv):  # in a child: a RecursionError in CPython 3.11's C code can upset later ast use in-process
        proc = subprocess.run([sys.executable, str(REPO / "cli.py"), *argv], capture_output=True, text=True,
                              env=os.environ | {"WORKBENCH_ROOT": str(wb.root)})
        return proc.returncode, proc.stdout, proc.stderr

    assert wb.run("prompt", "1.1", "--pack", "demo")[0] == 0
    deep = "[" * 100_000 + "]" * 100_000
    (wb.root / "traces" / "1.1" / "deep.json").write_text(deep)
    code, out, _ = cli("traces", "verify")
    assert code == 1 and "deep.json: JSON nested too deeply to read" in out and "1 of 2" in out
    export = tmp_path / "conversations.json"
    export.write_text(deep)
    code, _, err = cli("import-chat", str(export), "--problem", "1.3", "--pack", "demo")
    assert code == 2 and "nested too deeply" in err and err.count("\n") == 1


def test_a_trace_holding_a_lone_surrogate_is_unreadable_not_a_crash(wb):
    """A trace file whose JSON held a \\ud800 escape (valid JSON, no Unicode text) crashed `traces`, `traces verify`
    and `build-writeup` with a UnicodeEncodeError traceback: a student could not hand in until they found it."""
    assert wb.run("prompt", "1.1", "--pack", "demo")[0] == 0
    path = wb.traces()[0]
    bad = path.with_name("20200101T000000Z-fake-aaaaaaaaaaaa.json")
    bad.write_text(path.read_text(encoding="utf-8").replace("Answer 0", "Answer \\ud800 0", 1))
    for argv in (["traces"], ["traces", "--json"], ["traces", "cite", "1.1"], ["traces", "verify"]):
        code, out, err = wb.run(*argv)
        assert code in (0, 1) and "lone surrogate" in out + err, argv
    code, _, err = wb.run("traces", "show", bad.name)
    assert code == 2 and "lone surrogate" in err and err.count("\n") == 1
    code, out, _ = wb.run("traces", "cite", "1.1")
    assert code == 0 and len(out.strip().splitlines()) == 1  # the intact trace is still cited


def test_a_trace_with_a_number_too_long_to_read_is_unreadable_not_a_crash(wb):
    """json.loads raises a plain ValueError (not a JSONDecodeError) on an int of over 4300 digits."""
    assert wb.run("prompt", "1.1", "--pack", "demo")[0] == 0
    [path] = wb.traces()
    path.write_text(path.read_text().replace('"n": 1', '"n": 1' + "0" * 5000, 1))
    for argv in (["traces"], ["traces", "verify"], ["traces", "cite", "1.1"]):
        code, out, err = wb.run(*argv)
        assert code in (0, 1) and "a number in it is too long to read" in out + err, argv


@pytest.mark.parametrize("field, value", [
    ("exchanges", 5), ("exchanges", [1]), ("provider", "x"), ("started_at", 5), ("samples", ["x"]),
    ("samples", [{"index": 0, "messages": [{"role": "user", "content": 3}]}]), ("request", {"n": "2"}),
    ("exchanges", [{"sample": "0", "turn": 0}]), ("errors", "oops"),
    ("exchanges", [{"sample": 0, "turn": 0, "choices": [{"finish_reason": ["length"]}]}]),  # cautions() looks it up
    ("request", {"model": "m", "n": True}), ("provider", {"base_url": 5}), ("import", {"created_at": 5}),
    ("exchanges", [{"sample": 0, "turn": 0, "choices": [{"finish_reason": "stop", "reasoning": ["think"]}]}]),
    ("exchanges", [{"sample": 0, "turn": 0, "choices": [{"finish_reason": "stop", "reasoning": None}]}]),
])
def test_a_trace_with_wrong_field_types_is_unreadable_not_a_crash(wb, field, value):
    assert wb.run("prompt", "1.1", "--pack", "demo")[0] == 0
    assert wb.run("prompt", "1.1", "--pack", "demo")[0] == 0
    path = wb.traces()[0]
    data = json.loads(path.read_text())
    data[field] = value
    path.write_text(json.dumps(data))
    for argv in (["traces"], ["traces", "--json"], ["traces", "cite", "1.1"], ["traces", "verify"]):
        code, out, err = wb.run(*argv)
        assert code in (0, 1) and "Traceback" not in err and "malformed" in out + err, argv
    code, _, err = wb.run("traces", "show", path.name)
    assert code == 2 and "malformed" in err and err.count("\n") == 1
    code, out, _ = wb.run("traces", "cite", "1.1")
    assert code == 0 and len(out.strip().splitlines()) == 1  # the other trace is still cited


def test_piped_messages_are_not_wrapped(wb):
    code, out, _ = wb.run("traces")
    assert out == ("no traces yet — run `python cli.py prompt ID` or `python cli.py import-chat FILE --problem ID`\n")
    (wb.root / "traces" / "1.1").mkdir()
    (wb.root / "traces" / "1.1" / "bad.json").write_text("{}")
    code, out, _ = wb.run("traces", "verify")
    assert code == 1 and out.splitlines()[-1] == ("1 of 1 trace(s) failed verification — restore them with "
                                                  "`git checkout -- traces/` or delete them and prompt again")
    code, out, _ = wb.run("traces", "verify", "--json")
    assert json.loads(out)["checked"] == 1


@pytest.mark.parametrize("argv, exit_code, message", [
    (["prompt", "9.9", "--pack", "demo", "--json"], 2, "no problem '9.9'"),
    (["traces", "cite", "1.3", "--pack", "demo", "--json"], 1, "no traces for problem 1.3"),
    (["import-chat", "missing.json", "--problem", "1.1", "--pack", "demo", "--json"], 2, "no file missing.json"),
    (["check", "9.9", "ANSWER", "--json"], 2, "no problem '9.9'"),
])
def test_a_json_refusal_is_one_json_document_on_stdout(wb, argv, exit_code, message):
    (wb.root / "answer.md").write_text("an answer")
    code, out, err = wb.run(*[str(wb.root / "answer.md") if a == "ANSWER" else a for a in argv])
    data = json.loads(out)
    assert code == exit_code and data["exit_code"] == exit_code and message in data["error"] and data["fix"]
    assert message in err and err.count("\n") == 1


def test_ctrl_c_with_json_is_a_json_document_too(wb, monkeypatch):
    def interrupt(*_, **__):
        raise KeyboardInterrupt

    monkeypatch.setattr("workbench.llm.complete", interrupt)
    code, out, err = wb.run("prompt", "1.1", "--pack", "demo", "--json")
    assert code == 130 and json.loads(out) == {  # what was kept and how to ask again, as on stderr (4b5d174)
        "error": "interrupted: no trace saved for 1.1 (a trace is written whole, once answered)",
        "fix": "ask again with `python cli.py prompt 1.1 --pack demo`", "exit_code": 130}


def test_a_command_that_printed_its_json_prints_no_second_document(wb):
    wb.server.script({"status": 401})
    code, out, _ = wb.run("prompt", "1.1", "--pack", "demo", "--json")
    assert code == 3 and json.loads(out)["error"]  # json.loads fails on two documents


def test_traces_of_a_problem_without_any_yet(wb):
    code, out, _ = wb.run("traces", "1.3", "--pack", "demo")
    assert code == 0 and "no traces for 1.3 yet" in out
    assert "`python cli.py prompt ID --pack demo`" in out  # not a2's problems
    code, out, _ = wb.run("traces", "--pack", "demo")
    assert code == 0 and "no traces of pack demo yet" in out and "import-chat FILE --problem ID --pack demo" in out
    code, _, err = wb.run("traces", "cite", "1.3", "--pack", "demo")
    assert code == 1 and "no traces for problem 1.3" in err  # missing work, not bad input
    # not a2's 1.3; the whole import-chat command, as `traces` and verify give it, not a bare `import-chat`
    assert "run `python cli.py prompt 1.3 --pack demo` or `python cli.py import-chat FILE --problem 1.3 --pack demo` " \
           "first" in err


@pytest.mark.parametrize("argv, message", [
    (["traces", "show", "../../../etc/passwd.json"], "is not a trace under"),
    (["traces", "show", "/etc/x.json"], "is not a trace under"),
    (["traces", "show", "..x"], "invalid trace reference"),
    (["traces", "show", "deadbeef"], "no trace matches"),
    (["traces", "show", "a/../b"], "invalid trace reference"),
    (["traces", "../etc"], "invalid problem id"),
    (["traces", "cite", "9.9"], "no problem '9.9' in pack 'a2'"),
    (["traces", "9.9"], "no problem '9.9' in pack 'a2'"),
    (["traces", "show"], "wrong arguments"),
    (["traces", "cite"], "wrong arguments for `traces cite`"),
    (["traces", "verify", "1.1"], "wrong arguments for `traces verify`"),
    (["import-chat", "missing.json", "--problem", "1.1", "--pack", "demo"], "no file missing.json"),
    (["import-chat", "a" * 300 + ".json", "--problem", "1.1", "--pack", "demo"], "File name too long"),  # was a traceback
    (["import-chat", "x.json", "--problem", "../1", "--pack", "demo"], "invalid problem id"),
])
def test_trace_references_are_validated(wb, argv, message):
    code, _, err = wb.run(*argv)
    assert code == 2 and message in err


def test_chat_via_stdin_saves_one_trace(wb, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("why is that?\n/retry\nthanks\n\n"))
    code, out, _ = wb.run("chat", "1.1", "--pack", "demo", "--strategy", "self-critique")
    assert code == 0
    [path] = wb.traces()
    trace = load_trace(path)
    assert trace.strategy == "chat:self-critique" and trace.source == "api" and trace.intact
    messages = trace.samples[0]["messages"]
    users = [m["content"] for m in messages if m["role"] == "user"]
    assert users[2:] == ["why is that?", "thanks"] and len(users) == 4
    assert len(trace.data["exchanges"]) == 5  # 2 strategy turns, the question, its retry, thanks
    sent = [r["body"]["messages"] for r in wb.server.chat_requests()]
    assert sent[3] == sent[2]  # /retry asked the same question again
    assert sent[4] == messages[:-1]  # the retried answer replaced the first one
    assert f"saved {path}" in out and SECRET not in out


@pytest.mark.parametrize("stream", [[], ["--no-stream"]])
def test_chat_keeps_each_turns_reasoning_beside_its_answer(wb, monkeypatch, stream):
    wb.server.script({"match": "why", "reasoning": "Hmm, 7 or 8? It is 8.", "content": "Because it is 8."})
    monkeypatch.setattr("sys.stdin", io.StringIO("why is that?\n/quit\n"))
    code, _, err = wb.run("chat", "1.3", "--pack", "demo", *stream)
    assert code == 0, err
    trace = load_trace(wb.traces()[0])
    first, second = (ex["choices"][0] for ex in trace.data["exchanges"])
    assert "reasoning" not in first and second["reasoning"] == "Hmm, 7 or 8? It is 8."
    assert trace.answers() == ["Because it is 8."] and trace.intact
    sent = wb.server.chat_requests()[-1]["body"]["messages"]
    assert "7 or 8" not in json.dumps(sent)  # the reasoning is never sent back as part of the conversation



def test_chat_counts_the_thinking_on_a_terminal_only_and_prints_the_answer_alone(wb, monkeypatch):
    """chat streams by default, but a reasoning model's thinking showed nothing for minutes: it looked hung. On a
    terminal one dim stderr line counts its words, erased before the answer; piped, nothing is added."""
    from workbench.console import err_console

    wb.server.script(*[{"match": "why", "reasoning": "Hmm, 7 or 8? " * 6, "content": "Because it is 8."}] * 2)
    answered = []
    for terminal in (False, True):
        monkeypatch.setattr(err_console, "_force_terminal", terminal)
        monkeypatch.setattr("sys.stdin", io.StringIO("why is that?\n/quit\n"))
        code, out, err = wb.run("chat", "1.3", "--pack", "demo")
        assert code == 0 and ("24 words" in err) is terminal and ("thinking" in err) is terminal
        assert "7 or 8" not in out + err  # the reasoning itself is never shown
        answered += [line for line in out.splitlines() if "it is 8" in line]
    assert answered == ["Because it is 8."] * 2  # piped, the prompts are on stderr
    assert err.endswith("\x1b[K\nyou> ")  # the count is erased, the line ended, before the next prompt


@pytest.mark.parametrize("stream", [[], ["--no-stream"]])
def test_piped_chat_keeps_its_prompts_and_banner_off_stdout(wb, monkeypatch, stream):
    """`chat ID > answers.md` filled the file with the banner, the strategy's prompt, "model ›" and "you> ": stdout
    piped holds the replies (and the saved trace's lines), the rest goes to stderr for the person typing."""
    wb.server.script(*[{"match": "why", "content": "Because it is 8."}])
    monkeypatch.setattr("sys.stdin", io.StringIO("why is that?\n/quit\n"))
    code, out, err = wb.run("chat", "1.3", "--pack", "demo", *stream)
    assert code == 0, err
    replies = load_trace(wb.traces()[0]).data["exchanges"]
    first = replies[0]["choices"][0]["content"]
    [saved, cite] = [line for line in out.splitlines() if line.startswith(("saved ", "cite: "))]
    assert [line for line in out.splitlines() if line.strip() and line not in (saved, cite)] == \
        [*filter(str.strip, first.splitlines()), "Because it is 8."]
    for shown in ("chat about 1.3", "you (from the strategy)", "fake-gpt ›", "you> "):
        assert shown in err and shown not in out, shown
    assert "› you> " not in err  # each reply (on stdout) ends its "model ›" line on stderr too


def test_chat_on_a_terminal_shows_its_prompts_there(wb, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("/quit\n"))
    monkeypatch.setattr("sys.stdout.isatty", lambda: True, raising=False)
    code, out, err = wb.run("chat", "1.3", "--pack", "demo")
    assert code == 0 and "chat about 1.3" in out and "you> " in out and "you> " not in err


def test_chat_ctrl_c_at_the_prompt_saves_the_trace_and_exits_130(wb, monkeypatch):
    lines = iter(["why is that?"])

    def fake_input(_prompt):
        try:
            return next(lines)
        except StopIteration:
            raise KeyboardInterrupt from None

    monkeypatch.setattr("builtins.input", fake_input)
    code, out, _ = wb.run("chat", "1.1", "--pack", "demo")
    [path] = wb.traces()
    assert code == 130 and f"saved {path}" in out and "why is that?" in path.read_text()


def test_chat_takes_a_pasted_code_block_as_one_message(wb, monkeypatch):
    """Each line of a pasted code block was sent as a message of its own, and its blank line ended the chat."""
    block = "```python\ndef f():\n    return 1\n\nprint(f())\n```"
    monkeypatch.setattr("sys.stdin", io.StringIO(f"why does this fail?\n{block}\n```f()``` is 1\nthanks\n\n"))
    code, _, _ = wb.run("chat", "1.3", "--pack", "demo", "--no-stream")
    sent = [r["body"]["messages"][-1]["content"] for r in wb.server.chat_requests()]
    assert code == 0 and sent[1:] == ["why does this fail?", block, "```f()``` is 1", "thanks"]


def test_chat_sends_an_indented_code_block_left_open_at_the_end_of_input(wb, monkeypatch):
    """A fence indented as in the text it was copied from opens a block too; input ending before the closing fence
    sends what the block holds and saves the trace, as the end of input does elsewhere."""
    monkeypatch.setattr("sys.stdin", io.StringIO("  ```python\nx = 1\n\ny = 2\n"))
    code, _, _ = wb.run("chat", "1.3", "--pack", "demo", "--no-stream")
    sent = [r["body"]["messages"][-1]["content"] for r in wb.server.chat_requests()]
    assert code == 0 and sent[1:] == ["  ```python\nx = 1\n\ny = 2"] and len(wb.traces()) == 1


def test_chat_refuses_a_message_that_is_not_utf8_locally(wb, monkeypatch):
    """A Latin-1 byte typed at the prompt (stdin decodes it as a surrogate) failed the request as a "malformed
    response from" the server, the blame on --base-url."""
    monkeypatch.setattr("sys.stdin", io.StringIO("caf\udce9?\nthanks\n\n"))
    code, _, err = wb.run("chat", "1.3", "--pack", "demo", "--no-stream")
    assert code == 0 and "not UTF-8" in err and "malformed response" not in err
    sent = [r["body"]["messages"][-1]["content"] for r in wb.server.chat_requests()]
    assert len(sent) == 2 and sent[1] == "thanks"


def test_chat_unknown_command_is_not_sent(wb, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("/bogus\n/etc/passwd is a path\n/quit\n"))
    code, _, err = wb.run("chat", "1.3", "--pack", "demo")
    assert code == 0 and "unknown command /bogus" in err and "/retry, /quit, /exit" in err
    sent = [r["body"]["messages"][-1]["content"] for r in wb.server.chat_requests()]
    assert len(sent) == 2 and "/bogus" not in sent and sent[1] == "/etc/passwd is a path"


def test_chat_failure_then_retry(wb, monkeypatch):
    wb.server.script({"status": 400, "message": "flaky"})
    monkeypatch.setattr("sys.stdin", io.StringIO("/retry\n/quit\n"))
    code, out, err = wb.run("chat", "1.3", "--pack", "demo", "--no-stream")
    assert code == 0 and "flaky" in err
    [line] = [line for line in err.splitlines() if line.startswith("error:")]
    assert line.endswith("the strategy's prompt got no answer — /retry sends it again; /quit ends")  # nothing to save yet
    trace = load_trace(wb.traces()[0])
    assert len(trace.data["exchanges"]) == 1 and trace.strategy == "chat:direct"


def test_a_message_typed_while_the_strategy_s_prompt_is_unanswered_says_it_was_not_sent(wb, monkeypatch):
    wb.server.script(*[{"status": 400, "message": "flaky"}] * 2)
    monkeypatch.setattr("sys.stdin", io.StringIO("hi there\n/quit\n"))
    code, _, err = wb.run("chat", "1.3", "--pack", "demo", "--no-stream")
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 3 and len(lines) == 3 and len(wb.server.chat_requests()) == 2, err
    assert lines[1].endswith("flaky; the strategy's prompt got no answer and your message was not sent — /retry sends "
                             "them again, or type it again (edited if need be); /quit ends")


def test_a_failed_chat_message_is_dropped_not_sent_again(wb, monkeypatch):
    """A message whose request fails leaves the conversation; the next one goes on its own, the failed one is shown."""
    wb.server.script({"match": "BOOM", "status": 400, "message": "bad request"})
    monkeypatch.setattr("sys.stdin", io.StringIO("BOOM please\nhello there\n/quit\n"))
    code, out, err = wb.run("chat", "1.3", "--pack", "demo", "--no-stream")
    assert code == 0
    sent = [[m["content"] for m in r["body"]["messages"] if m["role"] == "user"] for r in wb.server.chat_requests()]
    assert len(sent) == 3 and sent[1][-1] == "BOOM please"
    assert sent[2][1:] == ["hello there"]  # after the strategy's prompt, without the failed message
    [line] = [line for line in err.splitlines() if line.startswith("error:")]
    assert "bad request" in line and "left out of the conversation" in line and "type it again" in line
    assert "1 message got no answer and is not in the trace:\n  BOOM please\n" in err  # shown for copying
    trace = load_trace(wb.traces()[0])
    assert "BOOM" not in json.dumps(trace.samples) and trace.samples[0]["messages"][-2]["content"] == "hello there"


def test_chat_retry_sends_the_failed_message_once(wb, monkeypatch):
    wb.server.script({"match": "BOOM", "status": 400, "message": "bad request"})
    monkeypatch.setattr("sys.stdin", io.StringIO("BOOM please\n/retry\nthanks\n/quit\n"))
    code, _, err = wb.run("chat", "1.3", "--pack", "demo", "--no-stream")
    assert code == 0 and "not in the trace" not in err  # the retry answered it
    sent = [[m["content"] for m in r["body"]["messages"] if m["role"] == "user"][1:] for r in wb.server.chat_requests()]
    assert sent == [[], ["BOOM please"], ["BOOM please"], ["BOOM please", "thanks"]]


def test_chat_sends_the_system_prompt_numbers_turns_and_retries_the_answered_question_after_a_failed_one(wb, monkeypatch):
    """/retry after a failed message and then an answered one asks the answered one again: the failure is settled."""
    wb.server.script({"match": "BOOM", "status": 400, "message": "bad request"})
    monkeypatch.setattr("sys.stdin", io.StringIO("BOOM please\nhello there\n/retry\n/quit\n"))
    code, _, err = wb.run("chat", "1.3", "--pack", "demo", "--no-stream")
    assert code == 0, err
    sent = [r["body"]["messages"] for r in wb.server.chat_requests()]
    assert sent[0][0]["role"] == "system" and all(messages[0] == sent[0][0] for messages in sent)
    users = [[m["content"] for m in messages if m["role"] == "user"][1:] for messages in sent]
    assert users == [[], ["BOOM please"], ["hello there"], ["hello there"]]
    trace = load_trace(wb.traces()[0])
    assert [ex["turn"] for ex in trace.data["exchanges"]] == [0, 1, 1]  # the strategy's turn, hello, its retry
    assert trace.samples[0]["messages"][0] == sent[0][0]


def test_a_failed_chat_retry_keeps_the_earlier_answer(wb, monkeypatch):
    lines = iter(["why?", "/retry", "/quit"])

    def fake_input(_prompt):
        line = next(lines)
        if line == "/retry":  # the question was answered; asking it again fails
            wb.server.script({"match": "why?", "status": 500})
        return line

    monkeypatch.setattr("builtins.input", fake_input)
    monkeypatch.setattr("workbench.llm_settings.DEFAULT_MAX_RETRY_SECONDS", 0.0)
    code, _, err = wb.run("chat", "1.3", "--pack", "demo", "--no-stream")
    assert code == 0 and "(500)" in err and "the earlier answer stays" in err and "not in the trace" not in err
    messages = load_trace(wb.traces()[0]).samples[0]["messages"]
    assert [m["role"] for m in messages[-2:]] == ["user", "assistant"] and messages[-2]["content"] == "why?"


def test_a_failed_message_after_a_failed_retry_is_left_out_not_the_earlier_answer_kept(wb, monkeypatch):
    import hashlib

    lines = iter(["why?", "/retry", "other", "/quit"])

    def fake_input(_prompt):
        line = next(lines)
        if line in ("/retry", "other"):  # asking again fails, and so does the next message
            wb.server.script({"status": 400, "message": "flaky"})
        return line

    monkeypatch.setattr("builtins.input", fake_input)
    code, _, err = wb.run("chat", "1.3", "--pack", "demo", "--no-stream")
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 0 and len(errors) == 2 and "the earlier answer stays" in errors[0]
    assert "your message got no answer and is left out of the conversation" in errors[1]
    assert "earlier answer" not in errors[1]
    expected = hashlib.sha256((wb.root / "prompts" / "direct.yaml").read_bytes()).hexdigest()
    assert load_trace(wb.traces()[0]).data["strategy_sha256"] == expected  # as prompt's traces record it


def test_a_full_context_mid_chat_says_to_start_a_new_chat(wb, monkeypatch):
    wb.server.script({"match": "long", "status": 400, "code": "context_length_exceeded",
                      "message": "This model's maximum context length is 8192 tokens."})
    monkeypatch.setattr("sys.stdin", io.StringIO("a long question\nshort one\n/quit\n"))
    code, _, err = wb.run("chat", "1.3", "--pack", "demo", "--no-stream")
    assert code == 0
    [line] = [line for line in err.splitlines() if line.startswith("error:")]
    assert "context window" in line and "start a new chat" in line and "/quit" in line
    assert "shorter strategy" not in line and "--max-tokens" not in line  # not possible mid-chat
    assert wb.server.chat_requests()[-1]["body"]["messages"][-1]["content"] == "short one"
    assert "  a long question" in err


def test_a_strategy_prompt_too_long_for_the_context_says_to_shorten_the_strategy(wb, monkeypatch):
    wb.server.script({"status": 400, "code": "context_length_exceeded",
                      "message": "This model's maximum context length is 8192 tokens."})
    monkeypatch.setattr("sys.stdin", io.StringIO("/quit\n"))
    code, _, err = wb.run("chat", "1.3", "--pack", "demo", "--no-stream")
    [line] = [line for line in err.splitlines() if "context window" in line]
    assert code == 3 and "the strategy's prompt got no answer" in line and "use a shorter strategy" in line
    assert "start a new chat" not in line and line.endswith("; /quit ends")


def test_chat_with_nothing_answered_saves_nothing(wb, monkeypatch):
    wb.server.script({"status": 401})
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    code, _, err = wb.run("chat", "1.3", "--pack", "demo")
    assert code == 3 and "no trace was saved" in err and wb.traces() == []


@pytest.mark.parametrize("argv,message", [
    (["show", "--json"], "the following arguments are required: id"),
    (["list", "--json", "--bogus"], "unrecognized arguments: --bogus"),
])
def test_bad_arguments_with_json_are_a_json_document_too(wb, argv, message):
    with pytest.raises(SystemExit) as exit_:
        wb.run(*argv)
    out, err = wb.capsys.readouterr()
    assert exit_.value.code == 2 and message in err  # argparse's usage and message, as ever
    data = json.loads(out)
    assert data["exit_code"] == 2 and message in data["error"] and "--help" in data["fix"]


@pytest.mark.parametrize("argv", [
    ["check", "3.1", ""], ["import-chat", " ", "--problem", "3.1"], ["pin", ""], ["study", "--plot", ""],
    ["build-writeup", "--out", ""], ["train", "unet", "--data", ""], ["train", "unet", "--palette", ""],
    ["train", "unet", "--out", ""], ["sweep", "seed", "0", "--out", ""],
])
def test_an_empty_path_is_refused_not_read_as_the_current_folder(wb, argv):
    """An unset shell variable (`--out "$OUT"`) was Path("") = ".": `pin ""` pinned the current folder, `train --data ""`
    searched it for CIFAR-10, `build-writeup --out ""` silently wrote to build/. One line naming the flag, as any
    bad path (tests/test_paths.py)."""
    code, out, err = wb.run(*argv, "--json")
    assert code == 2 and "an empty path" in err and err.count("\n") == 1 and err.startswith("error: ")
    assert any(f"{flag}: an empty path" in err for flag in ("--out", "--plot", "--data", "--palette", "FILE", "RUN"))
    assert "an empty path" in json.loads(out)["error"]


def test_no_command_prints_the_help_and_exits_2(wb):
    code, out, err = wb.run()
    assert code == 2 and "usage: cli.py" in err and "Exit codes:" in err  # bad input, not success
    assert out == ""  # `cli.py $CMD > out.txt` with an empty $CMD: the help on the screen, not in the file


def test_a_fifo_named_like_a_trace_is_unreadable_not_a_hang(wb):
    import os

    assert wb.run("prompt", "1.1", "--pack", "demo")[0] == 0
    os.mkfifo(wb.root / "traces" / "1.1" / "pipe.json")  # reading it would block until a writer came
    code, out, _ = wb.run("traces", "1.1", "--json")
    rows = json.loads(out)
    assert code == 0 and [r.get("unreadable") for r in rows] == [None, "not a regular file"]
    code, out, _ = wb.run("traces", "verify")
    assert code == 1 and "pipe.json" in out


def test_strings_from_a_trace_are_shown_literally_not_as_styling(wb, tmp_path):
    path = tmp_path / "chat.md"
    path.write_text("## User\n\nHow?\n\n## ChatGPT\n\nLike this.\n")
    name = "[red]gpt[/red] [bold]x"
    code, out, _ = wb.run("import-chat", str(path), "--problem", "1.3", "--pack", "demo", "--model", name)
    assert code == 0 and f"model {name}" in out
    code, out, _ = wb.run("traces", "1.3", "--pack", "demo")
    assert code == 0 and "[red]gpt[/red]" in out.replace("\n", "")
    code, out, _ = wb.run("traces", "show", wb.traces()[0].name)
    assert code == 0 and f"model {name}" in out and f"{name} via" in out


def test_a_bracket_in_a_model_name_or_a_file_name_is_listed_not_taken_for_styling(wb, tmp_path):
    """`traces` printed each citation (and each unreadable file's name) under its table as rich markup: a model
    named `evil[/]model` (an export's or a server's string) ended the listing in a MarkupError traceback."""
    path = tmp_path / "chat.md"
    path.write_text("## User\n\nHow?\n\n## ChatGPT\n\nLike this.\n")
    assert wb.run("import-chat", str(path), "--problem", "1.3", "--pack", "demo", "--model", "evil[/]model")[0] == 0
    (wb.root / "traces" / "1.3" / "odd[bold]name.json").write_text("not json")
    code, out, _ = wb.run("traces", "1.3")
    assert code == 0 and "evil[/]model via" in out and "odd[bold]name.json:" in out, out
    code, out, _ = wb.run("traces", "verify")
    assert code == 1 and "odd[bold]name.json:" in out, out


def test_a_bracket_in_the_server_s_model_name_is_shown_not_taken_for_styling(wb):
    """prompt titled each answer's panel with the model version the server reported, read as rich markup: a server
    naming its model `evil[/]model` ended prompt in a MarkupError traceback after the trace was saved."""
    wb.server.script({"fields": {"model": "evil[/]model"}})
    code, out, _ = wb.run("prompt", "1.3", "--pack", "demo")
    assert code == 0 and "1.3 · evil[/]model" in out and len(wb.traces()) == 1, out


def test_escape_sequences_in_a_reply_never_reach_the_terminal_raw(wb, tmp_path, monkeypatch):
    """A reply held ESC sequences (clear screen, an OSC 8 link to a local file, an OSC 52 clipboard write), an 8-bit
    CSI and BiDi overrides: `traces show` (rendered and --raw), `prompt` and `chat` printed them to the terminal as
    they were. The terminal gets the text without them; the trace keeps every byte."""
    hostile = ("clear\x1b[2J link\x1b]8;;file:///etc/passwd\x1b\\here\x1b]8;;\x1b\\ clip\x1b]52;c;aGk=\x07 "
               "csi\x9b31m bidi\u202eevil\u202c\u2066x\u2069 end")
    path = tmp_path / "chat.md"
    path.write_text(f"## User\n\nHow?\n\n## ChatGPT\n\n{hostile}\n")
    assert wb.run("import-chat", str(path), "--problem", "1.3", "--pack", "demo", "--model", "gpt\x1b[2J")[0] == 0
    assert load_trace(wb.traces()[0]).answers() == [hostile]
    wb.server.reply = lambda body, i: hostile
    monkeypatch.setattr("sys.stdin", io.StringIO("and then?\n\n"))
    name = wb.traces()[0].name
    for argv, shown in ((("traces", "show", name), "clear[2J"), (("traces", "show", name, "--raw"), "bidievil"),
                        (("traces", "1.3"), "gpt[2J"), (("prompt", "1.3", "--pack", "demo"), "csi31m"),
                        (("chat", "1.3", "--pack", "demo"), "clip]52;c;aGk=")):
        code, out, err = wb.run(*argv)
        assert code == 0 and shown in out, argv
        for bad in ("\x1b", "\x9b", "\x07", "\u202e", "\u2066"):
            assert bad not in out + err, (argv, bad)


def test_a_reply_or_export_holding_a_lone_surrogate_is_saved_with_a_replacement_character(wb, tmp_path, monkeypatch):
    """A server's reply or a chat export with a \\ud800 escape (valid JSON, no Unicode text) crashed `prompt` (streamed
    or not), `chat` and `import-chat` with a UnicodeEncodeError traceback, and the paid-for answer was lost."""
    wb.server.reply = lambda body, i: "lone \ud800 surrogate"
    monkeypatch.setattr("sys.stdin", io.StringIO("and then?\n\n"))
    export = tmp_path / "conversations.json"
    conv = json.loads(json.dumps(EXPORT[1]))
    conv["mapping"]["m2"]["message"]["content"]["parts"] = ["lone \ud800 surrogate"]
    export.write_text(json.dumps([conv]))
    for argv in (("prompt", "1.3", "--pack", "demo", "--stream"), ("prompt", "1.3", "--pack", "demo"),
                 ("chat", "1.3", "--pack", "demo"), ("import-chat", str(export), "--problem", "1.3", "--pack", "demo")):
        code, out, err = wb.run(*argv)
        assert code == 0 and "saved" in out and "\ud800" not in out + err, argv
    assert [load_trace(t).answers()[0] for t in wb.traces()] == ["lone \ufffd surrogate"] * 4
    assert wb.run("traces", "verify")[0] == 0
    from workbench.console import _Console  # the tests' capture writes "?"; a terminal or pipe is strict UTF-8

    stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)
    _Console(file=stdout).print("streamed \ud800 delta", end="", markup=False)  # as `chat` and `prompt --stream` do
    assert stdout.buffer.getvalue() == b"streamed  delta"


def test_chat_says_when_a_reply_was_cut_off(wb, monkeypatch):
    wb.server.script({"finish_reason": "length"})
    monkeypatch.setattr("sys.stdin", io.StringIO("and then?\n\n"))
    code, _, err = wb.run("chat", "1.3", "--pack", "demo", "--no-stream")
    assert code == 0 and err.count("this reply was cut off at the token limit") == 1  # the first reply only



@pytest.mark.parametrize("reason, advice", [("model_length", "start a shorter conversation"),
                                            ("content_filter", "/retry asks again")])
def test_chat_says_when_a_reply_stopped_short_for_another_reason(wb, monkeypatch, reason, advice):
    # chat cautioned only on "length"; a reply stopped by the context window or the content filter passed as whole
    wb.server.script({"finish_reason": reason})
    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))
    code, _, err = wb.run("chat", "1.3", "--pack", "demo", "--no-stream")
    assert code == 0 and f"(finish_reason {reason}), so it may be incomplete: " in err and advice in err
    assert "--max-tokens" not in err

def test_chat_says_when_a_reply_is_empty(wb, monkeypatch):
    """A reasoning model that sent only its thinking showed a blank reply and nothing else, where `prompt` cautions."""
    wb.server.script({"match": "and then", "content_parts": [{"type": "thinking", "thinking": "Hmm, maybe."}]})
    monkeypatch.setattr("sys.stdin", io.StringIO("and then?\n\n"))
    code, _, err = wb.run("chat", "1.3", "--pack", "demo")
    assert code == 0 and err.count("this reply is empty") == 1 and "reasoning" in err and "/retry" in err


def _show_imported_answer(wb, tmp_path, answer: str) -> tuple[int, str]:
    """Import a one-turn chat whose reply is `answer`; `traces show` it: (exit code, its text on one line)."""
    path = tmp_path / "chat.md"
    path.write_text(f"## User\n\nHow?\n\n## ChatGPT\n\n{answer}\n")
    assert wb.run("import-chat", str(path), "--problem", "1.3", "--pack", "demo", "--model", "gpt-4o")[0] == 0
    code, out, _ = wb.run("traces", "show", wb.traces()[0].name)
    return code, " ".join(out.replace("│", " ").split())


def test_html_in_an_answer_is_shown_as_written_not_dropped(wb, tmp_path):
    answer = ("Use `x` with List<int> here and a <b>bold</b> tag.\n\n<details>\nthe hidden part\n</details>\n\n"
              "<script>alert(1)</script> then more text")
    code, flat = _show_imported_answer(wb, tmp_path, answer)
    assert code == 0 and "List<int>" in flat and "<b>bold</b>" in flat
    assert "<details>" in flat and "the hidden part" in flat and "<script>alert(1)</script> then more text" in flat
    wb.server.reply = lambda body, i: answer
    code, out, _ = wb.run("prompt", "1.3", "--pack", "demo", "--base-url", wb.server.url, "--model", "fake-gpt")
    flat = " ".join(out.replace("│", " ").split())
    assert code == 0 and "List<int>" in flat and "the hidden part" in flat and "then more text" in flat


def test_traces_show_raw_prints_the_messages_as_written(wb, tmp_path):
    """Rendered as Markdown, "32*32*32 = 32768" shows as 323232 (the stars become emphasis); --raw keeps them."""
    path = tmp_path / "chat.md"
    path.write_text("## User\n\nHow many?\n\n## ChatGPT\n\nThere are 32*32*32 = 32768 of them, **bold** too.\n")
    assert wb.run("import-chat", str(path), "--problem", "1.3", "--pack", "demo", "--model", "gpt-4o")[0] == 0
    code, out, _ = wb.run("traces", "show", wb.traces()[0].name)
    assert code == 0 and "32*32*32" not in out  # Markdown: the stars are styling
    code, out, _ = wb.run("traces", "show", wb.traces()[0].name, "--raw")
    assert code == 0 and "32*32*32 = 32768" in out and "**bold**" in out
    code, _, err = wb.run("traces", "--raw")
    assert code == 2 and "--raw is for `traces show`" in err


def _trace(model="fake-gpt", started="2026-01-15T10:00:00.100000Z", **extra):
    """A minimal API trace dict, as runner.build_trace makes them."""
    return {"schema": "workbench.trace/1", "problem": "1.1", "pack": "demo", "strategy": "direct", "source": "api",
            "provider": {"base_url": "http://127.0.0.1:8000/v1"}, "request": {"model": model, "n": 1},
            "exchanges": [{"sample": 0, "turn": 0, "model": f"{model}-2026-01-15", "choices": []}],
            "samples": [{"index": 0, "messages": [{"role": "user", "content": "q"},
                                                  {"role": "assistant", "content": f"asked at {started}"}]}],
            "started_at": started, "finished_at": started, **extra}


def test_trace_citations_and_counts_where_the_trace_says_little(tmp_path):
    from pathlib import Path

    from workbench.traces import Trace, _slug

    assert (_slug("..gpt/4o.."), _slug("x" * 60), _slug("///")) == ("gpt-4o", "x" * 48, "model")
    bare = Trace(Path("x.json"), {"problem": "1.1", "hash": "ab" * 32, "samples": [{}, {}]})
    assert bare.citation() == "unknown model via unknown provider, accessed unknown date (UTC); trace abababababab"
    assert bare.samples_requested == 2  # no request.n: the samples there are
    imported = Trace(Path("x.json"), {
        "problem": "1.1", "hash": "cd" * 32, "source": "import", "started_at": "2026-02-01T08:00:00Z",
        "request": {"model": "gpt-4o"},
        "import": {"url": "https://chatgpt.com/c/1", "origin": "ChatGPT", "created_at": "2026-01-31T23:59:59Z"}})
    assert imported.citation() == ("gpt-4o via https://chatgpt.com/c/1; conversation of 2026-01-31, imported "
                                   "2026-02-01 (UTC) from the user's own chat export; trace cdcdcdcdcdcd")


def test_trace_lookups_pins_and_verify_at_their_edges(tmp_path):
    from workbench.errors import TraceError, UsageError
    from workbench.traces import find_trace, load_trace, pinned_among, scan_traces, verify_traces, write_trace

    root = tmp_path / "traces"
    path = write_trace(_trace(), root)
    digest = path.stem[-12:]
    assert any(c.isalpha() for c in digest)
    assert find_trace(digest.upper(), root).path == path  # a hash prefix in capitals
    with pytest.raises(UsageError, match="too few digits") as short:
        find_trace(digest[:3], root)  # too short to name a trace: said so, not "no trace matches" (one does)
    assert "at least 4" in short.value.fix
    [trace] = scan_traces(root=root)[0]
    assert pinned_among([trace], path.stem) == pinned_among([trace], trace.hash[:6]) == [trace]
    assert pinned_among([trace], trace.hash[:5]) == []
    # a solution's `trace:` pin in capitals names it too, as `traces show` takes it: the PDF said it was not there
    assert pinned_among([trace], trace.hash[:8].upper()) == [trace]
    (root / "1.1" / ".tmp-half.json").write_text("{")  # write_trace's temp file is no trace
    (root / "1.2").mkdir()
    (root / "1.2" / "a.json").write_text("{")
    edited = json.loads(path.read_text())
    edited["strategy"] = "hinted"
    path.write_text(json.dumps(edited))
    count, bad = verify_traces(root)
    assert count == 2 and [(p.parent.name, p.name) for p, _ in bad] == [("1.1", path.name), ("1.2", "a.json")]
    lone = root / "1.1" / "lone.json"
    lone.write_text(path.read_text().replace('"hinted"', '"\\udc80"'))
    with pytest.raises(TraceError, match="lone surrogate"):
        load_trace(lone)


def test_trace_times_are_utc_and_lone_surrogates_in_keys_are_replaced(tmp_path, monkeypatch):
    import time
    from datetime import datetime, timezone

    from workbench.traces import utc_now, write_trace

    monkeypatch.setenv("TZ", "America/New_York")  # 4 or 5 hours behind UTC, all year
    time.tzset()
    try:
        stamp = datetime.strptime(utc_now(), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert abs((datetime.now(timezone.utc) - stamp).total_seconds()) < 60
    data = _trace()
    data["exchanges"][0]["usage"] = {"odd\ud800key": 1}
    path = write_trace(data, tmp_path / "traces")
    assert load_trace(path).data["exchanges"][0]["usage"] == {"odd\ufffdkey": 1} and load_trace(path).intact


def test_write_trace_refuses_what_is_no_trace(tmp_path):
    from workbench.errors import TraceError
    from workbench.traces import write_trace

    root = tmp_path / "traces"
    for bad, message in [(dict(schema="workbench.trace/0"), "trace schema must be"),
                         (dict(source="api-ish"), "unknown trace source 'api-ish'"),
                         (dict(samples=[]), "at least one completed sample")]:
        with pytest.raises(TraceError, match=message):
            write_trace(_trace(**bad), root)
    assert not list(root.rglob("*.json"))


def test_traces_of_the_same_second_are_ordered_by_time_not_name(tmp_path):
    """File names hold the time to the second: two traces of one second sort by model name there. The newest
    (what the writeup shows) is the later started_at, here the one whose name sorts first."""
    from workbench.evidence import pick_trace
    from workbench.traces import scan_traces, write_trace

    root = tmp_path / "traces"
    older = write_trace(_trace(model="zz-model", started="2026-01-15T10:00:00.100000Z"), root)
    newer = write_trace(_trace(model="aa-model", started="2026-01-15T10:00:00.900000Z"), root)
    assert newer.name < older.name
    traces, bad = scan_traces("1.1", root)
    assert [t.path for t in traces] == [older, newer] and bad == []
    assert pick_trace("1.1", None, root).trace.path == newer


def test_pick_trace_takes_the_newest_intact_one_names_newer_edited_ones_and_says_why_none_is_shown(tmp_path):
    import json

    from workbench.evidence import pick_trace
    from workbench.traces import write_trace

    def edit(path):
        data = json.loads(path.read_text())
        data["samples"][0]["messages"][1]["content"] = "edited"
        path.write_text(json.dumps(data))

    root = tmp_path / "traces"
    a, b, c = (write_trace(_trace(started=f"2026-01-15T10:00:0{k}.000000Z"), root) for k in (1, 2, 3))
    edit(c)
    pick = pick_trace("1.1", None, root)
    assert (pick.trace.path, pick.passed_over, pick.issue, pick.usable) == (b, (c.name,), "", True)
    assert pick_trace("1.1", a.name, root).trace.path == a  # a pin wins over the newest
    pinned = pick_trace("1.1", c.name, root)  # an edited trace pinned: shown, but no usable evidence
    assert (pinned.trace.path, pinned.issue, pinned.usable) == (c, "edited", False) and c.name in pinned.detail
    edit(a), edit(b)  # none intact: the newest edited one, said to be edited
    pick = pick_trace("1.1", None, root)
    assert (pick.trace.path, pick.issue, pick.usable, pick.passed_over) == (c, "edited", False, ())
    assert pick_trace("2.2", None, root).issue == "none"
    (root / "2.2").mkdir()
    (root / "2.2" / "bad.json").write_bytes(b"\xff\xfe")
    assert pick_trace("2.2", None, root).issue == "unreadable"
    gone = pick_trace("2.2", "deadbeef", root)
    assert gone.issue == "pin-not-found" and "unreadable there: " in gone.detail and "bad.json" in gone.detail


def test_citations_name_model_version_url_start_date_and_hash():
    from pathlib import Path

    from workbench.traces import Trace

    api = _trace(started="2026-01-15T23:59:59.900000Z", hash="abcdef1234567890")
    api["finished_at"] = "2026-01-16T00:00:03.000000Z"  # asked before midnight: the access date is the 15th
    assert Trace(Path("t.json"), api).citation() == \
        "fake-gpt-2026-01-15 via http://127.0.0.1:8000/v1, accessed 2026-01-15 (UTC); trace abcdef123456"
    imported = dict(api, source="import", provider={"base_url": "https://chatgpt.com"},
                    exchanges=[{"sample": 0, "turn": 0, "model": "gpt-4o"}],
                    **{"import": {"origin": "ChatGPT (https://chatgpt.com)", "created_at": "2023-11-14T22:13:20Z"}})
    assert Trace(Path("t.json"), imported).citation() == (
        "gpt-4o via ChatGPT (https://chatgpt.com); conversation of 2023-11-14, imported 2026-01-15 (UTC) "
        "from the user's own chat export; trace abcdef123456")


def test_reasonings_match_each_reply_to_its_own_call():
    from pathlib import Path

    from workbench.traces import Trace

    def choice(content, reasoning=None):
        return {"index": 0, "content": content, "finish_reason": "stop", **({"reasoning": reasoning} if reasoning else {})}

    def sample(i, *replies):
        return {"index": i, "messages": [m for r in replies for m in ({"role": "user", "content": "q"},
                                                                    {"role": "assistant", "content": r})]}

    shared = _trace(exchanges=[{"sample": None, "turn": 0, "choices": [choice("A0", "R0"), dict(choice("A1", "R1"), index=1)]}],
                    samples=[sample(0, "A0"), sample(1, "A1")])
    assert Trace(Path("t.json"), shared).reasonings() == [["R0"], ["R1"]]  # n > 1: choice i is sample i's
    chat = _trace(exchanges=[{"sample": 0, "turn": 0, "choices": [choice("OK.", "T0")]},
                             {"sample": 0, "turn": 1, "choices": [choice("OK.")]},  # the same words, thought-free
                             {"sample": 0, "turn": 2, "choices": [choice("It is 8.", "OLD")]},
                             {"sample": 0, "turn": 2, "choices": [choice("It is 8.", "NEW")]},  # /retry, same answer
                             {"sample": 0, "turn": 3, "choices": [choice("Kept.", "KEPT")]},
                             {"sample": 0, "turn": 3, "choices": [choice("Not in the chat.", "OTHER")]}],
                  samples=[sample(0, "OK.", "OK.", "It is 8.", "Kept.")])
    assert Trace(Path("t.json"), chat).reasonings() == [["T0", "", "NEW", "KEPT"]]


def test_trace_references_by_hash_prefix(wb):
    assert wb.run("prompt", "1.1", "--pack", "demo")[0] == 0
    [path] = wb.traces()
    digest = load_trace(path).hash
    code, out, _ = wb.run("traces", "show", digest[:12].upper())  # as a hash may be copied from elsewhere
    assert code == 0 and path.name in out.replace("\n", "")
    code, _, err = wb.run("traces", "show", digest[:3])  # too few digits to name a trace, though one begins so
    assert code == 2 and "no trace matches" not in err and "at least 4 digits" in err and err.count("\n") == 1
    copy = wb.root / "traces" / "1.3" / path.name
    copy.parent.mkdir()
    copy.write_bytes(path.read_bytes())
    code, _, err = wb.run("traces", "show", digest[:8])
    assert code == 2 and "matches 2 traces" in err and "more digits" in err


def test_a_solution_pin_names_a_trace_by_file_name_or_six_hash_digits(wb):
    from workbench.traces import pinned_among, scan_traces

    assert wb.run("prompt", "1.1", "--pack", "demo")[0] == 0
    assert wb.run("prompt", "1.1", "--pack", "demo")[0] == 0
    traces, _ = scan_traces("1.1")
    first = traces[0]
    assert pinned_among(traces, first.path.name) == [first] and pinned_among(traces, first.path.stem) == [first]
    assert pinned_among(traces, first.hash[:6]) == [first]
    assert pinned_among(traces, first.hash[:5]) == []  # too short to be a pin


def test_cite_takes_a_problem_id_of_digits_alone(wb):
    """A pack may number its problems 1, 2, ...: `traces cite 7` is that problem's traces, not a hash prefix."""
    from workbench.traces import write_trace

    path = write_trace(_trace(problem="7"), wb.root / "traces")
    code, out, _ = wb.run("traces", "cite", "7")
    assert code == 0 and out == load_trace(path).citation() + "\n"


def test_cite_gives_only_the_traces_of_the_pack_s_own_problem(wb):
    """traces/3.1/ is shared by every pack: `traces cite 3.1` (pack a2) cited demo's 3.1 trace as evidence for a2's
    3.1, the question a2's writeup names "Convolutional Filters"."""
    from workbench.traces import write_trace

    demo = write_trace(_trace(problem="3.1"), wb.root / "traces")
    code, _, err = wb.run("traces", "cite", "3.1")
    assert code == 1 and err == ("error: no traces for problem 3.1 of pack 'a2': traces/3.1/ holds only traces of pack "
                                 "'demo' — cite those with --pack demo, or run `python cli.py prompt 3.1` first\n")
    code, out, _ = wb.run("traces", "cite", "3.1", "--pack", "demo")
    assert code == 0 and out == load_trace(demo).citation() + "\n"
    a2 = write_trace(_trace(problem="3.1", pack="a2", started="2026-01-16T10:00:00.100000Z"), wb.root / "traces")
    code, out, _ = wb.run("traces", "cite", "3.1")
    assert code == 0 and out == load_trace(a2).citation() + "\n"


def test_traces_list_shows_only_the_traces_of_the_pack_asked_for(wb):
    """`traces --pack demo` listed every pack's traces, a2's 3.1 beside demo's, and `--pack nopack` listed them all
    too, exit 0: the flag was read for nothing but an id's check. Without --pack every pack's traces are listed."""
    from pathlib import Path

    from workbench.traces import write_trace

    demo = write_trace(_trace(problem="3.1"), wb.root / "traces")
    a2 = write_trace(_trace(problem="3.1", pack="a2", started="2026-01-16T10:00:00.100000Z"), wb.root / "traces")
    unnamed = _trace(problem="1.1")
    del unnamed["pack"]  # written before traces named their pack: any pack's
    old = write_trace(unnamed, wb.root / "traces")
    listed = {argv: {Path(t["file"]) for t in json.loads(wb.run("traces", *argv, "--json")[1])}
              for argv in [(), ("--pack", "demo"), ("--pack", "a2"), ("3.1", "--pack", "demo"), ("3.1",)]}
    assert listed == {(): {demo, a2, old}, ("--pack", "demo"): {demo, old}, ("--pack", "a2"): {a2},
                      ("3.1", "--pack", "demo"): {demo}, ("3.1",): {demo, a2}}
    code, out, _ = wb.run("traces", "--pack", "demo")
    assert code == 0 and demo.name[-17:-5] in out and a2.name[-17:-5] not in out and "2 trace(s)" in out
    code, _, err = wb.run("traces", "--pack", "nopack")
    assert code == 2 and "nopack" in err and err.count("\n") == 1
    code, _, err = wb.run("traces", "1.1", "--pack", "a2")  # traces/1.1 holds a trace, and a2 has no 1.1
    assert code == 2 and "no problem '1.1' in pack 'a2'" in err


def test_cite_of_a_problem_id_too_long_for_the_file_system_finds_no_trace(wb):
    """`traces cite` with a 300-digit id crashed with an OSError (File name too long) traceback."""
    code, _, err = wb.run("traces", "cite", "1" * 300)
    assert code == 2 and "no trace matches" in err and err.count("\n") == 1


def test_show_of_a_trace_path_too_long_for_the_file_system_is_one_line(wb):
    """`traces show traces/<300 characters>.json` crashed with an OSError (File name too long) traceback."""
    code, _, err = wb.run("traces", "show", "traces/" + "a" * 300 + ".json")
    assert code == 2 and "no trace file" in err and err.count("\n") == 1


def test_a_trace_of_another_pack_is_not_picked_for_the_same_problem_id(wb):
    """traces/<id>/ is shared by every pack: a trace the demo pack's 3.1 made was judged (and shown) as a2's 3.1."""
    from workbench.evidence import pick_trace

    assert wb.run("prompt", "3.1", "--pack", "demo")[0] == 0
    (mine,) = wb.traces()
    assert pick_trace("3.1", None, pack="demo").trace.path == mine
    assert pick_trace("3.1", None, pack="a2").issue == "none"
    pinned = pick_trace("3.1", mine.name, pack="a2")
    assert pinned.issue == "pin-not-found" and "a trace of pack 'demo', not 'a2'" in pinned.detail
    code, out, _ = wb.run("verify", "--problem", "3.1", "--json")
    (report,) = json.loads(out)["reports"]
    assert not report["present"]["trace"] and [v["subject"] for v in report["verdicts"]] == ["own"]
    # nor shown in a2's writeup, nor kept from demo's own
    from workbench.evidence import collect
    from workbench.problems import load_pack

    assert [e.pick.trace for e in collect(load_pack("a2")) if e.problem.id == "3.1"] == [None]
    assert [e.pick.trace.path for e in collect(load_pack("demo")) if e.problem.id == "3.1"] == [mine]


def test_a_trace_that_records_no_pack_is_still_picked(wb):
    """Only a trace that records another pack is left out; one that records none belongs to no other pack."""
    from workbench.evidence import pick_trace
    from workbench.traces import write_trace

    data = _trace(problem="7")
    del data["pack"]
    path = write_trace(data, wb.root / "traces")
    assert pick_trace("7", None, wb.root / "traces", pack="demo").trace.path == path


def test_traces_show_takes_an_exchange_whose_turn_is_null(wb):
    """An exchange's turn may be null (as its sample may): `traces show` crashed on it with a TypeError traceback."""
    from workbench.traces import write_trace

    data = _trace(problem="1.1")
    data["exchanges"][0]["turn"] = None
    path = write_trace(data, wb.root / "traces")
    code, out, err = wb.run("traces", "show", path.name)
    assert code == 0 and "exchanges" in out and not err


def test_every_field_of_a_written_trace_is_under_its_hash_and_named_in_its_file_name(tmp_path):
    """An edit to any field (the errors of failed samples, request.n, ...) must show as an edited trace; the file is
    <start to the second>-<model version>-<first 12 hex digits of the SHA-256 of the rest>.json."""
    from workbench.traces import write_trace

    path = write_trace(_trace(request={"model": "fake-gpt", "n": 3}, errors=["sample 2: timed out"]), tmp_path / "traces")
    data = json.loads(path.read_text())
    body = {k: v for k, v in data.items() if k != "hash"}
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    assert data["errors"] == ["sample 2: timed out"] and data["request"]["n"] == 3
    assert data["hash"] == digest and path.name == f"20260115T100000Z-fake-gpt-2026-01-15-{digest[:12]}.json"
    for key in set(body) - {"schema"}:  # another schema is no trace at all
        value = data[key]
        changed = value + "!" if isinstance(value, str) else value + value[:1] if isinstance(value, list) else {**value, "x": "y"}
        path.write_text(json.dumps(dict(data, **{key: changed})))
        assert load_trace(path).fault == "content edited: the hash no longer matches", key


def test_listing_shows_failed_samples_manual_traces_and_the_requested_model_where_the_server_named_none(wb):
    """A trace of 3 requested samples with 1 saved lists 1/3; a manual trace (written by hand or another tool) lists
    its source, `manual`, and is no imported chat (not IMPORTED); a trace whose exchanges name no model version is
    cited by the model it asked for."""
    from workbench.traces import write_trace

    write_trace(_trace(request={"model": "fake-gpt", "n": 3}, errors=["sample 1: 500", "sample 2: 500"]),
                wb.root / "traces")
    manual = write_trace(_trace(model="hand-model", source="manual", started="2026-01-16T10:00:00.100000Z",
                                exchanges=[{"sample": 0, "turn": 0, "model": None, "choices": []}]), wb.root / "traces")
    code, out, _ = wb.run("traces", "1.1")
    rows = [line for line in out.splitlines() if line.startswith("│")]
    assert code == 0 and len(rows) == 2 and "1/3" in rows[0] and "api" in rows[0] and "manual" in rows[1]
    assert "IMPORTED" not in out
    code, out, _ = wb.run("traces", "show", load_trace(manual).short_hash)
    assert code == 0 and "1 sample(s)" in out and "requested" not in out
    assert load_trace(manual).citation().startswith("hand-model via http://127.0.0.1:8000/v1, accessed 2026-01-16")


def test_writing_a_trace_again_never_replaces_the_saved_one(tmp_path):
    from workbench.errors import TraceError
    from workbench.traces import write_trace

    path = write_trace(_trace(), tmp_path / "traces")
    saved = path.read_bytes()
    with pytest.raises(TraceError, match="already exists.*never overwritten"):
        write_trace(_trace(), tmp_path / "traces")
    assert path.read_bytes() == saved and [p.name for p in path.parent.iterdir()] == [path.name]


def test_a_citation_stays_one_line_whatever_the_server_named_its_model():
    from pathlib import Path

    from workbench.traces import Trace

    data = _trace(hash="abcdef1234567890", exchanges=[{"sample": 0, "turn": 0, "model": "gpt\nFAKE: trace 000000000000"}])
    assert Trace(Path("t.json"), data).citation() == ("gpt FAKE: trace 000000000000 via http://127.0.0.1:8000/v1, "
                                                      "accessed 2026-01-15 (UTC); trace abcdef123456")


@pytest.mark.parametrize("change, reason", [
    (dict(schema="workbench.trace/2"), "not a workbench.trace/1 trace"),
    (dict(problem=1.1), "not a workbench.trace/1 trace"),
    (dict(samples=[{"index": None, "messages": []}]), "a sample lacks an index"),
    (dict(hash=5), "hash is not text"),
])
def test_a_trace_of_another_schema_problem_type_or_unnumbered_sample_is_unreadable(tmp_path, change, reason):
    from workbench.traces import verify_traces, write_trace

    path = write_trace(_trace(), tmp_path / "traces")
    path.write_text(json.dumps(dict(json.loads(path.read_text()), **change)))
    count, bad = verify_traces(tmp_path / "traces")
    assert count == 1 and len(bad) == 1 and bad[0][0] == path and reason in bad[0][1]


@pytest.mark.parametrize("text", [
    "# Student\nWhat is $x_1$?\n\n# AI\nIt is 2.\n",  # any heading level, and the other names a speaker goes by
    "## User:\nWhat is $x_1$?\n\n## Assistant:\nIt is 2.\n",  # a colon after the heading's name
    "**Me**: What is $x_1$?\n**Bot**: It is 2.\n",  # the colon after the bold label
    "You said:\nWhat is $x_1$?\nChatGPT\tsaid:\nIt is 2.\n",  # a tab in a pasted speaker line
])
def test_a_transcript_s_speaker_lines_in_their_other_forms(wb, tmp_path, text):
    path = tmp_path / "chat.md"
    path.write_text(text)
    code, _, err = wb.run("import-chat", str(path), "--problem", "1.3", "--pack", "demo", "--model", "gpt-4o")
    assert code == 0, err
    assert load_trace(wb.traces()[0]).samples[0]["messages"] == [
        {"role": "user", "content": "What is $x_1$?"}, {"role": "assistant", "content": "It is 2."}]


def test_a_transcript_s_title_is_its_first_level_one_heading_before_the_first_message(wb, tmp_path):
    path = tmp_path / "chat.md"
    path.write_text("## Notes from class\n\n# RMSProp chat\n\n# Another heading\n\n## User\nq\n\n# Not a title\n\n"
                    "## Assistant\na\n")
    assert wb.run("import-chat", str(path), "--problem", "1.3", "--pack", "demo", "--model", "gpt-4o")[0] == 0
    trace = load_trace(wb.traces()[0])
    assert trace.data["import"]["title"] == "RMSProp chat"
    assert trace.samples[0]["messages"] == [{"role": "user", "content": "q\n\n# Not a title"},
                                            {"role": "assistant", "content": "a"}]


def test_a_transcript_that_switched_models_cites_each_reply_s_model_in_order_of_use(wb, tmp_path):
    """`## o3` then `## GPT-4o`: every reply was cited as GPT-4o (the first name in ABC order) and the request named it,
    as an export's models once were; each reply now keeps its own, and --model still names them all."""
    path = tmp_path / "chat.md"
    path.write_text("## User\nq\n\n## o3\na\n\n## User\nq2\n\n## GPT-4o\nb\n")
    assert wb.run("import-chat", str(path), "--problem", "1.3", "--pack", "demo")[0] == 0
    trace = load_trace(wb.traces()[0])
    assert [e["model"] for e in trace.data["exchanges"]] == ["o3", "GPT-4o"] and trace.model_version == "o3, GPT-4o"
    assert trace.data["request"]["model"] == "o3" and trace.data["import"]["model_slugs"] == ["o3", "GPT-4o"]
    assert wb.run("import-chat", str(path), "--problem", "1.2", "--pack", "demo", "--model", "o3-2025-04-16")[0] == 0
    [trace] = [t for t in map(load_trace, wb.traces()) if t.problem == "1.2"]
    assert [e["model"] for e in trace.data["exchanges"]] == ["o3-2025-04-16"] * 2


def test_a_reply_split_around_a_tool_call_keeps_the_shown_thinking_of_every_part(wb, tmp_path):
    """Two `thoughts` nodes before a reply, and one before its part after a tool call, are all that reply's reasoning,
    in order; a blank summary or content adds no line."""
    conv = _chain(("user", "q"),
                  ("assistant", {"content_type": "thoughts", "thoughts": [{"summary": "Setting up", "content": " "},
                                                                                {"summary": "Planning"}]}),
                  ("assistant", {"content_type": "thoughts", "thoughts": [{"summary": "Second look"}]}),
                  ("assistant", "part one", {"model_slug": "o3"}), ("tool", "tool output"),
                  ("assistant", {"content_type": "thoughts", "thoughts": [{"content": "Checking"}]}),
                  ("assistant", "part two", {"model_slug": "o3"}))
    assert _import(wb, tmp_path, [conv])[0] == 0
    [exchange] = load_trace(wb.traces()[0]).data["exchanges"]
    assert exchange["choices"][0]["content"] == "part one\n\npart two"
    assert exchange["choices"][0]["reasoning"] == "Setting up\n\nPlanning\n\nSecond look\n\nChecking"


def test_a_chatgpt_file_without_a_name_is_still_named_and_only_a_question_s_files_are(wb, tmp_path):
    conv = _chain(("user", "Look at this", {"attachments": [{"id": "file-1"}]}),
                  ("assistant", "a", {"model_slug": "gpt-4o", "attachments": [{"id": "file-2", "name": "plot.png"}]}))
    assert _import(wb, tmp_path, [conv])[0] == 0
    assert [m["content"] for m in load_trace(wb.traces()[0]).samples[0]["messages"]] == [
        "Look at this\n\n[attached, not imported: a file]", "a"]


@pytest.mark.parametrize("text", ["## User\nWhat is $x_1$?\n\n## User\nAnyone?\n", "## Assistant\nHow can I help?\n"])
def test_a_transcript_of_one_side_only_is_refused(wb, tmp_path, text):
    path = tmp_path / "chat.md"
    path.write_text(text)
    code, _, err = wb.run("import-chat", str(path), "--problem", "1.3", "--pack", "demo", "--model", "gpt-4o")
    assert code == 2 and "no user and assistant messages found" in err and wb.traces() == []


def test_a_claude_export_s_sender_in_any_case_an_unnamed_file_and_thinking_that_is_no_text(wb, tmp_path):
    """Only a question's files are named (one without a file_name as 'a file'); a thinking part whose thinking is not
    text is skipped like any other part it cannot read."""
    conv = {"uuid": "c5", "name": "Odd parts", "created_at": "2024-06-03T08:00:00Z", "chat_messages": [
        {"uuid": "q", "sender": " Human ", "text": "What is $x$?", "files": [{"file_uuid": "f-1"}]},
        {"uuid": "a", "sender": "Assistant", "files": [{"file_name": "answer.png"}], "content": [
            {"type": "thinking", "thinking": [{"type": "text", "text": "nested"}]}, {"type": "text", "text": "It is 2."}]}]}
    code, _, err = _import(wb, tmp_path, [conv], "--model", "claude-sonnet-4")
    assert code == 0, err
    trace = load_trace(wb.traces()[0])
    assert trace.samples[0]["messages"] == [{"role": "user", "content": "What is $x$?\n\n[attached, not imported: a file]"},
                                            {"role": "assistant", "content": "It is 2."}]
    assert "reasoning" not in trace.data["exchanges"][0]["choices"][0]


def test_several_matching_titles_list_only_those_and_a_title_matches_without_its_spaces(wb, tmp_path):
    convs = [_chain(("user", "q"), ("assistant", "a", {"model_slug": "o3"}), title=title, cid=f"c{k}")
             for k, title in enumerate(["Adam chat", "RMSProp chat", "Dropout", "Chat "])]
    code, _, err = _import(wb, tmp_path, convs[:3], "--conversation", "chat")
    assert code == 2 and "2 conversations match 'chat': 'Adam chat' [c0]" in err and "'RMSProp chat' [c1]" in err
    assert "Dropout" not in err and wb.traces() == []
    assert _import(wb, tmp_path, convs, "--conversation", " CHAT ")[0] == 0  # the exact title, not the two containing it
    assert load_trace(wb.traces()[0]).data["import"]["conversation_id"] == "c3"


def test_an_export_of_no_conversations_is_one_line(wb, tmp_path):
    code, _, err = _import(wb, tmp_path, [], "--model", "gpt-4o")
    assert code == 2 and "the export holds no conversations" in err and err.count("\n") == 1 and wb.traces() == []


@pytest.mark.parametrize("url", ["https://", "https:///share/abc", "https:// claude.ai"])
def test_a_url_without_a_host_is_refused(wb, export, url):
    code, _, err = wb.run("import-chat", str(export), "--problem", "1.1", "--pack", "demo", "--conversation", "conv-bbb",
                          "--url", url)
    assert code == 2 and "is not a web address" in err and wb.traces() == []


def test_a_url_given_with_spaces_is_cited_without_them(wb, tmp_path):
    path = tmp_path / "chat.md"
    path.write_text("**User:** What?\n**Assistant:** Two.\n")
    argv = ["import-chat", str(path), "--problem", "1.3", "--pack", "demo", "--model", "gpt-4"]
    assert wb.run(*argv, "--url", "  https://claude.ai/share/abc \n")[0] == 0
    trace = load_trace(wb.traces()[0])
    assert trace.base_url == trace.data["import"]["url"] == "https://claude.ai/share/abc"


def test_an_export_s_times_and_the_model_flag_in_the_request(wb, tmp_path):
    """The request names the --model given; each reply keeps the model the export records."""
    conv = dict(_chain(("user", "q"), ("assistant", "a", {"model_slug": "gpt-4o"})), update_time=1700000100.0)
    assert _import(wb, tmp_path, [conv], "--model", "gpt-4o-2024-08-06")[0] == 0
    trace = load_trace(wb.traces()[0])
    info = trace.data["import"]
    assert (info["created_at"], info["updated_at"]) == ("2023-11-14T22:13:20Z", "2023-11-14T22:15:00Z")
    assert trace.data["request"]["model"] == "gpt-4o-2024-08-06" and trace.data["exchanges"][0]["model"] == "gpt-4o"


def test_a_chatgpt_message_of_only_whitespace_is_dropped(wb, tmp_path):
    conv = _chain(("user", "q"), ("user", " \n "), ("assistant", "a", {"model_slug": "gpt-4o"}))
    assert _import(wb, tmp_path, [conv])[0] == 0
    assert load_trace(wb.traces()[0]).samples[0]["messages"] == [{"role": "user", "content": "q"},
                                                                 {"role": "assistant", "content": "a"}]


@pytest.mark.parametrize("action", ["show", "cite"])
def test_traces_show_and_cite_refuse_an_unknown_pack(wb, action):
    """`traces show FILE --pack nopack` and `traces cite HASH --pack nopack` printed the trace, exit 0, as if the flag
    named a pack; they refuse it, exit 2, as list and verify do."""
    assert wb.run("prompt", "3.1")[0] == 0
    [path] = wb.traces()
    digest = json.loads(path.read_text())["hash"][:12]
    assert wb.run("traces", action, digest, "--pack", "a2")[0] == 0
    code, out, err = wb.run("traces", action, digest, "--pack", "nopack")
    assert code == 2 and out == "" and err.count("\n") == 1 and "no problem pack 'nopack'" in err


def _stdin(monkeypatch, data: bytes) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))


def _zipped(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize("kind", ["export", "zip", "transcript"])
def test_import_chat_reads_the_export_or_transcript_from_stdin_as_from_a_file(wb, monkeypatch, tmp_path, kind):
    """`import-chat -` was refused as "no file -": it reads stdin, which gives the trace the file gives."""
    exported = json.dumps(EXPORT).encode()
    data, name, extra = {
        "export": (exported, "conversations.json", ["--conversation", "rmsprop"]),
        "zip": (_zipped("chatgpt-export/conversations.json", exported), "export.zip", ["--conversation", "rmsprop"]),
        "transcript": ("\ufeff# Momentum\n\n## User\nWhat is $x_1$?\n\n## Assistant\nIt is **2**.\n".encode(), "chat.md",
                       ["--model", "gpt-4o"]),
    }[kind]
    (tmp_path / name).write_bytes(data)
    assert wb.run("import-chat", str(tmp_path / name), "--problem", "1.1", "--pack", "demo", *extra)[0] == 0
    _stdin(monkeypatch, data)
    code, out, err = wb.run("import-chat", "-", "--problem", "1.2", "--pack", "demo", *extra)
    assert code == 0, err
    [from_file] = [load_trace(p) for p in wb.traces() if p.parent.name == "1.1"]
    [piped] = [load_trace(p) for p in wb.traces() if p.parent.name == "1.2"]
    assert piped.intact and piped.imported and piped.samples == from_file.samples
    assert piped.model_version == from_file.model_version and piped.citation().startswith(from_file.model_version)
    info, file_info = piped.data["import"], from_file.data["import"]
    assert info["file"] == "stdin" and info["file_sha256"] == hashlib.sha256(data).hexdigest()
    assert (info["format"], info["title"]) == (file_info["format"], file_info["title"])
    assert f"saved {piped.path}" in out


@pytest.mark.parametrize("name", ["conversations.json", "chat.md", "export.zip"])
@pytest.mark.parametrize("data", [b"", b" \n\n"])
def test_import_chat_of_an_empty_file_says_it_is_empty(wb, tmp_path, name, data):
    """An empty conversations.json (a download cut short) was 'not valid JSON (line 1)', an empty transcript 'no user
    and assistant messages found', an empty .zip 'not a readable zip archive'; each is named empty, as stdin is."""
    path = tmp_path / name
    path.write_bytes(data)
    code, _, err = wb.run("import-chat", str(path), "--problem", "1.1", "--pack", "demo", "--model", "gpt-4o")
    assert code == 2 and err.startswith(f"error: {path} is empty") and err.count("\n") == 1, err
    assert wb.traces() == []


@pytest.mark.parametrize("data, extra, message", [
    (b"", [], "stdin is empty"),
    (b" \n\n", [], "stdin is empty"),
    (b"[{\"mapping\": ", [], "stdin: not valid JSON (line 1)"),
    (b"PK\x03\x04 damaged", [], "stdin: not a readable zip archive"),
    (b"[{\"title\": \"x\"}]", [], "stdin: not a ChatGPT or Claude export"),
    (b"## User\nhi\n\n## Assistant\nhello \xff\n", ["--model", "gpt-4o"], "stdin: not UTF-8 text (byte 31)"),
    (b"just some notes\n", ["--model", "gpt-4o"], "stdin: no user and assistant messages found"),
    (b"## User\nhi\n\n## Assistant\nhello\n", [], "stdin does not say which model answered"),
    (b"## User\nhi\n\n## Assistant\nhello\n", ["--model", "gpt-4o", "--conversation", "x"], "drop --conversation"),
])
def test_import_chat_refuses_empty_or_invalid_stdin_in_one_line(wb, monkeypatch, data, extra, message):
    _stdin(monkeypatch, data)
    code, out, err = wb.run("import-chat", "-", "--problem", "1.1", "--pack", "demo", *extra)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert wb.traces() == []


def test_import_chat_from_a_closed_stdin_is_one_line(wb, monkeypatch):
    """`import-chat - --problem ID <&-` (stdin closed: sys.stdin is None) ended in an AttributeError traceback."""
    monkeypatch.setattr("sys.stdin", None)
    code, out, err = wb.run("import-chat", "-", "--problem", "1.1", "--pack", "demo", "--model", "gpt-4o")
    assert code == 2 and err.startswith("error: cannot read stdin") and len(err.strip().splitlines()) == 1, err
    assert wb.traces() == []


def test_cite_says_which_trace_the_writeup_shows_and_how_to_pick_another(wb):
    """`traces cite ID` listed every intact trace without saying which one build-writeup shows (the newest intact one,
    or the one the solution's `trace:` pins); stdout stays the citations to paste, the note names the shown one."""
    from workbench.traces import write_trace

    older = load_trace(write_trace(_trace(started="2026-01-15T10:00:00.100000Z"), wb.root / "traces"))
    newer = load_trace(write_trace(_trace(started="2026-01-16T10:00:00.100000Z"), wb.root / "traces"))
    code, out, err = wb.run("traces", "cite", "1.1", "--pack", "demo")
    assert code == 0 and out == older.citation() + "\n" + newer.citation() + "\n"
    assert err == (f"note: build-writeup shows trace {newer.short_hash} (the newest intact one); to show another, put "
                   f"`trace: HASH` in solutions/demo/1.1.md's front matter\n")
    code, out, _ = wb.run("traces", "cite", "1.1", "--pack", "demo", "--json")
    assert [(r["file"], r["shown"], r["pinned"]) for r in json.loads(out)] == \
        [(str(older.path), False, False), (str(newer.path), True, False)]
    code, out, err = wb.run("traces", "cite", older.short_hash, "--pack", "demo")  # one trace, by its hash
    assert code == 0 and out == older.citation() + "\n"
    assert err.startswith(f"note: build-writeup shows trace {newer.short_hash} (the newest intact one), not this one;")

    (wb.root / "solutions").unlink()  # a private solutions/ that pins the older trace
    (wb.root / "solutions" / "demo").mkdir(parents=True)
    solution = wb.root / "solutions" / "demo" / "1.1.md"
    solution.write_text(f"---\ntrace: {older.short_hash}\n---\n\n## Solution\n\nx\n")
    code, out, err = wb.run("traces", "cite", "1.1", "--pack", "demo")
    assert code == 0 and out == older.citation() + "\n" + newer.citation() + "\n"
    assert err == (f"note: build-writeup shows trace {older.short_hash}, pinned by `trace: {older.short_hash}` in "
                   f"solutions/demo/1.1.md; to show another, change that line (without it: the newest intact one)\n")
    code, out, _ = wb.run("traces", "cite", "1.1", "--pack", "demo", "--json")
    assert [(r["shown"], r["pinned"]) for r in json.loads(out)] == [(True, True), (False, False)]

    solution.write_text("---\ntrace: 0123456789ab\n---\n\n## Solution\n\nx\n")  # a pin of no trace there
    code, out, err = wb.run("traces", "cite", "1.1", "--pack", "demo")
    assert code == 0 and len(out.splitlines()) == 2
    assert err.startswith("note: build-writeup shows none of these: the solution pins trace '0123456789ab', which is "
                          "not in traces/1.1") and "pin one of them in solutions/demo/1.1.md" in err, err
    code, out, _ = wb.run("traces", "cite", "1.1", "--pack", "demo", "--json")
    assert [r["shown"] for r in json.loads(out)] == [False, False]

    solution.write_text("---\ntrace: [a, b]\n---\n\n## Solution\n\nx\n")  # build-writeup stops at this file
    code, out, err = wb.run("traces", "cite", "1.1", "--pack", "demo")
    assert code == 0 and len(out.splitlines()) == 2
    assert err.startswith("note: which trace build-writeup shows is unknown: ") and "`trace` must be one trace's" in err \
        and "e.g. trace: 1a2b3c4d5e6f" in err and err.count("\n") == 1, err


def test_a_trace_folder_or_problem_named_like_markup_is_listed_as_named(wb, monkeypatch):
    """`traces` put the problem folder of an unreadable file (any folder under traces/) and a trace's own problem
    field in its table as rich markup: `traces/[bold red]x/` was listed as a bold red `x`, and its reason too."""
    from workbench.console import console
    from workbench.traces import content_hash

    monkeypatch.setattr(console, "_width", 200)  # the citation column (and the unreadable file's reason in it)
    assert wb.run("prompt", "1.3", "--pack", "demo")[0] == 0
    moved = wb.traces()[0]
    data = json.loads(moved.read_text())
    data["problem"] = "[italic]1.3"  # a copy under another problem's folder: listed as moved
    data["hash"] = content_hash(data)
    moved.write_text(json.dumps(data))
    odd = wb.root / "traces" / "[bold red]x"
    odd.mkdir()
    (odd / "[dim]a.json").write_text("{")
    code, out, _ = wb.run("traces")
    rows = [line.split("│")[1].strip() for line in out.splitlines() if line.startswith("│")]
    assert code == 0 and [r for r in rows if r] == ["[italic]1.3", "[bold red]x"], out
    assert "not valid JSON (line 1)" in out


def test_traces_show_prints_a_trace_s_roles_tokens_and_problem_as_written(wb):
    """`traces show` titled each message's panel with its role and filled the exchanges' tokens and attempts from the
    trace as rich markup: a trace (an export's or a hand-edited file) with a role `[/]` ended in a MarkupError
    traceback, and a problem field `[italic]1.3` lost its brackets."""
    from workbench.traces import content_hash

    assert wb.run("prompt", "1.3", "--pack", "demo")[0] == 0
    path = wb.traces()[0]
    data = json.loads(path.read_text())
    data["problem"] = "[italic]1.3"
    data["samples"][0]["messages"].append({"role": "[/]", "content": "a tool's note"})
    data["exchanges"][0].update(usage={"total_tokens": "[bold]12"}, attempts="[red]2")
    data["hash"] = content_hash(data)
    path.write_text(json.dumps(data))
    code, out, err = wb.run("traces", "show", path.name)
    assert code == 0 and "problem [italic]1.3 · strategy direct" in out, err
    assert "─ [/] ─" in out and "[bold]12" in out and "[red]2" in out, out


@pytest.mark.parametrize("width", [80, 200])  # citations under the table, or in its own column
def test_an_edited_trace_whose_hash_field_holds_markup_is_listed_as_written(wb, monkeypatch, width):
    """`traces` put a trace's hash field into its table and the lines under it as rich markup: an edited trace whose
    hash reads `[/]` (any text: the edit is what the listing reports) ended it in a MarkupError traceback."""
    from workbench.console import console

    monkeypatch.setattr(console, "_width", width)
    assert wb.run("prompt", "1.3", "--pack", "demo")[0] == 0
    path = wb.traces()[0]
    data = json.loads(path.read_text())
    data["hash"] = "[/]x[bold]y"
    path.write_text(json.dumps(data))
    code, out, err = wb.run("traces")
    assert code == 0 and "[/]x[bold]y EDITED" in out, err
    assert width >= 160 or "\n[/]x[bold]y not to be cited: content edited" in out, out


def test_an_import_records_the_question_as_it_stood_when_imported(wb, export):
    """An imported chat is the problem's evidence as the record stood when it was imported: its fingerprint is kept
    (problem_sha256, hashed with the rest), so a later edit of the record can be told."""
    from llm_fixtures import question_sha256

    from workbench.traces import content_hash

    assert wb.run("import-chat", str(export), "--problem", "1.1", "--pack", "demo", "--conversation", "conv-aaa")[0] == 0
    data = json.loads(wb.traces()[0].read_text())
    assert data["problem_sha256"] == question_sha256(wb.root / "problems" / "demo" / "1.1.yaml")
    assert data["hash"] == content_hash(data)


def _edit_record(wb, pid: str, old: str, new: str) -> None:
    """Change the demo pack's record of `pid` in place, as a pack fix or a student's edit would."""
    record = wb.root / "problems" / "demo" / f"{pid}.yaml"
    text = record.read_text()
    assert old in text
    record.write_text(text.replace(old, new, 1))


def test_traces_verify_names_a_trace_whose_problem_changed_since_and_keeps_it(wb, export):
    """A trace whose problem was edited after it (the statement fixed) passed `traces verify` without a word, though
    its answers are to another question. It is named stale, with the date and the command that asks the question as
    it is now (same model, server, strategy), or to keep it knowingly; an intact stale trace is no corrupt one: exit 0,
    and the file is left as it was (write-once)."""
    assert wb.run("prompt", "1.1", "--pack", "demo", "-s", "hinted")[0] == 0
    assert wb.run("import-chat", str(export), "--problem", "1.1", "--pack", "demo", "--conversation", "conv-aaa")[0] == 0
    assert wb.run("prompt", "1.3", "--pack", "demo")[0] == 0
    code, out, _ = wb.run("traces", "verify", "--json")
    assert code == 0 and json.loads(out) == {"checked": 3, "bad": [], "stale": []}
    before = {p: p.read_bytes() for p in wb.traces()}
    _edit_record(wb, "1.1", "Find $w^*$ with minimum norm.", "Find $w^*$ with minimum Euclidean norm.")
    api, imported = sorted((load_trace(p) for p in wb.traces() if "/1.1/" in str(p)), key=lambda t: t.imported)
    code, out, _ = wb.run("traces", "verify")
    date = api.started_at[:10]
    assert code == 0 and "3 trace(s) verified: every hash matches its content; 2 stale" in out, out
    line = next(line for line in out.splitlines() if str(api.path) in line)
    assert line == (f"STALE {api.path}: stale: problem 1.1 changed since this trace ({date}); ask it again with "
                    f"`python cli.py prompt 1.1 --pack demo --strategy hinted --model fake-gpt --base-url {wb.server.url}`"
                    ", or keep it knowingly (its answers are to the question as it was)"), line
    line = next(line for line in out.splitlines() if str(imported.path) in line)
    assert "stale: problem 1.1 changed since this trace" in line and "import-chat FILE --problem 1.1 --pack demo" in line
    code, out, _ = wb.run("traces", "verify", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["bad"] == [] and [s["file"] for s in doc["stale"]] == sorted([str(api.path), str(imported.path)])
    assert {s["problem"] for s in doc["stale"]} == {"1.1"} and all(s["reason"].startswith("stale: problem 1.1") for s in doc["stale"])
    assert all("keep it knowingly" in s["fix"] for s in doc["stale"])
    assert {p: p.read_bytes() for p in wb.traces()} == before  # never rewritten


def test_a_change_of_points_type_or_title_leaves_a_trace_current(wb):
    """Relabelling a question asks nothing new: the trace is not stale."""
    assert wb.run("prompt", "1.1", "--pack", "demo")[0] == 0
    _edit_record(wb, "1.1", "points: 1", "points: 2")
    _edit_record(wb, "1.1", "type: 1", "type: 2")
    _edit_record(wb, "1.1", 'title: "Minimum norm"', 'title: "Minimum-norm solution"')
    code, out, _ = wb.run("traces", "verify", "--json")
    assert code == 0 and json.loads(out)["stale"] == []
    _edit_record(wb, "1.1", "answer: expression", "answer: number")  # what the checks read: a new question
    assert len(json.loads(wb.run("traces", "verify", "--json")[1])["stale"]) == 1


def test_a_trace_written_before_traces_recorded_the_question_is_never_stale(wb):
    from workbench.traces import write_trace

    write_trace(_trace(), wb.root / "traces")  # no problem_sha256: its question is not known
    _edit_record(wb, "1.1", "Find $w^*$", "Find the vector $w^*$")
    code, out, _ = wb.run("traces", "verify")
    assert code == 0 and "stale" not in out.lower() and "1 trace(s) verified" in out


def test_a_warning_naming_a_trace_file_with_a_line_break_stays_one_line(wb):
    """`traces cite` warned about an unreadable trace by its file name, which may hold a line break: the one-line
    warning ran over two lines; the break is shown as \\n, as in error lines."""
    assert wb.run("prompt", "1.3", "--pack", "demo")[0] == 0
    (wb.root / "traces" / "1.3" / "odd\nname.json").write_text("{")
    code, out, err = wb.run("traces", "cite", "1.3", "--pack", "demo")
    assert code == 0 and len(out.splitlines()) == 1, out
    line, *notes = err.splitlines()
    assert [n[:5] for n in notes] == ["note:"], err
    assert line.startswith("warning: unreadable trace ") and line.endswith("/odd\\nname.json: not valid JSON (line 1); "
                                                                             "not cited"), line


def test_traces_lists_and_verifies_a_file_with_a_line_break_in_its_name_on_one_line(wb):
    """`traces` and `traces verify` give each unreadable or failed file one line naming it, for scripts to read: a
    file name holding a line break ran over two, the second naming no file; the break is shown as \\n."""
    assert wb.run("prompt", "1.3", "--pack", "demo")[0] == 0
    (wb.root / "traces" / "1.3" / "odd\nname.json").write_text("{")
    for argv, word in ((("traces",), "UNREADABLE"), (("traces", "verify"), "FAILED")):
        code, out, _ = wb.run(*argv)
        lines = [line for line in out.splitlines() if "name.json" in line]
        assert lines == [f"{word} {wb.root / 'traces' / '1.3'}/odd\\nname.json: not valid JSON (line 1)"], out


def test_the_listing_marks_a_stale_trace_and_still_cites_it(wb):
    """`traces` listed a trace whose problem changed since it was asked like any other: only `traces verify` told.
    Its row is marked STALE (and --json's `stale` gives why; null for a current trace, and for one written before
    traces recorded their question), and its citation is still printed: an intact trace is whole evidence."""
    from workbench.traces import write_trace

    assert wb.run("prompt", "1.1", "--pack", "demo")[0] == 0
    assert wb.run("prompt", "1.3", "--pack", "demo")[0] == 0
    write_trace(_trace(), wb.root / "traces")  # 1.1, no problem_sha256: its question is not known
    _edit_record(wb, "1.1", "Find $w^*$ with minimum norm.", "Find $w^*$ with minimum Euclidean norm.")
    traces = [load_trace(p) for p in wb.traces()]
    [stale] = [t for t in traces if t.problem == "1.1" and t.data.get("problem_sha256")]
    note = f"stale: problem 1.1 changed since this trace ({stale.started_at[:10]})"
    for argv in ((), ("--pack", "demo"), ("1.1",)):
        code, out, _ = wb.run("traces", *argv, "--json")
        assert code == 0 and {r["file"]: r["stale"] for r in json.loads(out)} == \
            {str(t.path): note if t is stale else None for t in traces if argv != ("1.1",) or t.problem == "1.1"}, out
    code, out, _ = wb.run("traces")
    rows = {t.short_hash: next(line for line in out.splitlines() if t.short_hash in line) for t in traces}
    assert code == 0 and "STALE" in rows[stale.short_hash], out
    assert not any("STALE" in rows[t.short_hash] for t in traces if t is not stale), out
    assert f"{stale.short_hash} {stale.citation()}" in out.splitlines(), out  # still to be cited
    assert "3 trace(s), 1 stale (its problem changed since it was asked); check them with `python cli.py traces " \
           "verify`" in " ".join(out.split()), out


def test_citing_a_stale_trace_warns_and_still_cites_it(wb):
    """`traces cite 1.1` printed a stale trace's citation without a word, ready to paste beside the question as it is
    now, which the model was never asked. A warning line (stderr) names it with the command that asks it again, or
    to keep it knowingly; the citation is still printed (it is intact evidence), exit 0."""
    assert wb.run("prompt", "1.1", "--pack", "demo", "-s", "hinted")[0] == 0
    _edit_record(wb, "1.1", "Find $w^*$ with minimum norm.", "Find $w^*$ with minimum Euclidean norm.")
    [stale] = [load_trace(p) for p in wb.traces()]
    code, out, err = wb.run("traces", "cite", "1.1", "--pack", "demo")
    assert code == 0 and out.splitlines() == [stale.citation()], out
    warning = next(line for line in err.splitlines() if line.startswith("warning:"))
    assert warning == (f"warning: trace {stale.path}: stale: problem 1.1 changed since this trace "
                       f"({stale.started_at[:10]}), cited as it is; ask it again with `python cli.py prompt 1.1 "
                       f"--pack demo --strategy hinted --model fake-gpt --base-url {wb.server.url}`, or keep it "
                       "knowingly (its answers are to the question as it was)"), err
    code, out, err = wb.run("traces", "cite", stale.short_hash, "--pack", "demo", "--json")
    assert code == 0 and [c["citation"] for c in json.loads(out)] == [stale.citation()] and "stale: problem 1.1" in err
    assert wb.run("prompt", "1.1", "--pack", "demo")[0] == 0  # the question as it is: cited, the stale one warned of
    code, _, err = wb.run("traces", "cite", "1.1", "--pack", "demo")
    assert code == 0 and err.count("stale: problem 1.1") == 1, err


def test_cite_json_says_which_cited_trace_is_stale(wb):
    """`traces cite ID --json` gave no sign that a cited trace was stale (only the stderr warning did), so a script
    pasting its citations beside the question as it is now could not tell. Each record's `stale` is the note the
    listing gives (`traces --json`), null for a trace asked of the question as it is."""
    assert wb.run("prompt", "1.1", "--pack", "demo", "-s", "hinted")[0] == 0
    _edit_record(wb, "1.1", "Find $w^*$ with minimum norm.", "Find $w^*$ with minimum Euclidean norm.")
    [stale] = [load_trace(p) for p in wb.traces()]
    assert wb.run("prompt", "1.1", "--pack", "demo")[0] == 0
    [current] = [load_trace(p) for p in wb.traces() if load_trace(p).path != stale.path]
    code, out, _ = wb.run("traces", "cite", "1.1", "--pack", "demo", "--json")
    note = f"stale: problem 1.1 changed since this trace ({stale.started_at[:10]})"
    assert code == 0 and {c["file"]: c["stale"] for c in json.loads(out)} == \
        {str(stale.path): note, str(current.path): None}, out
    code, listed, _ = wb.run("traces", "1.1", "--pack", "demo", "--json")  # the same note as the listing's
    assert {r["file"]: r["stale"] for r in json.loads(listed)} == {c["file"]: c["stale"] for c in json.loads(out)}


def test_traces_show_prints_where_each_link_and_image_goes(wb, tmp_path):
    """A reply's [the docs](https://evil.example) showed only "the docs", its address behind a terminal hyperlink,
    and an image only its alt text: a student citing the trace could not see where they go."""
    answer = ("Read [the docs](https://evil.example/x) and <https://plain.example/y>, or "
              "[https://good.example](https://bad.example).\n\n![a cat](https://img.example/cat.png) "
              "and ![](https://img.example/dog.png)")
    code, flat = _show_imported_answer(wb, tmp_path, answer)
    assert code == 0 and "the docs (https://evil.example/x)" in flat
    assert flat.count("https://plain.example/y") == 1  # a bare address is shown once
    assert "https://good.example (https://bad.example)" in flat  # a link whose text names another address
    assert "a cat (https://img.example/cat.png)" in flat and "https://img.example/dog.png" in flat
    from rich.console import Console

    from workbench.commands.tracing import render_markdown
    terminal = Console(file=io.StringIO(), force_terminal=True, width=200)
    terminal.print(render_markdown(answer))
    assert "\x1b]8;" not in terminal.file.getvalue()  # on a terminal: no hyperlink hiding an address either


def test_the_saved_line_stays_one_line_where_the_project_folder_holds_a_line_break(wb, tmp_path, monkeypatch):
    """'saved .../pro' and 'ject/traces/...' on two lines: the second named nothing; the break shows as \\n."""
    root = wb.root.with_name("pro\nject")
    wb.root.rename(root)
    monkeypatch.setenv("WORKBENCH_ROOT", str(root))
    wb.root = root
    path = tmp_path / "chat.md"
    path.write_text("## User\n\nHow?\n\n## ChatGPT\n\nLike so.\n")
    code, out, _ = wb.run("import-chat", str(path), "--problem", "1.3", "--pack", "demo", "--model", "gpt-4o")
    (trace,) = wb.traces()
    assert code == 0 and "saved " + str(trace).replace("\n", "\\n") in out.splitlines()
    code, out, _ = wb.run("prompt", "1.2", "--pack", "demo")
    (new,) = set(wb.traces()) - {trace}
    assert code == 0 and "saved " + str(new).replace("\n", "\\n") in out.splitlines()
