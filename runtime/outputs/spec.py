"""Parse ``--output`` specifications (``udp://host:port``, ``mqtt://...``) into sinks."""

import os
import re
from typing import Callable, Dict, Optional, Tuple
from urllib.parse import SplitResult, parse_qs, unquote, urlsplit

from lince.runtime.errors import _
from lince.runtime.outputs.messages import OutputError
from lince.runtime.outputs.worker import Sink

PASSWORD_VARIABLE = "LINCE_MQTT_PASSWORD"
# The "user:password@" part of a URL; the password ends at the last "@" before the host.
PASSWORD = re.compile(r"^([a-z]+://[^/?#@:]*:)[^/?#]*@")
EXAMPLES = ("stdout, udp://192.168.1.20:5005, serial:///dev/ttyUSB0?baud=115200, "
            "mqtt://127.0.0.1:1883/robot/vision, http://127.0.0.1:8080")


def hide_password(spec: str) -> str:
    """Return ``spec`` with the password of ``scheme://user:password@host`` replaced by ``***``."""
    return PASSWORD.sub(r"\1***@", spec)


def parse_output(spec: str) -> Sink:
    """Return the sink that ``spec`` names; raise OutputError when it is invalid.

    Error messages show the specification with its password hidden.
    """
    text = spec.strip()
    spec = hide_password(text)
    if text in ("stdout", "-"):
        from lince.runtime.outputs.stdout import StdoutSink

        return StdoutSink()
    url = urlsplit(text)
    builder = BUILDERS.get(url.scheme)
    if builder is None:
        raise OutputError(_("Unknown output {spec!r}: use one of {examples}.").format(spec=spec, examples=EXAMPLES))
    if "#" in text:
        # urlsplit would cut the text at '#' and silently drop the rest.
        raise OutputError(_("Invalid output {spec!r}: '#' is not allowed; an MQTT topic to publish on cannot "
                            "contain it, and elsewhere write it as %23.").format(spec=spec))
    return builder(spec, url, _query(spec, url))


def _query(spec: str, url: SplitResult) -> Dict[str, str]:
    try:
        pairs = parse_qs(url.query, keep_blank_values=True, strict_parsing=bool(url.query))
    except ValueError:
        message = _("Invalid output {spec!r}: the part after '?' must be name=value pairs joined by '&'.")
        raise OutputError(message.format(spec=spec)) from None
    repeated = [name for name, values in pairs.items() if len(values) > 1]
    if repeated:
        raise OutputError(_("Invalid output {spec!r}: {name} is given twice.").format(spec=spec, name=repeated[0]))
    return {name: values[0] for name, values in pairs.items()}


def _check_options(spec: str, options: Dict[str, str], known: Tuple[str, ...]) -> None:
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise OutputError(_("Invalid output {spec!r}: unknown option {name!r}; known options: {known}.").format(
            spec=spec, name=unknown[0], known=", ".join(known) or _("none")))


def _host_port(spec: str, url: SplitResult, default_host: Optional[str], default_port: Optional[int],
               any_port: bool = False):
    """Return (host, port); port 0 (any free port) only where ``any_port`` allows it."""
    try:
        port = url.port
    except ValueError:
        port = -1
    if port == -1 or (port == 0 and not any_port):
        raise OutputError(_("Invalid output {spec!r}: the port must be a number from 1 to 65535.").format(spec=spec))
    host = url.hostname or default_host
    port = default_port if port is None else port
    if not host or port is None:
        raise OutputError(_("Invalid output {spec!r}: give a host and a port, as in {example}.").format(
            spec=spec, example=f"{url.scheme}://127.0.0.1:5005"))
    return host, port


def int_option(spec: str, options: Dict[str, str], name: str, default: int, low: int, high: int) -> int:
    """Return option ``name`` as an int in [low, high], or ``default`` when absent."""
    if name not in options:
        return default
    try:
        value = int(options[name])
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise OutputError(_("Invalid output {spec!r}: {name} must be a whole number from {low} to {high}.").format(
            spec=spec, name=name, low=low, high=high))
    return value


def _udp(spec, url, options):
    from lince.runtime.outputs.udp import UdpSink

    _check_options(spec, options, ())
    host, port = _host_port(spec, url, None, None)
    return UdpSink(host, port)


def _serial(spec, url, options):
    from lince.runtime.outputs.serial_line import DEFAULT_FORMAT, LINE_ENDINGS, SerialSink

    _check_options(spec, options, ("baud", "format", "eol"))
    device = unquote(url.netloc + url.path)
    if not device:
        raise OutputError(_("Invalid output {spec!r}: give the serial device, as in serial:///dev/ttyUSB0.").format(
            spec=spec))
    baud = int_option(spec, options, "baud", 115200, 50, 4_000_000)
    eol = options.get("eol", "lf")
    if eol not in LINE_ENDINGS:
        raise OutputError(_("Invalid output {spec!r}: eol must be one of {choices}.").format(
            spec=spec, choices=", ".join(LINE_ENDINGS)))
    return SerialSink(device, baud, options.get("format", DEFAULT_FORMAT), LINE_ENDINGS[eol])


# Limitation: mqtts:// (TLS) and websockets are not supported. Such a
# specification is rejected as an unknown output, so use a broker on the
# robot's network, or a tunnel to a remote one.
def _mqtt(spec, url, options):
    from lince.runtime.outputs.mqtt import DEFAULT_TOPIC, MqttSink

    _check_options(spec, options, ("qos", "retain", "client_id", "keepalive"))
    host, port = _host_port(spec, url, None, 1883)
    topic = unquote(url.path.lstrip("/")) or DEFAULT_TOPIC
    if "+" in topic or "#" in topic:
        message = _("Invalid output {spec!r}: a topic to publish on cannot contain the wildcards + or #.")
        raise OutputError(message.format(spec=spec))
    return MqttSink(
        host, port, topic,
        qos=int_option(spec, options, "qos", 1, 0, 2),
        retain=bool(int_option(spec, options, "retain", 1, 0, 1)),
        client_id=options.get("client_id", ""),
        keepalive=int_option(spec, options, "keepalive", 30, 5, 3600),
        username=unquote(url.username) if url.username else None,
        password=_mqtt_password(url),
    )


def _mqtt_password(url: SplitResult) -> Optional[str]:
    """Return the password of the URL, else ``$LINCE_MQTT_PASSWORD`` when the URL names a user.

    The variable keeps the password out of command lines and unit files,
    which other users of the machine can read.
    """
    if url.password:
        return unquote(url.password)
    if url.username:
        return os.environ.get(PASSWORD_VARIABLE)
    return None


def _http(spec, url, options):
    from lince.runtime.outputs.http_preview import HttpPreviewSink

    _check_options(spec, options, ("quality",))
    if url.path not in ("", "/"):
        raise OutputError(_("Invalid output {spec!r}: the preview server takes no path; "
                            "give only a host and a port, as in http://127.0.0.1:8080.").format(spec=spec))
    host, port = _host_port(spec, url, "127.0.0.1", 8080, any_port=True)
    return HttpPreviewSink(host, port, jpeg_quality=int_option(spec, options, "quality", 80, 1, 100))


BUILDERS: Dict[str, Callable[[str, SplitResult, Dict[str, str]], Sink]] = {
    "udp": _udp,
    "serial": _serial,
    "mqtt": _mqtt,
    "http": _http,
}
