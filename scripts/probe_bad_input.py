"""Audit dlnlib with bad and edge-case input, as a careful user would, and classify every outcome.

Every public function is called with its arguments replaced, one at a time, by values that are wrong for that
argument (a count of 1.5, ``True`` or ``"2"``, a negative or non-finite rate, a complex or string array, a chain of
matrices that does not fit together, a negative seed, ``device="cuda"`` without a GPU, ...), and with valid edge cases
whose right answer is known (closed forms, invariants, reference ODE solutions). Each call is classified as

- **good**: a bad input raised ``ValueError``/``TypeError`` whose message names the argument, or a valid input gave
  the right result (or the documented error, e.g. divergence naming the learning rate);
- **silent wrong**: a bad input returned a result, or a valid input returned a wrong one;
- **crash**: a valid input raised;
- **unclear error**: a bad input raised, but another exception type or a message that does not name the argument.

The bad values are drawn per argument from a table of values wrong for its kind, with a seeded choice, so
``--seed`` gives a fresh probe of the same size (about 700 calls); ``--all`` runs every generated call. Not part of
``make test``. Usage::

    .venv/bin/python scripts/probe_bad_input.py [--seed N] [--all] [--verbose] [--module NAME]
"""
from __future__ import annotations

import argparse
import contextlib
import gzip
import inspect
import io
import random
import signal
import tempfile
import warnings
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from scipy import integrate

from dlnlib import (acceleration, activations, checks, convolution, deepnets, init, landscape, learning_curves,
                    meanfield, measure, networks, parsimony, plotting, reproducibility, spectra, tasks, theory, train)

NAN, INF = float("nan"), float("inf")
MODULES = [acceleration, activations, checks, convolution, deepnets, init, landscape, learning_curves, meanfield,
           measure, networks, parsimony, plotting, reproducibility, spectra, tasks, theory, train]

# ---------------------------------------------------------------------------------------------------------------
# Values that are wrong for an argument of each kind: (label, value).
BAD: dict[str, list[tuple[str, Any]]] = {
    "count": [("0", 0), ("-1", -1), ("1.5", 1.5), ("True", True), ("'2'", "2"), ("2.0", 2.0), ("None", None),
              ("[2]", [2]), ("np.float64(2)", np.float64(2.0)), ("2+0j", 2 + 0j)],
    "count0": [("-1", -1), ("1.5", 1.5), ("True", True), ("'2'", "2"), ("2.0", 2.0), ("None", None),
               ("np.float32(3)", np.float32(3.0))],
    "positive": [("0", 0.0), ("-1", -1.0), ("nan", NAN), ("inf", INF), ("'1'", "1"), ("1j", 1j), ("1+0j", 1 + 0j),
                 ("None", None), ("True", True), ("[0.1, 0.2]", [0.1, 0.2]), ("'abc'", "abc"), ("10**400", 10 ** 400)],
    "positive_array": [("[1, -1]", [1.0, -1.0]), ("[nan]", [NAN]), ("['1']", ["1"]), ("[1+1j]", [1 + 1j]),
                       ("0", 0.0), ("-inf", -INF), ("[True]", [True]), ("object()", object())],
    "nonnegative": [("-0.1", -0.1), ("nan", NAN), ("inf", INF), ("'0'", "0"), ("1j", 1j), ("None", None),
                    ("True", True), ("[0.1, 0.2]", [0.1, 0.2])],
    "nonnegative_array": [("-0.1", -0.1), ("[0.1, nan]", [0.1, NAN]), ("inf", INF), ("['0']", ["0"]), ("[1j]", [1j]),
                          ("None", None), ("[True]", [True]), ("[[0.1], [0.1, 0.2]] (ragged)", [[0.1], [0.1, 0.2]])],
    "real": [("nan", NAN), ("-inf", -INF), ("'1'", "1"), ("2j", 2j), ("None", None), ("True", True),
             ("[1, 2]", [1.0, 2.0]), ("-10**400", -10 ** 400)],
    "real_array": [("[nan]", [NAN]), ("[inf]", [INF]), ("['a']", ["a"]), ("[1j]", [1j]), ("object()", object()),
                   ("'1.5'", "1.5")],
    "times": [("-1", -1.0), ("[0, nan]", [0.0, NAN]), ("'1'", "1"), ("1j", 1j), ("[-2, 1]", [-2.0, 1.0]),
              ("inf", INF)],
    "seed": [("-1", -1), ("1.5", 1.5), ("'0'", "0"), ("True", True), ("[1, 2]", [1, 2]), ("np.float64(1)",
                                                                                          np.float64(1.0))],
    "choice": [("'nope'", "nope"), ("None", None), ("3", 3), ("['tanh']", ["tanh"])],
    "callable": [("None", None), ("3", 3), ("'f'", "f")],
    "bool": [("'yes'", "yes"), ("2", 2), ("None", None)],
    "device": [("'tpu'", "tpu"), ("3", 3), ("'cpu:banana'", "cpu:banana")],
}
if not torch.cuda.is_available():
    BAD["device"] += [("'cuda' (no GPU here)", "cuda"), ("'cuda:0' (no GPU here)", "cuda:0")]
else:
    BAD["device"] += [(f"'cuda:{torch.cuda.device_count()}' (no such GPU)", f"cuda:{torch.cuda.device_count()}")]


def _matrix_bad(shape, any_shape=False):
    """Bad values for a matrix argument of the given valid shape (``any_shape``: every matrix shape is valid)."""
    r, c = shape
    wrong = (r + 1, c + 2)
    return ([] if any_shape else [(f"shape {wrong}", np.ones(wrong))]) + [
            ("1-D", np.ones(r)), ("with nan", np.full(shape, NAN)),
            ("complex", np.ones(shape) * (1 + 1j)), ("strings", np.full(shape, "1")), ("None", None),
            ("3-D", np.ones((2,) + shape))]


def _chain_bad(widths):
    """Bad values for a chain of weight matrices ``[W_1, ..., W_D]`` fitting ``widths``."""
    good = [np.full((widths[l + 1], widths[l]), 0.1) for l in range(len(widths) - 1)]
    broken = [w.copy() for w in good]
    broken[-1] = np.ones((widths[-1], widths[-2] + 1))
    with_nan = [w.copy() for w in good]
    with_nan[0][0, 0] = NAN
    return [("[]", []), ("mismatched chain", broken), ("nan entry", with_nan), ("1-D matrix", [np.ones(3)] + good[1:]),
            ("complex", [w * 1j for w in good]), ("'weights'", "weights"), ("a bare array", good[0]),
            ("None", None), ("list of lists of str", [[["a"]]])]


# ---------------------------------------------------------------------------------------------------------------
# Fixtures: small, fast, deterministic.
TASK = tasks.svd_task([3.0, 2.0, 1.0], 4, 3, seed=0)                      # whitened, n_in 4, n_out 3
RNG = np.random.default_rng(7)
SAMPLE_TASK = tasks.Task.from_samples(RNG.standard_normal((4, 12)), RNG.standard_normal((3, 12)))
WIDTHS = [4, 5, 3]
W = init.gaussian(WIDTHS, 0.3, seed=1)
W_RUNS = init.gaussian(WIDTHS, 0.3, n_runs=2, seed=1)
SQ = [0.5 * np.eye(3) for _ in range(2)]


def _class_data(n_train=20, n_test=8, d=5, n_classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return tasks.ClassificationData(rng.standard_normal((n_train, d)), rng.integers(0, n_classes, n_train),
                                    rng.standard_normal((n_test, d)), rng.integers(0, n_classes, n_test))


DATA = _class_data()


def _mlp(n_runs=None, device="cpu"):
    ws = init.scaled_gaussian([5, 6, 3], n_runs=n_runs, seed=0)
    return deepnets.MLP(ws, activation="tanh", device=device)


def _quadratic_product_loss(target):
    t = torch.as_tensor(target)
    return lambda p: 0.5 * ((p - t) ** 2).sum((-2, -1))


def _write_idx(path, array, type_code, compress=False, cut=0):
    header = bytes([0, 0, type_code, array.ndim]) + np.array(array.shape, ">i4").tobytes()
    payload = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    payload = payload[:len(payload) - cut]
    (gzip.open if compress else open)(path, "wb").write(payload)


TMP = Path(tempfile.mkdtemp(prefix="dlnlib-probe-"))
_write_idx(TMP / "ok.idx", np.arange(6, dtype=np.uint8).reshape(2, 3), 0x08)
_write_idx(TMP / "truncated.idx", np.arange(6, dtype=np.uint8).reshape(2, 3), 0x08, cut=2)
(TMP / "header_only.idx").write_bytes(bytes([0, 0, 0x08, 3]) + b"\x00\x00")
(TMP / "not_gzip.gz").write_bytes(b"this is not gzip")
(TMP / "empty.idx").write_bytes(b"")
BAD_LABELS = TMP / "bad_labels"
BAD_LABELS.mkdir()
_write_idx(BAD_LABELS / "train-images-idx3-ubyte", np.zeros((3, 28, 28), np.uint8), 0x08)
_write_idx(BAD_LABELS / "train-labels-idx1-ubyte", np.array([1, 12, 3], np.uint8), 0x08)
WRONG_DIMS = TMP / "wrong_dims"
WRONG_DIMS.mkdir()
_write_idx(WRONG_DIMS / "train-images-idx3-ubyte", np.zeros((3, 28, 27), np.uint8), 0x08)
_write_idx(WRONG_DIMS / "train-labels-idx1-ubyte", np.array([1, 2, 3], np.uint8), 0x08)


# ---------------------------------------------------------------------------------------------------------------
@dataclass
class Case:
    module: str
    label: str
    call: Callable[[], Any]
    arg: str | None = None              # bad input: the argument the error must name
    value: Any = None                   # ... and its bad value
    check: Callable[[Any], bool] | None = None   # valid input: the right result
    raises: tuple | None = None         # valid input that must raise (type, message fragment)


def _signature_call(fn, base: dict, arg: str, value):
    kwargs = dict(base)
    kwargs[arg] = value
    positional = kwargs.pop("_args", ())
    return lambda: fn(*positional, **kwargs)


FUNCTIONS: list[tuple[str, str, Callable, dict, dict]] = []   # (module, name, fn, valid kwargs, {arg: kind or list})


def spec(module, fn, base, _label=None, **kinds):
    FUNCTIONS.append((module, _label or fn.__qualname__, fn, base, kinds))


def bad_values(kind):
    if isinstance(kind, list):
        return kind
    if isinstance(kind, tuple):       # (kind, extra values, drop labels)
        base, extra, *drop = kind
        values = [b for b in BAD[base] if not drop or b[0] not in drop[0]] if base else []
        return values + extra
    return BAD[kind]


def no_none(kind):
    return (kind, [], ["None"])


# --- acceleration ---------------------------------------------------------------------------------------------
G = np.array([[0.1, -0.2, 0.3], [0.0, 0.4, -0.1]])
P = np.array([[1.0, 0.5, 0.0], [0.0, 1.0, 0.2]])
spec("acceleration", acceleration.end_to_end_update, dict(product=P, gradient=G, depth=3),
     product=_matrix_bad((2, 3)), gradient=_matrix_bad((2, 3)), depth="count")
spec("acceleration", acceleration.preconditioner, dict(product=P, depth=2), product=_matrix_bad((2, 3), True),
     depth="count")
spec("acceleration", acceleration.preconditioner_eigenvalues, dict(singular_values=([1.0, 0.5], [1.0, 0.5, 0.0]),
                                                                      depth=2),
     singular_values=[("one array", np.array([1.0, 0.5])), ("negative", ([1.0, -0.5], [1.0])),
                      ("2-D parts", (np.ones((2, 2)), np.ones(2))), ("three parts", ([1.0], [1.0], [1.0])),
                      ("complex", ([1j], [1.0])), ("nan", ([NAN], [1.0])), ("None", None), ("'ab'", "ab")],
     depth="count")
spec("acceleration", acceleration.end_to_end_descent,
     dict(product=np.eye(2), gradient_fn=lambda w: w - 2.0, depth=2, lr=0.05, steps=3),
     product=_matrix_bad((2, 2), True), gradient_fn=BAD["callable"] + [("wrong shape", lambda w: np.ones(3))],
     depth="count", lr="positive", steps="count0")
spec("acceleration", acceleration.circulation, dict(field=lambda w: w, center=[0.0, 0.0], radius=1.0, n_points=16),
     field=BAD["callable"] + [("returns 3 values", lambda w: np.ones(3))],
     center=[("3-D point", [0.0, 0.0, 0.0]), ("nan", [NAN, 0.0]), ("complex", [1j, 0.0]), ("None", None),
             ("'ab'", "ab")],
     radius="positive", n_points=("count", [("4 (< 8)", 4)]))

# --- activations ---------------------------------------------------------------------------------------------
spec("activations", activations.get, dict(activation="tanh"), activation="choice")

# --- checks -----------------------------------------------------------------------------------------------------
spec("checks", checks.check_close, dict(name="probe", measured=1.0, expected=1.0, rtol=0.1),
     measured=[("'1'", "1"), ("[1, 2]", [1.0, 2.0]), ("1j", 1j), ("None", None)],
     expected=[("inf", INF), ("nan", NAN), ("'1'", "1"), ("1j", 1j), ("None", None), ("[1, 1]", [1.0, 1.0])],
     rtol=[("-0.1", -0.1), ("nan", NAN), ("'0.1'", "0.1"), ("inf", INF)],
     atol=[("-1", -1.0), ("nan", NAN), ("'1'", "1")], name=[("None", None), ("3", 3)],
     digits=[("0", 0), ("1.5", 1.5), ("'4'", "4")])
spec("checks", checks.check_below, dict(name="probe", measured=1.0, bound=2.0),
     measured=[("'1'", "1"), ("[1, 2]", [1.0, 2.0]), ("1j", 1j)], bound=[("nan", NAN), ("'2'", "2"), ("None", None)],
     floor=[("-1", -1.0), ("nan", NAN)], digits=[("-1", -1), ("2.5", 2.5)])
spec("checks", checks.check_above, dict(name="probe", measured=3.0, bound=2.0),
     measured=[("'3'", "3"), ("1j", 1j)], bound=[("nan", NAN), ("'2'", "2"), ("None", None), ("-inf", -INF)],
     digits=[("0", 0), ("True", True)])
spec("checks", checks.check_between, dict(name="probe", measured=1.0, low=0.0, high=2.0),
     measured=[("'1'", "1"), ("1j", 1j)], low=[("nan", NAN), ("'0'", "0"), ("3 (> high)", 3.0)],
     high=[("nan", NAN), ("None", None), ("-1 (< low)", -1.0)])
spec("checks", checks.check_true, dict(name="probe", condition=True, description="probe"),
     condition=[("nan", NAN), ("'no'", "no"), ("[False]", [False]), ("np.array([True, False])",
                                                                     np.array([True, False])), ("None", None)],
     description=[("None", None), ("3", 3)], name=[("None", None), ("1.5", 1.5)])

# --- convolution ------------------------------------------------------------------------------------------------
X1 = np.random.default_rng(0).standard_normal((2, 3, 5))
K1 = init.delta_orthogonal(3, 3, 3, ndim=1, seed=0)
spec("convolution", convolution.circular_conv, dict(x=X1, kernel=K1),
     x=[("wrong channels", np.ones((2, 4, 5))), ("nan", np.full((2, 3, 5), NAN)), ("complex", X1 * 1j),
        ("strings", np.full((2, 3, 5), "a")), ("scalar", 1.0), ("None", None)],
     kernel=[("even k", np.ones((3, 3, 2))), ("2-D", np.ones((3, 3))), ("nan", np.full((3, 3, 3), NAN)),
             ("complex", K1 * 1j), ("None", None), ("k = 0", np.ones((3, 3, 0)))])
spec("convolution", convolution.kernel_symbol, dict(kernel=K1, n=5),
     kernel=[("even k", np.ones((3, 3, 2))), ("k > n", np.ones((3, 3, 7))), ("complex", K1 * 1j), ("None", None),
             ("1-D", np.ones(3))], n="count")
H0 = np.random.default_rng(1).standard_normal((2, 3, 5))
spec("convolution", convolution.signal_propagation,
     dict(inputs=H0, depth=3, sigma_w2=1.5, sigma_b2=0.05, kernel="delta_orthogonal", activation="tanh", kernel_size=3,
          record_every=1, seed=0),
     inputs=[("B = 1", np.ones((1, 3, 5))), ("2-D", np.ones((3, 5))), ("nan", np.full((2, 3, 5), NAN)),
             ("complex", H0 * 1j), ("None", None), ("zero channels", np.ones((2, 0, 5)))],
     depth="count", sigma_w2="positive", sigma_b2="nonnegative", kernel="choice", activation="choice",
     kernel_size=("count", [("2", 2), ("4", 4)]), record_every="count", seed="seed",
     progress=[("'yes'", "yes"), ("2", 2)])
spec("convolution", convolution.mean_variance_profile,
     dict(inputs=np.ones((2, 5)), depth=2, profile=[0.25, 0.5, 0.25], sigma_w2=1.0, activation="linear", n_draws=3,
          seed=0),
     inputs=[("3-D", np.ones((1, 2, 5))), ("nan", np.full((2, 5), NAN)), ("complex", np.ones((2, 5)) * 1j),
             ("None", None), ("'x'", "x")],
     depth="count", profile=[("even taps", [0.5, 0.5]), ("sums to 2", [1.0, 0.5, 0.5]), ("negative", [1.5, -1.0, 0.5]),
                             ("nan", [NAN, 1.0, 0.0]), ("None", None), ("2-D", np.full((3, 3), 1 / 9))],
     sigma_w2="positive", activation="choice", n_draws="count", seed="seed")

# --- deepnets ---------------------------------------------------------------------------------------------------
spec("deepnets", deepnets.MLP, dict(weights=init.scaled_gaussian([5, 6, 3], seed=0), biases=None, activation="tanh"),
     _label="MLP", weights=_chain_bad([5, 6, 3]),
     biases=[("wrong count", [np.zeros(6)]), ("wrong shape", [np.zeros(5), np.zeros(3)]),
             ("nan", [np.full(6, NAN), np.zeros(3)]), ("'b'", "b")],
     activation="choice", device="device")
K2 = [init.delta_orthogonal(4, 1, 3, seed=0), init.delta_orthogonal(4, 4, 3, seed=1)]
spec("deepnets", deepnets.VanillaCNN, dict(kernels=K2, biases=[np.zeros(4), np.zeros(4)], readout=np.ones((3, 4)),
                                           activation="tanh"), _label="VanillaCNN",
     kernels=[("[]", []), ("even k", [np.ones((4, 1, 2, 2)), K2[1]]), ("channel mismatch", [K2[0], np.ones((4, 3, 3, 3))]),
              ("nan", [np.full((4, 1, 3, 3), NAN), K2[1]]), ("None", None)],
     biases=[("wrong count", [np.zeros(4)]), ("wrong shape", [np.zeros(3), np.zeros(4)]), ("None", None)],
     readout=[("wrong channels", np.ones((3, 5))), ("1-D", np.ones(3)), ("nan", np.full((3, 4), NAN)),
              ("None", None)],
     activation="choice", device="device")

# --- init ---------------------------------------------------------------------------------------------------------
spec("init", init.random_orthogonal, dict(n_rows=3, n_cols=2, seed=0), n_rows="count",
     n_cols=no_none("count"), seed="seed")
for fn, extra in [(init.gaussian, dict(std=0.1)), (init.scaled_gaussian, dict(gain=1.0)), (init.orthogonal,
                                                                                           dict(gain=1.0))]:
    kinds = dict(widths=[("[3]", [3]), ("[3, 0]", [3, 0]), ("[3, 2.5]", [3, 2.5]), ("'34'", "34"), ("None", None),
                         ("[3, True]", [3, True]), ("[3, -2]", [3, -2])],
                 n_runs=no_none("count"), seed="seed")
    key = next(iter(extra))
    kinds[key] = ("nonnegative_array", [("[0.1] * 5 (wrong length)", [0.1] * 5)]) if key == "std" else "nonnegative"
    spec("init", fn, dict(widths=[3, 4, 2], **extra, seed=0), **kinds)
spec("init", init.decoupled, dict(task=TASK, widths=[4, 3, 3], u0=0.01, seed=0),
     task=[("None", None), ("'task'", "task")],
     widths=[("wrong ends", [3, 3, 3]), ("[4, 2.5, 3]", [4, 2.5, 3]), ("None", None)],
     u0=("positive_array", [("wrong length", [0.1, 0.2])]), n_runs=no_none("count"), seed="seed")
spec("init", init.greedy_pretraining, dict(task=TASK, widths=[4, 3, 3], lr=0.1, steps=3, std=0.01, seed=0),
     task=[("None", None)], widths=[("no hidden layer", [4, 3]), ("wrong ends", [3, 3, 3])], lr="positive",
     steps="count0", std="nonnegative", seed="seed")
for fn in (init.delta_orthogonal, init.block_orthogonal):
    spec("init", fn, dict(c_out=3, c_in=2, kernel_size=3, ndim=1, gain=1.0, seed=0),
         c_out=("count", [("1 (< c_in)", 1)]), c_in="count", kernel_size=("count", [("2", 2)]),
         ndim=[("3", 3), ("1.0", 1.0), ("'2'", "2"), ("True", True)], gain="nonnegative", seed="seed")
spec("init", init.gaussian_kernel, dict(c_out=3, c_in=2, profile=[0.25, 0.5, 0.25], sigma_w2=1.0, seed=0),
     c_out="count", c_in="count",
     profile=[("even", [0.5, 0.5]), ("sum 2", [1.0, 1.0, 0.0]), ("negative", [1.5, -1.0, 0.5]), ("nan", [NAN] * 3),
              ("complex", [1j, 0.0, 0.0]), ("3-D", np.full((1, 1, 1), 1.0)), ("None", None)],
     sigma_w2="positive", seed="seed")
spec("init", init.conv_kernel, dict(kind="gaussian", c_out=3, c_in=2, sigma_w2=1.0, kernel_size=3, ndim=2, seed=0),
     kind="choice", c_out="count", c_in="count", sigma_w2="positive",
     kernel_size=("count", [("2", 2), ("4", 4)]), ndim=[("3", 3), ("0", 0), ("'2'", "2")], seed="seed")
spec("init", init.cnn, dict(channels=3, depth=2, sigma_w2=1.0, sigma_b2=0.1, kind="delta_orthogonal", in_channels=1,
                            kernel_size=3, seed=0),
     channels="count", depth="count", sigma_w2="positive", sigma_b2="nonnegative", kind="choice",
     in_channels=("count", [("4 (> channels)", 4)]), kernel_size=("count", [("2", 2)]), seed="seed")
spec("init", init.stack_runs, dict(runs=[SQ, SQ]),
     runs=[("ragged runs", [SQ, SQ[:1]]), ("[]", []), ("None", None), ("mismatched shapes", [SQ, [np.eye(2)] * 2]),
           ("nan", [SQ, [np.full((3, 3), NAN)] * 2]), ("3", 3)])
spec("init", init.balanced, dict(product=P, widths=[3, 4, 2], seed=0),
     product=[("zero", np.zeros((2, 3))), ("wrong shape", np.ones((3, 3))), ("nan", np.full((2, 3), NAN)),
              ("complex", P * 1j), ("None", None)],
     widths=[("hidden < rank", [3, 1, 2]), ("[3, 4.5, 2]", [3, 4.5, 2]), ("None", None)], seed="seed")

# --- landscape ----------------------------------------------------------------------------------------------------
spec("landscape", landscape.fixed_point, dict(task=TASK, active_modes=[0, 2], widths=[4, 3, 3], seed=0),
     task=[("None", None), ("unwhitened task", SAMPLE_TASK)],
     active_modes=[("[1.5]", [1.5]), ("[0, 0]", [0, 0]), ("[5]", [5]), ("[-1]", [-1]), ("[True]", [True]),
                   ("'0'", "0"), ("[0, 1, 2, 3] (> width)", [0, 1, 2, 3]), ("None", None)],
     widths=[("wrong ends", [3, 3, 3]), ("[4, 1.5, 3]", [4, 1.5, 3]), ("[4]", [4]), ("None", None)], seed="seed")
spec("landscape", landscape.loss_gradient_norm, dict(weights=W, task=TASK), weights=_chain_bad(WIDTHS),
     task=[("None", None), ("'task'", "task")])
spec("landscape", landscape.loss_hessian, dict(weights=W, task=TASK), weights=_chain_bad(WIDTHS),
     task=[("None", None)])
spec("landscape", landscape.worst_perturbation,
     dict(loss=lambda th: np.sum(th ** 2, axis=1), point=np.zeros(3), radius=0.1, n_samples=20, seed=0),
     loss=BAD["callable"] + [("wrong length", lambda th: np.zeros(2))],
     point=[("[]", []), ("2-D", np.zeros((2, 2))), ("nan", [NAN, 0.0]), ("complex", [1j]), ("None", None)],
     radius="positive", n_samples="count", seed="seed")
spec("landscape", landscape.convex_minimum,
     dict(f=lambda w: float(np.sum((w - 1) ** 2)), grad=lambda w: 2 * (w - 1), shape=(2, 2)),
     f=BAD["callable"], grad=BAD["callable"],
     shape=[("(2, -1)", (2, -1)), ("(2, 1.5)", (2, 1.5)), ("'22'", "22"), ("None", None), ("()", ())])
spec("landscape", landscape.minimize_factors,
     dict(f=lambda w: float(np.sum((w - 1) ** 2)), grad=lambda w: 2 * (w - 1), weights=SQ),
     f=BAD["callable"], grad=BAD["callable"], weights=_chain_bad([3, 3, 3]))

# --- learning_curves ----------------------------------------------------------------------------------------------
XL, YL = learning_curves.gaussian_mixture(np.array([1.0, 0.0, 0.0]), 8, seed=0)
WL = np.array([0.1, 0.0, 0.2])
spec("learning_curves", learning_curves.gd_trajectory, dict(X=XL, y=YL, w0=WL, lr=0.1, steps=[0, 5], gamma=0.0),
     X=[("1-D", np.ones(3)), ("nan", np.full((3, 8), NAN)), ("complex", XL * 1j), ("None", None),
        ("transposed", XL.T)],
     y=[("wrong length", YL[:5]), ("nan", np.full(8, NAN)), ("None", None)],
     w0=[("wrong length", np.zeros(2)), ("complex", WL * 1j), ("None", None)], lr="positive",
     steps=[("[-1]", [-1]), ("[1.5]", [1.5]), ("['2']", ["2"]), ("[nan]", [NAN]), ("[[1]]", [[1]]),
            ("[True]", [True])],
     gamma="nonnegative")
spec("learning_curves", learning_curves.error_rate, dict(w=WL, X=XL, y=YL),
     w=[("wrong length", np.ones(5)), ("nan", [NAN] * 3), ("3-D", np.ones((1, 1, 3))), ("None", None)],
     X=[("wrong rows", np.ones((4, 8))), ("1-D", np.ones(3))], y=[("wrong length", YL[:3]), ("2-D", np.ones((2, 8)))])
spec("learning_curves", learning_curves.mean_scores, dict(w=WL, X=XL, y=YL),
     w=[("wrong length", np.ones(5)), ("None", None)], X=[("wrong rows", np.ones((4, 8)))],
     y=[("wrong length", YL[:3]), ("[]", []), ("nan", np.full(8, NAN))])
spec("learning_curves", learning_curves.deterministic_errors,
     dict(t=[0.0, 10.0], c=0.5, mu_norm2=2.0, sigma2=0.5, lr=0.1, gamma=0.0),
     t="times", c="positive", mu_norm2="positive", sigma2="nonnegative", lr="positive", gamma="nonnegative")
spec("learning_curves", learning_curves.gaussian_mixture, dict(mean=[1.0, 0.0], n=4, seed=0),
     mean=[("nan", [NAN]), ("complex", [1j]), ("2-D", np.ones((2, 2))), ("None", None), ("[]", [])],
     n="count", seed="seed")
spec("learning_curves", learning_curves.simulate,
     dict(mean=[1.0, 0.0, 0.0], n=6, sigma2=0.5, lr=0.1, steps=[0, 3], n_draws=2, gamma=0.0, seed=0),
     mean=[("nan", [NAN]), ("2-D", np.ones((2, 2))), ("None", None)], n="count", sigma2="nonnegative", lr="positive",
     steps=[("[-1]", [-1]), ("[0.5]", [0.5])], n_draws=("count", [("1", 1)]), gamma="nonnegative", seed="seed",
     test=[("without population", (np.ones((3, 2)), np.ones(2)))])

# --- meanfield ------------------------------------------------------------------------------------------------------
spec("meanfield", meanfield.gaussian_average, dict(f=np.tanh, q=1.0), f=BAD["callable"], q="nonnegative_array")
spec("meanfield", meanfield.slope_moment, dict(q=1.0, k=1, activation="tanh"), q="nonnegative", k="count",
     activation="choice")
spec("meanfield", meanfield.variance_map, dict(q=1.0, sigma_w2=1.5, sigma_b2=0.1, activation="tanh"), q="nonnegative_array",
     sigma_w2="positive", sigma_b2="nonnegative", activation="choice")
for fn in (meanfield.fixed_point_variance, meanfield.fixed_point_correlation, meanfield.depth_scales):
    spec("meanfield", fn, dict(sigma_w2=1.5, sigma_b2=0.1, activation="tanh"), sigma_w2="positive",
         sigma_b2="nonnegative", activation="choice")
spec("meanfield", meanfield.fixed_point_gain, dict(q_star=0.5, activation="tanh"), q_star="positive",
     activation="choice")
spec("meanfield", meanfield.correlation_map, dict(c=0.5, q=1.0, sigma_w2=1.5, sigma_b2=0.1, activation="tanh"),
     c=[("1.5", 1.5), ("-2", -2.0), ("nan", NAN), ("'0.5'", "0.5"), ("0.5j", 0.5j), ("[0.1, 0.2]", [0.1, 0.2])],
     q="positive", sigma_w2="positive", sigma_b2="nonnegative", activation="choice")
spec("meanfield", meanfield.chi_1, dict(sigma_w2=1.5, sigma_b2=0.1, activation="tanh", q=None), sigma_w2="positive",
     sigma_b2="nonnegative", activation="choice", q=no_none("nonnegative"))
spec("meanfield", meanfield.critical_line, dict(sigma_b2=[0.0, 0.1], activation="tanh"), sigma_b2="nonnegative_array",
     activation="choice")
spec("meanfield", meanfield.cnn_mode_eigenvalues, dict(profile=[0.25, 0.5, 0.25], n=6),
     profile=[("even", [0.5, 0.5]), ("sum 2", [1.0, 1.0, 0.0]), ("negative", [1.5, -1.0, 0.5]), ("2-D", np.ones((1, 1))),
              ("None", None), ("complex", [1j, 0, 0])], n="count")
spec("meanfield", meanfield.cnn_mode_depth_scales, dict(profile=[0.25, 0.5, 0.25], n=6, chi_c=0.9),
     profile=[("even", [0.5, 0.5]), ("None", None)], n="count", chi_c="positive")

# --- measure ----------------------------------------------------------------------------------------------------------
spec("measure", measure.first_passage_time, dict(t=[0.0, 1.0, 2.0], x=[0.0, 1.0, 2.0], level=1.5),
     t=[("decreasing", [2.0, 1.0, 0.0]), ("wrong length", [0.0, 1.0]), ("nan", [0.0, NAN, 2.0]), ("2-D", [[0, 1, 2]]),
        ("None", None), ("[]", [])],
     x=[("wrong length", [0.0, 1.0]), ("nan", [0.0, NAN, 1.0]), ("complex", [0j, 1j, 2j]), ("scalar", 1.0)],
     level=[("nan", NAN), ("'1'", "1"), ("None", None)])
spec("measure", measure.first_passage_time, dict(t=[0.0, 1.0, 2.0], x=np.zeros((2, 3)), level=[1.0, 2.0]),
     _label="first_passage_time (2 trajectories)", level=[("3 levels for 2 trajectories", [1.0, 2.0, 3.0])])
spec("measure", measure.relative_delay, dict(measured=[2.0, 3.0], predicted=[1.0, 1.5]),
     measured=[("nan", [NAN, 1.0]), ("'2'", "2"), ("wrong shape", [1.0, 2.0, 3.0])],
     predicted=[("0", [0.0, 1.0]), ("negative", [-1.0, 1.0]), ("wrong shape", [1.0, 2.0, 3.0])])

# --- networks ---------------------------------------------------------------------------------------------------------
spec("networks", networks.check_chain, dict(weights=W, n_in=4, n_out=3), weights=_chain_bad(WIDTHS),
     n_in=[("5 (wrong)", 5), ("1.5", 1.5), ("'4'", "4")], n_out=[("4 (wrong)", 4), ("-3", -3)])
spec("networks", networks.end_to_end, dict(weights=W), weights=_chain_bad(WIDTHS))
spec("networks", networks.mode_strengths, dict(product=TASK.sigma31, task=TASK, n_modes=2),
     product=[("wrong shape", np.ones((4, 3))), ("1-D", np.ones(3)), ("nan", np.full((3, 4), NAN)),
              ("complex", TASK.sigma31 * 1j), ("None", None), ("ragged list", [[1.0] * 4, [1.0] * 3, [1.0] * 4])],
     task=[("None", None), ("'task'", "task")], n_modes=no_none("count"))
spec("networks", networks.imbalance, dict(weights=W), weights=_chain_bad(WIDTHS))

# --- parsimony --------------------------------------------------------------------------------------------------------
D6 = 6
W0P = [0.1 * init.random_orthogonal(D6, seed=s) for s in range(3)]
G0 = np.random.default_rng(3).standard_normal((D6, D6))
for fn in (parsimony.compression_frames, parsimony.compressed_start):
    spec("parsimony", fn, dict(weights0=W0P, first_gradient=G0, rank=1),
         weights0=[("[]", []), ("not square", [np.ones((6, 5))]), ("nan", [np.full((6, 6), NAN)]), ("None", None),
                   ("zeros", [np.zeros((6, 6))] * 2)],
         first_gradient=[("wrong shape", np.ones((5, 5))), ("nan", np.full((6, 6), NAN)), ("None", None)],
         rank=("count", [("4 (2r > d)", 4)]))
spec("parsimony", parsimony.invariant_bulk, dict(weight=W0P[0] * 2, weight0=W0P[0], rank=1, tol=1e-9),
     weight=[("wrong shape", np.ones((5, 5))), ("nan", np.full((6, 6), NAN)), ("1-D", np.ones(6)), ("None", None)],
     weight0=[("zeros", np.zeros((6, 6))), ("wrong shape", np.ones((6, 5)))],
     rank=("count", [("3 (no bulk)", 3)]), tol=("positive", [("1.5", 1.5)]))
FEAT = np.random.default_rng(4).standard_normal((3, 10))
LAB = np.arange(10) % 2
spec("parsimony", parsimony.class_separation, dict(features=FEAT, labels=LAB),
     features=[("1-D", np.ones(10)), ("nan", np.full((3, 10), NAN)), ("complex", FEAT * 1j), ("None", None)],
     labels=[("one class", np.zeros(10, int)), ("wrong length", LAB[:7]), ("2-D", LAB[None]), ("None", None),
             ("nan", np.full(10, NAN))])

# --- plotting / reproducibility -------------------------------------------------------------------------------------
spec("plotting", plotting.mode_colors, dict(n=3), n="count0")
spec("plotting", plotting.figure, dict(ncols=1, nrows=1, width=2.0, height=2.0), ncols="count", nrows="count",
     width="positive", height="positive")
spec("reproducibility", reproducibility.seed_everything, dict(seed=3),
     seed=("seed", [("2**40", 2 ** 40), ("None", None)]))

# --- spectra ----------------------------------------------------------------------------------------------------------
spec("spectra", spectra.random_product, dict(n=3, n_factors=2, kind="gaussian", seed=0), n="count",
     n_factors="count", kind="choice", seed="seed")
spec("spectra", spectra.fuss_catalan_moment, dict(k=[0, 1, 2], n_factors=2),
     k=[("-1", -1), ("1.5", 1.5), ("[True]", [True]), ("'2'", "2"), ("None", None), ("nan", NAN)], n_factors="count")
spec("spectra", spectra.fuss_catalan_edge, dict(n_factors=2), n_factors="count")
spec("spectra", spectra.fuss_catalan_density, dict(n_factors=2, n_points=20), n_factors="count",
     n_points=("count", [("2", 2)]))
spec("spectra", spectra.gaussian_product_moments, dict(n=10, n_factors=3), n="count", n_factors="count")
spec("spectra", spectra.product_eigenvalue_fraction_within, dict(r=[0.1, 2.0], n_factors=3),
     r=[("-0.1", -0.1), ("[0.1, nan]", [0.1, NAN]), ("'1'", "1"), ("1j", 1j), ("None", None), ("True", True)],
     n_factors="count")
spec("spectra", spectra.network_jacobian, dict(weights=init.orthogonal([3, 3, 3], seed=0), biases=None,
                                               h0=np.ones(3), activation="tanh"),
     weights=_chain_bad([3, 3, 3]), biases=[("wrong count", [np.zeros(3)]), ("wrong shape", [np.zeros(2)] * 2),
                                            ("nan", [np.full(3, NAN)] * 2)],
     h0=[("2-D", np.ones((3, 1))), ("wrong length", np.ones(4)), ("nan", [NAN] * 3), ("None", None)],
     activation="choice")
spec("spectra", spectra.jacobian_singular_values, dict(n=4, depth=2, sigma_w2=1.2, sigma_b2=0.1, q_in=None,
                                                       activation="tanh", weights="orthogonal", seed=0),
     n="count", depth="count", sigma_w2="positive", sigma_b2="nonnegative", q_in=no_none("positive"),
     activation="choice", weights="choice", seed="seed")
spec("spectra", spectra.summarize, dict(singular_values=[0.5, 1.0, 2.0], band=(0.1, 10.0)),
     singular_values=[("[]", []), ("negative", [-1.0, 1.0]), ("nan", [NAN]), ("complex", [1j]), ("None", None),
                      ("'1'", "1")],
     band=[("(10, 0.1)", (10.0, 0.1)), ("(nan, 1)", (NAN, 1.0)), ("3 values", (0.1, 1.0, 2.0)), ("None", None),
           ("0.5", 0.5)])
spec("spectra", spectra.normalized_variance, dict(singular_values=[0.5, 1.0, 2.0]),
     singular_values=[("[]", []), ("all zero", [0.0, 0.0]), ("nan", [NAN]), ("negative", [-1.0, 1.0]),
                      ("None", None)])
spec("spectra", spectra.jacobian_spectrum_moments, dict(depth=3, sigma_w2=1.2, sigma_b2=0.1, activation="tanh",
                                                        weights="orthogonal", q_star=None),
     depth="count", sigma_w2="positive", sigma_b2="nonnegative", activation="choice", weights="choice",
     q_star=no_none("nonnegative"))

# --- tasks ------------------------------------------------------------------------------------------------------------
XT = RNG.standard_normal((4, 6))
YT = RNG.standard_normal((3, 6))
spec("tasks", tasks.Task.from_samples, dict(X=XT, Y=YT), _label="Task.from_samples",
     X=[("zero samples", np.ones((4, 0))), ("1-D", np.ones(6)), ("nan", np.full((4, 6), NAN)), ("complex", XT * 1j),
        ("strings", np.full((4, 6), "1")), ("None", None), ("wrong samples", np.ones((4, 5)))],
     Y=[("zero samples", np.ones((3, 0))), ("wrong samples", np.ones((3, 7))), ("nan", np.full((3, 6), NAN))],
     name=[("3", 3), ("None", None)])
spec("tasks", tasks.Task, dict(sigma11=np.eye(3), sigma31=np.ones((2, 3)), sigma33_trace=1.0), _label="Task",
     sigma11=[("not square", np.ones((3, 2))), ("not symmetric", np.triu(np.ones((3, 3)))), ("nan", np.full((3, 3), NAN)),
              ("None", None), ("1-D", np.ones(3))],
     sigma31=[("wrong n_in", np.ones((2, 4))), ("1-D", np.ones(3)), ("complex", np.ones((2, 3)) * 1j), ("None", None)],
     sigma33_trace=[("-1", -1.0), ("nan", NAN), ("'1'", "1"), ("None", None)],
     X=[("X without Y", np.ones((3, 4))), ("wrong n_in", np.ones((2, 4)))], name=[("3", 3)])
spec("tasks", TASK.loss, dict(product=TASK.sigma31), _label="Task.loss",
     product=[("wrong shape", np.ones((4, 3))), ("1-D", np.ones(4)), ("nan", np.full((3, 4), NAN)),
              ("complex", TASK.sigma31 * 1j), ("None", None)])
spec("tasks", TASK.best_rank_approximation, dict(rank=2), _label="Task.best_rank_approximation", rank="count")
spec("tasks", tasks.svd_task, dict(singular_values=[2.0, 1.0], n_in=3, n_out=2, seed=0),
     singular_values=[("increasing", [1.0, 2.0]), ("negative", [1.0, -1.0]), ("too many", [3.0, 2.0, 1.0]),
                      ("[]", []), ("nan", [NAN]), ("complex", [1j]), ("2-D", [[1.0]]), ("None", None)],
     n_in="count", n_out="count", seed="seed", name=[("3", 3)])
spec("tasks", tasks.hierarchical_task, dict(levels=2, flip_prob=0.1, n_features=5, seed=0),
     levels=("count", [("17", 17)]), flip_prob=[("-0.1", -0.1), ("0.6", 0.6), ("nan", NAN), ("'0.1'", "0.1"),
                                                 ("None", None), ("0.1j", 0.1j)],
     n_features="count", seed="seed")
spec("tasks", tasks.read_idx, dict(path=TMP / "ok.idx"),
     path=[("truncated file", TMP / "truncated.idx"), ("header only", TMP / "header_only.idx"),
           ("bad gzip", TMP / "not_gzip.gz"), ("empty file", TMP / "empty.idx"), ("missing", TMP / "missing.idx"),
           ("None", None), ("3", 3)])
spec("tasks", tasks.load_mnist, dict(path=TMP, split="train"), _label="load_mnist",
     path=[("labels out of range", BAD_LABELS), ("images 28 x 27", WRONG_DIMS), ("missing folder", TMP / "nope"),
           ("3", 3)],
     split=[("'validation'", "validation"), ("None", None), ("3", 3)])
spec("tasks", tasks.mnist_task, dict(n_components=5, whiten=True, n_samples=50, seed=0),
     n_components=[("60 (> rank of the 50 images)", 60), ("1.5", 1.5), ("0", 0), ("'5'", "5"), ("800", 800)],
     whiten=[("'yes'", "yes"), ("2", 2)], n_samples=[("3 (< n_components 5)", 3), ("1.5", 1.5), ("0", 0),
                                                    ("10**6", 10 ** 6), ("True", True)],
     seed="seed", path=[("labels out of range", BAD_LABELS), ("missing", TMP / "nope")])
spec("tasks", tasks.mnist_classification, dict(n_test=20, image_size=None, seed=0),
     n_test=("count", [("5000", 5000)]), image_size=("count", [("5 (does not divide 28)", 5), ("56", 56)], ["None"]),
     seed="seed", path=[("labels out of range", BAD_LABELS), ("missing", TMP / "nope")])
XR = RNG.standard_normal((10, 3))
YR = RNG.standard_normal(10)
spec("tasks", tasks.lp_regression_optimum, dict(X=XR, y=YR, p=4, iterations=5),
     X=[("1-D", np.ones(10)), ("nan", np.full((10, 3), NAN)), ("complex", XR * 1j), ("None", None)],
     y=[("wrong length", YR[:4]), ("nan", np.full(10, NAN))],
     p=[("3", 3), ("1", 1), ("2.5", 2.5), ("'4'", "4"), ("nan", NAN), ("None", None), ("True", True)],
     iterations="count0")
MC = tasks.matrix_completion(4, 1, 0.5, seed=0)
spec("tasks", tasks.matrix_completion, dict(d=4, rank=1, fraction=0.5, seed=0), d="count",
     rank=("count", [("5 (> d)", 5)]), fraction=("positive", [("1.5", 1.5), ("1e-9 (empty mask)", 1e-9)]),
     seed="seed")
spec("tasks", MC.gradient, dict(product=np.zeros((4, 4))), _label="MatrixCompletion.gradient",
     product=[("wrong shape", np.zeros((3, 4))), ("(4, 1)", np.zeros((4, 1))), ("1-D", np.zeros(4)),
              ("nan", np.full((4, 4), NAN)), ("complex", np.zeros((4, 4)) * 1j), ("None", None)])
spec("tasks", MC.min_nuclear_norm, dict(iterations=10, tol=1e-8), _label="MatrixCompletion.min_nuclear_norm",
     iterations="count", tol="positive")
spec("tasks", MC.recovery_error, dict(product=np.zeros((4, 4))), _label="MatrixCompletion.recovery_error",
     product=[("wrong shape", np.zeros((3, 4))), ("(4, 1)", np.zeros((4, 1))), ("nan", np.full((4, 4), NAN)),
              ("None", None)])
spec("tasks", MC.loss, dict(product=torch.zeros((4, 4), dtype=torch.float64)), _label="MatrixCompletion.loss",
     product=[("numpy array", np.zeros((4, 4))), ("wrong shape", torch.zeros((3, 4), dtype=torch.float64)),
              ("(4, 1)", torch.zeros((4, 1), dtype=torch.float64)), ("None", None)])
spec("tasks", tasks.MatrixCompletion, dict(matrix=np.ones((3, 3)), observed=np.eye(3, dtype=bool)),
     _label="MatrixCompletion", matrix=[("wrong shape", np.ones((3, 2))), ("nan", np.full((3, 3), NAN)), ("None", None)],
     observed=[("empty mask", np.zeros((3, 3), bool)), ("wrong shape", np.ones((2, 2), bool)),
               ("floats", np.full((3, 3), 0.5)), ("None", None)])
spec("tasks", tasks.ClassificationData, dict(X_train=DATA.X_train, y_train=DATA.y_train, X_test=DATA.X_test,
                                             y_test=DATA.y_test), _label="ClassificationData",
     X_train=[("wrong count", DATA.X_train[:5]), ("nan", np.full_like(DATA.X_train, NAN)), ("1-D", np.ones(20))],
     y_train=[("fractional", DATA.y_train + 0.5), ("negative", -DATA.y_train - 1), ("2-D", DATA.y_train[None])],
     X_test=[("wrong count", DATA.X_test[:3]), ("empty", np.ones((0, 5))), ("wrong features", np.ones((8, 4)))],
     y_test=[("fractional", DATA.y_test + 0.25), ("strings", DATA.y_test.astype(str))])

# --- theory -----------------------------------------------------------------------------------------------------------
NO_BROADCAST = [("3 values against t's 2", [2.0, 3.0, 4.0])]
spec("theory", theory.mode_trajectory, dict(t=[0.0, 1.0], s=2.0, u0=0.1, tau=1.0), t="times",
     s=("positive_array", NO_BROADCAST), u0=("positive_array", [("3 values against t's 2", [0.1, 0.2, 0.3])]),
     tau="positive")
spec("theory", theory.learning_time, dict(s=[2.0, 3.0], u0=0.1, uf=1.0, depth=3, tau=1.0), s="positive_array",
     u0=("positive_array", [("u0 > uf", 1.5), ("3 values against s's 2", [0.1, 0.1, 0.1])]),
     uf=("positive_array", [("uf >= s", 2.0)]), depth="count",
     tau="positive")
spec("theory", theory.deep_mode_trajectory, dict(t=[0.0, 1.0], s=2.0, u0=0.1, depth=3, tau=1.0), t="times",
     s=("positive_array", NO_BROADCAST), u0=("positive_array", [("u0 > s", 3.0)]), depth="count", tau="positive")
spec("theory", theory.imbalanced_mode_trajectory, dict(t=[0.0, 1.0], s=2.0, u0=0.1, imbalance=0.5, tau=1.0),
     t="times", s=("positive_array", NO_BROADCAST), u0="positive_array",
     imbalance=("real_array", [("3 values against t's 2", [0.1, 0.2, 0.3])]), tau="positive")
spec("theory", theory.mode_vector_field, dict(a=[0.1, 0.2], b=0.3, s=2.0, tau=1.0), a="real_array",
     b=("real_array", [("3 values against a's 2", [0.1, 0.2, 0.3])]), s="positive", tau="positive")
spec("theory", theory.hessian_top_eigenvalue, dict(s=2.0, depth=3, tau=1.0), s="positive_array", depth="count",
     tau="positive")
spec("theory", theory.learning_time_at_optimal_rate, dict(s=2.0, u0=0.1, uf=1.0, depth=3, c=1.0),
     s="positive_array", u0=("positive_array", [("u0 > uf", 1.5)]), uf="positive_array",
     depth=("count", [("-inf", -INF), ("nan", NAN)]), c="positive")

# --- train ------------------------------------------------------------------------------------------------------------
spec("train", train.gradient_descent, dict(weights=W, task=TASK, lr=0.05, steps=3, record_every=1, n_modes=None),
     weights=_chain_bad(WIDTHS) + [("wrong input width", init.gaussian([3, 5, 3], 0.3, seed=1))],
     task=[("None", None), ("'task'", "task")], lr=("positive", [("per-run lr without runs", [0.1, 0.2, 0.3])]),
     steps="count0", record_every="count", n_modes=("count", [("4 (> modes)", 4)], ["None"]),
     activation=[("'sigmoid'", "sigmoid"), ("3", 3)], on_divergence=[("'ignore'", "ignore"), ("None", None)],
     device="device", record_weights=[("'yes'", "yes")], progress=[("'yes'", "yes")])
spec("train", train.gradient_flow, dict(weights=W, task=TASK, t_eval=[0.0, 1.0], tau=1.0, n_modes=None),
     weights=_chain_bad(WIDTHS), task=[("None", None)],
     t_eval=[("decreasing", [1.0, 0.0]), ("[]", []), ("negative", [-1.0, 0.0]), ("nan", [0.0, NAN]), ("2-D", [[0, 1]]),
             ("'1'", "1")],
     tau="positive", n_modes=("count", [("4 (> modes)", 4)], ["None"]), rtol="positive", atol="positive")
spec("train", train.learning_rate_scan, dict(weights=W, task=TASK, lrs=[0.01, 0.1], steps=5, loss_threshold=1.0),
     weights=_chain_bad(WIDTHS) + [("with run axis", W_RUNS)], task=[("None", None)],
     lrs=[("[]", []), ("negative", [-0.1]), ("2-D", [[0.1]]), ("nan", [NAN]), ("None", None)], steps="count0",
     loss_threshold="positive", record_every="count", activation=[("'sigmoid'", "sigmoid")], device="device")
spec("train", train.settling_rate_scan, dict(weights=W, task=TASK, lrs=[0.01, 0.1], steps=5, rel_tol=0.1,
                                            loss_threshold=None, pilot_steps=2),
     weights=_chain_bad(WIDTHS) + [("with run axis", W_RUNS)], task=[("None", None)],
     lrs=[("[]", []), ("negative", [-0.1]), ("2-D", [[0.1]]), ("nan", [NAN]), ("None", None)], steps="count",
     rel_tol=[("0", 0.0), ("1.5", 1.5), ("nan", NAN), ("'0.1'", "0.1")], loss_threshold=("positive", [], ["None"]),
     pilot_steps="count0", device="device")
spec("train", train.balanced_chain_descent, dict(s=[2.0, 1.0], u0=0.01, depth=3, lr=0.1, steps=4),
     s=("positive_array", [("2-D", [[2.0]])]), u0=("positive_array", [("u0 >= s", 2.0), ("wrong length",
                                                                                        [0.1, 0.1, 0.1])]),
     depth="count", lr="positive_array", steps="count0", record_every="count")
class _Data:
    """An object with ClassificationData's fields, built without its constructor's checks (what a user might pass)."""

    def __init__(self, X_train, y_train, X_test, y_test):
        self.X_train, self.y_train, self.X_test, self.y_test = X_train, y_train, X_test, y_test


def _data(n_train=20, n_labels=None, d=5, n_test=8, label_shift=0.0, label_offset=0):
    rng = np.random.default_rng(0)
    return _Data(rng.standard_normal((n_train, d)), rng.integers(0, 3, n_labels or n_train) + label_shift + label_offset,
                 rng.standard_normal((n_test, d)), rng.integers(0, 3, n_test))


spec("train", train.minibatch_sgd, dict(model=_mlp(), data=DATA, lr=0.1, steps=3, batch_size=4, record_every=1, seed=0),
     model=[("None", None), ("'mlp'", "mlp"), ("no parameters", torch.nn.Identity())],
     data=[("None", None), ("40 images, 30 labels", _data(40, 30)), ("fractional labels", _data(label_shift=0.5)),
           ("empty test set", _data(n_test=0)), ("labels >= classes", _data(label_offset=5)),
           ("wrong input width", _data(d=7)), ("negative labels", _data(label_offset=-3))],
     lr=("positive", [("per-run lr for an unbatched model", [0.1, 0.2])]), steps="count0",
     batch_size=("count", [("100 (> samples)", 100)]), record_every="count", test_every=no_none("count"),
     seed="seed")
spec("train", train.product_gradient_descent,
     dict(weights=SQ, loss=_quadratic_product_loss(np.eye(3)), lr=0.1, steps=3, record_every=1),
     weights=_chain_bad([3, 3, 3]),
     loss=BAD["callable"] + [("returns a float", lambda p: 1.0), ("returns numpy", lambda p: np.float64(1.0)),
                             ("wrong shape", lambda p: torch.zeros(2, dtype=torch.float64))],
     lr=("positive", [("wrong shape [0.1, 0.2]", [0.1, 0.2])]), steps="count0", record_every="count",
     factor_lr=[("wrong length", [1.0]), ("negative", [1.0, -1.0]), ("nan", [NAN, 1.0]), ("'1'", "1")],
     device="device")
RESULT_SCAN = train.gradient_descent(init.stack_runs([W, W]), TASK, lr=[0.01, 0.05], steps=4, on_divergence="mark",
                                     n_modes=2)
spec("train", train.RateScan.from_result, dict(result=RESULT_SCAN, loss_threshold=1.0), _label="RateScan.from_result",
     result=[("None", None), ("unmarked run", train.gradient_descent(W, TASK, lr=0.01, steps=2))],
     loss_threshold="positive")
spec("train", train.RateScan.from_modes, dict(result=RESULT_SCAN, targets=[3.0, 2.0], rel_tol=0.1),
     _label="RateScan.from_modes", result=[("None", None)],
     targets=("positive_array", [("wrong length", [3.0])]), rel_tol=("positive", [("1.5", 1.5)]))
CR = train.ClassifierResult(t=np.array([0.0, 1.0]), loss=np.array([2.0, 1.0]), error=np.array([0.5, 0.4]),
                            test_error=np.array([0.5, 0.4]), lr=0.1, diverged_at=np.array(-1))
spec("train", CR.steps_to_loss, dict(threshold=1.5), _label="ClassifierResult.steps_to_loss", threshold="positive")

# --- functions added since the first audit ---------------------------------------------------------------------
# acceleration
GRAD2 = lambda w: np.asarray(w, float) - np.array([1.0, 0.5])       # noqa: E731 - gradient of a quadratic in the plane
W2 = np.array([[0.3, 0.4], [1.0, -0.5]])
spec("acceleration", acceleration.rule_deviation, dict(weights=SQ, gradient=0.1 * np.ones((3, 3))),
     weights=_chain_bad([3, 3, 3]), gradient=_matrix_bad((3, 3)))
spec("acceleration", acceleration.end_to_end_curl, dict(w=W2, gradient=W2 - 1.0, hessian=np.stack([np.eye(2)] * 2),
                                                        depth=3),
     w=[("[nan, 1]", [NAN, 1.0]), ("strings", ["a", "b"]), ("complex", [1j, 1.0]), ("None", None)],
     gradient=[("[[nan, 1]]", [[NAN, 1.0]] * 2), ("None", None), ("3 columns", np.ones((2, 3)))],
     hessian=[("with nan", np.full((2, 2, 2), NAN)), ("(2, 3, 3)", np.ones((2, 3, 3))), ("None", None)],
     depth="count")
spec("acceleration", acceleration.green_circulation, dict(gradient=GRAD2, hessian=np.eye(2), center=[0.5, 0.5],
                                                          radius=0.1, depth=2),
     gradient=BAD["callable"], hessian=[("(3, 3)", np.eye(3)), ("with nan", np.full((2, 2), NAN)), ("None", None)],
     center=[("[nan, 0]", [NAN, 0.0]), ("3 values", [0.0, 0.0, 1.0]), ("'c'", "c")], radius="positive",
     depth="count")
spec("acceleration", acceleration.end_to_end_sharpness, dict(hessian=np.eye(2), w=W2[0], depth=2),
     hessian=[("(3, 3)", np.eye(3)), ("with nan", np.full((2, 2), NAN)), ("None", None), ("complex", 1j * np.eye(2))],
     w=[("[nan, 1]", [NAN, 1.0]), ("strings", ["a", "b"]), ("None", None)], depth="count")
XP = RNG.standard_normal((8, 3))
YP = RNG.standard_normal(8)
spec("acceleration", acceleration.lp_regression_descent, dict(X=XP, y=YP, p=4, lr=0.01, steps=3, depth=2,
                                                              record_every=1),
     X=_matrix_bad((8, 3)), y=[("9 values", np.ones(9)), ("[nan]*8", np.full(8, NAN)), ("None", None)],
     p=(None, [("0", 0), ("1.5", 1.5), ("'4'", "4"), ("True", True), ("3 (odd)", 3)]), lr=no_none("positive_array"),
     steps="count0", depth="count", optimizer="choice", record_every="count", warmup="count0",
     record_weights="bool")
# activations
spec("activations", activations.torch_slope, dict(activation="tanh", h=torch.linspace(-1, 1, 5, dtype=torch.float64)),
     activation="choice", h=[("None", None), ("'h'", "h")])
# convolution
K3 = np.random.default_rng(5).standard_normal((2, 2, 3))
spec("convolution", convolution.conv_operator, dict(kernel=K3, n=5),
     kernel=[("2-D", np.ones((2, 3))), ("with nan", np.full((2, 2, 3), NAN)), ("None", None),
             ("complex", K3 * 1j), ("strings", np.full((2, 2, 3), "1"))], n="count")
XC = np.random.default_rng(6).standard_normal((2, 8))
spec("convolution", lambda **kw: list(convolution.cnn_jacobian_factors(**kw)),
     dict(inputs=XC, depth=2, sigma_w2=1.5, sigma_b2=0.1, kernel_size=3, seed=0),
     _label="cnn_jacobian_factors", inputs=[("with nan", np.full((2, 8), NAN)), ("None", None),
                                           ("1-D", np.ones(8))],
     depth="count", sigma_w2="positive", sigma_b2="nonnegative", kernel="choice", activation="choice",
     kernel_size=("count", [("2 (even)", 2)]), seed="seed", device="device")
# deepnets
spec("deepnets", deepnets.layer_gradient_norms, dict(model=_mlp(), X=DATA.X_train, y=DATA.y_train),
     model=[("None", None), ("'mlp'", "mlp")], X=_matrix_bad((20, 5)),
     y=[("19 labels", DATA.y_train[:19]), ("[-1]*20", -np.ones(20, int)), ("fractional", DATA.y_train + 0.5),
        ("None", None)], per_sample="bool")
# init
spec("init", init.least_squares_top, dict(weights=init.gaussian([4, 3, 3], 0.3, seed=1), task=TASK),
     weights=_chain_bad([4, 3, 3]),
     task=[("None", None), ("'task'", "task")], balance="bool")
FRAME = np.linalg.qr(RNG.standard_normal((4, 2)))[0]
spec("init", init.principal_component_consistency, dict(sigma11=np.diag([3.0, 2.0, 1.0, 0.5]), frame=FRAME),
     sigma11=_matrix_bad((4, 4)), frame=_matrix_bad((4, 2)))
# landscape
LX = RNG.standard_normal((3, 10))
LY = RNG.standard_normal((2, 10))
LF, LG = landscape.matrix_loss("l2", LX, LY)
WL2 = [0.3 * np.ones((4, 3)), 0.2 * np.ones((2, 4))]
spec("landscape", landscape.factor_gradient, dict(grad=LG, weights=WL2), grad=BAD["callable"],
     weights=_chain_bad([3, 4, 2]))
spec("landscape", landscape.factor_hessian, dict(grad=LG, weights=WL2), grad=BAD["callable"],
     weights=_chain_bad([3, 4, 2]), step="positive")
spec("landscape", landscape.autograd_factor_hessian, dict(f=LF, weights=WL2), f=BAD["callable"],
     weights=_chain_bad([3, 4, 2]))
spec("landscape", landscape.factor_descent, dict(grad=LG, weights=WL2, lr=0.01, steps=3), grad=BAD["callable"],
     weights=_chain_bad([3, 4, 2]), lr="positive", steps="count0", record_every="count")
spec("landscape", landscape.matrix_loss, dict(kind="l2", X=LX, Y=LY), kind="choice", X=_matrix_bad((3, 10)),
     Y=[("11 samples", np.ones((2, 11))), ("with nan", np.full((2, 10), NAN)), ("None", None)])
spec("landscape", landscape.search_local_minima, dict(f=LF, grad=LG, widths=[3, 2, 2], n_starts=2, seed=0),
     f=BAD["callable"], grad=BAD["callable"],
     widths=[("[3]", [3]), ("[3, 0, 2]", [3, 0, 2]), ("[3, 1.5, 2]", [3, 1.5, 2]), ("None", None), ("'322'", "322")],
     n_starts="count", seed="seed")
spec("landscape", landscape.MinimaSearch, dict(values=np.zeros(2), gradient_norms=np.zeros(2),
                                               eigenvalues=np.zeros((2, 3)), weights=[WL2, WL2], symmetry_dim=1),
     _label="MinimaSearch", symmetry_dim="count0")
spec("landscape", landscape.fixed_point_min_eigenvalue, dict(s=[3.0, 2.0, 1.0], active_modes=[0], n_hidden=3),
     s="positive_array", active_modes=[("[3]", [3]), ("[-1]", [-1]), ("[0.5]", [0.5]), ("'0'", "0"), ("None", None)],
     n_hidden="count", scale="positive")
# learning_curves
spec("learning_curves", learning_curves.mixture_error, dict(w=WL, mean=[1.0, 0.0, 0.5]),
     w=[("4 values", np.ones(4)), ("[nan]*3", np.full(3, NAN)), ("None", None), ("complex", WL * 1j)],
     mean=[("2 values", [1.0, 0.0]), ("[nan]*3", [NAN] * 3), ("None", None), ("2-D", np.ones((3, 3)))])
spec("learning_curves", learning_curves.marchenko_pastur_density, dict(x=[0.5, 1.0, 2.0], c=0.5), x="real_array",
     c="positive")
spec("learning_curves", learning_curves.isolated_eigenvalue, dict(c=0.5, mu_norm2=2.0), c="positive",
     mu_norm2="nonnegative")
# meanfield
spec("meanfield", meanfield.orthogonal_mean_log_singular_value, dict(depth=3, sigma_w2=1.2, sigma_b2=0.1, q_in=None,
                                                                     activation="tanh", n=None),
     depth="count", sigma_w2="positive", sigma_b2="nonnegative", q_in=no_none("nonnegative"), activation="choice",
     n=no_none("count"))
# measure
spec("measure", measure.representational_similarity, dict(hidden=RNG.standard_normal((5, 4))),
     hidden=[("1-D", np.ones(4)), ("with nan", np.full((5, 4), NAN)), ("None", None), ("complex", np.ones((5, 4)) * 1j),
             ("strings", np.full((5, 4), "1"))])
TG = np.arange(0.0, 50.0, 5.0)
MG = 1e-4 * np.exp(0.1 * np.outer(TG, [2.0, 1.0]))
spec("measure", measure.early_growth_start, dict(t=TG, modes=MG, s=[2.0, 1.0], lr=0.05, t_min=0.0),
     t=[("9 times", TG[:9]), ("decreasing", TG[::-1]), ("with nan", np.full(10, NAN)), ("None", None)],
     modes=[("1-D", np.ones(10)), ("3 modes", np.ones((10, 3))), ("with nan", np.full((10, 2), NAN))],
     s="positive_array", lr="positive", t_min=[("nan", NAN), ("'0'", "0"), ("None", None)],
     u_max=[("0", 0.0), ("1.5", 1.5), ("nan", NAN), ("'a'", "a")])
# networks
W3 = init.gaussian([4, 5, 3], 0.1, seed=2)
spec("networks", networks.mode_vectors, dict(weights=W3, task=TASK, n_modes=2), weights=_chain_bad([4, 5, 3]),
     task=[("None", None), ("'task'", "task")], n_modes=no_none("count"))
spec("networks", networks.effective_initial_strengths, dict(weights=W3, task=TASK), weights=_chain_bad([4, 5, 3]),
     task=[("None", None), ("'task'", "task")], competition="bool")
# parsimony
spec("parsimony", parsimony.bulk_recursion, dict(eps=0.1, lr=0.1, steps=5, depth=3), eps="positive", lr="positive",
     steps="count0", depth="count", n_entries="count")
spec("parsimony", parsimony.core_subspace, dict(weight=W0P[0] + np.outer(np.ones(D6), np.arange(D6)) / 10, rank=1),
     weight=_matrix_bad((D6, D6), True), rank="count")
spec("parsimony", parsimony.layer_separation, dict(weights=W0P, inputs=FEAT[:, :10].repeat(2, axis=0)[:D6], labels=LAB),
     weights=_chain_bad([D6] * 4), inputs=_matrix_bad((D6, 10)),
     labels=[("9 labels", LAB[:9]), ("one class", np.zeros(10, int)), ("fractional", LAB + 0.5), ("None", None)])
# spectra
spec("spectra", lambda **kw: list(spectra.random_factors(**kw)), dict(n=3, n_factors=2, kind="gaussian", seed=0),
     _label="random_factors", n="count", n_factors="count", n_realisations=no_none("count"), kind="choice",
     seed="seed", device="device")
FACT = [torch.as_tensor(0.9 * np.eye(3) + 0.1 * RNG.standard_normal((3, 3))) for _ in range(4)]
spec("spectra", spectra.product_log_singular_values, dict(factors=FACT), factors=[
    ("[]", []), ("None", None), ("mismatched", FACT[:2] + [torch.ones(3, 4)]),
    ("with nan", FACT[:3] + [torch.full((3, 3), NAN, dtype=torch.float64)])],
     qr_every="count", refinements="count0", return_diagonal="bool", return_product="bool")
spec("spectra", spectra.fuss_catalan_log_sigma_density, dict(n_factors=2, n_points=50), n_factors="count",
     n_points=("count", [("1", 1)]))
spec("spectra", spectra.fuss_catalan_fraction_below, dict(sigma=1.0, n_factors=2), sigma="positive",
     n_factors="count")
spec("spectra", spectra.gaussian_product_lyapunov_exponents, dict(n=5), n="count")
spec("spectra", spectra.gaussian_product_mean_log_sigma2, dict(n=5, n_factors=3), n="count", n_factors="count")
spec("spectra", spectra.gaussian_product_log_sigma_density, dict(log_sigma=[-1.0, 0.0, 1.0], n=5, n_factors=3),
     log_sigma="real_array", n="count", n_factors="count")
spec("spectra", spectra.product_eigenvalue_fraction_in_box, dict(half_width=1.0, n_factors=2),
     half_width="nonnegative", n_factors="count")
for _label, _fn in (("jacobian_factors", lambda **kw: list(spectra.jacobian_factors(**kw))),
                   (None, spectra.layer_variances), (None, spectra.jacobian_log_singular_values)):
    spec("spectra", _fn, dict(n=4, depth=2, sigma_w2=1.2, sigma_b2=0.1, activation="tanh", seed=0), _label=_label,
         n="count", depth="count", sigma_w2="positive", sigma_b2="nonnegative", q_in=no_none("positive"),
         activation="choice", weights="choice", n_draws=no_none("count"), seed="seed", device="device")
# tasks
spec("tasks", tasks.tree_split_vectors, dict(levels=3), levels="count")
spec("tasks", tasks.tree_split_level, dict(levels=3), levels="count")
spec("tasks", tasks.whitened_digit_split, dict(first=0, second=1, n_components=5, n_test=10, seed=0, path=None),
     first=[("10", 10), ("1.5", 1.5), ("True", True)], second=[("0 (same as first)", 0)], n_components="count",
     n_test=("count", [("3 (odd)", 3), ("1000 (whole class)", 1000)]), seed="seed", path=[("missing folder", TMP / "missing")])
spec("tasks", tasks.whitened_gaussian_split, dict(mean=np.ones(3), n_pool=10, n_test=4, seed=0),
     mean=("real_array", [("[] (empty)", []), ("scalar 1.0", 1.0)]), n_pool=("count", [("3 (odd)", 3), ("2 (not above p)", 2)]), n_test=("count", [("3 (odd)", 3)]), seed="seed")
spec("tasks", tasks.whitened_digit_pair, dict(first=0, second=1, n_components=5, path=None),
     first=[("10", 10), ("-1", -1), ("1.5", 1.5), ("'0'", "0"), ("True", True)],
     second=[("0 (same as first)", 0), ("10", 10), ("None", None)], n_components="count",
     path=[("missing folder", TMP / "missing"), ("3", 3)])
spec("tasks", tasks.lp_regression_hessian, dict(X=XR, y=YR, p=4, w=np.zeros(3)), X=_matrix_bad((10, 3)),
     y=[("11 values", np.ones(11)), ("with nan", np.full(10, NAN)), ("None", None)],
     p=(None, [("0", 0), ("1.5", 1.5), ("'4'", "4"), ("True", True)]),
     w=[("4 values", np.zeros(4)), ("with nan", np.full(3, NAN)), ("None", None), ("complex", np.zeros(3) * 1j)])
spec("tasks", tasks.scaled_regression, dict(n=10, d=3, decades=2.0, noise=0.1, seed=0), n="count", d="count",
     decades="nonnegative", noise="nonnegative", seed="seed", rotate="bool")
# theory
spec("theory", theory.balanced_chain_hessian, dict(s=2.0, u=1.0, depth=3), s="positive_array", u="nonnegative_array",
     depth="count", tau="positive")
spec("theory", theory.two_cycle, dict(rate=2.1, depth=3), rate="positive_array", depth="count")
spec("theory", theory.two_cycle_band_edge, dict(depth=3), depth="count", rel_tol="positive")
spec("theory", theory.effective_initial_strength, dict(std=0.01, n_hidden=10), std="positive_array",
     n_hidden="count")
spec("theory", theory.imbalanced_learning_time, dict(s=2.0, u0=0.1, uf=1.0, imbalance=0.5), s="positive_array",
     u0="positive_array", uf="positive_array", imbalance="real_array", tau="positive")
# train
spec("train", train.imbalance_step_change, dict(weights=W, task=TASK, lr=0.05), weights=_chain_bad(WIDTHS),
     task=[("None", None), ("'task'", "task")], lr="positive")



# ---------------------------------------------------------------------------------------------------------------
# Valid edge cases with known right answers.
EDGE: list[Case] = []


def edge(module, label, call, check=None, raises=None):
    EDGE.append(Case(module, label, call, check=check, raises=raises))


def close(ref, rtol=1e-8, atol=1e-12):
    return lambda out: np.allclose(np.asarray(out), ref, rtol=rtol, atol=atol)


def _ode_lambda(t, s, u0, lam):
    """Reference: the ODE tau du/dt = sqrt(lam^2 + 4 u^2)(s - u) integrated in z = log u (relative accuracy)."""
    with np.errstate(over="ignore", invalid="ignore"):      # the solver's rejected trial steps may overflow
        sol = integrate.solve_ivp(lambda _, z: np.sqrt(lam ** 2 + 4 * np.exp(2 * z)) * (s * np.exp(-z) - 1), (0, t),
                                  [np.log(u0)], method="DOP853", rtol=1e-13, atol=1e-13)
    return float(np.exp(sol.y[0, -1]))


# acceleration
edge("acceleration", "end_to_end_update depth 1 is the gradient", lambda: acceleration.end_to_end_update(P, G, 1),
     close(G))
edge("acceleration", "end_to_end_update at W = 0, depth 3, is 0",
     lambda: acceleration.end_to_end_update(np.zeros((2, 3)), G, 3), close(np.zeros((2, 3))))
edge("acceleration", "end_to_end_update at W = I, depth 2 is 2 G",
     lambda: acceleration.end_to_end_update(np.eye(2), G[:, :2], 2), close(2 * G[:, :2]))
edge("acceleration", "preconditioner of I, depth 3, is 3 I", lambda: acceleration.preconditioner(np.eye(2), 3),
     close(3 * np.eye(4)))
edge("acceleration", "preconditioner_eigenvalues of ones, depth 4, are 4",
     lambda: acceleration.preconditioner_eigenvalues(([1.0, 1.0], [1.0]), 4), close(4 * np.ones((2, 1))))
edge("acceleration", "end_to_end_descent overflowing at lr = 10 raises naming lr",
     lambda: acceleration.end_to_end_descent(2 * np.eye(2), lambda w: w - np.eye(2), 3, lr=10.0, steps=300),
     raises=(FloatingPointError, "lr"))
edge("acceleration", "end_to_end_descent with 0 steps returns the start",
     lambda: acceleration.end_to_end_descent(P, lambda w: w, 2, lr=0.1, steps=0), close(P[None]))
edge("acceleration", "end_to_end_descent converges to the target",
     lambda: acceleration.end_to_end_descent(np.eye(2), lambda w: w - 2 * np.eye(2), 2, lr=0.05, steps=400)[-1],
     close(2 * np.eye(2), rtol=1e-6))
edge("acceleration", "circulation of a gradient field is 0",
     lambda: acceleration.circulation(lambda w: 2 * w, [0.3, -0.2], 0.5), lambda c: abs(c) < 1e-12)
edge("acceleration", "circulation of the rotation field is 2 pi r^2",
     lambda: acceleration.circulation(lambda w: np.array([-w[1], w[0]]), [1.0, 2.0], 0.5), close(2 * np.pi * 0.25))
# activations
edge("activations", "get returns an Activation unchanged", lambda: activations.get(activations.ACTIVATIONS["relu"]),
     lambda a: a.name == "relu")
edge("activations", "relu gate probability is 1/2",
     lambda: activations.get("relu").gate_probability(0.0), close(0.5))
edge("activations", "hard_tanh gate probability at q = 0 is 1",
     lambda: activations.get("hard_tanh").gate_probability(0.0), close(1.0))
# checks
edge("checks", "check_close passes at the expectation", lambda: checks.check_close("probe", 1.0, 1.0, atol=0.0),
     lambda out: out is None)
edge("checks", "check_close fails on a non-finite measurement",
     lambda: checks.check_close("probe", NAN, 1.0, rtol=0.1), raises=(AssertionError, "probe"))
edge("checks", "check_below fails at the bound", lambda: checks.check_below("probe", 2.0, 2.0),
     raises=(AssertionError, "probe"))
edge("checks", "check_between includes its ends", lambda: checks.check_between("probe", 2.0, 1.0, 2.0),
     lambda out: out is None)
edge("checks", "check_true accepts a numpy bool", lambda: checks.check_true("probe", np.bool_(True), "d"),
     lambda out: out is None)
edge("checks", "summary with no checks run raises", lambda: checks.summary(), raises=(AssertionError, "no checks"))
edge("checks", "check_true fails on False", lambda: checks.check_true("probe", False, "d"),
     raises=(AssertionError, "probe"))
# convolution
HNEG = -np.abs(np.random.default_rng(2).standard_normal((2, 3, 4))) - 0.1
edge("convolution", "relu with all slopes 0 gives log_gain = -inf",
     lambda: convolution.signal_propagation(HNEG, 3, 2.0, activation="relu", kernel_size=1, seed=0).log_gain,
     lambda g: g[0] == 0 and np.all(np.isneginf(g[1:])))
edge("convolution", "relu with all slopes 0, 2-D, Gaussian kernels: log_gain = -inf",
     lambda: convolution.signal_propagation(-np.ones((2, 2, 3, 3)), 2, 1.0, kernel="gaussian", activation="relu",
                                            sigma_b2=0.1, seed=0).log_gain,
     lambda g: np.all(np.isneginf(g[1:])))
edge("convolution", "linear delta-orthogonal network preserves norms (log_gain 0)",
     lambda: convolution.signal_propagation(H0, 5, 1.0, activation="linear", seed=0),
     lambda p: np.allclose(p.log_gain, 0, atol=1e-12) and np.allclose(p.q, p.q[0], rtol=1e-12))
edge("convolution", "circular_conv with a delta kernel is the identity",
     lambda: convolution.circular_conv(X1, np.eye(3)[:, :, None] * np.array([0, 1, 0])), close(X1))
edge("convolution", "circular_conv with a shift kernel rolls by one",
     lambda: convolution.circular_conv(X1, np.eye(3)[:, :, None] * np.array([0, 0, 1])), close(np.roll(X1, -1, -1)))
edge("convolution", "kernel_symbol of a delta kernel is constant",
     lambda: convolution.kernel_symbol(np.eye(2)[:, :, None] * np.array([0, 1, 0]), 4),
     close(np.broadcast_to(np.eye(2), (4, 2, 2))))
edge("convolution", "mean_variance_profile at depth 1 with a delta profile keeps q",
     lambda: convolution.mean_variance_profile(np.ones((2, 5)), 1, [0.0, 1.0, 0.0], n_draws=400, seed=0)[0],
     close(np.ones(5)))
# deepnets
edge("deepnets", "MLP without hidden layer is affine", lambda: deepnets.MLP([np.eye(2)], [np.ones(2)],
                                                                           dtype=torch.float64)(torch.ones(1, 2, dtype=torch.float64)),
     lambda y: np.allclose(y.detach().numpy(), 2.0))
edge("deepnets", "MLP with runs gives (R, B, out)", lambda: _mlp(n_runs=2)(torch.ones(4, 5)),
     lambda y: tuple(y.shape) == (2, 4, 3))
edge("deepnets", "VanillaCNN on a 1x1 image", lambda: deepnets.VanillaCNN([np.ones((2, 1, 1, 1))], [np.zeros(2)],
                                                                       np.ones((3, 2)))(torch.zeros(1, 1, 1, 1)),
     lambda y: np.allclose(y.detach().numpy(), 0.0))
# init
edge("init", "orthogonal with gain 0 is zero", lambda: init.orthogonal([3, 3], gain=0.0, seed=0),
     lambda ws: np.all(ws[0] == 0))
edge("init", "gaussian with std 0 is zero", lambda: init.gaussian([2, 3], 0.0, seed=0), lambda ws: np.all(ws[0] == 0))
edge("init", "random_orthogonal takes a numpy seed and size", lambda: init.random_orthogonal(np.int64(3),
                                                                                            seed=np.int64(2)),
     lambda q: np.allclose(q.T @ q, np.eye(3)))
edge("init", "random_orthogonal(1) is +-1", lambda: init.random_orthogonal(1, seed=0), lambda q: abs(abs(q[0, 0]) - 1) < 1e-15)
edge("init", "balanced factors multiply to the product",
     lambda: networks.end_to_end(init.balanced(P, [3, 4, 4, 2], seed=0)), close(P))
edge("init", "balanced factors are balanced",
     lambda: networks.imbalance(init.balanced(P, [3, 4, 4, 2], seed=0)),
     lambda m: all(np.allclose(x, 0, atol=1e-12) for x in m))
edge("init", "decoupled start has mode strengths u0",
     lambda: networks.mode_strengths(networks.end_to_end(init.decoupled(TASK, [4, 5, 3], 0.01, seed=0)), TASK),
     close(0.01 * np.ones(3)))
edge("init", "cnn with sigma_b2 = 0 has zero biases", lambda: init.cnn(2, 2, 1.0, 0.0, seed=0)[1],
     lambda bs: all(np.all(b == 0) for b in bs))
edge("init", "conv_kernel with kernel_size 1", lambda: init.conv_kernel("gaussian", 2, 2, 1.0, kernel_size=1, seed=0),
     lambda k: k.shape == (2, 2, 1, 1))
edge("init", "block_orthogonal is orthogonal",
     lambda: convolution.kernel_symbol(init.block_orthogonal(3, 2, 3, ndim=1, seed=0), 7),
     lambda sym: np.allclose(np.conj(np.swapaxes(sym, -1, -2)) @ sym, np.eye(2)))
edge("init", "stack_runs of two runs", lambda: init.stack_runs([SQ, SQ]), lambda ws: ws[0].shape == (2, 3, 3))
edge("init", "greedy_pretraining gives depth matrices", lambda: init.greedy_pretraining(TASK, [4, 3, 3], 0.1, 5, seed=0)[0],
     lambda ws: [w.shape for w in ws] == [(3, 4), (3, 3)])
# landscape
edge("landscape", "fixed point of the top modes has zero gradient",
     lambda: landscape.loss_gradient_norm(landscape.fixed_point(TASK, [0, 1], [4, 3, 3], seed=0), TASK),
     lambda g: g < 1e-12)
edge("landscape", "fixed point with no active mode is the origin",
     lambda: landscape.fixed_point(TASK, [], [4, 3, 3], seed=0), lambda ws: all(np.all(w == 0) for w in ws))
edge("landscape", "Hessian is symmetric, side = #parameters",
     lambda: landscape.loss_hessian(W, TASK), lambda h: h.shape == (35, 35) and np.allclose(h, h.T))
edge("landscape", "worst_perturbation at a minimum is >= 0",
     lambda: landscape.worst_perturbation(lambda th: np.sum(th ** 2, axis=1), np.zeros(2), 0.1, 50, seed=0),
     lambda d: d >= 0)
edge("landscape", "convex_minimum finds the target",
     lambda: landscape.convex_minimum(lambda w: float(np.sum((w - 1) ** 2)), lambda w: 2 * (w - 1), (2, 2))[0],
     close(np.ones((2, 2)), rtol=1e-6))
edge("landscape", "minimize_factors reaches the convex minimum",
     lambda: landscape.minimize_factors(lambda w: float(np.sum((w - np.eye(3)) ** 2)), lambda w: 2 * (w - np.eye(3)),
                                        SQ)[1], lambda val: val < 1e-10)
# learning curves
edge("learning_curves", "deterministic_errors at t = 0 is 1/2 (sigma2 = 0)",
     lambda: learning_curves.deterministic_errors(0.0, 0.5, 2.0, 0.0, 0.1)["test"], close([0.5]))
edge("learning_curves", "deterministic_errors at t = 0 is 1/2 (sigma2 = 1)",
     lambda: learning_curves.deterministic_errors([0.0], 2.0, 1.0, 1.0, 0.1)["test"], close([0.5]))
edge("learning_curves", "deterministic_errors decreases early",
     lambda: learning_curves.deterministic_errors([1.0, 50.0], 0.5, 4.0, 0.1, 0.1)["test"], lambda e: e[1] < e[0] < 0.5)
edge("learning_curves", "gd_trajectory at step 0 is w0", lambda: learning_curves.gd_trajectory(XL, YL, WL, 0.1, [0]),
     close(WL[None]))
edge("learning_curves", "gd_trajectory matches iterated GD",
     lambda: learning_curves.gd_trajectory(XL, YL, WL, 0.1, [3], gamma=0.2)[0],
     close(_gd := (lambda w: [w := w - 0.1 * ((XL @ XL.T / 8 + 0.2 * np.eye(3)) @ w - XL @ YL / 8) for _ in range(3)][-1])(WL)))
edge("learning_curves", "error_rate of the mean direction is below 1/2",
     lambda: learning_curves.error_rate(np.array([1.0, 0.0, 0.0]), *learning_curves.gaussian_mixture(
         np.array([3.0, 0, 0]), 200, seed=1)), lambda e: e[0] < 0.05)
edge("learning_curves", "mean_scores is the mean signed score",
     lambda: learning_curves.mean_scores(WL, XL, YL), close([WL @ XL @ YL / 8]))
edge("learning_curves", "simulate at step 0 with sigma2 = 0: score 0",
     lambda: learning_curves.simulate([1.0, 0.0], 10, 0.0, 0.1, [0], n_draws=2, seed=0)["score"], close([0.0]))
# meanfield
edge("meanfield", "variance_map(0) = sigma_b2", lambda: meanfield.variance_map(0.0, 1.3, 0.2), close(0.2))
edge("meanfield", "tanh fixed point below g = 1 is 0", lambda: meanfield.fixed_point_variance(0.5), close(0.0))
edge("meanfield", "chi_1 at sigma_w2 = 1, no bias, is 1", lambda: meanfield.chi_1(1.0), close(1.0))
edge("meanfield", "critical line starts at 1", lambda: meanfield.critical_line(0.0), close(1.0))
edge("meanfield", "ordered phase has c* = 1", lambda: meanfield.fixed_point_correlation(0.5), close(1.0))
edge("meanfield", "relu slope moment is 1/2", lambda: meanfield.slope_moment(0.0, 3, "relu"), close(0.5))
edge("meanfield", "delta profile has unit eigenvalues", lambda: meanfield.cnn_mode_eigenvalues([0.0, 1.0, 0.0], 5),
     close(np.ones(5)))
edge("meanfield", "critical chi_c gives infinite depth scale (delta)",
     lambda: meanfield.cnn_mode_depth_scales([1.0], 4, 1.0), lambda x: np.all(np.isinf(x)))
edge("meanfield", "gaussian_average of a constant", lambda: meanfield.gaussian_average(lambda h: np.ones_like(h),
                                                                                        [0.0, 2.0]), close([1.0, 1.0]))
edge("meanfield", "fixed_point_gain inverts fixed_point_variance",
     lambda: meanfield.fixed_point_variance(meanfield.fixed_point_gain(0.7) ** 2), close(0.7, rtol=1e-8))
edge("meanfield", "correlation map keeps c = 1 at q*",
     lambda: meanfield.correlation_map(1.0, meanfield.fixed_point_variance(1.5, 0.1), 1.5, 0.1), close(1.0, 1e-6))
edge("meanfield", "depth_scales at the origin of the critical line",
     lambda: meanfield.depth_scales(1.0, 0.0), lambda d: d.q_star == 0 and abs(d.chi_1 - 1) < 1e-12)
# measure
edge("measure", "first_passage_time interpolates", lambda: measure.first_passage_time([0, 1, 2], [0, 1, 2], 1.5),
     close(1.5))
edge("measure", "first_passage_time never reached is inf",
     lambda: measure.first_passage_time([0, 1], [0, 0.5], 1.0), lambda x: np.isinf(x))
edge("measure", "first_passage_time at the start is t[0]",
     lambda: measure.first_passage_time([2, 3], [5, 6], 1.0), close(2.0))
edge("measure", "relative_delay", lambda: measure.relative_delay(3.0, 2.0), close(0.5))
# networks
edge("networks", "end_to_end of one matrix is itself", lambda: networks.end_to_end([P]), close(P))
edge("networks", "end_to_end works on torch tensors",
     lambda: networks.end_to_end([torch.eye(2), 2 * torch.eye(2)]), lambda t: torch.equal(t, 2 * torch.eye(2)))
edge("networks", "mode strengths of sigma31 are its singular values",
     lambda: networks.mode_strengths(TASK.sigma31, TASK), close([3.0, 2.0, 1.0]))
edge("networks", "mode_strengths takes a numpy integer", lambda: networks.mode_strengths(TASK.sigma31, TASK,
                                                                                        np.int64(2)),
     close([3.0, 2.0]))
edge("networks", "check_chain widths", lambda: networks.check_chain(W_RUNS, 4, 3), lambda w: w == [4, 5, 3])
edge("networks", "imbalance of one matrix is empty", lambda: networks.imbalance([P]), lambda m: m == [])
# parsimony
edge("parsimony", "invariant_bulk of an untrained layer has rank 0",
     lambda: parsimony.invariant_bulk(W0P[0], W0P[0], 1), lambda r: r["rank"] == 0 and r["spread"] < 1e-12)
edge("parsimony", "invariant_bulk sees a rank-1 change",
     lambda: parsimony.invariant_bulk(W0P[0] + np.outer(np.ones(6), np.arange(6.0)) / 10, W0P[0], 1),
     lambda r: r["rank"] == 1)
edge("parsimony", "class_separation of collapsed classes is 0",
     lambda: parsimony.class_separation(np.repeat(np.eye(2), 3, axis=1), np.repeat([0, 1], 3)), close(0.0))
edge("parsimony", "compression frames are orthonormal",
     lambda: parsimony.compression_frames(W0P, G0, 1)[1], lambda V: np.allclose(V.T @ V, np.eye(2)))
edge("parsimony", "compressed start reproduces the product",
     lambda: parsimony.compressed_start([0.1 * np.eye(6)] * 2, G0, 2), lambda ws: len(ws) == 4)
# plotting / reproducibility
edge("plotting", "use_style sets the house style", lambda: (plotting.use_style(), __import__("matplotlib").rcParams[
    "axes.spines.top"])[1], lambda top: top is False)
edge("plotting", "mode_colors gives n colours", lambda: plotting.mode_colors(np.int64(3)), lambda c: len(c) == 3)
edge("reproducibility", "seed_everything takes a numpy integer",
     lambda: reproducibility.seed_everything(np.int64(3)).random(),
     close(np.random.default_rng(3).random()))


def _seed_untouched():
    state = random.getstate()
    try:
        reproducibility.seed_everything(2 ** 40)
    except (ValueError, TypeError):
        return random.getstate() == state
    return False


edge("reproducibility", "seed_everything(2**40) fails before touching any generator", _seed_untouched,
     lambda ok: ok is True)
# spectra
edge("spectra", "Fuss-Catalan moments 1, 1, L + 1", lambda: spectra.fuss_catalan_moment([0, 1, 2], 3),
     close([1, 1, 4]))
edge("spectra", "Fuss-Catalan edge for L = 1 is 4", lambda: spectra.fuss_catalan_edge(1), close(4.0))
edge("spectra", "Fuss-Catalan density integrates to 1",
     lambda: spectra.fuss_catalan_density(2, 20000), lambda xd: abs(np.trapezoid(xd[1], xd[0]) - 1) < 2e-2)
edge("spectra", "fourth moment at L = 1 is 2 + 1/N", lambda: spectra.gaussian_product_moments(10, 1)[0],
     close(2.1))
edge("spectra", "eigenvalue fraction within 0 is 0 and within 2 is 1",
     lambda: spectra.product_eigenvalue_fraction_within([0.0, 2.0], 4), close([0.0, 1.0]))
edge("spectra", "summarize one value", lambda: spectra.summarize([2.0]),
     lambda d: d["median"] == 2.0 and d["in_band"] == 1.0)
edge("spectra", "summarize zeros", lambda: spectra.summarize([0.0, 0.0]), lambda d: d["in_band"] == 0.0)
edge("spectra", "normalized_variance of an isometry is 0", lambda: spectra.normalized_variance([1.0, 1.0]),
     close(0.0))
edge("spectra", "linear orthogonal network: m1 = 1, spread 0",
     lambda: spectra.jacobian_spectrum_moments(5, 1.0, activation="linear"), close([1.0, 0.0]))
edge("spectra", "orthogonal random_product is orthogonal",
     lambda: spectra.random_product(3, 4, "orthogonal", seed=0), lambda m: np.allclose(m.T @ m, np.eye(3)))
edge("spectra", "linear network_jacobian is the product",
     lambda: spectra.network_jacobian([P.T @ P, P], None, np.ones(3), "linear")[0], close(P @ P.T @ P))
edge("spectra", "jacobian_singular_values of a linear orthogonal network are 1",
     lambda: spectra.jacobian_singular_values(4, 3, 1.0, activation="linear", q_in=1.0, seed=0), close(np.ones(4)))
# tasks
edge("tasks", "svd_task with a zero singular value", lambda: tasks.svd_task([1.0, 0.0], 2, 2, seed=0).singular_values,
     close([1.0, 0.0]))
edge("tasks", "svd_task loss at sigma31 is 0", lambda: TASK.loss(TASK.sigma31), lambda x: abs(x) < 1e-12)
edge("tasks", "hierarchical_task with flip 0 has rank 1",
     lambda: tasks.hierarchical_task(2, 0.0, 6, seed=0).singular_values, lambda s: np.sum(s > 1e-9) == 1)
edge("tasks", "matrix_completion with fraction 1 observes everything",
     lambda: tasks.matrix_completion(3, 1, 1.0, seed=0).observed, lambda m: m.all())
edge("tasks", "matrix completion gradient is the masked residual",
     lambda: MC.gradient(np.zeros((4, 4))), close(-(MC.observed * MC.matrix) / MC.observed.sum()))
edge("tasks", "matrix completion loss at M is 0",
     lambda: MC.loss(torch.as_tensor(MC.matrix)), lambda x: float(x) == 0.0)
edge("tasks", "lp_regression_optimum with p = 2 is least squares",
     lambda: tasks.lp_regression_optimum(XR, YR, 2, 3)[0], close(np.linalg.lstsq(XR, YR, rcond=None)[0]))
edge("tasks", "read_idx round trip", lambda: tasks.read_idx(TMP / "ok.idx"), close(np.arange(6).reshape(2, 3)))
edge("tasks", "best rank-1 approximation", lambda: TASK.best_rank_approximation(1),
     close(3.0 * np.outer(TASK.svd[0][:, 0], TASK.svd[2][:, 0])))
edge("tasks", "whitened MNIST PCA with enough samples is white",
     lambda: tasks.mnist_task(n_components=5, whiten=True, n_samples=50, seed=0),
     lambda t: np.allclose(t.X @ t.X.T, np.eye(5), atol=1e-9))
edge("tasks", "whitened PCA-50 of 20 images: rank too low, must raise",
     lambda: tasks.mnist_task(n_components=50, whiten=True, n_samples=20, seed=0), raises=(ValueError, "n_components"))
edge("tasks", "Task.from_samples with one sample", lambda: tasks.Task.from_samples(np.ones((2, 1)), np.ones((1, 1))),
     lambda t: t.sigma33_trace == 1.0)
# valid input at the edges of the float range, where an intermediate over- or underflows but the answer does not
edge("theory", "mode_trajectory from u0 = 1e-310 (s/u0 overflows)", lambda: theory.mode_trajectory([0.0, 1.0], 1.0, 1e-310),
     close([1e-310, 1e-310 * np.e ** 2], rtol=1e-9, atol=0))
edge("theory", "mode_trajectory from u0 = 1 >> s = 1e-10 (no cancellation)",
     lambda: theory.mode_trajectory([0.0, 1e-3], 1e-10, 1.0), close([1.0, 1 / 1.002], rtol=1e-6))
edge("theory", "learning_time from u0 = 1e-310, depth 2", lambda: theory.learning_time(1.0, 1e-310, 0.5, 2),
     close(0.5 * (np.log(0.5) - np.log(1e-310) + np.log(1 - 1e-310) - np.log(0.5)), rtol=1e-12))
edge("theory", "deep_mode_trajectory at t = 1e300 is s", lambda: theory.deep_mode_trajectory([1.0, 1e300], 1.0, 0.1, 3),
     lambda u: u[1] == 1.0 and 0.1 < u[0] < 1.0)
edge("learning_curves", "deterministic_errors on a 2-D grid of times",
     lambda: learning_curves.deterministic_errors(np.array([[0.0, 0.0], [5.0, 5.0]]), 0.5, 2.0, 1.0, 0.1)["test"],
     lambda e: e.shape == (2, 2) and np.all(e[0] == 0.5) and e[1, 0] == e[1, 1] < 0.5)
edge("spectra", "Fuss-Catalan density at L = 1000 is finite and below the edge",
     lambda: spectra.fuss_catalan_density(1000, 500),
     lambda xd: np.all(np.isfinite(xd[0])) and np.all(np.isfinite(xd[1])) and xd[0].max() < spectra.fuss_catalan_edge(1000))
edge("spectra", "normalized_variance of [1e200, 1e200] is 0", lambda: spectra.normalized_variance([1e200, 1e200]),
     close(0.0))
edge("meanfield", "hard-tanh c* in the chaotic phase (quadrature near c = 1)",
     lambda: meanfield.fixed_point_correlation(3.0, 0.1, "hard_tanh"), lambda c: 0.0 < c < 0.9)
edge("meanfield", "ReLU at sigma_w2 = 2: chi_q = sigma_w2 p = 1, like chi_1",
     lambda: meanfield.depth_scales(2.0, 0.0, "relu"), lambda d: d.chi_q == d.chi_1 == 1.0)
edge("acceleration", "end_to_end_update at W = 1e200 I (W W^T overflows) is 2e200 G",
     lambda: acceleration.end_to_end_update(1e200 * np.eye(2), G[:, :2], 2) / 1e200, close(2 * G[:, :2]))
edge("acceleration", "end_to_end_update at W = 1e-200 I (W W^T underflows) is 2e-200 G",
     lambda: acceleration.end_to_end_update(1e-200 * np.eye(2), G[:, :2], 2) / 1e-200, close(2 * G[:, :2]))
edge("convolution", "linear signal at q ~ 1e307: correlation still 1",
     lambda: convolution.signal_propagation(np.ones((2, 2, 1)), 511, 4.0, activation="linear", kernel_size=1, seed=0,
                                            record_every=100).c, close(np.ones(7)))
edge("convolution", "a linear signal that overflows float64 raises naming sigma_w2",
     lambda: convolution.signal_propagation(np.ones((2, 2, 1)), 2000, 4.0, activation="linear", kernel_size=1, seed=0),
     raises=(FloatingPointError, "sigma_w2"))
# theory
edge("theory", "imbalanced mode at m = 1e100 matches the ODE (u = 1.301)",
     lambda: theory.imbalanced_mode_trajectory(1e-100, 2.0, 0.1, 1e100), close(2 - 1.9 / np.e, rtol=1e-9))
edge("theory", "imbalanced mode at m = 0 is Eq. 12",
     lambda: theory.imbalanced_mode_trajectory([0.0, 1.0, 3.0], 2.0, 0.1, 0.0),
     close(theory.mode_trajectory([0.0, 1.0, 3.0], 2.0, 0.1), rtol=1e-12))
edge("theory", "imbalanced mode at m = 3 matches the ODE",
     lambda: theory.imbalanced_mode_trajectory(0.5, 2.0, 0.1, 3.0), close(_ode_lambda(0.5, 2.0, 0.1, 3.0), 1e-9))
edge("theory", "imbalanced mode at m = 1e-8, u0 = 1e-12 matches the ODE",
     lambda: theory.imbalanced_mode_trajectory(5.0, 1.0, 1e-12, 1e-8),
     close(_ode_lambda(5.0, 1.0, 1e-12, 1e-8), 1e-7))
edge("theory", "imbalanced mode at m = 1e8 matches the ODE",
     lambda: theory.imbalanced_mode_trajectory(1e-8, 2.0, 0.1, 1e8), close(2 - 1.9 / np.e, rtol=1e-7))
edge("theory", "imbalanced mode from u0 > s decays to s",
     lambda: theory.imbalanced_mode_trajectory(0.3, 1.0, 3.0, 0.5), close(_ode_lambda(0.3, 1.0, 3.0, 0.5), 1e-9))
edge("theory", "imbalanced mode at large t is s", lambda: theory.imbalanced_mode_trajectory(1e6, 2.0, 0.1, 3.0),
     close(2.0))
edge("theory", "mode_trajectory at t = 0 is u0", lambda: theory.mode_trajectory(0.0, 2.0, 0.1), close(0.1))
edge("theory", "mode_trajectory from u0 > s decays", lambda: theory.mode_trajectory(100.0, 1.0, 3.0), close(1.0))
edge("theory", "deep trajectory at t = 0 is u0", lambda: theory.deep_mode_trajectory(0.0, 1.0, 0.1, 5), close(0.1))
edge("theory", "deep trajectory inverts learning_time",
     lambda: theory.deep_mode_trajectory(theory.learning_time(1.0, 0.1, 0.6, 4), 1.0, 0.1, 4), close(0.6, 1e-9))
edge("theory", "learning_time depth 1", lambda: theory.learning_time(2.0, 0.5, 1.0, 1), close(np.log(1.5 / 1.0)))
edge("theory", "hessian top eigenvalue at depth 1 is 1/tau", lambda: theory.hessian_top_eigenvalue(3.0, 1, 2.0),
     close(0.5))
edge("theory", "learning time at the optimal rate tends to the limit",
     lambda: theory.learning_time_at_optimal_rate(1.0, 0.01, 0.5, 4000) / theory.learning_time_at_optimal_rate(
         1.0, 0.01, 0.5, np.inf), close(1.0, rtol=2e-2))
edge("theory", "mode_vector_field vanishes on ab = s", lambda: theory.mode_vector_field(2.0, 1.0, 2.0),
     close([0.0, 0.0]))
# train
edge("train", "gradient_descent with 0 steps records the initial loss",
     lambda: train.gradient_descent(W, TASK, 0.05, 0).loss, close([TASK.loss(networks.end_to_end(W))]))
edge("train", "gradient_descent takes numpy integers", lambda: train.gradient_descent(W, TASK, 0.05, np.int64(2),
                                                                                     n_modes=np.int32(2)).modes.shape,
     lambda s: s == (3, 2))
edge("train", "gradient_descent divergence raises naming lr",
     lambda: train.gradient_descent(W, TASK, 5.0, 200), raises=(FloatingPointError, "lr"))
edge("train", "gradient_flow at t = 0 only is the start", lambda: train.gradient_flow(W, TASK, [0.0]).loss,
     close([TASK.loss(networks.end_to_end(W))]))
edge("train", "gradient_flow matches small-step descent",
     lambda: train.gradient_flow(W, TASK, [0.0, 2.0]).loss[-1],
     close(train.gradient_descent(W, TASK, 1e-3, 2000, record_every=2000).loss[-1], rtol=1e-2))
edge("train", "balanced_chain_descent, one step", lambda: train.balanced_chain_descent([2.0], 0.125, 3, 0.1, 1).modes[-1],
     close([(0.5 + 0.1 * (2 - 0.125) * 0.25) ** 3]))
edge("train", "balanced_chain_descent marks divergence",
     lambda: train.balanced_chain_descent([2.0], 0.1, 2, [0.01, 100.0], 50).diverged_at, lambda d: d[0] == -1 and d[1] > 0)
edge("train", "settling_rate_scan: every mode settled at a stable rate, the diverging one dropped by the pilot",
     lambda: train.settling_rate_scan(W, TASK, [0.01, 0.1, 10.0], 400, pilot_steps=20),
     lambda r: r.diverged[-1] and np.isfinite(r.best_time))
edge("train", "learning_rate_scan picks a stable rate",
     lambda: train.learning_rate_scan(W, TASK, [0.01, 0.1, 10.0], 200, 2.0),
     lambda r: r.diverged[-1] and np.isfinite(r.best_time))
edge("train", "minibatch_sgd records losses", lambda: train.minibatch_sgd(_mlp(), DATA, 0.1, 2, 4, 1, seed=0).loss,
     lambda l: l.shape == (3,) and np.all(np.isfinite(l)))
edge("train", "product_gradient_descent depth 1 is plain GD",
     lambda: train.product_gradient_descent([np.zeros((2, 2))], _quadratic_product_loss(np.eye(2)), 0.5, 1).weights[0],
     close(0.5 * np.eye(2)))
edge("train", "product_gradient_descent with frozen factors keeps them",
     lambda: train.product_gradient_descent(SQ, _quadratic_product_loss(np.eye(3)), 0.1, 3, factor_lr=[0.0, 1.0]).weights[0],
     close(SQ[0]))
edge("train", "RateScan.from_result", lambda: train.RateScan.from_result(RESULT_SCAN, 1e3), lambda r: r.best_time == 0)
edge("train", "steps_to_loss interpolates", lambda: CR.steps_to_loss(1.5), close(0.5))
# valid edge cases of the functions added since the first audit
edge("theory", "balanced_chain_hessian at u = 0, depth 3 is 0 (the saddle is flat to second order)",
     lambda: theory.balanced_chain_hessian(2.0, 0.0, 3), close([0.0, 0.0]))
edge("theory", "imbalanced_learning_time at m = 0 is learning_time at depth 2",
     lambda: theory.imbalanced_learning_time(2.0, 0.1, 1.0, 0.0), close(theory.learning_time(2.0, 0.1, 1.0, 2)))
edge("tasks", "tree_split_vectors is an orthonormal basis",
     lambda: tasks.tree_split_vectors(3)[0], lambda B: np.allclose(B.T @ B, np.eye(8)))
edge("spectra", "Fuss-Catalan fraction below a huge sigma is 1", lambda: spectra.fuss_catalan_fraction_below(1e6, 3),
     close(1.0))
edge("learning_curves", "mixture_error of w = 0 is a coin flip", lambda: learning_curves.mixture_error(np.zeros(3),
                                                                                                      [1.0, 0.0, 0.0]),
     close([0.5]))
edge("learning_curves", "mixture_error of w = mean is Q(|mean|)",
     lambda: learning_curves.mixture_error([2.0, 0.0, 0.0], [1.0, 0.0, 0.0]), close([0.15865525393145707], 1e-9))
edge("measure", "representational_similarity has a unit diagonal",
     lambda: np.diag(measure.representational_similarity(RNG.standard_normal((5, 4)))), close(np.ones(4)))
edge("init", "principal_component_consistency of exact principal components is (0, 0)",
     lambda: init.principal_component_consistency(np.diag([3.0, 2.0, 1.0, 0.5]), np.eye(4)[:, :2]), close([0.0, 0.0]))
edge("landscape", "factor_gradient is the chain rule", lambda: landscape.factor_gradient(lambda w: w, [np.eye(2),
                                                                                                    2 * np.eye(2)]),
     lambda g: np.allclose(g[0], 4 * np.eye(2)) and np.allclose(g[1], 2 * np.eye(2)))
edge("landscape", "fixed_point_min_eigenvalue with no active mode fills the free unit with the strongest",
     lambda: landscape.fixed_point_min_eigenvalue([3.0, 2.0, 1.0], [], 3), close(-3.0))


# ---------------------------------------------------------------------------------------------------------------
def generated_cases(seed: int, take_all: bool, target: int) -> list[Case]:
    """One bad value per (function, argument, value); a seeded, stratified subset of about ``target`` calls."""
    per_function = []
    for module, name, fn, base, kinds in FUNCTIONS:
        cases = [Case(module, f"{name}({arg}={label})", _signature_call(fn, base, arg, value), arg=arg, value=value)
                 for arg, kind in kinds.items() for label, value in bad_values(kind)]
        per_function.append(cases)
    if take_all:
        return [c for cases in per_function for c in cases]
    rng = random.Random(seed)
    total = sum(len(c) for c in per_function)
    picked = []
    for cases in per_function:
        k = min(len(cases), max(2, round(len(cases) * target / total)))
        picked += rng.sample(cases, k)
    return picked


class _Timeout(Exception):
    pass


def _alarm(*_):
    raise _Timeout()


def classify(case: Case, seconds: int = 120) -> tuple[str, str]:
    """Run one case; return (outcome, detail)."""
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(seconds)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            out = case.call()
    except _Timeout:
        return "crash", f"no answer within {seconds} s"
    except Exception as exc:     # noqa: BLE001 - classifying every outcome is the point
        signal.alarm(0)
        text = f"{type(exc).__name__}: {exc}"
        if case.arg is not None:      # a file that cannot be read may raise OSError, naming the file
            clear_type = isinstance(exc, (ValueError, TypeError) + ((OSError,) if case.arg == "path" else ()))
            named = case.arg in str(exc) or (case.arg == "path" and case.value is not None and str(case.value)
                                             in str(exc))
            return ("good", text) if clear_type and named else ("unclear error", text)
        if case.raises is not None:
            kind, fragment = case.raises
            if isinstance(exc, kind) and fragment in str(exc):
                return "good", text
            return "crash", f"expected {kind.__name__} naming {fragment!r}, got {text}"
        return "crash", text
    finally:
        signal.alarm(0)
        del checks.RESULTS[:]
    if case.arg is not None:
        return "silent wrong", f"returned {_short(out)}"
    if case.raises is not None:
        return "silent wrong", f"expected {case.raises[0].__name__}, returned {_short(out)}"
    try:
        ok = bool(case.check(out))
    except Exception as exc:    # noqa: BLE001
        ok, out = False, f"(check failed: {type(exc).__name__}: {exc}) {_short(out)}"
    return ("good", "") if ok else ("silent wrong", f"returned {_short(out)}")


def _short(x, n=100):
    text = repr(x).replace("\n", " ")
    return text if len(text) <= n else text[:n] + "..."


RESULT_TYPES = {"Activation", "CheckResult", "Propagation", "DepthScales", "TrainResult"}   # plain records


def coverage() -> list[str]:
    """Public functions and classes (module ``__all__`` entries) with no probe case, other than plain records."""
    probed = {fn for _, _, fn, _, _ in FUNCTIONS}
    probed_names = {name.split(".")[0] for _, name, _, _, _ in FUNCTIONS}
    missing = []
    for module in MODULES:
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if not callable(obj) or name in RESULT_TYPES or (inspect.isclass(obj) and issubclass(obj, BaseException)):
                continue
            if obj not in probed and name not in probed_names and not any(name in c.label for c in EDGE) and not any(
                    getattr(f, "__qualname__", "").startswith(name + ".") for _, _, f, _, _ in FUNCTIONS):
                missing.append(f"{module.__name__.split('.')[-1]}.{name}")
    return missing


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=2024, help="which bad values are drawn (a fresh probe per seed)")
    parser.add_argument("--all", action="store_true", help="run every generated call, not a ~700-call subset")
    parser.add_argument("--target", type=int, default=600, help="number of generated bad-input calls")
    parser.add_argument("--module", help="only this module")
    parser.add_argument("--verbose", action="store_true", help="list every call that did not behave well")
    args = parser.parse_args(argv)
    import matplotlib
    matplotlib.use("Agg")
    cases = generated_cases(args.seed, args.all, args.target) + EDGE
    if args.module:
        cases = [c for c in cases if c.module == args.module]
    table: dict[str, Counter] = defaultdict(Counter)
    problems = []
    for case in cases:
        outcome, detail = classify(case)
        table[case.module][outcome] += 1
        table[case.module]["calls"] += 1
        if outcome != "good":
            problems.append((case.module, outcome, case.label, detail))
    import matplotlib.pyplot as plt
    plt.close("all")
    columns = ["calls", "good", "silent wrong", "crash", "unclear error"]
    print(f"{'module':<17}" + "".join(f"{c:>14}" for c in columns))
    total = Counter()
    for module in sorted(table):
        total.update(table[module])
        print(f"{module:<17}" + "".join(f"{table[module][c]:>14}" for c in columns))
    print(f"{'total':<17}" + "".join(f"{total[c]:>14}" for c in columns))
    missing = coverage()
    if missing:
        print("\nno probe for:", ", ".join(missing))
    if args.verbose and problems:
        print()
        for module, outcome, label, detail in sorted(problems):
            print(f"[{outcome}] {module}: {label}\n    {detail[:300]}")
    return 0 if not problems else 1


if __name__ == "__main__":
    raise SystemExit(main())
