#!/usr/bin/env python3
"""`dwconv shapes` on models built here with the onnx and tflite packages' own writers: every
depthwise layer (M > 1, both paddings, stride 2, dilation 2) becomes a row, other convolutions
are skipped, the CSV is one the dwconv tool reads, and each unsupported or malformed model is an
error naming the file and the node.
    model_shapes_test.py DWCONV_BINARY SCRATCH_DIR
"""
import csv
import os
import subprocess
import sys

import flatbuffers
import numpy as np
import onnx
import tflite
from onnx import TensorProto, helper, numpy_helper

BIN, DIR = sys.argv[1], sys.argv[2]
os.makedirs(DIR, exist_ok=True)
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print(f"FAIL: {what}")


def shapes(model, *extra):
    out = os.path.join(DIR, os.path.basename(model) + ".csv")
    r = subprocess.run([BIN, "shapes", model, "-o", out, *extra], capture_output=True, text=True)
    return r.returncode, r.stderr, out


def rows_of(path):
    with open(path) as f:
        return [r for r in csv.reader(line for line in f if not line.startswith("#"))][1:]


# ----- ONNX --------------------------------------------------------------------------------------

def onnx_model(path, layers, batch=1, c=32, h=28, w=28):
    """Conv layers in a chain, each (name, out_channels, group, kernel, attributes)."""
    nodes, inits = [], []
    prev, shape_c = "x", c
    for i, (name, out_c, group, k, attrs) in enumerate(layers):
        wname = f"w{i}"
        inits.append(numpy_helper.from_array(np.zeros((out_c, shape_c // group, k[0], k[1]), np.float32), wname))
        nodes.append(helper.make_node("Conv", [prev, wname], [f"y{i}"], name=name, kernel_shape=list(k),
                                      group=group, **attrs))
        prev, shape_c = f"y{i}", out_c
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, c, h, w])
    y = helper.make_tensor_value_info(prev, TensorProto.FLOAT, None)
    graph = helper.make_graph(nodes, "g", [x], [y], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    return path


good = onnx_model(os.path.join(DIR, "net.onnx"), [
    ("dw_s2", 32, 32, (3, 3), dict(strides=[2, 2], auto_pad="SAME_UPPER")),   # 28 -> 14
    ("pointwise", 16, 1, (1, 1), {}),                                         # skipped
    ("dw_m2_valid", 32, 16, (5, 5), dict(pads=[0, 0, 0, 0])),                 # 14 -> 10, M = 2
    ("dw_dilated", 32, 32, (3, 3), dict(dilations=[2, 2], pads=[2, 2, 2, 2])),  # SAME at d = 2
    ("grouped", 32, 4, (3, 3), dict(pads=[1, 1, 1, 1])),                      # skipped: 4 groups
])
rc, err, out = shapes(good)
check(rc == 0, f"dwconv shapes net.onnx exited {rc}: {err}")
if rc == 0:
    want = [["dw_s2", "1", "28", "28", "32", "1", "3", "3", "2", "1", "SAME"],
            ["dw_m2_valid", "1", "14", "14", "16", "2", "5", "5", "1", "1", "VALID"],
            ["dw_dilated", "1", "10", "10", "32", "1", "3", "3", "1", "2", "SAME"]]
    got = [r[:11] for r in rows_of(out)]
    check(got == want, f"ONNX rows {got} != {want}")
    # The dwconv tool reads the CSV (and computes the same output size as the model).
    r = subprocess.run([BIN, "info", "dw_m2_valid", "--shapes", out], capture_output=True, text=True)
    check(r.returncode == 0 and "output:    [1, 10, 10, 32]" in r.stdout, f"dwconv info on the CSV: {r.stdout}{r.stderr}")

rc, err, out = shapes(good, "--batch", "4")
check(rc == 0 and all(r[1] == "4" for r in rows_of(out)), f"--batch 4: {err}")

# A dynamic batch needs --batch.
dyn = os.path.join(DIR, "dynamic.onnx")
onnx_model(dyn, [("dw", 32, 32, (3, 3), dict(pads=[1, 1, 1, 1]))])
m = onnx.load(dyn)
m.graph.input[0].type.tensor_type.shape.dim[0].dim_param = "N"
onnx.save(m, dyn)
rc, err, _ = shapes(dyn)
check(rc == 1 and "node 'dw'" in err and "--batch" in err, f"dynamic batch: {rc} {err}")
rc, err, out = shapes(dyn, "--batch", "2")
check(rc == 0 and rows_of(out)[0][1] == "2", f"dynamic batch with --batch 2: {rc} {err}")

# Layers a shapes file cannot hold, and files that are no model: errors naming file and node.
bad_cases = {
    "strides.onnx": ([("dw_strides", 32, 32, (3, 3), dict(strides=[2, 1], pads=[1, 1, 1, 1]))],
                     "node 'dw_strides': stride (2, 1) differs"),
    "pads.onnx": ([("dw_pads", 32, 32, (3, 3), dict(pads=[1, 1, 0, 0]))],
                  "node 'dw_pads': padding [(1, 0), (1, 0)]"),
    "none.onnx": ([("pw", 16, 1, (1, 1), {})], "no depthwise convolution"),
}
for name, (layers, want) in bad_cases.items():
    rc, err, _ = shapes(onnx_model(os.path.join(DIR, name), layers))
    check(rc == 1 and name in err and want in err, f"{name}: expected '{want}', got {rc}: {err}")
junk = os.path.join(DIR, "junk.onnx")
open(junk, "wb").write(b"\x08\x01 this is not a model" * 7)
rc, err, _ = shapes(junk)
check(rc == 1 and "junk.onnx" in err and "Traceback" not in err, f"junk model: {rc} {err}")
rc, err, _ = shapes(os.path.join(DIR, "missing.onnx"))
check(rc == 1 and "missing.onnx: cannot read" in err, f"missing model: {rc} {err}")


# ----- TFLite ------------------------------------------------------------------------------------

def tflite_model(path, ops, tensors):
    """ops: (builtin code, input tensor ids, output ids, options kind, options dict); tensors:
    (name, shape). Written with the tflite package's generated builder."""
    b = flatbuffers.Builder(1024)

    def ints(start, values):
        start(b, len(values))
        for v in reversed(values):
            b.PrependInt32(v)
        return b.EndVector()

    def table_vector(start, items):
        start(b, len(items))
        for t in reversed(items):
            b.PrependUOffsetTRelative(t)
        return b.EndVector()

    tflite.BufferStart(b)
    empty = tflite.BufferEnd(b)
    tensor_offsets = []
    for name, shape in tensors:
        n = b.CreateString(name)
        s = ints(tflite.TensorStartShapeVector, shape)
        tflite.TensorStart(b)
        tflite.TensorAddShape(b, s)
        tflite.TensorAddName(b, n)
        tflite.TensorAddBuffer(b, 0)
        tflite.TensorAddType(b, tflite.TensorType.FLOAT32)
        tensor_offsets.append(tflite.TensorEnd(b))
    codes = sorted({op[0] for op in ops})
    code_offsets = []
    for c in codes:
        tflite.OperatorCodeStart(b)
        tflite.OperatorCodeAddDeprecatedBuiltinCode(b, c)
        tflite.OperatorCodeAddBuiltinCode(b, c)
        tflite.OperatorCodeAddVersion(b, 1)
        code_offsets.append(tflite.OperatorCodeEnd(b))
    op_offsets = []
    for code, ins, outs, kind, o in ops:
        if kind == "dw":
            tflite.DepthwiseConv2DOptionsStart(b)
            tflite.DepthwiseConv2DOptionsAddPadding(b, o["padding"])
            tflite.DepthwiseConv2DOptionsAddStrideW(b, o["stride"][1])
            tflite.DepthwiseConv2DOptionsAddStrideH(b, o["stride"][0])
            tflite.DepthwiseConv2DOptionsAddDepthMultiplier(b, o["m"])
            tflite.DepthwiseConv2DOptionsAddDilationWFactor(b, o["dilation"])
            tflite.DepthwiseConv2DOptionsAddDilationHFactor(b, o["dilation"])
            tflite.DepthwiseConv2DOptionsAddFusedActivationFunction(b, tflite.ActivationFunctionType.RELU6)
            opts, opts_type = tflite.DepthwiseConv2DOptionsEnd(b), tflite.BuiltinOptions.DepthwiseConv2DOptions
        else:
            tflite.Conv2DOptionsStart(b)
            tflite.Conv2DOptionsAddPadding(b, tflite.Padding.SAME)
            tflite.Conv2DOptionsAddStrideW(b, 1)
            tflite.Conv2DOptionsAddStrideH(b, 1)
            opts, opts_type = tflite.Conv2DOptionsEnd(b), tflite.BuiltinOptions.Conv2DOptions
        iv = ints(tflite.OperatorStartInputsVector, ins)
        ov = ints(tflite.OperatorStartOutputsVector, outs)
        tflite.OperatorStart(b)
        tflite.OperatorAddOpcodeIndex(b, codes.index(code))
        tflite.OperatorAddInputs(b, iv)
        tflite.OperatorAddOutputs(b, ov)
        tflite.OperatorAddBuiltinOptionsType(b, opts_type)
        tflite.OperatorAddBuiltinOptions(b, opts)
        op_offsets.append(tflite.OperatorEnd(b))
    tv = table_vector(tflite.SubGraphStartTensorsVector, tensor_offsets)
    opv = table_vector(tflite.SubGraphStartOperatorsVector, op_offsets)
    gin = ints(tflite.SubGraphStartInputsVector, [0])
    gout = ints(tflite.SubGraphStartOutputsVector, [len(tensors) - 1])
    tflite.SubGraphStart(b)
    tflite.SubGraphAddTensors(b, tv)
    tflite.SubGraphAddOperators(b, opv)
    tflite.SubGraphAddInputs(b, gin)
    tflite.SubGraphAddOutputs(b, gout)
    graph = tflite.SubGraphEnd(b)
    gv = table_vector(tflite.ModelStartSubgraphsVector, [graph])
    cv = table_vector(tflite.ModelStartOperatorCodesVector, code_offsets)
    bv = table_vector(tflite.ModelStartBuffersVector, [empty])
    tflite.ModelStart(b)
    tflite.ModelAddVersion(b, 3)
    tflite.ModelAddOperatorCodes(b, cv)
    tflite.ModelAddSubgraphs(b, gv)
    tflite.ModelAddBuffers(b, bv)
    b.Finish(tflite.ModelEnd(b), file_identifier=b"TFL3")
    open(path, "wb").write(b.Output())
    return path


DW, CONV = tflite.BuiltinOperator.DEPTHWISE_CONV_2D, tflite.BuiltinOperator.CONV_2D
tensors = [("input", [1, 16, 16, 8]), ("dw1_filter", [1, 3, 3, 16]), ("block1/dw_m2", [1, 8, 8, 16]),
           ("pw_filter", [16, 1, 1, 16]), ("block1/pw", [1, 8, 8, 16]), ("dw2_filter", [1, 3, 3, 16]),
           ("block2/dw_dilated", [1, 4, 4, 16])]
ops = [(DW, [0, 1], [2], "dw", dict(padding=tflite.Padding.SAME, stride=(2, 2), m=2, dilation=1)),
       (CONV, [2, 3], [4], "conv", {}),
       (DW, [4, 5], [6], "dw", dict(padding=tflite.Padding.VALID, stride=(1, 1), m=1, dilation=2))]
rc, err, out = shapes(tflite_model(os.path.join(DIR, "net.tflite"), ops, tensors))
check(rc == 0, f"dwconv shapes net.tflite exited {rc}: {err}")
if rc == 0:
    want = [["block1_dw_m2", "1", "16", "16", "8", "2", "3", "3", "2", "1", "SAME"],
            ["block2_dw_dilated", "1", "8", "8", "16", "1", "3", "3", "1", "2", "VALID"]]
    got = [r[:11] for r in rows_of(out)]
    check(got == want, f"TFLite rows {got} != {want}")
    r = subprocess.run([BIN, "info", "block1_dw_m2", "--shapes", out], capture_output=True, text=True)
    check(r.returncode == 0 and "output:    [1, 8, 8, 16]" in r.stdout, f"dwconv info on the TFLite CSV: {r.stdout}{r.stderr}")
ops_bad = [(DW, [0, 1], [2], "dw", dict(padding=tflite.Padding.SAME, stride=(2, 1), m=2, dilation=1))]
rc, err, _ = shapes(tflite_model(os.path.join(DIR, "strides.tflite"), ops_bad, tensors[:3]))
check(rc == 1 and "strides.tflite: operator 0 ('block1/dw_m2'): stride (2, 1) differs" in err, f"TFLite strides: {rc} {err}")
junk = os.path.join(DIR, "junk.tflite")
open(junk, "wb").write(b"\x10\x00\x00\x00TFL3" + b"\xff" * 40)
rc, err, _ = shapes(junk)
check(rc == 1 and "junk.tflite" in err and "Traceback" not in err, f"junk TFLite: {rc} {err}")

print("model_shapes_test:", "FAILED" if failures else "all checks passed")
sys.exit(1 if failures else 0)
