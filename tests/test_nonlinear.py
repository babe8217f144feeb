"""Part III mechanics: activations, mean-field theory, Jacobian spectra, convolution kernels, nonlinear training."""
import numpy as np
import pytest
import torch
from scipy import integrate

from dlnlib import activations, convolution, deepnets, init, meanfield as mf, spectra, tasks, train


# --- activations ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["tanh", "linear"])
def test_activation_derivatives_match_finite_differences(name):
    act = activations.get(name)
    h, eps = np.linspace(-3, 3, 13), 1e-6
    np.testing.assert_allclose(act.dphi(h), (act.phi(h + eps) - act.phi(h - eps)) / (2 * eps), atol=1e-8)
    np.testing.assert_allclose(act.d2phi(h), (act.dphi(h + eps) - act.dphi(h - eps)) / (2 * eps), atol=1e-6)
    np.testing.assert_allclose(act.torch_phi(torch.tensor(h)).numpy(), act.phi(h), atol=1e-15)


def test_zero_one_derivatives_and_unknown_names():
    h = np.array([-2.0, -0.5, 0.5, 2.0])
    assert activations.get("relu").dphi(h).tolist() == [0, 0, 1, 1]
    assert activations.get("hard_tanh").dphi(h).tolist() == [0, 1, 1, 0]
    with pytest.raises(ValueError, match="activation must be one of"):
        activations.get("swish")


# --- mean-field theory ---------------------------------------------------------------------------------------------

def test_tanh_fixed_point_reproduces_saxe_fig8_and_edge_of_chaos():
    expected = {1.05: 0.0533, 1.1: 0.1127, 1.2: 0.2495, 1.5: 0.7934, 2: 2.121, 3: 6.305}
    for g, q in expected.items():
        assert mf.fixed_point_variance(g * g) == pytest.approx(q, rel=1e-3)   # table: 3-4 significant figures
        assert mf.fixed_point_gain(mf.fixed_point_variance(g * g)) == pytest.approx(g, rel=1e-10)
    for g in (5.0, 10.0):   # large gains, where Gauss-Hermite tables are off by up to 2 %: adaptive quadrature
        q = mf.fixed_point_variance(g * g)
        mapped = g * g * integrate.quad(lambda z: np.tanh(np.sqrt(q) * z) ** 2 * np.exp(-z * z / 2), -np.inf, np.inf,
                                        epsabs=1e-13, limit=200)[0] / np.sqrt(2 * np.pi)
        assert mapped == pytest.approx(q, rel=1e-10)
    assert mf.fixed_point_variance(0.81) == 0.0 and mf.fixed_point_variance(1.0) == 0.0


def test_variance_map_closed_forms_for_linear_and_relu():
    q = np.array([0.3, 1.0, 4.0])
    np.testing.assert_allclose(mf.variance_map(q, 1.5, 0.2, "linear"), 1.5 * q + 0.2, rtol=1e-12)
    np.testing.assert_allclose(mf.variance_map(q, 1.5, 0.2, "relu"), 0.75 * q + 0.2, rtol=1e-12)
    assert mf.fixed_point_variance(1.5, 0.2, "relu") == pytest.approx(0.2 / (1 - 0.75), rel=1e-10)
    with pytest.raises(ValueError, match="grows without bound"):
        mf.fixed_point_variance(3.0, 0.1, "relu")
    with pytest.raises(ValueError, match="sigma_b2 must be >= 0"):
        mf.variance_map(1.0, 1.0, -0.1)


def test_tanh_critical_line_matches_table():
    sb2 = [1e-5, 1e-4, 1e-3, 1e-2, 2e-2, 5e-2, 1e-1, 2e-1]
    sw2 = [1.039521, 1.086026, 1.189190, 1.424205, 1.544193, 1.760955, 1.986073, 2.285152]
    line = mf.critical_line(sb2)
    np.testing.assert_allclose(line, sw2, rtol=1e-5)
    assert np.all(np.diff(line) > 0) and mf.critical_line(0.0) == 1.0
    for point in line:   # on the line itself chi_1 is 1 up to round-off, on either side: c* = 1, xi_c enormous
        d = mf.depth_scales(float(point), sb2[list(line).index(point)])
        assert d.c_star == pytest.approx(1.0, abs=1e-5) and d.xi_c > 1e4
    for a, b in zip(sb2, line):
        assert mf.chi_1(b, a) == pytest.approx(1.0, abs=1e-10)


def test_correlation_map_slope_at_one_is_chi_1_and_depth_scales_table():
    sw2, sb2 = 1.2, 0.05
    q = mf.fixed_point_variance(sw2, sb2)
    assert mf.correlation_map(1.0, q, sw2, sb2) == pytest.approx(1.0, abs=1e-12)
    eps = 1e-4
    slope = (1.0 - mf.correlation_map(1.0 - eps, q, sw2, sb2)) / eps
    assert slope == pytest.approx(mf.chi_1(sw2, sb2), rel=2e-3)
    table = {(0.9, 0.05): (0.1633, 1.0, 0.7063, 2.88, 1.65), (1.5, 0.05): (0.4180, 1.0, 0.9386, 15.79, 1.68),
             (2.0, 0.05): (0.7218, 0.7441, 1.0477, 25.21, 1.39)}
    for (a, b), (q_star, c_star, chi, xi_c, xi_q) in table.items():
        d = mf.depth_scales(a, b)
        assert (d.q_star, d.c_star, d.chi_1) == pytest.approx((q_star, c_star, chi), abs=2e-4)
        assert (d.xi_c, d.xi_q) == pytest.approx((xi_c, xi_q), abs=6e-3)
    assert mf.correlation_map(0.3, q, sw2, sb2) > 0.3       # ordered phase: correlations grow


def test_cnn_mode_eigenvalues_uniform_and_delta():
    n = 16
    lam = mf.cnn_mode_eigenvalues(np.ones(3) / 3, n)
    np.testing.assert_allclose(lam, (1 + 2 * np.cos(2 * np.pi * np.arange(n) / n)) / 3, atol=1e-14)
    np.testing.assert_allclose(mf.cnn_mode_eigenvalues([0, 1, 0], n), 1.0)
    xi = mf.cnn_mode_depth_scales(np.ones(3) / 3, n, 0.9)
    assert xi[0] == pytest.approx(-1 / np.log(0.9)) and np.all(xi[1:] < xi[0])
    assert np.all(np.isinf(mf.cnn_mode_depth_scales([0, 1, 0], n, 1.0)))
    with pytest.raises(ValueError, match="sum to 1"):
        mf.cnn_mode_eigenvalues([0.5, 0.2, 0.5], n)


# --- Jacobian spectra ----------------------------------------------------------------------------------------------

def test_network_jacobian_matches_autograd():
    rng = np.random.default_rng(0)
    ws = init.orthogonal([6, 5, 5, 4], gain=1.3, seed=1)
    bs = [0.1 * rng.standard_normal(w.shape[0]) for w in ws]
    h0 = rng.standard_normal(6)
    jac, q = spectra.network_jacobian(ws, bs, h0)

    def forward(h):
        for w, b in zip(ws, bs):
            h = torch.tensor(w) @ torch.tanh(h) + torch.tensor(b)
        return h

    np.testing.assert_allclose(jac, torch.autograd.functional.jacobian(forward, torch.tensor(h0)).numpy(), atol=1e-13)
    h, expected = h0, [np.mean(h0 ** 2)]
    for w, b in zip(ws, bs):
        h = w @ np.tanh(h) + b
        expected.append(np.mean(h ** 2))
    np.testing.assert_allclose(q, expected, rtol=1e-13)


def test_linear_orthogonal_jacobian_is_an_exact_isometry_and_moments_closed_forms():
    s = spectra.jacobian_singular_values(50, 20, 1.0, q_in=1.0, activation="linear", seed=0)
    np.testing.assert_allclose(s, 1.0, atol=1e-12)
    assert spectra.jacobian_spectrum_moments(20, 1.0, activation="linear", q_star=1.0) == pytest.approx((1.0, 0.0))
    assert spectra.jacobian_spectrum_moments(20, 1.0, activation="linear", weights="gaussian", q_star=1.0)[1] == \
        pytest.approx(20.0)
    assert spectra.jacobian_spectrum_moments(8, 2.0, activation="relu", q_star=1.0) == pytest.approx((1.0, 8.0))
    assert spectra.jacobian_spectrum_moments(8, 2.0, activation="relu", weights="gaussian", q_star=1.0)[1] == \
        pytest.approx(16.0)


def test_free_probability_variance_matches_sampled_tanh_networks():
    sb2 = 1e-2
    sw2 = float(mf.critical_line(sb2))
    m1, predicted = spectra.jacobian_spectrum_moments(8, sw2, sb2)
    assert m1 == pytest.approx(1.0, abs=1e-10)
    measured = np.mean([spectra.normalized_variance(spectra.jacobian_singular_values(200, 8, sw2, sb2, seed=k))
                        for k in range(3)])
    assert measured == pytest.approx(predicted, rel=0.15)
    with pytest.raises(ValueError, match="weights must be one of"):
        spectra.jacobian_singular_values(10, 2, 1.0, weights="uniform")


def test_jacobian_log_singular_values_agree_with_an_svd_and_resolve_the_deep_tail():
    sw2 = float(mf.critical_line(1e-3))
    direct = spectra.jacobian_singular_values(30, 12, sw2, 1e-3, n_draws=3, seed=4)
    logs = spectra.jacobian_log_singular_values(30, 12, sw2, 1e-3, n_draws=3, seed=4)   # the same networks
    assert logs.shape == (3, 30)
    np.testing.assert_allclose(logs, np.log(direct), atol=1e-9)
    # a linear Gaussian network of 60 layers: sigma spans ~50 decades, far beyond an SVD of the product; the mean of
    # ln sigma^2 over a product is known exactly at finite N (a sum of log-chi-square means)
    logs = spectra.jacobian_log_singular_values(20, 60, 1.0, q_in=1.0, activation="linear", weights="gaussian",
                                                n_draws=40, seed=5)
    assert logs[:, 0].max() - logs[:, -1].min() > 50 * np.log(10)
    mean, sd = spectra.gaussian_product_mean_log_sigma2(20, 60)
    assert np.mean(2 * logs) == pytest.approx(mean, abs=4 * sd / np.sqrt(40))
    with pytest.raises(ValueError, match="singular"):
        spectra.jacobian_log_singular_values(10, 3, 2.0, activation="relu", q_in=1.0, seed=0)
    with pytest.raises(TypeError, match="seed"):
        next(spectra.jacobian_factors(10, 3, 1.0, seed=np.random.default_rng(0)))


def test_orthogonal_mean_log_singular_value_and_layer_variances_against_sampled_networks():
    assert mf.orthogonal_mean_log_singular_value(7, 1.44, q_in=1.0, activation="linear") == pytest.approx(7 * np.log(1.2))
    for q1, g in [(1.0, 1.0), (1.0, 1.5), (10.0, 1.0)]:
        logs = spectra.jacobian_log_singular_values(150, 30, g * g, q_in=q1, n_draws=2, seed=3)
        predicted, sd = mf.orthogonal_mean_log_singular_value(30, g * g, q_in=q1, n=150)
        assert predicted == mf.orthogonal_mean_log_singular_value(30, g * g, q_in=q1)
        assert abs(np.mean(logs) - predicted) < 3 * sd
    q = spectra.layer_variances(300, 30, 1.5 ** 2, q_in=1.0, n_draws=3, seed=1)
    assert q.shape == (3, 31) and q[:, 0] == pytest.approx(1.0, rel=0.25)
    assert np.mean(q[:, -5:]) == pytest.approx(mf.fixed_point_variance(1.5 ** 2), rel=0.05)   # Saxe et al. Fig. 8
    with pytest.raises(ValueError, match="never vanishes"):
        mf.orthogonal_mean_log_singular_value(3, 2.0, activation="relu")


# --- convolution kernels and signal propagation ----------------------------------------------------------------------

@pytest.mark.parametrize("make", [lambda: init.delta_orthogonal(12, 12, 3, 1, gain=1.0, seed=0),
                                  lambda: init.delta_orthogonal(12, 5, 3, 2, gain=1.0, seed=1),
                                  lambda: init.block_orthogonal(12, 12, 5, 1, seed=2),
                                  lambda: init.block_orthogonal(12, 6, 3, 2, seed=3)])
def test_orthogonal_kernels_are_exact_isometries(make):
    kernel = make()
    x = np.random.default_rng(4).standard_normal((3, kernel.shape[1]) + (10,) * (kernel.ndim - 2))
    y = convolution.circular_conv(x, kernel)
    np.testing.assert_allclose(np.linalg.norm(y.reshape(3, -1), axis=1), np.linalg.norm(x.reshape(3, -1), axis=1),
                               rtol=1e-12)


def test_block_orthogonal_fills_every_tap_and_gaussian_kernel_does_not_preserve_norms():
    kernel = init.block_orthogonal(16, 16, 5, 1, seed=0)
    assert np.all(np.abs(kernel).max(axis=(0, 1)) > 0.05)
    gauss = init.gaussian_kernel(16, 16, np.ones(5) / 5, seed=0)
    assert np.sum(gauss ** 2) == pytest.approx(16, rel=0.2)
    x = np.random.default_rng(1).standard_normal((20, 16, 12))
    ratio = np.linalg.norm(convolution.circular_conv(x, gauss).reshape(20, -1), axis=1) / np.linalg.norm(
        x.reshape(20, -1), axis=1)
    assert np.max(np.abs(ratio - 1)) > 0.01
    with pytest.raises(ValueError, match="c_in <= c_out"):
        init.delta_orthogonal(4, 8)
    with pytest.raises(ValueError, match="odd"):
        init.block_orthogonal(4, 4, kernel_size=4)


def test_circular_conv_matches_torch_and_shifts_equivariantly():
    rng = np.random.default_rng(0)
    kernel, x = rng.standard_normal((5, 3, 3, 3)), rng.standard_normal((2, 3, 6, 6))
    expected = torch.nn.functional.conv2d(torch.nn.functional.pad(torch.tensor(x), (1, 1, 1, 1), mode="circular"),
                                          torch.tensor(kernel)).numpy()
    np.testing.assert_allclose(convolution.circular_conv(x, kernel), expected, atol=1e-12)
    shifted = convolution.circular_conv(np.roll(x, 2, axis=-1), kernel)
    np.testing.assert_allclose(shifted, np.roll(expected, 2, axis=-1), atol=1e-12)


def test_signal_propagation_tracks_chi_1_and_fixed_points():
    rng = np.random.default_rng(0)
    inputs = 0.5 * rng.standard_normal((2, 256, 4, 4))
    ordered = convolution.signal_propagation(inputs, 60, 0.9, 0.05, kernel="gaussian_delta", seed=1)
    d = mf.depth_scales(0.9, 0.05)
    assert np.mean(ordered.q[-30:]) == pytest.approx(d.q_star, rel=0.05)
    assert ordered.c[-1] > 0.999
    slope = np.polyfit(ordered.layers[20:], ordered.log_gain[20:], 1)[0]
    assert slope == pytest.approx(0.5 * np.log(d.chi_1), rel=0.1)
    linear = convolution.signal_propagation(inputs, 30, 1.0, kernel="delta_orthogonal", activation="linear", seed=2)
    np.testing.assert_allclose(linear.log_gain, 0.0, atol=1e-12)
    np.testing.assert_allclose(linear.q[-1], linear.q[0], rtol=1e-12)


def _reference_layers(seed, c, ndim, sigma_w2, sigma_b2, kernel, n_layers):
    """The random layers of signal_propagation and cnn_jacobian_factors, drawn in the documented order."""
    rng = np.random.default_rng(seed)
    return rng, [(init.conv_kernel(kernel, c, c, sigma_w2, 3, ndim, seed=rng),
                  np.sqrt(sigma_b2) * rng.standard_normal(c).reshape((c,) + (1,) * ndim)) for _ in range(n_layers)]


def test_signal_propagation_in_torch_matches_a_numpy_reference():
    inputs = np.random.default_rng(3).standard_normal((2, 5, 6, 6))
    run = convolution.signal_propagation(inputs, 4, 1.7, 0.1, kernel="gaussian", seed=9)
    rng = np.random.default_rng(9)
    tangent = rng.standard_normal(inputs.shape[1:])
    tangent /= np.linalg.norm(tangent)
    _, layers = _reference_layers(rng, 5, 2, 1.7, 0.1, "gaussian", 4)
    h, log_gain = inputs, 0.0
    for k, b in layers:
        tangent = convolution.circular_conv((1 - np.tanh(h[0]) ** 2) * tangent, k)
        h = convolution.circular_conv(np.tanh(h), k) + b
        log_gain += np.log(np.linalg.norm(tangent))
        tangent /= np.linalg.norm(tangent)
    flat = h.reshape(2, -1)
    np.testing.assert_allclose(run.q[-1], np.mean(flat ** 2, axis=1), rtol=1e-12)
    np.testing.assert_allclose(run.c[-1], flat[0] @ flat[1] / np.linalg.norm(flat[0]) / np.linalg.norm(flat[1]),
                               rtol=1e-12)
    assert run.log_gain[-1] == pytest.approx(log_gain, rel=1e-12)


@pytest.mark.parametrize("shape", [(4, 3, 3), (3, 2, 3, 3)])
def test_conv_operator_is_the_matrix_of_the_circular_convolution(shape):
    rng = np.random.default_rng(0)
    kernel, n = rng.standard_normal(shape), 5
    x = rng.standard_normal((shape[1],) + (n,) * (len(shape) - 2))
    op = convolution.conv_operator(kernel, n).numpy()
    assert op.shape == (shape[0] * n ** (len(shape) - 2), x.size)
    np.testing.assert_allclose(op @ x.ravel(), convolution.circular_conv(x, kernel).ravel(), atol=1e-12)
    with pytest.raises(ValueError, match="odd k"):
        convolution.conv_operator(rng.standard_normal((2, 2, 3, 3)), 2)


def test_cnn_jacobian_factors_multiply_to_the_autograd_jacobian():
    x = 0.4 * np.random.default_rng(1).standard_normal((3, 4, 4))
    product = None
    for f in convolution.cnn_jacobian_factors(x, 3, 1.5, 0.05, kernel="gaussian", seed=2):
        product = f if product is None else f @ product
    _, layers = _reference_layers(2, 3, 2, 1.5, 0.05, "gaussian", 3)

    def forward(h):
        for k, b in layers:
            h = torch.nn.functional.conv2d(torch.nn.functional.pad(torch.tanh(h)[None], (1, 1, 1, 1), mode="circular"),
                                           torch.tensor(k))[0] + torch.tensor(b)
        return h

    jac = torch.autograd.functional.jacobian(forward, torch.tensor(x)).reshape(48, 48)
    np.testing.assert_allclose(product.numpy(), jac.numpy(), atol=1e-13)
    logs = spectra.product_log_singular_values(convolution.cnn_jacobian_factors(x, 3, 1.5, 0.05, kernel="gaussian",
                                                                                seed=2))
    np.testing.assert_allclose(np.exp(logs), np.linalg.svd(jac.numpy(), compute_uv=False), rtol=1e-9)


def test_mean_variance_profile_follows_mode_eigenvalues_for_a_linear_cnn():
    x = np.zeros((32, 16))
    x[:, 0] = 1.0
    profile = convolution.mean_variance_profile(x, 3, np.ones(3) / 3, n_draws=400, seed=0)
    ratio = np.abs(np.fft.fft(profile[3])) / np.abs(np.fft.fft(profile[0]))
    np.testing.assert_allclose(ratio[:4], mf.cnn_mode_eigenvalues(np.ones(3) / 3, 16)[:4] ** 3, atol=0.05)
    delta = convolution.mean_variance_profile(x, 3, [0.0, 1.0, 0.0], n_draws=50, seed=0)
    np.testing.assert_allclose(delta[:, 1:], 0.0)


# --- nonlinear networks and minibatch SGD ----------------------------------------------------------------------------

def _tiny_data(seed=0, n=120):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 6))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int) + 2 * (X[:, 2] > 0)
    return tasks.ClassificationData(X[:90], y[:90], X[90:], y[90:], "tiny")


def test_batched_mlp_equals_separate_runs():
    ws = init.orthogonal([6, 8, 8, 4], gain=1.1, n_runs=3, seed=0)
    batched = deepnets.MLP(ws, dtype=torch.float64)
    x = torch.randn(5, 6, dtype=torch.float64)
    out = batched(x)
    for r in range(3):
        single = deepnets.MLP([w[r] for w in ws], dtype=torch.float64)
        np.testing.assert_allclose(out[r].detach().numpy(), single(x).detach().numpy(), atol=1e-13)
    with pytest.raises(ValueError, match="takes 5 inputs"):
        deepnets.MLP([np.zeros((8, 6)), np.zeros((4, 5))])


def test_preactivations_end_in_the_output():
    ws = init.orthogonal([6, 8, 8, 4], gain=1.1, n_runs=2, seed=0)
    model = deepnets.MLP(ws, dtype=torch.float64)
    x = torch.randn(5, 6, dtype=torch.float64)
    hs = model.preactivations(x)
    assert [tuple(h.shape) for h in hs] == [(2, 5, 8), (2, 5, 8), (2, 5, 4)]
    np.testing.assert_array_equal(hs[-1].detach().numpy(), model(x).detach().numpy())
    np.testing.assert_allclose(hs[1].detach().numpy(), (torch.tanh(hs[0]) @ model.weights[1].mT).detach().numpy(),
                               atol=1e-14)


def test_layer_gradient_norms_closed_form_and_finite_differences():
    # linear, square, orthogonal with gain g, one sample: dL/dW_l = delta_l x_(l-1)^T with |delta_l| = g^(D-l) |delta_D|
    # and |x_(l-1)| = g^(l-1) |x|, so every layer has the norm g^(D-1) |softmax - onehot| |x|
    g, x, y = 1.5, np.random.default_rng(0).standard_normal((1, 6)), np.array([2])
    ws = init.orthogonal([6] * 4, gain=g, seed=1)
    model = deepnets.MLP(ws, activation="linear", dtype=torch.float64)
    p = torch.softmax(model(torch.tensor(x)), -1).detach().numpy()[0]
    expected = g ** 2 * np.linalg.norm(p - np.eye(6)[2]) * np.linalg.norm(x)
    np.testing.assert_allclose(deepnets.layer_gradient_norms(model, x, y), expected, rtol=1e-12)
    # tanh, a batch, two runs: the run axis is kept apart, and one entry matches a finite difference of the mean loss
    rng = np.random.default_rng(1)
    X, Y = rng.standard_normal((7, 5)), rng.integers(0, 3, 7)
    ws = init.orthogonal([5, 6, 6, 3], gain=1.3, n_runs=2, seed=2)
    norms = deepnets.layer_gradient_norms(deepnets.MLP(ws, dtype=torch.float64), X, Y)
    assert norms.shape == (2, 3)
    single = deepnets.layer_gradient_norms(deepnets.MLP([w[1] for w in ws], dtype=torch.float64), X, Y)
    np.testing.assert_allclose(norms[1], single, rtol=1e-12)

    def loss(weights):
        logits = deepnets.MLP(weights, dtype=torch.float64)(torch.tensor(X))
        return torch.nn.functional.cross_entropy(logits, torch.tensor(Y)).item()

    w0 = [w[0].copy() for w in ws]
    eps, grad = 1e-6, np.zeros_like(w0[1])
    for i, j in np.ndindex(*grad.shape):
        plus, minus = [w.copy() for w in w0], [w.copy() for w in w0]
        plus[1][i, j] += eps
        minus[1][i, j] -= eps
        grad[i, j] = (loss(plus) - loss(minus)) / (2 * eps)
    assert norms[0, 1] == pytest.approx(np.linalg.norm(grad), rel=1e-6)
    with pytest.raises(ValueError, match="one label per sample"):
        deepnets.layer_gradient_norms(deepnets.MLP(w0), X, Y[:3])
    # per sample: the root mean square of the one-sample gradient norms
    per_sample = deepnets.layer_gradient_norms(deepnets.MLP(ws, dtype=torch.float64), X, Y, per_sample=True)
    ones = np.array([deepnets.layer_gradient_norms(deepnets.MLP(ws, dtype=torch.float64), X[i:i + 1], Y[i:i + 1])
                     for i in range(7)])
    np.testing.assert_allclose(per_sample, np.sqrt(np.mean(ones ** 2, axis=0)), rtol=1e-12)
    with pytest.raises(TypeError, match="needs an MLP"):
        deepnets.layer_gradient_norms(deepnets.VanillaCNN([np.zeros((2, 1, 3, 3))], [np.zeros(2)], np.zeros((3, 2))),
                                      np.zeros((1, 1, 4, 4)), [0], per_sample=True)


def test_batched_cnn_equals_separate_runs_and_dense_readout_shape():
    rng = np.random.default_rng(0)
    ks = [np.stack([init.delta_orthogonal(4, 1, 3, 2, seed=rng) for _ in range(2)]),
          np.stack([init.block_orthogonal(4, 4, 3, 2, seed=rng) for _ in range(2)])]
    bs = [0.1 * rng.standard_normal((2, 4)) for _ in range(2)]
    ro = rng.standard_normal((2, 3, 4, 5, 5))
    model = deepnets.VanillaCNN(ks, bs, ro, dtype=torch.float64)
    x = torch.randn(7, 1, 5, 5, dtype=torch.float64)
    out = model(x)
    assert out.shape == (2, 7, 3)
    for r in range(2):
        single = deepnets.VanillaCNN([k[r] for k in ks], [b[r] for b in bs], ro[r], dtype=torch.float64)
        np.testing.assert_allclose(out[r].detach().numpy(), single(x).detach().numpy(), atol=1e-12)
    pooled = deepnets.VanillaCNN([k[0] for k in ks], [b[0] for b in bs], ro[0, :, :, 0, 0], dtype=torch.float64)
    assert pooled(x).shape == (7, 3)


def test_minibatch_sgd_step_matches_torch_sgd_and_runs_are_independent():
    data = _tiny_data()
    ws = init.orthogonal([6, 8, 4], gain=1.0, n_runs=2, seed=0)
    model = deepnets.MLP(ws, dtype=torch.float64)
    result = train.minibatch_sgd(model, data, lr=[0.1, 0.3], steps=1, batch_size=90, record_every=1, seed=0)
    assert np.array_equal(ws[0], init.orthogonal([6, 8, 4], gain=1.0, n_runs=2, seed=0)[0])   # caller's arrays untouched
    for r, lr in enumerate([0.1, 0.3]):
        ref = deepnets.MLP([w[r] for w in ws], dtype=torch.float64)
        opt = torch.optim.SGD(ref.parameters(), lr=lr)
        X, y = torch.tensor(data.X_train), torch.tensor(data.y_train)
        torch.nn.functional.cross_entropy(ref(X), y).backward()
        opt.step()
        for p_batched, p_ref in zip(model.parameters(), ref.parameters()):
            np.testing.assert_allclose(p_batched[r].detach().numpy(), p_ref.detach().numpy(), atol=1e-13)
    assert result.loss.shape == (2, 2) and result.t.tolist() == [0.0, 1.0]


def test_minibatch_sgd_learns_and_marks_divergence():
    data = _tiny_data()
    model = deepnets.MLP(init.orthogonal([6, 16, 16, 4], gain=1.0, n_runs=2, seed=0), activation="linear",
                         dtype=torch.float64)
    result = train.minibatch_sgd(model, data, lr=[0.1, 1e6], steps=200, batch_size=30, record_every=50, seed=0)
    assert result.diverged_at[0] == -1 and result.diverged_at[1] > 0
    assert result.loss[0, -1] < 0.5 * result.loss[0, 0] and np.isinf(result.loss[1, -1])
    assert result.test_error[0, -1] < 0.35
    assert result.steps_to_loss(0.6 * result.loss[0, 0])[0] <= 200
    with pytest.raises(ValueError, match="one per run"):
        train.minibatch_sgd(model, data, lr=[0.1, 0.2, 0.3], steps=1)


def test_at_loss_picks_the_first_tested_record_below_the_threshold():
    result = train.ClassifierResult(t=np.array([0.0, 10, 20, 30]), loss=np.array([[2.0, 0.9, 0.4, 0.3], [2.0, 1.5, 1.2, 1.1]]),
                                    error=np.zeros((2, 4)), test_error=np.array([[0.9, np.nan, 0.2, 0.15]] * 2),
                                    lr=0.1, diverged_at=np.array([-1, -1]))
    step, loss, test = result.at_loss(1.0)
    np.testing.assert_array_equal(step, [20.0, np.nan])      # record 10 is below 1.0 but was not tested
    np.testing.assert_array_equal(loss, [0.4, np.nan])
    np.testing.assert_array_equal(test, [0.2, np.nan])


def test_minibatch_sgd_evaluates_the_test_set_only_when_asked():
    data = _tiny_data()
    model = deepnets.MLP(init.orthogonal([6, 8, 4], seed=0))
    result = train.minibatch_sgd(model, data, lr=0.1, steps=25, batch_size=30, record_every=5, test_every=10, seed=0)
    assert result.t.tolist() == [0, 5, 10, 15, 20, 25]
    assert np.isnan(result.test_error[[1, 3]]).all() and np.isfinite(result.test_error[[0, 2, 4, 5]]).all()


def test_stack_runs_builds_a_run_axis():
    a, b = init.orthogonal([3, 4, 2], seed=0), init.scaled_gaussian([3, 4, 2], seed=1)
    stacked = init.stack_runs([a, b])
    assert [w.shape for w in stacked] == [(2, 4, 3), (2, 2, 4)]
    np.testing.assert_array_equal(stacked[1][1], b[1])
    with pytest.raises(ValueError, match="at least one run"):
        init.stack_runs([])


def test_summarize_singular_values():
    stats = spectra.summarize(np.array([0.01, 0.5, 1.0, 2.0, 50.0]))
    assert stats["median"] == 1.0 and stats["max"] == 50.0 and stats["in_band"] == pytest.approx(0.6)
    assert stats["q10"] == pytest.approx(0.01 + 0.4 * 0.49) and stats["q90"] == pytest.approx(2.0 + 0.6 * 48.0)


@pytest.mark.parametrize("shape", [(4, 3, 3), (3, 3, 3, 3)])
def test_kernel_symbol_gives_the_singular_values_of_the_convolution(shape):
    rng = np.random.default_rng(0)
    kernel, n = rng.standard_normal(shape), 5
    ndim = len(shape) - 2
    basis = np.eye(shape[1] * n ** ndim).reshape((-1, shape[1]) + (n,) * ndim)
    operator = convolution.circular_conv(basis, kernel).reshape(basis.shape[0], -1).T
    symbol = convolution.kernel_symbol(kernel, n)
    from_symbol = np.sort(np.linalg.svd(symbol, compute_uv=False).ravel())
    np.testing.assert_allclose(np.sort(np.linalg.svd(operator, compute_uv=False))[-from_symbol.size:], from_symbol,
                               atol=1e-10)
    unitary = convolution.kernel_symbol(init.block_orthogonal(6, 6, 5, 1, seed=1), 8)
    np.testing.assert_allclose(np.linalg.svd(unitary, compute_uv=False), 1.0, atol=1e-12)


def test_cnn_initialiser_shapes_and_ensembles():
    kernels, biases = init.cnn(6, 4, 1.5, 0.04, kind="delta_orthogonal", in_channels=2, seed=0)
    assert [k.shape for k in kernels] == [(6, 2, 3, 3)] + [(6, 6, 3, 3)] * 3 and all(b.shape == (6,) for b in biases)
    centre = kernels[1][:, :, 1, 1]
    np.testing.assert_allclose(centre.T @ centre, 1.5 * np.eye(6), atol=1e-12)
    assert np.count_nonzero(kernels[1]) == 36
    uniform = init.conv_kernel("gaussian", 200, 200, 2.0, seed=1)
    np.testing.assert_allclose(np.var(uniform, axis=(0, 1)), 2.0 / 9 / 200, rtol=0.05)
    delta = init.conv_kernel("gaussian_delta", 50, 50, 2.0, seed=1)
    assert np.count_nonzero(delta[:, :, 1, 1]) == 2500 and np.count_nonzero(delta) == 2500
    with pytest.raises(ValueError, match="kind must be one of"):
        init.cnn(4, 2, 1.0, 0.0, kind="uniform")
