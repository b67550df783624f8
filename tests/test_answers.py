"""Extraction of numbers, matrices, labelled quantities, equations and formulas as people and LLMs write them."""

from __future__ import annotations

import numpy as np
import pytest
import sympy

from workbench import answers as ans
from workbench import grids
from workbench.formulas import EvalError, FormulaError, Sym, evaluate, numerically_equal, parse_formula


@pytest.mark.parametrize("text,value", [
    ("21024", 21024), ("21,024", 21024), ("21 024", 21024), (r"21\,024", 21024), ("21{,}024", 21024),
    ("235,667,456", 235667456), ("-3", -3), ("\u22123", -3), ("0.5", 0.5), (".5", 0.5), ("1.2e4", 12000),
    ("1.2E-2", 0.012), (r"1.2 \times 10^{4}", 12000), ("2.5·10^3", 2500), (r"\frac{2}{3}", 2 / 3),
    (r"\dfrac{1}{4}", 0.25), ("2/3", 2 / 3), ("$61{,}632$", 61632), (7, 7.0),
    (r"-\frac{1}{2}", -0.5), (r"1.2 \times 10^{-3}", 0.0012), ("21,024.", 21024),  # sign, negative power, full stop
    ("{0.25}", 0.25), ("$ {61{,}632} $", 61632),  # a TeX group around the whole number
])
def test_parse_number(text, value):
    assert ans.parse_number(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["", "abc", "1,2", "x/0", None, True, r"\frac{1}{0}"])
def test_parse_number_rejects(text):
    assert ans.parse_number(text) is None


def test_parse_number_an_int_past_float_range_is_infinite_like_its_text():
    # YAML reads `limit_point: [0.6667, 1000...0]` (400 zeros) as an int; float() of it raised OverflowError
    assert ans.parse_number(10**400) == ans.parse_number("1" + "0" * 400) == float("inf")
    assert ans.parse_number(-10**400) == float("-inf")


@pytest.mark.parametrize("value, want", [
    (True, True), (False, False), ("true", True), ("Yes.", True), (" NO ", False), ("False.", False),
    ("maybe", None), ("", None), (1, None), (None, None),
])
def test_parse_bool_reads_yaml_bools_and_quoted_yes_no_in_any_case(value, want):
    assert ans.parse_bool(value) is want


def test_find_numbers_keeps_grouped_thousands_and_separate_lists():
    values = [f.value for f in ans.find_numbers("totals: 21,024 and 61,632; list 1, 2, 3")]
    assert values == [21024, 61632, 1, 2, 3]
    # a Unicode minus or dash is a sign, at the caller's positions
    assert [(f.value, f.start) for f in ans.find_numbers("loss \u22123.5, gain \u20131")] == [(-3.5, 5), (-1, 16)]


@pytest.mark.parametrize("text,labels,value", [
    ("Total parameters: 21,024.", [r"param\w*"], 21024),
    ("The CNN has 61,632 neurons in total", [r"neurons?"], 61632),
    ("params = 21024 (no biases)", [r"params"], 21024),
    ("**Trainable parameters:** 235,667,456", [r"parameters"], 235667456),
    # a worked sum: the result at the end of the chain, not its first term
    ("Total parameters = 864 + 18,432 + 1,728 = 21,024.", [r"parameters"], 21024),
    (r"params $= 3 \times 3 \times 3 \times 32 = 864$", [r"params"], 864),
    ("neurons (CNN) = 32*32*32 + 16*16*32 + 16*16*64 + 8*8*64 + 8*8*3 = 61632", [r"neurons"], 61632),
    ("weights = 3072^2 + 768^2 + 192^2 = 10,063,872 in total", [r"weights"], 10063872),
    # a breakdown in parentheses after the number is not a chain from it
    ("total parameters = 21,024 (= 864 + 18,432 + 1,728)", [r"parameters"], 21024),
    ("neurons = 61632 (32 x 32 x 32 = 32768 in the first layer)", [r"neurons"], 61632),
    ("params = 3 x (3 x 32) = 288", [r"params"], 288),
    # TeX thin spaces as thousands separators, a rounded restatement after the number
    (r"$10\,063\,872 \approx 1.0\times 10^7$ parameters", [r"parameters"], 10063872),
    ("10,063,872 (≈ 10.1 million) parameters", [r"parameters"], 10063872),
    ("parameters ≈ 10,063,872", [r"parameters"], 10063872),
])
def test_labelled_numbers(text, labels, value):
    found = ans.labelled_numbers(text, labels)
    assert found and found[-1].value == value


@pytest.mark.parametrize("text, labels, value", [
    ("params: approx. 21 024", [r"params"], 21024),  # "approx." is no sentence end
    ("TOTAL PARAMETERS: 21,024", [r"parameters"], 21024),  # labels in any case
    ("Layer 1 parameters ≈ 864", [r"parameters"], 864),  # "≈ number" after the label beats a number before it
    ("61,632 artificial convolutional neurons in 5 layers", [r"neurons"], 61632),  # two words between: still its number
    ("the neurons in the CNN total 61,632", [r"neurons"], 61632),  # else the nearest number after
    ("61,632 of them are neurons", [r"neurons"], 61632),  # else the nearest before
    ("10,063,872 (or 0.01 billion) parameters", [r"parameters"], 10063872),  # a restatement within 5 %: the exact one
    ("10,063,872 (or 9 million) parameters", [r"parameters"], 9),  # 11 % off: another number, left to be read
])
def test_labelled_numbers_preferences(text, labels, value):
    assert [f.value for f in ans.labelled_numbers(text, labels)] == [value]


def test_labelled_number_right_before_the_label_beats_a_later_one_and_results_come_in_text_order():
    assert [f.value for f in ans.labelled_numbers("The CNN has 61,632 neurons and 5 layers", [r"neurons"])] == [61632]
    assert [f.value for f in ans.labelled_numbers("neurons: 7 and params: 5", [r"params", r"neurons"])] == [7, 5]


def test_labelled_number_does_not_cross_into_a_heading_or_list_item_below_it():
    # the neurons' total ends its line: it is not the number of the "Parameters" heading on the next
    text = "#### Neurons\nTotal: **61,632**\n#### Parameters\nsee below"
    assert ans.labelled_numbers(text, [r"param(?:eter)?s?"]) == []
    assert ans.labelled_numbers("total 61,632\n- parameters (see below)", [r"param(?:eter)?s?"]) == []
    assert [f.value for f in ans.labelled_numbers("The CNN has\n61,632 neurons", [r"neurons"])] == [61632]  # hard-wrapped


M = ((0.0, 1.0, -1.0), (2.0, 3.0, 4.0))
MATRIX_FORMATS = {
    "bmatrix": r"$$\begin{bmatrix} 0 & 1 & -1 \\ 2 & 3 & 4 \end{bmatrix}$$",
    "pmatrix spaced": "\\begin{pmatrix}\n 0 & 1 & -1 \\\\\n 2 & 3 & 4\n\\end{pmatrix}",
    "bmatrix* [r]": r"\begin{bmatrix*}[r] 0 & 1 & -1 \\ 2 & 3 & 4 \end{bmatrix*}",
    "array": r"\left[\begin{array}{ccc} 0 & 1 & -1 \\ 2 & 3 & 4 \end{array}\right]",
    "array with rules": r"\begin{array}{|c|c|c|}\hline 0 & 1 & -1 \\ \hline 2 & 3 & 4 \\ \hline\end{array}",
    "bmatrix row spacing": r"\begin{bmatrix} 0 & 1 & -1 \\[4pt] 2 & 3 & 4 \end{bmatrix}",
    "markdown with header": "| a | b | c |\n|---|---|---|\n| 0 | 1 | -1 |\n| 2 | 3 | 4 |\n",
    "markdown headerless": "|   |   |   |\n|:-:|:-:|:-:|\n| 0 | 1 | \u22121 |\n| 2 | 3 | 4 |\n",
    "markdown with row labels": "|   | a | b | c |\n|---|---|---|---|\n| r1 | 0 | 1 | -1 |\n| r2 | 2 | 3 | 4 |\n",
    "nested list": "result = [[0, 1, -1], [2, 3, 4]]",
    "nested list one row a line": "M = [\n  [0, 1, -1],\n  [2, 3, 4],\n]",  # its rows are also a plain grid: one find
    "plain grid": "```\n0  1 -1\n2  3  4\n```",
    "numpy print": "```\n[[ 0  1 -1]\n [ 2  3  4]]\n```",  # print() of an int array: no commas
    "numpy print, floats": "```\n[[ 0.  1. -1.]\n [ 2.  3.  4.]]\n```",
    "matlab": "M = [0 1 -1; 2 3 4]",
    "matlab commas, one row a line": "M = [0, 1, -1;\n     2, 3, 4]",
    "matlab trailing semicolon": "M = [0 1 -1; 2 3 4;]",
}


@pytest.mark.parametrize("fmt", sorted(MATRIX_FORMATS))
def test_find_matrices_formats(fmt):
    found = grids.find_matrices(MATRIX_FORMATS[fmt])
    assert [f.value for f in found] == [M], fmt


def test_matrix_with_unknown_cells_is_skipped_and_shape_filter_applies():
    text = r"$\begin{bmatrix} ? & ? \\ ? & ? \end{bmatrix}$ and [[1, 2], [3, 4]] and [[1, 2, 3], [4, 5, 6]]"
    assert [f.value for f in grids.find_matrices(text)] == [((1.0, 2.0), (3.0, 4.0)), ((1.0, 2.0, 3.0), (4.0, 5.0, 6.0))]
    assert [f.value for f in grids.find_matrices(text, shape=(2, 3))] == [((1.0, 2.0, 3.0), (4.0, 5.0, 6.0))]
    assert grids.find_matrices(r"$\begin{bmatrix} 1 & 2 \\ ? & 4 \end{bmatrix}$") == []  # not its readable rows alone
    assert grids.find_matrices("mask = [[True, False], [False, True]]") == []
    assert grids.find_matrices("Sizes:\n1 2 3\nend") == []  # one line of numbers is no grid


def test_two_different_matrices_are_both_reported():
    text = "First try [[1, 2], [3, 4]], corrected: [[1, 2], [3, 5]]"
    assert len({f.value for f in grids.find_matrices(text, (2, 2))}) == 2


def test_matrices_side_by_side_their_source_and_a_short_snippet():
    text = "[[1, 2], [3, 4]][[5, 6], [7, 8]]"  # the second starts where the first ends: both are read
    assert [(f.value, f.start) for f in grids.find_matrices(text)] == [(((1.0, 2.0), (3.0, 4.0)), 0), (((5.0, 6.0), (7.0, 8.0)), 16)]
    (found,) = grids.find_matrices(MATRIX_FORMATS["bmatrix* [r]"])
    assert found.source == "bmatrix"  # the starred form is the same notation
    big = "[[" + "], [".join(", ".join(["1"] * 30) for _ in range(30)) + "]]"
    (found,) = grids.find_matrices(big)
    assert len(found.value) == 30 and found.snippet == big[:200]
    # in text order whichever notation is found first; a two-row table without a rule is a matrix too
    text = "| 1 | 2 |\n| 3 | 4 |\n\nand [[5, 6], [7, 8]]"
    assert [f.source for f in grids.find_matrices(text)] == ["markdown table", "list"]
    assert grids.find_matrices(text)[0].value == ((1.0, 2.0), (3.0, 4.0))
    assert grids.find_matrices("M = [1 2; - 4]") == []  # not its readable first row alone
    assert grids.find_matrices("| a | b |\n|---|---|\n| 1 | 2 |\n| ? | ? |\n") == []
    assert [f.value for f in grids.table_cells("| k | p | q |\n|---|---|---|\n| 4 |  | 1 |\n")] == [("k 4", "q", "1")]  # a blank cell says nothing


def test_parse_matrix_value_from_yaml_list_and_text():
    assert grids.parse_matrix_value([[0, 1, -1], [2, 3, 4]]) == M
    assert grids.parse_matrix_value([["0", "1", "-1"], ["2", "3", "4"]]) == M
    assert grids.parse_matrix_value(MATRIX_FORMATS["bmatrix"]) == M
    assert grids.parse_matrix_value([[1, 2], [3]]) is None
    assert grids.parse_matrix_value([[1, 2], ["x", 4]]) is None
    assert grids.parse_matrix_value("[[1, 2], [3, 4]] or [[5, 6], [7, 8]]") is None  # two matrices: no guess


def test_table_cells_carry_their_row_and_column_labels():
    text = "Sizes:\n\n| kernel | **Conv2d** padding |\n|:--|--:|\n| 4 | `1` |\n| 5 | $2$ |\n\nand [[1, 2], [3, 4]]"
    assert [f.value for f in grids.table_cells(text)] == [("kernel 4", "Conv2d padding", "1"), ("kernel 5", "Conv2d padding", "2")]
    assert grids.table_cells("| a | b |\n| 1 | 2 |\n") == []  # no |---| rule under a header: not a table
    assert grids.table_cells("| a | b |\n| 1 | 2 |\n| 3 | 4 |\n") == []
    assert [f.value for f in grids.table_cells("| k | p |\n|---|---|\n| 4 | 1 | 9 |\n")] == [("k 4", "p", "1")]  # no header: no cell
    blank = grids.without_tables(text)
    assert len(blank) == len(text) and "kernel" not in blank and blank.endswith("[[1, 2], [3, 4]]")
    assert grids.without_tables("| one line is no table\nrest") == "| one line is no table\nrest"


def test_a_bar_inside_math_code_or_escaped_does_not_split_a_table_cell():
    text = ("| quantity | formula | value |\n|---|---|---|\n| loss | $\\frac{1}{n}\\|Xw - t\\|^2$ | `abs(x)|0` |\n"
            "| size | $|x|$ | 3 \\| 4 |\n")
    assert [f.value for f in grids.table_cells(text)] == [
        ("quantity loss", "formula", r"\frac{1}{n}\|Xw - t\|^2"), ("quantity loss", "value", "abs(x)|0"),
        ("quantity size", "formula", "|x|"), ("quantity size", "value", r"3 \| 4")]


@pytest.mark.parametrize("cell,value", [
    ("61,632", 61632), (r"$10\,063\,872$", 10063872), ("864 + 18,432 + 1,728 = 21,024", 21024),
    ("10,063,872 (≈ 1.0e7)", 10063872), (r"10,063,872 \approx 10^7", 10063872), ("32 x 32 x 32", None), ("n/a", None),
    ("3*3*32 + 32 = 288 + 32 = 320", 320),  # a chain: its last result
])
def test_cell_number(cell, value):
    assert grids.cell_number(cell) == value


def test_equations_for_chains_alignment_and_boxes():
    text = r"""
$$\begin{aligned} L_1 &= \frac{1}{n}\|Xw_1 - t\|^2 \\ &= \frac{1}{n}\|a - \frac{2\eta}{n}XX^\top a\|^2 \end{aligned}$$
Then $\boxed{\eta^* = \frac{n}{2}}$.
"""
    chains = ans.equations_for(text, r"L_1")
    assert chains and chains[-1].value[-1].startswith(r"\frac{1}{n}\|a")
    star = ans.equations_for(text, r"eta\^\*")
    assert star and star[-1].value == [r"\frac{n}{2}"]


def test_equations_split_on_implies():
    text = r"$\frac{dL_1}{d\eta} = c\eta - b = 0 \Rightarrow \eta^* = b/c$"
    assert ans.equations_for(text, r"eta\^\*")[0].value == ["b/c"]


def test_equation_sides_split_only_where_they_should():
    assert ans.equation_chains("x == 1") == [] and ans.equation_chains("x <= 1 and y >= 2") == []
    # a TeX thin space before a second factor is no clause break; "where" is
    assert [f.value for f in ans.equations_for(r"$\eta^* = \frac{n}{2}\, \frac{a^T a}{b}$", r"eta\^\*")] == [
        [r"\frac{n}{2}  \frac{a^T a}{b}"]]
    assert [f.value for f in ans.equations_for("eta* = n/2 where n = 10", r"eta\*")] == [["n/2"]]
    assert ans.equations_for("so eta* = \n", r"eta\*") == []  # nothing on the right: no answer


def test_equations_for_a_bold_label_before_the_left_side():
    # ChatGPT's "**Answer:** eta* = ..." on a plain line: the bold label is prose, as "Answer:" is
    for text in ("**Answer:** eta* = n/2", "- **Optimal rate**: eta* = n/2", "**Optimal learning rate:** eta* = n/2",
                 "__Answer:__ eta* = n/2", "So the **optimal rate** is eta* = n/2"):  # bold words inside the prose too
        assert [f.value for f in ans.equations_for(text, r"eta\*")] == [["n/2"]], text
    assert ans.equations_for("**2** eta* = n", r"eta\*") == []  # a bold coefficient is no label
    # the formula as inline code after the label
    assert [f.value for f in ans.equations_for("**Answer:** `eta* = n/2`", r"eta\*")] == [["n/2"]]


def test_big_o_and_code_blocks():
    text = r"Forward is $\mathcal{O}(1)$ and backward O( t ); also \mathcal{O}\left(t^2\right), O(t \cdot d), O(t*d)."
    assert [f.value for f in ans.big_o_terms(text)] == ["1", "t", "t^2", "t·d", "t·d"]
    # a tight bound says the O(...) too; a lower bound Ω(...) does not
    assert [f.value for f in ans.big_o_terms(r"Θ(1) and $\Theta(t)$, \Theta\left(t^2\right); Ω(t)")] == ["1", "t", "t^2"]
    md = "text\n```python\nclass A: pass\n```\nmore\n```\nplain\n```\n"
    assert [b.value for b in ans.code_blocks(md, "python")] == ["class A: pass\n", "plain\n"]


# ---------------------------------------------------------------- formulas

SYMS = [Sym("X", "matrix"), Sym("w_0", "vector", ("w0",)), Sym("t", "vector"), Sym("a", "vector"),
        Sym("eta", "scalar", (r"\eta",)), Sym("n", "scalar"), Sym("lambda", "scalar", (r"\lambda",)),
        Sym("lambda_tilde", "scalar", ("lambdatilde",)), Sym("I", "identity")]


def _instance(n=6, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X, w0, t = rng.normal(size=(n, d)), rng.normal(size=(d, 1)), rng.normal(size=(n, 1))
    return {"X": X, "w_0": w0, "t": t, "a": X @ w0 - t, "eta": 0.1, "n": float(n), "lambda": 0.2, "lambda_tilde": 0.3}


W1 = lambda v: v["w_0"] - 2 * v["eta"] / v["n"] * v["X"].T @ (v["X"] @ v["w_0"] - v["t"])  # noqa: E731
ETA = lambda v: v["n"] * (v["a"].T @ v["X"] @ v["X"].T @ v["a"]).item() / (2 * np.linalg.norm(v["X"] @ v["X"].T @ v["a"]) ** 2)  # noqa: E731


@pytest.mark.parametrize("text,target", [
    (r"w_0 - \frac{2\eta}{n} X^\top (X w_0 - t)", W1),
    ("w0 - (2 eta/n) X^T (X w0 - t)", W1),
    (r"\mathbf{w}_0 - \frac{2\eta}{n}\mathbf{X}^{T}(\mathbf{X}\mathbf{w}_{0}-\mathbf{t})", W1),
    ("w_0 - 2*η/n * Xᵀ(X w_0 - t)", W1),
    # \cdot right before a wrapped symbol: "\cdot\mathbf{X}" is a product, not a command "\cdotX"
    (r"\mathbf{w}_0 - \frac{2\eta}{n}\cdot\mathbf{X}^\top(\mathbf{X}\mathbf{w}_0-\mathbf{t})", W1),
    (r"w_0 - \frac{2\eta}{n}X'(Xw_0 - t)", W1),
    (r"\frac{n\, a^\top X X^\top a}{2\left\|XX^\top a\right\|_2^2}", ETA),
    (r"\frac{n \mathbf{a}^{\top}\mathbf{X}\mathbf{X}^{\top}\mathbf{a}}{2 \lVert \mathbf{X}\mathbf{X}^{\top}\mathbf{a}\rVert^{2}}", ETA),
    ("n a^T X X^T a / (2 ||X X^T a||^2)", ETA),
    (r"\frac{n}{2}\frac{a^T XX^T a}{a^T XX^T XX^T a}", ETA),
    # TeX's one-token arguments: \frac12 is 1/2, \frac\eta n is eta/n
    (r"w_0 - 2\frac\eta n X^\top (X w_0 - t)", W1),
    (r"w_0 - 4\tfrac12\frac1n \eta X^\top (X w_0 - t)", W1),
    (r"\frac n2 \frac{a^T XX^T a}{\|X X^T a\|^2}", ETA),
    # the identity I: sized by what it is added to, and I x = x
    (r"(I - \frac{2\eta}{n} X^\top X) w_0 + \frac{2\eta}{n} X^\top t", W1),
    (r"I w_0 - \frac{2\eta}{n} X^\top (X w_0 - t)", W1),
])
@pytest.mark.parametrize("shape", [(6, 3), (3, 6)])
def test_formulas_evaluate_like_numpy(text, target, shape):
    v = _instance(*shape)
    assert numerically_equal(evaluate(parse_formula(text, SYMS), v), target(v))


@pytest.mark.parametrize("text", [
    r"w_0 + \frac{2\eta}{n} X^\top (X w_0 - t)",  # flipped sign
    r"w_0 - \frac{\eta}{n} X^\top (X w_0 - t)",  # missing factor 2
    r"w_0 - \frac{2\eta}{n} X^\top (X w_0 + t)",
])
def test_subtly_wrong_formulas_differ(text):
    v = _instance()
    assert not numerically_equal(evaluate(parse_formula(text, SYMS), v), W1(v))


@pytest.mark.parametrize("text", ["X w_0 + w_0", "X^T X + t", "a^2", "t + eta",
                                  "I + w_0", "X + I", "I"])  # I plus a vector or a non-square matrix; I alone
def test_ill_formed_shapes_raise(text):
    with pytest.raises(EvalError):
        evaluate(parse_formula(text, SYMS), _instance())


def test_division_by_zero_and_a_vector_against_a_scalar():
    with pytest.raises(EvalError, match="division by zero"):
        evaluate(parse_formula("1/n", SYMS), {**_instance(), "n": 0.0})
    assert not numerically_equal(np.array([[2.0], [2.0]]), 2.0)


def test_numerically_equal_tolerances_by_hand():
    # scalars: atol 1e-9 + rtol 1e-7 of max(1, |b|)
    assert numerically_equal(0.5 + 8e-8, 0.5) and not numerically_equal(0.5 + 2e-7, 0.5)
    assert numerically_equal(2e6 + 0.1, 2e6) and not numerically_equal(2e6 + 0.3, 2e6)
    assert not numerically_equal(1.0005, 1.0)
    # arrays: atol scales with the largest |b|, so a tiny entry beside a huge one is within rounding
    assert numerically_equal(np.array([[1e6], [1e-4]]), np.array([[1e6], [0.0]]))
    assert not numerically_equal(np.array([[1.0], [1e-4]]), np.array([[1.0], [0.0]]))
    assert not numerically_equal(np.array([[np.inf], [1.0]]), np.array([[np.inf], [1.0]]))  # overflow is no match
    assert not numerically_equal(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0]))


def test_a_chain_is_read_from_its_last_side():
    e = parse_formula(r"\tilde{\lambda} = 2 q \eta = \frac{\lambda}{2\eta}", SYMS)  # q is no symbol: a middle step
    assert {s.name for s in e.free_symbols} == {"lambda", "eta"}


@pytest.mark.parametrize("text", ["", "w_1 + q", r"\frac{1}{", "2 $$ )",
                                  "(1 - " + "1" * 5000 + r" \eta) w_0",  # past int(str)'s digit limit: sympy's TypeError
                                  r"\frac{\lambda}{" + "(" * 300 + r"\eta" + ")" * 300 + "}",  # RecursionError
                                  # sympy computes a number's power exactly: 2^999999999999 never returned (2 s here)
                                  r"\frac{\lambda}{3^{10000000}}"])
def test_unreadable_formulas_raise(text):
    with pytest.raises(FormulaError):
        parse_formula(text, SYMS)


def test_lhs_is_dropped_and_tilde_lambda_recognised():
    e = parse_formula(r"\tilde{\lambda} = \frac{\lambda}{2\eta}", SYMS)
    assert {s.name for s in e.free_symbols} == {"lambda", "eta"}
    e2 = parse_formula(r"(1-2\eta\tilde\lambda)w_0", SYMS)
    assert "lambda_tilde" in {s.name for s in e2.free_symbols}


def test_a_greek_letter_with_a_subscript_is_one_name():
    # \lambda_t is lambda_tilde's alias: it was read as lambda, then a stray "_t"
    e = parse_formula(r"\frac{\lambda_t}{2} + \eta_{0}", [Sym("lambda_tilde", "scalar", ("lambda_t",)), Sym("eta_0")])
    assert e == sympy.Symbol("lambda_tilde") / 2 + sympy.Symbol("eta_0")


@pytest.mark.parametrize("text,target", [
    (r"$w_0 - \frac{2\eta}{n} X^\top (X w_0 - t)$.", W1),  # math delimiters, a sentence's full stop
    (r"w_0 - \frac{2\eta}{n} X^\top (X w_0 - t) .", W1),
    (r"w_0 - \frac{2\eta}{n} X^\top [X w_0 - t]", W1),  # square brackets multiply like round ones
    (r"w_0 + \frac{2\eta}{n} \cdot -X^\top (X w_0 - t)", W1),  # a minus right after an operator
    (r"w_0 - \frac{2}{n^2} etaX^T (nXw_0 - nt)", W1),  # glued names keep their order
    (r"\frac{\eta}{\sqrt{n}}", lambda v: v["eta"] / np.sqrt(v["n"])),
    (r"|\eta - n| + \|\eta - n\|", lambda v: 2 * abs(v["eta"] - v["n"])),  # |.| and the norm of a scalar
    (r"\frac{1}{n}\|-a\|^2", lambda v: (v["a"].T @ v["a"]).item() / v["n"]),
    (r"\|n \|a\|^2 t\| + \|n \|(a)\|^2 t\|", lambda v: 2 * v["n"] * (v["a"].T @ v["a"]).item() * np.linalg.norm(v["t"])),
    (r"2\eta^{*} + (-1)^{1000001} n", lambda v: 2 * v["eta"] - v["n"]),  # eta^* is a name; (-1)^huge is cheap
])
def test_more_formula_spellings_evaluate_like_numpy(text, target):
    v = _instance()
    assert numerically_equal(evaluate(parse_formula(text, SYMS), v), target(v))


@pytest.mark.parametrize("text", ["(w_0 - t", r"(w_0 - t]", r"\lambda / 3^{-10000000}"])
def test_unclosed_brackets_and_huge_negative_powers_raise(text):
    with pytest.raises(FormulaError):
        parse_formula(text, SYMS)


def test_abs_or_power_of_a_vector_raises_and_a_given_identity_is_a_value():
    with pytest.raises(EvalError, match="norm"):
        evaluate(parse_formula("|t|", SYMS), _instance())
    with pytest.raises(EvalError, match="exponent"):
        evaluate(parse_formula("n^t", SYMS), _instance())
    with pytest.raises(EvalError, match="power"):  # a matrix square root is not X^T X to the power 0
        evaluate(parse_formula("(X^T X)^{1/2}", SYMS), _instance())
    v = _instance(3, 3)
    assert numerically_equal(evaluate(parse_formula("I + X", SYMS), {**v, "I": 2 * v["X"]}), 3 * v["X"])
    assert numerically_equal(evaluate(parse_formula(r"2\eta I - X", SYMS), v), 2 * v["eta"] * np.eye(3) - v["X"])


def test_names_split_longest_first_and_T_as_a_symbol_is_a_power():
    n, nf, t = sympy.symbols("N NF T")
    syms = [Sym("N"), Sym("F"), Sym("NF"), Sym("T")]
    assert parse_formula("2NFN", syms) == 2 * nf * n  # not 2 N F N
    assert parse_formula("N^T", syms) == n ** t  # T is a symbol here, not a transpose
    assert parse_formula(r"\frac pi 2 N", syms, constants={"pi": 3}) == sympy.Rational(3, 2) * n


COUNT = [Sym("NIC", "scalar", ("N_IC", r"\text{NIC}")), Sym("NF", "scalar", ("N_F",)), Sym("NC", "scalar", ("N_C",))]
NIC, NF, NC = sympy.symbols("NIC NF NC")


@pytest.mark.parametrize("text,want", [
    ("9 NIC NF + 36 NF^2", 9 * NIC * NF + 36 * NF**2),
    (r"9\,NIC\cdot NF + 36NF^{2}", 9 * NIC * NF + 36 * NF**2),
    ("9NIC*NF+36*NF**2".replace("**", "^"), 9 * NIC * NF + 36 * NF**2),
    (r"9\text{NIC}\,\text{NF} + 18NF^2 + 18 NF^2", 9 * NIC * NF + 36 * NF**2),
    (r"k^2(N_{IC} N_F + 4 N_F^2)", 9 * NIC * NF + 36 * NF**2),
    ("9 NICNF + 36 NF NF", 9 * NIC * NF + 36 * NF**2),
    ("1600NF + 1280NC", 1600 * NF + 1280 * NC),
])
def test_polynomials_in_named_symbols(text, want):
    got = sympy.expand(parse_formula(text, COUNT, constants={"k": 3}))
    assert sympy.expand(got - want) == 0


# ---------------------------------------------------------------- sentences(): Markdown blocks

@pytest.mark.parametrize("text,want", [
    # a heading, a bold label line and a paragraph without a final stop end at their line (or blank line)
    ("## Results\nUNet has the lower loss.", ["## Results", "UNet has the lower loss."]),
    ("**Why skip connections help**\nThey shorten the gradient paths.",
     ["**Why skip connections help**", "They shorten the gradient paths."]),
    ("A paragraph without a stop\n\nThe next paragraph.", ["A paragraph without a stop", "The next paragraph."]),
    # list items (a wrapped item stays whole), numbered ones too
    ("- first item\n- second item wraps\n  onto a second line\n1. third item", 
     ["- first item", "- second item wraps onto a second line", "1. third item"]),
    ("Intro:\n* one\n* two", ["Intro:", "* one", "* two"]),
    # table rows, each its own; the text after the table is not joined to the last row
    ("| run | loss |\n|---|---|\n| unet | 1.067 |\nAfter the table.",
     ["| run | loss |", "|---|---|", "| unet | 1.067 |", "After the table."]),
    # a bold label ending in a stop inside the bold is a sentence of its own
    ("**Comparison with `ConvTransposeNet`.** Both runs use the same data.",
     ["**Comparison with `ConvTransposeNet`.**", "Both runs use the same data."]),
    ("**Did it improve?** Yes. The loss drops.", ["**Did it improve?**", "Yes.", "The loss drops."]),
    ("__Comparison.__ Both runs use the same data.", ["__Comparison.__", "Both runs use the same data."]),
])
def test_sentences_split_at_markdown_blocks(text, want):
    assert ans.sentences(text) == want


@pytest.mark.parametrize("text,want", [
    # hard-wrapped prose: one sentence across lines, decimals kept
    ("The validation loss of UNet is lower\nthan that of ConvTransposeNet (1.067 vs\n1.107). It also fits the\ntraining data better.",
     ["The validation loss of UNet is lower than that of ConvTransposeNet (1.067 vs 1.107).",
      "It also fits the training data better."]),
    ("*First step* (with $v = 0$): the iterate\nmoves along $[1, 1]$.", ["*First step* (with $v = 0$): the iterate moves along $[1, 1]$."]),
    # also a paragraph after a blank line
    ("First paragraph.\n\nThe loss of UNet is lower\nthan before. It also\nfits better.",
     ["First paragraph.", "The loss of UNet is lower than before.", "It also fits better."]),
])
def test_sentences_keep_a_wrapped_paragraph_whole(text, want):
    assert ans.sentences(text) == want


@pytest.mark.parametrize("text,want", [
    # display math stays with the sentence that introduces it, also after a blank line, and a blank line in it
    ("so the limit is\n\n$$\n\\hat{w} = [2/3, 2/3]\n$$\n\nThe next paragraph.",
     ["so the limit is $$ \\hat{w} = [2/3, 2/3] $$", "The next paragraph."]),
    ("the minimum-norm solution is\n\\[\nw^\\star = [0.8, 0.4]\n\n\\]\nwhich is in the row space.",
     ["the minimum-norm solution is \\[ w^\\star = [0.8, 0.4] \\] which is in the row space."]),
    ("the limit is $$[2/3, 2/3]$$\n\nNext.", ["the limit is $$[2/3, 2/3]$$", "Next."]),
    ("the limit is\n$$\nw = [2/3, 2/3]\n\n- w_0\n$$\n\nNext.", ["the limit is $$ w = [2/3, 2/3] - w_0 $$", "Next."]),
    # a stop at the end of the math does not leave its closing "$$" as a sentence
    ("the limit is\n$$\nw = [2/3, 2/3] .\n$$\n\n$x$ is next. $y$ too.", ["the limit is $$ w = [2/3, 2/3] . $$", "$x$ is next.", "$y$ too."]),
])
def test_sentences_keep_display_math_with_its_sentence(text, want):
    assert ans.sentences(text) == want


def test_dot_grouped_thousands_separators():
    assert ans.dot_grouped("61.632 and 10.063.872") == "61 632 and 10 063 872"
    assert ans.dot_grouped("eta = 61.632, w = 1.5") == "eta = 61.632, w = 1.5"  # one group alone: a decimal


def test_normalise_tex_reads_unicode_subscript_digits():
    from workbench.formulas import normalise_tex
    assert normalise_tex("w₁ = w₀ - L₁₂") == "w_1 = w_0 - L_12"
    assert normalise_tex("x₃₄₅₆₇₈₉") == "x_3456789"  # every digit, not only those of w₀, w₁


@pytest.mark.parametrize("text, want", [
    ("<think>draft: yes</think>\nNo.", ("\nNo.", "")),
    ("<think>a</think> maybe <think>b</think>Final: No.", ("Final: No.", "")),  # after the last </think>
    ("<THINKING>draft</thinking>No.", ("No.", "")),
    ("<Think>draft: yes</THINK>No.", ("No.", "")),  # the closing tag in any case too
    ("draft: yes\n</think>\n\nNo.", ("\n\nNo.", "")),  # the server dropped the opening tag
    ("No <think> here, all answer.", ("No <think> here, all answer.", "")),
])
def test_after_thinking_keeps_only_the_answer_after_the_block(text, want):
    assert ans.after_thinking(text) == want


def test_after_thinking_an_unclosed_block_is_no_answer():
    text, why = ans.after_thinking("  <thinking>\nCNN: 61,632 neurons")
    assert text == "" and "unclosed <think>" in why
    assert ans.after_thinking("<THINK>CNN: 61,632 neurons")[0] == ""  # in any case


# ---------------------------------------------------------------- pinned by mutation testing

def test_thousands_written_with_an_apostrophe_are_one_number():
    assert [f.value for f in ans.find_numbers("Total: 21'024 weights")] == [21024.0]  # Swiss style
    assert ans.parse_number("21'024") == 21024.0


def test_a_decimal_without_its_leading_zero_keeps_its_sign():
    assert [f.value for f in ans.find_numbers("the change is -.5 per step")] == [-0.5]


def test_no_number_starts_right_after_a_dot():
    assert [f.value for f in ans.find_numbers("see section 2.3.1")] == [2.3]  # not 2.3 and 1


def test_tex_qquad_is_a_space_in_a_number():
    assert ans.parse_number("\\qquad 61{,}632") == 61632.0


def test_a_number_three_words_before_a_label_is_not_its_value():
    found = ans.labelled_numbers("It has 3 conv layers with parameters totalling 21,024.", ["parameters"])
    assert [f.value for f in found] == [21024.0]


def test_a_semicolon_ends_the_sentence_a_label_is_read_in():
    assert ans.labelled_numbers("The parameters are listed below; the rate is 0.01.", ["parameters"]) == []


def test_an_escaped_brace_inside_a_box_does_not_unbalance_it():
    assert ans.unbox("\\boxed{\\{1, 2\\}} = S") == "\\{1, 2\\} = S"


def test_equation_sides_lose_a_trailing_stop_and_split_only_on_a_top_level_equals():
    assert [c.value for c in ans.equation_chains("Hence w = 3.")] == [["Hence w", "3"]]
    assert [c.value for c in ans.equation_chains("x != y")] == []
    assert [c.value for c in ans.equation_chains("f(x=1) = 2")] == [["f(x=1)", "2"]]


def test_a_left_side_of_three_words_after_prose_is_found():
    assert [f.value for f in ans.equations_for("Hence dL / dw = 2w", r"dL/dw")] == [["2w"]]


def test_a_tilde_fence_is_a_code_block():
    assert [(f.source, f.value) for f in ans.code_blocks("~~~python\nprint(1)\n~~~\n")] == [("python", "print(1)\n")]


def test_big_o_reads_ast_as_a_product():
    assert [f.value for f in ans.big_o_terms("O(t \\ast d)")] == ["t·d"]


def test_has_any_ignores_case_and_plain_words_drops_every_emphasis():
    assert ans.has_any("We used SGD.", ["sgd", "adam"]) == ["sgd"]
    assert ans.plain_words("does *not* hold, _never_ \\underline{always}") == "does not hold, never always"


def test_a_total_followed_by_its_breakdown_after_an_equals_is_the_total():
    """'params = 21,024 = 864 + 18,432 + 1,728' read 864: an '=' right after a number led on to the next one."""
    found = ans.labelled_numbers("params = 21,024 = 864 + 18,432 + 1,728", ["params"])
    assert [f.value for f in found] == [21024.0]
    found = ans.labelled_numbers("params: 864 + 18,432 + 1,728 = 21,024", ["params"])  # a worked sum: its result
    assert [f.value for f in found] == [21024.0]
