"""Packaging for lince.

The repository root keeps one folder per part of the product (``runtime/``,
``export/``, ``calibration/``, ``models/``) next to ``lince/``, the command
line. ``package_dir`` installs them all under the single import package
``lince`` (``lince.runtime``, ``lince.export``, ...), so no top-level module
named ``runtime`` or ``export`` is ever installed.

``pip install lince`` installs the runtime alone, which is what a Raspberry Pi
needs. The ``export`` extra adds TensorFlow for training, export and
calibration; the ``test`` extra adds the test tools.
"""

from pathlib import Path

from setuptools import setup

ROOT = Path(__file__).parent

PARTS = {
    "lince": "lince",
    "lince.cli": "lince/cli",
    "lince.runtime": "runtime",
    "lince.runtime.sources": "runtime/sources",
    "lince.runtime.outputs": "runtime/outputs",
    "lince.export": "export",
    "lince.calibration": "calibration",
    "lince.models": "models",
}


def _version() -> str:
    namespace: dict = {}
    exec((ROOT / "lince" / "_version.py").read_text(), namespace)
    return namespace["__version__"]


# ai-edge-litert (the successor of tflite-runtime) publishes wheels for 64-bit
# Linux and Apple silicon. 32-bit Raspberry Pi OS (armv7l) has only the last
# tflite-runtime, 2.14, which fails to create an Interpreter under NumPy 2.
LITERT_PLATFORMS = (
    '(sys_platform == "linux" and (platform_machine == "x86_64"'
    ' or platform_machine == "aarch64"))'
    ' or (sys_platform == "darwin" and platform_machine == "arm64")'
)
ARMV7 = 'sys_platform == "linux" and platform_machine == "armv7l"'
NOT_ARMV7 = 'sys_platform != "linux" or platform_machine != "armv7l"'

RUNTIME_REQUIRES = [
    f"numpy>=1.24,<3; {NOT_ARMV7}",
    f"numpy>=1.24,<2; {ARMV7}",
    "opencv-python-headless>=4.8,<6",
    "click>=8.1,<9",
    "tqdm>=4.66,<5",
    f"ai-edge-litert>=2.3,<2.4; {LITERT_PLATFORMS}",
    f"tflite-runtime==2.14.0; {ARMV7}",
    "paho-mqtt>=2.1,<3",
    "pyserial>=3.5,<4",
]

EXTRAS = {
    "export": [
        "tensorflow>=2.21,<2.22",
        "keras>=3.10,<4",
        "matplotlib>=3.8,<4",
    ],
    # The bench/ suite compares lince with the engines users would pick instead.
    "bench": [
        "onnxruntime>=1.20,<2",
        "onnx>=1.16,<2",
        "tf2onnx>=1.16,<2",
        "matplotlib>=3.8,<4",
        "psutil>=5.9,<8",
    ],
    "test": [
        "pytest>=8,<10",
        "pillow>=10,<14",
        "psutil>=5.9,<8",
        "babel>=2.14,<3",
    ],
}

setup(
    name="lince",
    version=_version(),
    description="Image classifiers from the training machine to a robot's camera: "
    "transfer learning, int8 TFLite export and a LiteRT camera loop.",
    long_description=(ROOT / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=list(PARTS),
    package_dir=PARTS,
    package_data={"lince": ["locale/*/LC_MESSAGES/*.mo", "locale/*/LC_MESSAGES/*.po"]},
    install_requires=RUNTIME_REQUIRES,
    extras_require=EXTRAS,
    entry_points={"console_scripts": ["lince = lince.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Image Recognition",
        "Operating System :: POSIX :: Linux",
    ],
)
