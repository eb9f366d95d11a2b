#!/usr/bin/python3
"""make_any_models.py - write the small ONNX test models of tests/fixtures/any_models/.

These are models built "the way users build them" for the tests of benchmarking any ONNX model: PyTorch
exports (torch.onnx.export with its defaults, with names and dynamic axes, conv nets, several inputs and
outputs, an int64 embedding) and graphs written with the onnx helper API (one per other input element
type, a symbolic non-batch dimension, a batch axis that is not the first, a fixed batch size).
tests/fixtures/any_models/README.md describes every file.

Deterministic: every weight comes from a fixed seed (torch.manual_seed / numpy default_rng), so a rerun
with the same torch and onnx versions writes the same files byte for byte.

Usage: scripts/make_any_models.py [--out DIR]   (default tests/fixtures/any_models)
"""
import argparse
import os
import sys
import warnings

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
import torch
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# ---------------------------------------------------------------------------------------------------
# PyTorch models
# ---------------------------------------------------------------------------------------------------


def mlp(n_in, n_hidden, n_out, final=None):
    layers = [nn.Linear(n_in, n_hidden), nn.ReLU(), nn.Linear(n_hidden, n_out)]
    if final is not None:
        layers.append(final)
    return nn.Sequential(*layers)


class Conv(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.fc = nn.Linear(8 * 8 * 8, 10)

    def forward(self, x):
        return self.fc(torch.flatten(torch.relu(self.conv(x)), 1))


class TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(81 + 5, 16)
        self.logits = nn.Linear(16, 9)
        self.score = nn.Linear(16, 1)

    def forward(self, board, extra):
        h = torch.relu(self.fc(torch.cat([board, extra], dim=1)))
        return self.logits(h), torch.tanh(self.score(h))


class EmbedInt64(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(10, 8)
        self.fc = nn.Linear(8, 4)

    def forward(self, tokens):
        return self.fc(self.embed(tokens).mean(dim=1))


class TwoHeadsConv(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, padding=1)
        self.policy = nn.Linear(8 * 9 * 9, 9)
        self.value = nn.Linear(8 * 9 * 9, 1)

    def forward(self, board):
        h = torch.flatten(torch.relu(self.conv(board.view(-1, 1, 9, 9))), 1)
        return torch.softmax(self.policy(h), dim=1), torch.tanh(self.value(h))


def export(model, args, path, **kw):
    model.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, args, path, **kw)


def torch_models(out):
    batch = {0: "batch"}

    torch.manual_seed(1)
    net = mlp(81, 64, 9, nn.Softmax(dim=1))
    x = torch.zeros(1, 81)
    export(net, (x,), os.path.join(out, "torch_static.onnx"))  # every export default
    export(net, (x,), os.path.join(out, "torch_dynamic.onnx"), input_names=["board"],
           output_names=["policy"], dynamic_axes={"board": batch, "policy": batch})

    # dynamic_axes on the input only: the exporter names the output's batch dim itself ("Softmax..._dim_0")
    export(net, (x,), os.path.join(out, "torch_input_axis_only.onnx"), input_names=["board"],
           dynamic_axes={"board": batch})

    torch.manual_seed(2)
    export(mlp(100, 32, 10), (torch.zeros(1, 100),), os.path.join(out, "mlp_100_32_10.onnx"),
           input_names=["input"], output_names=["output"],
           dynamic_axes={"input": batch, "output": batch})

    torch.manual_seed(3)
    export(Conv(), (torch.zeros(1, 3, 8, 8),), os.path.join(out, "conv.onnx"),
           input_names=["image"], output_names=["logits"],
           dynamic_axes={"image": batch, "logits": batch})

    torch.manual_seed(4)
    export(TwoInputs(), (torch.zeros(1, 81), torch.zeros(1, 5)), os.path.join(out, "two_inputs.onnx"),
           input_names=["board", "extra"], output_names=["logits", "score"],
           dynamic_axes={n: batch for n in ("board", "extra", "logits", "score")})

    torch.manual_seed(5)
    export(EmbedInt64(), (torch.zeros(1, 16, dtype=torch.int64),), os.path.join(out, "embed_int64.onnx"),
           input_names=["tokens"], output_names=["output"],
           dynamic_axes={"tokens": batch, "output": batch})

    torch.manual_seed(6)
    export(mlp(81, 32, 9, nn.Softmax(dim=1)), (torch.zeros(4, 81),), os.path.join(out, "fixed_batch4.onnx"),
           input_names=["board"], output_names=["policy"])

    torch.manual_seed(7)
    export(TwoHeadsConv(), (torch.zeros(1, 81),), os.path.join(out, "two_heads_conv.onnx"),
           input_names=["board"], output_names=["policy", "value"],
           dynamic_axes={n: batch for n in ("board", "policy", "value")})


# ---------------------------------------------------------------------------------------------------
# onnx helper API models (opset 17, IR version 8)
# ---------------------------------------------------------------------------------------------------
OPSET = 17
IR_VERSION = 8


def save_helper(graph, path):
    model = helper.make_model(graph, producer_name="make_any_models.py",
                              opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, path)


def weights(seed, *shape):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


DTYPES = [  # file suffix, element type, also a 'y_same' output in the input type
    ("float16", TensorProto.FLOAT16, True),
    ("bfloat16", TensorProto.BFLOAT16, False),
    ("double", TensorProto.DOUBLE, True),
    ("int32", TensorProto.INT32, False),
    ("int8", TensorProto.INT8, False),
    ("uint8", TensorProto.UINT8, False),
    ("bool", TensorProto.BOOL, False),
]


def dtype_model(out, i, name, elem, same):
    w = numpy_helper.from_array(weights(100 + i, 6, 3), "W")
    b = numpy_helper.from_array(weights(200 + i, 3), "B")
    nodes = [helper.make_node("Cast", ["x"], ["xf"], to=TensorProto.FLOAT),
             helper.make_node("MatMul", ["xf", "W"], ["xw"]),
             helper.make_node("Add", ["xw", "B"], ["y"])]
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])]
    if same:
        nodes.append(helper.make_node("Cast", ["y"], ["y_same"], to=elem))
        outputs.append(helper.make_tensor_value_info("y_same", elem, ["batch", 3]))
    graph = helper.make_graph(nodes, "dtype_" + name,
                              [helper.make_tensor_value_info("x", elem, ["batch", 6])], outputs, [w, b])
    save_helper(graph, os.path.join(out, "dtype_%s.onnx" % name))


def symbolic_seq(out):
    w = numpy_helper.from_array(weights(300, 8, 4), "W")
    nodes = [helper.make_node("ReduceMean", ["x"], ["m"], axes=[1], keepdims=0),
             helper.make_node("MatMul", ["m", "W"], ["y"])]
    graph = helper.make_graph(nodes, "symbolic_seq",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "seq", 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])], [w])
    save_helper(graph, os.path.join(out, "symbolic_seq.onnx"))


def batch_last(out):
    w = numpy_helper.from_array(weights(400, 6, 2), "W")
    nodes = [helper.make_node("Transpose", ["x"], ["xt"], perm=[1, 0]),
             helper.make_node("MatMul", ["xt", "W"], ["y"])]
    graph = helper.make_graph(nodes, "batch_last",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [6, "N"])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2])], [w])
    save_helper(graph, os.path.join(out, "batch_last.onnx"))


def external_data(out):
    """A MatMul whose weight lives in a separate file beside the model (onnx's save_as_external_data)."""
    w = numpy_helper.from_array(weights(500, 6, 3), "W")
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "W"], ["y"])], "external_data",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 6])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.save_model(model, os.path.join(out, "external_data.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="external_data.onnx.data", size_threshold=0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures", "any_models"))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch_models(a.out)
    for i, (name, elem, same) in enumerate(DTYPES):
        dtype_model(a.out, i, name, elem, same)
    symbolic_seq(a.out)
    batch_last(a.out)
    external_data(a.out)
    for f in sorted(os.listdir(a.out)):
        if f.endswith(".onnx"):
            p = os.path.join(a.out, f)
            onnx.checker.check_model(onnx.load(p))
            print("%-24s %7d bytes" % (f, os.path.getsize(p)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
