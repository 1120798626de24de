"""``lince service install``: the systemd unit it writes, checked by reading it and by systemd-analyze."""

import getpass
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

from conftest import require_fixture
from lince.cli import cli
from lince.cli.service import systemd_quote


@pytest.fixture(scope="module")
def model():
    return require_fixture("models", "mobilenet_v1_0.25_128_quant.tflite")


def install(*args):
    result = CliRunner().invoke(cli, ["service", "install", *map(str, args)])
    return result


def unit_lines(text):
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def exec_start(text):
    return next(line for line in text.splitlines() if line.startswith("ExecStart="))[len("ExecStart="):]


def test_service_prints_system_unit(model):
    result = install(model, "--source", "0", "--output", "mqtt://127.0.0.1/robot/vision", "--on-change",
                     "--rate", "5")
    assert result.exit_code == 0, result.output
    lines = unit_lines(result.output)
    assert lines[0] == "[Unit]"
    assert "After=network-online.target" in lines
    assert f"User={getpass.getuser()}" in lines
    assert "Restart=on-failure" in lines
    assert "RestartSec=5" in lines
    assert "StartLimitIntervalSec=0" in lines
    assert "WantedBy=multi-user.target" in lines
    assert exec_start(result.output) == (
        f"{sys.executable} -m lince run {model} --source 0 --no-window "
        "--output mqtt://127.0.0.1/robot/vision --on-change --rate 5.0")
    assert "sudo systemctl enable --now lince.service" in result.output


def test_service_user_unit(model):
    result = install(model, "-s", "/dev/video0", "--output", "stdout", "--user-unit", "--name", "vision")
    assert result.exit_code == 0, result.output
    lines = unit_lines(result.output)
    assert not any(line.startswith("User=") for line in lines)
    assert "WantedBy=default.target" in lines
    assert "systemctl --user enable --now vision.service" in result.output


def test_service_passes_run_options(model):
    result = install(model, "-s", "0", "--output", "stdout", "--", "--threshold", "0.5", "--roi", "0,0,320,240")
    assert result.exit_code == 0, result.output
    assert exec_start(result.output).endswith("--output stdout --threshold 0.5 --roi 0,0,320,240")


def test_service_rejects_unknown_run_option(model):
    result = install(model, "-s", "0", "--output", "stdout", "--", "--treshold", "0.5")
    assert result.exit_code == 2
    assert "No such option '--treshold'" in result.output


def test_service_rejects_invalid_output(model):
    result = install(model, "-s", "0", "--output", "mqtt://broker/robot/#")
    assert result.exit_code == 1
    assert "'#' is not allowed" in result.output
    assert "Traceback" not in result.output


def test_service_needs_output(model):
    result = install(model, "-s", "0")
    assert result.exit_code == 2
    assert "--output" in result.output


def test_service_rejects_bad_name_and_user(model):
    result = install(model, "-s", "0", "--output", "stdout", "--name", "my robot")
    assert result.exit_code == 2
    assert "letters, digits" in result.output
    result = install(model, "-s", "0", "--output", "stdout", "--user", "no-such-account-here")
    assert result.exit_code == 1
    assert "'no-such-account-here' does not exist" in result.output


def test_service_makes_video_path_absolute(model, tmp_path, monkeypatch):
    (tmp_path / "clip.mp4").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    result = install(model, "-s", "clip.mp4", "--output", "stdout")
    assert result.exit_code == 0, result.output
    assert f"--source {tmp_path / 'clip.mp4'} " in exec_start(result.output)


def test_service_writes_file_once(model, tmp_path):
    result = install(model, "-s", "0", "--output", "stdout", "-o", tmp_path)
    assert result.exit_code == 0, result.output
    unit = tmp_path / "lince.service"
    assert "[Service]" in unit.read_text()
    assert f"Wrote {unit}" in result.output
    again = install(model, "-s", "0", "--output", "udp://127.0.0.1:5005", "-o", unit)
    assert again.exit_code == 1
    assert "--overwrite" in again.output
    assert "udp://" not in unit.read_text()
    replaced = install(model, "-s", "0", "--output", "udp://127.0.0.1:5005", "-o", unit, "--overwrite")
    assert replaced.exit_code == 0, replaced.output
    assert "--output udp://127.0.0.1:5005" in unit.read_text()


@pytest.mark.parametrize("word, quoted", [
    ("plain", "plain"),
    ("two words", '"two words"'),
    ('say "hi"', '"say \\"hi\\""'),
    ("50%", "50%%"),
    ("$HOME", "$$HOME"),
    ("back\\slash", '"back\\\\slash"'),
    ("serial:///dev/ttyUSB0?format={label};{score:.2f}", '"serial:///dev/ttyUSB0?format={label};{score:.2f}"'),
    ("", '""'),
])
def test_systemd_quote(word, quoted):
    assert systemd_quote(word) == quoted


def test_systemd_analyze_accepts_unit(model, tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    result = install(model, "-s", "my videos/clip 50%.mp4", "--output",
                     "serial:///dev/ttyUSB0?format={stable_label};{stable_score:.2f}", "-o", tmp_path)
    assert result.exit_code == 0, result.output
    check = subprocess.run([analyze, "verify", str(tmp_path / "lince.service")], capture_output=True, text=True,
                           timeout=60)
    assert check.returncode == 0, check.stderr
    assert "lince.service" not in check.stderr, check.stderr


def test_service_warns_about_password(model):
    result = install(model, "-s", "0", "--output", "mqtt://robot:s3cret@10.0.0.2/t")
    assert result.exit_code == 0, result.output
    assert "Warning: the unit shows the password of mqtt://robot:***@10.0.0.2/t" in result.output
    assert "LINCE_MQTT_PASSWORD" in result.output


def test_service_warns_about_missing_source(model, tmp_path):
    missing = tmp_path / "no-such-video.mp4"
    result = install(model, "-s", missing, "--output", "stdout")
    assert result.exit_code == 0, result.output
    assert f"Warning: {missing} does not exist now" in result.output
    for source in ("0", "picamera2:1", "rtsp://127.0.0.1:8554/cam", "videotestsrc ! videoconvert ! appsink"):
        quiet = install(model, "-s", source, "--output", "stdout")
        assert quiet.exit_code == 0, quiet.output
        assert "does not exist" not in quiet.output
