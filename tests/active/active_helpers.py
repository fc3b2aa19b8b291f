"""Shared settings of the active-learning tests."""

TINY_MODEL = {"cutoff": 4.0, "angular_cutoff": 3.0, "n_radial": 6, "n_angular_shells": 2,
              "zetas": [1.0, 4.0], "hidden": [8], "dtype": "float64"}


def cu_config(cu_file, output, **changes):
    tree = {
        "initial": str(cu_file), "oracle": {"kind": "emt"}, "output": str(output),
        "n_initial": 4, "rattle": 0.05, "seed": 3,
        "committee": {"n_models": 2, "model": TINY_MODEL, "max_epochs": 6, "n_validation": 1,
                      "optimizer": {"batch_size": 4}},
        "explore": {"temperatures": [300.0, 900.0], "n_steps": 12, "sample_every": 3,
                    "strains": [0.0, 0.03], "timestep": 2.0, "uncertainty_ceiling": 5.0},
        "select": {"threshold": 0.0, "batch_size": 2},
        "labeling": {"cluster": "serial"},
        "stop": {"max_iterations": 2, "target_uncertainty": 0.0},
    }
    for key, value in changes.items():
        node = tree
        *parents, leaf = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return tree
