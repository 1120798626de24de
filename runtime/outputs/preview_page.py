"""The HTML page of the live preview: the current label on a banner above the camera stream."""

import html
import json
from typing import Optional

from lince.runtime.errors import _
from lince.runtime.outputs.messages import effective_label
from lince.runtime.results import FrameResult

# The label is drawn black on yellow in a fixed banner at the top left, so
# it stays legible over any frame and a screenshot test can find it.
PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>lince: {title}</title>
<style>
  html, body {{ margin: 0; background: #202020; color: #f0f0f0; font-family: sans-serif; }}
  #banner {{ position: fixed; top: 0; left: 0; right: 0; height: 96px; background: #ffd400;
             color: #000000; display: flex; align-items: center; padding: 0 24px; box-sizing: border-box; }}
  #label {{ font: bold 56px sans-serif; white-space: nowrap; overflow: hidden; }}
  #score {{ font: 32px sans-serif; margin-left: 24px; }}
  main {{ padding-top: 104px; text-align: center; }}
  #stream {{ max-width: 100%; height: auto; background: #000000; }}
  #status {{ font: 16px monospace; padding: 8px 24px; }}
</style>
</head>
<body>
<header id="banner"><span id="label">{label}</span><span id="score">{score}</span></header>
<main><img id="stream" src="frame.jpg" alt="{stream_text}" width="640" height="480"></main>
<footer id="status">{status}</footer>
<script>
  // The page loads with the last frame; the stream replaces it after the
  // load event, because an endless MJPEG response would otherwise keep the
  // page loading for ever.
  window.addEventListener("load", () => {{ document.getElementById("stream").src = "stream.mjpg"; }});
  async function refresh() {{
    try {{
      const response = await fetch("result", {{cache: "no-store"}});
      if (response.ok) {{
        const result = await response.json();
        const label = result.stable_label ?? result.label;
        const score = result.stable_label === null ? result.score : result.stable_score;
        document.getElementById("label").textContent = label;
        document.getElementById("score").textContent = score.toFixed(2);
        document.title = "lince: " + label;
        document.getElementById("status").textContent = {status_template}
          .replace("{{frame}}", result.frame_number).replace("{{ms}}", result.inference_ms.toFixed(1));
      }}
    }} catch (error) {{
      document.getElementById("status").textContent = {offline_text};
    }}
    setTimeout(refresh, 250);
  }}
  refresh();
</script>
</body>
</html>
"""


def render_page(result: Optional[FrameResult]) -> str:
    """Return the preview page, already showing ``result`` so it needs no script to be read."""
    # Translated when the page is served, in the language of the command line.
    status_template = _("frame {frame}, inference {ms} ms")
    if result is None:
        label, score, status = _("waiting for the first frame"), "", ""
    else:
        label = effective_label(result)
        score_value = result.score if result.stable_label is None else result.stable_score
        score = f"{score_value:.2f}"
        status = status_template.format(frame=result.frame_number, ms=f"{result.inference_ms:.1f}")
    return PAGE.format(
        title=html.escape(label), label=html.escape(label), score=score, status=html.escape(status),
        stream_text=html.escape(_("camera stream")),
        # JSON string literals are valid JavaScript; "</" is escaped so a
        # translation cannot end the script element.
        status_template=_script_string(status_template), offline_text=_script_string(_("no connection to lince")),
    )


def _script_string(text: str) -> str:
    return json.dumps(text).replace("</", "<\\/")
