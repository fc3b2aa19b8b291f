"""Bad input raises DataError naming the file, the frame and the field; nothing is skipped."""

import copy

import numpy as np
import pytest

from pesforge.data import DataError, Frame, read, validate_frame, validate_frames

GOOD = ('3\nProperties=species:S:1:pos:R:3:forces:R:3 energy=-1.0 pbc="F F F"\n'
        "O 0.0 0.0 0.0 0 0 0\nH 0.96 0.0 0.0 0 0 0\nH -0.24 0.93 0.0 0 0 0\n")


def frame_text(header, lines):
    return f"{len(lines)}\n{header}\n" + "".join(line + "\n" for line in lines)


BAD = {
    "nan_energy": (frame_text('Properties=species:S:1:pos:R:3:forces:R:3 energy=nan pbc="F F F"',
                              ["H 0 0 0 0 0 0", "H 0 0 0.74 0 0 0"]), "energy", "not finite"),
    "inf_position": (frame_text('Properties=species:S:1:pos:R:3 energy=1.0 pbc="F F F"',
                                ["H 0 0 inf", "H 0 0 0.74"]), "positions", "not finite"),
    "forces_shape": (frame_text('Properties=species:S:1:pos:R:3:forces:R:2 energy=1.0',
                                ["H 0 0 0 1 1", "H 0 0 0.74 1 1"]),
                     "forces", r"shape \(2, 2\) does not match 2 atoms"),
    "unknown_element": (frame_text('Properties=species:S:1:pos:R:3 energy=1.0',
                                   ["H 0 0 0", "Xx 0 0 0.74"]), "species", "unknown element 'Xx'"),
    "dummy_atom": (frame_text('Properties=species:S:1:pos:R:3 energy=1.0',
                              ["H 0 0 0", "X 0 0 0.74"]), "numbers", "atomic number 0"),
    "too_close": (frame_text('Properties=species:S:1:pos:R:3:forces:R:3 energy=1.0',
                             ["H 0 0 0 0 0 0", "H 0 0 0.05 0 0 0"]),
                  "positions", "atoms 0 and 1 are 0.0500 Å apart"),
    "pbc_without_lattice": (frame_text('Properties=species:S:1:pos:R:3 energy=1.0 pbc="T T T"',
                                       ["H 0 0 0", "H 0 0 0.74"]), "cell", "missing or zero"),
    "degenerate_cell": (frame_text('Lattice="3 0 0 6 0 0 0 0 3" Properties=species:S:1:pos:R:3 '
                                   'energy=1.0 pbc="T T T"', ["H 0 0 0", "H 0 0 0.74"]),
                        "cell", "linearly dependent"),
    "image_too_close": (frame_text('Lattice="0.05 0 0 0 5 0 0 0 5" Properties=species:S:1:pos:R:3'
                                   ' energy=1.0 pbc="T T T"', ["H 0 0 0"]),
                        "positions", r"atoms 0 and 0 \(periodic image\) are 0.0500 Å"),
    "missing_forces": (frame_text('Properties=species:S:1:pos:R:3 energy=1.0',
                                  ["H 0 0 0", "H 0 0 0.74"]),
                       "forces", "missing, while 3 of 4 frames in this file have forces"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_frame_raises_with_file_frame_and_field(tmp_path, case):
    bad, field, message = BAD[case]
    path = tmp_path / f"{case}.xyz"
    path.write_text(GOOD + GOOD + bad + GOOD)
    with pytest.raises(DataError, match=message) as info:
        read(path)
    error = info.value
    assert isinstance(error, ValueError)
    assert (error.file, error.frame, error.field) == (str(path), 2, field)
    assert str(error).startswith(f"{path}: frame 2: {field}: ")


def test_bad_header_is_located(tmp_path):
    path = tmp_path / "garbage.xyz"
    path.write_text(GOOD + GOOD + GOOD + "abc\nnot a frame\n")
    with pytest.raises(DataError) as info:
        read(path)
    assert info.value.frame == 3 and info.value.field == "format"


def test_truncated_last_frame(tmp_path):
    path = tmp_path / "truncated.xyz"
    path.write_text(GOOD + GOOD + "3\nProperties=species:S:1:pos:R:3 energy=1.0\nH 0 0 0\n")
    with pytest.raises(DataError, match="cannot parse extxyz") as info:
        read(path)
    assert info.value.frame == 2 and info.value.field == "format"


def test_empty_file(tmp_path):
    path = tmp_path / "empty.xyz"
    path.write_text("")
    with pytest.raises(DataError, match="empty.xyz: contains no frames") as info:
        read(path)
    assert info.value.frame is None


def test_validate_false_returns_bad_frames(tmp_path):
    path = tmp_path / "nan.xyz"
    path.write_text(GOOD + BAD["nan_energy"][0])
    frames = read(path, validate=False)
    assert len(frames) == 2 and np.isnan(frames[1].energy)


def test_single_atoms_may_omit_forces(tmp_path):
    path = tmp_path / "isolated.xyz"
    path.write_text(GOOD + frame_text("Properties=species:S:1:pos:R:3 energy=-13.6", ["H 0 0 0"]))
    frames = read(path)
    assert frames[1].forces is None and frames[0].forces is not None


def test_validate_frame_directly():
    frame = Frame(numbers=[1, 200], positions=[[0, 0, 0], [0, 0, 1.0]])
    with pytest.raises(DataError, match="x.xyz: frame 7: numbers: unknown element with atomic"):
        validate_frame(frame, "x.xyz", 7)
    frame = Frame(numbers=[1, 1], positions=[[0, 0, 0], [0, 0, 1.0]],
                  stress=np.array([[np.nan, 0, 0], [0, 0, 0], [0, 0, 0]]))
    with pytest.raises(DataError, match="stress: not finite"):
        validate_frame(frame, "x.xyz", 0)
    frame = Frame(numbers=[1, 1], positions=[[0, 0, 0], [0, 0, 1.0]], cell=np.eye(3) * 3,
                  pbc=[True, True, False])
    validate_frame(frame, "x.xyz", 0)
    with pytest.raises(DataError, match="contains no frames"):
        validate_frames([], "x.xyz")


def test_close_contact_in_large_periodic_frame():
    rng = np.random.default_rng(1)
    grid = np.stack(np.meshgrid(*[np.arange(8)] * 3, indexing="ij"), -1).reshape(-1, 3) * 2.0
    positions = grid + rng.uniform(-0.2, 0.2, grid.shape)
    frame = Frame(numbers=np.full(len(grid), 6), positions=positions, cell=np.eye(3) * 16.0,
                  pbc=True)
    validate_frame(frame, "big.xyz", 0)
    positions[100] = positions[7] + np.array([16.0 - 0.08, 0.0, 0.0])  # image of 7 across x
    with pytest.raises(DataError, match=r"atoms \d+ and \d+ \(periodic image\) are 0.0800"):
        validate_frame(Frame(numbers=frame.numbers, positions=positions, cell=frame.cell,
                             pbc=True), "big.xyz", 0)


def test_data_error_survives_reduce():
    # deepcopy goes through __reduce__, as sending the error between processes does
    error = copy.deepcopy(DataError("a.xyz", 3, "forces", "bad"))
    assert (error.file, error.frame, error.field, str(error)) == (
        "a.xyz", 3, "forces", "a.xyz: frame 3: forces: bad")
