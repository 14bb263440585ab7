"""Render the latest batch of every target as one exposition document.

A scrape only reads batches the scheduler already holds, so it never waits on a slow target.
To stay fast with hundreds of targets, each target's samples are rendered into one text chunk
per family and cached, keyed by the identity of the batch they came from: a target that has
not been polled since the last scrape costs nothing, and one that has been polled reuses its
*layout* (family grouping and the `name{labels} ` prefix of every line) when its names and
labels did not change, which is the common case, so only the values are formatted again.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from monitor.exporter.formats import (
    Family,
    Format,
    family_header,
    format_label_pairs,
    format_value,
    resolve_family,
)
from monitor.gcpause import collector_paused
from monitor.model import Labels, MetricType, SampleBatch

__all__ = ["Exposition"]

Metadata = Mapping[str, tuple[MetricType, str]]


@dataclass(slots=True)
class _Layout:
    """How one target's batch shape maps onto families and line prefixes."""

    names: list[str]
    labels: list[Labels]
    target_labels: Labels
    metadata_size: int
    #: families in first-seen order, each with the indices of its samples in output order
    families: list[tuple[Family, list[int]]]
    prefixes: list[str]

    def fits(self, batch: SampleBatch, metadata_size: int) -> bool:
        return (
            self.metadata_size == metadata_size
            and self.target_labels == batch.target_labels
            and self.names == batch.names
            and self.labels == batch.labels
        )


@dataclass(slots=True)
class _Rendered:
    batch: SampleBatch
    layout: _Layout
    #: a copy of the batch's values and their text, to reuse the text of unchanged values
    values: list[float]
    texts: list[str]
    chunks: list[tuple[Family, str]]


class Exposition:
    """Renders batches to Prometheus text or OpenMetrics; keeps a per-target chunk cache.

    One instance serves every scrape; `render` is thread-safe (waitress serves requests on
    several threads).
    """

    def __init__(self) -> None:
        self._cache: dict[Labels, _Rendered] = {}
        self._lock = threading.Lock()
        self._layouts = _LayoutBuilder()

    def render(self, batches: Iterable[SampleBatch], metadata: Metadata, fmt: Format) -> bytes:
        """One document with every sample of `batches`, grouped by family.

        `metadata` maps a metric name to its (type, help); each batch's own `metadata`
        fills in names the map lacks.

        The cyclic collector is paused meanwhile: at 1,000 targets a render builds ~400,000
        strings and the containers that hold them, and the young-generation passes those
        allocations trigger (each walking what the render has built so far) were half its
        CPU (1.18 s of a render, 0.46 s paused: `bench/readers_scale_bench.py`). Nothing it
        makes is cyclic.
        """
        with self._lock, collector_paused():
            return self._render(batches, metadata, fmt)

    def _render(self, batches: Iterable[SampleBatch], metadata: Metadata, fmt: Format) -> bytes:
        families: dict[str, Family] = {}
        chunks_by_family: dict[str, list[str]] = {}
        seen: dict[Labels, _Rendered] = {}
        for batch in sorted(batches, key=_target_key):
            rendered = self._rendered(batch, metadata)
            seen[batch.target_labels] = rendered
            for family, chunk in rendered.chunks:
                existing = chunks_by_family.get(family.name)
                if existing is None:
                    families[family.name] = family
                    chunks_by_family[family.name] = [chunk]
                else:
                    existing.append(chunk)
        self._cache = seen
        parts: list[str] = []
        for name in sorted(chunks_by_family):
            parts.append(family_header(families[name], fmt))
            parts.extend(chunks_by_family[name])
        if fmt is Format.OPENMETRICS:
            parts.append("# EOF\n")
        # "replace": a lone surrogate (a collector decoding with surrogateescape) must cost
        # one character, not the whole scrape
        return "".join(parts).encode("utf-8", "replace")

    def _rendered(self, batch: SampleBatch, metadata: Metadata) -> _Rendered:
        cached = self._cache.get(batch.target_labels)
        if cached is not None and cached.batch is batch:
            return cached
        metadata_size = len(metadata) + len(batch.metadata)
        if cached is not None and cached.layout.fits(batch, metadata_size):
            layout = cached.layout
        else:
            layout = self._layouts.build(batch, metadata, metadata_size)
        values = list(batch.values)
        if cached is not None and layout is cached.layout:
            # Most gauges (configs, info series, idle commands) repeat their last value;
            # formatting floats is the bulk of a render's cost.
            texts = [
                old_text if value == old_value else format_value(value)
                for value, old_value, old_text in zip(
                    values, cached.values, cached.texts, strict=True
                )
            ]
        else:
            texts = [format_value(value) for value in values]
        prefixes = layout.prefixes
        chunks = [
            (family, "".join([f"{prefixes[i]}{texts[i]}\n" for i in indices]))
            for family, indices in layout.families
        ]
        return _Rendered(batch, layout, values, texts, chunks)


def _target_key(batch: SampleBatch) -> Labels:
    return batch.target_labels


class _LayoutBuilder:
    """Builds layouts, remembering what repeats across targets: the family grouping of
    each list of names (targets of one kind mostly share it), the family of each name, and
    the rendered text of each sample label set."""

    _MAX_CACHED = 200_000  # label sets; bounds memory if labels churn
    _MAX_GROUPINGS = 1_000  # distinct name lists

    def __init__(self) -> None:
        self._families_for = -1
        self._families: dict[str, Family] = {}
        self._groupings: dict[tuple[str, ...], list[tuple[Family, list[int]]]] = {}
        self._label_text: dict[Labels, str] = {}

    def build(self, batch: SampleBatch, metadata: Metadata, metadata_size: int) -> _Layout:
        if len(metadata) != self._families_for or len(self._groupings) > self._MAX_GROUPINGS:
            self._families_for = len(metadata)
            self._families = {}
            self._groupings = {}
        names = tuple(batch.names)
        grouped = self._groupings.get(names)
        if grouped is None:
            # A name's family is remembered across targets: a batch's own metadata only
            # fills names the shared map lacks, and collectors describe a name the same way
            # on every target.
            combined = {**batch.metadata, **metadata} if batch.metadata else metadata
            grouped = self._groupings[names] = self._group(batch.names, combined)
        families = [
            (family, _histogram_order(batch, indices))
            if family.kind is MetricType.HISTOGRAM
            else (family, indices)
            for family, indices in grouped
        ]
        return _Layout(
            names=list(batch.names),
            labels=list(batch.labels),
            target_labels=batch.target_labels,
            metadata_size=metadata_size,
            families=families,
            prefixes=self._prefixes(batch),
        )

    def _group(self, names: list[str], metadata: Metadata) -> list[tuple[Family, list[int]]]:
        """Families in first-seen order, each with the indices of its samples."""
        resolved = self._families
        by_family: dict[str, tuple[Family, list[int]]] = {}
        for index, name in enumerate(names):
            family = resolved.get(name)
            if family is None:
                family = resolved[name] = resolve_family(name, metadata)
            entry = by_family.get(family.name)
            if entry is None:
                by_family[family.name] = (family, [index])
            else:
                entry[1].append(index)
        return list(by_family.values())

    def _prefixes(self, batch: SampleBatch) -> list[str]:
        """`name{labels} ` of every sample: its own labels, then the target's. Label order
        inside the braces does not matter to any parser, so nothing is sorted per sample."""
        target_names = {name for name, _ in batch.target_labels}
        target_text = format_label_pairs(batch.target_labels)
        bare = f"{{{target_text}}} " if target_text else " "
        if len(self._label_text) > self._MAX_CACHED:
            self._label_text = {}
        label_text = self._label_text
        prefixes: list[str] = []
        for name, own in zip(batch.names, batch.labels, strict=True):
            if not own:
                prefixes.append(name + bare)
                continue
            if not target_names.isdisjoint(pair[0] for pair in own):
                # Target labels win over a sample label of the same name: they identify
                # the series.
                own = tuple(pair for pair in own if pair[0] not in target_names)
            text = label_text.get(own)
            if text is None:
                text = label_text[own] = format_label_pairs(own)
            joined = f"{text},{target_text}" if text and target_text else text or target_text
            prefixes.append(f"{name}{{{joined}}} ")
        return prefixes


def _histogram_order(batch: SampleBatch, indices: list[int]) -> list[int]:
    """Keep each histogram's buckets, sum and count together, in that order, as OpenMetrics
    requires, even when a collector emitted all buckets of every label set first."""
    groups: dict[Labels, list[list[int]]] = {}
    for index in indices:
        own = tuple(pair for pair in batch.labels[index] if pair[0] != "le")
        slots = groups.setdefault(own, [[], [], []])
        name = batch.names[index]
        slot = 0 if name.endswith("_bucket") else 1 if name.endswith("_sum") else 2
        slots[slot].append(index)
    return [index for slots in groups.values() for slot in slots for index in slot]
