"""Verdicts (one judged answer) and per-problem readiness reports: the contract between verify and writeup."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

STATUSES = ("correct", "incorrect", "partial", "unchecked", "missing")


@dataclass(frozen=True)
class Verdict:
    """A judgement of one answer.

    subject: "own" for the student's solution, else "<trace file name>#<sample index>".
    details: what was compared, each {"what", "expected", "found", "ok"}.
    critique: a paragraph the writeup may show, always labelled automatic.
    """

    problem: str
    subject: str
    status: str
    score: float = 0.0
    details: tuple[dict, ...] = ()
    critique: str = ""
    reason: str = ""

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"unknown verdict status {self.status!r}")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["details"] = list(self.details)
        return d


@dataclass(frozen=True)
class ProblemReport:
    """What verify found for one problem: deliverables present, verdicts, points at risk."""

    problem: str
    points: float
    type: int
    required: tuple[str, ...]
    present: dict = field(default_factory=dict)  # deliverable -> bool
    verdicts: tuple[Verdict, ...] = ()
    points_at_risk: float = 0.0
    notes: tuple[str, ...] = ()

    @property
    def missing(self) -> list[str]:
        return [d for d in self.required if not self.present.get(d)]

    @property
    def own_verdict(self) -> Verdict | None:
        return next((v for v in self.verdicts if v.subject == "own"), None)

    def to_dict(self) -> dict:
        return {
            "problem": self.problem,
            "points": self.points,
            "type": self.type,
            "required": list(self.required),
            "present": dict(self.present),
            "missing": self.missing,
            "verdicts": [v.to_dict() for v in self.verdicts],
            "points_at_risk": self.points_at_risk,
            "notes": list(self.notes),
        }
