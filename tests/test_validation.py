"""The shared validators of dlnlib._validation: every kind of wrong value is refused with the argument's name, every
right one accepted unchanged (property-style tables: all NumPy integer and float types, all wrong kinds)."""
import numpy as np
import pytest
import torch

from dlnlib import _validation as v

INTEGER_TYPES = [int, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64]
FLOAT_TYPES = [float, np.float16, np.float32, np.float64]
NOT_INTEGERS = [1.5, 2.0, np.float64(2.0), np.float32(3.0), True, False, np.bool_(True), "2", b"2", None, [2], (2,),
                np.array([2]), 2 + 0j, object()]
NOT_REAL = [("a string", "1.5"), ("bytes", b"1"), ("True", True), ("np.bool_", np.bool_(False)), ("complex", 1 + 0j),
            ("complex array", np.array([1.0, 2.0 + 1e-9j])), ("string array", np.array(["1", "2"])),
            ("list of strings", ["1.0"]), ("None", None), ("object", object()), ("bool array", np.array([True, False])),
            ("list of bools", [True, False]), ("mixed list", [1.0, "2"]), ("list of None", [None, 1.0]),
            ("complex tensor", torch.ones(2, dtype=torch.complex64))]
NON_FINITE = [np.nan, np.inf, -np.inf, [1.0, np.nan], np.array([[0.0, np.inf]]), 10 ** 400]


@pytest.mark.parametrize("kind", INTEGER_TYPES)
def test_count_accepts_every_integer_type_and_returns_a_python_int(kind):
    out = v.count(kind(3), "n_thing")
    assert out == 3 and type(out) is int


@pytest.mark.parametrize("value", NOT_INTEGERS, ids=repr)
def test_count_refuses_everything_that_is_not_an_integer(value):
    with pytest.raises(TypeError, match="n_thing must be an integer"):
        v.count(value, "n_thing")


@pytest.mark.parametrize("value, minimum, maximum, match", [
    (0, 1, None, "n_thing must be >= 1, got 0"), (-1, 0, None, "n_thing must be >= 0, got -1"),
    (5, 1, 4, "n_thing must be between 1 and 4, got 5")])
def test_count_bounds_name_the_argument(value, minimum, maximum, match):
    with pytest.raises(ValueError, match=match):
        v.count(value, "n_thing", minimum, maximum)


@pytest.mark.parametrize("kind", INTEGER_TYPES + FLOAT_TYPES)
def test_as_float_array_accepts_real_numbers_of_any_type(kind):
    out = v.as_float_array(kind(2), "x")
    assert out.dtype == np.float64 and out == 2.0


def test_as_float_array_takes_tensors_lists_and_object_arrays_of_numbers():
    np.testing.assert_array_equal(v.as_float_array(torch.tensor([1.0, 2.0], requires_grad=True), "x"), [1.0, 2.0])
    np.testing.assert_array_equal(v.as_float_array([[1, 2], [3, 4.5]], "x"), [[1, 2], [3, 4.5]])
    np.testing.assert_array_equal(v.as_float_array(np.array([1, 2.5], dtype=object), "x"), [1, 2.5])


def test_as_float_array_does_not_copy_float64_arrays():
    x = np.arange(3.0)
    assert v.as_float_array(x, "x") is x


@pytest.mark.parametrize("label, value", NOT_REAL, ids=[label for label, _ in NOT_REAL])
def test_as_float_array_refuses_what_numpy_would_silently_convert(label, value):
    with pytest.raises(TypeError, match="the_arg must be a real number"):
        v.as_float_array(value, "the_arg")


@pytest.mark.parametrize("value", NON_FINITE, ids=repr)
def test_as_float_array_refuses_non_finite_values(value):
    with pytest.raises(ValueError, match="the_arg must be finite"):
        v.as_float_array(value, "the_arg")
    if not isinstance(value, int):
        assert not np.all(np.isfinite(v.as_float_array(value, "the_arg", finite=False)))


def test_as_float_array_refuses_ragged_lists():
    with pytest.raises(ValueError, match="the_arg must be .* rectangular"):
        v.as_float_array([[1.0], [1.0, 2.0]], "the_arg")


@pytest.mark.parametrize("check, bad, match", [
    (v.positive, [1.0, 0.0], "x must be > 0"), (v.positive, -1e-300, "x must be > 0"),
    (v.nonnegative, [0.0, -1e-300], "x must be >= 0"),
    (v.positive_scalar, [1.0, 2.0], "x must be a scalar"), (v.nonnegative_scalar, [0.0], "x must be a single number"),
    (v.real_scalar, np.ones((1, 1)), "x must be a single number")])
def test_sign_and_scalar_checks(check, bad, match):
    with pytest.raises(ValueError, match=match):
        check(bad, "x")


def test_nonnegative_accepts_zero_and_positive_does_not():
    assert v.nonnegative_scalar(0.0, "x") == 0.0
    with pytest.raises(ValueError):
        v.positive_scalar(0.0, "x")


@pytest.mark.parametrize("closed, inside, outside", [
    ("both", [0.0, 0.5, 1.0], [-1e-9, 1.0 + 1e-9]), ("neither", [1e-9, 0.5], [0.0, 1.0]),
    ("left", [0.0], [1.0]), ("right", [1.0], [0.0])])
def test_in_interval_respects_which_ends_are_closed(closed, inside, outside):
    for x in inside:
        assert v.in_interval(x, "p", 0.0, 1.0, closed) == x
    for x in outside:
        with pytest.raises(ValueError, match="p must be in"):
            v.in_interval(x, "p", 0.0, 1.0, closed)


def test_array_checks_dimensions_shapes_and_emptiness():
    assert v.array(np.ones((2, 3)), "m", shape=(2, None)).shape == (2, 3)
    with pytest.raises(ValueError, match=r"m must have shape \(3, n\)"):
        v.array(np.ones((2, 3)), "m", shape=(3, None))
    with pytest.raises(ValueError, match="m must have 2 dimensions"):
        v.array(np.ones(3), "m", ndim=2)
    with pytest.raises(ValueError, match="m must not be empty"):
        v.array([], "m", nonempty=True)


def test_integer_array_accepts_whole_numbers_and_refuses_fractions_booleans_and_strings():
    np.testing.assert_array_equal(v.integer_array([0, 2.0, np.int8(3)], "k", minimum=0), [0, 2, 3])
    with pytest.raises(ValueError, match="k must be non-negative integers"):
        v.integer_array([1.5], "k", minimum=0)
    with pytest.raises(ValueError, match="k must be non-negative integers"):
        v.integer_array([-1], "k", minimum=0)
    for bad in ([True], "2", ["2"], [None], [1j]):
        with pytest.raises(TypeError, match="k must be"):
            v.integer_array(bad, "k")
    with pytest.raises(ValueError, match="k must be <= 3"):
        v.integer_array([4], "k", maximum=3)


def test_odd_count_flag_choice_function_text_and_path():
    assert v.odd_count(np.int64(3), "kernel_size") == 3
    with pytest.raises(ValueError, match="kernel_size must be odd"):
        v.odd_count(2, "kernel_size")
    assert v.flag(np.bool_(True), "progress") is True
    for bad in (1, 0, "yes", None):
        with pytest.raises(TypeError, match="progress must be True or False"):
            v.flag(bad, "progress")
    assert v.choice("b", "kind", ("a", "b")) == "b"
    for bad in ("c", ["a"], None, 3):
        with pytest.raises(ValueError, match="kind must be one of"):
            v.choice(bad, "kind", ("a", "b"))
    with pytest.raises(TypeError, match="loss must be a callable"):
        v.function(3, "loss")
    with pytest.raises(TypeError, match="name must be a string"):
        v.text(3, "name")
    with pytest.raises(TypeError, match="path must be a file or folder name"):
        v.path(3)


def test_broadcastable_names_every_argument():
    assert v.broadcastable(t=np.ones((4, 1)), s=np.ones(3)) == (4, 3)
    with pytest.raises(ValueError, match=r"t, s must broadcast together, got shapes t \(2,\), s \(3,\)"):
        v.broadcastable(t=np.ones(2), s=np.ones(3))


def test_variance_profile():
    np.testing.assert_array_equal(v.variance_profile([0.25, 0.5, 0.25]), [0.25, 0.5, 0.25])
    for bad, match in [([0.5, 0.5], "odd number of taps"), ([1.0, 1.0, 0.0], "sum to 1"), ([1.5, -1.0, 0.5], ">= 0"),
                       (np.full((3, 3), 1 / 9), r"\(k,\)")]:
        with pytest.raises(ValueError, match=f"profile must .*{match}"):
            v.variance_profile(bad, ndims=(1,))


def test_chain_checks_every_matrix_and_how_they_compose():
    ws = v.chain([np.ones((3, 2)), torch.ones(4, 3)], n_in=2, n_out=4)
    assert [w.shape for w in ws] == [(3, 2), (4, 3)] and all(w.dtype == np.float64 for w in ws)
    assert v.chain([np.ones((5, 3, 2))])[0].shape == (5, 3, 2)
    cases = [(np.ones((3, 2)), TypeError, "weights must be a non-empty list"),
             ([], ValueError, "weights must be a non-empty list"),
             ("ab", TypeError, "weights must be a non-empty list"),
             ([np.ones((3, 2)), np.ones((4, 4))], ValueError, r"weights\[1\] expects 4 inputs"),
             ([np.ones(3)], ValueError, r"weights\[0\] must be at least 2-D"),
             ([np.ones((3, 2)) * 1j], TypeError, r"weights\[0\] must be a real number"),
             ([np.full((3, 2), np.nan)], ValueError, r"weights\[0\] must be finite"),
             ([np.ones((2, 3, 2)), np.ones((4, 3))], ValueError, r"weights\[1\] has run axes"),
             ([np.ones((3, 2))], ValueError, r"must take 5 inputs \(n_in\)")]
    for value, error, match in cases:
        with pytest.raises(error, match=match):
            v.chain(value, n_in=5 if "n_in" in match else None)
    with pytest.raises(ValueError, match="without a run axis"):
        v.chain([np.ones((5, 3, 2))], runs=False)


def test_sequence_takes_iterables_but_arrays_only_when_asked():
    assert v.sequence((x for x in range(2)), "runs") == [0, 1]
    assert len(v.sequence(np.ones((3, 2)), "biases", arrays=True)) == 3
    with pytest.raises(TypeError, match="biases must be a non-empty list"):
        v.sequence(np.ones((3, 2)), "biases")


def test_labelled_samples():
    X, y = v.labelled_samples(np.ones((4, 2)), [0, 1, 2.0, 1], "X", "y")
    assert y.dtype == np.int64 and X.shape == (4, 2)
    for X, y, match in [(np.ones((4, 2)), [0, 1, 2], "y must hold one label per sample"),
                        (np.ones((0, 2)), [], "X must hold at least one sample"),
                        (np.ones((4, 2)), [0, 1, 2, 0.5], "y must be non-negative integers"),
                        (np.ones((4, 2)), [0, 1, 2, -1], "y must be non-negative integers"),
                        (np.ones(4), [0, 1, 2, 1], "X must hold at least one sample")]:
        with pytest.raises(ValueError, match=match):
            v.labelled_samples(X, y, "X", "y")
    with pytest.raises(ValueError, match=r"X must have samples of shape \(3,\)"):
        v.labelled_samples(np.ones((4, 2)), [0, 0, 0, 0], "X", "y", sample_shape=(3,))


@pytest.mark.parametrize("seed", [0, 7, np.int64(3), np.uint32(5), None])
def test_generator_accepts_integer_seeds_none_and_generators(seed):
    assert isinstance(v.generator(seed), np.random.Generator)
    rng = np.random.default_rng(1)
    assert v.generator(rng) is rng


@pytest.mark.parametrize("seed, error", [(-1, ValueError), (1.5, TypeError), ("0", TypeError), (True, TypeError),
                                         ([1, 2], TypeError), (np.random.RandomState(0), TypeError)])
def test_generator_refuses_bad_seeds_naming_seed(seed, error):
    with pytest.raises(error, match="seed must be"):
        v.generator(seed)


def test_device_accepts_the_cpu_and_refuses_what_this_machine_lacks():
    assert v.device("cpu") == torch.device("cpu")
    assert v.device(torch.device("cpu")).type == "cpu"
    for bad, error in [("tpu", ValueError), ("cpu:banana", ValueError), (3, TypeError), (None, TypeError)]:
        with pytest.raises(error, match="device"):
            v.device(bad)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match=r"device='cuda' asks for a CUDA GPU.*device='cpu'"):
            v.device("cuda")
    else:
        with pytest.raises(ValueError, match="CUDA device"):
            v.device(f"cuda:{torch.cuda.device_count()}")


def test_task_duck_type():
    class Fake:
        sigma11 = sigma31 = svd = None
        sigma33_trace = 0.0

    assert isinstance(v.task(Fake()), Fake)
    with pytest.raises(TypeError, match="task must be a dlnlib.tasks.Task"):
        v.task(None)
