"""The A2 reference checks: right and subtly wrong answers in several formats, and every reference
cross-checked by a second, independent method."""

from __future__ import annotations

import os

import numpy as np
import pytest
import sympy
import torch
from torch import nn
from torch.nn import functional as F

from test_verify import fake_run, make_project
from workbench.problems import load_pack
from workbench.verify import check_text, context, load_reference


@pytest.fixture(scope="module")
def ref():
    return load_reference(load_pack("a2"))


def verdict(pid: str, text: str):
    return check_text("a2", pid, text)


def claims(pid: str, text: str) -> str:
    """The verdict on a 5.3/6.3 answer's claims about the runs alone: its reasons are key points that only --judge
    grades, so without it the whole answer is unchecked (test_reasons_need_the_grader)."""
    from workbench.verdicts import make_verdict

    v = verdict(pid, text)
    assert v.status != "correct" and any(d["what"] == "key points" for d in v.details)
    return make_verdict(pid, "text", [d for d in v.details if d["what"] != "key points"]).status


def yaml_answer(body: str) -> str:
    return f"---\nanswer:\n{body}\n---\n\n## Solution\n\nSee the front matter.\n"


# ---------------------------------------------------------------- 3.1

RIGHT = [[0, 0, -1, -1, -1], [-1, -2, 3, 2, 4], [4, 2, 1, 2, -2], [-2, 3, 1, 3, -1], [0, -2, 4, -2, 0]]
WRONG = [row[:] for row in RIGHT]
WRONG[1][4], WRONG[4][2] = 3, 5


def as_bmatrix(m):
    return r"$$I * J = \begin{bmatrix}" + r" \\ ".join(" & ".join(str(x) for x in r) for r in m) + r"\end{bmatrix}$$"


def as_table(m):
    return "| | | | | |\n|---|---|---|---|---|\n" + "\n".join("| " + " | ".join(str(x) for x in r) + " |" for r in m)


def as_list(m):
    return "The result is " + str(m)



def as_matlab(m):
    return "I * J = [" + "; ".join(" ".join(str(x) for x in r) for r in m) + "]"


@pytest.mark.parametrize("fmt", [as_bmatrix, as_table, as_list, as_matlab])
def test_conv_right_in_each_format(fmt):
    v = verdict("3.1", fmt(RIGHT) + "\n\nThis filter sharpens the image (a Laplacian edge enhancer).")
    assert v.status == "correct", v.details


@pytest.mark.parametrize("fmt", [as_bmatrix, as_table, as_list, as_matlab])
def test_conv_one_wrong_entry_is_named(fmt):
    v = verdict("3.1", fmt(WRONG) + "\nIt is a sharpening filter.")
    assert v.status == "partial"
    assert "entries (2,5) and (5,3) differ: expected 4 and 4, found 3 and 5" in v.critique
    assert v.critique.startswith("Automatic check")


def test_conv_credit_is_the_share_of_right_entries():
    v = verdict("3.1", as_list(WRONG) + "\nIt is a sharpening filter.")
    assert v.details[0]["credit"] == pytest.approx(23 / 25)  # 2 of the 25 entries wrong
    assert v.score == pytest.approx((23 / 25 + 0.5) / 1.5, abs=1e-4)  # the feature weighs half


def test_conv_structured_and_ambiguous_and_feature():
    right = yaml_answer(f"  matrix: {RIGHT}\n  feature: edge detection")
    assert verdict("3.1", right).status == "correct"
    assert verdict("3.1", yaml_answer(f"  matrix: {RIGHT}\n  feature: blur")).status == "partial"
    two = verdict("3.1", as_list(RIGHT) + " or maybe " + str(WRONG) + ". Sharpening.")
    assert two.details[0]["ok"] is None and "ambiguous" in two.details[0]["note"]


@pytest.mark.parametrize("words, status", [
    ("It is a blur: it smooths the image rather than detecting edges.", "partial"),
    ("This is **not** an edge detector; it blurs.", "partial"),
    ("It is a blur, not a sharpening filter.", "partial"),
    ("It sharpens the image; it does not blur it.", "correct"),
    ("It not only sharpens the image but also enhances edges.", "correct"),
])
def test_conv_a_feature_named_only_to_deny_it_is_not_named(words, status):
    """'rather than detecting edges' named edges as far as a keyword match could tell: a blur was judged correct."""
    assert verdict("3.1", as_list(RIGHT) + "\n\n" + words).status == status


def test_conv_a_wrong_feature_is_shown_as_found_not_as_nothing():
    """The critique of "The filter blurs the image (a smoothing filter)" said "found nothing": the answer names one."""
    v = verdict("3.1", as_list(RIGHT) + "\n\nThe filter blurs the image (it is a smoothing filter).")
    assert v.status == "partial" and v.details[1]["found"] == "blurs, smoothing"
    assert "found blurs, smoothing" in v.critique and "found nothing" not in v.critique


@pytest.mark.parametrize("words, found", [("Blurs the image.", "blurs"), ("A Low-Pass filter.", "low-pass"),
                                          ("It is the identity filter.", "identity")])
def test_conv_a_wrong_feature_alone_is_a_wrong_answer_not_none(words, found):
    """No matrix, only a wrong feature: an answer to judge (wrong), shown in lower case as the other features are."""
    v = verdict("3.1", words)
    assert v.status == "incorrect" and v.details[-1]["found"] == found and v.details[-1]["ok"] is False


@pytest.mark.parametrize("pid, text, status", [
    # no matrix or sizes and no feature word: no answer to judge, counted apart (it was 'incorrect', score 0)
    ("3.1", "Glad it helped! Let me know if you have more questions.", "unchecked"),
    ("3.2", "Glad it helped! Let me know if you have more questions.", "unchecked"),
    ("3.1", "It blurs the image.", "incorrect"),  # a wrong feature is an answer, and wrong
    ("3.2", "The CNN has 61632 neurons.", "partial"),  # sizes given, no disadvantage named: that part is missing
    ("3.1", as_list(RIGHT), "partial"),  # the matrix, no feature named: that part is missing
    ("3.1", "It is the identity filter: the image stays the same.", "incorrect"),  # a wrong feature
])
def test_a_text_without_an_answer_is_not_a_wrong_answer(pid, text, status):
    assert verdict(pid, text).status == status


def test_sizes_a_structured_answer_naming_no_disadvantage_is_wrong_there(ref):
    """A structured answer holds an answer even without sizes: its disadvantage is judged, not skipped."""
    [d] = ref.ref_cnn.check_sizes({"disadvantage": "it looks nicer"}, "")[-1:]
    assert d["ok"] is False and d["found"] == "it looks nicer"


def test_conv_the_image_restated_is_not_a_second_answer(ref):
    image = [list(r) for r in ref.ref_cnn.I_MATRIX]
    v = verdict("3.1", "With $I = $ " + as_bmatrix(image).replace("I * J = ", "") + " we get " + as_bmatrix(RIGHT)
                + "\nIt sharpens edges.")
    assert v.status == "correct", v.details


@pytest.mark.parametrize("feature, status", [
    # a right and a wrong feature joined by "or" are two answers for one feature, not a right one
    ("It either sharpens or blurs the image.", "partial"), ("It is a blur, or maybe a sharpening filter.", "partial"),
    ("It sharpens/blurs the image.", "partial"), ("It detects edges or smooths the image.", "partial"),
    ("It either sharpens the whole picture or blurs it.", "partial"),  # words between the two
    # two right words, or wrong features named to deny them, are no hedge
    ("It sharpens the image (a high-pass or edge-enhancing filter).", "correct"),
    ("It enhances edges, not smoothing or blurring.", "correct"),
    ("It sharpens the image rather than blurring or smoothing it.", "correct"),
    ("Neither a blur nor a smoothing: it sharpens edges.", "correct"),
    ("It sharpens, unlike blurring or smoothing.", "correct"),
])
def test_conv_a_hedged_feature_is_two_answers(feature, status):
    v = verdict("3.1", as_bmatrix(RIGHT) + "\n" + feature)
    assert v.status == status, v.details
    assert ("two answers for one quantity" in v.critique) == (status == "partial")


def test_conv_reference_equals_torch(ref):
    """Second method: torch's conv2d (a cross-correlation) with the flipped filter, zero padding 1."""
    I = torch.tensor(ref.ref_cnn.I_MATRIX, dtype=torch.float64)[None, None]
    J = torch.tensor(ref.ref_cnn.J_FILTER, dtype=torch.float64).flip(0, 1)[None, None]
    out = torch.nn.functional.conv2d(I, J, padding=1)[0, 0].tolist()
    assert out == [list(r) for r in ref.ref_cnn.conv_reference()] == RIGHT


# ---------------------------------------------------------------- 3.2

@pytest.mark.parametrize("fcnn", [(4992, 235667456), (61632, 10063872)])
def test_the_fcnn_numbers_must_come_from_one_reading(fcnn):
    text = yaml_answer(f"  cnn_neurons: 61632\n  cnn_params: 21024\n  fcnn_neurons: {fcnn[0]}\n  fcnn_params: {fcnn[1]}\n"
                       "  disadvantage: overfitting")
    v = verdict("3.2", text)
    assert v.status == "partial" and "one network has both numbers" in v.critique


@pytest.mark.parametrize("fcnn", [(61632, 235667456), (4992, 10063872)])
def test_sizes_both_fcnn_readings_accepted(fcnn):
    text = yaml_answer(f"  cnn_neurons: 61632\n  cnn_params: '21,024'\n  fcnn_neurons: {fcnn[0]}\n  fcnn_params: {fcnn[1]}\n"
                       "  disadvantage: overfitting")
    assert verdict("3.2", text).status == "correct"


@pytest.mark.parametrize("cnn_neurons,status,note", [
    (64704, "partial", "input image counted"), (49344, "partial", "pooling layers not counted"),
    (61633, "partial", ""),
])
def test_sizes_alternative_conventions_and_slips(cnn_neurons, status, note):
    text = yaml_answer(f"  cnn_neurons: {cnn_neurons}\n  cnn_params: 21024\n  fcnn_neurons: 61632\n  fcnn_params: 235667456")
    v = verdict("3.2", text)
    assert v.status == status
    assert note in v.details[0]["note"]


def test_sizes_a_neuron_convention_is_no_excuse_for_a_parameter_count():
    """64,704 is the CNN's neurons with the input counted (half credit as cnn_neurons); as cnn_params it is wrong."""
    text = yaml_answer("  cnn_neurons: 61632\n  cnn_params: 64704\n  fcnn_neurons: 4992\n  fcnn_params: 10063872")
    params = verdict("3.2", text).details[1]
    assert params["what"] == "cnn_params" and params["ok"] is False and params["credit"] == 0.0


def test_sizes_from_prose():
    text = ("**CNN.** Total neurons: 61,632. Total trainable parameters: 21,024.\n\n"
            "**FCNN.** In total it has 61,632 neurons and 235,667,456 parameters. More parameters mean overfitting.")
    assert verdict("3.2", text).status == "correct"
    wrong = text.replace("21,024", "21,120")
    assert verdict("3.2", wrong).status == "partial"


@pytest.mark.parametrize("fcnn_params, status", [("10.063.872", "correct"), ("1.063.872", "partial")])
def test_sizes_with_dots_as_thousands_separators(fcnn_params, status):
    """Two or more dot groups (10.063.872) are an integer; then a single group (61.632) in the same answer is too."""
    text = f"CNN: 61.632 neurons and 21.024 parameters.\nFCNN: 4.992 neurons and {fcnn_params} parameters. Overfitting.\n"
    v = verdict("3.2", text)
    assert v.status == status and all(d["ok"] is not None for d in v.details), v.details


@pytest.mark.parametrize("fcnn, status", [
    (r"4,992 neurons and $10\,063\,872 \approx 1.0\times 10^7$ parameters", "correct"),
    (r"$61\,632$ neurons and $235\,667\,456 \approx 2.4\times 10^8$ parameters", "correct"),
    (r"4,992 neurons and $10\,036\,872 \approx 1.0\times 10^7$ parameters", "partial"),
])
def test_sizes_with_thin_spaces_and_an_approximation(fcnn, status):
    text = f"CNN: 61,632 neurons and 21,024 parameters.\nFCNN: {fcnn}. More parameters: overfitting.\n"
    v = verdict("3.2", text)
    assert v.status == status and all(d["ok"] is not None for d in v.details), v.details


def test_sizes_without_a_total_the_last_number_is_the_networks():
    text = ("The CNN has 61,632 neurons; its first layer alone has 864 weights, the whole network 21,024 weights. "
            "The FCNN has 4,992 neurons and 10,063,872 parameters. More parameters overfit.")
    assert verdict("3.2", text).status == "correct"


@pytest.mark.parametrize("cnn_params, status", [("21,024", "correct"), ("21,023", "partial")])
def test_sizes_a_ratio_is_no_count(cnn_params, status):
    """"478 times as many parameters as the CNN" names the CNN and a number before "parameters": a ratio, not the
    CNN's parameter count (which was read as 478, a right answer judged partial)."""
    text = (f"The CNN has 61,632 neurons and {cnn_params} parameters. The FCNN has 4,992 neurons and 10,063,872 "
            "parameters, about 478 times as many parameters as the CNN. More parameters overfit.")
    assert verdict("3.2", text).status == status


@pytest.mark.parametrize("comparison", [
    "i.e. 10,042,848 more parameters than the CNN", "but 56,640 fewer neurons than the CNN",
])
def test_sizes_a_comparison_with_the_other_network_is_no_count_of_it(comparison):
    """"... more parameters than the CNN": the CNN named as what is compared with is no new subject, and a
    difference is no count (the difference, or the FCNN's own number, was read as the CNN's: partial)."""
    text = ("The CNN has 61,632 neurons and 21,024 parameters. The FCNN has 4,992 neurons and 10,063,872 "
            f"parameters, {comparison}. More parameters overfit.")
    assert verdict("3.2", text).status == "correct"
    assert verdict("3.2", text.replace("21,024", "21,023")).status == "partial"
    later = "The FCNN has 4,992 neurons and 10,063,872 parameters. With the CNN we get 61,632 neurons and 21,024 parameters."
    assert verdict("3.2", later + " More parameters overfit.").status == "correct"


@pytest.mark.parametrize("comparison", [
    "far fewer than the CNN", "far fewer than that of the CNN", "far fewer compared to the CNN",
    "far fewer compared with the CNN", "about a twelfth as many as the CNN",
])
def test_sizes_the_other_network_named_inside_a_clause_starts_no_segment(ref, comparison):
    """The CNN named in a comparison in the middle of the FCNN's sentence is no new subject: the FCNN's parameters
    after it stay the FCNN's (they were read as the CNN's count, and the FCNN had none)."""
    text = (f"The CNN has 61,632 neurons and 21,024 parameters. The FCNN has 4,992 neurons, {comparison}, "
            "but 10,063,872 parameters.")
    assert ref.ref_cnn.sizes_from_text(text) == {"cnn_neurons": 61632, "cnn_params": 21024, "fcnn_neurons": 4992,
                                             "fcnn_params": 10063872}


@pytest.mark.parametrize("text", [
    # the first network named, even after "compared with", is a subject: there is no other one yet
    "Compared with the CNN (61,632 neurons and 21,024 parameters), the FCNN has 4,992 neurons and 10,063,872 parameters.",
    # "as" that compares nothing, ending just before the next network's sentence
    "The FCNN has 4,992 neurons and 10,063,872 parameters, as computed. The CNN has 61,632 neurons and 21,024 parameters.",
])
def test_sizes_a_network_after_a_comparison_word_that_compares_nothing_is_a_subject(ref, text):
    assert ref.ref_cnn.sizes_from_text(text) == {"cnn_neurons": 61632, "cnn_params": 21024, "fcnn_neurons": 4992,
                                             "fcnn_params": 10063872}


@pytest.mark.parametrize("ratio", ["478 × as many parameters as the CNN", "a 478-fold more parameters than the CNN",
                                   "478-fold as many parameters as the CNN"])
def test_sizes_a_ratio_written_with_a_sign_or_fold_is_no_count(ref, ratio):
    text = f"The CNN has 61,632 neurons and 21,024 parameters. The FCNN has 4,992 neurons and 10,063,872 parameters, {ratio}."
    assert ref.ref_cnn.sizes_from_text(text)["fcnn_params"] == 10063872


SIZES_CNN = "The CNN has 61,632 neurons and 21,024 parameters. "


@pytest.mark.parametrize("fcnn, status", [
    # a hedge between values for one quantity is two answers, not the last one: right only if each is accepted
    ("The FCNN has 4,992 neurons and either 10,063,871 or 10,063,872 parameters.", "partial"),
    ("The FCNN has 4,992 neurons and 10,063,871 or 10,063,872 parameters.", "partial"),
    ("The FCNN has 4,992 neurons and 10,063,871/10,063,872 parameters.", "partial"),
    ("The FCNN has 4,992 neurons and between 10,063,871 and 10,063,872 parameters.", "partial"),
    # a comparison of the two networks' counts is no hedge
    ("The FCNN has 4,992 neurons and 10,063,872 parameters. The ratio between 10,063,872 and 21,024 is about 478.",
     "correct"),
    ("The FCNN has 4,992 neurons and 10,063,872 parameters; the gap between 21,024 and 10,063,872 is large.", "correct"),
    ("The FCNN has 4,992 neurons and 10,063,872 parameters, a factor of about 479 between 21,024 and 10,063,872.",
     "correct"),
    ("The FCNN has 4,992 neurons and 10,063,872 parameters, so between 21,024 and 10,063,872 there is a factor of 479.",
     "correct"),
    ("The FCNN has 4,992 neurons and 10,063,871, or maybe 10,063,872, parameters.", "partial"),
    ("The FCNN has 4,992 neurons. I think the FCNN has 10,063,871 parameters, but it could be 10,063,872.", "partial"),
    ("The FCNN has 4,992 neurons and either 10,063,872 or 235,667,456 parameters.", "partial"),  # neurons: one reading
    # both readings of the FCNN, each with its parameters, are accepted; neurons of both with one's parameters not
    ("The FCNN has either 4,992 or 61,632 neurons and either 10,063,872 or 235,667,456 parameters.", "correct"),
    ("The FCNN has either 61,632 or 4,992 neurons and either 235,667,456 or 10,063,872 parameters.", "correct"),
    ("The FCNN has either 4,992 or 61,632 neurons and 10,063,872 parameters.", "partial"),
    # two numbers that are no hedge: a stated convention, a ratio, a comparison
    ("The FCNN has 4,992 neurons (or 8,064 if the input is counted) and 10,063,872 parameters.", "correct"),
    ("The FCNN has 4,992 neurons and 10,063,872 parameters, 10,063,872/21,024 = 478.7 times as many.", "correct"),
    ("The FCNN has 4,992 neurons and 10,063,872 parameters, or roughly 478 times as many.", "correct"),
    ("The FCNN has 4,992 neurons and 10,063,872 parameters, i.e. 10,063,872/21,024 times as many.", "correct"),
    # a restatement in millions with decimals: "10.06 million", not a hedge with "10"
    ("The FCNN has 4,992 neurons and 10,063,872 parameters (or 10.06 million).", "correct"),
    ("The FCNN has 4,992 neurons. FCNN parameters: 10,063,872 (or 10.1 M).", "correct"),
])
def test_sizes_a_hedge_is_two_answers_for_one_quantity(fcnn, status):
    v = verdict("3.2", SIZES_CNN + fcnn + " More parameters overfit.")
    assert v.status == status, v.details
    notes = " ".join(d["note"] for d in v.details if d["ok"] is False)
    assert ("one network has both numbers" if "61,632 neurons and 10" in fcnn else
            "two answers for one quantity" if status == "partial" else "") in notes


@pytest.mark.parametrize("fcnn, found", [
    # the exact count restated rounded, in brackets or between commas, is the same answer, not a count of its own
    ("10,063,872 (or 10.06 million) parameters", 10063872), ("10,063,872 (~10.1M) parameters", 10063872),
    ("10,063,872 (about 10 million) parameters", 10063872), ("10 063 872 (roughly 10.1 million) parameters", 10063872),
    ("10,063,872, or about 10 million, parameters", 10063872), ("10,063,872, i.e. 10.06M, parameters", 10063872),
    # another number in millions is not that count restated: it stays what is read (and judged wrong)
    ("10,063,872 (or 12 million) parameters", 12), ("10,063,871 (or 10.06 million) parameters", 10063871),
])
def test_sizes_a_count_restated_in_millions_is_the_same_answer(fcnn, found):
    v = verdict("3.2", SIZES_CNN + f"The FCNN has 4,992 neurons and {fcnn}. More parameters overfit.")
    [params] = [d for d in v.details if d["what"] == "fcnn_params"]
    assert (params["found"], v.status) == (found, "correct" if found == 10063872 else "partial"), v.details


def test_sizes_a_hedged_cnn_count_is_not_the_reference():
    """61,632 or 64,704 (the input counted, half credit alone): a hedge, no credit; the same for the parameters."""
    fcnn = "The FCNN has 4,992 neurons and 10,063,872 parameters. More parameters overfit."
    for cnn in ("The CNN has either 61,632 or 64,704 neurons and 21,024 parameters. ",
                "The CNN has 61,632 neurons and 21,024 or 21,120 parameters. "):
        v = verdict("3.2", cnn + fcnn)
        [bad] = [d for d in v.details if d["ok"] is False]
        assert v.status == "partial" and bad["credit"] == 0.0 and " or " in bad["found"], v.details


def test_sizes_from_worked_sums():
    text = ("CNN: total neurons = 32,768 + 8,192 + 16,384 + 4,096 + 192 = 61,632; "
            "total parameters = 864 + 18,432 + 1,728 = 21,024.\n"
            "FCNN: total neurons = 3,072 + 768 + 768 + 192 + 192 = 4,992; "
            "total parameters = 9,437,184 + 589,824 + 36,864 = 10,063,872. More parameters: overfitting.")
    assert verdict("3.2", text).status == "correct"
    assert verdict("3.2", text.replace("= 21,024", "= 21,120")).status == "partial"


def test_sizes_boxed_numbers_before_their_labels():
    """In "$\\boxed{61{,}632}$ neurons and ..." the box's closing brace hid the number before "neurons", so the
    number after it (the parameters) was taken as the neurons (partial)."""
    text = (r"The CNN has $\boxed{61{,}632}$ neurons and $\boxed{21{,}024}$ parameters; the FCNN has "
            r"$\boxed{4{,}992}$ neurons and $\boxed{10{,}063{,}872}$ parameters. More parameters overfit.")
    assert verdict("3.2", text).status == "correct"


@pytest.mark.parametrize("text", [
    "Number of neurons in the CNN = 61632\nNumber of trainable parameters in the CNN = 21024\n"
    "Number of neurons in the FCNN = 4992\nNumber of trainable parameters in the FCNN = 10063872\n"
    "Disadvantage: overfitting.",
    "Total neurons (CNN) = 61,632. Total params (CNN) = 864 + 18,432 + 1,728 = 21,024. "
    "Total neurons (FCNN) = 4,992. Total params (FCNN) = 10,063,872. More parameters overfit.",
])
def test_sizes_network_named_after_the_quantity(text):
    assert verdict("3.2", text).status == "correct"


@pytest.mark.parametrize("text", [
    "The CNN has 61632 neurons and 21024 parameters, whereas the FCNN has 4992 neurons and 10063872 parameters. "
    "More parameters overfit.",
    "There are 61,632 neurons in the CNN and 4,992 neurons in the FCNN; 21,024 parameters in the CNN and "
    "10,063,872 parameters in the FCNN. More parameters overfit.",
])
def test_sizes_both_networks_in_one_sentence(text):
    """A sentence naming both networks: each clause is its network's. The CNN's clause was cut to its name, so the
    CNN numbers of the first text were not found (unchecked)."""
    assert verdict("3.2", text).status == "correct"


SIZE_TABLES = {
    "networks as columns": "| | CNN | FCNN |\n|---|---|---|\n| neurons | 61,632 | 4,992 |\n"
                           "| trainable parameters | 21,024 | 10,063,872 |\n",
    "networks as rows": "| Network | Neurons | Parameters (no biases) |\n|:--|--:|--:|\n| **CNN** | 61632 | 21024 |\n"
                        "| **FCNN** | 4992 | $10\\,063\\,872$ |\n",
    "parameters written as a norm": "| | CNN | FCNN |\n|---|---|---|\n| neurons | 61,632 | 4,992 |\n"
                                    "| parameters $|\\theta|$ | 21,024 | 10,063,872 |\n",  # its | once split the row
    "one row per layer": "CNN:\n\n| Layer | Output | Neurons | Params |\n|---|---|---|---|\n| conv1 | 32x32x32 | 32,768 | 864 |\n"
                         "| pool1 | 16x16x32 | 8,192 | 0 |\n| conv2 | 16x16x64 | 16,384 | 18,432 |\n"
                         "| pool2 | 8x8x64 | 4,096 | 0 |\n| conv3 | 8x8x3 | 192 | 1,728 |\n| **Total** | | **61,632** | **21,024** |\n\n"
                         "FCNN:\n\n| Layer | Neurons | Params |\n|---|---|---|\n| fc1 | 3,072 | 9,437,184 |\n"
                         "| fc2 | 768 | 589,824 |\n| Total | 4,992 | 9,437,184 + 589,824 + 36,864 = 10,063,872 |\n",
}


SIZE_TABLES["a ratio row after the networks"] = SIZE_TABLES["networks as rows"] + "| Ratio (FCNN / CNN) | 0.081 | 478.7 |\n"


@pytest.mark.parametrize("layout", sorted(SIZE_TABLES))
def test_sizes_from_a_markdown_table(layout):
    text = SIZE_TABLES[layout] + "\nMore parameters mean more overfitting.\n"
    v = verdict("3.2", text)
    assert v.status == "correct", v.details
    wrong = verdict("3.2", text.replace("21,024", "21,120").replace("21024", "21120"))
    assert wrong.status == "partial" and [d["what"] for d in wrong.details if d["ok"] is False] == ["cnn_params"]


def test_sizes_a_table_row_in_millions_is_not_a_second_count():
    text = SIZE_TABLES["networks as columns"] + "| parameters (millions) | 0.021 | 10.06 |\n\nMore parameters overfit.\n"
    assert verdict("3.2", text).status == "correct"


def test_sizes_a_per_layer_table_without_a_total_row_leaves_the_totals_to_the_prose():
    per_layer = SIZE_TABLES["one row per layer"].split("| **Total**")[0]
    text = (per_layer + "\n\nIn total the CNN has 61,632 neurons and 21,024 parameters. The FCNN has 4,992 neurons "
            "and 10,063,872 parameters. More parameters overfit.\n")
    assert verdict("3.2", text).status == "correct"


def test_sizes_from_a_per_layer_table_after_a_long_table():
    """The network a per-layer table is of is the last one named before it, found within the check's time limit
    after a long table (each cell searched the whole text before it again: a 4,000-row log took 10 s, 15x a 1,000-row one)."""
    log = "| epoch | loss |\n|---|---|\n" + "".join(f"| {e} | 0.{e % 97 + 1:02d} |\n" for e in range(4_000))
    text = log + "\n" + SIZE_TABLES["one row per layer"] + "\nMore parameters mean more overfitting.\n"
    v = check_text("a2", "3.2", text, timeout_s=5.0)
    assert v.status == "correct", v.details


def test_sizes_second_method_real_cnn():
    """Real (CPU) CNN with nn.Conv2d layers: parameters and output sizes by a plain loop."""
    cnn = nn.Sequential(nn.Conv2d(3, 32, 3, padding=1, bias=False), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, padding=1, bias=False),
                        nn.MaxPool2d(2), nn.Conv2d(64, 3, 3, padding=1, bias=False))
    x, neurons = torch.zeros(1, 3, 32, 32), 0
    for layer in cnn:
        x = layer(x)
        neurons += x.numel()
    ref = load_reference(load_pack("a2")).ref_cnn.size_reference()
    assert (neurons, sum(p.numel() for p in cnn.parameters())) == (ref["cnn"]["neurons"], ref["cnn"]["params"])
    assert ref["keep-shape"]["params"] == 3072**2 + 768**2 + 192**2


# ---------------------------------------------------------------- 4.3

COUNTS = {"weights": "9 NIC NF + 36 NF^2 + 9 NF NC + 9 NC^2", "outputs": "1600 NF + 1280 NC",
          "connections": "9216 NIC NF + 5760 NF^2 + 2304 NF NC + 9216 NC^2",
          "weights_doubled": "9 NIC NF + 36 NF^2 + 9 NF NC + 9 NC^2", "outputs_doubled": "6400 NF + 5120 NC",
          "connections_doubled": "36864 NIC NF + 23040 NF^2 + 9216 NF NC + 36864 NC^2"}


def counts_yaml(**changes):
    values = {**COUNTS, **changes}
    return yaml_answer("\n".join(f"  {k}: '{v}'" for k, v in values.items()))


def test_counts_right_and_tex_form():
    assert verdict("4.3", counts_yaml()).status == "correct"
    tex = counts_yaml(weights=r"9\,NIC\cdot NF + 36NF^{2} + 9 NF\,NC + 9NC^2", outputs=r"k^2 \cdot 0 + 1600NF + 1280NC")
    assert verdict("4.3", tex).status == "correct"


@pytest.mark.parametrize("count", ["36864 NC^1000000", "(NIC + NF + NC)^13"])
def test_counts_of_a_huge_degree_are_unreadable(count):
    """sympy.Poly of NC^(10^30) builds a dense list of 10^30 coefficients, and (NIC + NF + NC)^100000 expands to
    ~5*10^9 terms: `check 4.3` never returned. A power far above degree 2 is named as unreadable."""
    from workbench.errors import UsageError

    with pytest.raises(UsageError, match="far above a count's degree 2"):
        verdict("4.3", counts_yaml(connections_doubled=count))


def test_counts_doubled_weights_times_four_is_caught():
    v = verdict("4.3", counts_yaml(weights_doubled="36 NIC NF + 144 NF^2 + 36 NF NC + 36 NC^2"))
    assert v.status == "partial"
    bad = [d for d in v.details if d["ok"] is False]
    assert [d["what"] for d in bad] == ["weights_doubled"]
    assert "do not depend on the input size" in bad[0]["note"]


def test_counts_batchnorm_included_is_accepted():
    v = verdict("4.3", counts_yaml(weights="9 NIC NF + 36 NF^2 + 9 NF NC + 9 NC^2 + 4 NF + NC",
                                   weights_doubled="9 NIC NF + 36 NF^2 + 9 NF NC + 9 NC^2 + 4 NF + NC"))
    assert v.status == "correct"
    assert "BatchNorm2d included" in v.details[0]["note"]


def test_counts_every_layer_but_batchnorm_earns_half():
    """Conv, pooling, upsampling and ReLU outputs (Figure 1a by hand): 1600 NF + 1280 NC from the convs, 384 NF from
    the pools, 256 NF + 1024 NC from the upsamplings, 640 NF + 1024 NC from the ReLUs; x4 at 64x64."""
    v = verdict("4.3", counts_yaml(outputs="2880 NF + 3328 NC", outputs_doubled="11520 NF + 13312 NC"))
    half = [d for d in v.details if d["credit"] != 1.0]
    assert [(d["what"], d["ok"], d["credit"]) for d in half] == [("outputs", True, 0.5), ("outputs_doubled", True, 0.5)]
    assert "every layer but BatchNorm2d" in half[0]["note"] and v.status == "partial"


@pytest.mark.parametrize("doubled, hint", [("1600 NF + 1280 NC", "doubling width and height multiplies them by 4"),
                                           ("3200 NF + 2560 NC", "(x4 when both double), not x2")])
def test_counts_doubled_outputs_not_scaled_by_four_are_explained(doubled, hint):
    bad = [d for d in verdict("4.3", counts_yaml(outputs_doubled=doubled)).details if d["ok"] is False]
    assert [d["what"] for d in bad] == ["outputs_doubled"] and hint in bad[0]["note"]


COUNTS_PROSE = ("- Weights: 9 NIC NF + 36 NF^2 + 9 NF NC + 9 NC^2\n- Outputs: 1600 NF + 1280 NC\n"
                "- Connections: 9216 NIC NF + 5760 NF^2 + 2304 NF NC + 9216 NC^2\n\nWith the input doubled (64x64):\n"
                "- Weights: 9 NIC NF + 36 NF^2 + 9 NF NC + 9 NC^2\n- Outputs: 6400 NF + 5120 NC\n"
                "- Connections: 36864 NIC NF + 23040 NF^2 + 9216 NF NC + 36864 NC^2\n")  # the right answer, by hand


def test_counts_from_prose():
    assert verdict("4.3", "For 32x32 inputs:\n" + COUNTS_PROSE).status == "correct"


@pytest.mark.parametrize("remark", ["(conv layers only, BatchNorm not counted)", "(Conv2d weights only)"])
def test_counts_from_prose_with_a_remark_in_capitals_after_a_formula(remark):
    """A remark after the formula was dropped only in lower case ("(unchanged)"): "BatchNorm" or "Conv2d" in it
    left the formula unread (unchecked)."""
    text = "For 32x32 inputs:\n" + COUNTS_PROSE.replace("9 NC^2\n", f"9 NC^2 {remark}\n", 1)
    assert verdict("4.3", text).status == "correct"
    assert verdict("4.3", text.replace("36 NF^2 + 9 NF NC + 9 NC^2 (", "36 NF^2 + 9 NF NC + 8 NC^2 (")).status == "partial"


def test_counts_from_prose_the_last_line_of_a_quantity_wins():
    """A worked answer names a layer's count before the total: the total, stated last, is the answer."""
    text = "For 32x32 inputs, the first conv alone has weights = 9 NIC NF and outputs = 1024 NF.\n" + COUNTS_PROSE
    assert verdict("4.3", text).status == "correct"


def test_counts_with_display_math_below_the_label():
    """'**Weights:**' with its formula in \\[ ... \\] on the lines below, and a remark after it, was unchecked."""
    text = ("**Weights:**\n\\[\n W = 9\\,\\mathrm{NIC}\\,\\mathrm{NF} + 36\\,\\mathrm{NF}^2 + 9 NF NC + 9 NC^2\n\\]\n\n"
            "**Outputs:**\n$$\nO = 1600 NF + 1280 NC\n$$\n\nWith the input doubled:\n\n"
            "**Outputs:** \\[ O' = 3200 NF + 2560 NC \\] (doubled)\n")
    d = {x["what"]: x["ok"] for x in verdict("4.3", text).details}
    assert (d["weights"], d["outputs"], d["outputs_doubled"]) == (True, True, False)


def test_counts_with_display_math_after_a_long_run_of_blank_lines():
    """A model stuck emitting blank lines before its formulas: the counts are still read, within the check's time
    limit (each position of the run was tried against the whole run: 40,000 blank lines took 14 s, 17x 10,000)."""
    text = ("**Weights:**\n\\[\n W = 9\\,\\mathrm{NIC}\\,\\mathrm{NF} + 36\\,\\mathrm{NF}^2 + 9 NF NC + 9 NC^2\n\\]\n"
            + "\n" * 40_000 + "**Outputs:**\n$$\nO = 1600 NF + 1280 NC\n$$\n")
    d = {x["what"]: x["ok"] for x in check_text("a2", "4.3", text, timeout_s=5.0).details}
    assert (d["weights"], d["outputs"]) == (True, True)


def test_counts_with_tex_thousands_separators():
    """A sole side with "5{,}760" did not parse ("unexpected ','"): the count was not found (unchecked)."""
    text = ("Weights: $9 NIC NF + 36 NF^2 + 9 NF NC + 9 NC^2$\nOutputs: $1{,}600 NF + 1{,}280 NC$\n"
            "Connections: $9{,}216 NIC NF + 5{,}760 NF^2 + 2{,}304 NF NC + 9{,}216 NC^2$\n")
    assert [d["ok"] for d in verdict("4.3", text).details[:3]] == [True, True, True]


def test_counts_in_a_box():
    """"Outputs: $\\boxed{1600 NF + 1280 NC}$" did not parse (cannot read '\\boxed{1600'): unchecked."""
    text = "Weights: $\\boxed{9 NIC NF + 36 NF^2 + 9 NF NC + 9 NC^2}$\nOutputs: $\\boxed{1600\\,\\mathrm{NF} + 1280 NC}$\n"
    assert [d["ok"] for d in verdict("4.3", text).details[:2]] == [True, True]


@pytest.mark.parametrize("text", [
    counts_yaml().replace("'1600 NF + 1280 NC'", "1.5"),  # a YAML float, once truncated to 1
    counts_yaml(outputs="1600.5 NF + 1280 NC"),
    "For 32x32 inputs:\n- Weights: 9 NIC NF + 36 NF^2 + 9 NF NC + 9 NC^2\n- Outputs: 1600.5 NF + 1280 NC\n",
])
def test_a_count_with_a_non_integer_coefficient_is_judged_as_written(text):
    outputs = verdict("4.3", text).details[1]
    assert outputs["what"] == "outputs" and outputs["ok"] is False
    assert outputs["found"] in ("3/2", "3201/2 NF + 1280 NC")


COUNT_TABLE = ("| Quantity | 32×32 input | 64×64 input (doubled) |\n|---|---|---|\n"
               "| Weights | $9\\,NIC\\cdot NF + 36 NF^2 + 9 NF\\,NC + 9 NC^2$ | unchanged |\n"
               "| Outputs | 1600 NF + 1280 NC | 6400 NF + 5120 NC |\n"
               "| Connections | 9216 NIC NF + 5760 NF^2 + 2304 NF NC + 9216 NC^2 "
               "| 36864 NIC NF + 23040 NF^2 + 9216 NF NC + 36864 NC^2 |\n")


def test_counts_from_a_markdown_table():
    assert verdict("4.3", COUNT_TABLE).status == "correct"
    per_layer = ("For a 32x32 input:\n\n| Layer | Weights | Outputs | Connections |\n|---|---|---|---|\n"
                 "| conv1 | 9 NIC NF | 1024 NF | 9216 NIC NF |\n"
                 "| Total | 9 NIC NF + 36 NF^2 + 9 NF NC + 9 NC^2 | 1600 NF + 1280 NC | 9216 NIC NF + 5760 NF^2 + 2304 NF NC + 9216 NC^2 |\n\n"
                 "With the input doubled:\n\n| Layer | Weights | Outputs | Connections |\n|---|---|---|---|\n"
                 "| Total | 9 NIC NF + 36 NF^2 + 9 NF NC + 9 NC^2 | 6400 NF + 5120 NC | 36864 NIC NF + 23040 NF^2 + 9216 NF NC + 36864 NC^2 |\n")
    assert verdict("4.3", per_layer).status == "correct"
    v = verdict("4.3", COUNT_TABLE.replace("unchanged", "36 NIC NF + 144 NF^2 + 36 NF NC + 36 NC^2"))
    assert v.status == "partial" and [d["what"] for d in v.details if d["ok"] is False] == ["weights_doubled"]
    v = verdict("4.3", COUNT_TABLE.replace("6400 NF", "3200 NF"))
    assert v.status == "partial" and [d["what"] for d in v.details if d["ok"] is False] == ["outputs_doubled"]


def test_counts_from_a_table_whose_labels_hold_norms():
    """`$|W|$` and `$\\|W\\|_0$` are one cell each; split at their bars, the counts landed under other columns."""
    table = COUNT_TABLE.replace("| Weights |", "| Weights $|W|$ (nonzero: $\\|W\\|_0$) |")
    assert verdict("4.3", table).status == "correct"


@pytest.mark.parametrize("header", ["| | 32x32 | 64x64 |", "| Quantity | 32x32 input | 64x64 input |"])
def test_counts_from_a_table_with_ascii_sizes(header):
    """'32x32' has no word boundary after 32: both columns were read as the 32x32 one, so nothing was found."""
    table = COUNT_TABLE.replace(COUNT_TABLE.split("\n")[0], header)
    assert verdict("4.3", table).status == "correct"


class _OwnPoolUpsample(nn.Module):
    """An independent PoolUpsampleNet written from Figure 1a for the cross-check."""

    def __init__(self, nic, nf, nc):
        super().__init__()
        chans = [(nic, nf), (nf, 2 * nf), (2 * nf, nf), (nf, nc), (nc, nc)]
        self.convs = nn.ModuleList(nn.Conv2d(a, b, 3, padding=1, bias=False) for a, b in chans)

    def counts(self, size):
        x, w, o, c = torch.zeros(1, self.convs[0].in_channels, size, size), 0, 0, 0
        for i, conv in enumerate(self.convs):
            x = conv(x)
            w, o, c = w + conv.weight.numel(), o + x.numel(), c + x.numel() * 9 * conv.in_channels
            x = nn.functional.max_pool2d(x, 2) if i < 2 else nn.functional.interpolate(x, scale_factor=2) if i < 4 else x
        return w, o, c


def test_counts_formula_equals_independent_model(ref):
    polys = ref.ref_counts.count_reference()
    NIC, NF, NC = sympy.symbols("NIC NF NC")
    for nic, nf, nc in ((1, 32, 24), (3, 7, 5)):
        for size in (32, 64):
            got = _OwnPoolUpsample(nic, nf, nc).counts(size)
            want = tuple(int(polys[size]["conv"][q].subs({NIC: nic, NF: nf, NC: nc})) for q in ("weights", "outputs", "connections"))
            assert got == want


# ---------------------------------------------------------------- 5.4

PAD = "  k4: {conv_padding: %s, tconv_padding: %s, output_padding: %s}\n  k5: {conv_padding: 2, tconv_padding: 2, output_padding: 1}"


def test_padding_written_in_tex():
    """In "padding $= 1$ with output_padding $= 1$" the "$" hid every padding (unchecked, not partial)."""
    text = ("For $k = 4$ the convs need padding $= 1$; the transposed convs need padding $= 1$ with output_padding $= 1$.\n"
            "For $k = 5$ the convs need padding $= 2$; the transposed convs need padding $= 2$ with output_padding $= 1$.")
    assert verdict("5.4", text).status == "partial"


@pytest.mark.parametrize("k4,status", [((1, 1, 0), "correct"), ((1, 2, 2), "partial"), ((2, 1, 0), "partial")])
def test_padding(k4, status):
    v = verdict("5.4", yaml_answer(PAD % k4))
    assert v.status == status
    if k4[2] == 2:
        assert "output_padding 2 is invalid" in v.critique


def test_padding_not_found_names_the_kernel():
    v = verdict("5.4", "For kernel 5: Conv2d padding=2; ConvTranspose2d padding=2, output_padding=1.")
    assert v.status == "unchecked" and v.reason == "not checked: kernel 4 (no paddings found for kernel 4)"
    assert verdict("5.4", "I do not know.").reason == "no paddings found for kernel 4; no paddings found for kernel 5"


def test_padding_from_prose():
    text = ("For a kernel size of 4: the Conv2d layers use padding=1, and the ConvTranspose2d layers padding=1 "
            "with output_padding=0.\nFor kernel size 5: Conv2d padding=2; ConvTranspose2d padding=2, output_padding=1.")
    assert verdict("5.4", text).status == "correct"


@pytest.mark.parametrize("text, status", [
    ("For kernel 4: conv padding = 1, transposed conv padding = 1, output_padding = 0. "
     "For kernel 5: conv padding = 2, transposed conv padding = 2, output_padding = 1.", "correct"),
    ("For kernel 4: conv padding = 1, transposed conv padding = 2, output_padding = 0. "
     "For kernel 5: conv padding = 2, transposed conv padding = 2, output_padding = 1.", "partial"),
    # hyphenated: "transposed-conv padding" was read as a plain conv's (its critique said the tconv's "not stated")
    ("For kernel 4: conv padding 1, transposed-conv padding 1, output_padding 0.\n"
     "For kernel 5: conv padding 2, transposed-conv padding 2, output_padding 1.", "correct"),
    ("For kernel 4: conv padding 1, conv-transpose padding 2, output_padding 0.\n"
     "For kernel 5: conv padding 2, conv-transpose padding 2, output_padding 1.", "partial"),
    ("k = 4: padding 1 for the convolutions and padding 1, output padding 0 for the transposed convolutions.\n"
     "k = 5: padding 2 for the convolutions and padding 2, output padding 1 for the transposed convolutions.", "correct"),
    ("k = 4: padding 1 for the convolutions and padding 1, output padding 0 for the conv-transpose layers.\n"
     "k = 5: padding 2 for the convolutions and padding 2, output padding 1 for the conv-transpose layers.", "correct"),
    # a bare padding, then the transposed convolution's own: the bare one is the plain convolution's
    ("Kernel 4: padding=1, output_padding=0 (transpose padding 1).\nKernel 5: padding=2, output_padding=1 "
     "(transpose padding 2).", "correct"),
    ("Kernel 4: padding=2, output_padding=0 (transpose padding 1).\nKernel 5: padding=2, output_padding=1 "
     "(transpose padding 2).", "partial"),
    ("Kernel 4: padding=1, output_padding=0 (transpose padding 2).\nKernel 5: padding=2, output_padding=1 "
     "(transpose padding 2).", "partial"),
    # one padding said of both layer kinds ("for both the Conv2d and ConvTranspose2d layers") is each one's
    ("Kernel 4: padding = 1 for both the Conv2d and ConvTranspose2d layers, with output_padding = 0.\n"
     "Kernel 5: padding = 2 (same for conv and transposed conv), output_padding = 1.", "correct"),
    ("Kernel 4: padding = 1 for both the Conv2d and ConvTranspose2d layers, with output_padding = 1.\n"
     "Kernel 5: padding = 2 (same for conv and transposed conv), output_padding = 1.", "partial"),
    ("Kernel 4: padding = 1 for the Conv2d and the ConvTranspose2d uses padding = 2, output_padding = 0.\n"
     "Kernel 5: padding = 2 (same for conv and transposed conv), output_padding = 1.", "partial"),
    # a size before the word ("a 4x4 kernel"), and "block 4" is no kernel
    ("With a 4x4 kernel: padding 1, transposed padding 1, output padding 0.\n"
     "With a 5x5 kernel: padding 2, transposed padding 2, output padding 1.", "correct"),
    ("With a 4x4 kernel: padding 1, transposed padding 1, output padding 0.\n"
     "With a 5x5 kernel: padding 2, transposed padding 1, output padding 1.", "partial"),
    ("Kernel 4: padding 1, transposed padding 1, output padding 0.\n"
     "Kernel 5: in block 4 padding 1, transposed padding 2, output padding 1.", "partial"),
    # Markdown tables, either way round
    ("| kernel | conv pad | tconv pad | output pad |\n|---|---|---|---|\n| 4 | 1 | 1 | 0 |\n| 5 | 2 | 2 | 1 |\n", "correct"),
    ("| kernel | conv pad | tconv pad | output pad |\n|---|---|---|---|\n| 4 | 1 | 1 | 1 |\n| 5 | 2 | 2 | 0 |\n", "partial"),
    ("| Kernel | Conv2d padding | ConvTranspose2d padding | output_padding |\n|---|---|---|---|\n"
     "| 4 | 1 | 1 | 0 |\n| 5 | 2 | 2 | 1 |\n", "correct"),
    ("| | k = 4 | k = 5 |\n|---|---|---|\n| `nn.Conv2d` padding | 1 | 2 |\n| `nn.ConvTranspose2d` padding | 1 | 2 |\n"
     "| output_padding | 0 | 1 |\n", "correct"),
    ("| | k = 4 | k = 5 |\n|---|---|---|\n| `nn.Conv2d` padding | 1 | 2 |\n| `nn.ConvTranspose2d` padding | 1 | 2 |\n"
     "| output_padding | 0 | 0 |\n", "partial"),
    ("| Kernel | Conv2d padding | ConvTranspose2d padding | output_padding |\n|---|---|---|---|\n"
     "| 4 | 2 | 1 | 0 |\n| 5 | 2 | 2 | 1 |\n", "partial"),
    ("| Kernel | Conv2d padding | ConvTranspose2d padding | output_padding |\n|---|---|---|---|\n"  # 4x4: no \b after 4
     "| 4x4 | 1 | 1 | 0 |\n| 5x5 | 2 | 2 | 1 |\n", "correct"),
    # an output size is no output_padding, nor is a padding said to give some output
    ("| | k = 4 | k = 5 |\n|---|---|---|\n| `nn.Conv2d` padding (output 16x16) | 1 | 2 |\n"
     "| `nn.ConvTranspose2d` padding | 1 | 2 |\n| final output size | 32 | 32 |\n| output_padding | 0 | 1 |\n", "correct"),
    ("| Kernel | Conv2d padding | ConvTranspose2d padding | output size | output padding |\n|---|---|---|---|---|\n"
     "| 4 | 1 | 1 | 32 | 0 |\n| 5 | 2 | 2 | 32 | 1 |\n", "correct"),
])
def test_padding_of_each_layer(text, status):
    """In prose each padding belongs to the layer named just before it (else just after), not to any layer on its
    line; in a table, to its row's or column's layer."""
    v = verdict("5.4", text)
    assert v.status == status, v.details
    assert all(d["ok"] is not None for d in v.details)


@pytest.mark.parametrize("text, k4", [
    # "all"/"every" said of one layer kind only is that kind's padding, not both
    ("Kernel 4: padding = 1 in all ConvTranspose2d layers\nConv2d: padding = 2\n", {"tconv_padding": 1, "conv_padding": 2}),
    ("Kernel 4: padding = 1 for all Conv2d layers\nConvTranspose2d: padding = 2\n", {"conv_padding": 1, "tconv_padding": 2}),
    # "the same for both ..." after the second padding says nothing of the first one
    ("Kernel 4: Conv2d padding = 1, ConvTranspose2d padding = 2, the same for both the Conv2d and ConvTranspose2d "
     "kernels\n", {"conv_padding": 1, "tconv_padding": 2}),
    # an output_padding said of each ConvTranspose2d stays an output_padding
    ("Kernel 4: Conv2d padding = 1\nConvTranspose2d padding = 2, output_padding = 0 for each ConvTranspose2d, none for "
     "Conv2d\n", {"conv_padding": 1, "tconv_padding": 2, "output_padding": 0}),
])
def test_padding_said_of_both_layer_kinds_only_when_its_own_clause_names_both(ref, text, k4):
    assert ref.ref_padding.padding_from_text(text) == {"k4": k4}


def test_padding_a_table_wins_over_the_prose_around_it():
    text = ("With kernel 5, a conv padding of 1 would give 15x15, so:\n\n"
            "| Kernel | Conv2d padding | ConvTranspose2d padding | output_padding |\n|---|---|---|---|\n"
            "| 4 | 1 | 1 | 0 |\n| 5 | 2 | 2 | 1 |\n")
    assert verdict("5.4", text).status == "correct"


def test_padding_a_value_mentioned_in_passing_after_the_answer_is_not_the_answer():
    text = ("Kernel 4: conv padding = 1, transposed conv padding = 1, output_padding = 0.\n"
            "Kernel 5: conv padding = 2 (a padding of 1 would give 15x15, not 16x16), transposed conv padding = 2, "
            "output_padding = 1.")
    assert verdict("5.4", text).status == "correct"


@pytest.mark.parametrize("k4, k5, status", [
    # a hedge between two paddings of one layer is two answers, not the first one (only one padding maps the shapes)
    ("1 or 2", "1", "partial"), ("either 1 or 2", "1", "partial"), ("1 (or possibly 2)", "1", "partial"),
    ("1, or maybe 2", "1", "partial"), ("1", "1, but it could be 0", "partial"),
    ("1", "either 1 or 0", "partial"),
    ("1 or 2 for both the Conv2d and the ConvTranspose2d", "1", "partial"),
    ("1", "1", "correct"),
])
def test_padding_a_hedge_is_two_answers_for_one_padding(k4, k5, status):
    text = (f"For kernel 4: Conv2d padding = {k4}, ConvTranspose2d padding = 1, output_padding = 0.\n"
            f"For kernel 5: Conv2d padding = 2, ConvTranspose2d padding = 2, output_padding = {k5}.\n")
    v = verdict("5.4", text)
    assert v.status == status, v.details
    assert ("two answers for one quantity" in v.critique) == (status == "partial")


def test_padding_another_kernels_value_beside_it_is_no_hedge(ref):
    text = "For kernel 4: Conv2d padding = 1 (or 2 with a larger kernel), ConvTranspose2d padding = 1, output_padding = 0."
    assert ref.ref_padding.padding_from_text(text) == {"k4": {"conv_padding": 1, "tconv_padding": 1, "output_padding": 0}}


@pytest.mark.parametrize("k4, status", [
    # the other kernel's value in brackets after kernel 4's is context: its "k=5" starts no kernel-5 block, so the
    # transposed convolution's paddings after it stay kernel 4's
    ("conv padding = 1 (or 2 for k=5), transposed conv padding = 1, output_padding = 0", "correct"),
    ("conv padding = 1 (2 for kernel 5), transposed conv padding = 1 (2 for k = 5), output_padding = 0 (1 for k=5)",
     "correct"),
    ("conv padding = 1 (or 2 when k=5), transposed conv padding = 1, output_padding = 0", "correct"),
    ("conv padding = 2 (or 1 for k=4), transposed conv padding = 1, output_padding = 0", "partial"),  # its own is wrong
    ("conv padding = 1 or 2, transposed conv padding = 1, output_padding = 0", "partial"),  # a hedge stays one
])
def test_padding_another_kernels_value_in_brackets_is_context(ref, k4, status):
    text = f"For kernel 4: {k4}.\nFor kernel 5: conv padding = 2, transposed conv padding = 2, output_padding = 1."
    assert ref.ref_padding.padding_from_text(text)["k5"] == {"conv_padding": 2, "tconv_padding": 2, "output_padding": 1}
    assert verdict("5.4", text).status == status


@pytest.mark.parametrize("k", [3, 4, 5])
def test_padding_search_matches_documented_formula(ref, k):
    """Second method: PyTorch's documented shape formulas, solved by hand over the same ranges."""
    s = ref.ref_padding.padding_search(k)
    conv = [p for p in range(k + 1) if all((h + 2 * p - k) // 2 + 1 == h // 2 for h in (32, 16))]
    tconv = [(p, op) for p in range(k + 1) for op in range(2) if all((h - 1) * 2 - 2 * p + k + op == 2 * h for h in (8, 16))]
    assert s["conv_padding"] == conv and s["tconv"] == tconv
    assert all(r["output_padding"] >= 2 for r in s["rejected"])


# ---------------------------------------------------------------- 2.x formulas

@pytest.mark.parametrize("pid,text,status", [
    ("2.2.1", r"$w_1 = w_0 - \frac{2\eta}{n}X^\top(Xw_0 - t)$, so $L_1 = \frac{1}{n}\|a - \frac{2\eta}{n}XX^\top a\|^2$.", "correct"),
    ("2.2.1", "w1 = w0 - (2 eta / n) X^T (X w0 - t)\nL1 = (1/n) ||X w0 - t - (2 eta/n) X X^T (X w0 - t)||^2", "correct"),
    ("2.2.1", r"$w_1 = w_0 + \frac{2\eta}{n}X^\top(Xw_0 - t)$ and $L_1 = \frac{1}{n}\|a - \frac{2\eta}{n}XX^\top a\|^2$", "partial"),
    # formulas in a Markdown table, labelled by the row's first cell or by the column header
    ("2.2.1", "| | |\n|---|---|\n| $w_1$ | $w_0 - \\frac{2\\eta}{n}X^\\top a$ |\n| $L_1$ | $\\frac{1}{n}\\|a - \\frac{\\eta}{n}XX^\\top a\\|^2$ |", "partial"),
    ("2.3.1", "| | $w_1$ |\n|---|---|\n| L2 | $(1 - 2\\eta\\tilde\\lambda)w_0 - \\frac{2\\eta}{n}X^\\top a$ |\n"
              "| decay | $(1 - \\lambda)w_0 - \\frac{2\\eta}{n}X^\\top a$ |", "correct"),
    # the identity matrix I, sized by what it is added to
    ("2.2.1", r"$w_1 = (I - \frac{2\eta}{n}X^\top X)w_0 + \frac{2\eta}{n}X^\top t$, $L_1 = \frac{1}{n}\|(I - \frac{2\eta}{n}XX^\top)a\|^2$", "correct"),
    ("2.2.1", r"$w_1 = w_0 - \frac{2\eta}{n}X^\top a$, $L_1 = \frac{1}{n}\|(\mathbf{I} - \eta XX^\top)a\|^2$", "partial"),
    ("2.2.3", r"$$\frac{d\mathcal{L}_1}{d\eta} = -\frac{4}{n^2}a^\top XX^\top a + \frac{8\eta}{n^3}\|XX^\top a\|^2 = 0$$ "
              r"$$\eta^* = \frac{n\,a^\top XX^\top a}{2\|XX^\top a\|^2}$$", "correct"),
    ("2.2.3", r"$\eta^* = \frac{n\,a^\top XX^\top a}{\|XX^\top a\|^2}$", "incorrect"),
    ("2.2.3", "The derivative is dL1/deta = -(4/n^2) a^T X X^T a + (8 eta/n^3) ||X X^T a||^2, so the optimal "
              "learning rate is eta* = n a^T X X^T a / (2 ||X X^T a||^2)", "correct"),  # prose first
    # the question asks for the derivative too: an answer without it is not judged correct on eta* alone
    ("2.2.3", "The optimal learning rate is eta* = n a^T X X^T a / (2 ||X X^T a||^2)", "unchecked"),
    ("2.2.3", "The optimal learning rate is eta* = n a^T X X^T a / (3 ||X X^T a||^2)", "incorrect"),
    # a coefficient or operator before the quantity is not prose: the side is not eta* itself, so not judged
    ("2.2.3", r"$$2 \eta^* = \frac{n a^\top X X^\top a}{\|X X^\top a\|^2}$$", "unchecked"),
    ("2.2.3", "So 2 eta* = n a^T X X^T a / ||X X^T a||^2", "unchecked"),
    ("2.2.1", r"$$n \mathcal{L}_1 = \left\| a - \frac{2\eta}{n} X X^\top a \right\|^2$$ "
              r"$$w_1 = w_0 - \frac{2\eta}{n} X^\top (X w_0 - t)$$", "unchecked"),  # n L_1 is not L_1: L_1 unread
    ("2.2.3", "Hence 1 / eta* = 2 ||X X^T a||^2 / (n a^T X X^T a)", "unchecked"),
    ("2.3.1", r"L2: $w_1 = (1 - 2\eta\tilde\lambda)w_0 - \frac{2\eta}{n}X^T(Xw_0 - t)$; decay: $w_1 = (1-\lambda)w_0 - \frac{2\eta}{n}X^T(Xw_0-t)$", "correct"),
    ("2.3.1", r"L2: $w_1 = (1 - \eta\tilde\lambda)w_0 - \frac{2\eta}{n}X^T(Xw_0 - t)$; decay: $w_1 = (1-\lambda)w_0 - \frac{2\eta}{n}X^T(Xw_0-t)$", "partial"),
    # Unicode subscript digits
    ("2.2.1", "w₁ = w₀ − (2η/n) Xᵀ(Xw₀ − t)\n\nL₁ = (1/n)‖a − (2η/n) X Xᵀ a‖², where a = Xw₀ − t", "correct"),
    ("2.2.1", "w₁ = w₀ + (2η/n) Xᵀ(Xw₀ − t)\n\nL₁ = (1/n)‖a − (η/n) X Xᵀ a‖², where a = Xw₀ − t", "incorrect"),
    # "=>" is a clause break, not an "="
    ("2.2.1", "One GD step => w1 = w0 - (2 eta/n) X^T (X w0 - t)\nL1 = (1/n) ||a - (2 eta/n) X X^T a||^2 => done", "correct"),
    ("2.2.1", "One GD step => w1 = w0 - (eta/n) X^T (X w0 - t)\nL1 = (1/n) ||a - (eta/n) X X^T a||^2 => done", "incorrect"),
    # a label before the left side, or in parentheses after it
    ("2.3.1", "L2: w1 = (1 - 2 eta lambda_tilde) w0 - (2 eta/n) X^T a\nDecay: w1 = (1 - lambda) w0 - (2 eta/n) X^T a", "correct"),
    ("2.3.1", "with L2 reg: w1 = (1 - 2 eta lambda_tilde) w0 - (2 eta/n) X^T a\nwith decay: w1 = (1 - lambda) w0 - (2 eta/n) X^T a", "correct"),
    ("2.3.1", "w1 (L2) = (1 - 2 eta lambda_tilde) w0 - (2 eta/n) X^T a\nw1 (decay) = (1 - lambda) w0 - (2 eta/n) X^T a", "correct"),
    ("2.3.1", "L2: w1 = (1 - eta lambda_tilde) w0 - (2 eta/n) X^T a\nDecay: w1 = (1 - lambda) w0 - (2 eta/n) X^T a", "partial"),
    ("2.3.1", "w1 (L2) = (1 - eta lambda_tilde) w0 - (2 eta/n) X^T a\nw1 (decay) = (1 - 2 lambda) w0 - (2 eta/n) X^T a", "incorrect"),
    # the L2 coefficient typed with an ASCII tilde, "lambda~", is lambda_tilde (it was filed as weight decay's)
    ("2.3.1", r"L2: $w_1 = (1 - 2\eta\lambda~)w_0 - \frac{2\eta}{n}X^T(Xw_0 - t)$; decay: $w_1 = (1-\lambda)w_0 - \frac{2\eta}{n}X^T(Xw_0-t)$", "correct"),
    ("2.3.1", "L2: w1 = (1 - eta lambda~) w0 - (2 eta/n) X^T (X w0 - t); decay: w1 = (1 - lambda) w0 - (2 eta/n) X^T (X w0 - t)", "partial"),
    ("2.3.2", r"$\tilde{\lambda} = \frac{\lambda}{2\eta}$", "correct"),
    ("2.3.2", "lambda_tilde = lambda / (2 * eta)", "correct"),
    ("2.3.2", r"$\tilde\lambda = \frac{\lambda}{\eta}$", "incorrect"),
    ("2.3.2", r"$\tilde\lambda = -\frac{\lambda}{2\eta}$", "incorrect"),
])
def test_formula_problems(pid, text, status):
    assert verdict(pid, text).status == status


def test_formula_diagnoses_sign_and_factor():
    v = verdict("2.3.2", r"$\tilde\lambda = \frac{\lambda}{\eta}$")
    assert "factor 2 too large" in v.details[0]["note"]
    v = verdict("2.2.1", yaml_answer("  w1: 'w_0 + \\frac{2\\eta}{n} X^T (X w_0 - t)'\n  L1: '\\frac{1}{n}\\|a\\|^2'"))
    assert "sign is flipped" in v.details[0]["note"] and v.status == "incorrect"


def test_formula_the_last_side_of_a_chain_is_the_answer():
    """'w_1 = <the update rule> = <closed form>': the closed form at the end is the answer, not the rule before it."""
    v = verdict("2.2.1", r"$w_1 = w_0 - \eta \nabla L(w_0) = w_0 - \frac{2\eta}{n}X^\top(Xw_0 - t)$")
    assert v.details[0]["ok"] is True and v.details[0]["found"] == r"w_0 - \frac{2\eta}{n}X^\top(Xw_0 - t)"


@pytest.mark.parametrize("text, note", [
    (r"First $\tilde\lambda = \frac{\lambda}{2\eta}$. Hence $\tilde\lambda = \frac{\lambda}{\eta}$.",
     "states the right formula at some point, but its final form is wrong"),
    (r"First $\tilde\lambda = \frac{\lambda}{\eta}$. Hence $\tilde\lambda = \frac{\lambda}{2\eta}$.",
     "the final form is right, but the answer also states 1 different, wrong form(s)"),
    # a table row and an equation after it: the order in the text decides which form is final
    ("| | |\n|---|---|\n| $\\tilde\\lambda$ | $\\frac{\\lambda}{\\eta}$ |\n\nSo $\\tilde\\lambda = \\frac{\\lambda}{2\\eta}$.",
     "the final form is right, but the answer also states 1 different, wrong form(s)"),
])
def test_formula_right_and_wrong_forms_in_one_answer_earn_half(text, note):
    v = verdict("2.3.2", text)
    assert v.status == "partial" and v.score == 0.5 and note in v.details[0]["note"]


@pytest.mark.parametrize("text, status", [
    (r"$\tilde\lambda = \lambda/2\eta$", "unchecked"),  # right only as lambda/(2 eta): ambiguous, not wrong
    (r"$\tilde\lambda = \lambda/(2\eta)$", "correct"),
    (r"$\tilde\lambda = \lambda/4\eta$", "incorrect"),  # wrong either way
    ("lambda_tilde = lambda/2 * eta", "incorrect"),  # an explicit * is not ambiguous
])
def test_formula_a_over_bc_right_only_as_a_over_the_product_is_ambiguous(text, status):
    v = verdict("2.3.2", text)
    assert v.status == status
    assert ("ambiguous" in v.details[0]["note"]) == (status == "unchecked")


def test_formula_a_over_b_times_c_right_as_written_stays_correct():
    """2 eta/n X^T a means (2 eta/n) X^T a; the a/(bc) reading is tried only for a formula wrong as written."""
    assert verdict("2.2.1", r"$w_1 = w_0 - 2\eta/n X^\top(Xw_0 - t)$").details[0]["ok"] is True


def test_formula_with_a_symbol_the_question_does_not_allow_says_so():
    """Weight decay's w_1 written with the L2 coefficient: the critique names the symbol, not just a mismatch."""
    v = verdict("2.3.1", yaml_answer("  w1_l2: '(1 - 2 eta lambda_tilde) w_0 - (2 eta/n) X^T (X w_0 - t)'\n"
                                     "  w1_wd: '(1 - 2 eta lambda_tilde) w_0 - (2 eta/n) X^T (X w_0 - t)'"))
    assert v.status == "partial" and v.details[0]["ok"] is True
    assert v.details[1]["ok"] is False and "uses lambda_tilde, which the question does not allow" in v.details[1]["note"]


def test_eta_star_and_derivative_against_autograd(ref):
    """Second method: torch autograd for dL1/deta, and a fine grid minimum for eta*."""
    m = ref.ref_math
    for v, tgt in zip(m.instances(), m.targets()):
        X, w0, t = (torch.tensor(v[k], dtype=torch.float64) for k in ("X", "w_0", "t"))
        n = X.shape[0]

        def l1(eta):
            w0_ = w0.clone().requires_grad_(True)
            grad, = torch.autograd.grad(((X @ w0_ - t) ** 2).sum() / n, w0_, create_graph=True)
            return ((X @ (w0 - eta * grad) - t) ** 2).sum() / n

        eta = torch.tensor(v["eta"], dtype=torch.float64, requires_grad=True)
        dl, = torch.autograd.grad(l1(eta), eta)
        assert float(dl) == pytest.approx(tgt["dL1_deta"], rel=1e-6)
        grid = np.linspace(0, 4 * tgt["eta_star"], 40001)
        values = [float(l1(torch.tensor(g, dtype=torch.float64)).detach()) for g in grid[::400]]
        coarse = grid[::400][int(np.argmin(values))]
        assert abs(coarse - tgt["eta_star"]) <= 4 * tgt["eta_star"] / 100 + 1e-12
        a = (X @ w0 - t).numpy()
        Xn = X.numpy()
        closed = n * (a.T @ Xn @ Xn.T @ a).item() / (2 * np.linalg.norm(Xn @ Xn.T @ a) ** 2)
        assert closed == pytest.approx(tgt["eta_star"], rel=1e-6)


# ---------------------------------------------------------------- 1.2.1, 2.1.2, 2.2.2

@pytest.mark.parametrize("text,status", [
    ("No. RMSProp does not always obtain the minimum norm solution: it converges to [2/3, 2/3], whereas the "
     "minimum norm solution is [0.8, 0.4].", "correct"),
    ("Counterexample: with x1 = [2, 1] the minimum-norm solution is (0.8, 0.4) but RMSProp converges to (0.667, 0.667).", "correct"),
    ("RMSProp does not always obtain the minimum norm solution: it converges to (0.8, 0.6).", "partial"),
    ("Yes, RMSProp always obtains the minimum norm solution.", "incorrect"),
    # column vectors in bmatrix / pmatrix, emphasis inside the claim
    ("RMSProp converges to $w = \\begin{bmatrix} 2/3 \\\\ 2/3 \\end{bmatrix}$, whereas the minimum norm solution is "
     "$\\begin{pmatrix} \\frac{4}{5} \\\\ \\frac{2}{5} \\end{pmatrix}$. So RMSProp does **not** always obtain the minimum "
     "norm solution.", "correct"),
    ("RMSProp converges to $\\begin{bmatrix} 0.8 \\\\ 0.6 \\end{bmatrix}$, so it does **not** always obtain the minimum "
     "norm solution.", "partial"),
    # \tfrac / \dfrac inside a vector are read as \frac is: a wrong minimum-norm solution is not skipped
    ("No. RMSProp converges to $(\\tfrac{2}{3}, \\tfrac{2}{3})$, not the minimum-norm solution "
     "$(\\dfrac{2}{5}, \\dfrac{4}{5})$.", "partial"),
    ("No. RMSProp converges to $(\\tfrac{2}{3}, \\tfrac{2}{3})$, not the minimum-norm solution "
     "$(\\dfrac{4}{5}, \\dfrac{2}{5})$.", "correct"),
    # numpy's print of a vector, "[0.4 0.8]": no commas
    ("No. RMSProp converges to w = [0.66666667 0.66666667], not the min-norm solution w* = [0.4 0.8].", "partial"),
    ("No. RMSProp converges to w = [0.66666667 0.66666667], not the min-norm solution w* = [0.8 0.4].", "correct"),
    # "w*" (no caret) names the minimum-norm solution; \left[ ... \right] is a vector too
    ("No: RMSProp ends at [2/3, 2/3], and w* = [0.4, 0.8].", "partial"),
    ("No: RMSProp ends at [2/3, 2/3], and w* = [0.8, 0.4].", "correct"),
    ("No. RMSProp converges to $\\left[\\tfrac{2}{3}, \\tfrac{2}{3}\\right]$, not the minimum-norm solution "
     "$\\left[0.4, 0.8\\right]$.", "partial"),
    ("No. RMSProp converges to $\\left(0.6667, 0.6667\\right)$, not the minimum-norm solution "
     "$\\left(0.8, 0.4\\right)$.", "correct"),
    # a label before a colon says what the vector is: a wrong one in a labelled list is not skipped
    ("No.\n\n- RMSProp limit: $w = [0.6667, 0.6667]$\n- Minimum-norm solution: [0.4, 0.8]", "partial"),
    ("No.\n\n- RMSProp limit: $w = [0.8, 0.4]$\n- Minimum-norm solution: [0.8, 0.4]", "partial"),
    ("No.\n\n- RMSProp limit: $w = [0.6667, 0.6667]$\n- Minimum-norm solution: [0.8, 0.4]", "correct"),
    # a TeX command before the vector ("$\\mathbf{w} = ...$") is no word: the label before the colon still counts
    ("No.\n\n- RMSProp limit: $\\mathbf{w} = (0.6667, 0.6667)$\n- Minimum-norm solution: $\\mathbf{w} = (0.4, 0.8)$",
     "partial"),
    ("RMSProp does _not_ always obtain the minimum-norm solution.", "correct"),
    ("RMSProp \\emph{always} obtains the **minimum norm** solution.", "incorrect"),
    # the final "**Answer:**" line
    ("It converges to (2/3, 2/3).\n\n**Answer:** False, RMSProp does not, in general, yield it.", "correct"),
    ("Its iterates stay in the span of X.\n\n**Answer:** Yes.", "incorrect"),
    ("Unlike GD, which always converges to the minimum-norm solution, RMSProp does not.\n\n**Answer:** No.", "correct"),
    # a "no" said without an Answer line
    ("RMSProp is not guaranteed to find the minimum norm solution.", "correct"),
    ("RMSProp does not, in general, yield the minimum-norm solution.", "correct"),
    # a leading bare "No." / "Not always." / "Yes.", or "not always min-norm"
    ("No. It converges to [2/3, 2/3], but the min-norm solution is [0.8, 0.4].", "correct"),
    ("Not always. It ends up at (2/3, 2/3); min-norm is (0.8, 0.4).", "correct"),
    ("RMSProp not always min-norm: [0.667, 0.667] vs [0.8, 0.4].", "correct"),
    ("Yes. It converges to [0.8, 0.4], the min-norm solution.", "incorrect"),
    ("Yes. Its iterates stay in the row space of X.", "incorrect"),  # the bare "Yes." alone is the claim
])
def test_rmsprop_claims(text, status):
    assert verdict("1.2.1", text).status == status


@pytest.mark.parametrize("text", [
    "RMSProp converges from w_0 = (0, 0) to (2/3, 2/3), so it does not always obtain the minimum norm solution.",
    "The minimum-norm solution for x_1 = (2, 1) and t = 2 is (0.8, 0.4). RMSProp does not always obtain the "
    "minimum norm solution.",
])
def test_rmsprop_the_start_and_the_data_vector_are_not_read_as_answers(text):
    """w_0 = (0, 0) and x_1 = (2, 1) are the hint's givens: next to 'converges' or 'minimum-norm' they are neither
    the limit nor the minimum-norm solution the answer states."""
    v = verdict("1.2.1", text)
    assert v.status == "correct" and all(d["ok"] for d in v.details), v.details


@pytest.mark.parametrize("gap", [" ", "\n"])
def test_rmsprop_a_long_run_of_blanks_is_read_quickly(gap):
    """The "Answer: yes/no" line pattern had \\s* beside \\s* runs: 8,000 spaces or newlines took 5-10 s (O(n^2))."""
    import time

    start = time.monotonic()
    assert verdict("1.2.1", "The answer: " + gap * 8000 + " done").status == "unchecked"
    assert time.monotonic() - start < 2


def test_rmsprop_a_limit_point_past_float_range_is_no_crash():
    """YAML reads 1 followed by 400 zeros as an int: float() of it raised OverflowError ("the check itself failed")."""
    v = verdict("1.2.1", yaml_answer(f"  always_min_norm: false\n  limit_point: [0.6667, 1{'0' * 400}]"))
    assert v.status == "partial" and "check() failed" not in v.reason, v.reason


RMSPROP_NO = "No, RMSProp does not always converge to the minimum-norm solution. "


@pytest.mark.parametrize("vectors, status", [
    # a hedge between two vectors for one quantity is two answers, not the first (or last) one
    ("The minimum-norm solution is [0.8, 0.4]. RMSProp converges to either [0.6667, 0.6667] or [0.8, 0.4].", "partial"),
    ("The minimum-norm solution is [0.8, 0.4]. RMSProp converges to [0.6667, 0.6667] (or possibly [0.8, 0.4]).",
     "partial"),
    ("The minimum-norm solution is either [0.8, 0.4] or [0.4, 0.8].", "partial"),
    ("The minimum-norm solution is [0.8, 0.4]. RMSProp converges to [0.6667, 0.6667], but it could be [0.8, 0.4].",
     "partial"),
    # the same vector written twice is one answer; two quantities side by side are no hedge
    ("The minimum-norm solution is [0.8, 0.4] or [4/5, 2/5].", "correct"),
    ("The minimum-norm solution is [0.8, 0.4], whereas RMSProp converges to [0.6667, 0.6667].", "correct"),
    ("No. Minimum-norm solution / RMSProp limit: [0.8, 0.4] / [0.6667, 0.6667].", "correct"),  # respectively
])
def test_rmsprop_a_hedge_is_two_answers_for_one_vector(vectors, status):
    v = verdict("1.2.1", RMSPROP_NO + vectors)
    assert v.status == status, v.details
    assert ("two answers for one quantity" in v.critique) == (status == "partial")


def test_rmsprop_simulation_matches_the_symmetry_argument(ref):
    """Second method: the gradient is always parallel to x1 = [2, 1], so (eps = 0) both coordinates take the same
    steps; the iterates stay on w1 = w2 and stop on 2w1 + w2 = 2, i.e. at [2/3, 2/3]."""
    c = sympy.Rational(2, 3)
    sim = ref.ref_math.rmsprop_limit()
    for limit in sim["limits"]:
        assert limit == pytest.approx([float(c), float(c)], abs=5e-3)
    assert sim["min_norm"] == pytest.approx([0.8, 0.4])


@pytest.mark.parametrize("text,status", [
    ("Forward propagation needs $\\mathcal{O}(1)$ memory; standard back-propagation needs O(t).", "correct"),
    ("Forward: O(t). Backward: O(t).", "partial"),
    ("Forward-propagation uses O(t) and backpropagation O(1).", "partial"),  # half credit for forward O(t) only
    ("Forward propagation: O(t^2); back-propagation: O(1).", "incorrect"),
    # the d weights of each iterate are a constant factor: in terms of t these are O(1) and O(t)
    ("Forward propagation: $O(d)$; back-propagation: $O(t \\cdot d)$.", "correct"),
    ("Forward: O(d). Backward: O(td), linear in t.", "correct"),
    ("Forward: O(d). Backward: O(d^2).", "partial"),
    # the label after the term: "O(1) for forward propagation"
    ("Back-propagation keeps every w_i.\n\n**Answer:** $\\mathcal{O}(1)$ for forward propagation, $\\mathcal{O}(t)$ "
     "for back-propagation.", "correct"),
    # one term said of both: forward O(1) is right, backward O(1) wrong
    ("Both forward propagation and back-propagation need $O(1)$ memory.", "partial"),
    # a negated term ("not O(1)", "rather than O(t)") is no answer
    ("Forward: O(1) memory. Backprop needs O(t) memory, not O(1).", "correct"),
    ("Forward: O(1) memory. Backprop needs O(1) memory rather than O(t).", "partial"),
    # the passes abbreviated
    ("fwd O(1), bwd O(t)", "correct"), ("fwd O(t^2), bwd O(1)", "incorrect"),
    ("Memory: O(t) for bwd, O(1) for fwd.", "correct"),  # the abbreviation after the term labels it too
    ("Forward propagation and back-propagation:\n\n**Answer:** $\\boxed{O(1)}$ for both.", "partial"),
    # "from the forward pass" inside the back-propagation sentence does not label its O(t) as forward
    ("Forward propagation only needs the current $w_i$: $O(1)$.\n\nStandard back-propagation must store every "
     "$w_i$ from the forward pass to revisit them in reverse, so it needs $O(t)$ memory.", "correct"),
    # ... but a sentence that starts with "from" names its own pass (swap the terms: the forward O(t) is wrong)
    ("Back-propagation needs O(t) memory. The memory from forward propagation is O(1).", "correct"),
    ("Back-propagation needs O(1) memory. The memory from forward propagation is O(t).", "partial"),
    # a ";" or a line break ends the sentence as a "." does; a first pass named after "from" is named too
    ("Back-propagation needs O(t) memory; the memory from forward propagation is O(1).", "correct"),
    ("Back-propagation: O(t)\nMemory from forward propagation: O(1)", "correct"),
    ("The memory from forward propagation is O(1), and back-propagation needs O(t).", "correct"),
    # a hedge ("either O(1) or O(t)") is two answers for one pass, not a conclusion the last term states
    ("Forward: O(1). Backward: either O(1) or O(t).", "partial"),
    ("Forward: either O(1) or O(t). Backward: O(t).", "partial"), ("Forward: O(1). Backward: O(t) or O(1).", "partial"),
    ("Forward: $O(1)$. Backward: $O(t)$ or $O(t \\cdot d)$.", "correct"),  # the same in t
    # other ways to hedge: "(or possibly ...)", ", or maybe", ", but it could be", "between ... and"; a slash says
    # each pass's, respectively
    ("Forward: O(1). Backward: O(t) (in short, forward/backward: O(1)/O(t)).", "correct"),
    ("Forward: O(1). Backward: O(1) (or possibly O(t)).", "partial"),
    ("Forward: O(1). Backward: O(1), or maybe O(t).", "partial"),
    ("Forward: O(1). Backward: I think O(1), but it could be O(t).", "partial"),
    ("Forward: O(1). Backward: between O(1) and O(t).", "partial"),
    ("Forward: O(1). Backward: O(t), keeping every iterate; the difference between O(1) and O(t) is the price of it.",
     "correct"),
    ("Forward: $O(1)$. Backward: $O(t)$ (or possibly $O(t \\cdot d)$).", "correct"),
    # "between" in a comparison of the two passes' terms, or in a sentence naming no pass, is no hedge either
    ("Forward: O(1). Backward: O(t). There is a factor of t between O(1) and O(t).", "correct"),
    ("Forward: O(1). Backward: O(t), and between O(1) and O(t) there is a factor of t.", "correct"),
    ("Forward: O(1). Backward: O(t). Between O(1) and O(t), the second grows with t.", "correct"),
    ("Forward: O(1). Backward: O(t). The gap in memory between O(1) and O(t) grows with t.", "correct"),
    ("Forward: O(1). Backward: O(t). Between O(1) and O(t) the tradeoff is memory vs recomputation.", "correct"),
    ("The forward pass needs O(1) memory and the backward pass O(t): a choice between O(1) and O(t) memory.",
     "correct"),
    # a term set against the answer ("unlike", "as opposed to", "compared with") is the other pass's or none
    ("Forward: O(1). Backward: O(t) (unlike the O(1) of the forward pass).", "correct"),
    ("Back-propagation needs O(t) memory, unlike the O(1) of forward propagation.", "correct"),
    ("Forward: O(1). Backward: O(t), compared with O(1).", "correct"),
    ("Back-propagation needs O(t) memory, as opposed to O(1) for the forward pass.", "correct"),
    ("Forward: O(1). Backward: O(1), unlike O(t).", "partial"),
    # another method's term, with its setting after it, is an aside, not a hedge ("either ... or ..." still is)
    ("Forward: O(1). Backward: O(t), but could be O(sqrt t) with checkpointing.", "correct"),
    ("Forward: O(1). Backward: O(t) (or O(\\sqrt{t}) using gradient checkpointing).", "correct"),
    ("Forward: O(1). Backward: O(t), but it could be O(1) if we recompute each iterate from the start.", "correct"),
    ("Forward: O(1). Backward: O(t), but it could be O(1).", "partial"),
    ("Forward: O(1). Backward: either O(t) or O(sqrt t) with checkpointing.", "partial"),
    ("Forward: O(1). Backward: O(1), but it could be O(t) if every iterate is stored.", "partial"),
    # "and" between two passes' terms is no hedge
    ("Forward propagation needs O(1) and back-propagation needs O(t).", "correct"),
    ("Between forward propagation, O(1), and back-propagation, O(t), only the latter grows with t.", "correct"),
])
def test_memory(text, status):
    assert verdict("2.1.2", text).status == status


def test_memory_a_hedge_shows_both_terms():
    for said, ok in (("either O(1) or $O(t \\cdot d)$", False), ("$O(t)$ or $O(t \\cdot d)$", True)):
        [_, backward] = verdict("2.1.2", f"Forward: O(1). Backward: {said}.").details
        assert (backward["found"], backward["ok"]) == (said.replace("either ", "").replace("$", "")
                                                       .replace(" \\cdot ", "·"), ok)


@pytest.mark.parametrize("forward, backward, status", [
    ("constant", "linear", "correct"), ("Constant", "linear in t", "correct"), ("'O(1)'", "'O(t)'", "correct"),
    ("linear", "linear", "partial"), ("constant", "quadratic", "partial"), ("quadratic", "constant", "incorrect"),
])
def test_memory_in_words_in_the_front_matter(forward, backward, status):
    assert verdict("2.1.2", yaml_answer(f"  forward: {forward}\n  backward: {backward}")).status == status


def test_memory_nothing_found_names_each_pass_in_the_critique():
    # the notes alone read 'no O(.) term found for it; no O(.) term found for it': 'it' named no pass
    v = verdict("2.1.2", "Store the iterates as you go.")
    assert v.status == "unchecked"
    assert "forward memory (no O(.) term found for it); backward memory (no O(.) term found for it)" in v.critique
    # a note that names its part already is not prefixed with it again (2.2.1: 'no formula for w1 found')
    assert "w1 (" not in verdict("2.2.1", "Take one step.").critique


def test_memory_shows_a_product_as_written():
    backward = verdict("2.1.2", "Forward: $O(1)$; backward: $O(t \\cdot d)$.").details[1]
    assert backward["found"] == "O(t·d)" and backward["ok"]


def test_convexity():
    assert verdict("2.2.2", "Yes, L1 is convex in eta since its second derivative is nonnegative.").status == "correct"
    assert verdict("2.2.2", "L1 is not convex in eta.").status == "incorrect"
    assert verdict("2.2.2", "L1 is **not** convex in eta.").status == "incorrect"
    # the closing Answer line is read for every yes/no claim, not only 1.2.1's
    assert verdict("2.2.2", "Its second difference is 4/n^3 ||X X^T a||^2.\n\n**Answer:** No.").status == "incorrect"
    assert verdict("2.2.2", "Its second difference is 4/n^3 ||X X^T a||^2.\n\nAnswer: True").status == "correct"


@pytest.mark.parametrize("text,status", [
    ("Positive leading coefficient, so convex.", "correct"), ("Quadratic with a >= 0, hence convex.", "correct"),
    ("Negative leading coefficient, so not convex.", "incorrect"), ("Hence non-convex.", "incorrect"),
    ("The second derivative is nonnegative; therefore convex.", "correct"),
    # a hedged "not necessarily convex" is a no, not the "convex in eta" after it
    ("L1 is not necessarily convex in eta.", "incorrect"), ("L1 need not be convex in eta.", "incorrect"),
    ("L1 isn't necessarily convex in eta.", "incorrect"), ("L1 may not be necessarily convex in eta.", "incorrect"),
    ("L1 is not always convex in eta.", "incorrect"), ("L1 is not guaranteed to be convex in eta.", "incorrect"),
    ("L1 is not generally convex in eta.", "incorrect"), ("L1 is not in general convex in eta.", "incorrect"),
    ("L1 is not, in general, convex in eta.", "incorrect"), ("L1 won't always be convex in eta.", "incorrect"),
    ("L1 is convex in eta, though not strictly convex when X X^T a = 0.", "correct"),
])
def test_convexity_said_as_a_conclusion(text, status):
    assert verdict("2.2.2", text).status == status


def test_convexity_said_both_ways_is_not_decided():
    v = verdict("2.2.2", "L1 is convex in eta for small eta but not convex in general.")
    assert v.details[0]["ok"] is None and v.status != "correct"


def test_convexity_an_unread_claim_is_named_in_the_critique():
    """The critique said only "not judged (free-text answer: judged only by a model grader ...)", as if the yes/no
    claim had been read and the key points alone were left: it names the claim it could not find."""
    v = verdict("2.2.2", "L_1 is a quadratic in eta with a nonnegative leading coefficient, i.e. a convex function.")
    assert v.status == "unchecked" and "no clear yes/no claim found" in v.critique
    v = verdict("2.2.2", "L1 is not convex in eta.")  # a claim read: no "not found" note beside it
    assert v.critique.endswith("the answer is wrong. L1 convex in eta: expected True, found False.")


@pytest.mark.parametrize("pid,key,value,status", [
    ("2.2.2", "convex", "'true'", "correct"), ("2.2.2", "convex", "'Yes'", "correct"),
    ("2.2.2", "convex", "'false'", "incorrect"),
    ("1.2.1", "always_min_norm", "'false'", "correct"), ("1.2.1", "always_min_norm", "'no'", "correct"),
    ("1.2.1", "always_min_norm", "'true'", "incorrect"), ("5.3", "lower_val_loss", "'no'", "incorrect"),
])
def test_a_yes_no_answer_written_in_quotes_is_read_as_what_it_says(pid, key, value, status):
    """YAML reads `false` as a bool but 'false' as a string, which is truthy: it was judged as saying yes."""
    assert verdict(pid, yaml_answer(f"  {key}: {value}")).status == status


# ---------------------------------------------------------------- 4.1 / 5.1 / 6.1 models

def test_our_models_match_figure_1():
    for pid, name in (("4.1", "PoolUpsampleNet"), ("5.1", "ConvTransposeNet"), ("6.1", "UNet")):
        assert verdict(pid, f"---\ncode: colourize.models:{name}\n---\n\n## Solution\n\nours\n").status == "correct"
    wrong = verdict("4.1", "---\ncode: colourize.models:ConvTransposeNet\n---\n\n## Solution\n\nx\n")
    assert wrong.status in ("partial", "incorrect")


def test_a_code_pointer_outside_the_project_is_not_imported(tmp_path, monkeypatch):
    """`code:` imports the model in-process, unsandboxed: only modules of this project. A folder beside it whose
    name merely starts with the project's ('project-extra' beside 'project') is outside too."""
    make_project(tmp_path, monkeypatch)
    beside = tmp_path / "project-extra"
    beside.mkdir()
    (beside / "beside_model.py").write_text("import pathlib\npathlib.Path(__file__).with_name('imported').touch()\n"
                                            "class UNet:\n    pass\n")
    monkeypatch.syspath_prepend(str(beside))
    for pointer in ("beside_model:UNet", "json:JSONDecoder"):
        v = verdict("6.1", f"---\ncode: {pointer}\n---\n\n## Solution\n\nx\n")
        assert v.status == "missing" and "does not name a module of this project" in v.reason, v
    assert not (beside / "imported").exists()


class BadPool(nn.Module):
    """BatchNorm/ReLU before the pooling in block 2, and a hard-coded 24 colours in the last conv."""

    def __init__(self, kernel, num_filters, num_colours, num_in_channels):
        super().__init__()
        nf, nc, p = num_filters, num_colours, kernel // 2
        self.b1 = nn.Sequential(nn.Conv2d(num_in_channels, nf, kernel, padding=p), nn.MaxPool2d(2), nn.BatchNorm2d(nf), nn.ReLU())
        self.b2 = nn.Sequential(nn.Conv2d(nf, 2 * nf, kernel, padding=p), nn.BatchNorm2d(2 * nf), nn.ReLU(), nn.MaxPool2d(2))
        self.b3 = nn.Sequential(nn.Conv2d(2 * nf, nf, kernel, padding=p), nn.Upsample(scale_factor=2), nn.BatchNorm2d(nf), nn.ReLU())
        self.b4 = nn.Sequential(nn.Conv2d(nf, nc, kernel, padding=p), nn.Upsample(scale_factor=2), nn.BatchNorm2d(nc), nn.ReLU())
        self.final = nn.Conv2d(nc, 24, kernel, padding=p)

    def forward(self, x):
        return self.final(self.b4(self.b3(self.b2(self.b1(x)))))


def test_block_by_block_comparison_names_the_faults(ref):
    from workbench.verdicts import make_verdict

    details = ref.figure.compare_model("PoolUpsampleNet", ref.model_probe.describe(BadPool))
    v = make_verdict("4.1", "test", details)
    bad = {d["what"]: d["found"] for d in details if d["ok"] is False}
    # the expected order once (the critique said "found expected Conv2d → ..., found Conv2d → ...")
    assert bad["PoolUpsampleNet block 2"] == "layers Conv2d → BatchNorm2d → ReLU → MaxPool2d"
    assert ("block 2: expected Conv2d → MaxPool2d → BatchNorm2d → ReLU, out [BS, 2*NF, 8, 8], found layers Conv2d → "
            "BatchNorm2d → ReLU → MaxPool2d;") in v.critique
    assert "out_channels 24, expected 10 (NC) (NIC=3, NF=8, NC=10)" in bad["PoolUpsampleNet final"]
    assert v.status == "partial"


def test_a_fault_both_sizes_show_is_said_once(ref):
    """output_padding 0 breaks both probe sizes: the critique said each fault twice, the second time tagged."""
    from colourize.models import ConvTransposeNet

    class NoOutputPadding(ConvTransposeNet):
        def __init__(self, kernel, num_filters, num_colours, num_in_channels):
            super().__init__(kernel, num_filters, num_colours, num_in_channels)
            self.block3[0].output_padding = (0, 0)

    found = {d["what"]: d["found"] for d in ref.figure.compare_model("ConvTransposeNet",
                                                                      ref.model_probe.describe(NoOutputPadding))}
    block3 = found["ConvTransposeNet block 3"]
    assert block3.count("output_padding") == 1 and block3.count("output [") == 1 and "NIC=3" not in block3


class LooseShapes(nn.Module):
    """Figure 1a's shapes, but a 3x3 max pool with stride 2 and upsampling to fixed sizes (right only at 32x32)."""

    def __init__(self, kernel, num_filters, num_colours, num_in_channels):
        super().__init__()
        nf, nc, p = num_filters, num_colours, kernel // 2

        def block(cin, cout, resize):
            return nn.Sequential(nn.Conv2d(cin, cout, kernel, padding=p), resize, nn.BatchNorm2d(cout), nn.ReLU())
        self.b1 = block(num_in_channels, nf, nn.MaxPool2d(3, stride=2, padding=1))
        self.b2 = block(nf, 2 * nf, nn.MaxPool2d(2))
        self.b3 = block(2 * nf, nf, nn.Upsample(size=16))
        self.b4 = block(nf, nc, nn.Upsample(scale_factor=2))
        self.final = nn.Conv2d(nc, nc, kernel, padding=p)

    def forward(self, x):
        return self.final(self.b4(self.b3(self.b2(self.b1(x)))))


class OneChannelOnly(LooseShapes):
    """Builds its first layer for one input channel whatever num_in_channels says."""

    def __init__(self, kernel, num_filters, num_colours, num_in_channels):
        super().__init__(kernel, num_filters, num_colours, 1)


def test_block_settings_that_keep_the_shapes_are_still_checked(ref):
    details = ref.figure.compare_model("PoolUpsampleNet", ref.model_probe.describe(LooseShapes))
    bad = {d["what"]: d["found"] for d in details if d["ok"] is False}
    assert sorted(bad) == ["PoolUpsampleNet block 1", "PoolUpsampleNet block 3"], details
    assert "MaxPool2d kernel 3, expected 2" in bad["PoolUpsampleNet block 1"]
    assert "Upsample scale factor None, expected 2" in bad["PoolUpsampleNet block 3"]


def test_a_model_that_fails_at_one_size_only_is_reported_not_a_crash(ref):
    details = ref.figure.compare_model("PoolUpsampleNet", ref.model_probe.describe(OneChannelOnly))
    assert len(details) == 1 and details[0]["ok"] is False and "builds and runs" in details[0]["what"]
    assert "RuntimeError" in details[0]["found"]


def test_a_unet_skip_from_the_wrong_layer_is_found(ref):
    """Only shapes were compared: block 3's output joined to itself (`torch.cat((out3, out3), 1)`), or a skip taken
    before block 1's ReLU, has Figure 1c's shapes and was judged correct."""
    from colourize.models import UNet

    class SelfSkip(UNet):
        def forward(self, x):
            out1 = self.block1(x)
            out3 = self.block3(self.block2(out1))
            return self.final(torch.cat((x, self.block4(torch.cat((out3, out3), 1))), 1))

    class PreReluSkip(UNet):
        def forward(self, x):
            pre = self.block1[1](self.block1[0](x))
            out3 = self.block3(self.block2(self.block1[2](pre)))
            return self.final(torch.cat((self.block4(torch.cat((pre.clone(), out3), 1)), x), 1))

    for model, found in ((SelfSkip, "block 3 + block 3"), (PreReluSkip, "layer 2 (BatchNorm2d) + block 3")):
        bad = {d["what"]: d["found"] for d in ref.figure.compare_model("UNet", ref.model_probe.describe(model))
               if d["ok"] is False}
        assert list(bad) == ["UNet block 4"] and f"input joins {found}" in bad["UNet block 4"], bad
    assert all(d["ok"] for d in ref.figure.compare_model("UNet", ref.model_probe.describe(UNet)))


class FunctionalPool(nn.Module):
    """Figure 1a with the pooling, upsampling and ReLU applied as functions in forward (F.max_pool2d, F.interpolate,
    F.relu, x.relu()): forward hooks see only modules, so a right model was judged partial (blocks 'found Conv2d →
    MaxPool2d → BatchNorm2d → Conv2d', the final conv 'found nothing')."""

    def __init__(self, kernel, num_filters, num_colours, num_in_channels):
        super().__init__()
        nf, nc, p = num_filters, num_colours, kernel // 2
        self.convs = nn.ModuleList([nn.Conv2d(a, b, kernel, padding=p) for a, b in
                                    ((num_in_channels, nf), (nf, 2 * nf), (2 * nf, nf), (nf, nc), (nc, nc))])
        self.bns = nn.ModuleList([nn.BatchNorm2d(c) for c in (nf, 2 * nf, nf, nc)])

    def forward(self, x):
        x = F.relu(self.bns[0](F.max_pool2d(self.convs[0](x), 2)))
        x = torch.relu(self.bns[1](F.max_pool2d(self.convs[1](x), kernel_size=2)))
        x = self.bns[2](F.interpolate(self.convs[2](x), scale_factor=2)).relu()
        x = F.relu(self.bns[3](F.interpolate(self.convs[3](x), scale_factor=2, mode="nearest")), inplace=True)
        return self.convs[4](x)


def test_layers_applied_as_functions_in_forward_are_layers(ref):
    from colourize.models import UNet

    details = ref.figure.compare_model("PoolUpsampleNet", ref.model_probe.describe(FunctionalPool))
    assert all(d["ok"] for d in details), [d for d in details if not d["ok"]]

    class FunctionalUNet(UNet):  # the skip is block 1's F.relu output: traced by value like a module's
        def forward(self, x):
            out1 = F.relu(self.block1[1](self.block1[0](x)))
            out3 = self.block3(self.block2(out1))
            return self.final(torch.cat((self.block4(torch.cat((out3, out1), 1)), x), 1))

    details = ref.figure.compare_model("UNet", ref.model_probe.describe(FunctionalUNet))
    assert all(d["ok"] for d in details), [d for d in details if not d["ok"]]

    class WrongPool(FunctionalPool):
        def forward(self, x):
            x = F.relu(self.bns[0](F.max_pool2d(self.convs[0](x), 4, stride=2, padding=1)))
            x = F.relu(self.bns[1](F.max_pool2d(self.convs[1](x), 2)))
            x = F.relu(self.bns[2](F.interpolate(self.convs[2](x), size=(16, 16))))
            x = F.relu(self.bns[3](F.interpolate(self.convs[3](x), scale_factor=2)))
            return self.convs[4](x)

    bad = {d["what"]: d["found"] for d in ref.figure.compare_model("PoolUpsampleNet", ref.model_probe.describe(WrongPool))
           if d["ok"] is False}
    assert sorted(bad) == ["PoolUpsampleNet block 1", "PoolUpsampleNet block 3"], bad
    assert "MaxPool2d kernel 4, expected 2" in bad["PoolUpsampleNet block 1"]
    assert "Upsample scale factor None, expected 2" in bad["PoolUpsampleNet block 3"]


def test_a_layer_after_the_final_conv_is_a_fault(ref):
    """A Softmax (or Sigmoid) after the last Conv2d lay beyond the figure's blocks: only the weightless layer count
    named it, so the model was judged correct; the network's output must be the scores the loss takes."""
    from colourize.models import ConvTransposeNet

    class Probabilities(ConvTransposeNet):
        def __init__(self, kernel, num_filters, num_colours, num_in_channels):
            super().__init__(kernel, num_filters, num_colours, num_in_channels)
            self.final = nn.Sequential(self.final, nn.Softmax(dim=1))

    class Squashed(ConvTransposeNet):
        def forward(self, x):
            return torch.sigmoid(super().forward(x))

    class Normalised(ConvTransposeNet):  # torch.softmax, a function of its own (not F.softmax's Tensor.softmax)
        def forward(self, x):
            return torch.softmax(super().forward(x), 1)

    for model, extra in ((Probabilities, "Softmax"), (Squashed, "Sigmoid"), (Normalised, "Softmax")):
        details = ref.figure.compare_model("ConvTransposeNet", ref.model_probe.describe(model))
        bad = {d["what"]: d["found"] for d in details if d["ok"] is False}
        assert list(bad) == ["ConvTransposeNet final"], bad  # no "blocks ... misaligned": the blocks before are right
        assert bad["ConvTransposeNet final"] == f"followed by {extra}, which Figure 1 does not have after the last Conv2d"

    class Dropped(ConvTransposeNet):  # an extra layer inside: the final Conv2d, misaligned, is no extra layer after it
        def __init__(self, kernel, num_filters, num_colours, num_in_channels):
            super().__init__(kernel, num_filters, num_colours, num_in_channels)
            self.block2.append(nn.Dropout(0.2))

    details = ref.figure.compare_model("ConvTransposeNet", ref.model_probe.describe(Dropped))
    assert not any("followed by" in str(d["found"]) for d in details), details

    class NoFinal(ConvTransposeNet):  # the final Conv2d never runs: its block found "no layers", not "layers "
        def forward(self, x):
            return self.block4(self.block3(self.block2(self.block1(x))))

    details = ref.figure.compare_model("ConvTransposeNet", ref.model_probe.describe(NoFinal))
    assert {d["what"]: d["found"] for d in details}["ConvTransposeNet final"] == "no layers"


LLM_CODE = '''Here is the model.
```python
class ConvTransposeNet(nn.Module):
    def __init__(self, kernel, num_filters, num_colours, num_in_channels):
        super().__init__()
        nf = num_filters
        self.l1 = nn.Sequential(nn.Conv2d(num_in_channels, nf, kernel, stride=2, padding=1), nn.BatchNorm2d(nf), nn.ReLU())
        self.l2 = nn.Sequential(nn.Conv2d(nf, 2*nf, kernel, stride=2, padding=1), nn.BatchNorm2d(2*nf), nn.ReLU())
        self.l3 = nn.Sequential(nn.ConvTranspose2d(2*nf, nf, kernel, stride=2, padding=1, output_padding=OP), nn.BatchNorm2d(nf), nn.ReLU())
        self.l4 = nn.Sequential(nn.ConvTranspose2d(nf, num_colours, kernel, stride=2, padding=1, output_padding=1), nn.BatchNorm2d(num_colours), nn.ReLU())
        self.out = nn.Conv2d(num_colours, num_colours, kernel, padding=1)

    def forward(self, x):
        return self.out(self.l4(self.l3(self.l2(self.l1(x)))))

if __name__ == "__main__":
    while True:
        pass
```
'''


def test_llm_code_runs_in_the_sandbox():
    assert verdict("5.1", LLM_CODE.replace("OP", "1")).status == "correct"
    bad = verdict("5.1", LLM_CODE.replace("OP", "0"))
    assert bad.status == "partial"
    assert "output_padding" in bad.critique


def test_llm_code_the_last_class_definition_is_the_answer():
    """A draft, then the corrected model: the last code block defining the class is the one checked."""
    draft, fixed = LLM_CODE.replace("OP", "0"), LLM_CODE.replace("OP", "1")
    assert verdict("5.1", draft + "\nThat misses output_padding; corrected:\n" + fixed).status == "correct"
    assert verdict("5.1", fixed + "\nA variant:\n" + draft).status == "partial"


def test_llm_code_of_the_methods_alone_is_checked():
    """6.1 asks to complete `__init__` and `forward`, and answers often give just those two methods, indented as in
    the class: that was 'unchecked (no code block defining class ConvTransposeNet found)'."""
    fixed = LLM_CODE.replace("OP", "1")
    body = fixed[fixed.index("    def __init__"):fixed.index("\nif __name__")]
    methods = "Fill in the two methods:\n```python\n" + body + "```\n"
    assert verdict("5.1", methods).status == "correct"
    assert verdict("5.1", methods.replace("output_padding=1", "output_padding=0")).status == "partial"
    assert verdict("5.1", "```python\nimport torch\n```\n").status == "unchecked"  # no methods: still unchecked
    init_only = methods[:methods.index("    def forward")] + "```\n"  # forward missing: no class to build
    assert verdict("5.1", init_only).status == "unchecked"


def test_llm_code_of_the_methods_alone_the_last_block_is_the_answer_and_later_examples_are_skipped():
    fixed, draft = (LLM_CODE.replace("OP", op) for op in "10")
    body = {text: text[text.index("    def __init__"):text.index("\nif __name__")] for text in (fixed, draft)}
    methods = {text: "```python\n" + body[text] + "```\n" for text in (fixed, draft)}
    usage = "Use it as:\n```python\nmodel = ConvTransposeNet(3, 32, 24, 1)\nprint(model)\n```\n"
    assert verdict("5.1", methods[draft] + "Corrected:\n" + methods[fixed] + usage).status == "correct"
    assert verdict("5.1", methods[fixed] + "A variant:\n" + methods[draft]).status == "partial"


def test_llm_code_in_a_py_fence_is_checked():
    """```py is as common as ```python: such a block was skipped ('no code block defining class ... found')."""
    assert verdict("5.1", LLM_CODE.replace("OP", "1").replace("```python", "```py")).status == "correct"


def test_llm_code_with_notebook_lines_is_checked():
    """Jupyter-style `!pip install` / `%matplotlib inline` lines failed the model ('SyntaxError: invalid syntax')."""
    text = LLM_CODE.replace("OP", "1").replace("```python\n", "```python\n!pip install torch\n%matplotlib inline\n")
    assert verdict("5.1", text).status == "correct"
    # inside a block it keeps its indent: `pass` at the margin would end the block (IndentationError)
    text = LLM_CODE.replace("OP", "1").replace("```python\n", "```python\ntry:\n    import torchvision\n"
                                               "except ImportError:\n    !pip install torchvision\n")
    assert verdict("5.1", text).status == "correct"


def test_llm_code_with_helpers_in_an_earlier_block_is_checked():
    """Helpers defined in an earlier block failed the model ('NameError: name 'down' is not defined'); the earlier
    block's definitions come along, its other statements (here an endless loop) do not."""
    text = '''First a helper:
```python
import torch.nn as nn
PAD = 1
def down(cin, cout, k):
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride=2, padding=PAD), nn.BatchNorm2d(cout), nn.ReLU())
def up(cin, cout, k):
    return nn.Sequential(nn.ConvTranspose2d(cin, cout, k, stride=2, padding=PAD, output_padding=1),
                         nn.BatchNorm2d(cout), nn.ReLU())
while True:
    pass
```
Then the model:
```python
class ConvTransposeNet(nn.Module):
    def __init__(self, kernel, num_filters, num_colours, num_in_channels):
        super().__init__()
        nf = num_filters
        self.net = nn.Sequential(down(num_in_channels, nf, kernel), down(nf, 2 * nf, kernel), up(2 * nf, nf, kernel),
                                 up(nf, num_colours, kernel), nn.Conv2d(num_colours, num_colours, kernel, padding=PAD))

    def forward(self, x):
        return self.net(x)
```
'''
    assert verdict("5.1", text).status == "correct"
    assert verdict("5.1", text.replace("output_padding=1", "output_padding=0")).status == "partial"
    # an earlier block that is no whole Python (an indented excerpt) is left out, not a crash
    excerpt = "An excerpt:\n```python\n    self.conv = nn.Conv2d(1, 2, 3)\n```\n"
    assert verdict("5.1", excerpt + text).status == "correct"


@pytest.mark.parametrize("rest", [
    "k = int(input('kernel size: '))",
    "from google.colab import drive\ndrive.mount('/content/drive')",
    "from tqdm import tqdm\nimport subprocess\nsubprocess.run(['pip', 'install', 'torch'], check=True)",
    "model = ConvTransposeNet(3, 32, 24, 1).cuda()\nprint(model(torch.randn(2, 1, 32, 32).cuda()).shape)",
    "import sys\nprint('done')\nsys.exit(0)",
])
def test_llm_code_with_other_statements_in_the_model_s_block_is_checked(rest):
    """A right model followed, in its block, by input(), a Colab mount, pip, .cuda() or sys.exit() was judged
    incorrect ('the code does not run: EOFError: EOF when reading a line', '... no output'); a training loop there
    left it unchecked after 30 s. Only the model class and what it uses run."""
    text = LLM_CODE.replace("OP", "1").replace('if __name__ == "__main__":\n    while True:\n        pass\n', rest + "\n")
    assert verdict("5.1", text).status == "correct"
    assert verdict("5.1", text.replace("output_padding=1", "output_padding=0")).status == "partial"


def test_llm_code_keeps_what_the_model_uses_from_its_block():
    """Names the class reads at the top level (an alias defined after it, a device) come along; a training loop
    over random tensors does not run."""
    text = LLM_CODE.replace("OP", "1").replace("nn.Conv2d(num_colours", "Conv(num_colours").replace(
        "super().__init__()", "super().__init__()\n        self.device = device").replace(
        'if __name__ == "__main__":\n    while True:\n        pass\n',
        "Conv = nn.Conv2d\ndevice = torch.device('cuda' if torch.cuda.is_available() else 'cpu')\n"
        "model = ConvTransposeNet(3, 32, 24, 1).to(device)\nwhile True:\n"
        "    model(torch.randn(100, 1, 32, 32, device=device)).sum().backward()\n")
    assert verdict("5.1", text).status == "correct"


@pytest.mark.parametrize("call, found", [("import sys; sys.exit(0)", "exited with status 0"),
                                         ("import ctypes; ctypes.string_at(0)", "killed by SIGSEGV")])
def test_llm_code_that_ends_silently_says_how(call, found):
    """Code that exits or crashes without an error line was reported as 'the code does not run: no output'."""
    bad = verdict("5.1", LLM_CODE.replace("OP", "1").replace("super().__init__()", "super().__init__()\n        " + call))
    assert bad.status == "incorrect" and found in bad.critique and "no output" not in bad.critique


@pytest.mark.parametrize("anchor, new", [
    ("        super().__init__()\n", "        super().__init__()\n        self.buffer = bytearray(SIZE)\n"),  # __init__
    ("    def __init__", "    buffer = bytearray(SIZE)\n\n    def __init__"),  # the class body
])
def test_llm_code_that_runs_out_of_memory_says_so(monkeypatch, anchor, new):
    """Code that allocates past the sandbox's memory cap was judged with 'MemoryError: ' (in the model's __init__)
    or 'the code does not run: MemoryError' (in the class body), which says neither why nor which limit."""
    monkeypatch.setattr("workbench.sandbox.MEMORY_LIMIT_BYTES", 1536 * 2**20, raising=False)  # torch needs ~0.8 GiB
    new = new.replace("SIZE", str(2 * 2**30))  # calloc'd: untouched pages, nothing real is used either way
    text = LLM_CODE.replace("OP", "1").replace(anchor, new, 1)
    bad = verdict("5.1", text)
    assert bad.status == "incorrect" and "ran out of the sandbox's 1.5 GiB memory limit" in bad.critique, bad.critique


@pytest.mark.parametrize("write", [
    "print('x' * SIZE)",  # its stdout: then the description cannot be printed either
    "open('big.bin', 'w').write('x' * SIZE)",  # a file in its temp dir
])
def test_llm_code_that_writes_past_the_output_limit_says_so(monkeypatch, write):
    """Code that printed or wrote without bound was judged with 'OSError: [Errno 27] File too large', which says
    neither that the sandbox stopped it nor which limit."""
    monkeypatch.setattr("workbench.sandbox.OUTPUT_LIMIT_BYTES", 2**20, raising=False)
    text = LLM_CODE.replace("OP", "1").replace(
        "super().__init__()", "super().__init__()\n        " + write.replace("SIZE", str(2 * 2**20)))
    bad = verdict("5.1", text)
    assert bad.status == "incorrect" and "sandbox's 1 MiB limit on its output" in bad.critique, bad.critique


@pytest.mark.skipif(torch.cuda.is_available(), reason="the model runs on this machine's GPU")
@pytest.mark.parametrize("anchor, new", [
    ("        return self.out(", "        x = x.to(torch.device('cuda'))\n        return self.out("),  # forward
    ("    def __init__", "    probe = torch.zeros(1).cuda()\n\n    def __init__"),  # the class body
])
def test_llm_code_that_needs_a_gpu_is_unchecked_without_one(anchor, new):
    """A model that puts its tensors on 'cuda' was judged wrong on a machine without a GPU ('found RuntimeError:
    Found no NVIDIA driver on your system...'), though it may be right: it cannot be run here, and the reason says so."""
    v = check_text("a2", "5.1", LLM_CODE.replace("OP", "1").replace(anchor, new, 1))
    assert v.status == "unchecked" and "needs a CUDA GPU" in v.reason, (v.status, v.reason)


@pytest.mark.skipif(not __import__("workbench.sandbox").sandbox.landlock_abi(), reason="no Landlock: workers run")
@pytest.mark.parametrize("anchor, new", [
    ("        super().__init__()\n", "        super().__init__()\n        import multiprocessing\n"
     "        self.pool = multiprocessing.Pool(4)\n"),  # __init__
    ("    def __init__", "    import multiprocessing\n    pool = multiprocessing.Pool(2)\n\n    def __init__"),  # the class body
    ("        return self.out(", "        from torch.utils.data import DataLoader, TensorDataset\n"
     "        x = next(iter(DataLoader(TensorDataset(x), batch_size=len(x), num_workers=4)))[0]\n"
     "        return self.out("),  # forward
    ("        super().__init__()\n", "        super().__init__()\n        import multiprocessing\n"
     "        self.manager = multiprocessing.Manager()\n"),
])
def test_llm_code_that_starts_worker_processes_is_unchecked(anchor, new):
    """A model that starts worker processes (a Pool, a DataLoader with workers, a Manager) was judged wrong with 'the
    code does not run: PermissionError: [Errno 13] Permission denied': the sandbox keeps /dev/shm, where their
    semaphores live, closed. It may be right; the reason says what the sandbox refused."""
    v = check_text("a2", "5.1", LLM_CODE.replace("OP", "1").replace(anchor, new, 1))
    assert v.status == "unchecked" and "starts worker processes" in v.reason and "sandbox" in v.reason, (v.status, v.reason)


@pytest.mark.skipif(not __import__("workbench.sandbox").sandbox.landlock_abi(), reason="no Landlock: the write works")
def test_llm_code_that_writes_outside_the_sandbox_names_its_error():
    """The same PermissionError raised by the model's own code (a file it may not write) is reported as it is."""
    bad = verdict("5.1", LLM_CODE.replace("OP", "1").replace(
        "super().__init__()", "super().__init__()\n        open('/etc/wb-sandbox-probe', 'w')"))
    assert bad.status == "incorrect" and "PermissionError" in bad.critique and "workers" not in bad.critique, bad.critique


def test_llm_code_is_unchecked_when_the_temp_folder_is_full(tmp_path, monkeypatch):
    """The sandbox could not write the code into a full temp folder: the verdict was 'the check itself failed
    (OSError: [Errno 28] No space left on device); please report it'. It names the folder and what to do."""
    import errno
    import tempfile

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr("workbench.sandbox.open", full, raising=False)
    v = verdict("5.1", LLM_CODE.replace("OP", "1"))
    assert v.status == "unchecked" and f"temp folder {tmp_path} (no space left" in v.reason, v.reason
    assert "TMPDIR" in v.reason and "check() failed" not in v.reason and not list(tmp_path.iterdir())


def test_llm_code_whose_output_the_full_temp_folder_cut_off_is_unchecked(tmp_path, monkeypatch, ref):
    """A temp folder that filled up while the code ran cut its description short: 'the check itself failed
    (JSONDecodeError: Unterminated string ...); please report it'. It is unchecked, naming the folder."""
    import tempfile
    import types

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    cut = f"import os; os.write(1, b'{ref.PROBE_MARK}{{\"configs\": [{{\"err'); os._exit(0)"
    statvfs = os.statvfs
    monkeypatch.setattr(os, "statvfs", lambda path: types.SimpleNamespace(f_bavail=0, f_bfree=0) if str(path).startswith(
        str(tmp_path)) else statvfs(path))
    v = verdict("5.1", LLM_CODE.replace("OP", "1").replace("super().__init__()", "super().__init__()\n        " + cut))
    assert v.status == "unchecked" and f"temp folder {tmp_path} (no space left" in v.reason, v.reason
    # a description printed whole was not cut by the full disk: the code is checked (it was unchecked)
    v = verdict("5.1", LLM_CODE.replace("OP", "1"))
    assert v.status == "correct", (v.status, v.reason)


def test_llm_code_that_fails_names_its_error():
    """The verdict names the error the code ends with (the traceback's last line), not "Traceback (most recent call
    last):"; a model block that is no valid Python runs as it is, so the SyntaxError is named."""
    bad = verdict("5.1", LLM_CODE.replace("OP", "1").replace("super().__init__()", "super().__init__()\n        helper()"))
    assert bad.status == "incorrect" and "NameError: name 'helper' is not defined" in bad.critique, bad.critique
    bad = verdict("5.1", LLM_CODE.replace("OP", "1").replace("nf = num_filters", "nf = = num_filters"))
    assert bad.status == "incorrect" and "SyntaxError" in bad.critique, bad.critique


def test_code_that_does_not_compile_names_the_line_of_its_block():
    """'the code does not run: SyntaxError: expected ':'' left the student to search the block for it; the
    traceback's line in the block (run as written when it does not compile) is named."""
    bad = verdict("5.1", LLM_CODE.replace("OP", "1").replace("nf = num_filters", "nf = = num_filters"))
    assert "SyntaxError: invalid syntax (line 4 of the code block)" in bad.critique, bad.critique
    bad = verdict("5.1", LLM_CODE.replace("OP", "1").replace("def forward(self, x):", "def forward(self, x)"))
    assert "SyntaxError: expected ':' (line 11 of the code block)" in bad.critique, bad.critique
    # a runtime error's line is in the code as extracted and run, not the block as written: none is named
    bad = verdict("5.1", LLM_CODE.replace("OP", "1").replace("super().__init__()", "super().__init__()\n        helper()"))
    assert "NameError: name 'helper' is not defined" in bad.critique and "of the code block" not in bad.critique


def test_llm_code_that_never_ends_is_killed_before_the_check_s_time_limit():
    """The sandbox's limit is below the engine's (0.8 of it), so the child is killed and the reason says so."""
    text = LLM_CODE.replace("OP", "1").replace("super().__init__()", "super().__init__()\n        while True: pass")
    v = check_text("a2", "5.1", text, timeout_s=7.5)
    assert v.status == "unchecked" and "did not finish within 6 s (killed)" in v.reason, v.reason


def test_llm_code_keeps_imports_and_conditional_definitions_the_model_uses(ref):
    """Names the class reads that an import, an `if` or a `try` binds come along (a star import always: what it
    binds is unknown); other statements do not. A last block that does not compile is kept whole."""
    helpers = ("from torch.nn import *\nfrom torch.nn import Conv2d as C\nimport math\n"
               "try:\n    ACT = nn.SiLU\nexcept AttributeError:\n    ACT = nn.ReLU\n"
               "if torch.cuda.is_available():\n    device = 'cuda'\nelse:\n    device = 'cpu'\nprint('loaded')\n")
    model = ("class UNet(Module):\n    def __init__(self):\n        super().__init__()\n"
             "        self.c, self.a, self.device = C(1, 1, 3), ACT(), device\n")
    code = ref._definitions([helpers, model], "UNet")
    for kept in ("from torch.nn import *", "from torch.nn import Conv2d as C", "ACT = nn.ReLU", "device = 'cpu'",
                 "class UNet(Module):"):
        assert kept in code, (kept, code)
    assert "import math" not in code and "print" not in code
    broken = "class UNet(nn.Module):\n    def f(self) = 1\n"
    assert ref._definitions([helpers, broken], "UNet") == broken


def test_code_without_a_class_is_unchecked():
    assert verdict("6.1", "Use torch.cat to concatenate.").status == "unchecked"


# ---------------------------------------------------------------- runs and claims

def test_claims_against_pinned_runs(tmp_path, monkeypatch):
    root = make_project(tmp_path, monkeypatch)
    fake_run(root, "pool", "poolupsample", val_loss=1.59, val_acc=41.5)
    fake_run(root, "ct", "convtranspose", val_loss=1.11, val_acc=57.2)
    fake_run(root, "unet", "unet", val_loss=1.01, val_acc=60.9)
    assert claims("5.3", "Yes: ConvTransposeNet reaches a lower validation loss than PoolUpsampleNet.") == "correct"
    assert claims("5.3", "ConvTransposeNet reaches not only a lower validation loss than PoolUpsampleNet but also a "
                         "higher accuracy.") == "correct"
    assert verdict("5.3", "The ConvTransposeNet has a higher validation loss than PoolUpsampleNet.").status == "incorrect"
    assert claims("6.3", "Skip connections improved the validation loss and the accuracy.") == "correct"
    assert verdict("6.3", "The UNet did not improve the accuracy.").status == "incorrect"
    assert verdict("5.3", "It depends on many things.").status == "unchecked"
    ref = load_reference(load_pack("a2"))
    assert ref.reference(load_pack("a2").get("6.3"), context("a2"))["answer"] == {"improved_val_loss": True, "improved_val_acc": True}


def test_a_long_answer_without_full_stops_is_checked_in_linear_time(tmp_path, monkeypatch):
    """Cutting restated questions out of a sentence and finding what a model is compared against were retried from
    every position of a sentence: a 50 kB one without full stops took 6 s, 200 kB well over a minute."""
    import time

    root = make_project(tmp_path, monkeypatch)
    fake_run(root, "pool", "poolupsample", val_loss=1.59, val_acc=41.5)
    fake_run(root, "ct", "convtranspose", val_loss=1.11, val_acc=57.2)
    unit = "ConvTransposeNet reaches a lower validation loss than PoolUpsampleNet, and a higher accuracy, "
    start = time.monotonic()
    assert claims("5.3", "Yes: " + unit * (200_000 // len(unit))) == "correct"
    assert time.monotonic() - start < 5  # about 0.1 s


@pytest.fixture
def unet_and_ct_runs(tmp_path, monkeypatch):
    """A project whose pinned ConvTransposeNet and UNet runs say UNet is better on both metrics (6.3's claims)."""
    root = make_project(tmp_path, monkeypatch)
    fake_run(root, "ct", "convtranspose", val_loss=1.11, val_acc=57.2)
    fake_run(root, "unet", "unet", val_loss=1.01, val_acc=60.9)
    return root


@pytest.mark.parametrize("text, status", [
    ("The gap is real, not a fluctuation: UNet has the lower validation loss.", "correct"),  # far negation
    ("Skip connections did not give a lower validation loss.", "incorrect"),
    ("UNet's validation loss isn't higher than ConvTransposeNet's.", "correct"),
    ("No, the UNet does not have a higher validation loss.", "correct"),
    # "not only" is no negation
    ("UNet achieves not only a lower validation loss but also a higher validation accuracy than ConvTransposeNet.", "correct"),
    ("UNet achieves not just a lower validation loss but also a lower validation accuracy.", "partial"),
    ("UNet achieves not only a higher validation loss but also a lower validation accuracy.", "incorrect"),
    # each clause carries its own direction
    ("The UNet did better on validation loss but the accuracy got worse.", "partial"),
    ("UNet has a lower validation loss, while its accuracy is higher.", "correct"),
    ("UNet's validation accuracy is higher; its validation loss is lower too.", "correct"),
    # ... and each part of a clause that names its own metric ("a lower loss and a higher accuracy")
    ("UNet reaches a lower validation loss (1.01 vs 1.11) and a higher accuracy than ConvTransposeNet.", "correct"),
    ("With the skips, UNet's validation loss is lower, its accuracy higher.", "correct"),
    ("UNet reaches a lower validation loss and a lower accuracy than ConvTransposeNet.", "partial"),
    ("UNet's validation loss and accuracy are both higher.", "partial"),
    # the other model described against the UNet: its directions are the UNet's reversed
    ("ConvTransposeNet has a higher validation loss than the UNet, and its accuracy is lower.", "correct"),
    ("Compared with the model with skip connections, ConvTransposeNet has a lower validation loss.", "incorrect"),
    ("The loss of ConvTransposeNet is higher than that of UNet, while UNet's accuracy is lower.", "partial"),
    ("Relative to UNet, ConvTransposeNet has a higher validation loss.", "correct"),
    # what UNet is compared against is named by the comparison word just before it, not an earlier one
    ("Compared with the earlier runs, ConvTransposeNet has a higher validation loss than the UNet.", "correct"),
    # verbs of change: "rises", "rose", "falls", "fell", "goes/went up/down"
    ("With UNet the validation loss rose.", "incorrect"),
    ("With UNet the validation accuracy went down.", "incorrect"),
    ("With UNet the validation accuracy falls.", "incorrect"),
])
def test_a_negation_counts_only_next_to_its_comparison_in_its_own_clause(unet_and_ct_runs, text, status):
    assert claims("6.3", text) == status


def test_a_question_in_the_answer_is_no_claim(unet_and_ct_runs):
    text = "Does the UNet reach a higher validation loss than ConvTransposeNet? No: the UNet has the lower validation loss."
    assert claims("6.3", text) == "correct"
    # a bold restated question stays joined to the answer after it: "...?** Yes." ends no sentence
    text = "**Did skip connections improve the validation loss and accuracy?** Yes. UNet has a lower loss and a higher accuracy."
    assert claims("6.3", text) == "correct"
    text = "**Does UNet result in lower validation loss than ConvTransposeNet?**\n\n| Model | Val loss |\n\n**Answer:** No."
    assert claims("6.3", text) == "unchecked"


@pytest.mark.parametrize("text, status", [
    # a hedge between the two directions of one metric is two answers, not the first one
    ("UNet reaches a lower or higher validation loss than ConvTransposeNet.", "incorrect"),
    ("UNet reaches a lower (or possibly higher) validation loss than ConvTransposeNet.", "incorrect"),
    ("UNet's validation loss is either lower or higher than ConvTransposeNet's.", "incorrect"),
    ("I think UNet reaches a lower validation loss than ConvTransposeNet, but it could be higher.", "incorrect"),
    # two words of one direction, or a direction per metric, are no hedge
    ("UNet reaches a lower (i.e. better) validation loss than ConvTransposeNet.", "correct"),
    ("UNet reaches a lower or better validation loss than ConvTransposeNet.", "correct"),
    ("UNet reaches a lower validation loss than ConvTransposeNet, but it could be trained longer.", "correct"),
    ("UNet's validation loss is lower, or possibly higher, than ConvTransposeNet's.", "incorrect"),
    ("UNet reaches a lower validation loss than ConvTransposeNet (more or less 0.04 lower).", "correct"),
    ("UNet reaches a lower validation loss than ConvTransposeNet, but it could be lower still with more epochs.",
     "correct"),
    ("UNet reaches a lower validation loss than ConvTransposeNet, but it may also be higher in validation accuracy.",
     "correct"),
    # a hedge in another part of the sentence, said of no metric or of another one, hedges no direction of this one
    ("UNet reaches a lower validation loss and a higher validation accuracy than ConvTransposeNet, i.e. better or "
     "more accurate colourization.", "correct"),
    ("UNet: lower validation loss than ConvTransposeNet, and higher validation accuracy, though the improvement is "
     "small and could be higher or lower with another seed.", "correct"),
])
def test_a_hedged_direction_is_two_answers_for_one_metric(unet_and_ct_runs, text, status):
    assert claims("6.3", text) == status
    assert ("two answers for one quantity" in verdict("6.3", text).critique) == (status == "incorrect")


@pytest.mark.parametrize("text, status", [
    # "respectively" pairs the comparatives with the models in the order they are named ...
    ("UNet and ConvTransposeNet reach a lower and higher validation loss respectively.", "correct"),
    ("ConvTransposeNet and UNet reach a higher and lower validation loss, respectively.", "correct"),
    ("ConvTransposeNet and the UNet reach higher/lower validation accuracy, respectively.", "incorrect"),
    ("UNet and ConvTransposeNet reach a higher and a lower validation loss, respectively.", "incorrect"),
    ("The validation loss is lower and higher for UNet and ConvTransposeNet, respectively.", "correct"),
    ("UNet and ConvTransposeNet reach a better and worse validation accuracy (resp.).", "correct"),
    # ... or with the metrics in the order they are named
    ("UNet reaches a lower and a higher validation loss and accuracy, respectively, than ConvTransposeNet.", "correct"),
    ("ConvTransposeNet reaches a higher and a lower validation loss and accuracy, respectively, than the UNet.",
     "correct"),
    ("UNet reaches a higher and a lower validation accuracy and loss, respectively, than ConvTransposeNet.", "correct"),
    ("UNet reaches a lower and a higher validation accuracy and loss, respectively, than ConvTransposeNet.",
     "incorrect"),
    # a pairing that cannot be read is not judged rather than guessed
    ("UNet and ConvTransposeNet reach a lower and higher validation loss and a higher and lower accuracy, "
     "respectively.", "unchecked"),
    ("UNet and ConvTransposeNet reach a lower and higher validation loss and accuracy, respectively.", "unchecked"),
    # a "respectively" that pairs numbers, and a comparison after it, are read as before
    ("UNet and ConvTransposeNet reach validation accuracies of 60.9% and 57.2% respectively, so UNet has the higher "
     "accuracy.", "correct"),
    ("ConvTransposeNet and UNet have validation losses of 1.11 and 1.01, respectively, so the UNet loss is lower and "
     "more training would help.", "correct"),
    ("UNet reaches a lower or higher validation loss than ConvTransposeNet, respectively.", "incorrect"),  # a hedge
])
def test_respectively_pairs_the_comparatives_in_order(unet_and_ct_runs, text, status):
    assert claims("6.3", text) == status


def test_respectively_pairs_the_models_of_5_3(tmp_path, monkeypatch):
    root = make_project(tmp_path, monkeypatch)
    fake_run(root, "pool", "poolupsample", val_loss=1.59, val_acc=41.5)
    fake_run(root, "ct", "convtranspose", val_loss=1.11, val_acc=57.2)
    assert claims("5.3", "ConvTransposeNet and PoolUpsampleNet reach a lower and higher validation loss "
                         "respectively.") == "correct"
    assert claims("5.3", "PoolUpsampleNet and ConvTransposeNet reach a lower and higher validation loss, "
                         "respectively.") == "incorrect"
    assert claims("5.3", "PoolUpsampleNet and ConvTransposeNet reach lower and higher accuracy, respectively.") == "correct"


def test_an_unfinished_run_is_not_the_handouts(tmp_path, monkeypatch):
    import json

    root = make_project(tmp_path, monkeypatch)
    metrics = fake_run(root, "unet", "unet", val_loss=1.0, val_acc=60.0) / "metrics.json"
    metrics.write_text(json.dumps(json.loads(metrics.read_text()) | {"complete": False}))
    from workbench.verify import Missing

    pack = load_pack("a2")
    with pytest.raises(Missing, match="no pinned UNet run with the handout's settings"):
        load_reference(pack).reference(pack.get("6.2"), context("a2"))


def test_claims_without_runs_are_unchecked(tmp_path, monkeypatch):
    make_project(tmp_path, monkeypatch)
    v = verdict("5.3", "ConvTransposeNet has lower validation loss.")
    assert v.status == "unchecked" and "no pinned ConvTransposeNet run" in v.reason


def _with_settings(folder, **settings):
    import json

    config = json.loads((folder / "config.json").read_text())
    config["settings"] |= settings
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def test_only_runs_with_the_handouts_settings_count_and_the_models_own_pin_wins(tmp_path, monkeypatch):
    root = make_project(tmp_path, monkeypatch)
    pack, ctx = load_pack("a2"), context("a2")
    ref = load_reference(pack)
    fake_run(root, "ct", "convtranspose", val_loss=1.11, val_acc=57.2)
    fake_run(root, "unet", "unet", val_loss=1.01, val_acc=60.9)
    # a smoke run on 300 images and one with another learning rate, pinned beside it: not the handout's run
    _with_settings(fake_run(root, "unet2", "unet", val_loss=1.90, val_acc=30.0), limit=300)
    _with_settings(fake_run(root, "unet-lr", "unet", val_loss=1.95, val_acc=29.0), lr=0.01)
    out = ref.reference(pack.get("6.2"), ctx)["answer"]
    assert out["run"] == ["unet"] and out["final"]["val_acc"] == 60.9
    # another run with the handout's settings (e.g. a second seed): results/unet, pinned under the model's name, wins
    fake_run(root, "unet-seed1", "unet", val_loss=1.05, val_acc=58.0)
    assert ref.reference(pack.get("6.2"), context("a2"))["answer"]["run"] == ["unet"]
    assert claims("6.3", "Skip connections improved the validation loss and the accuracy.") == "correct"


def test_a_run_on_another_cifar_category_is_not_the_handouts(tmp_path, monkeypatch):
    """The notebook trains on horses (category 7); a run with --category cat moves every figure, like --limit."""
    root = make_project(tmp_path, monkeypatch)
    _with_settings(fake_run(root, "unet", "unet", val_loss=1.3, val_acc=50.0), category=3)
    (settings,) = load_reference(load_pack("a2")).ref_runs.check_plot_problem("6.2", context("a2"))
    assert settings["ok"] is False and settings["found"] == {"unet": {"category": 3}}
    _with_settings(fake_run(root, "unet-horse", "unet", val_loss=1.0, val_acc=60.0), category=7)
    assert load_reference(load_pack("a2")).reference(load_pack("a2").get("6.2"), context("a2"))["answer"]["run"] == ["unet-horse"]


def test_without_the_models_own_pin_its_standard_runs_are_averaged_and_others_explained(tmp_path, monkeypatch):
    root = make_project(tmp_path, monkeypatch)
    pack = load_pack("a2")
    ref = load_reference(pack)
    _with_settings(fake_run(root, "smoke", "unet", val_loss=1.9, val_acc=30.0), limit=300)
    (settings,) = ref.ref_runs.check_plot_problem("6.2", context("a2"))  # says where the pinned run differs
    assert settings["ok"] is False and settings["found"] == {"smoke": {"limit": 300}}
    fake_run(root, "seed0", "unet", val_loss=1.0, val_acc=60.0)
    fake_run(root, "seed1", "unet", val_loss=1.2, val_acc=58.0)
    out = ref.reference(pack.get("6.2"), context("a2"))["answer"]
    assert out["run"] == ["seed0", "seed1"] and out["final"]["val_acc"] == pytest.approx(59.0)


def test_a_pinned_run_without_its_plot_is_named(tmp_path, monkeypatch):
    root = make_project(tmp_path, monkeypatch)
    fake_run(root, "unet", "unet", val_loss=1.0, val_acc=60.0, plots=False)
    settings, curves = load_reference(load_pack("a2")).ref_runs.check_plot_problem("6.2", context("a2"))
    assert settings["ok"] is True and curves["what"] == "UNet curves.png" and curves["ok"] is False


def test_the_batch_sweep_takes_only_full_runs(tmp_path, monkeypatch):
    root = make_project(tmp_path, monkeypatch)
    pack = load_pack("a2")
    fake_run(root, "bs32", "convtranspose", val_loss=1.09, val_acc=57.4, batch_size=32)
    fake_run(root, "bs512", "convtranspose", val_loss=1.43, val_acc=45.9, batch_size=512)
    _with_settings(fake_run(root, "bs64-smoke", "convtranspose", val_loss=2.0, val_acc=20.0, batch_size=64), limit=200)
    fake_run(root, "bs128-short", "convtranspose", val_loss=2.0, val_acc=20.0, batch_size=128, epochs=3)
    sweep = load_reference(pack).reference(pack.get("5.5"), context("a2"))["answer"]["batch_sweep"]
    assert sorted(sweep) == [32, 512]


@pytest.mark.parametrize("text, status", [
    ("Smaller batches gave a lower validation loss.", "correct"),
    ("Larger batches gave a lower validation loss.", "incorrect"),
    ("With increasing batch size the validation loss increased.", "correct"),
    # each metric of the sentence is its own claim, with its own comparative word
    ("Smaller batch sizes gave a lower validation loss and a higher accuracy.", "correct"),
    ("Larger batches gave a higher validation loss and a lower accuracy.", "correct"),
    ("Smaller batches gave a higher accuracy but a higher validation loss.", "partial"),
    # the comparative word before the batch size it goes with
    ("The validation loss was lower with smaller batches and higher with larger ones.", "correct"),
    ("The validation loss was higher with smaller batches.", "incorrect"),
    # the batch size as the thing that changes: "increasing the batch size", "as the batch size grows"
    ("Increasing the batch size from 32 to 512 raised the validation loss.", "correct"),
    ("As the batch size grows, the validation loss increases.", "correct"),
    ("As the batch size grows, the validation loss decreases.", "incorrect"),
    ("When the batch size is reduced, the accuracy goes up.", "correct"),
    ("When the batch size is increased, the validation loss rises.", "correct"),
])
def test_batch_size_claims_against_the_sweep(tmp_path, monkeypatch, text, status):
    root = make_project(tmp_path, monkeypatch)
    fake_run(root, "bs32", "convtranspose", val_loss=1.09, val_acc=57.4, batch_size=32)
    fake_run(root, "bs512", "convtranspose", val_loss=1.43, val_acc=45.9, batch_size=512)
    assert claims("5.5", text) == status


def test_a_run_whose_palette_had_other_than_24_colours_is_not_the_handouts(tmp_path, monkeypatch):
    import json

    root = make_project(tmp_path, monkeypatch)
    pack = load_pack("a2")
    run = _with_settings(fake_run(root, "unet", "unet", val_loss=1.0, val_acc=60.0), num_colours=24)
    config = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps(config | {"palette_source": {"kind": "file", "k": 5}}))
    from workbench.verify import Missing

    with pytest.raises(Missing, match="no pinned UNet run with the handout's settings"):
        load_reference(pack).reference(pack.get("6.2"), context("a2"))


def test_counts_must_use_one_convention_at_both_sizes():
    v = verdict("4.3", counts_yaml(outputs_doubled="8960 NF + 9216 NC"))  # BatchNorm's outputs only when doubled
    bad = [d for d in v.details if d["ok"] is False]
    assert v.status == "partial" and [d["what"] for d in bad] == ["outputs_doubled"]
    assert "but the 32x32 answer counts Conv2d layers only" in bad[0]["note"]


def test_reasons_need_the_grader(tmp_path, monkeypatch):
    """6.3 asks whether skip connections helped and why: right directions alone leave the answer unchecked (the
    machine agrees on what it could decide, and says the reasons were not judged); a grader decides the rest."""
    from workbench.verify import check_text as check

    root = make_project(tmp_path, monkeypatch)
    fake_run(root, "ct", "convtranspose", val_loss=1.11, val_acc=57.2)
    fake_run(root, "unet", "unet", val_loss=1.01, val_acc=60.9)
    text = "Skip connections improved the validation loss and the accuracy."
    v = verdict("6.3", text)
    assert v.status == "unchecked" and "key points" in v.reason
    assert "agrees with the reference on" in v.critique and "check that by hand" in v.critique
    graded = check("a2", "6.3", text, judge=lambda problem, answer: {"score": 1.0, "notes": ""})
    assert graded.status == "correct"
    assert check("a2", "6.3", text, judge=lambda problem, answer: {"score": 0.5, "notes": ""}).status == "partial"


def test_an_answer_without_its_main_part_is_not_correct():
    """3.1 asks for the convolution: naming the feature alone agreed with the reference and was judged correct."""
    v = verdict("3.1", "It is a sharpening filter.")
    assert v.status == "unchecked" and "I * J" in v.reason and v.score == 0.0


@pytest.mark.parametrize("w1", ["nan", "X w_0 - t"])
def test_a_formula_of_another_shape_is_wrong_not_a_crash(w1):
    """'nan' reads as n*a*n, an n-vector where w1 has d entries: the slip diagnosis subtracted w_0 from it and the
    check itself failed (ValueError) instead of judging the formula wrong."""
    v = verdict("2.2.1", yaml_answer(f"  w1: '{w1}'"))
    assert v.status == "incorrect" and "another shape" in v.details[0]["note"], v.details


def test_unicode_superscript_powers_are_read():
    text = "w1 = w0 - (2η/n) Xᵀ(Xw0 - t)\nL1 = (1/n)‖a - (2η/n) X Xᵀ a‖²\n"
    assert verdict("2.2.1", text).status == "correct"
    assert verdict("2.2.3", "η* = n aᵀXXᵀa / (2‖XXᵀa‖²)\ndL1/dη = −(4/n²) aᵀXXᵀa + (8η/n³) ‖XXᵀa‖²\n").status == "correct"


def test_counts_on_one_line_split_at_semicolons():
    text = ("weights = 9 NIC NF + 36 NF^2 + 9 NF NC + 9 NC^2\noutputs = 1600 NF + 1280 NC\n"
            "connections = 9216 NIC NF + 5760 NF^2 + 2304 NF NC + 9216 NC^2\n"
            "64x64: weights same; outputs = 6400 NF + 5120 NC; connections = 36864 NIC NF + 23040 NF^2 + 9216 NF NC + 36864 NC^2\n")
    assert not [d for d in verdict("4.3", text).details if d["ok"] is False]


@pytest.mark.parametrize("line", [
    "Doubled: weights = {weights_doubled}, outputs = {outputs_doubled}, connections = {connections_doubled}",
    "Doubled: weights: {weights_doubled}, outputs: {outputs_doubled}, connections: {connections_doubled}",
    "With the input doubled, weights = {weights_doubled}, outputs = {outputs_doubled} and "
    "connections = {connections_doubled}.",
])
def test_counts_doubled_labelled_on_one_line(line):
    """The three doubled counts on one line, split by commas: the first label took the rest of the line, so weights
    and outputs were judged against the connections' formula (or, after ':', not found at all)."""
    given = "".join(f"{q} = {COUNTS[q]}\n" for q in ("weights", "outputs", "connections"))
    text = given + "\n" + line.format(**COUNTS) + "\n"
    v = verdict("4.3", text)
    assert v.status == "correct", v.details
    wrong = text.replace("6400 NF + 5120 NC", "3200 NF + 2560 NC")
    assert [d["what"] for d in verdict("4.3", wrong).details if d["ok"] is False] == ["outputs_doubled"]


def test_approx_dot_is_not_a_sentence_end_for_a_labelled_number():
    text = "More weights: overfitting.\nCNN neurons: 61632, params: 21024\nFCNN neurons: 4992, params: approx. 10 063 872\n"
    assert verdict("3.2", text).status == "correct"
    # "parameters: about 21024" is the label's number, not the "61632 neurons" just before the label
    text = ("The CNN has 61632 neurons and parameters: about 21024. The FCNN has 4992 neurons and parameters: "
            "around 10063872. Overfitting.")
    assert verdict("3.2", text).status == "correct"


def test_plain_list_items_give_their_equations():
    text = "1. w1 = w0 - (2 eta/n) X^T (X w0 - t)\n2. L1 = 1/n ||a - 2 eta/n X X^T a||^2\n"
    assert verdict("2.2.1", text).status == "correct"
    assert verdict("2.2.1", text.replace("1. ", "- ").replace("2. ", "- ")).status == "correct"


def test_unicode_lambda_with_combining_tilde_is_lambda_tilde():
    assert verdict("2.3.2", "λ̃ = λ/(2η)\n").status == "correct"


@pytest.mark.parametrize("doubled, status", [
    ("weights unchanged, outputs x4, connections x4", "correct"),
    ("weights are the same, outputs four times larger, connections 4 times larger", "correct"),
    ("weights x4, outputs x4, connections x4", "partial"),
    ("weights same, outputs unchanged, connections unchanged", "partial"),
    ("weights stay the same, outputs quadruple, connections quadruple", "correct"),
])
def test_counts_doubled_said_relative_to_the_32x32_ones(doubled, status):
    text = ("weights = 9 NIC NF + 36 NF^2 + 9 NF NC + 9 NC^2\noutputs = 1600 NF + 1280 NC\n"
            "connections = 9216 NIC NF + 5760 NF^2 + 2304 NF NC + 9216 NC^2\n\nInput doubled: " + doubled + ".\n")
    v = verdict("4.3", text)
    assert v.status == status and all(d["ok"] is not None for d in v.details), v.details


@pytest.mark.parametrize("doubled, notes", [
    ("weights 4x, outputs 2x, connections 8x", ["not 4x", "not x2", ""]),
    ("weights x1, outputs x2, connections x16", ["", "not x2", ""]),
])
def test_counts_doubled_relative_by_another_factor_is_judged(doubled, notes):
    """A factor other than 4 ('outputs 2x', the one-side doubling slip the hint names) was not read: 'no expression
    found', as if the student had written nothing; it is the 32x32 count times that factor, judged as such."""
    text = ("weights = 9 NIC NF + 36 NF^2 + 9 NF NC + 9 NC^2\noutputs = 1600 NF + 1280 NC\n"
            "connections = 9216 NIC NF + 5760 NF^2 + 2304 NF NC + 9216 NC^2\n\nInput doubled: " + doubled + ".\n")
    d = verdict("4.3", text).details[3:]
    assert [x["what"] for x in d] == ["weights_doubled", "outputs_doubled", "connections_doubled"]
    oks = [x["ok"] for x in d]
    assert oks == ([False, False, False] if doubled.startswith("weights 4x") else [True, False, False]), d
    assert all(n in x["note"] for n, x in zip(notes, d)), d
    assert d[2]["found"] == ("73728 NIC NF + 46080 NF^2 + 18432 NF NC + 73728 NC^2" if "8x" in doubled
                             else "147456 NIC NF + 92160 NF^2 + 36864 NF NC + 147456 NC^2")


def test_counts_doubled_a_formula_given_wins_over_its_relative_word():
    """'outputs x4: 6400 NF + 1280 NC' writes a formula (the NC term not quadrupled): that is judged, not the 'x4'."""
    text = ("weights = 9 NIC NF + 36 NF^2 + 9 NF NC + 9 NC^2\noutputs = 1600 NF + 1280 NC\n"
            "connections = 9216 NIC NF + 5760 NF^2 + 2304 NF NC + 9216 NC^2\n\n"
            "Input doubled: weights same; outputs x4: 6400 NF + 1280 NC; connections x4.\n")
    v = verdict("4.3", text)
    assert v.status == "partial" and [d["ok"] for d in v.details] == [True, True, True, True, False, True], v.details



@pytest.mark.parametrize("pid, text, status", [
    ("1.2.1", "<think>\nNot always min norm: counterexample [2/3, 2/3]. Hmm, no.\n</think>\n\n"
              "**Answer:** Yes, RMSProp always obtains the minimum norm solution.", "incorrect"),
    ("3.2", "<think>\nCNN 99,999 neurons? No.\n</think>\n\nCNN: 61,632 neurons, 21,024 parameters. "
            "FCNN: 4,992 neurons, 10,063,872 parameters. More parameters risk overfitting.", "correct"),
    ("3.2", "<think>\nCNN: 61,632 neurons, 21,024 parameters. FCNN: 4,992 neurons, 10,063,872 parameters", "unchecked"),
])
def test_reasoning_model_think_block_is_not_the_answer(pid, text, status):
    """A <think> block's drafts (DeepSeek-R1, QwQ, Qwen3) were read as the answer: its "counterexample" left a final
    "Yes" unchecked, and an unclosed think block cut off at the token limit was judged correct."""
    v = verdict(pid, text)
    assert v.status == status, v.details
    if status == "unchecked":
        assert "<think>" in v.reason


@pytest.mark.parametrize("text, status", [
    ("Iterates stay in the row space.\n\nThe final answer is: $\\boxed{\\text{Yes}}$ I hope it is correct.", "incorrect"),
    ("Preconditioning changes the direction.\n\n**Final Answer**\n\\[ \\boxed{\\text{No}} \\]", "correct"),
    ("Preconditioning changes the direction.\n\nThe final answer is: $\\boxed{\\mathrm{No}}$", "correct"),
    ("Iterates stay in the row space.\n\n**Final Answer:** $\\boxed{\\textbf{Yes}}$", "incorrect"),
    ("Preconditioning changes the direction.\n\nThe final answer is: $\\boxed{\\rm No}$", "correct"),  # \\rm, no brace
    ("Iterates stay in the row space.\n\nThe final answer is: $\\boxed{{\\rm Yes}}$", "incorrect"),
])
def test_llama_final_answer_box_says_the_claim(text, status):
    """Llama's "The final answer is: $\\boxed{...}$" and Qwen's "**Final Answer**" box were no yes/no claim: unchecked."""
    assert verdict("1.2.1", text).status == status
