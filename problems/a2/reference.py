"""Reference checks of the A2 pack (CSC413/2516 W2023 Assignment 2): answer keys, solvers, checks.

Loaded by path by workbench/verify.py; everything A2-specific lives here, not in the engine.
"""

from __future__ import annotations

# The shape of the `answer:` front matter of an own solution (solutions/a2/<id>.md), per checkable problem.
# Values: "expr" = a TeX or plain-text expression string (parsed by workbench/answers.py), "int" = an integer
# (21024 or "21,024"), "bool" = true/false, "text" = free text checked for key words; "(optional)" fields may
# be left out. Problems not listed here have no machine-checkable answer (free text judged against the
# record's key_points, or code / plots / runs checked through `code:` and `cites:`).
ANSWER_KEYS: dict[str, dict] = {
    "1.2.1": {
        "always_min_norm": "bool: does RMSProp always reach the minimum-norm solution? (the hint's case decides)",
        "limit_point": "(optional) [w1, w2]: where RMSProp converges for x1=[2,1], t=[2], w0=[0,0]",
        "min_norm": "(optional) [w1, w2]: the minimum-norm solution of that case",
    },
    "2.1.2": {
        "forward": "text: memory of forward propagation through t GD steps, big-O in t, e.g. \"O(1)\"",
        "backward": "text: memory of standard back-propagation to get dL_t/d eta, big-O in t, e.g. \"O(t)\"",
    },
    "2.2.1": {
        "w1": "expr in w_0, eta, t, X, n (vectors w_0, t; matrix X; transposes X^T / X^\\top)",
        "L1": "expr for L_1 as a function of eta (may use a = X w_0 - t; norms \\|v\\|^2 or ||v||^2)",
    },
    "2.2.2": {"convex": "bool: is L_1 convex in eta?"},
    "2.2.3": {
        "dL1_deta": "expr: dL_1/d eta (in a, X, eta, n or in X, w_0, t, eta, n)",
        "eta_star": "expr: the optimal learning rate eta^*",
    },
    "2.3.1": {
        "w1_l2": "expr: w_1 from one GD step on the L2-regularised loss (uses \\tilde\\lambda)",
        "w1_wd": "expr: w_1 from one GD step on the plain loss with weight decay (uses \\lambda)",
    },
    "2.3.2": {"lambda_tilde": "expr: \\tilde\\lambda in terms of \\lambda and eta"},
    "3.1": {
        "matrix": "5x5 list of numbers, row-major ([[..5 numbers..], ... 5 rows]): I * J with zero padding",
        "feature": "text: what the filter detects",
    },
    "3.2": {
        "cnn_neurons": "int: neurons of the CNN (outputs of every layer after the input, pooling included)",
        "cnn_params": "int: trainable parameters of the CNN (no biases)",
        "fcnn_neurons": "int: neurons of the FCNN (same convention)",
        "fcnn_params": "int: trainable parameters of the FCNN (no biases)",
        "disadvantage": "(optional) text: one disadvantage of more trainable parameters",
    },
    "4.3": {
        "weights": "expr in NIC, NF, NC (kernel 3, 32x32 input), e.g. \"9 NIC NF + 36 NF^2 + ...\"",
        "outputs": "expr in NIC, NF, NC",
        "connections": "expr in NIC, NF, NC",
        "weights_doubled": "expr: the same with a 64x64 input",
        "outputs_doubled": "expr",
        "connections_doubled": "expr",
        "convention": "(optional) text: which layers were counted, e.g. \"conv layers only\" or \"BatchNorm included\"",
    },
    "5.3": {"lower_val_loss": "bool: does ConvTransposeNet reach a lower validation loss than PoolUpsampleNet?"},
    "5.4": {
        "k4": "{conv_padding: int, tconv_padding: int, output_padding: int} for kernel 4",
        "k5": "{conv_padding: int, tconv_padding: int, output_padding: int} for kernel 5",
    },
    "6.3": {
        "improved_val_loss": "bool: did skip connections (UNet) lower the validation loss vs ConvTransposeNet?",
        "improved_val_acc": "bool: did they raise the validation accuracy?",
    },
}

# Front matter `code:` points at the model that is the solution of a coding problem: "module:Class".
CODE_PROBLEMS = {"4.1": "PoolUpsampleNet", "5.1": "ConvTransposeNet", "6.1": "UNet"}

# Front matter `cites: {"<run>.<metric>": value}`: <run> is a folder under solutions/a2/results/, <metric>
# one of these, read at the final epoch of the run's metrics.json; verify compares the value rounded to the
# number of decimals quoted, and requires the quoted number to appear in the solution text.
CITE_METRICS = ("train_loss", "val_loss", "val_acc")
