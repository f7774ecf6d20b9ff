"""The Python package against a NumPy reference of tf.nn.depthwise_conv2d (float64 loops over
the taps) and, where torch imports, against torch.nn.functional.conv2d(groups=C)."""
import math
import threading

import numpy as np
import pytest

import dwconv


def same_pads(size, k, stride, dilation):
    """TensorFlow SAME: the odd padding pixel goes after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + (k - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def reference(x, w, strides=(1, 1), padding="SAME", dilations=(1, 1), bias=None, clamp=(-math.inf, math.inf)):
    n, h, wd, c = x.shape
    kh, kw, _, m = w.shape
    (sh, sw), (dh, dw) = strides, dilations
    if padding == "SAME":
        (pt, pb), (pl, pr) = same_pads(h, kh, sh, dh), same_pads(wd, kw, sw, dw)
    elif padding == "VALID":
        pt = pb = pl = pr = 0
    else:
        (pt, pb), (pl, pr) = padding
    xp = np.zeros((n, h + pt + pb, wd + pl + pr, c), np.float64)
    xp[:, pt : pt + h, pl : pl + wd] = x
    oh = (h + pt + pb - (kh - 1) * dh - 1) // sh + 1
    ow = (wd + pl + pr - (kw - 1) * dw - 1) // sw + 1
    out = np.zeros((n, oh, ow, c, m), np.float64)
    for i in range(kh):
        for j in range(kw):
            taps = xp[:, i * dh : i * dh + (oh - 1) * sh + 1 : sh, j * dw : j * dw + (ow - 1) * sw + 1 : sw]
            out += taps[..., None] * w[i, j].astype(np.float64)
    out = out.reshape(n, oh, ow, c * m)
    if bias is not None:
        out += bias
    return np.clip(out, clamp[0], clamp[1])


def assert_matches(got, want):
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def rand(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def test_seed_example():
    x = np.ones((2, 13, 13, 3), np.float32)
    w = np.zeros((5, 5, 3, 4), np.float32)
    w[2, 2] = 2 + np.arange(3)[:, None] + np.arange(4) / 10
    y = dwconv.depthwise_conv2d(x, w, strides=1, padding="SAME")
    assert y.shape == (2, 13, 13, 12) and y.dtype == np.float32
    np.testing.assert_allclose(y[0, 6, 6], [2, 2.1, 2.2, 2.3, 3, 3.1, 3.2, 3.3, 4, 4.1, 4.2, 4.3], rtol=1e-6)


def random_configs(count, seed):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        kh, kw = int(rng.choice([1, 3, 5, 7])), int(rng.choice([1, 3, 5, 7]))
        sh, sw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        dh, dw = (1, 1) if rng.random() < 0.6 else (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        h = int(rng.integers((kh - 1) * dh + 1, 20))
        wd = int(rng.integers((kw - 1) * dw + 1, 20))
        c, m, n = int(rng.integers(1, 40)), int(rng.choice([1, 1, 2, 3, 4])), int(rng.integers(1, 3))
        kind = rng.choice(["SAME", "VALID", "explicit"])
        padding = kind if kind != "explicit" else [[int(rng.integers(0, 3)), int(rng.integers(0, 3))] for _ in range(2)]
        yield rng, (n, h, wd, c), (kh, kw, c, m), (sh, sw), (dh, dw), padding


@pytest.mark.parametrize("config", list(random_configs(60, 1)), ids=lambda cfg: f"{cfg[1]}x{cfg[2]}s{cfg[3]}d{cfg[4]}")
def test_random_shapes_match_the_reference(config):
    rng, xs, ws, strides, dilations, padding = config
    x, w = rand(rng, *xs), rand(rng, *ws)
    bias = rand(rng, ws[2] * ws[3]) if rng.random() < 0.5 else None
    got = dwconv.depthwise_conv2d(x, w, strides, padding, dilations, bias=bias)
    assert_matches(got, reference(x, w, strides, padding, dilations, bias))


def test_tensorflow_argument_forms():
    rng = np.random.default_rng(2)
    x, w = rand(rng, 1, 9, 10, 5), rand(rng, 3, 3, 5, 2)
    want = reference(x, w, (2, 2), "SAME", (1, 1))
    assert_matches(dwconv.depthwise_conv2d(x, w, strides=[1, 2, 2, 1], padding="SAME", dilations=[1, 1, 1, 1]), want)
    assert_matches(dwconv.depthwise_conv2d(x, w, strides=2, padding="same"), want)
    explicit = [[0, 0], [1, 2], [0, 1], [0, 0]]
    assert_matches(dwconv.depthwise_conv2d(x, w, 1, explicit), reference(x, w, padding=[[1, 2], [0, 1]]))
    lists = dwconv.depthwise_conv2d(x.tolist(), w.tolist(), strides=(2, 2))
    assert_matches(lists, want)


@pytest.mark.parametrize("activation,clamp", [("relu", (0, math.inf)), ("relu6", (0, 6)), ((-0.5, 0.25), (-0.5, 0.25))])
def test_activations(activation, clamp):
    rng = np.random.default_rng(3)
    x, w, b = rand(rng, 2, 7, 6, 9) * 3, rand(rng, 3, 3, 9, 1), rand(rng, 9)
    got = dwconv.depthwise_conv2d(x, w, bias=b, activation=activation)
    assert_matches(got, reference(x, w, bias=b, clamp=clamp))


def test_strided_and_transposed_views_are_read_in_place_or_copied():
    rng = np.random.default_rng(4)
    base, w = rand(rng, 2, 20, 18, 24), rand(rng, 3, 3, 12, 2)
    views = {
        "rows and columns skipped": base[:, ::2, 1::3, :12],
        "channels strided": base[:, :9, :9, ::2],
        "reversed rows": base[:, ::-1, :, 5:17],
        "NCHW transposed": np.ascontiguousarray(base[:, :, :, :12].transpose(0, 3, 1, 2)).transpose(0, 2, 3, 1),
    }
    for name, x in views.items():
        assert_matches(dwconv.depthwise_conv2d(x, w, 2, "SAME"), reference(np.asarray(x), w, (2, 2))), name
    w_view = rand(rng, 3, 3, 4, 12)[:, :, :, ::3]  # a filter that is not dense
    x = rand(rng, 1, 8, 8, 4)
    assert_matches(dwconv.depthwise_conv2d(x, w_view), reference(x, np.ascontiguousarray(w_view)))


def test_out_is_written_and_returned():
    rng = np.random.default_rng(5)
    x, w, b = rand(rng, 1, 11, 12, 6), rand(rng, 5, 5, 6, 3), rand(rng, 18)
    out = np.full((1, 6, 6, 18), np.nan, np.float32)
    got = dwconv.depthwise_conv2d(x, w, strides=2, bias=b, out=out)
    assert got is out
    assert_matches(out, reference(x, w, (2, 2), bias=b))
    # A slice of a larger array: only the slice is written.
    big = np.full((1, 8, 9, 20), -7.0, np.float32)
    dwconv.depthwise_conv2d(x, w, strides=2, bias=b, out=big[:, 1:7, 2:8, 1:19])
    assert_matches(big[:, 1:7, 2:8, 1:19], reference(x, w, (2, 2), bias=b))
    mask = np.ones(big.shape, bool)
    mask[:, 1:7, 2:8, 1:19] = False
    assert np.all(big[mask] == -7.0)


def expect_error(kind, text, *args, **kwargs):
    with pytest.raises(kind) as e:
        dwconv.depthwise_conv2d(*args, **kwargs)
    assert text in str(e.value), str(e.value)


def test_bad_arguments_raise_with_the_reason_and_write_nothing():
    rng = np.random.default_rng(6)
    x, w = rand(rng, 1, 8, 8, 4), rand(rng, 3, 3, 4, 1)
    out = np.full((1, 8, 8, 4), 5.0, np.float32)
    expect_error(TypeError, "float32", x.astype(np.float64), w)
    expect_error(TypeError, "float32", x, w.astype(np.float16))
    expect_error(ValueError, "4 dimensions", x[0], w)
    expect_error(ValueError, "channel", x, rand(rng, 3, 3, 5, 1))
    expect_error(ValueError, "stride", x, w, strides=0)
    expect_error(ValueError, "dilation", x, w, dilations=(1, -2))
    expect_error(ValueError, "padding", x, w, padding="FULL")
    expect_error(ValueError, "padding", x, w, padding=[[1, 1], [1, 1], [1, 1]])
    expect_error(ValueError, "strides", x, w, strides=[2, 2, 2, 2])
    expect_error(TypeError, "integer", x, w, strides=1.5)
    dwconv.depthwise_conv2d(x, w, strides=1)  # cached: the same value as a float must still be refused
    expect_error(TypeError, "integer", x, w, strides=1.0)
    expect_error(TypeError, "integer", x, w, strides=True)
    expect_error(ValueError, "bias", x, w, bias=rand(rng, 5))
    expect_error(ValueError, "activation", x, w, activation="gelu")
    expect_error(ValueError, "height H must be >= 1", np.zeros((1, 0, 8, 4), np.float32), w)
    expect_error(ValueError, "empty output", rand(rng, 1, 2, 2, 4), w, padding="VALID")
    expect_error(ValueError, "shape", x, w, out=np.zeros((1, 8, 8, 5), np.float32))
    expect_error(TypeError, "float32", x, w, out=np.zeros((1, 8, 8, 4), np.float64))
    read_only = np.zeros((1, 8, 8, 4), np.float32)
    read_only.flags.writeable = False
    expect_error(ValueError, "read-only", x, w, out=read_only)
    expect_error(ValueError, "adjacent channels", x, w, out=np.zeros((1, 8, 8, 8), np.float32)[..., ::2])
    expect_error(ValueError, "shares memory", x, w, out=x)
    expect_error(ValueError, "threads", x, w, num_threads=100000, out=out)
    assert np.all(out == 5.0)


class DLPackOnly:
    """A tensor that offers nothing but DLPack (as other frameworks' tensors do)."""

    def __init__(self, array):
        self._array = array

    def __dlpack__(self, **kwargs):
        return self._array.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self._array.__dlpack_device__()


def test_dlpack_tensors():
    rng = np.random.default_rng(7)
    x, w = rand(rng, 2, 9, 7, 10), rand(rng, 3, 3, 10, 2)
    assert_matches(dwconv.depthwise_conv2d(DLPackOnly(x), DLPackOnly(w)), reference(x, w))


def test_torch_tensors_match_conv2d_with_groups():
    torch = pytest.importorskip("torch", reason="torch is not installed: the PyTorch comparison is skipped")
    rng = np.random.default_rng(8)
    x, w = rand(rng, 2, 15, 13, 8), rand(rng, 3, 3, 8, 2)
    got = dwconv.depthwise_conv2d(torch.from_numpy(x), torch.from_numpy(w), padding=[[1, 1], [1, 1]])
    # torch: NCHW input, [C*M, 1, KH, KW] weight, output channel c*M + m as in TensorFlow.
    tw = torch.from_numpy(np.ascontiguousarray(w.transpose(2, 3, 0, 1).reshape(16, 1, 3, 3)))
    want = torch.nn.functional.conv2d(torch.from_numpy(x).permute(0, 3, 1, 2), tw, padding=1, groups=8)
    assert_matches(got, want.permute(0, 2, 3, 1).numpy().astype(np.float64))


def test_concurrent_calls_and_many_shapes():
    """Calls from several threads (the GIL is released while the kernel runs) and more shapes
    than the plan cache holds, each checked."""
    configs = list(random_configs(40, 9))
    errors = []

    def worker(items):
        try:
            for _ in range(2):
                for rng_seed, (_, xs, ws, strides, dilations, padding) in items:
                    rng = np.random.default_rng(rng_seed)
                    x, w = rand(rng, *xs), rand(rng, *ws)
                    got = dwconv.depthwise_conv2d(x, w, strides, padding, dilations, num_threads=1)
                    np.testing.assert_allclose(got, reference(x, w, strides, padding, dilations), rtol=1e-5, atol=1e-5)
        except Exception as e:  # reported in the main thread
            errors.append(e)

    indexed = list(enumerate(configs))
    threads = [threading.Thread(target=worker, args=(indexed[i::3],)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]


def test_info_names_the_kernel_and_why():
    d = dwconv.info((1, 56, 56, 32), (3, 3, 32, 1), strides=2)
    assert d["output_shape"] == (1, 28, 28, 32)
    assert d["kernel"].startswith("dwconv_") and d["kind"] in ("general", "fixed-shape", "tuned")
    assert d["reason"] and d["workload"].startswith("n1_h56_w56_c32_m1_k3x3_s2x2")
    assert d["isa"] == dwconv.active_isa()
    with pytest.raises(ValueError, match="stride"):
        dwconv.info((1, 8, 8, 4), (3, 3, 4, 1), strides=0)
    assert dwconv.__version__.count(".") == 2
