"""Labelling the pending calls of a :class:`~pesforge.oracles.store.LabelStore` in parallel.

Calls run on Dask workers (``distributed.LocalCluster`` by default; any scheduler address, or
a ``dask-jobqueue`` cluster for SLURM/PBS). The driver writes every label to the store the
moment it arrives; a failed call is recorded with its reason and retried until
``max_attempts``, and never becomes a label.

A SLURM cluster, for example::

    labeling:
      cluster: jobqueue
      jobqueue_class: SLURMCluster     # or PBSCluster, ...
      jobqueue: {cores: 8, memory: 16GB, walltime: "02:00:00", queue: compute,
                 job_script_prologue: ["export OMP_NUM_THREADS=8 OMP_WAIT_POLICY=passive"]}
      n_workers: 4                     # jobs to scale to

(needs ``pip install dask-jobqueue``).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pesforge.data.frame import Frame
from pesforge.oracles.base import Oracle, OracleFailure
from pesforge.oracles.store import LabelStore


class LabelingConfig(BaseModel):
    """How oracle calls are run.

    ``cluster``: ``local`` (a ``distributed.LocalCluster`` of ``n_workers`` processes with
    ``threads_per_worker`` threads each), ``address`` (connect to the scheduler at
    ``address``), ``jobqueue`` (``dask_jobqueue.<jobqueue_class>(**jobqueue)`` scaled to
    ``n_workers`` jobs) or ``serial`` (in this process, no Dask; for debugging and tests).
    ``max_attempts``: oracle invocations per structure before it is marked failed.
    """

    model_config = ConfigDict(extra="forbid")

    cluster: Literal["local", "address", "jobqueue", "serial"] = "local"
    n_workers: int = Field(2, ge=1)
    threads_per_worker: int = Field(1, ge=1)
    processes: bool = True
    address: str | None = None
    jobqueue_class: str = "SLURMCluster"
    jobqueue: dict[str, Any] = Field(default_factory=dict)
    max_attempts: int = Field(2, ge=1)


@dataclass
class LabelingReport:
    """What one :func:`label_pending` pass did: labels written, failed attempts, calls given
    up, wall seconds."""

    labelled: int = 0
    failed_attempts: int = 0
    given_up: int = 0
    seconds: float = 0.0
    reasons: list[str] = field(default_factory=list)


def _call(oracle: Oracle, frame: Frame):
    """Run on a worker: ("ok", labelled frame) or ("fail", reason, retryable)."""
    try:
        return ("ok", oracle.label(frame))
    except OracleFailure as err:
        return ("fail", err.reason, err.retryable)
    except Exception as err:  # anything else from the oracle code is also a failed call
        return ("fail", f"{type(err).__name__}: {err}", True)


def _record(store: LabelStore, row_id: int, attempt: int, result, max_attempts: int,
            report: LabelingReport) -> bool:
    """Write one result to the store; True when the call should be retried."""
    if result[0] == "ok":
        store.record_label(row_id, result[1])
        report.labelled += 1
        return False
    _, reason, retryable = result
    give_up = not retryable or attempt >= max_attempts
    store.record_failure(row_id, reason, give_up=give_up)
    report.failed_attempts += 1
    report.reasons.append(reason)
    report.given_up += int(give_up)
    return not give_up


def label_pending(store: LabelStore, oracle: Oracle, config: LabelingConfig | None = None,
                  client=None) -> LabelingReport:
    """Label every pending call of ``store`` with ``oracle``, retrying failures per policy.

    Args:
        store: the campaign's store; labels and failures are committed as they arrive.
        oracle: a picklable oracle.
        config: cluster and retry policy (default: a local cluster of 2 processes).
        client: an existing ``distributed.Client`` to use instead of starting a cluster.
    """
    config = config or LabelingConfig()
    report = LabelingReport()
    start = time.perf_counter()
    work = store.pending()
    if not work:
        return report
    if config.cluster == "serial" and client is None:
        queue = list(work)
        while queue:
            row_id, frame = queue.pop(0)
            attempt = store.start_attempt(row_id)
            if _record(store, row_id, attempt, _call(oracle, frame), config.max_attempts,
                       report):
                queue.append((row_id, frame))
    else:
        _label_with_dask(store, oracle, config, client, work, report)
    report.seconds = time.perf_counter() - start
    return report


def _label_with_dask(store, oracle, config, client, work, report) -> None:
    from distributed import as_completed

    owned = []
    if client is None:
        client, owned = make_client(config)
    try:
        remote_oracle = client.scatter(oracle, broadcast=True)
        futures, submitted = {}, []
        for row_id, frame in work:
            attempt = store.start_attempt(row_id)
            fut = client.submit(_call, remote_oracle, frame, pure=False)
            futures[fut.key] = (row_id, frame, attempt)
            submitted.append(fut)
        done = as_completed(submitted)
        for fut in done:
            row_id, frame, attempt = futures.pop(fut.key)
            if _record(store, row_id, attempt, fut.result(), config.max_attempts, report):
                attempt = store.start_attempt(row_id)
                again = client.submit(_call, remote_oracle, frame, pure=False)
                futures[again.key] = (row_id, frame, attempt)
                done.add(again)
    finally:
        for thing in reversed(owned):
            thing.close()


def make_client(config: LabelingConfig):
    """A ``distributed.Client`` for ``config`` and the objects to close afterwards."""
    from distributed import Client, LocalCluster

    if config.cluster == "address":
        if not config.address:
            raise ValueError("labeling.cluster 'address' needs labeling.address")
        client = Client(config.address)
        return client, [client]
    if config.cluster == "jobqueue":
        try:
            import dask_jobqueue
        except ImportError as err:
            raise ImportError("labeling.cluster 'jobqueue' needs dask-jobqueue: "
                              "pip install dask-jobqueue") from err
        cluster = getattr(dask_jobqueue, config.jobqueue_class)(**config.jobqueue)
        cluster.scale(jobs=config.n_workers)
    else:
        # workers inherit the environment: keep idle OpenMP threads from spinning
        os.environ.setdefault("OMP_WAIT_POLICY", "passive")
        os.environ.setdefault("OMP_NUM_THREADS", str(config.threads_per_worker))
        cluster = LocalCluster(n_workers=config.n_workers,
                               threads_per_worker=config.threads_per_worker,
                               processes=config.processes, dashboard_address=None)
    client = Client(cluster)
    return client, [cluster, client]
