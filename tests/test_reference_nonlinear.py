"""Reference tests of the nonlinear-network mechanics away from the special points (chi_1 != 1, biases, unequal
channels): closed forms (arc-cosine kernel, Gaussian integrals by independent quadrature), finite differences,
exact small cases, and forward passes written out in NumPy.

Statistical tests use fixed seeds; each states its false-alarm rate, the probability that a correct implementation
fails it over a fresh seed.
"""
import numpy as np
import pytest
import torch
from numpy.polynomial.hermite_e import hermegauss
from scipy import integrate
from scipy.stats import norm

from dlnlib import activations, convolution, deepnets, init, meanfield as mf, spectra

_Z, _W = hermegauss(120)
_W = _W / _W.sum()


def _gauss(f, q):
    """E f(sqrt(q) z), z ~ N(0, 1), by adaptive quadrature (independent of the library's trapezoid grid)."""
    return integrate.quad(lambda z: f(np.sqrt(q) * z) * np.exp(-z * z / 2) / np.sqrt(2 * np.pi), -12, 12,
                          epsabs=1e-14, epsrel=1e-12, limit=400)[0]


def _pair(f, q, c):
    """E f(u1) f(u2), u ~ N(0, q [[1, c], [c, 1]]), by 120 x 120 Gauss-Hermite nodes (for smooth f)."""
    z1, z2 = _Z[:, None], _Z[None, :]
    u1, u2 = np.sqrt(q) * z1, np.sqrt(q) * (c * z1 + np.sqrt(1 - c * c) * z2)
    return float(np.sum(_W[:, None] * _W[None, :] * f(u1) * f(u2)))


def _sech2(h):
    return 1.0 / np.cosh(h) ** 2


# --- activations -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("q", [0.3, 1.0, 4.0])
def test_gate_probabilities_are_normal_probabilities(q):
    """P(phi'(h) = 1) for h ~ N(0, q): 1/2 for ReLU, P(|h| < 1) = 2 Phi(1/sqrt q) - 1 for hard-tanh."""
    assert activations.get("relu").gate_probability(q) == pytest.approx(0.5, abs=1e-15)
    hard = 2 * norm.cdf(1 / np.sqrt(q)) - 1
    assert activations.get("hard_tanh").gate_probability(q) == pytest.approx(hard, rel=1e-12)
    assert mf.slope_moment(q, 2, "hard_tanh") == pytest.approx(hard, rel=1e-12)   # 0/1 slopes: mu_k = p


@pytest.mark.parametrize("k", [1, 2])
def test_tanh_slope_moments_match_quadrature(k):
    for q in (0.05, 0.7, 3.0):
        assert mf.slope_moment(q, k) == pytest.approx(_gauss(lambda h: _sech2(h) ** (2 * k), q), rel=1e-9)


# --- mean-field maps -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("c", [-0.5, 0.3, 0.8])
def test_relu_correlation_map_is_the_arc_cosine_kernel(c):
    """E relu(u1) relu(u2) = q/(2 pi) (sqrt(1 - c^2) + (pi - arccos c) c) (Cho & Saul 2009). The 2-D trapezoid loses
    about 1e-4 relative at ReLU's kink, so the tolerance is 1e-3."""
    q, sw2, sb2 = 1.7, 1.5, 0.2
    kernel = q / (2 * np.pi) * (np.sqrt(1 - c * c) + (np.pi - np.arccos(c)) * c)
    expected = (sw2 * kernel + sb2) / (sw2 * q / 2 + sb2)
    assert mf.correlation_map(c, q, sw2, sb2, "relu") == pytest.approx(expected, rel=1e-3)


def test_tanh_correlation_map_and_its_slopes():
    """The map against Gauss-Hermite quadrature, and chi_c* (chaotic phase) and chi_q against finite differences of the
    correlation and length maps (by Price's theorem and Stein's lemma)."""
    sw2, sb2 = 2.0, 0.05
    d = mf.depth_scales(sw2, sb2)
    for c in (0.2, 0.6):
        expected = (sw2 * _pair(np.tanh, d.q_star, c) + sb2) / (sw2 * _gauss(lambda h: np.tanh(h) ** 2, d.q_star) + sb2)
        assert mf.correlation_map(c, d.q_star, sw2, sb2) == pytest.approx(expected, rel=1e-6)
    assert 0 < d.c_star < 1
    assert mf.correlation_map(d.c_star, d.q_star, sw2, sb2) == pytest.approx(d.c_star, abs=1e-10)
    h = 1e-4
    slope = (mf.correlation_map(d.c_star + h, d.q_star, sw2, sb2)
             - mf.correlation_map(d.c_star - h, d.q_star, sw2, sb2)) / (2 * h)
    assert d.chi_c == pytest.approx(slope, rel=1e-5)
    hq = 1e-5 * d.q_star
    chi_q = (mf.variance_map(d.q_star + hq, sw2, sb2) - mf.variance_map(d.q_star - hq, sw2, sb2)) / (2 * hq)
    assert d.chi_q == pytest.approx(float(chi_q), rel=1e-7)
    assert d.xi_c == pytest.approx(-1 / np.log(d.chi_c)) and d.xi_q == pytest.approx(-1 / np.log(d.chi_q))


def test_fixed_point_and_chi_1_with_bias_match_quadrature():
    sw2, sb2 = 1.5, 0.05
    q = mf.fixed_point_variance(sw2, sb2)
    assert sw2 * _gauss(lambda h: np.tanh(h) ** 2, q) + sb2 == pytest.approx(q, rel=1e-9)
    assert mf.chi_1(sw2, sb2) == pytest.approx(sw2 * _gauss(lambda h: _sech2(h) ** 2, q), rel=1e-9)
    assert mf.fixed_point_gain(0.7) ** 2 == pytest.approx(0.7 / _gauss(lambda h: np.tanh(h) ** 2, 0.7), rel=1e-9)


@pytest.mark.parametrize("profile", [np.ones(3) / 3, np.array([0.25, 0.5, 0.25])])
def test_cnn_mode_depth_scales_of_every_mode(profile):
    """lambda_j = v_0 + 2 v_1 cos(2 pi j / n) for a symmetric 3-tap profile; xi_j = -1/log|chi lambda_j|."""
    n, chi = 12, 0.9
    lam = profile[1] + 2 * profile[0] * np.cos(2 * np.pi * np.arange(n) / n)
    np.testing.assert_allclose(mf.cnn_mode_eigenvalues(profile, n), lam, atol=1e-14)
    with np.errstate(divide="ignore"):
        expected = -1 / np.log(np.abs(chi * lam))
    np.testing.assert_allclose(mf.cnn_mode_depth_scales(profile, n, chi), expected, rtol=1e-12)


# --- spectra ---------------------------------------------------------------------------------------------------------

def test_fourth_moment_of_scalar_gaussian_products_is_three_to_the_l():
    """N = 1: sigma^4 = prod g_l^4 with E g^4 = 3, so the exact finite-N recursion must give 3^L."""
    for n_factors in (1, 2, 3, 6):
        assert spectra.gaussian_product_moments(1, n_factors)[0] == pytest.approx(3.0 ** n_factors, rel=1e-13)


def test_normalized_variance_exact_small_case():
    """Singular values 1 and sqrt(3): lambda = 1, 3, variance 1, mean 2, so 1/4; scale-free."""
    assert spectra.normalized_variance([1.0, np.sqrt(3.0)]) == pytest.approx(0.25, rel=1e-14)
    assert spectra.normalized_variance([5.0, 5 * np.sqrt(3.0)]) == pytest.approx(0.25, rel=1e-14)


def test_jacobian_spectrum_moments_off_criticality_match_quadrature():
    sw2, sb2, depth = 1.5, 0.05, 7
    q = mf.fixed_point_variance(sw2, sb2)
    mu1, mu2 = _gauss(lambda h: _sech2(h) ** 2, q), _gauss(lambda h: _sech2(h) ** 4, q)
    assert sw2 * mu1 < 0.95                      # well off the critical line
    for weights, s in (("orthogonal", 0.0), ("gaussian", 1.0)):
        m1, spread = spectra.jacobian_spectrum_moments(depth, sw2, sb2, weights=weights)
        assert m1 == pytest.approx((sw2 * mu1) ** depth, rel=1e-8)
        assert spread == pytest.approx(depth * (mu2 / mu1 ** 2 - 1 + s), rel=1e-8)


def test_sampled_linear_gaussian_jacobians_have_mean_chi_1_to_the_l():
    """Linear network, N(0, sigma_w^2/N) weights: E (1/N) tr JJ^T = sigma_w^(2L) exactly. The sample mean over 3
    networks of width 100 fluctuates by about 3 % (standard deviation); the tolerance of 15 % is 5 of them."""
    sw2, depth = 1.3, 4
    sampled = np.mean([np.mean(spectra.jacobian_singular_values(100, depth, sw2, q_in=1.0, activation="linear",
                                                                 weights="gaussian", seed=k) ** 2) for k in range(3)])
    assert sampled == pytest.approx(spectra.jacobian_spectrum_moments(depth, sw2, activation="linear",
                                                                      weights="gaussian", q_star=1.0)[0], rel=0.15)
    assert sampled == pytest.approx(sw2 ** depth, rel=0.15)


def test_sampled_tanh_jacobians_with_biases_follow_chi_1():
    """Orthogonal tanh network with biases N(0, 0.3) started at q*: the mean squared singular value is chi_1^L
    (about 0.05 at depth 10). One network at width 100 spreads it by about 30 %; the mean of four is within a factor
    2 (false-alarm rate below 1e-4). Biases of standard deviation 0.3 instead would move q* and give about 0.3."""
    sw2, sb2, depth = 1.5, 0.3, 10
    sampled = np.mean([np.mean(spectra.jacobian_singular_values(100, depth, sw2, sb2, seed=k) ** 2) for k in range(4)])
    assert abs(np.log(sampled / mf.chi_1(sw2, sb2) ** depth)) < np.log(2)


# --- convolution ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(4, 3, 5), (3, 2, 3, 3)])
def test_kernel_symbol_is_the_action_on_plane_waves(shape):
    """circular_conv maps x_a = v e^{i theta a} to K_hat(theta) v e^{i theta a}: a correlation's symbol has e^{+i theta
    beta}. Real and imaginary parts are convolved separately."""
    rng = np.random.default_rng(0)
    kernel, n = rng.standard_normal(shape), 7
    ndim = len(shape) - 2
    symbol = convolution.kernel_symbol(kernel, n)
    v = rng.standard_normal(shape[1])
    for freq in [(1,), (3,)] if ndim == 1 else [(1, 0), (2, 5)]:
        grids = np.meshgrid(*[np.arange(n)] * ndim, indexing="ij")
        phase = sum(2 * np.pi * j * g / n for j, g in zip(freq, grids))
        wave = v.reshape((-1,) + (1,) * ndim) * np.exp(1j * phase)
        out = convolution.circular_conv(wave.real, kernel) + 1j * convolution.circular_conv(wave.imag, kernel)
        expected = (symbol[freq] @ v).reshape((-1,) + (1,) * ndim) * np.exp(1j * phase)
        np.testing.assert_allclose(out, expected, atol=1e-12)


def test_signal_propagation_records_the_inputs_and_adds_the_bias_variance():
    """Layer 0 is the inputs themselves (unequal norms, correlation 0.6). A linear delta-orthogonal CNN preserves
    norms, so the layers add the bias variance: E q^L = q^0 + L sigma_b^2. The biases summed over layers form a
    Gaussian vector of c = 512 channels, whose mean square fluctuates by sqrt(2/c) = 6 % (standard deviation), plus
    about 2 % from its overlap with the small inputs; the tolerance of 35 % is 5 of them (false-alarm rate about 1e-6)."""
    rng = np.random.default_rng(1)
    a, b = 0.1 * rng.standard_normal((512, 5)), 0.1 * rng.standard_normal((512, 5))
    x = np.stack([a, 3.0 * (0.6 * a + 0.8 * b)])
    run = convolution.signal_propagation(x, 5, 1.0, 0.1, kernel="delta_orthogonal", activation="linear",
                                         kernel_size=3, seed=2)
    flat = x.reshape(2, -1)
    np.testing.assert_allclose(run.q[0], np.mean(flat ** 2, axis=1), rtol=1e-14)
    assert run.c[0] == pytest.approx(flat[0] @ flat[1] / np.linalg.norm(flat[0]) / np.linalg.norm(flat[1]), rel=1e-13)
    np.testing.assert_allclose(run.q[-1] - run.q[0], 5 * 0.1, rtol=0.35)
    np.testing.assert_allclose(run.log_gain, 0.0, atol=1e-12)


# --- kernels and CNN initialisation -----------------------------------------------------------------------------------

def test_gaussian_kernel_variance_uses_the_fan_in():
    """Entries N(0, sigma_w^2 v_beta / c_in) with c_out = 4 c_in. Each tap has 10,000 entries, so a sample variance is
    within 1.4 % (standard deviation) of the truth; the tolerance of 10 % is 7 of them."""
    profile = np.array([0.2, 0.5, 0.3])
    kernel = init.gaussian_kernel(200, 50, profile, sigma_w2=2.0, seed=0)
    np.testing.assert_allclose(np.var(kernel, axis=(0, 1)), 2.0 * profile / 50, rtol=0.1)
    assert abs(np.mean(kernel)) < 5 * np.sqrt(2.0 / 3 / 50 / kernel.size)


def test_cnn_biases_have_the_bias_variance_and_delta_kernels_one_tap():
    """3,200 biases: their sample variance is within 2.5 % (standard deviation); tolerance 15 %."""
    kernels, biases = init.cnn(64, 50, 1.2, 0.3, kind="delta_orthogonal", in_channels=3, seed=0)
    assert np.var(np.concatenate(biases)) == pytest.approx(0.3, rel=0.15)
    first = kernels[0]
    assert first.shape == (64, 3, 3, 3)
    np.testing.assert_allclose(first[:, :, 1, 1].T @ first[:, :, 1, 1], 1.2 * np.eye(3), atol=1e-12)
    assert np.count_nonzero(first) == np.count_nonzero(first[:, :, 1, 1])


# --- deep networks --------------------------------------------------------------------------------------------------

def test_mlp_forward_pass_written_out():
    """h1 = W1 x + b1, h_l = W_l tanh(h_{l-1}) + b_l, output h_D, in NumPy, with and without a run axis."""
    rng = np.random.default_rng(0)
    ws = init.scaled_gaussian([5, 7, 6, 3], gain=1.4, n_runs=2, seed=1)
    bs = [0.3 * rng.standard_normal((2, w.shape[1])) for w in ws]
    x = rng.standard_normal((4, 5))
    out = deepnets.MLP(ws, bs, dtype=torch.float64)(torch.tensor(x)).detach().numpy()
    for r in range(2):
        h = x @ ws[0][r].T + bs[0][r]
        for w, b in zip(ws[1:], bs[1:]):
            h = np.tanh(h) @ w[r].T + b[r]
        np.testing.assert_allclose(out[r], h, atol=1e-13)
        single = deepnets.MLP([w[r] for w in ws], [b[r] for b in bs], dtype=torch.float64)
        np.testing.assert_allclose(single(torch.tensor(x)).detach().numpy(), h, atol=1e-13)


@pytest.mark.parametrize("dense", [False, True])
def test_vanilla_cnn_forward_pass_written_out(dense):
    """x_l = tanh(K_l * x_{l-1} + b_l) with circular padding (dlnlib.convolution), then the mean over positions (or
    every position) and the read-out."""
    rng = np.random.default_rng(2)
    ks = [rng.standard_normal((4, 2, 3, 3)) / 3, rng.standard_normal((4, 4, 3, 3)) / 5]
    bs = [0.2 * rng.standard_normal(4) for _ in ks]
    readout = rng.standard_normal((3, 4, 5, 5) if dense else (3, 4))
    x = rng.standard_normal((6, 2, 5, 5))
    model = deepnets.VanillaCNN(ks, bs, readout, dtype=torch.float64)
    h = x
    for k, b in zip(ks, bs):
        h = np.tanh(convolution.circular_conv(h, k) + b[:, None, None])
    features = h.reshape(6, -1) if dense else h.mean(axis=(2, 3))
    np.testing.assert_allclose(model(torch.tensor(x)).detach().numpy(), features @ readout.reshape(3, -1).T,
                               atol=1e-12)


@pytest.mark.parametrize("name", sorted(activations.ACTIVATIONS))
def test_every_activation_is_consistent_away_from_its_kinks(name):
    """phi' and phi'' against central differences of phi and phi', and the torch phi against the NumPy one, at points
    away from the kinks of ReLU (0) and hard-tanh (+-1); plus the values the definitions fix."""
    act = activations.get(name)
    h, eps = np.array([-2.5, -1.5, -0.6, -0.2, 0.3, 0.7, 1.4, 3.0]), 1e-6
    np.testing.assert_allclose(act.dphi(h), (act.phi(h + eps) - act.phi(h - eps)) / (2 * eps), atol=1e-8)
    np.testing.assert_allclose(act.d2phi(h), (act.dphi(h + eps) - act.dphi(h - eps)) / (2 * eps), atol=1e-6)
    np.testing.assert_allclose(act.torch_phi(torch.tensor(h)).numpy(), act.phi(h), atol=1e-15)
    expected = {"linear": h, "tanh": np.tanh(h), "relu": np.maximum(h, 0), "hard_tanh": np.clip(h, -1, 1)}[name]
    np.testing.assert_allclose(act.phi(h), expected, atol=1e-15)
