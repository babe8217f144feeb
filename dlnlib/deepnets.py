r"""Deep nonlinear networks in torch, initialised from :mod:`dlnlib.init` weights: fully-connected and convolutional.

:class:`MLP` is the fully-connected tanh (or ReLU) network of Saxe et al. (2014, Eq. 20) and Pennington et al.
(2017), with a bias per layer and a linear read-out, **batched over independent runs**: every parameter carries a
leading run axis, so one forward pass trains a whole grid of initialisations × seeds × learning rates at once.

:class:`VanillaCNN` is the plain convolutional network of Xiao et al. (2018): a stack of 3 × 3 convolutions with
circular padding and tanh, no batch normalisation and no skip connections, then global average pooling and a linear
read-out.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from . import _validation as v
from .activations import get as get_activation

__all__ = ["MLP", "VanillaCNN", "layer_gradient_norms"]


def _dtype_device(dtype, device):
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a torch floating-point dtype such as torch.float32, got {dtype!r}")
    return dtype, v.device(device)


def _tensor(x, name: str, dtype, device) -> torch.Tensor:
    """A copy (never a view: training updates parameters in place and must not touch the caller's arrays)."""
    return torch.tensor(v.as_float_array(x, name), dtype=dtype, device=device)


class MLP(torch.nn.Module):
    r"""Fully-connected network :math:`h^1 = W_1x + b_1`, :math:`h^l = W_l\,\phi(h^{l-1}) + b_l`, output :math:`h^D`.

    Parameters
    ----------
    weights : list of array_like
        ``D`` matrices ``(n_out, n_in)``, or ``(R, n_out, n_in)`` for ``R`` independent runs (as returned by
        :func:`dlnlib.init.orthogonal` and :func:`dlnlib.init.scaled_gaussian` with ``n_runs``).
    biases : list of array_like or None
        ``D`` vectors ``(n_out,)`` or ``(R, n_out)``; ``None``: zeros.
    activation : str
        Nonlinearity :math:`\phi` of the hidden layers (:data:`dlnlib.activations.ACTIVATIONS`).
    dtype, device
        Torch dtype (default float32) and device of the parameters.

    Notes
    -----
    ``forward(x)`` takes inputs ``(B, n_in)``, shared by every run, and returns ``(R, B, n_out)`` (or ``(B, n_out)``
    without a run axis).
    """

    def __init__(self, weights, biases=None, activation: str = "tanh", dtype=torch.float32, device="cpu"):
        super().__init__()
        dtype, device = _dtype_device(dtype, device)
        self.phi = get_activation(activation).torch_phi
        ws = [_tensor(w, f"weights[{l}]", dtype, device) for l, w in enumerate(v.sequence(weights, "weights", "matrices"))]
        batched = ws[0].ndim == 3
        for l, w in enumerate(ws):
            if w.ndim != ws[0].ndim or w.ndim not in (2, 3) or (batched and w.shape[0] != ws[0].shape[0]):
                raise ValueError(f"weights[{l}] has shape {tuple(w.shape)}; expected all (n_out, n_in) or all "
                                 "(R, n_out, n_in) with the same R")
            if l and w.shape[-1] != ws[l - 1].shape[-2]:
                raise ValueError(f"weights[{l}] takes {w.shape[-1]} inputs but weights[{l - 1}] gives "
                                 f"{ws[l - 1].shape[-2]} outputs")
        if biases is None:
            bs = [torch.zeros(w.shape[:-1], dtype=dtype, device=device) for w in ws]
        else:
            biases = v.sequence(biases, "biases", "vectors")
            if len(biases) != len(ws):
                raise ValueError(f"biases must hold {len(ws)} vectors, got {len(biases)}")
            bs = [_tensor(b, f"biases[{l}]", dtype, device) for l, b in enumerate(biases)]
            for l, (b, w) in enumerate(zip(bs, ws)):
                if tuple(b.shape) != tuple(w.shape[:-1]):
                    raise ValueError(f"biases[{l}] must have shape {tuple(w.shape[:-1])}, got {tuple(b.shape)}")
        self.weights = torch.nn.ParameterList(ws)
        self.biases = torch.nn.ParameterList(bs)
        self.n_runs = ws[0].shape[0] if batched else None

    def preactivations(self, x: torch.Tensor) -> list[torch.Tensor]:
        r"""Pre-activations :math:`h^1, \dots, h^D` of every layer, each ``([R,] B, n_l)``; the last is the output."""
        h, out = x, []
        for l, (w, b) in enumerate(zip(self.weights, self.biases)):
            if l:
                h = self.phi(h)
            if self.n_runs is None:
                h = h @ w.T + b
            else:
                h = (h @ w.mT if h.ndim == 3 else torch.einsum("bi,roi->rbo", h, w)) + b[:, None, :]
            out.append(h)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.preactivations(x)[-1]


class VanillaCNN(torch.nn.Module):
    r"""Plain deep CNN: circular convolutions with :math:`\phi` and a linear read-out (Xiao et al. 2018), batched over
    independent runs.

    Layer :math:`l` computes :math:`x^l = \phi(K_l * x^{l-1} + b_l)` with circular padding; the first kernel maps the
    image channels to :math:`c`, the others :math:`c \to c`. No batch normalisation and no skip connections. Runs
    are stacked as convolution groups, so ``R`` networks cost little more than one.

    Parameters
    ----------
    kernels : list of array_like
        ``(c_out, c_in, k, k)`` kernels in torch's layout (e.g. :func:`dlnlib.init.delta_orthogonal`), or
        ``(R, c_out, c_in, k, k)`` for ``R`` runs; odd :math:`k`.
    biases : list of array_like
        ``(c_out,)`` or ``(R, c_out)`` per layer.
    readout : array_like
        ``([R,] n_classes, c)``: global average pooling, then this matrix; or ``([R,] n_classes, c, s, s)``: a
        dense read-out of every position of the last layer. Its bias starts at zero.
    activation : str
    dtype, device

    Notes
    -----
    ``forward(x)`` takes images ``(B, c_image, s, s)`` shared by every run and returns ``(R, B, n_classes)`` (or
    ``(B, n_classes)`` without a run axis).
    """

    def __init__(self, kernels, biases, readout, activation: str = "tanh", dtype=torch.float32, device="cpu"):
        super().__init__()
        dtype, device = _dtype_device(dtype, device)
        self.phi = get_activation(activation).torch_phi
        kernels, biases = v.sequence(kernels, "kernels", "kernels"), v.sequence(biases, "biases", "vectors")
        if len(biases) != len(kernels):
            raise ValueError(f"biases must hold one vector per kernel ({len(kernels)}), got {len(biases)}")
        ks = [_tensor(k, f"kernels[{l}]", dtype, device) for l, k in enumerate(kernels)]
        batched = ks[0].ndim == 5
        runs = ks[0].shape[0] if batched else 1
        for l, k in enumerate(ks):
            if k.ndim != 4 + batched or k.shape[-1] != k.shape[-2] or k.shape[-1] % 2 == 0 or (batched and k.shape[0] != runs):
                raise ValueError(f"kernels[{l}] must be ([R,] c_out, c_in, k, k) with odd k and the same R as "
                                 f"kernels[0], got {tuple(k.shape)}")
            if l and k.shape[-3] != ks[l - 1].shape[-4]:
                raise ValueError(f"kernels[{l}] takes {k.shape[-3]} channels but kernels[{l - 1}] gives {ks[l - 1].shape[-4]}")
        bs = [_tensor(b, f"biases[{l}]", dtype, device) for l, b in enumerate(biases)]
        for l, (b, k) in enumerate(zip(bs, ks)):
            if tuple(b.shape) != tuple(k.shape[:-3]):
                raise ValueError(f"biases[{l}] must have shape {tuple(k.shape[:-3])}, got {tuple(b.shape)}")
        readout = _tensor(readout, "readout", dtype, device)
        if readout.ndim - batched not in (2, 4) or readout.shape[1 + batched] != ks[-1].shape[-4] or (
                batched and readout.shape[0] != runs):
            raise ValueError(f"readout must be ([R,] n_classes, {ks[-1].shape[-4]}[, s, s]), got {tuple(readout.shape)}")
        self.kernels = torch.nn.ParameterList(ks)
        self.biases = torch.nn.ParameterList(bs)
        self.readout = torch.nn.Parameter(readout)
        self.readout_bias = torch.nn.Parameter(torch.zeros(readout.shape[:1 + batched], dtype=dtype, device=device))
        self.pool = readout.ndim - batched == 2
        self.n_runs = runs if batched else None

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Activations of the last convolutional layer, ``(B, R, c, s, s)`` (``R = 1`` without a run axis)."""
        runs = self.n_runs or 1
        x = x.repeat(1, runs, 1, 1)
        for k, b in zip(self.kernels, self.biases):
            p = k.shape[-1] // 2
            x = self.phi(F.conv2d(F.pad(x, (p, p, p, p), mode="circular"), k.reshape((-1,) + k.shape[-3:]),
                                  b.reshape(-1), groups=runs))
        return x.view(x.shape[0], runs, -1, *x.shape[2:])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.features(x)
        f = f.mean(dim=(3, 4)) if self.pool else f.flatten(2)
        if self.n_runs is None:
            return f[:, 0] @ self.readout.flatten(1).T + self.readout_bias
        return torch.einsum("brf,rof->rbo", f, self.readout.flatten(2)) + self.readout_bias[:, None, :]


def layer_gradient_norms(model: torch.nn.Module, X, y, per_sample: bool = False) -> np.ndarray:
    r"""Norm of the gradient of the cross-entropy with respect to each layer's weights, per run.

    For one sample the gradient of layer :math:`l` is the outer product :math:`\delta_l\,x_{l-1}^T` of the
    back-propagated error :math:`\delta_l = \partial L/\partial h^l` and the layer's input, so its Frobenius norm is
    :math:`\lVert\delta_l\rVert\,\lVert x_{l-1}\rVert`. Back-propagation multiplies :math:`\lVert\delta\rVert^2` by
    :math:`\chi_1 = \sigma_w^2\int\mathcal Dz\,\phi'(\sqrt{q^*}z)^2` per layer on average (Poole et al. 2016;
    Schoenholz et al. 2017), so in a network at its fixed point the mean squared per-sample gradient grows towards the
    input as :math:`\chi_1^{D - l}` (:func:`dlnlib.meanfield.chi_1`). The model is not changed.

    Parameters
    ----------
    model : MLP or VanillaCNN
        Its ``weights`` (or ``kernels``) are the layers; biases and the CNN's read-out are left out.
    X : array_like or torch.Tensor
        Inputs, as the model takes them.
    y : array_like of int
        Labels ``(B,)``.
    per_sample : bool
        ``False``: :math:`\lVert\partial L/\partial W_l\rVert_F` for the loss averaged over the samples (the minibatch
        gradient). ``True`` (:class:`MLP` only): the root mean square over the samples of the per-sample norms
        :math:`\lVert\delta_l\rVert\,\lVert x_{l-1}\rVert`, the quantity of the mean-field theory.

    Returns
    -------
    numpy.ndarray
        ``(R, D)`` for a model batched over ``R`` runs, else ``(D,)``.
    """
    if not isinstance(model, (MLP, VanillaCNN)):
        raise TypeError(f"model must be a dlnlib.deepnets.MLP or VanillaCNN, got {type(model).__name__}")
    per_sample = v.flag(per_sample, "per_sample")
    layers = list(model.weights if hasattr(model, "weights") else model.kernels)
    if per_sample and not isinstance(model, MLP):
        raise TypeError(f"per_sample=True needs an MLP, got {type(model).__name__}")
    param = layers[0]
    X = torch.as_tensor(X if torch.is_tensor(X) else v.as_float_array(X, "X"), dtype=param.dtype, device=param.device)
    if X.ndim < 2 or X.shape[0] == 0:
        raise ValueError(f"X must hold at least one sample, shape (P >= 1, ...), got {tuple(X.shape)}")
    if isinstance(model, MLP) and X.shape[-1] != param.shape[-1]:
        raise ValueError(f"X must have {param.shape[-1]} features per sample (the MLP's inputs), got {X.shape[-1]}")
    y = torch.as_tensor(v.integer_array(y, "y", minimum=0), dtype=torch.long, device=param.device)
    if y.ndim != 1 or y.numel() != X.shape[0]:
        raise ValueError(f"y must hold one label per sample of X ({X.shape[0]}), got shape {tuple(y.shape)}")
    hs = model.preactivations(X) if per_sample else [model(X)]
    logits = hs[-1]
    # the sum over runs (and, per sample, over samples) of the losses: each run's gradient is its own
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.expand(logits.shape[:-1]).reshape(-1),
                           reduction="sum") / (1 if per_sample else y.numel())
    if per_sample:
        deltas = torch.autograd.grad(loss, hs)
        inputs = [X.expand(logits.shape[:-1] + X.shape[-1:])] + [model.phi(h) for h in hs[:-1]]
        norms = torch.stack([(d.norm(dim=-1) * x.norm(dim=-1)).pow(2).mean(-1).sqrt()
                             for d, x in zip(deltas, inputs)], dim=-1)
    else:
        grads = torch.autograd.grad(loss, layers)
        norms = torch.stack([g.flatten(1 if model.n_runs is not None else 0).norm(dim=-1) for g in grads], dim=-1)
    return norms.detach().cpu().numpy()
