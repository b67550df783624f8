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


def describe(cls, kernel=3, configs=((1, 32, 24), (3, 8, 10)), size=32):
    """{"configs": [{"nic", "nf", "nc", "layers": [...], "output": shape} | {"error": ..., "error_in": file}]}."""
    import traceback

    import torch
    from torch import nn

    out = []
    for nic, nf, nc in configs:
        record = {"nic": nic, "nf": nf, "nc": nc}
        try:
            model = build(cls, kernel, nic, nf, nc)
            if not isinstance(model, nn.Module):
                raise TypeError(f"{cls!r} did not build an nn.Module")
            layers, outputs = [], []  # outputs: a copy of each layer's output, to trace skip connections
            hooks = []
            x = torch.randn(2, nic, size, size, generator=torch.Generator().manual_seed(0))
            for name, mod in model.named_modules():
                if name and not list(mod.children()):
                    def hook(m, inp, res, name=name):
                        entry = {"name": name, "type": type(m).__name__,
                                 "in": list(inp[0].shape[1:]) if inp and hasattr(inp[0], "shape") else None,
                                 "out": list(res.shape[1:]) if hasattr(res, "shape") else None}
                        for a in ATTRS:
                            if hasattr(m, a):
                                entry[a] = _plain(getattr(m, a))
                        if inp and torch.is_tensor(inp[0]) and inp[0].dim() == 4:
                            entry["from"] = _sources(inp[0], x, outputs)
                        layers.append(entry)
                        outputs.append(res.detach().clone() if torch.is_tensor(res) and res.dim() == 4 else None)
                    hooks.append(mod.register_forward_hook(hook))
            model.eval()
            with torch.no_grad():
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
