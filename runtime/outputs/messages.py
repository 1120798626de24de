"""Messages of the outputs: a FrameResult as JSON, or as one short text line."""

import json
import math
from string import Formatter
from typing import Any, Dict

from lince.runtime.errors import LinceError, _
from lince.runtime.results import FrameResult

# Fields of the line protocol that are not plain FrameResult fields.
TEXT_FIELDS = ("label", "stable_label")
# ``stable_index`` of the line protocol while the stable label is "unknown".
UNKNOWN_INDEX = -1


class OutputError(LinceError):
    """An ``--output`` specification is invalid or names an unusable channel."""


def effective_label(result: FrameResult) -> str:
    """Return the label a robot should act on: the stable one, else the raw top-1."""
    return result.stable_label if result.stable_label is not None else result.label


def result_record(result: FrameResult) -> Dict[str, Any]:
    """Return ``result.to_dict()`` with plain Python numbers, ready for JSON.

    The classifier's scores may be NumPy scalars, which ``json`` rejects, and a
    NaN is not valid JSON, so both are converted here.
    """
    return _plain(result.to_dict())


def result_json(result: FrameResult) -> str:
    """Return one compact JSON object (no newline) for ``result``."""
    global _last_json
    # Every JSON output (stdout, UDP, MQTT) encodes the same result in turn:
    # the text of the last one is kept. Output threads may race here, but
    # each reads and writes the pair whole, so at worst a result is encoded twice.
    last = _last_json
    if last[0] is result:
        return last[1]
    text = json.dumps(result_record(result), ensure_ascii=False, separators=(",", ":"))
    _last_json = (result, text)
    return text


_last_json = (None, "")


def _plain(value):
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()  # NumPy scalar -> int/float/bool
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class LineFormat:
    """A ``str.format`` template that turns a FrameResult into one text line.

    The template can use every scalar FrameResult field (``label``, ``index``,
    ``score``, ``stable_label``, ``stable_score``, ``frame_number``, ...).
    ``stable_label``, ``stable_index`` and ``stable_score`` fall back to the
    raw top-1 when the loop does no smoothing. ``stable_index`` is -1 while
    the stable label is ``unknown``, so a microcontroller can read it as a
    whole number. Line breaks inside labels become spaces, so one
    result is always exactly one line.
    """

    def __init__(self, template: str, end: str = "\n"):
        self.template = template
        self.end = end
        self._check()

    def format(self, result: FrameResult) -> str:
        return self.template.format(**self._fields(result)) + self.end

    def _fields(self, result: FrameResult) -> Dict[str, Any]:
        fields = {key: value for key, value in result_record(result).items() if key != "top_k"}
        if result.stable_label is None:
            fields["stable_label"] = result.label
            fields["stable_index"] = fields["index"]
            fields["stable_score"] = fields["score"]
        elif fields["stable_index"] is None:
            # "unknown" has no class index; None would print as "None".
            fields["stable_index"] = UNKNOWN_INDEX
        for key in TEXT_FIELDS:
            fields[key] = str(fields[key]).replace("\r", " ").replace("\n", " ")
        return fields

    def _check(self) -> None:
        """Raise OutputError now if the template would fail on every result."""
        sample = FrameResult(frame_number=0, capture_time=0.0, frame_age_ms=0.0,
                             label="sample", index=0, score=0.5)
        try:
            names = [name for _text, name, _spec, _conv in Formatter().parse(self.template) if name is not None]
            self.format(sample)
        except (KeyError, IndexError, ValueError, AttributeError) as error:
            known = ", ".join(sorted(self._fields(sample)))
            problem = _("unknown field {name}").format(name=error) if isinstance(error, KeyError) else str(error)
            raise OutputError(
                _("Invalid line format {template!r}: {problem}. Use fields in braces, for example "
                  "'{{stable_label}},{{stable_score:.2f}}'; known fields: {known}.").format(
                    template=self.template, problem=problem, known=known)
            ) from None
        if not names:
            raise OutputError(
                _("Invalid line format {template!r}: it uses no field, so every line would be the same. "
                  "Use fields in braces, for example '{{stable_label}},{{stable_score:.2f}}'.").format(
                    template=self.template)
            )
