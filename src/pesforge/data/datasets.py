"""Named data sets: the bundled rMD17 ethanol split and the full revised MD17 on disk.

Revised MD17: Christensen & von Lilienfeld, Mach. Learn.: Sci. Technol. 1, 045018 (2020), CC0.
Labels are PBE/def2-SVP (ORCA); frames come from MD, so successive frames are correlated and
no more than 1000 frames of a molecule should be trained on.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from pesforge.data.frame import Frame, LevelOfTheory
from pesforge.data.readers import Index, read

#: Molecules of revised MD17.
RMD17_MOLECULES = ("aspirin", "benzene", "ethanol", "malonaldehyde", "naphthalene",
                   "salicylic", "toluene", "uracil")
#: Environment variable naming the folder with the full rMD17 NPZ files.
RMD17_ENV = "PESFORGE_RMD17"
_BUNDLED_MOLECULES = ("ethanol",)


def bundled_path(name: str) -> Path:
    """Path of a data file shipped inside the package (``pesforge/resources/<name>``)."""
    path = Path(str(resources.files("pesforge").joinpath("resources", name)))
    if not path.is_file():
        available = sorted(p.name for p in path.parent.iterdir() if p.is_file()) \
            if path.parent.is_dir() else []
        raise FileNotFoundError(f"no bundled data file {name!r}; bundled: {available}")
    return path


def rmd17_root(root: str | os.PathLike | None = None) -> Path:
    """Folder of the full rMD17 files: ``root``, else ``$PESFORGE_RMD17``, else
    ``../shared/data/rmd17`` relative to the working directory."""
    if root is not None:
        return Path(root)
    return Path(os.environ.get(RMD17_ENV) or Path("..") / "shared" / "data" / "rmd17")


def rmd17(molecule: str = "ethanol", split: str = "train", *, split_id: int = 1,
          root: str | os.PathLike | None = None, index: Index = ":",
          level_of_theory: LevelOfTheory | str | dict | None = None) -> list[Frame]:
    """Frames of one published rMD17 split, in eV and eV/Å.

    Args:
        molecule: one of :data:`RMD17_MOLECULES`.
        split: ``"train"`` or ``"test"`` (1000 frames each).
        split_id: which published split (files ``rmd17_<molecule>_<split>_<id:02d>.npz``).
        root: folder holding the files. When None, ethanol split 01 comes from the package
            (see :func:`bundled_path`); other molecules from :func:`rmd17_root`.
        index: which frames (see :func:`~pesforge.data.readers.read`).
        level_of_theory: override the default PBE/def2-SVP (ORCA).

    Raises:
        ValueError: unknown molecule or split.
        FileNotFoundError: the file is not bundled and not under the root.
    """
    if molecule not in RMD17_MOLECULES:
        raise ValueError(f"unknown rMD17 molecule {molecule!r}; choose from {RMD17_MOLECULES}")
    if split not in ("train", "test"):
        raise ValueError(f"rMD17 split must be 'train' or 'test', got {split!r}")
    name = f"rmd17_{molecule}_{split}_{split_id:02d}.npz"
    if root is None and molecule in _BUNDLED_MOLECULES and split_id == 1:
        path = bundled_path(name)
    else:
        path = rmd17_root(root) / name
        if not path.is_file():
            raise FileNotFoundError(
                f"rMD17 data missing: {path} does not exist. Pass root=... or set "
                f"${RMD17_ENV} to a folder of rmd17_<molecule>_<split>_NN.npz files (one "
                f"published split of revised MD17, doi:10.6084/m9.figshare.12672038, with "
                f"arrays nuclear_charges, coords, energies, forces).")
    return read(path, index=index, level_of_theory=level_of_theory, format="npz")
