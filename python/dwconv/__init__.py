"""dwconv: fast depthwise 2-D convolution with TensorFlow's semantics.

    import numpy as np, dwconv
    y = dwconv.depthwise_conv2d(x, w, strides=2, padding="SAME")   # x [N,H,W,C], w [KH,KW,C,M]

Tensors are float32 on the CPU: NumPy arrays, PyTorch CPU tensors or anything else that speaks
DLPack or the buffer protocol, read without a copy. The result is a new NumPy array [N,OH,OW,C*M]
(output channel c*M + m), or `out` when given.
"""

import math as _math
import operator as _operator

from . import _dwconv

__version__ = _dwconv.version()
__all__ = ["depthwise_conv2d", "info", "cpu_isa", "active_isa", "__version__"]

_PADDING = {"SAME": 0, "VALID": 1}
_EXPLICIT = 2
_ACTIVATION = {None: 0, "relu": 1, "relu6": 2}
_CLAMP = 3
_INF = _math.inf


def _int(value, what):
    """An integer (Python or NumPy); bools and floats are refused."""
    if isinstance(value, bool):
        raise TypeError(f"{what} must be an integer, got {value!r}")
    try:
        return _operator.index(value)
    except TypeError:
        raise TypeError(f"{what} must be an integer, got {value!r}") from None


def _pair(value, what):
    """An integer, (h, w), or TensorFlow's [1, h, w, 1] as (h, w)."""
    if not hasattr(value, "__len__"):
        v = _int(value, what)
        return v, v
    v = tuple(value)
    if len(v) == 2:
        return _int(v[0], what), _int(v[1], what)
    if len(v) == 4 and _int(v[0], what) == 1 and _int(v[3], what) == 1:
        return _int(v[1], what), _int(v[2], what)
    raise ValueError(f"{what} must be an integer, (h, w) or [1, h, w, 1] (batch and channel entries 1), got {value!r}")


def _padding(padding):
    """(mode, top, bottom, left, right) for "SAME", "VALID", [[t, b], [l, r]] or TensorFlow's
    explicit [[0, 0], [t, b], [l, r], [0, 0]]."""
    if isinstance(padding, str):
        mode = _PADDING.get(padding.upper())
        if mode is None:
            raise ValueError(f'padding must be "SAME", "VALID" or explicit pairs, got {padding!r}')
        return mode, 0, 0, 0, 0
    try:
        pairs = [tuple(p) for p in padding]
    except TypeError:
        raise TypeError(f"padding must be a string or a list of (before, after) pairs, got {padding!r}") from None
    if len(pairs) == 4:
        if any(len(p) != 2 for p in pairs) or tuple(pairs[0]) != (0, 0) or tuple(pairs[3]) != (0, 0):
            raise ValueError(f"explicit padding [[0, 0], [t, b], [l, r], [0, 0]] pads H and W only, got {padding!r}")
        pairs = pairs[1:3]
    if len(pairs) != 2 or any(len(p) != 2 for p in pairs):
        raise ValueError(f"explicit padding is [[top, bottom], [left, right]], got {padding!r}")
    (top, bottom), (left, right) = pairs
    return (_EXPLICIT, _int(top, "padding"), _int(bottom, "padding"), _int(left, "padding"), _int(right, "padding"))


def _activation(activation):
    """(code, lo, hi): None, "relu", "relu6" or a (lo, hi) clamp."""
    code = _ACTIVATION.get(activation) if isinstance(activation, (str, type(None))) else None
    if code is not None:
        return code, -_INF, _INF
    if isinstance(activation, str):
        raise ValueError(f'activation must be None, "relu", "relu6" or (lo, hi), got {activation!r}')
    try:
        lo, hi = activation
        return _CLAMP, float(lo), float(hi)
    except (TypeError, ValueError):
        raise ValueError(f'activation must be None, "relu", "relu6" or (lo, hi), got {activation!r}') from None


def _params(strides, padding, dilations, activation, num_threads):
    sh, sw = _pair(strides, "strides")
    dh, dw = _pair(dilations, "dilations")
    return (sh, sw, dh, dw) + _padding(padding) + _activation(activation) + (_int(num_threads, "num_threads"),)


_params_cache = {}


def _cached_params(strides, padding, dilations, activation, num_threads):
    # Keyed by the arguments' repr, not their values: 1.0 == 1 == True, but only 1 is a valid stride.
    key = repr((strides, padding, dilations, activation, num_threads))
    params = _params_cache.get(key)
    if params is None:
        params = _params(strides, padding, dilations, activation, num_threads)
        if len(_params_cache) < 256:
            _params_cache[key] = params
    return params


def _tensor(value):
    """Arrays and tensors pass as they are; nested lists and scalars become float32 arrays."""
    if hasattr(value, "__dlpack__") or hasattr(value, "__array_interface__"):
        return value
    import numpy

    return numpy.asarray(value, dtype=numpy.float32)


def depthwise_conv2d(x, filter, strides=1, padding="SAME", dilations=1, bias=None, activation=None,
                     num_threads=0, out=None):
    """tf.nn.depthwise_conv2d(x, filter, strides, padding, dilations=dilations) in float32.

    x: [N, H, W, C]; filter: [KH, KW, C, M]; bias: [C*M] or None.
    strides, dilations: an int, (h, w) or TensorFlow's [1, h, w, 1].
    padding: "SAME", "VALID", [[top, bottom], [left, right]] or [[0, 0], [t, b], [l, r], [0, 0]].
    activation: None, "relu", "relu6" or a (lo, hi) clamp, applied after the bias.
    num_threads: 0 for all cores.
    out: a writable float32 [N, OH, OW, C*M] tensor (channels adjacent) to write instead of a
    new array; it is returned.
    Raises ValueError (with the library's message) or TypeError for bad arguments.
    """
    params = _cached_params(strides, padding, dilations, activation, num_threads)
    return _dwconv.conv(_tensor(x), _tensor(filter), None if bias is None else _tensor(bias), out, params)


def info(input_shape, filter_shape, strides=1, padding="SAME", dilations=1, num_threads=0):
    """What dwconv runs for a problem on this CPU: a dict with the kernel, its kind (general,
    fixed-shape, tuned), the reason it was chosen, the workload key, the ISA level and the
    output shape."""
    params = _params(strides, padding, dilations, None, num_threads)
    return _dwconv.info(tuple(input_shape), tuple(filter_shape), params)


def cpu_isa():
    """The highest x86 ISA level this CPU supports ("avx2", "avx512", ...)."""
    return _dwconv.cpu_isa()


def active_isa():
    """The ISA level the kernels run at (cpu_isa() unless limited by DWCONV_MAX_ISA)."""
    return _dwconv.active_isa()
