"""Describe a colourization model as JSON: every leaf layer in execution order with its settings and shapes.

Self-contained (torch only): imported in-process for our own models, and appended as source to untrusted
code that runs in workbench.sandbox, where `describe` is called and its JSON printed.
"""

import inspect

ATTRS = ("in_channels", "out_channels", "kernel_size", "stride", "padding", "output_padding", "dilation",
         "num_features", "scale_factor", "mode", "groups")


def _plain(v):
    if isinstance(v, (tuple, list)):
        return [_plain(x) for x in v]
    if isinstance(v, (int, float, str, bool)) or v is None:
        return v
    return str(v)


def build(cls, kernel, nic, nf, nc):
    """The course's constructor order (kernel, num_filters, num_colours, num_in_channels), else by keyword."""
    try:
        return cls(kernel, nf, nc, nic)
    except TypeError:
        params = inspect.signature(cls).parameters
        kwargs = {}
        for name, value in (("kernel", kernel), ("num_filters", nf), ("num_colours", nc), ("num_in_channels", nic)):
            if name in params:
                kwargs[name] = value
        return cls(**kwargs)


def _sources(t, x, outputs):
    """Where the channels of a layer's input come from, in order: "input" (the image) or the index of the
    (latest) earlier layer whose output they equal; "?" for channels that match none."""
    import torch

    found, c = [], 0
    cands = [(i, o) for i, o in enumerate(outputs) if o is not None][::-1] + [("input", x)]
    while c < t.shape[1]:
        for key, o in cands:
            k = o.shape[1]
            if o.shape[:1] + o.shape[2:] == t.shape[:1] + t.shape[2:] and c + k <= t.shape[1] \
                    and torch.equal(t[:, c:c + k], o):
                found.append(key)
                c += k
                break
        else:
            return found + ["?"]
    return found


def _functional_layers():
    """The functional calls a forward may make in place of a layer (`F.relu(x)`, `F.interpolate(x, scale_factor=2)`,
    `torch.softmax(x, 1)`): the layer type each stands for, and which of its arguments hold the layer's settings."""
    import torch
    import torch.nn.functional as F

    T = torch.Tensor
    table = {}
    for kind, funcs, settings in (
            ("ReLU", (F.relu, F.relu_, torch.relu, torch.relu_, T.relu, T.relu_), ()),
            ("MaxPool2d", (F.max_pool2d, torch.max_pool2d), ("kernel_size", "stride", "padding")),
            ("AvgPool2d", (F.avg_pool2d,), ("kernel_size", "stride", "padding")),
            ("Upsample", (F.interpolate, F.upsample), ("size", "scale_factor", "mode")),
            ("Sigmoid", (torch.sigmoid, T.sigmoid, F.sigmoid), ()),
            ("Tanh", (torch.tanh, T.tanh, F.tanh), ()),
            ("Softmax", (F.softmax, torch.softmax, T.softmax), ()),
            ("LogSoftmax", (F.log_softmax, torch.log_softmax, T.log_softmax), ()),
            ("Dropout", (F.dropout, F.dropout2d), ())):
        for f in funcs:
            table[f] = (kind, settings)
    return table


def describe(cls, kernel=3, configs=((1, 32, 24), (3, 8, 10)), size=32):
    """{"configs": [{"nic", "nf", "nc", "layers": [...], "output": shape} | {"error": ..., "error_in": file}]}."""
    import traceback

    import torch
    from torch import nn
    from torch.overrides import TorchFunctionMode

    out = []
    for nic, nf, nc in configs:
        record = {"nic": nic, "nf": nf, "nc": nc}
        try:
            model = build(cls, kernel, nic, nf, nc)
            if not isinstance(model, nn.Module):
                raise TypeError(f"{cls!r} did not build an nn.Module")
            layers, outputs = [], []  # outputs: a copy of each layer's output, to trace skip connections
            hooks, inside = [], [0]  # inside: leaf layers running now (their own F.relu etc. are not extra layers)
            x = torch.randn(2, nic, size, size, generator=torch.Generator().manual_seed(0))

            def add(name, kind, settings, inp, res):
                entry = {"name": name, "type": kind,
                         "in": list(inp[0].shape[1:]) if inp and hasattr(inp[0], "shape") else None,
                         "out": list(res.shape[1:]) if hasattr(res, "shape") else None, **settings}
                if inp and torch.is_tensor(inp[0]) and inp[0].dim() == 4:
                    entry["from"] = _sources(inp[0], x, outputs)
                layers.append(entry)
                outputs.append(res.detach().clone() if torch.is_tensor(res) and res.dim() == 4 else None)

            for name, mod in model.named_modules():
                if name and not list(mod.children()):
                    def pre(m, inp):
                        inside[0] += 1

                    def hook(m, inp, res, name=name):
                        inside[0] -= 1
                        add(name, type(m).__name__, {a: _plain(getattr(m, a)) for a in ATTRS if hasattr(m, a)},
                               inp, res)
                    hooks += [mod.register_forward_pre_hook(pre), mod.register_forward_hook(hook)]

            functional = _functional_layers()

            class Functional(TorchFunctionMode):
                """A layer applied as a function in forward (F.relu, F.interpolate ...) is a layer of the model."""

                def __torch_function__(self, func, types, args=(), kwargs=None):
                    kwargs = kwargs or {}
                    res = func(*args, **kwargs)
                    if inside[0] == 0 and func in functional and args and torch.is_tensor(args[0]):
                        kind, names = functional[func]
                        bound = dict(zip(names, args[1:]), **{k: v for k, v in kwargs.items() if k in names})
                        if kind == "MaxPool2d" and bound.get("stride") is None and "kernel_size" in bound:
                            bound["stride"] = bound["kernel_size"]  # the function's default, as nn.MaxPool2d's
                        add(f"{getattr(func, '__name__', kind)}()", kind, {k: _plain(v) for k, v in bound.items()},
                               (args[0],), res)
                    return res

            model.eval()
            with torch.no_grad(), Functional():
                y = model(x)
            for h in hooks:
                h.remove()
            record["layers"] = layers
            record["output"] = list(y.shape[1:])
            record["children"] = [n for n, _ in model.named_children()]
        except Exception as exc:  # the description carries the failure; the checker reports it
            record["error"] = f"{type(exc).__name__}: {exc}"[:300]
            frames = traceback.extract_tb(exc.__traceback__)
            record["error_in"] = frames[-1].filename if frames else ""  # the file of the frame that raised it
        out.append(record)
    return {"class": getattr(cls, "__name__", str(cls)), "kernel": kernel, "configs": out}
