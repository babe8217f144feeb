"""House style: the figure helper, colours and rcParams."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from dlnlib import plotting  # noqa: E402


def test_use_style_sets_house_rcparams():
    plotting.use_style()
    assert matplotlib.rcParams["axes.spines.top"] is False
    assert matplotlib.rcParams["axes.grid"] is True


def test_figures_are_opaque_white_even_after_a_transparent_backend_default(tmp_path):
    from PIL import Image
    matplotlib.rcParams.update({"figure.facecolor": (1, 1, 1, 0), "savefig.facecolor": "none"})  # as some inline backends
    plotting.use_style()
    fig, ax = plotting.figure()
    ax.plot([0, 1], [0, 1])
    fig.savefig(tmp_path / "f.png")
    plt.close(fig)
    pixels = np.asarray(Image.open(tmp_path / "f.png").convert("RGBA"))
    assert pixels[..., 3].min() == 255, "transparent pixels: the figure would vanish in a dark theme"
    assert (pixels[0, 0, :3] == 255).all()                                  # the margin is white


def test_figure_sizes_and_axes():
    fig, axes = plotting.figure(ncols=3, width=2.0, height=1.5)
    assert axes.shape == (3,)
    np.testing.assert_allclose(fig.get_size_inches(), [6.0, 1.5])
    plt.close(fig)
    fig, ax = plotting.figure()
    assert hasattr(ax, "plot")
    plt.close(fig)


def test_mode_colors_are_distinct_rgba():
    colors = plotting.mode_colors(5)
    assert colors.shape == (5, 4)
    assert len({tuple(c) for c in colors}) == 5
    assert len({plotting.THEORY, plotting.SIMULATION, plotting.NONLINEAR}) == 3
