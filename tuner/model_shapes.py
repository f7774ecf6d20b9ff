#!/usr/bin/env python3
"""The depthwise layers of a model file as a dwconv shapes CSV (`dwconv shapes MODEL -o FILE`).

Reads ONNX (Conv nodes whose group equals the input channels) and TFLite (DEPTHWISE_CONV_2D
operators) through the onnx and tflite packages, and writes one row per layer in the format of
bench/shapes.csv, which -DDWCONV_SHAPES and `dwconv tune --shapes` read:
    name,N,H,W,C,M,KH,KW,stride,dilation,padding,origin
A shapes file holds one stride and one dilation per layer (the same in both directions) and
SAME or VALID padding (TensorFlow's rule); a layer outside that, or one whose input size the
model does not fix, is an error naming the file and the node. Other operators are skipped.
"""
import argparse
import csv
import os
import sys

HEADER = ["name", "N", "H", "W", "C", "M", "KH", "KW", "stride", "dilation", "padding", "origin"]


class ModelError(Exception):
    pass


def same_pads(size, kernel, stride, dilation):
    """TensorFlow SAME padding (before, after) of one dimension."""
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def padding_name(where, sizes, kernel, stride, dilation, pads):
    """SAME or VALID for explicit pads [(before, after) per dimension], else ModelError."""
    if all(p == (0, 0) for p in pads):
        return "VALID"
    if all(pads[i] == same_pads(sizes[i], kernel[i], stride, dilation) for i in range(2)):
        return "SAME"
    raise ModelError(f"{where}: padding {pads} (top/bottom, left/right) is neither TensorFlow's SAME "
                     f"nor VALID for this size: a shapes file cannot express it")


def one_value(where, what, values):
    if values[0] != values[1]:
        raise ModelError(f"{where}: {what} {tuple(values)} differs between height and width: "
                         f"a shapes file holds one {what} per layer")
    return values[0]


def origin(kind, path):
    """The origin column: the format and the file's name (no commas: the CSV is not quoted)."""
    return f"{kind} {os.path.basename(path)}".replace(",", " ")


# ----- ONNX -------------------------------------------------------------------------------------

def onnx_rows(path, batch):
    import onnx
    from onnx import shape_inference

    try:
        model = onnx.load(path)
        model = shape_inference.infer_shapes(model)
    except Exception as e:  # the package's own parse errors
        raise ModelError(f"{path}: not a readable ONNX model ({e})")
    shapes = {}
    for v in list(model.graph.input) + list(model.graph.value_info) + list(model.graph.output):
        dims = v.type.tensor_type.shape.dim
        shapes[v.name] = [d.dim_value if d.HasField("dim_value") else None for d in dims]
    for init in model.graph.initializer:
        shapes[init.name] = list(init.dims)
    rows = []
    for i, node in enumerate(model.graph.node):
        if node.op_type != "Conv":
            continue
        name = node.name or f"conv{i}"
        where = f"{path}: node '{name}'"
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        x, wt = (shapes.get(node.input[0]), shapes.get(node.input[1]))
        if wt is None or len(wt) != 4:
            raise ModelError(f"{where}: the weight's shape is unknown or not 4-D")
        if x is None or len(x) != 4:
            raise ModelError(f"{where}: the input's shape is unknown or not NCHW")
        group = attrs.get("group", 1)
        c = x[1]
        if c is None:
            raise ModelError(f"{where}: the input's channel count is not fixed")
        if group != c or wt[1] != 1:
            continue  # not depthwise (a regular or grouped convolution)
        n = batch if batch else x[0]
        if n is None:
            raise ModelError(f"{where}: the batch size is not fixed in the model: pass --batch N")
        h, w = x[2], x[3]
        if h is None or w is None:
            raise ModelError(f"{where}: the input's height or width is not fixed in the model")
        kh, kw = wt[2], wt[3]
        m = wt[0] // c
        stride = one_value(where, "stride", attrs.get("strides", [1, 1]))
        dilation = one_value(where, "dilation", attrs.get("dilations", [1, 1]))
        auto_pad = attrs.get("auto_pad", b"NOTSET")
        auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad
        if auto_pad == "VALID":
            padding = "VALID"
        elif auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            # SAME_UPPER puts the odd pixel at the end, as TensorFlow does; SAME_LOWER only
            # matches where the total padding is even.
            pads = [same_pads(s, k, stride, dilation) for s, k in ((h, kh), (w, kw))]
            if auto_pad == "SAME_LOWER" and any(b != a for b, a in pads):
                raise ModelError(f"{where}: auto_pad SAME_LOWER puts the odd padding pixel first, "
                                 f"unlike TensorFlow's SAME")
            padding = "SAME"
        elif auto_pad == "NOTSET":
            p = attrs.get("pads", [0, 0, 0, 0])
            padding = padding_name(where, (h, w), (kh, kw), stride, dilation, [(p[0], p[2]), (p[1], p[3])])
        else:
            raise ModelError(f"{where}: unknown auto_pad '{auto_pad}'")
        rows.append([name, n, h, w, c, m, kh, kw, stride, dilation, padding, origin("ONNX", path)])
    return rows


# ----- TFLite -----------------------------------------------------------------------------------

def tflite_rows(path, batch):
    import tflite

    data = open(path, "rb").read()
    try:
        model = tflite.Model.GetRootAsModel(data, 0)
        codes = [model.OperatorCodes(i) for i in range(model.OperatorCodesLength())]
    except Exception as e:
        raise ModelError(f"{path}: not a readable TFLite model ({e})")
    dw = tflite.BuiltinOperator.DEPTHWISE_CONV_2D
    names = {tflite.Padding.SAME: "SAME", tflite.Padding.VALID: "VALID"}
    rows = []
    for g in range(model.SubgraphsLength()):
        graph = model.Subgraphs(g)
        for i in range(graph.OperatorsLength()):
            op = graph.Operators(i)
            code = codes[op.OpcodeIndex()]
            if max(code.BuiltinCode(), code.DeprecatedBuiltinCode()) != dw:
                continue
            x = graph.Tensors(op.Inputs(0))
            wt = graph.Tensors(op.Inputs(1))
            name = (wt.Name() or b"").decode() or f"depthwise{i}"
            out_name = (graph.Tensors(op.Outputs(0)).Name() or b"").decode()
            name = out_name or name
            where = f"{path}: operator {i} ('{name}')"
            xs, ws = x.ShapeAsNumpy(), wt.ShapeAsNumpy()
            if len(xs) != 4 or len(ws) != 4 or min(xs[1:]) < 1:
                raise ModelError(f"{where}: the input or filter shape is not a fixed 4-D shape")
            opts = tflite.DepthwiseConv2DOptions()
            table = op.BuiltinOptions()
            if table is None:
                raise ModelError(f"{where}: no DepthwiseConv2DOptions")
            opts.Init(table.Bytes, table.Pos)
            n = batch if batch else int(xs[0])
            if n < 1:
                raise ModelError(f"{where}: the batch size is not fixed in the model: pass --batch N")
            h, w, c = int(xs[1]), int(xs[2]), int(xs[3])
            kh, kw, cm = int(ws[1]), int(ws[2]), int(ws[3])
            if cm % c:
                raise ModelError(f"{where}: filter channels {cm} are not a multiple of the input's {c}")
            stride = one_value(where, "stride", [opts.StrideH(), opts.StrideW()])
            dilation = one_value(where, "dilation", [opts.DilationHFactor(), opts.DilationWFactor()])
            if opts.Padding() not in names:
                raise ModelError(f"{where}: unknown padding {opts.Padding()}")
            rows.append([name, n, h, w, c, cm // c, kh, kw, stride, dilation, names[opts.Padding()],
                         origin("TFLite", path)])
    return rows


def read_model(path, batch=None):
    try:
        head = open(path, "rb").read(8)
    except OSError as e:
        raise ModelError(f"{path}: cannot read ({e.strerror})")
    tflite_file = head[4:8] == b"TFL3" or path.endswith(".tflite")
    try:
        return tflite_rows(path, batch) if tflite_file else onnx_rows(path, batch)
    except ModelError:
        raise
    except Exception as e:  # a damaged file that the readers fail on past its header
        raise ModelError(f"{path}: not a readable {'TFLite' if tflite_file else 'ONNX'} model ({e})")


def unique_names(rows):
    seen = {}
    for r in rows:
        base = "".join(ch if ch.isalnum() or ch in "_-" else "_" for ch in str(r[0])) or "layer"
        seen[base] = seen.get(base, 0) + 1
        r[0] = base if seen[base] == 1 else f"{base}_{seen[base]}"
    return rows


def main(argv):
    ap = argparse.ArgumentParser(prog="dwconv shapes", description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help="an .onnx or .tflite file")
    ap.add_argument("-o", "--output", required=True, help="the shapes CSV to write")
    ap.add_argument("--batch", type=int, default=None, help="batch size N (default: the model's)")
    a = ap.parse_args(argv)
    if a.batch is not None and a.batch < 1:
        ap.error("--batch must be >= 1")
    try:
        rows = unique_names(read_model(a.model, a.batch))
    except ModelError as e:
        print(f"dwconv shapes: {e}", file=sys.stderr)
        return 1
    if not rows:
        print(f"dwconv shapes: {a.model}: no depthwise convolution in the model", file=sys.stderr)
        return 1
    with open(a.output, "w", newline="") as f:
        f.write(f"# Depthwise layers of {a.model} (dwconv shapes)\n")
        out = csv.writer(f, lineterminator="\n")
        out.writerow(HEADER)
        out.writerows(rows)
    print(f"dwconv shapes: {len(rows)} depthwise layer(s) of {a.model} -> {a.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
