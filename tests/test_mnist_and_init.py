"""MNIST loading (offline subset and IDX folders the tests write) and the initialisers of chapter 5."""
import gzip

import numpy as np
import pytest

from dlnlib import init, networks, tasks


def _write_idx(path, array, type_code, compress=False):
    header = bytes([0, 0, type_code, array.ndim]) + np.array(array.shape, ">i4").tobytes()
    payload = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    (gzip.open if compress else open)(path, "wb").write(payload)


@pytest.fixture
def idx_folder(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(12, 28, 28), dtype=np.uint8)
    labels = np.arange(12, dtype=np.uint8) % 10
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", images, 0x08, compress=True)
    _write_idx(tmp_path / "train-labels-idx1-ubyte", labels, 0x08)
    _write_idx(tmp_path / "t10k-images-idx3-ubyte", images[:5], 0x08)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", labels[:5], 0x08, compress=True)
    return tmp_path, images, labels


def test_read_idx_round_trips_every_type(tmp_path):
    for code, dtype in [(0x08, np.uint8), (0x09, np.int8), (0x0B, np.int16), (0x0C, np.int32), (0x0D, np.float32),
                        (0x0E, np.float64)]:
        array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
        _write_idx(tmp_path / "a.idx", array, code)
        out = tasks.read_idx(tmp_path / "a.idx")
        assert out.dtype == dtype and out.shape == (2, 3, 4)
        np.testing.assert_array_equal(out, array)


def test_read_idx_rejects_bad_files(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="not an IDX file"):
        tasks.read_idx(tmp_path / "bad")
    _write_idx(tmp_path / "short", np.zeros((2, 2), np.uint8), 0x08)
    (tmp_path / "short").write_bytes((tmp_path / "short").read_bytes()[:-1])
    with pytest.raises(ValueError, match="header promises"):
        tasks.read_idx(tmp_path / "short")


def test_load_mnist_from_idx_folder(idx_folder):
    folder, images, labels = idx_folder
    X, y = tasks.load_mnist(folder)
    assert X.shape == (12, 784)
    np.testing.assert_allclose(X, images.reshape(12, -1) / 255.0)
    np.testing.assert_array_equal(y, labels)
    X_test, y_test = tasks.load_mnist(folder, split="test")
    assert X_test.shape == (5, 784) and y_test.tolist() == labels[:5].tolist()
    task = tasks.mnist_task(path=folder)
    pixels = images.reshape(12, -1) / 255.0
    np.testing.assert_allclose(task.sigma31, np.eye(10)[labels].T @ pixels)
    # PCA keeps the top components: Sigma11 = diag of the largest squared singular values of the image matrix, and
    # whitening leaves the top left singular vectors (images x components, up to sign) as inputs
    u, sv, _ = np.linalg.svd(pixels, full_matrices=False)
    pca = tasks.mnist_task(n_components=5, path=folder)
    np.testing.assert_allclose(pca.sigma11, np.diag(sv[:5] ** 2), rtol=1e-10, atol=1e-10 * sv[0] ** 2)
    white = tasks.mnist_task(n_components=5, whiten=True, path=folder)
    np.testing.assert_allclose(np.abs(white.X), np.abs(u[:, :5].T), atol=1e-10)
    np.testing.assert_allclose(np.abs(white.sigma31), np.abs(np.eye(10)[labels].T @ u[:, :5]), atol=1e-10)
    with pytest.raises(FileNotFoundError):
        tasks.load_mnist(folder / "missing")
    with pytest.raises(ValueError, match="split"):
        tasks.load_mnist(folder, split="validation")


def test_offline_mnist_subset_and_whitened_pca():
    X, y = tasks.load_mnist()
    assert X.shape == (5000, 784) and 0.0 <= X.min() and X.max() <= 1.0
    assert np.bincount(y).tolist() == [500] * 10
    task = tasks.mnist_task(n_components=20, whiten=True, n_samples=2000, seed=0)
    np.testing.assert_allclose(task.X @ task.X.T, np.eye(20), atol=1e-10)
    assert task.n_out == 10 and task.Y.sum() == 2000
    with pytest.raises(ValueError, match="needs n_components"):
        tasks.mnist_task(whiten=True)
    with pytest.raises(ValueError, match="test split"):
        tasks.load_mnist(split="test")


def test_whitened_digit_pair_has_class_means_plus_minus_mu_and_white_residuals():
    X, y, mu = tasks.whitened_digit_pair(3, 5, 30)
    assert X.shape == (30, 1000) and sorted(set(y.tolist())) == [-1.0, 1.0] and np.sum(y > 0) == 500
    np.testing.assert_allclose(X[:, y > 0].mean(axis=1), mu, atol=1e-12)
    np.testing.assert_allclose(X[:, y < 0].mean(axis=1), -mu, atol=1e-12)
    residual = X - np.outer(mu, y)
    np.testing.assert_allclose(residual @ residual.T / y.size, np.eye(30), atol=1e-10)
    # whitening with the pooled covariance makes |mu|^2 the Mahalanobis half-distance: more components, larger
    fewer = tasks.whitened_digit_pair(3, 5, 10)[2]
    assert fewer @ fewer < mu @ mu
    with pytest.raises(ValueError, match="different"):
        tasks.whitened_digit_pair(4, 4, 10)
    with pytest.raises(ValueError, match="second"):
        tasks.whitened_digit_pair(4, 10, 10)


def test_scaled_gaussian_and_orthogonal_initialisers():
    widths = [30, 50, 50, 10]
    ws = init.scaled_gaussian(widths, gain=2.0, n_runs=200, seed=0)
    for w, n_in in zip(ws, widths[:-1]):
        assert np.std(w) == pytest.approx(2.0 / np.sqrt(n_in), rel=0.02)
    ortho = init.orthogonal(widths, gain=1.5, seed=1)
    np.testing.assert_allclose(ortho[0].T @ ortho[0], 1.5 ** 2 * np.eye(30), atol=1e-12)   # tall: columns
    np.testing.assert_allclose(ortho[1] @ ortho[1].T, 1.5 ** 2 * np.eye(50), atol=1e-12)   # square
    np.testing.assert_allclose(ortho[2] @ ortho[2].T, 1.5 ** 2 * np.eye(10), atol=1e-12)   # wide: rows
    square = init.orthogonal([40] * 21, n_runs=2, seed=2)
    sv = np.linalg.svd(networks.end_to_end(square), compute_uv=False)
    np.testing.assert_allclose(sv, 1.0, atol=1e-12)
    with pytest.raises(ValueError, match="gain"):
        init.orthogonal(widths, gain=-1.0)
    with pytest.raises(ValueError, match="gain"):
        init.scaled_gaussian(widths, gain=-1.0)


def test_readout_gain_sets_only_the_last_matrix():
    widths = [30, 50, 50, 10]
    ortho = init.orthogonal(widths, gain=4.0, readout_gain=1.0, seed=1)
    np.testing.assert_allclose(ortho[1] @ ortho[1].T, 16.0 * np.eye(50), atol=1e-12)
    np.testing.assert_allclose(ortho[2] @ ortho[2].T, np.eye(10), atol=1e-12)
    same = init.orthogonal(widths, gain=4.0, seed=1)      # the same draw: only the scale of the read-out differs
    np.testing.assert_allclose(ortho[2], same[2] / 4.0, atol=1e-15)
    np.testing.assert_array_equal(ortho[0], same[0])
    ws = init.scaled_gaussian(widths, gain=3.0, readout_gain=0.5, n_runs=300, seed=0)
    assert np.std(ws[1]) == pytest.approx(3.0 / np.sqrt(50), rel=0.02)
    assert np.std(ws[2]) == pytest.approx(0.5 / np.sqrt(50), rel=0.02)
    with pytest.raises(ValueError, match="readout_gain"):
        init.orthogonal(widths, readout_gain=-1.0)


def test_greedy_pretraining_learns_principal_components():
    """Each pretrained layer's encoder becomes R M^(1/2) Q^T with Q the principal components and M -> I."""
    rng = np.random.default_rng(0)
    q = init.random_orthogonal(6, seed=rng)
    X = q @ (np.sqrt([4.0, 3.0, 2.0, 1.5, 1.0, 0.8])[:, None] * init.random_orthogonal(6, 40, seed=rng))
    task = tasks.Task.from_samples(X, rng.standard_normal((2, 40)))
    widths = [6, 4, 4, 2]
    weights, aes = init.greedy_pretraining(task, widths, lr=0.05, steps=3000, seed=1)
    assert [w.shape for w in weights] == [(4, 6), (4, 4), (2, 4)]
    assert len(aes) == 2
    # 4 units reconstruct the top 4 PCs: the loss left is half the variance of the last two (1.0 + 0.8) / 2
    assert aes[0].loss[-1] == pytest.approx(0.9, abs=1e-4)
    # first encoder: rows span the top-4 principal components, and W^T W is their projector
    evals, evecs = np.linalg.eigh(task.sigma11)
    top = evecs[:, np.argsort(evals)[::-1][:4]]
    w1 = weights[0]
    np.testing.assert_allclose(w1.T @ w1, top @ top.T, atol=1e-3)
    # the second autoencoder saw the first layer's output covariance, which is near I_4: its encoder is orthogonal
    np.testing.assert_allclose(weights[1].T @ weights[1], np.eye(4), atol=1e-3)
    assert np.std(weights[2]) < 0.05
    with pytest.raises(ValueError, match="hidden layer"):
        init.greedy_pretraining(task, [6, 2], lr=0.05, steps=10)



def test_least_squares_top_is_the_best_read_out_of_the_hidden_layer():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((6, 50)) * np.linspace(0.5, 2.0, 6)[:, None]
    task = tasks.Task.from_samples(X, rng.standard_normal((3, 6)) @ X + 0.3 * rng.standard_normal((3, 50)))
    weights = init.gaussian([6, 4, 4, 3], 0.5, seed=3)
    fitted = init.least_squares_top(weights, task)
    np.testing.assert_array_equal(fitted[0], weights[0])
    hidden = weights[1] @ weights[0] @ X
    reference = np.linalg.lstsq(hidden.T, task.Y.T, rcond=None)[0].T      # regression on the samples themselves
    np.testing.assert_allclose(fitted[-1], reference, rtol=1e-9, atol=1e-12)
    # the gradient with respect to the top layer vanishes there, and any other top layer does worse
    product = fitted[2] @ fitted[1] @ fitted[0]
    np.testing.assert_allclose((task.sigma31 - product @ task.sigma11) @ (weights[1] @ weights[0]).T, 0.0, atol=1e-9)
    assert task.loss(product) < task.loss((fitted[2] + 0.01) @ fitted[1] @ fitted[0])
    # balanced: the same end-to-end map, every layer at the geometric mean of the spectral norms
    balanced = init.least_squares_top(weights, task, balance=True)
    np.testing.assert_allclose(balanced[2] @ balanced[1] @ balanced[0], product, rtol=1e-12, atol=1e-12)
    norms = [np.linalg.norm(w, 2) for w in fitted]
    np.testing.assert_allclose([np.linalg.norm(w, 2) for w in balanced], np.prod(norms) ** (1 / 3), rtol=1e-12)
    assert max(norms) / min(norms) > 2          # the unbalanced layers differ, so the rescaling did something
    with pytest.raises(TypeError, match="balance"):
        init.least_squares_top(weights, task, balance="yes")
    with pytest.raises(ValueError, match="singular"):
        init.least_squares_top([np.zeros((4, 6)), np.zeros((3, 4))], task)
    with pytest.raises(ValueError, match="two weight matrices"):
        init.least_squares_top([np.zeros((3, 6))], task)


def test_principal_component_consistency_separates_its_two_parts():
    rng = np.random.default_rng(4)
    q = init.random_orthogonal(8, seed=rng)
    sigma11 = q @ np.diag([5.0, 4.0, 3.0, 2.0, 1.0, 0.5, 0.3, 0.1]) @ q.T
    assert init.principal_component_consistency(sigma11, q[:, [0, 2, 5]]) == pytest.approx((0.0, 0.0), abs=1e-12)
    rotated = q[:, :3] @ init.random_orthogonal(3, seed=rng)          # same span, not the principal axes
    off, leak = init.principal_component_consistency(sigma11, rotated)
    assert off > 0.05 and leak == pytest.approx(0.0, abs=1e-12)
    mixed = q[:, :3].copy()
    mixed[:, 2] = (q[:, 2] + q[:, 7]) / np.sqrt(2)                   # pairs the 3rd axis with a direction outside
    off, leak = init.principal_component_consistency(sigma11, mixed)
    core = mixed.T @ sigma11 @ mixed                                 # diagonal, yet the span is not invariant
    assert off == pytest.approx(0.0, abs=1e-12) and np.allclose(core, np.diag(np.diag(core)))
    image = sigma11 @ mixed
    assert leak == pytest.approx((3.0 - 0.1) / 2 / np.linalg.norm(image), rel=1e-9)     # residual (3 - 0.1)/2 (q_3 - q_8)/sqrt 2
    with pytest.raises(ValueError, match="orthonormal"):
        init.principal_component_consistency(sigma11, 2 * q[:, :2])

def test_mnist_classification_subset_split_and_scaling():
    data = tasks.mnist_classification(n_test=1000, seed=0)
    assert data.X_train.shape == (4000, 784) and data.X_test.shape == (1000, 784)
    assert np.bincount(data.y_test).tolist() == [100] * 10          # class-balanced held-out set
    np.testing.assert_allclose(data.X_train.mean(axis=0), 0.0, atol=1e-12)
    assert np.mean(data.X_train ** 2) == pytest.approx(1.0, rel=1e-12)
    images = tasks.mnist_classification(n_test=500, image_size=7, seed=1)
    assert images.X_train.shape == (4500, 1, 7, 7) and images.X_test.shape == (500, 1, 7, 7)
    with pytest.raises(ValueError, match="divide 28"):
        tasks.mnist_classification(image_size=5)
    with pytest.raises(ValueError, match="n_test"):
        tasks.mnist_classification(n_test=5000)


def test_mnist_classification_keeps_a_balanced_training_subset_and_the_same_test_set():
    full = tasks.mnist_classification(n_test=1000, seed=3)
    small = tasks.mnist_classification(n_test=1000, seed=3, n_train=2005)
    assert small.X_train.shape == (2005, 784) and np.bincount(small.y_train).tolist() == [201] * 5 + [200] * 5
    np.testing.assert_array_equal(small.y_test, full.y_test)       # the held-out images do not change
    train_rows = {row.tobytes() for row in small.X_train}
    assert not any(row.tobytes() in train_rows for row in small.X_test)
    with pytest.raises(ValueError, match="n_train"):
        tasks.mnist_classification(n_test=1000, n_train=4001)


def test_mnist_classification_from_idx_folder_uses_both_splits(idx_folder):
    folder, images, labels = idx_folder
    data = tasks.mnist_classification(path=folder, n_test=3, image_size=14, seed=0)
    assert data.X_train.shape == (12, 1, 14, 14) and data.X_test.shape == (3, 1, 14, 14)
    pooled = images.reshape(12, 14, 2, 14, 2).mean(axis=(2, 4)) / 255.0
    centred = pooled - pooled.mean(axis=0)
    np.testing.assert_allclose(data.X_train[:, 0], centred / np.sqrt(np.mean(centred ** 2)), atol=1e-12)
    assert set(data.y_test.tolist()) <= set(labels[:5].tolist())


def test_mnist_task_subset_keeps_distinct_images_with_their_labels(idx_folder):
    folder, images, labels = idx_folder
    task = tasks.mnist_task(path=folder, n_samples=5, seed=3)
    pixels = images.reshape(12, -1) / 255.0
    kept = [int(np.flatnonzero(np.all(np.isclose(pixels, column), axis=1))[0]) for column in task.X.T]
    assert len(set(kept)) == 5 and kept == sorted(kept)
    np.testing.assert_array_equal(task.Y, np.eye(10)[labels[kept]].T)


def test_mnist_classification_test_split_uses_the_training_mean_and_scale(idx_folder):
    folder, images, labels = idx_folder
    data = tasks.mnist_classification(path=folder, n_test=3, seed=1)
    train_pixels, test_pixels = images.reshape(12, -1) / 255.0, images[:5].reshape(5, -1) / 255.0
    mean = train_pixels.mean(axis=0)
    scale = np.sqrt(np.mean((train_pixels - mean) ** 2))
    expected = (test_pixels - mean) / scale
    for row, label in zip(data.X_test, data.y_test):
        match = np.flatnonzero(np.all(np.abs(expected - row) < 1e-12, axis=1))
        assert match.size == 1 and labels[match[0]] == label


def test_mnist_classification_holds_out_exactly_n_test_balanced_images(monkeypatch):
    """The offline split on a stand-in subset of 20 images per digit (the real one takes seconds to load): 95 = 10 x 9
    + 5, so digits 0-4 give 10 test images and 5-9 give 9. Pixel 1 numbers the images; train and test, standardised by
    one affine map (the training mean and scale), give back 200 evenly spaced values: a partition of the subset."""
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 20)
    images = rng.random((200, 784))
    images[:, 1] = np.arange(200) / 200
    monkeypatch.setattr(tasks, "load_mnist", lambda path=None, split="train": (images, labels))
    data = tasks.mnist_classification(n_test=95, seed=2)
    assert np.bincount(data.y_test).tolist() == [10] * 5 + [9] * 5
    assert np.bincount(data.y_train).tolist() == [10] * 5 + [11] * 5
    ids = np.sort(np.r_[data.X_train[:, 1], data.X_test[:, 1]])
    np.testing.assert_allclose(np.diff(ids), np.diff(ids)[0], rtol=1e-9)
    index = lambda X: np.rint((X[:, 1] - ids[0]) / np.diff(ids)[0]).astype(int)  # noqa: E731
    np.testing.assert_array_equal(labels[index(data.X_test)], data.y_test)            # each image keeps its label
    np.testing.assert_array_equal(labels[index(data.X_train)], data.y_train)


def test_block_orthogonal_gain_and_conv_kernel_variances():
    """block_orthogonal scales norms by its gain exactly. Gaussian kernels: the centre tap of "gaussian_delta" has
    variance sigma_w^2 / c_in (10,000 entries: 1.4 % standard deviation, tolerance 10 %) and the other taps are 0; the
    uniform 1-D profile of 5 taps gives sigma_w^2 / (5 c_in) per tap (20,000 entries each: 1 %, tolerance 8 %)."""
    from dlnlib import convolution
    kernel = init.block_orthogonal(6, 4, 3, 2, gain=1.7, seed=0)
    x = np.random.default_rng(1).standard_normal((3, 4, 5, 5))
    np.testing.assert_allclose(np.linalg.norm(convolution.circular_conv(x, kernel).reshape(3, -1), axis=1),
                               1.7 * np.linalg.norm(x.reshape(3, -1), axis=1), rtol=1e-12)
    delta = init.conv_kernel("gaussian_delta", 200, 50, 2.0, seed=2)
    assert np.var(delta[:, :, 1, 1]) == pytest.approx(2.0 / 50, rel=0.1)
    assert np.count_nonzero(delta) == np.count_nonzero(delta[:, :, 1, 1])
    uniform = init.conv_kernel("gaussian", 200, 100, 2.0, kernel_size=5, ndim=1, seed=3)
    assert uniform.shape == (200, 100, 5)
    np.testing.assert_allclose(np.var(uniform, axis=(0, 1)), 2.0 / 5 / 100, rtol=0.08)
    kernels, _ = init.cnn(8, 2, 2.0, 0.0, kind="gaussian", in_channels=3, kernel_size=5, seed=4)
    assert [k.shape for k in kernels] == [(8, 3, 5, 5), (8, 8, 5, 5)]


def test_whitened_digit_split_fits_the_statistics_on_the_pool_only():
    X, y, mu, X_test, y_test = tasks.whitened_digit_split(3, 5, 20, 300, seed=0)
    assert X.shape == (20, 700) and X_test.shape == (20, 300) and np.sum(y_test > 0) == 150 and np.sum(y > 0) == 350
    np.testing.assert_allclose(X[:, y > 0].mean(axis=1), mu, atol=1e-12)     # exact over the pool
    np.testing.assert_allclose(X[:, y < 0].mean(axis=1), -mu, atol=1e-12)
    residual = X - np.outer(mu, y)
    np.testing.assert_allclose(residual @ residual.T / y.size, np.eye(20), atol=1e-10)
    # the test images are not part of the fit: their residual covariance is not the identity
    test_residual = X_test - np.outer(mu, y_test)
    assert np.abs(test_residual @ test_residual.T / y_test.size - np.eye(20)).max() > 0.05
    # the same 1000 images in total: pool and test set are disjoint and together give whitened_digit_pair's labels
    assert y.size + y_test.size == 1000
    again = tasks.whitened_digit_split(3, 5, 20, 300, seed=0)
    np.testing.assert_array_equal(again[3], X_test)
    with pytest.raises(ValueError, match="n_test"):
        tasks.whitened_digit_split(3, 5, 20, 301)
    with pytest.raises(ValueError, match="n_test"):
        tasks.whitened_digit_split(3, 5, 20, 1000)


def test_whitened_gaussian_split_estimates_on_the_pool_and_converges_to_the_true_mean():
    mu = np.array([1.0, -0.5, 0.25, 0.0])
    X, y, mu_hat, X_test, y_test = tasks.whitened_gaussian_split(mu, 400, 100, seed=1)
    assert X.shape == (4, 400) and X_test.shape == (4, 100) and np.sum(y > 0) == 200 and np.sum(y_test > 0) == 50
    np.testing.assert_allclose(X[:, y > 0].mean(axis=1), mu_hat, atol=1e-12)    # exact over the pool
    residual = X - np.outer(mu_hat, y)
    np.testing.assert_allclose(residual @ residual.T / y.size, np.eye(4), atol=1e-10)
    test_residual = X_test - np.outer(mu_hat, y_test)
    assert np.abs(test_residual @ test_residual.T / y_test.size - np.eye(4)).max() > 0.02   # a fresh sample
    # whitening estimated from 400 samples is an orthogonal-ish map near the identity up to rotation: |mu_hat|^2 -> |mu|^2
    big = tasks.whitened_gaussian_split(mu, 200_000, 2, seed=2)[2]
    assert abs(big @ big - mu @ mu) < 0.02                                       # sampling error ~ 2|mu|/sqrt(N) = 0.005
    with pytest.raises(ValueError, match="n_pool"):
        tasks.whitened_gaussian_split(mu, 4, 2)
    with pytest.raises(ValueError, match="n_test"):
        tasks.whitened_gaussian_split(mu, 10, 3)
